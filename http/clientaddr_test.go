package http

import (
	"net/http"
	"net/netip"
	"testing"
)

// FuzzClientAddr: whatever X-Forwarded-For a client sends, the address its
// failed authentications count against is an address or an IPv6 /64; the
// header changes nothing when the peer is not a trusted proxy; and behind
// one it can only name an address the header holds, or the proxy.
func FuzzClientAddr(f *testing.F) {
	for _, seed := range []string{"", "203.0.113.7", "198.51.100.1, 203.0.113.7", "2001:db8::1", "::ffff:192.0.2.1",
		"10.0.0.1, 10.0.0.2", "garbage", ",,,", "203.0.113.7 , 10.0.0.9", "1.2.3.4%eth0", "[::1]:80"} {
		f.Add(seed, "10.0.0.5:4242")
		f.Add(seed, "[2001:db8:5::1]:443")
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:5::/48")}
	open := &Server{}
	behind := &Server{opts: Options{TrustedProxies: trusted}}
	f.Fuzz(func(t *testing.T, xff, remote string) {
		r := &http.Request{RemoteAddr: remote, Header: http.Header{"X-Forwarded-For": {xff}}}
		bare := &http.Request{RemoteAddr: remote, Header: http.Header{}}
		if got, want := open.clientAddr(r), open.clientAddr(bare); got != want {
			t.Fatalf("untrusted peer %q: X-Forwarded-For %q moved the address from %q to %q", remote, xff, want, got)
		}
		if _, err := netip.ParseAddrPort(remote); err != nil {
			return // not a TCP peer: the raw value is the bucket's name
		}
		got := behind.clientAddr(r)
		p, err := netip.ParsePrefix(got)
		if err != nil {
			a, aerr := netip.ParseAddr(got)
			if aerr != nil || !a.Is4() {
				t.Fatalf("clientAddr(%q, %q) = %q: neither an IPv4 address nor a prefix", remote, xff, got)
			}
			return
		}
		if p.Bits() != 64 || !p.Addr().Is6() {
			t.Fatalf("clientAddr(%q, %q) = %q: a prefix other than an IPv6 /64", remote, xff, got)
		}
	})
}
