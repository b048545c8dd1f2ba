package fetch

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

var hostSeeds = []string{
	"127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.0.0.1", "0x7f000001", "127.1", "127.0.0.1.",
	"127.000.000.001", "0", "0x", "localhost", "example.com", "example.com.", "::1",
	"::ffff:127.0.0.1", "fe80::1%eth0", "169.254.169.254", "0xa9fea9fe", "a.b.0x1g", "1.2.3.4.5",
	"256.1", "08.1", "xn--mnchen-3ya.test", "münchen.test", "１２７.０.０.１", "",
}

// FuzzCheckHost: the host-spelling check never panics, refuses every
// spelling that any parser here reads as a blocked address, and accepts as
// a name only what no IPv4 parser can read as an address.
func FuzzCheckHost(f *testing.F) {
	for _, s := range hostSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		var none Allow
		h, err := none.checkHost(host, false)
		if h.addr.IsValid() && classify(h.addr) != "" && !errors.Is(err, ErrBlocked) {
			t.Fatalf("checkHost(%q) read %s, a blocked address, and returned %v", host, h.addr, err)
		}
		if addr, e := netip.ParseAddr(host); e == nil && classify(addr) != "" && !errors.Is(err, ErrBlocked) {
			t.Fatalf("checkHost(%q) = %v; netip reads %s, a blocked address", host, err, addr)
		}
		if ip := net.ParseIP(host); ip != nil {
			addr, _ := netip.AddrFromSlice(ip)
			if classify(addr) != "" && err == nil {
				t.Fatalf("checkHost(%q) accepted what net.ParseIP reads as %s", host, addr)
			}
		}
		if addr, ok := parseLegacyIPv4(strings.ToLower(host)); ok && classify(addr) != "" && err == nil {
			t.Fatalf("checkHost(%q) accepted a spelling of %s", host, addr)
		}
		if err != nil || h.addr.IsValid() {
			return
		}
		// Accepted as a name: plain ASCII, and no resolver reads it as an address.
		if h.name == "" || len(h.name) > 253 {
			t.Fatalf("checkHost(%q) accepted name %q", host, h.name)
		}
		for _, c := range []byte(h.name) {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
				t.Fatalf("checkHost(%q) accepted name %q with %q", host, h.name, c)
			}
		}
		if _, ok := parseLegacyIPv4(h.name); ok || net.ParseIP(h.name) != nil {
			t.Fatalf("checkHost(%q) accepted as a name what reads as an address", host)
		}
	})
}

// FuzzParseAllow: no panic, and what it accepts prints back to itself.
func FuzzParseAllow(f *testing.F) {
	for _, s := range []string{"127.0.0.1/32,localhost,::1/128", "10.1.2.3/8", " a.test. ,", "::ffff:1.2.3.4/128", "127.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAllow(s)
		if err != nil {
			return
		}
		b, err := ParseAllow(a.String())
		if err != nil || b.String() != a.String() {
			t.Fatalf("ParseAllow(%q) = %q, which parses to %q, %v", s, a, b, err)
		}
	})
}

// FuzzSanitizeFilename: whatever the sender writes, the result is a plain
// name.
func FuzzSanitizeFilename(f *testing.F) {
	for _, s := range []string{"a.pdf", "../../etc/passwd", `C:\x\y.txt`, "\u202efdp.exe", "..", " . ", "\x00", strings.Repeat("é", 300) + ".txt"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := sanitizeFilename(s)
		if !utf8.ValidString(got) || len(got) > maxFilename || got == "." || got == ".." ||
			strings.ContainsAny(got, `/\`) || got != strings.TrimSpace(got) {
			t.Fatalf("sanitizeFilename(%q) = %q", s, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || isBidiControl(r) {
				t.Fatalf("sanitizeFilename(%q) = %q keeps %U", s, got, r)
			}
		}
	})
}
