// Package http serves Shelf over HTTP: the one auth middleware every
// route but /healthz goes through, the native /v1 API, and the helpers the
// dialect packages below it (one per public API) register their routes
// with. Handlers translate requests into calls of the core
// (library.Service) and its answers into responses; no rule of the domain
// lives here, and no handler touches a store or blob adapter.
package http

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/library"
)

// Dialect is one wire API: its name, and how it writes an error.
type Dialect struct {
	Name string
	// WriteError writes err in the dialect's own format. Errors without a
	// code are internal and must not be detailed.
	WriteError func(w http.ResponseWriter, r *http.Request, err error)
}

// route is what the middleware knows about a pattern.
type route struct {
	scope   shelf.Scope // the scope a key needs
	dialect *Dialect
	// signed, when set, authenticates a request that carries a signature
	// instead of a key, and returns the principal it stands for.
	signed func(r *http.Request, vals map[string]string) (*shelf.Principal, error)
}

// Options configure a Server.
type Options struct {
	// PublicURL is the scheme and host clients reach the server at, used in
	// the URLs the server hands out (part uploads). Empty: taken from each
	// request's Host.
	PublicURL string
	// MaxJSONBytes caps a JSON request body. Default 1 MiB.
	MaxJSONBytes int64
	Logger       *slog.Logger
	// AuthFailures throttles failed authentications per client address:
	// each failure (a missing, unknown, revoked or expired key, a refused
	// signed URL) takes a token, and an address with none left is answered
	// 429 before its key is even read. It cannot be turned off. Default
	// DefaultAuthFailures.
	AuthFailures shelf.RateLimit
	// TrustedProxies are the addresses of reverse proxies whose
	// X-Forwarded-For names the client. Empty: the client is the
	// connection's peer, and X-Forwarded-For is ignored.
	TrustedProxies []netip.Prefix
}

// DefaultAuthFailures is the failed authentications a client address may
// make: 10 a second, in bursts of 20.
var DefaultAuthFailures = shelf.RateLimit{PerSecond: 10, Burst: 20}

// Server is Shelf's HTTP handler.
type Server struct {
	svc    *library.Service
	mux    *http.ServeMux
	routes map[string]route
	opts   Options
	log    *slog.Logger
	native *Dialect
	// authFails holds a bucket of failed authentications per client
	// address (in memory: each replica throttles on its own).
	authFails *library.MemoryLimiter
}

// New returns a Server with /healthz and the native /v1 API mounted.
// Dialects add their routes with Handle.
func New(svc *library.Service, opts Options) *Server {
	if opts.MaxJSONBytes <= 0 {
		opts.MaxJSONBytes = 1 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.AuthFailures.PerSecond <= 0 {
		opts.AuthFailures = DefaultAuthFailures
	}
	opts.AuthFailures.Burst = max(1, opts.AuthFailures.Burst)
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	s := &Server{svc: svc, mux: http.NewServeMux(), routes: map[string]route{}, opts: opts, log: opts.Logger,
		authFails: library.NewMemoryLimiter(1<<16, svc.Config().Now)}
	s.native = &Dialect{Name: "native", WriteError: s.writeNativeError}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}` + "\n"))
	})
	s.nativeRoutes()
	return s
}

// Service returns the core the server calls.
func (s *Server) Service() *library.Service { return s.svc }

// Logger returns the server's logger.
func (s *Server) Logger() *slog.Logger { return s.log }

// MaxJSONBytes is the cap on JSON request bodies.
func (s *Server) MaxJSONBytes() int64 { return s.opts.MaxJSONBytes }

// Handle mounts h at pattern (a net/http ServeMux pattern with a method)
// for requests whose key holds scope; d writes its errors.
func (s *Server) Handle(pattern string, scope shelf.Scope, d *Dialect, h http.HandlerFunc) {
	s.routes[pattern] = route{scope: scope, dialect: d}
	s.mux.Handle(pattern, h)
}

// HandleSigned mounts h at pattern for requests that carry either a key
// with scope or a signature (a "sig" query parameter) that verify accepts.
// vals holds the pattern's wildcards.
func (s *Server) HandleSigned(pattern string, scope shelf.Scope, d *Dialect, verify func(r *http.Request, vals map[string]string) (*shelf.Principal, error), h http.HandlerFunc) {
	s.routes[pattern] = route{scope: scope, dialect: d, signed: verify}
	s.mux.Handle(pattern, h)
}

// Patterns lists the patterns of every authenticated route, for tests
// that check each one.
func (s *Server) Patterns() []string {
	out := make([]string, 0, len(s.routes))
	for p := range s.routes {
		out = append(out, p)
	}
	return out
}

// RouteDialect names the dialect that owns a pattern Patterns lists.
func (s *Server) RouteDialect(pattern string) string {
	if rt, ok := s.routes[pattern]; ok {
		return rt.dialect.Name
	}
	return ""
}

// ServeHTTP authenticates every request but /healthz before routing it:
// no key or an unknown one is 401, a scope too small 403, in the error
// format of the dialect that owns the route. A client address that failed
// to authenticate too often is 429 before its key is read; a key over its
// rate limit is 429 with Retry-After, and while a key is limited every
// answer to it carries X-RateLimit-Limit, -Remaining and -Reset.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		s.mux.ServeHTTP(w, r)
		return
	}
	if !cleanURLPath(r.URL.Path) {
		// The mux would redirect to the cleaned path, and a client that
		// follows would write somewhere it did not name.
		s.dialectFor(r.URL.Path).WriteError(w, r, shelf.Errorf(shelf.EINVALID, "the URL path has an empty, . or .. segment"))
		return
	}
	_, pattern := s.mux.Handler(r)
	rt, known := s.routes[pattern]
	d := rt.dialect
	if !known {
		d = s.dialectFor(r.URL.Path)
	}
	client := "addr/" + s.clientAddr(r)
	if st := s.authFails.Check(client, s.opts.AuthFailures); !st.Allowed {
		w.Header().Set("Retry-After", strconv.FormatInt(library.RetryAfterSeconds(st.RetryAfter), 10))
		d.WriteError(w, r, shelf.Errorf(shelf.ERATELIMIT, "too many failed authentications from this address; retry in %d s",
			library.RetryAfterSeconds(st.RetryAfter)))
		return
	}
	var p *shelf.Principal
	var err error
	signed := known && rt.signed != nil && r.URL.Query().Has("sig")
	if signed {
		p, err = rt.signed(r, patternValues(pattern, r.URL.Path))
	} else {
		p, err = s.svc.Authenticate(r.Context(), bearer(r))
	}
	if err != nil {
		if code := shelf.ErrorCode(err); code == shelf.EUNAUTHORIZED || (signed && code == shelf.EFORBIDDEN) {
			_, _ = s.authFails.Take(r.Context(), client, s.opts.AuthFailures)
		}
		d.WriteError(w, r, err)
		return
	}
	st, err := s.svc.Admit(r.Context(), p)
	if st.Limit > 0 {
		h := w.Header()
		h.Set("X-RateLimit-Limit", strconv.Itoa(st.Limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(st.Remaining))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(ceilUnix(st.Reset), 10))
	}
	if err != nil {
		if shelf.ErrorCode(err) == shelf.ERATELIMIT {
			w.Header().Set("Retry-After", strconv.FormatInt(library.RetryAfterSeconds(st.RetryAfter), 10))
		}
		d.WriteError(w, r, err)
		return
	}
	if !known {
		d.WriteError(w, r, shelf.Errorf(shelf.ENOTFOUND, "no route for %s %s", r.Method, r.URL.Path))
		return
	}
	if !p.Can(rt.scope) {
		d.WriteError(w, r, shelf.Errorf(shelf.EFORBIDDEN, "this key lacks the %q scope", rt.scope))
		return
	}
	if rt.scope != shelf.ScopeRead || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		// A write: background work (indexing) gives way while it runs.
		defer s.svc.Foreground()()
	}
	s.mux.ServeHTTP(w, r.WithContext(shelf.NewContext(r.Context(), p)))
}

// ceilUnix is t in Unix seconds, rounded up.
func ceilUnix(t time.Time) int64 {
	u := t.Unix()
	if t.Nanosecond() > 0 {
		u++
	}
	return u
}

// clientAddr is the address failed authentications are counted against:
// the connection's peer, or, when the peer is a trusted proxy, the
// rightmost X-Forwarded-For address that is not one (a client can prepend
// anything, so only what the proxies appended counts). An IPv6 address
// counts as its /64, which one host usually holds whole.
func (s *Server) clientAddr(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	ip := ap.Addr().Unmap()
	if s.trusted(ip) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			ip = a.Unmap()
			if !s.trusted(ip) {
				break
			}
		}
	}
	ip = ip.WithZone("")
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}

func (s *Server) trusted(ip netip.Addr) bool {
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// cleanURLPath reports whether p is already in the form the mux routes,
// with no empty, "." or ".." segment (a trailing slash is fine).
func cleanURLPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// dialectFor picks the error format for a path no route matched.
func (s *Server) dialectFor(path string) *Dialect {
	best, bestLen := s.native, 0
	for pattern, rt := range s.routes {
		prefix := pattern
		if _, p, ok := strings.Cut(pattern, " "); ok {
			prefix = p
		}
		if i := strings.Index(prefix, "{"); i >= 0 {
			prefix = prefix[:i]
		}
		// the dialect of the longest route prefix sharing two segments
		if n := commonSegments(prefix, path); n >= 2 && len(prefix) > bestLen {
			best, bestLen = rt.dialect, len(prefix)
		}
	}
	return best
}

func commonSegments(a, b string) int {
	as, bs := strings.Split(strings.Trim(a, "/"), "/"), strings.Split(strings.Trim(b, "/"), "/")
	n := 0
	for n < len(as) && n < len(bs) && as[n] == bs[n] && as[n] != "" {
		n++
	}
	return n
}

// patternValues matches a pattern's wildcards against a path.
func patternValues(pattern, path string) map[string]string {
	_, p, _ := strings.Cut(pattern, " ")
	ps, xs := strings.Split(p, "/"), strings.Split(path, "/")
	vals := map[string]string{}
	for i := 0; i < len(ps) && i < len(xs); i++ {
		if strings.HasPrefix(ps[i], "{") && strings.HasSuffix(ps[i], "}") {
			vals[strings.Trim(ps[i], "{}.")] = xs[i]
		}
	}
	return vals
}

// bearer returns the key of an Authorization: Bearer header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// BaseURL returns the scheme and host clients use to reach the server.
func (s *Server) BaseURL(r *http.Request) string {
	if s.opts.PublicURL != "" {
		return s.opts.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// maxHeaderBytes caps a request's head.
const maxHeaderBytes = 64 << 10

// NewHTTPServer wraps h in an http.Server with the timeouts and limits of
// DESIGN §5: slow headers are cut, bodies are streamed with per-request
// deadlines pushed forward by the handlers that read large bodies.
func NewHTTPServer(addr string, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.Background() },
	}
}

// LogError logs an internal error; client errors are not logged.
func (s *Server) LogError(r *http.Request, err error) {
	if shelf.ErrorCode(err) == shelf.EINTERNAL {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
}
