package fetch

// These tests open connections to 127.0.0.0/8 and [::1] only. Addresses
// outside loopback are tested through the classifier and the no-I/O checks,
// never dialled.

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shelfmem/shelf"
)

// server is an httptest.Server on a chosen loopback address that counts
// the connections it accepts and the requests it serves.
type server struct {
	*httptest.Server
	conns  atomic.Int64
	reqs   atomic.Int64
	probes atomic.Int64
	port   string
}

// serve starts h on addr ("127.0.0.1:0", "[::1]:0", "127.0.0.2:0"); it
// skips the test if addr cannot be listened on.
func serve(t *testing.T, addr string, h http.Handler) *server {
	t.Helper()
	s := &server{}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/__probe" {
			s.probes.Add(1)
			return
		}
		s.reqs.Add(1)
		h.ServeHTTP(w, r)
	}))
	_ = s.Listener.Close()
	s.Listener = l
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	_, s.port, _ = net.SplitHostPort(l.Addr().String())
	return s
}

// tryServe is serve for optional listeners: nil if addr is not available.
func tryServe(t *testing.T, addr string, h http.Handler) *server {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil
	}
	_ = l.Close()
	return serve(t, addr, h)
}

// assertNoTraffic checks that s accepted no connection but its probes. It
// makes one probe request first, on a new connection: the server accepts
// in order and counts a connection before serving it, so once the probe is
// answered every earlier connection has been counted.
func assertNoTraffic(t *testing.T, s *server) {
	t.Helper()
	if s == nil {
		return
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	resp, err := c.Get(s.URL + "/__probe")
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	_ = resp.Body.Close()
	if n := s.conns.Load() - s.probes.Load(); n != 0 {
		t.Errorf("server %s accepted %d connections besides the probes, want none", s.Listener.Addr(), n)
	}
	if n := s.reqs.Load(); n != 0 {
		t.Errorf("server %s served %d requests, want none", s.Listener.Addr(), n)
	}
}

func ok(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, body) }
}

// fakeResolver answers from a table; a host's answers are used in order,
// the last one repeating. Unknown hosts are not found.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][]string // host -> comma-separated address lists
	calls   map[string]int
}

func newResolver(answers map[string][]string) *fakeResolver {
	return &fakeResolver{answers: answers, calls: map[string]int{}}
}

func (r *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	list, found := r.answers[host]
	if !found {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	i := min(r.calls[host], len(list)-1)
	r.calls[host]++
	var addrs []netip.Addr
	for a := range strings.SplitSeq(list[i], ",") {
		addrs = append(addrs, netip.MustParseAddr(a))
	}
	return addrs, nil
}

func (r *fakeResolver) count(host string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[host]
}

func mustAllow(t *testing.T, s string) Allow {
	t.Helper()
	a, err := ParseAllow(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := shelf.ErrorCode(err); got != code {
		t.Fatalf("code = %q, want %q (err = %v)", got, code, err)
	}
}

func wantBlocked(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrBlocked) {
		t.Fatalf("err = %v, want ErrBlocked", err)
	}
	wantCode(t, err, shelf.EFORBIDDEN)
	if msg := shelf.ErrorMessage(err); !strings.HasPrefix(msg, "address not allowed") {
		t.Fatalf("message = %q, want it to start with \"address not allowed\"", msg)
	}
}

func readAll(t *testing.T, f *Fetcher, url string) (*Response, string) {
	t.Helper()
	resp, err := f.Get(t.Context(), url)
	if err != nil {
		t.Fatalf("Get(%s): %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp, string(b)
}

func TestGetAllowed(t *testing.T) {
	s := serve(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") != "identity" || r.Header.Get("User-Agent") != DefaultUserAgent {
			http.Error(w, "bad request headers", http.StatusBadRequest)
			return
		}
		switch r.URL.Path {
		case "/cd":
			w.Header().Set("Content-Disposition", `attachment; filename="../../etc/Report Q1.pdf"`)
			w.Header().Set("Content-Type", "Application/PDF")
		case "/cdstar":
			w.Header().Set("Content-Disposition", `attachment; filename="plain.txt"; filename*=UTF-8''%E2%82%AC%20rates.txt`)
		default:
			w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		}
		_, _ = io.WriteString(w, "hello")
	}))
	f := New(Config{Allow: mustAllow(t, "127.0.0.1/32")})

	resp, body := readAll(t, f, s.URL+"/docs/my%20notes.txt?x=1")
	if body != "hello" || resp.ContentType != "text/plain; charset=UTF-8" || resp.ContentLength != 5 {
		t.Errorf("got body %q, type %q, length %d", body, resp.ContentType, resp.ContentLength)
	}
	if resp.Filename != "my notes.txt" {
		t.Errorf("filename from path = %q", resp.Filename)
	}
	if resp.FinalURL != s.URL+"/docs/my%20notes.txt?x=1" {
		t.Errorf("FinalURL = %q", resp.FinalURL)
	}

	resp, _ = readAll(t, f, s.URL+"/cd")
	if resp.Filename != "Report Q1.pdf" || resp.ContentType != "application/pdf" {
		t.Errorf("filename from Content-Disposition = %q, type %q", resp.Filename, resp.ContentType)
	}
	resp, _ = readAll(t, f, s.URL+"/cdstar")
	if resp.Filename != "€ rates.txt" {
		t.Errorf("filename from filename* = %q", resp.Filename)
	}
	resp, _ = readAll(t, f, s.URL+"/")
	if resp.Filename != "" {
		t.Errorf("filename of / = %q, want none", resp.Filename)
	}
}

func TestConcurrentGets(t *testing.T) {
	s := serve(t, "127.0.0.1:0", ok("same"))
	f := New(Config{Allow: mustAllow(t, "127.0.0.1")})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			resp, err := f.Get(t.Context(), s.URL+"/x")
			if err != nil {
				t.Error(err)
				return
			}
			b, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil || string(b) != "same" {
				t.Errorf("body %q, err %v", b, err)
			}
		})
	}
	wg.Wait()
}

func TestSizeCap(t *testing.T) {
	const limit = 1000
	s := serve(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Get("declare") != "" {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		} else {
			w.(http.Flusher).Flush() // no Content-Length: chunked
		}
		_, _ = w.Write([]byte(strings.Repeat("x", n)))
	}))
	f := New(Config{Allow: mustAllow(t, "127.0.0.1/32"), MaxBytes: limit})

	for _, declare := range []string{"", "1"} {
		_, body := readAll(t, f, fmt.Sprintf("%s/?n=%d&declare=%s", s.URL, limit, declare))
		if len(body) != limit {
			t.Errorf("declare=%q: a body of exactly the cap: got %d bytes", declare, len(body))
		}
	}

	// Undeclared length: the read that crosses the cap fails.
	resp, err := f.Get(t.Context(), fmt.Sprintf("%s/?n=%d", s.URL, limit+1))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ContentLength != -1 {
		t.Errorf("ContentLength = %d, want -1", resp.ContentLength)
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	wantCode(t, err, shelf.ETOOLARGE)
	if len(b) > limit {
		t.Errorf("read %d bytes past a cap of %d", len(b), limit)
	}
	if _, err := resp.Body.Read(make([]byte, 10)); shelf.ErrorCode(err) != shelf.ETOOLARGE {
		t.Errorf("the error is not sticky: %v", err)
	}

	// Declared length over the cap: Get fails at once.
	_, err = f.Get(t.Context(), fmt.Sprintf("%s/?n=%d&declare=1", s.URL, limit+1))
	wantCode(t, err, shelf.ETOOLARGE)

	// The default is 25 MiB.
	if got := New(Config{}).maxBytes; got != 25<<20 {
		t.Errorf("default MaxBytes = %d", got)
	}
}

func TestTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	s := serve(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/headers" { // never answers
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusOK) // answers, then trickles forever
		for {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}))
	f := New(Config{Allow: mustAllow(t, "127.0.0.1/32"), Timeout: timeout})

	start := time.Now()
	resp, err := f.Get(t.Context(), s.URL+"/trickle")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	wantCode(t, err, shelf.ETIMEOUT)
	if d := time.Since(start); d > 10*timeout {
		t.Errorf("a trickling body took %v to fail, timeout %v", d, timeout)
	}

	start = time.Now()
	_, err = f.Get(t.Context(), s.URL+"/headers")
	wantCode(t, err, shelf.ETIMEOUT)
	if d := time.Since(start); d > 10*timeout {
		t.Errorf("a silent server took %v to fail, timeout %v", d, timeout)
	}

	// The caller's context ends the fetch too.
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = New(Config{Allow: mustAllow(t, "127.0.0.1/32")}).Get(ctx, s.URL+"/headers")
	wantCode(t, err, shelf.EUNAVAILABLE)
}

func TestHeaderTooLarge(t *testing.T) {
	s := serve(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Big", strings.Repeat("a", 8<<10))
		_, _ = io.WriteString(w, "body")
	}))
	f := New(Config{Allow: mustAllow(t, "127.0.0.1/32"), MaxHeaderBytes: 4 << 10})
	_, err := f.Get(t.Context(), s.URL+"/")
	wantCode(t, err, shelf.EINVALID)

	// The default cap (64 KiB) lets it through.
	_, body := readAll(t, New(Config{Allow: mustAllow(t, "127.0.0.1/32")}), s.URL+"/")
	if body != "body" {
		t.Errorf("body = %q", body)
	}
}

func TestUpstreamStatus(t *testing.T) {
	s := serve(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "SECRET-UPSTREAM-BODY")
	}))
	f := New(Config{Allow: mustAllow(t, "127.0.0.1/32")})
	for _, tc := range []struct {
		status int
		code   string
	}{
		{404, shelf.EUNAVAILABLE}, {403, shelf.EUNAVAILABLE}, {304, shelf.EUNAVAILABLE},
		{408, shelf.EUNAVAILABLE}, {429, shelf.EUNAVAILABLE}, {500, shelf.EUNAVAILABLE}, {503, shelf.EUNAVAILABLE},
	} {
		_, err := f.Get(t.Context(), fmt.Sprintf("%s/%d", s.URL, tc.status))
		wantCode(t, err, tc.code)
		if want := fmt.Sprintf("upstream answered %d", tc.status); !strings.HasPrefix(shelf.ErrorMessage(err), want) {
			t.Errorf("message = %q, want %q…", shelf.ErrorMessage(err), want)
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("the upstream body leaked into the error: %v", err)
		}
	}
}

func TestUnknownHost(t *testing.T) {
	f := New(Config{Resolver: newResolver(nil)})
	_, err := f.Get(t.Context(), "http://nowhere.test/x")
	wantCode(t, err, shelf.EUNAVAILABLE)
}

func TestHTTPS(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(ok("secure"))
	_ = s.Listener.Close()
	s.Listener = l
	s.EnableHTTP2 = true
	s.StartTLS()
	t.Cleanup(s.Close)
	_, port, _ := net.SplitHostPort(l.Addr().String())
	roots := x509.NewCertPool()
	roots.AddCert(s.Certificate())

	f := New(Config{Allow: mustAllow(t, "127.0.0.1/32"), RootCAs: roots})
	if _, body := readAll(t, f, s.URL+"/a"); body != "secure" {
		t.Errorf("body = %q", body)
	}
	// A name allowed by name, over TLS: SNI and verification use the name.
	r := newResolver(map[string][]string{"example.com": {"127.0.0.1"}})
	f = New(Config{Allow: mustAllow(t, "example.com"), RootCAs: roots, Resolver: r})
	if _, body := readAll(t, f, "https://example.com:"+port+"/a"); body != "secure" {
		t.Errorf("body = %q", body)
	}
	// Unknown certificate authority.
	_, err = New(Config{Allow: mustAllow(t, "127.0.0.1/32")}).Get(t.Context(), s.URL+"/a")
	wantCode(t, err, shelf.EUNAVAILABLE)
}

// TestBlockedLoopback: without an allow list, every spelling of a loopback
// or unspecified address is refused, before or at dial time, and the
// server sees no connection.
func TestBlockedLoopback(t *testing.T) {
	s4 := serve(t, "127.0.0.1:0", ok("leak"))
	s6 := tryServe(t, "[::1]:0", ok("leak"))
	port6 := "1"
	if s6 != nil {
		port6 = s6.port
	}
	p := s4.port
	urls := []string{
		"http://127.0.0.1:" + p + "/",
		"https://127.0.0.1:" + p + "/",
		"http://localhost:" + p + "/",
		"http://LOCALHOST.:" + p + "/",
		"http://0.0.0.0:" + p + "/",
		"http://[::ffff:127.0.0.1]:" + p + "/",
		"http://[::ffff:7f00:1]:" + p + "/",
		"http://2130706433:" + p + "/",
		"http://0177.0.0.1:" + p + "/",
		"http://0x7f.0.0.1:" + p + "/",
		"http://0X7F.0.0.1:" + p + "/",
		"http://0x7f000001:" + p + "/",
		"http://017700000001:" + p + "/",
		"http://127.1:" + p + "/",
		"http://127.0.1:" + p + "/",
		"http://127.0.0.01:" + p + "/",
		"http://127.000.000.001:" + p + "/",
		"http://127.0.0.1.:" + p + "/",
		"http://0:" + p + "/",
		"http://0x:" + p + "/",
		"http://[::1]:" + port6 + "/",
		"http://[::]:" + port6 + "/",
		"http://[0:0:0:0:0:0:0:1]:" + port6 + "/",
	}
	f := New(Config{})
	for _, u := range urls {
		t.Run(u, func(t *testing.T) {
			if strings.Contains(u, "localhost") {
				if _, err := net.DefaultResolver.LookupNetIP(t.Context(), "ip", "localhost"); err != nil {
					t.Skipf("localhost does not resolve here: %v", err)
				}
			}
			_, err := f.Get(t.Context(), u)
			wantBlocked(t, err)
		})
	}
	assertNoTraffic(t, s4)
	assertNoTraffic(t, s6)
}

// TestNonCanonicalSpellingsRefusedEvenIfAllowed: with loopback allowed, a
// legacy IPv4 spelling is still refused (EINVALID), because resolvers
// disagree on what it means.
func TestNonCanonicalSpellingsRefusedEvenIfAllowed(t *testing.T) {
	s := serve(t, "127.0.0.1:0", ok("leak"))
	f := New(Config{Allow: mustAllow(t, "127.0.0.0/8")})
	for _, host := range []string{"2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1", "127.0.0.1."} {
		_, err := f.Get(t.Context(), "http://"+host+":"+s.port+"/")
		wantCode(t, err, shelf.EINVALID)
		if errors.Is(err, ErrBlocked) {
			t.Errorf("%s: an allowed address is not blocked, only badly spelt: %v", host, err)
		}
	}
	assertNoTraffic(t, s)
}

// TestDialTimeCheck: a name passes the checks that need no I/O; what it
// resolves to is checked at dial time, once, and the address checked is
// the address dialled.
func TestDialTimeCheck(t *testing.T) {
	s := serve(t, "127.0.0.1:0", ok("leak"))
	r := newResolver(map[string][]string{"rebind.test": {"127.0.0.1"}})
	// An allow list that names another host opens nothing for this one.
	f := New(Config{Resolver: r, Allow: mustAllow(t, "other.test,127.0.0.2/32")})
	u := "http://rebind.test:" + s.port + "/"
	if err := f.Check(u); err != nil {
		t.Fatalf("Check(%s) = %v; a name is judged at dial time", u, err)
	}
	_, err := f.Get(t.Context(), u)
	wantBlocked(t, err)
	if n := r.count("rebind.test"); n != 1 {
		t.Errorf("resolved %d times, want once", n)
	}
	if msg := shelf.ErrorMessage(err); strings.Contains(msg, "127.0.0.1") {
		t.Errorf("the message reveals what the name resolves to: %q", msg)
	}
	assertNoTraffic(t, s)
}

// TestDNSRebinding: a name that first resolves to an allowed address and
// then to a refused one is refused on the fetch that would use the refused
// one, and nothing reaches it.
func TestDNSRebinding(t *testing.T) {
	a := serve(t, "127.0.0.1:0", ok("public"))
	b := tryServe(t, "127.0.0.2:"+a.port, ok("leak")) // same port, another address
	r := newResolver(map[string][]string{"rebind.test": {"127.0.0.1", "127.0.0.2", "::1"}})
	f := New(Config{Resolver: r, Allow: mustAllow(t, "127.0.0.1/32")})
	u := "http://rebind.test:" + a.port + "/"
	if _, body := readAll(t, f, u); body != "public" {
		t.Fatalf("body = %q", body)
	}
	for range 2 {
		f.CloseIdleConnections() // force a new dial, hence a new lookup
		_, err := f.Get(t.Context(), u)
		wantBlocked(t, err)
	}
	assertNoTraffic(t, b)
}

// TestMixedAnswers: of the addresses a name resolves to, only the allowed
// ones are dialled.
func TestMixedAnswers(t *testing.T) {
	a := serve(t, "127.0.0.1:0", ok("allowed"))
	b := tryServe(t, "[::1]:"+a.port, ok("leak"))
	r := newResolver(map[string][]string{"dual.test": {"::1,127.0.0.1"}})
	f := New(Config{Resolver: r, Allow: mustAllow(t, "127.0.0.1/32")})
	if _, body := readAll(t, f, "http://dual.test:"+a.port+"/"); body != "allowed" {
		t.Fatalf("body = %q", body)
	}
	assertNoTraffic(t, b)
}

// TestControlHook: the dialer refuses a blocked address by itself, before
// connect, for any caller that bypasses dial.
func TestControlHook(t *testing.T) {
	s := serve(t, "127.0.0.1:0", ok("leak"))
	f := New(Config{Allow: mustAllow(t, "other.test")})
	_, err := f.dialer.DialContext(t.Context(), "tcp", s.Listener.Addr().String())
	wantBlocked(t, err)
	assertNoTraffic(t, s)

	// And dial refuses by itself, without the hook: each layer suffices.
	r := newResolver(map[string][]string{"rebind.test": {"::1,127.0.0.1"}})
	f = New(Config{Resolver: r})
	f.dialer.ControlContext = nil
	_, err = f.Get(t.Context(), "http://rebind.test:"+s.port+"/")
	wantBlocked(t, err)
	_, err = f.Get(t.Context(), s.URL)
	wantBlocked(t, err)
	assertNoTraffic(t, s)

	conn, err := New(Config{Allow: mustAllow(t, "127.0.0.1")}).dialer.DialContext(t.Context(), "tcp", s.Listener.Addr().String())
	if err != nil {
		t.Fatalf("allowed address: %v", err)
	}
	_ = conn.Close()
}

func TestAllowByHostName(t *testing.T) {
	var s *server
	s = serve(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/to-ip" {
			http.Redirect(w, r, "http://127.0.0.1:"+s.port+"/", http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, r.Host)
	}))
	r := newResolver(map[string][]string{"files.test": {"127.0.0.1"}})
	f := New(Config{Resolver: r, Allow: mustAllow(t, "FILES.test.")})
	if _, body := readAll(t, f, "http://files.test:"+s.port+"/"); body != "files.test:"+s.port {
		t.Errorf("Host = %q", body)
	}
	// The name is allowed, the address is not: a redirect to it is refused.
	_, err := f.Get(t.Context(), "http://files.test:"+s.port+"/to-ip")
	wantBlocked(t, err)
	if n := s.reqs.Load(); n != 2 {
		t.Errorf("server saw %d requests, want 2", n)
	}
}

func TestRedirects(t *testing.T) {
	blocked4 := tryServe(t, "127.0.0.2:0", ok("leak"))
	blocked6 := tryServe(t, "[::1]:0", ok("leak"))
	var s *server
	s = serve(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch r.URL.Path {
		case "/to":
			http.Redirect(w, r, q.Get("u"), http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusMovedPermanently)
		case "/chain":
			n, _ := strconv.Atoi(q.Get("n"))
			if n > 0 {
				http.Redirect(w, r, fmt.Sprintf("/chain?n=%d", n-1), http.StatusTemporaryRedirect)
				return
			}
			if r.Header.Get("Referer") != "" {
				http.Error(w, "referer sent", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Disposition", "attachment; filename=end.bin")
			_, _ = io.WriteString(w, "end")
		default:
			_, _ = io.WriteString(w, "ok")
		}
	}))
	f := New(Config{Allow: mustAllow(t, "127.0.0.1/32")})
	to := func(target string) string { return s.URL + "/to?u=" + target }

	t.Run("BlockedTargets", func(t *testing.T) {
		for _, target := range []string{
			"http://127.0.0.2:" + portOf(blocked4) + "/",
			"http://[::1]:" + portOf(blocked6) + "/",
			"http://[::ffff:127.0.0.2]:" + portOf(blocked4) + "/",
			"http://2130706434:" + portOf(blocked4) + "/",
		} {
			_, err := f.Get(t.Context(), to(target))
			wantBlocked(t, err)
		}
		assertNoTraffic(t, blocked4)
		assertNoTraffic(t, blocked6)
	})
	t.Run("BadTargets", func(t *testing.T) {
		for _, target := range []string{
			"file:///etc/passwd", "gopher://127.0.0.1:" + s.port + "/", "ftp://127.0.0.1/",
			"http://user:pass@127.0.0.1:" + s.port + "/", "http://0x7f.1:" + s.port + "/",
		} {
			before := s.reqs.Load()
			_, err := f.Get(t.Context(), to(target))
			wantCode(t, err, shelf.EINVALID)
			if n := s.reqs.Load() - before; n != 1 {
				t.Errorf("%s: server saw %d requests, want 1", target, n)
			}
		}
	})
	t.Run("Loop", func(t *testing.T) {
		before := s.reqs.Load()
		_, err := f.Get(t.Context(), s.URL+"/loop")
		wantCode(t, err, shelf.EINVALID)
		if n := s.reqs.Load() - before; n != 6 {
			t.Errorf("a redirect loop made %d requests, want 6 (5 redirects followed)", n)
		}
	})
	t.Run("Chain", func(t *testing.T) {
		resp, body := readAll(t, f, s.URL+"/chain?n=5")
		if body != "end" || resp.FinalURL != s.URL+"/chain?n=0" || resp.Filename != "end.bin" {
			t.Errorf("5 redirects: body %q, final %q, filename %q", body, resp.FinalURL, resp.Filename)
		}
		before := s.reqs.Load()
		_, err := f.Get(t.Context(), s.URL+"/chain?n=6")
		wantCode(t, err, shelf.EINVALID)
		if n := s.reqs.Load() - before; n != 6 {
			t.Errorf("6 redirects made %d requests, want 6", n)
		}
	})
	t.Run("Configured", func(t *testing.T) {
		_, err := New(Config{Allow: f.allow, MaxRedirects: 2}).Get(t.Context(), s.URL+"/chain?n=3")
		wantCode(t, err, shelf.EINVALID)
		_, err = New(Config{Allow: f.allow, MaxRedirects: -1}).Get(t.Context(), s.URL+"/chain?n=1")
		wantCode(t, err, shelf.EINVALID)
		readAll(t, New(Config{Allow: f.allow, MaxRedirects: -1}), s.URL+"/chain?n=0")
	})
}

func urlParse(s string) (*url.URL, error) {
	if s == "" {
		return nil, nil
	}
	return url.Parse(s)
}

func portOf(s *server) string {
	if s == nil {
		return "1" // nothing listens: the check must refuse before trying
	}
	return s.port
}

// TestBadURLs: refused before any I/O, even where the address is allowed.
func TestBadURLs(t *testing.T) {
	s := serve(t, "127.0.0.1:0", ok("leak"))
	f := New(Config{Allow: mustAllow(t, "127.0.0.1/32,localhost")})
	a := "127.0.0.1:" + s.port
	for _, u := range []string{
		"file:///etc/passwd",
		"file://" + a + "/etc/passwd",
		"gopher://" + a + "/_GET%20/",
		"ftp://" + a + "/x",
		"data:text/plain,hello",
		"javascript:alert(1)",
		"mailto:a@b.test",
		"//" + a + "/",
		a + "/",
		"/relative",
		"",
		"http:" + a,
		"http:///x",
		"http://user:pass@" + a + "/",
		"http://user@" + a + "/",
		"http://:pass@" + a + "/",
		"http://127.0.0.1:0/",
		"http://127.0.0.1:99999/",
		"http://exa mple.test/",
		"http://münchen.test/",
		"http://１２７.０.０.１:" + s.port + "/",
		"http://a..b/",
		"http://a_b!.test/",
		"http://" + strings.Repeat("a", 64) + ".test/",
		"http://1.2.3.4.5/",
		"http://256.0.0.1/",
		"http://example.123/",
		"http://[127.0.0.1]/",
		"http://[2606:4700::1111%25eth0]/",
		"http://%31%32%37.0.0.1:" + s.port + "/",
	} {
		if err := f.Check(u); shelf.ErrorCode(err) != shelf.EINVALID {
			t.Errorf("Check(%q) = %v, want EINVALID", u, err)
		}
		_, err := f.Get(t.Context(), u)
		if shelf.ErrorCode(err) != shelf.EINVALID {
			t.Errorf("Get(%q) = %v, want EINVALID", u, err)
		}
	}
	assertNoTraffic(t, s)
}

// TestCheckNoIO covers addresses that must never be dialled from a test:
// Check refuses them without I/O, as Get does before dialling.
func TestCheckNoIO(t *testing.T) {
	f := New(Config{Resolver: newResolver(nil)})
	for _, u := range []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://2852039166/latest/meta-data/", // 169.254.169.254
		"http://0xa9.0xfe.0xa9.0xfe/",
		"http://10.0.0.1/", "http://012.1/", "http://100.64.0.1/", "http://100.100.100.200/",
		"http://192.168.1.1/", "http://172.16.0.1/", "http://168.63.129.16/",
		"http://[fc00::1]/", "http://[fd00:ec2::254]/", "http://[fe80::1]/", "http://[fe80::1%25eth0]/",
		"http://[64:ff9b::7f00:1]/", "http://[64:ff9b::a9fe:a9fe]/", "http://[::ffff:169.254.169.254]/",
		"http://[::ffff:10.0.0.1]/", "http://[::169.254.169.254]/", "http://[2002:7f00:1::1]/",
		"http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "http://[ff02::1]/", "http://255.255.255.255/",
		"http://224.0.0.1/", "https://[::]:443/", "http://192.0.0.192/",
	} {
		err := f.Check(u)
		wantBlocked(t, err)
	}
	for _, u := range []string{
		"http://8.8.8.8/", "https://[2606:4700:4700::1111]/x", "https://example.com/a.pdf",
		"HTTPS://Example.COM:8443/", "http://example.com./", "http://xn--mnchen-3ya.test/",
		"http://[::ffff:8.8.8.8]/", "http://a-b_c.example/", "http://example.0x1g/x",
	} {
		if err := f.Check(u); err != nil {
			t.Errorf("Check(%q) = %v, want nil", u, err)
		}
	}
}

func TestClassify(t *testing.T) {
	blocked := []string{
		"0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.255",
		"100.100.100.200", "127.0.0.1", "127.255.255.254", "169.254.0.1", "169.254.169.254",
		"169.254.170.2", "172.16.0.1", "172.31.255.255", "192.0.0.1", "192.0.0.192", "192.0.2.1",
		"192.88.99.1", "192.168.0.1", "198.18.0.1", "198.19.255.255", "198.51.100.1", "203.0.113.1",
		"224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255", "168.63.129.16",
		"::", "::1", "::127.0.0.1", "::8.8.8.8", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
		"::ffff:169.254.169.254", "::ffff:0.0.0.0", "64:ff9b::7f00:1", "64:ff9b::808:808",
		"64:ff9b:1::1", "100::1", "2001::1", "2001:0:4136:e378::1", "2001:2::1", "2001:db8::1",
		"2001:10::1", "2002::1", "2002:c0a8:101::1", "3fff::1", "5f00::1", "fc00::1", "fd00::1",
		"fd00:ec2::254", "fd12:3456::1", "fe80::1", "fe80::1%eth0", "febf::1", "fec0::1",
		"ff02::1", "ff0e::1", "4000::1", "1::1", "e000::1",
	}
	public := []string{
		"1.1.1.1", "8.8.8.8", "9.9.9.9", "93.184.215.14", "100.63.255.255", "100.128.0.0",
		"172.15.255.255", "172.32.0.0", "192.0.1.1", "192.167.255.255", "192.169.0.0",
		"198.17.255.255", "198.20.0.0", "223.255.255.255", "169.253.255.255", "11.0.0.1",
		"::ffff:8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "2001:4860:4860::8888",
		"2001:200::1", "2003::1", "2620:fe::fe", "3ffe::1",
	}
	for _, s := range blocked {
		if why := classify(netip.MustParseAddr(s)); why == "" {
			t.Errorf("classify(%s) = public, want blocked", s)
		}
	}
	for _, s := range public {
		if why := classify(netip.MustParseAddr(s)); why != "" {
			t.Errorf("classify(%s) = %q, want public", s, why)
		}
	}
	if why := classify(netip.MustParseAddr("169.254.169.254")); why != "cloud metadata" {
		t.Errorf("metadata address classified as %q", why)
	}
	if why := classify(netip.Addr{}); why == "" {
		t.Error("the zero Addr is public")
	}
	// The allow list opens exactly what it names.
	a := mustAllow(t, "10.0.0.0/8,fd00::/8,intranet.test")
	for _, tc := range []struct {
		host, addr string
		ok         bool
	}{
		{"x", "10.1.2.3", true}, {"x", "::ffff:10.1.2.3", true}, {"x", "11.0.0.1", true},
		{"x", "127.0.0.1", false}, {"x", "fd00:ec2::254", true}, {"x", "fe80::1", false},
		{"intranet.test", "127.0.0.1", true}, {"INTRANET.test.", "169.254.169.254", true},
		{"other.test", "127.0.0.1", false},
	} {
		err := a.refuse(tc.host, netip.MustParseAddr(tc.addr), false)
		if (err == nil) != tc.ok {
			t.Errorf("refuse(%s, %s) = %v, want allowed=%v", tc.host, tc.addr, err, tc.ok)
		}
	}
}

func TestParseLegacyIPv4(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"127.0.0.1", "127.0.0.1"}, {"2130706433", "127.0.0.1"}, {"0177.0.0.1", "127.0.0.1"},
		{"0x7f.0.0.1", "127.0.0.1"}, {"0x7F.0.0.1", "127.0.0.1"}, {"0x7f000001", "127.0.0.1"},
		{"017700000001", "127.0.0.1"}, {"127.1", "127.0.0.1"}, {"127.0.1", "127.0.0.1"},
		{"127.0.0.1.", "127.0.0.1"}, {"0", "0.0.0.0"}, {"0x", "0.0.0.0"}, {"00", "0.0.0.0"},
		{"10.0x10000", "10.1.0.0"}, {"192.168.0x1.01", "192.168.1.1"}, {"4294967295", "255.255.255.255"},
		{"0xffffffff", "255.255.255.255"}, {"1.16777215", "1.255.255.255"}, {"1.2.65535", "1.2.255.255"},
		{"0x0000000000000000000000000000007f.1", "127.0.0.1"},
		{"4294967296", ""}, {"1.2.3.256", ""}, {"256.1", ""}, {"1.16777216", ""}, {"1.2.65536", ""},
		{"08", ""}, {"0x1g", ""}, {"1.2.3.4.5", ""}, {"", ""}, {".", ""}, {"1..2", ""},
		{"1.2.3.4..", ""}, {"a.1", ""}, {"-1", ""}, {"+1", ""}, {"1 ", ""}, {"99999999999999999999999", ""},
	} {
		got, ok := parseLegacyIPv4(tc.in)
		if tc.want == "" {
			if ok {
				t.Errorf("parseLegacyIPv4(%q) = %v, want failure", tc.in, got)
			}
			continue
		}
		if !ok || got.String() != tc.want {
			t.Errorf("parseLegacyIPv4(%q) = %v, %v; want %s", tc.in, got, ok, tc.want)
		}
	}
}

func TestParseAllow(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{" , ,", ""},
		{"127.0.0.1/32,localhost,::1/128", "127.0.0.1/32,::1/128,localhost"},
		{"127.0.0.1", "127.0.0.1/32"},
		{"::1", "::1/128"},
		{"10.1.2.3/8", "10.0.0.0/8"},
		{" Files.Internal. , 192.168.0.0/16 ", "192.168.0.0/16,files.internal"},
		{"0.0.0.0/0,::/0", "0.0.0.0/0,::/0"},
		{"xn--mnchen-3ya.test", "xn--mnchen-3ya.test"},
	} {
		a, err := ParseAllow(tc.in)
		if err != nil {
			t.Errorf("ParseAllow(%q): %v", tc.in, err)
			continue
		}
		if got := a.String(); got != tc.want {
			t.Errorf("ParseAllow(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, in := range []string{
		"127.0.0.1/33", "10.0.0.0/", "/8", "::ffff:127.0.0.1/128", "::ffff:127.0.0.1",
		"127.0.0.1:8080", "localhost:80", "fe80::1%eth0", "*.test", "127.1", "2130706433",
		"0177.0.0.1", "a b", "münchen.test", "http://localhost", "a..b", "1.2.3.4.5",
		"ok.test,bad entry",
	} {
		if _, err := ParseAllow(in); shelf.ErrorCode(err) != shelf.EINVALID {
			t.Errorf("ParseAllow(%q) = %v, want EINVALID", in, err)
		}
	}
}

func TestFilename(t *testing.T) {
	for _, tc := range []struct{ disposition, requested, final, want string }{
		{`attachment; filename="a.pdf"`, "http://h/x/y.bin", "", "a.pdf"},
		{`attachment; filename="..\..\Windows\evil.dll"`, "http://h/", "", "evil.dll"},
		{`attachment; filename=".."`, "http://h/fallback.txt", "", "fallback.txt"},
		{`attachment; filename=foo bar.pdf`, "http://h/fallback.txt", "", "fallback.txt"}, // unparsable
		{`inline`, "http://h/dir/", "http://h/final.txt", "final.txt"},
		{``, "http://h/a%2Fb%5Cc.txt", "", "c.txt"},
		{``, "http://h/%E2%80%AEfdp.exe", "", "fdp.exe"},
		{``, "http://h/%00x%0Ay", "", "xy"},
		{``, "http://h/download?id=5", "http://h/report.pdf", "download"},
		{``, "http://h/", "http://h/", ""},
		{``, "http://h/a%25zz", "", "a%zz"},
	} {
		req, _ := urlParse(tc.requested)
		fin, _ := urlParse(tc.final)
		if got := filename(tc.disposition, req, fin); got != tc.want {
			t.Errorf("filename(%q, %q, %q) = %q, want %q", tc.disposition, tc.requested, tc.final, got, tc.want)
		}
	}
	long := strings.Repeat("é", 200) + ".pdf"
	got := sanitizeFilename(long)
	if len(got) > 255 || !strings.HasSuffix(got, ".pdf") || !strings.HasPrefix(got, "é") {
		t.Errorf("long name cut to %d bytes: %q", len(got), got)
	}
}

func TestErrorsAreShelfErrors(t *testing.T) {
	// A blocked error is one shelf error whose cause names the address.
	_, err := New(Config{}).Get(t.Context(), "http://127.0.0.1:1/")
	var se *shelf.Error
	if !errors.As(err, &se) || se.Code != shelf.EFORBIDDEN {
		t.Fatalf("err = %#v", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1 is a loopback address") || !strings.Contains(err.Error(), "blocked 127.0.0.1 (loopback)") {
		t.Errorf("err = %q", err)
	}
	// A nil context is a caller bug.
	//lint:ignore SA1012 testing the nil check
	_, err = New(Config{}).Get(nil, "http://example.com/") //nolint:staticcheck
	wantCode(t, err, shelf.EINTERNAL)
}

// TestTransportSettings: what cannot be observed from loopback (Go never
// proxies loopback requests) is checked on the transport itself.
func TestTransportSettings(t *testing.T) {
	f := New(Config{})
	tr := f.transport
	if tr.Proxy != nil {
		t.Error("the transport uses a proxy; the dial check would see only the proxy")
	}
	if tr.DialTLSContext != nil || tr.Dial != nil || tr.DialTLS != nil {
		t.Error("a dial path bypasses the checked dialer")
	}
	if !tr.DisableCompression || tr.MaxResponseHeaderBytes != DefaultMaxHeaderBytes {
		t.Errorf("compression %v, header cap %d", !tr.DisableCompression, tr.MaxResponseHeaderBytes)
	}
	if f.client.Jar != nil || f.client.Timeout != DefaultTimeout {
		t.Errorf("jar %v, timeout %v", f.client.Jar, f.client.Timeout)
	}
}

func TestHugeCap(t *testing.T) {
	s := serve(t, "127.0.0.1:0", ok("tiny"))
	f := New(Config{Allow: mustAllow(t, "127.0.0.1/32"), MaxBytes: 1<<63 - 1})
	if _, body := readAll(t, f, s.URL); body != "tiny" {
		t.Errorf("body = %q", body)
	}
}
