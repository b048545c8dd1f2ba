package http_test

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	shelfhttp "github.com/shelfmem/shelf/http"
	"github.com/shelfmem/shelf/internal/shelftest"
	"github.com/shelfmem/shelf/library"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// dialectRoute is a read route of one dialect and how to read the error
// code of its 429.
type dialectRoute struct {
	dialect, path string
	code          func(t *testing.T, r *shelftest.Response) string
}

var limitedRoutes = []dialectRoute{
	{"native", "/v1/libraries/default", func(t *testing.T, r *shelftest.Response) string {
		var b struct {
			Error struct{ Code, Message string }
		}
		r.JSON(t, &b)
		return b.Error.Code
	}},
	{"memorylake", "/openapi/memorylake/api/v1/drives/items/MY_SPACE", func(t *testing.T, r *shelftest.Response) string {
		var b struct {
			Success   bool   `json:"success"`
			ErrorCode string `json:"error_code"`
		}
		r.JSON(t, &b)
		return b.ErrorCode
	}},
	{"memoryinc", "/sources/api/items", func(t *testing.T, r *shelftest.Response) string {
		var b struct {
			OK    bool `json:"ok"`
			Error struct{ Code string }
		}
		r.JSON(t, &b)
		return b.Error.Code
	}},
	{"chatbotkit", "/api/v1/space/list", func(t *testing.T, r *shelftest.Response) string {
		var b struct{ Code string }
		r.JSON(t, &b)
		if r.Header.Get("X-Failure-Code") != b.Code {
			t.Fatalf("chatbotkit 429 without X-Failure-Code: %v", r.Header)
		}
		return b.Code
	}},
	{"informer", "/api/libraries", func(t *testing.T, r *shelftest.Response) string {
		var b struct {
			StatusCode int
			Error      string
		}
		r.JSON(t, &b)
		return strconv.Itoa(b.StatusCode) + " " + b.Error
	}},
}

var rateLimitCodes = map[string]string{
	"native": "rate_limited", "memorylake": "RATE_LIMIT_EXCEEDED", "memoryinc": "rate_limited",
	"chatbotkit": "LIMITS_REACHED", "informer": "429 Too Many Requests",
}

// newKey makes a key in the default workspace with the master key, with
// the given own rate limit (nil: the server's).
func newLimitedKey(t *testing.T, e *shelftest.Env, name string, limit *shelf.RateLimit) (id, token string) {
	t.Helper()
	body := map[string]any{"name": name, "scopes": []string{"admin"}}
	if limit != nil {
		body["rate_limit"] = limit
	}
	r := e.Do(t, "POST", "/v1/keys", shelftest.MasterKey, body)
	if r.Status != 201 {
		t.Fatalf("create key %s: %d %s", name, r.Status, r.Body)
	}
	var k struct {
		ID, Key   string
		RateLimit *shelf.RateLimit `json:"rate_limit"`
	}
	r.JSON(t, &k)
	if (limit == nil) != (k.RateLimit == nil) {
		t.Fatalf("key %s answered rate_limit %+v, want %+v", name, k.RateLimit, limit)
	}
	return k.ID, k.Key
}

func wantRateHeaders(t *testing.T, what string, r *shelftest.Response, limit, remaining int) {
	t.Helper()
	h := r.Header
	if h.Get("X-RateLimit-Limit") != strconv.Itoa(limit) || h.Get("X-RateLimit-Remaining") != strconv.Itoa(remaining) {
		t.Fatalf("%s: X-RateLimit-Limit %q, -Remaining %q; want %d, %d", what, h.Get("X-RateLimit-Limit"), h.Get("X-RateLimit-Remaining"), limit, remaining)
	}
	if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err != nil || reset < time.Now().Add(-time.Hour).Unix() {
		t.Fatalf("%s: X-RateLimit-Reset %q is not a Unix time", what, h.Get("X-RateLimit-Reset"))
	}
}

// TestRateLimitsPerKey: with a server limit of 1 request a second in
// bursts of 3, each key's fourth request at once is 429 with Retry-After
// and the X-RateLimit headers, in each dialect's own error shape; the
// bucket refills with time; one key's use does not touch another's; a
// key's own limit wins over the server's, 0 exempts it; the master key is
// not limited; a signed URL counts against the key that issued it.
func TestRateLimitsPerKey(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	e := shelftest.New(t, library.Config{Now: clock.Now, RateLimit: shelf.RateLimit{PerSecond: 1, Burst: 3}})
	for _, c := range limitedRoutes {
		_, key := newLimitedKey(t, e, c.dialect, nil)
		for i := 0; i < 3; i++ {
			r := e.Do(t, "GET", c.path, key, nil)
			if r.Status != 200 {
				t.Fatalf("%s: request %d: %d %s", c.dialect, i+1, r.Status, r.Body)
			}
			wantRateHeaders(t, c.dialect, r, 3, 2-i)
		}
		r := e.Do(t, "GET", c.path, key, nil)
		if r.Status != 429 || r.Header.Get("Retry-After") != "1" {
			t.Fatalf("%s: fourth request: %d Retry-After %q %s", c.dialect, r.Status, r.Header.Get("Retry-After"), r.Body)
		}
		wantRateHeaders(t, c.dialect+" 429", r, 3, 0)
		if got := c.code(t, r); got != rateLimitCodes[c.dialect] {
			t.Fatalf("%s: 429 code %q, want %q: %s", c.dialect, got, rateLimitCodes[c.dialect], r.Body)
		}
	}
	// Time refills the bucket: one token a second.
	clock.Add(time.Second)
	_, fresh := newLimitedKey(t, e, "fresh", nil)
	_, key := newLimitedKey(t, e, "refill", nil)
	for i := 0; i < 3; i++ {
		e.Do(t, "GET", "/v1/libraries/default", key, nil)
	}
	if r := e.Do(t, "GET", "/v1/libraries/default", key, nil); r.Status != 429 {
		t.Fatalf("refill key, fourth: %d", r.Status)
	}
	if r := e.Do(t, "GET", "/v1/libraries/default", fresh, nil); r.Status != 200 {
		t.Fatalf("another key while one is limited: %d %s", r.Status, r.Body)
	}
	clock.Add(time.Second)
	if r := e.Do(t, "GET", "/v1/libraries/default", key, nil); r.Status != 200 {
		t.Fatalf("a second later: %d %s", r.Status, r.Body)
	}
	// The master key is the operator's: never limited, no headers.
	for i := 0; i < 10; i++ {
		if r := e.Do(t, "GET", "/v1/libraries/default", shelftest.MasterKey, nil); r.Status != 200 || r.Header.Get("X-RateLimit-Limit") != "" {
			t.Fatalf("master key, request %d: %d %v", i, r.Status, r.Header)
		}
	}
	// A key's own limit: exempt (0), or tighter than the server's.
	_, exempt := newLimitedKey(t, e, "exempt", &shelf.RateLimit{})
	for i := 0; i < 10; i++ {
		if r := e.Do(t, "GET", "/v1/libraries/default", exempt, nil); r.Status != 200 || r.Header.Get("X-RateLimit-Limit") != "" {
			t.Fatalf("exempt key, request %d: %d %v", i, r.Status, r.Header)
		}
	}
	tightID, tight := newLimitedKey(t, e, "tight", &shelf.RateLimit{PerSecond: 0.5, Burst: 1})
	if r := e.Do(t, "GET", "/v1/libraries/default", tight, nil); r.Status != 200 {
		t.Fatalf("tight key, first: %d", r.Status)
	} else {
		wantRateHeaders(t, "tight", r, 1, 0)
	}
	if r := e.Do(t, "GET", "/v1/libraries/default", tight, nil); r.Status != 429 || r.Header.Get("Retry-After") != "2" {
		t.Fatalf("tight key, second: %d Retry-After %q", r.Status, r.Header.Get("Retry-After"))
	}
	// Lifted by the master key, it follows the server's limit again.
	r := e.Do(t, "PATCH", "/v1/keys/"+tightID, shelftest.MasterKey, map[string]any{"rate_limit": nil})
	if r.Status != 200 {
		t.Fatalf("PATCH rate_limit null: %d %s", r.Status, r.Body)
	}
	clock.Add(2 * time.Second)
	if r := e.Do(t, "GET", "/v1/libraries/default", tight, nil); r.Status != 200 {
		t.Fatalf("tight key after its limit was cleared: %d %s", r.Status, r.Body)
	} else {
		wantRateHeaders(t, "tight, cleared", r, 3, 0) // the bucket is resized to the server's, its tokens kept
	}

	// A signed URL's requests count against the key that issued it.
	_, uploader := newLimitedKey(t, e, "uploader", &shelf.RateLimit{PerSecond: 0.1, Burst: 2})
	r = e.Do(t, "POST", "/v1/uploads", uploader, map[string]any{"size": 5})
	if r.Status != 201 {
		t.Fatalf("create upload: %d %s", r.Status, r.Body)
	}
	var up struct {
		Parts []struct {
			URL string `json:"upload_url"`
		} `json:"parts"`
	}
	r.JSON(t, &up)
	put := func() *shelftest.Response {
		return e.Do(t, "PUT", up.Parts[0].URL, "", []byte("12345"))
	}
	if r := put(); r.Status != 200 {
		t.Fatalf("signed PUT: %d %s", r.Status, r.Body)
	} else {
		wantRateHeaders(t, "signed PUT", r, 2, 0)
	}
	if r := put(); r.Status != 429 || errCode(t, r) != "rate_limited" {
		t.Fatalf("signed PUT past the issuer's limit: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "GET", "/v1/libraries/default", uploader, nil); r.Status != 429 {
		t.Fatalf("the issuer after its URL used its tokens: %d", r.Status)
	}

	// Only the master key sets a key's limit.
	_, admin := newLimitedKey(t, e, "admin", &shelf.RateLimit{})
	if r := e.Do(t, "PATCH", "/v1/keys/"+tightID, admin, map[string]any{"rate_limit": map[string]any{"per_second": 1000}}); r.Status != 403 {
		t.Fatalf("a workspace admin set a limit: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "POST", "/v1/keys", admin, map[string]any{"name": "x", "scopes": []string{"read"}, "rate_limit": map[string]any{"per_second": 0}}); r.Status != 403 {
		t.Fatalf("a workspace admin made an exempt key: %d %s", r.Status, r.Body)
	}
	for _, bad := range []string{`{"rate_limit":{"per_second":-1}}`, `{"rate_limit":{"per_second":1,"burst":-2}}`, `{"rate_limit":"fast"}`, `{}`} {
		if r := e.DoWith(t, "PATCH", "/v1/keys/"+tightID, shelftest.MasterKey, http.Header{"Content-Type": {"application/json"}}, []byte(bad)); r.Status != 400 {
			t.Fatalf("PATCH %s: %d %s", bad, r.Status, r.Body)
		}
	}
}

// TestRateLimitsOffByDefault: a server with no limit configured sends no
// X-RateLimit header and never answers 429 to a busy key.
func TestRateLimitsOffByDefault(t *testing.T) {
	e := shelftest.New(t, library.Config{})
	_, key := e.Workspace(t, "acme")
	for i := 0; i < 100; i++ {
		r := e.Do(t, "GET", "/v1/libraries/default", key, nil)
		if r.Status != 200 || r.Header.Get("X-RateLimit-Limit") != "" || r.Header.Get("Retry-After") != "" {
			t.Fatalf("request %d: %d %v", i, r.Status, r.Header)
		}
	}
}

// TestAuthFailuresThrottled: with the default throttle (10 a second, in
// bursts of 20), an address's 21st failed authentication in a burst is
// 429 with Retry-After, in the route's dialect, and from then on even a
// good key from that address waits; a second later it is let in. Behind a
// trusted proxy the client is the address the proxy appended to
// X-Forwarded-For; without one, X-Forwarded-For is ignored.
func TestAuthFailuresThrottled(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	e := shelftest.NewWith(t, t.TempDir(), library.Config{Now: clock.Now}, shelftest.Options{})
	_, good := e.Workspace(t, "acme")
	const ml = "/openapi/memorylake/api/v1/drives/items/MY_SPACE"
	xff := func(addr string) http.Header { return http.Header{"X-Forwarded-For": {addr}} }
	for i := 0; i < 20; i++ {
		// X-Forwarded-For is not trusted here: all of these are 127.0.0.1.
		if r := e.DoWith(t, "GET", ml, "shelf_nope", xff("203.0.113."+strconv.Itoa(i)), nil); r.Status != 401 {
			t.Fatalf("bad key %d: %d %s", i, r.Status, r.Body)
		}
	}
	r := e.Do(t, "GET", ml, "shelf_nope", nil)
	var body struct {
		ErrorCode string `json:"error_code"`
	}
	r.JSON(t, &body)
	if r.Status != 429 || body.ErrorCode != "RATE_LIMIT_EXCEEDED" || r.Header.Get("Retry-After") != "1" {
		t.Fatalf("21st failure: %d Retry-After %q %s", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	if r := e.Do(t, "GET", "/v1/libraries/default", good, nil); r.Status != 429 || errCode(t, r) != "rate_limited" {
		t.Fatalf("a good key from the throttled address: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "GET", "/v1/libraries/default", "", nil); r.Status != 429 {
		t.Fatalf("no key from the throttled address: %d %s", r.Status, r.Body)
	}
	clock.Add(time.Second)
	if r := e.Do(t, "GET", "/v1/libraries/default", good, nil); r.Status != 200 {
		t.Fatalf("a good key a second later: %d %s", r.Status, r.Body)
	}

	// Behind a trusted proxy (this test's loopback).
	clock.Add(time.Minute)
	p := shelftest.NewWith(t, t.TempDir(), library.Config{Now: clock.Now},
		shelftest.Options{HTTP: shelfhttp.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})
	_, pgood := p.Workspace(t, "acme")
	for i := 0; i < 20; i++ {
		p.DoWith(t, "GET", "/v1/libraries/default", "shelf_nope", xff("203.0.113.7"), nil)
	}
	if r := p.DoWith(t, "GET", "/v1/libraries/default", pgood, xff("203.0.113.7"), nil); r.Status != 429 {
		t.Fatalf("the throttled client behind the proxy: %d", r.Status)
	}
	if r := p.DoWith(t, "GET", "/v1/libraries/default", pgood, xff("203.0.113.8"), nil); r.Status != 200 {
		t.Fatalf("another client behind the same proxy: %d %s", r.Status, r.Body)
	}
	// A client cannot escape by writing its own X-Forwarded-For: the
	// proxy appends the real address, and that one counts.
	if r := p.DoWith(t, "GET", "/v1/libraries/default", pgood, xff("198.51.100.1, 203.0.113.7"), nil); r.Status != 429 {
		t.Fatalf("a forged first hop: %d", r.Status)
	}
	// IPv6 clients count by /64.
	for i := 0; i < 20; i++ {
		p.DoWith(t, "GET", "/v1/libraries/default", "shelf_nope", xff("2001:db8:1:2::"+strconv.Itoa(i+1)), nil)
	}
	if r := p.DoWith(t, "GET", "/v1/libraries/default", pgood, xff("2001:db8:1:2:ffff::9"), nil); r.Status != 429 {
		t.Fatalf("another address of a throttled /64: %d", r.Status)
	}
	if r := p.DoWith(t, "GET", "/v1/libraries/default", pgood, xff("2001:db8:1:3::1"), nil); r.Status != 200 {
		t.Fatalf("another /64: %d", r.Status)
	}
}

// TestConnectionCap: beyond the cap a connection gets a 503 with
// Retry-After at once, never a wait; a freed slot serves again.
func TestConnectionCap(t *testing.T) {
	e := shelftest.New(t, library.Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	capped := shelfhttp.LimitListener(ln, 2)
	hs := httptest.NewUnstartedServer(e.Server)
	hs.Listener = capped
	hs.Start()
	t.Cleanup(hs.Close)
	waitOpen := func(n int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for capped.Open() != n {
			if time.Now().After(deadline) {
				t.Fatalf("open connections %d, want %d", capped.Open(), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// Two idle connections hold both slots.
	var held []net.Conn
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		t.Cleanup(func() { c.Close() })
	}
	waitOpen(2)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			req, _ := http.NewRequest("PUT", hs.URL+"/v1/files/x.txt", bytes.NewReader(make([]byte, 64<<10)))
			req.Header.Set("Authorization", "Bearer "+shelftest.MasterKey)
			resp, err := client.Do(req)
			if err != nil {
				t.Errorf("over the cap: %v", err)
				return
			}
			defer resp.Body.Close()
			var body struct{ Error struct{ Code string } }
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" || body.Error.Code != "unavailable" {
				t.Errorf("over the cap: %d Retry-After %q %+v", resp.StatusCode, resp.Header.Get("Retry-After"), body)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("the refusal took %v", d)
			}
		}()
	}
	wg.Wait()
	if capped.Refused() < 20 {
		t.Fatalf("refused %d connections, want 20", capped.Refused())
	}
	held[0].Close()
	waitOpen(1)
	resp, err := client.Get(hs.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("after a slot was freed: %d", resp.StatusCode)
	}
}
