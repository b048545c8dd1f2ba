package fetch

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/shelfmem/shelf"
)

// ErrBlocked is the cause of every refusal for where a URL points: an
// address that is not public, or a name that resolves only to such
// addresses. Test for it with errors.Is; the error that carries it has the
// code shelf.EFORBIDDEN and a message that starts "address not allowed".
var ErrBlocked = errors.New("address not allowed")

// blockedError is the logged cause of a refusal: which host, which
// address and why. It unwraps to ErrBlocked.
type blockedError struct {
	host    string
	addr    netip.Addr
	why     string
	literal bool // the client wrote the address, not a name
}

func (e *blockedError) Error() string {
	if e.literal {
		return fmt.Sprintf("blocked %s (%s)", e.addr, e.why)
	}
	return fmt.Sprintf("blocked %s -> %s (%s)", e.host, e.addr, e.why)
}

func (e *blockedError) Unwrap() error { return ErrBlocked }

// errBlocked returns the EFORBIDDEN error for dialling addr on behalf of
// host. The message names the address only when the client wrote it: what
// a name resolves to inside the server's network is for the log.
func errBlocked(host string, addr netip.Addr, why string, literal bool) error {
	var msg string
	switch {
	case !literal:
		msg = fmt.Sprintf("address not allowed: %s resolves to %s address", host, article(why))
	case host == addr.String():
		msg = fmt.Sprintf("address not allowed: %s is %s address", host, article(why))
	default:
		msg = fmt.Sprintf("address not allowed: %s is %s, %s address", host, addr, article(why))
	}
	return &shelf.Error{Code: shelf.EFORBIDDEN, Message: msg, Err: &blockedError{host: host, addr: addr, why: why, literal: literal}}
}

func article(s string) string {
	if s != "" && strings.ContainsRune("aeiouAEIOU", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}

// Allow lists the exceptions to the address check. The zero value allows
// nothing. Build it with ParseAllow, or fill it directly: Hosts are
// compared case-insensitively and without a trailing dot.
type Allow struct {
	// Prefixes are the allowed address ranges. An IPv4 address is matched
	// against IPv4 prefixes only (IPv4-mapped IPv6 addresses are judged as
	// IPv4), an IPv6 address against IPv6 prefixes only.
	Prefixes []netip.Prefix
	// Hosts are host names whose every address may be dialled, whatever
	// it is. A name is trusted, not checked: list only names whose DNS you
	// control.
	Hosts []string
}

// ParseAllow parses the value of SHELF_FETCH_ALLOW: a comma-separated list
// of CIDR prefixes ("127.0.0.0/8", "::1/128"), single IP addresses
// ("127.0.0.1", taken as /32 or /128) and host names ("localhost",
// "files.internal"). Blanks around entries and empty entries are ignored,
// so "" allows nothing. A prefix with host bits set is masked
// ("10.1.2.3/8" is 10.0.0.0/8). Anything else is an EINVALID error naming
// the entry: IPv4-mapped IPv6 prefixes, zones, ports, wildcards, and
// non-canonical IPv4 spellings such as "127.1".
func ParseAllow(s string) (Allow, error) {
	var a Allow
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		bad := func(why string) (Allow, error) {
			return Allow{}, shelf.Errorf(shelf.EINVALID, "fetch allow list: entry %q: %s", entry, why)
		}
		if strings.Contains(entry, "/") {
			p, err := netip.ParsePrefix(entry)
			if err != nil {
				return bad("not a CIDR prefix")
			}
			if p.Addr().Is4In6() {
				return bad("IPv4-mapped prefixes never match; write the IPv4 prefix")
			}
			a.Prefixes = append(a.Prefixes, p.Masked())
			continue
		}
		if strings.Contains(entry, ":") {
			addr, err := netip.ParseAddr(entry)
			if err != nil || addr.Zone() != "" {
				return bad("not an IP address (ports and zones are not allowed)")
			}
			if addr.Is4In6() {
				return bad("IPv4-mapped addresses never match; write the IPv4 address")
			}
			a.Prefixes = append(a.Prefixes, netip.PrefixFrom(addr, addr.BitLen()))
			continue
		}
		h, err := parseHost(entry)
		if err != nil {
			return bad("not a host name or IP address")
		}
		switch {
		case h.legacy:
			return bad("write the IPv4 address as a dotted quad: " + h.addr.String())
		case h.addr.IsValid():
			a.Prefixes = append(a.Prefixes, netip.PrefixFrom(h.addr, h.addr.BitLen()))
		default:
			a.Hosts = append(a.Hosts, h.name)
		}
	}
	return a, nil
}

// String returns the list in the form ParseAllow reads.
func (a Allow) String() string {
	var parts []string
	for _, p := range a.Prefixes {
		parts = append(parts, p.String())
	}
	return strings.Join(append(parts, a.Hosts...), ",")
}

func (a Allow) hasHost(host string) bool {
	host = normalizeName(host)
	for _, h := range a.Hosts {
		if normalizeName(h) == host {
			return true
		}
	}
	return false
}

func (a Allow) hasAddr(addr netip.Addr) bool {
	for _, p := range a.Prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// refuse returns nil if addr may be dialled for host, else the EFORBIDDEN
// error that says why not. literal says that host is the client's
// spelling of addr rather than a name that resolved to it.
func (a Allow) refuse(host string, addr netip.Addr, literal bool) error {
	addr = addr.WithZone("").Unmap()
	why := classify(addr)
	if why == "" || a.hasHost(host) || a.hasAddr(addr) {
		return nil
	}
	return errBlocked(host, addr, why, literal)
}

func normalizeName(s string) string {
	return strings.ToLower(strings.TrimSuffix(s, "."))
}

// checkURL applies every rule that needs no I/O to u: the scheme, the
// credentials, the port and the spelling of the host; a host that is an
// IP address is checked against the address rules here already. Redirect
// targets go through it too.
func (a Allow) checkURL(u *url.URL) error {
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		if u.Scheme == "" {
			return shelf.Errorf(shelf.EINVALID, "URL has no scheme; only http and https URLs can be fetched")
		}
		return shelf.Errorf(shelf.EINVALID, "URL scheme %q is not allowed; only http and https URLs can be fetched", u.Scheme)
	case u.Opaque != "":
		return shelf.Errorf(shelf.EINVALID, "URL has no host")
	case u.User != nil:
		return shelf.Errorf(shelf.EINVALID, "URLs with credentials (user:password@) are not allowed")
	}
	if p := u.Port(); p != "" {
		n := 0
		for _, c := range p {
			if c < '0' || c > '9' || n > 65535 {
				return shelf.Errorf(shelf.EINVALID, "URL port %q is not valid", p)
			}
			n = n*10 + int(c-'0')
		}
		if n < 1 || n > 65535 {
			return shelf.Errorf(shelf.EINVALID, "URL port %q is not valid", p)
		}
	}
	host := u.Hostname()
	if host == "" {
		return shelf.Errorf(shelf.EINVALID, "URL has no host")
	}
	_, err := a.checkHost(host, strings.HasPrefix(u.Host, "["))
	return err
}

// checkHost checks the spelling of host (a URL's Hostname, or the host of
// a dial address) and, if it is an address, the address. It returns the
// parsed host.
func (a Allow) checkHost(host string, bracketed bool) (hostInfo, error) {
	h, err := parseHost(host)
	if err != nil {
		return h, err
	}
	if bracketed && !h.addr.Is6() {
		return h, shelf.Errorf(shelf.EINVALID, "host %q: only IPv6 addresses go in brackets", host)
	}
	if !h.addr.IsValid() {
		return h, nil // a name: checked at dial time, on what it resolves to
	}
	if err := a.refuse(host, h.addr, true); err != nil {
		return h, err
	}
	if h.legacy {
		return h, shelf.Errorf(shelf.EINVALID, "host %q is a non-canonical IPv4 address; write it as %s", host, h.addr)
	}
	if h.addr.Zone() != "" {
		return h, shelf.Errorf(shelf.EINVALID, "host %q: IPv6 zones are not allowed", host)
	}
	return h, nil
}

// hostInfo is a parsed host: a DNS name, or an address.
type hostInfo struct {
	name   string     // lower case, no trailing dot; "" for an address
	addr   netip.Addr // valid for an address
	legacy bool       // addr was decoded from a non-canonical IPv4 spelling
}

// parseHost sorts host into a DNS name, a canonical IP address or a legacy
// IPv4 spelling, and refuses everything else with EINVALID. It does no
// I/O and knows nothing of the allow list.
//
// Following the WHATWG URL standard, a host whose last label is a number
// (all digits, or 0x and hex digits) is an IPv4 address, never a name; it
// is decoded the way inet_aton(3) decodes it (see parseLegacyIPv4), which
// is what a C resolver behind getaddrinfo would connect to.
func parseHost(host string) (hostInfo, error) {
	invalid := func(why string) (hostInfo, error) {
		return hostInfo{}, shelf.Errorf(shelf.EINVALID, "host %q %s", truncate(host, 80), why)
	}
	if host == "" {
		return invalid("is empty")
	}
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 {
			return invalid("is not ASCII; write international names in punycode (xn--)")
		}
	}
	if strings.Contains(host, ":") {
		addr, err := netip.ParseAddr(host)
		if err != nil || !addr.Is6() {
			return invalid("is not a valid IPv6 address")
		}
		return hostInfo{addr: addr}, nil
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return hostInfo{addr: addr}, nil // a canonical dotted quad
	}
	name := strings.ToLower(host)
	if strings.HasSuffix(name, ".") {
		name = name[:len(name)-1]
	}
	if endsInNumber(name) {
		addr, ok := parseLegacyIPv4(name)
		if !ok {
			return invalid("is not a valid IPv4 address")
		}
		return hostInfo{addr: addr, legacy: true}, nil
	}
	if len(name) == 0 || len(name) > 253 {
		return invalid("is not a valid host name")
	}
	for label := range strings.SplitSeq(name, ".") {
		if len(label) == 0 || len(label) > 63 {
			return invalid("is not a valid host name")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return invalid("is not a valid host name")
			}
		}
	}
	return hostInfo{name: name}, nil
}

// endsInNumber reports whether the last label of name (no trailing dot)
// is a number in the sense of the WHATWG URL standard: decimal digits, or
// 0x or 0X followed by hex digits (possibly none).
func endsInNumber(name string) bool {
	last := name[strings.LastIndexByte(name, '.')+1:]
	if last == "" {
		return false
	}
	if len(last) >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') {
		return allDigits(last[2:], 16)
	}
	return allDigits(last, 10)
}

func allDigits(s string, base int) bool {
	for i := 0; i < len(s); i++ {
		if digitVal(s[i]) >= base {
			return false
		}
	}
	return true
}

func digitVal(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return 99
}

// parseLegacyIPv4 decodes the IPv4 spellings of inet_aton(3) and the
// WHATWG URL standard: one to four dot-separated numbers, each decimal,
// octal (leading 0) or hex (leading 0x); the last number fills all the
// bytes that remain ("127.1" is 127.0.0.1, "2130706433" is 127.0.0.1).
// One trailing dot is ignored. It reports false for anything else.
func parseLegacyIPv4(s string) (netip.Addr, bool) {
	s = strings.TrimSuffix(s, ".")
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var nums [4]uint64
	for i, p := range parts {
		n, ok := parseIPv4Number(p)
		if !ok {
			return netip.Addr{}, false
		}
		nums[i] = n
	}
	last := len(parts) - 1
	var v uint64
	for i := 0; i < last; i++ {
		if nums[i] > 255 {
			return netip.Addr{}, false
		}
		v |= nums[i] << (8 * (3 - i))
	}
	if nums[last] >= 1<<(8*(4-last)) {
		return netip.Addr{}, false
	}
	v |= nums[last]
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// parseIPv4Number reads one part of a legacy IPv4 spelling. Values above
// 2^32 are reported as 2^32, which every caller refuses.
func parseIPv4Number(p string) (uint64, bool) {
	if p == "" {
		return 0, false
	}
	base := 10
	switch {
	case len(p) >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'):
		base, p = 16, p[2:]
	case len(p) >= 2 && p[0] == '0':
		base, p = 8, p[1:]
	}
	var n uint64
	for i := 0; i < len(p); i++ {
		d := digitVal(p[i])
		if d >= base {
			return 0, false
		}
		n = n*uint64(base) + uint64(d)
		if n > 1<<32 {
			n = 1 << 32
		}
	}
	return n, true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// The address ranges a Fetcher refuses, from the IANA IPv4 and IPv6
// Special-Purpose Address Registries plus the cloud metadata endpoints.
// The first match names the reason; order matters only for that.
var (
	special4 = prefixes(
		"169.254.169.254/32", "cloud metadata", // AWS, GCP, Azure, OCI, DigitalOcean, …
		"169.254.170.2/32", "cloud metadata", // AWS ECS task metadata
		"169.254.170.23/32", "cloud metadata", // AWS EKS pod identity
		"100.100.100.200/32", "cloud metadata", // Alibaba Cloud
		"192.0.0.192/32", "cloud metadata", // Oracle Cloud
		"168.63.129.16/32", "cloud metadata", // Azure WireServer, a public-looking address
		"0.0.0.0/8", "unspecified", // "this network"; 0.0.0.0 reaches loopback on Linux
		"10.0.0.0/8", "private",
		"100.64.0.0/10", "shared (CGNAT)",
		"127.0.0.0/8", "loopback",
		"169.254.0.0/16", "link-local",
		"172.16.0.0/12", "private",
		"192.0.0.0/24", "IETF protocol",
		"192.0.2.0/24", "documentation",
		"192.88.99.0/24", "6to4 relay",
		"192.168.0.0/16", "private",
		"198.18.0.0/15", "benchmarking",
		"198.51.100.0/24", "documentation",
		"203.0.113.0/24", "documentation",
		"224.0.0.0/4", "multicast",
		"240.0.0.0/4", "reserved", // and 255.255.255.255
	)
	special6 = prefixes(
		"fd00:ec2::254/128", "cloud metadata", // AWS IMDS over IPv6
		"fd00:ec2::23/128", "cloud metadata", // AWS EKS pod identity
		"::/128", "unspecified",
		"::1/128", "loopback",
		"::/96", "IPv4-compatible",
		"64:ff9b::/96", "NAT64",
		"64:ff9b:1::/48", "NAT64",
		"100::/64", "discard-only",
		"2001::/32", "Teredo",
		"2001:db8::/32", "documentation",
		"2001::/23", "IETF protocol",
		"2002::/16", "6to4",
		"3fff::/20", "documentation",
		"fc00::/7", "unique-local",
		"fe80::/10", "link-local",
		"fec0::/10", "site-local",
		"ff00::/8", "multicast",
	)
	// Outside 2000::/3 nothing is public unicast today.
	global6 = netip.MustParsePrefix("2000::/3")
)

type specialRange struct {
	prefix netip.Prefix
	why    string
}

func prefixes(pairs ...string) []specialRange {
	var r []specialRange
	for i := 0; i < len(pairs); i += 2 {
		r = append(r, specialRange{netip.MustParsePrefix(pairs[i]), pairs[i+1]})
	}
	return r
}

// classify returns why addr must not be dialled, or "" for a public
// unicast address. An IPv4-mapped IPv6 address is judged as the IPv4
// address it carries; a zone is ignored.
func classify(addr netip.Addr) string {
	addr = addr.WithZone("").Unmap()
	table := special4
	if addr.Is6() {
		table = special6
	} else if !addr.Is4() {
		return "invalid"
	}
	for _, r := range table {
		if r.prefix.Contains(addr) {
			return r.why
		}
	}
	if addr.Is6() && !global6.Contains(addr) {
		return "reserved"
	}
	return ""
}
