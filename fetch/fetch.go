package fetch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shelfmem/shelf"
)

// Defaults for the zero fields of Config.
const (
	// DefaultMaxBytes is 25 MiB (26,214,400 bytes): a file its owner
	// calls "25 MB" passes whichever megabyte they mean.
	DefaultMaxBytes       = 25 << 20
	DefaultTimeout        = 30 * time.Second
	DefaultMaxHeaderBytes = 64 << 10
	DefaultMaxRedirects   = 5
	DefaultUserAgent      = "Shelf-fetch/1"

	// connectTimeout and tlsTimeout bound each dial and TLS handshake
	// within the overall Timeout.
	connectTimeout = 10 * time.Second
	tlsTimeout     = 10 * time.Second
)

// Resolver looks up the addresses of a host name. *net.Resolver
// implements it; tests pass a fake.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Config sets the limits of a Fetcher. The zero value is usable: every
// zero field takes its default.
type Config struct {
	// MaxBytes caps the body (DefaultMaxBytes if ≤ 0). A declared
	// Content-Length above it fails Get; a body that runs past it fails
	// the read that crosses it. Both are ETOOLARGE.
	MaxBytes int64
	// Timeout bounds the whole exchange: DNS, connect, TLS, every redirect
	// and reading the body to its end (DefaultTimeout if ≤ 0). A server
	// that trickles bytes forever fails when it runs out. A caller that
	// streams the body into slow storage must finish within it too.
	Timeout time.Duration
	// MaxHeaderBytes caps the response header of each hop
	// (DefaultMaxHeaderBytes if ≤ 0).
	MaxHeaderBytes int64
	// MaxRedirects is how many redirects are followed (DefaultMaxRedirects
	// if 0; none if negative). One more is EINVALID.
	MaxRedirects int
	// Allow opens exceptions to the address check; see ParseAllow.
	Allow Allow
	// Resolver resolves host names (net.DefaultResolver if nil).
	Resolver Resolver
	// RootCAs verifies https servers (the system roots if nil).
	RootCAs *x509.CertPool
	// UserAgent is sent with every request (DefaultUserAgent if "").
	UserAgent string
}

// Fetcher reads http and https URLs under the rules of the package
// documentation. Make one with New; it is safe for concurrent use, and
// sharing one lets connections be reused.
type Fetcher struct {
	allow        Allow
	resolver     Resolver
	dialer       *net.Dialer
	client       *http.Client
	transport    *http.Transport
	maxBytes     int64
	maxRedirects int
	timeout      time.Duration
	userAgent    string
}

// Response is a successful (2xx) answer. The caller must close Body.
type Response struct {
	// Body yields at most MaxBytes bytes; a body that has more fails the
	// read that crosses the cap with ETOOLARGE instead of ending early.
	// Read errors carry shelf codes (EUNAVAILABLE for a timeout or a
	// dropped connection).
	Body io.ReadCloser
	// ContentType is the media type the server declared, with the type
	// in lower case ("text/plain; charset=UTF-8"); "" if it sent none or
	// an unparsable one.
	ContentType string
	// ContentLength is the declared length, or -1 if unknown.
	ContentLength int64
	// FinalURL is the URL that answered, after redirects.
	FinalURL string
	// Filename is a plain file name for the body: the Content-Disposition
	// filename, else the last path segment of the requested URL, else of
	// FinalURL; sanitized (no separators, control characters or "..",
	// at most 255 bytes) and "" if none of them gives one.
	Filename string
}

type ctxKey struct{}

// New returns a Fetcher with cfg's limits.
func New(cfg Config) *Fetcher {
	f := &Fetcher{
		allow:        cfg.Allow,
		resolver:     cfg.Resolver,
		maxBytes:     cfg.MaxBytes,
		maxRedirects: cfg.MaxRedirects,
		timeout:      cfg.Timeout,
		userAgent:    cfg.UserAgent,
	}
	if f.resolver == nil {
		f.resolver = net.DefaultResolver
	}
	if f.maxBytes <= 0 {
		f.maxBytes = DefaultMaxBytes
	}
	switch {
	case f.maxRedirects == 0:
		f.maxRedirects = DefaultMaxRedirects
	case f.maxRedirects < 0:
		f.maxRedirects = 0
	}
	if f.timeout <= 0 {
		f.timeout = DefaultTimeout
	}
	if f.userAgent == "" {
		f.userAgent = DefaultUserAgent
	}
	maxHeader := cfg.MaxHeaderBytes
	if maxHeader <= 0 {
		maxHeader = DefaultMaxHeaderBytes
	}
	f.dialer = &net.Dialer{
		Timeout:        min(connectTimeout, f.timeout),
		KeepAlive:      30 * time.Second,
		ControlContext: f.control,
	}
	f.transport = &http.Transport{
		Proxy:                  nil, // through a proxy, the dial check would see only the proxy
		DialContext:            f.dial,
		TLSClientConfig:        &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    min(tlsTimeout, f.timeout),
		ResponseHeaderTimeout:  f.timeout,
		MaxResponseHeaderBytes: maxHeader,
		DisableCompression:     true,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           32,
		IdleConnTimeout:        30 * time.Second,
		ExpectContinueTimeout:  time.Second,
	}
	f.client = &http.Client{
		Transport:     f.transport,
		CheckRedirect: f.checkRedirect,
		Timeout:       f.timeout,
	}
	return f
}

// CloseIdleConnections closes the connections kept for reuse. A closed
// Fetcher still works; it dials afresh.
func (f *Fetcher) CloseIdleConnections() { f.transport.CloseIdleConnections() }

// Check applies the rules that need no I/O to rawURL: scheme, credentials,
// port, host spelling, and the address check when the host is an IP
// address. Transports can use it to refuse a URL when it is submitted; Get
// applies it again, with the dial-time checks, on every fetch. The errors
// are those of Get: EINVALID, or EFORBIDDEN wrapping ErrBlocked.
func (f *Fetcher) Check(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return shelf.Errorf(shelf.EINVALID, "malformed URL")
	}
	return f.allow.checkURL(u)
}

// Get fetches rawURL with GET and returns the response if it is a 2xx
// whose declared length fits the cap; the caller reads and closes Body.
// Errors carry shelf codes that separate a URL breaking a rule from a
// remote server failing, so callers can refuse the first and report the
// second:
//   - EINVALID: a malformed or refused URL (scheme, credentials, host
//     spelling), too many redirects, or a response Go cannot use (headers
//     over the cap, protocol errors);
//   - EFORBIDDEN wrapping ErrBlocked: the URL, a redirect or what a name
//     resolved to points at an address that is not allowed;
//   - ETOOLARGE: the declared Content-Length is over MaxBytes (reading past
//     it fails the same way);
//   - ETIMEOUT: the fetch did not finish within Timeout;
//   - EUNAVAILABLE: the remote failed: any non-2xx answer ("upstream
//     answered 404 Not Found"), an unknown host or a failed lookup, a
//     refused or dropped connection, an invalid TLS certificate, or ctx
//     ending.
//
// No upstream body ever goes into an error.
func (f *Fetcher) Get(ctx context.Context, rawURL string) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		if ctx == nil {
			return nil, shelf.Errorf(shelf.EINTERNAL, "fetch: nil context")
		}
		return nil, shelf.Errorf(shelf.EINVALID, "malformed URL")
	}
	if err := f.allow.checkURL(req.URL); err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", f.userAgent)
	req.Header.Set("Accept", "*/*")
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, f.classifyErr(err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_ = resp.Body.Close()
		return nil, shelf.Errorf(shelf.EUNAVAILABLE, "upstream answered %s", statusText(resp.StatusCode))
	}
	if resp.ContentLength > f.maxBytes {
		_ = resp.Body.Close()
		return nil, f.tooLarge()
	}
	final := resp.Request.URL
	return &Response{
		Body:          &body{rc: resp.Body, left: f.maxBytes, f: f},
		ContentType:   contentType(resp.Header.Get("Content-Type")),
		ContentLength: resp.ContentLength,
		FinalURL:      final.String(),
		Filename:      filename(resp.Header.Get("Content-Disposition"), req.URL, final),
	}, nil
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return strconv.Itoa(code) + " " + t
	}
	return strconv.Itoa(code)
}

func contentType(v string) string {
	if v == "" {
		return ""
	}
	mt, params, err := mime.ParseMediaType(v)
	if err != nil {
		return ""
	}
	if s := mime.FormatMediaType(mt, params); s != "" {
		return s
	}
	return mt
}

func (f *Fetcher) tooLarge() error {
	return shelf.Errorf(shelf.ETOOLARGE, "upstream file is larger than the limit of %d bytes", f.maxBytes)
}

// checkRedirect re-applies checkURL to every hop and stops after
// maxRedirects. The Referer is dropped: the first URL may carry a token.
func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > f.maxRedirects {
		return shelf.Errorf(shelf.EINVALID, "too many redirects (more than %d)", f.maxRedirects)
	}
	if err := f.allow.checkURL(req.URL); err != nil {
		return err
	}
	req.Header.Del("Referer")
	return nil
}

// dial is the transport's only way to the network. It checks the host's
// spelling again, resolves a name once with f.resolver, drops every
// address the allow list does not permit, and dials the rest by address,
// in the resolver's order, so nothing is looked up between the check and
// the connection (DNS rebinding). The dialer's Control hook checks the
// socket address once more.
func (f *Fetcher) dial(ctx context.Context, network, address string) (net.Conn, error) {
	if network != "tcp" && network != "tcp4" && network != "tcp6" {
		return nil, shelf.Errorf(shelf.EINVALID, "network %q is not allowed", network)
	}
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, shelf.Errorf(shelf.EINVALID, "malformed address %q", address)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 {
		return nil, shelf.Errorf(shelf.EINVALID, "URL port %q is not valid", portStr)
	}
	h, err := f.allow.checkHost(host, false)
	if err != nil {
		return nil, err
	}
	byName := h.name != "" && f.allow.hasHost(h.name)
	addrs := []netip.Addr{h.addr}
	if h.name != "" {
		addrs, err = f.resolver.LookupNetIP(ctx, "ip", h.name)
		if err != nil {
			return nil, err
		}
		if len(addrs) == 0 {
			return nil, &net.DNSError{Err: "no addresses", Name: h.name, IsNotFound: true}
		}
	}
	var permitted []netip.Addr
	var refusal error
	for _, a := range addrs {
		a = a.Unmap()
		if byName {
			permitted = append(permitted, a)
		} else if err := f.allow.refuse(host, a, h.name == ""); err != nil {
			refusal = firstErr(refusal, err)
		} else {
			permitted = append(permitted, a)
		}
	}
	if len(permitted) == 0 {
		return nil, refusal
	}
	ctx = context.WithValue(ctx, ctxKey{}, host)
	var first error
	for _, a := range permitted {
		conn, err := f.dialer.DialContext(ctx, network, netip.AddrPortFrom(a, uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		first = firstErr(first, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// firstErr returns a if set, else b.
func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// control runs after the socket is made and before connect(2), on the
// address actually dialled: the last word on whether it is allowed.
func (f *Fetcher) control(ctx context.Context, network, address string, _ syscall.RawConn) error {
	if !strings.HasPrefix(network, "tcp") {
		return shelf.Errorf(shelf.EINVALID, "network %q is not allowed", network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return shelf.Errorf(shelf.EINVALID, "malformed address %q", address)
	}
	host, _ := ctx.Value(ctxKey{}).(string)
	if host == "" {
		host = ap.Addr().String()
	}
	return f.allow.refuse(host, ap.Addr(), host == ap.Addr().String())
}

// classifyErr turns an error of the HTTP client into a shelf error, by type:
// a shelf error found inside is returned as it is; the rest is sorted into
// retryable (EUNAVAILABLE) and not (EINVALID). The cause is kept for the
// log; the message never quotes the upstream.
func (f *Fetcher) classifyErr(err error) error {
	var se *shelf.Error
	if errors.As(err, &se) {
		return se
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // url.Error is itself a net.Error; look inside
	}
	var (
		dnsErr  *net.DNSError
		netErr  net.Error
		certErr *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		badHost x509.HostnameError
		invalid x509.CertificateInvalidError
		record  tls.RecordHeaderError
		alert   tls.AlertError
		opErr   *net.OpError
	)
	wrap := func(code, msg string) error { return &shelf.Error{Code: code, Message: msg, Err: err} }
	switch {
	case errors.Is(err, context.Canceled):
		return wrap(shelf.EUNAVAILABLE, "fetch cancelled")
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return wrap(shelf.EUNAVAILABLE, "host "+strconv.Quote(dnsErr.Name)+" not found")
	case errors.As(err, &dnsErr):
		return wrap(shelf.EUNAVAILABLE, "could not resolve host "+strconv.Quote(dnsErr.Name))
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return wrap(shelf.ETIMEOUT, "upstream did not finish within "+f.timeout.String())
	case errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &badHost), errors.As(err, &invalid):
		return wrap(shelf.EUNAVAILABLE, "upstream TLS certificate is not valid")
	case errors.As(err, &record), errors.As(err, &alert):
		return wrap(shelf.EUNAVAILABLE, "TLS handshake with upstream failed")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return wrap(shelf.EUNAVAILABLE, "upstream closed the connection early")
	case errors.As(err, &opErr), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return wrap(shelf.EUNAVAILABLE, "could not reach upstream")
	}
	// Protocol errors, headers over MaxHeaderBytes and the like: net/http
	// gives them no type, and retrying will not help.
	return wrap(shelf.EINVALID, "upstream sent an unusable response")
}

// body caps a response body at the Fetcher's MaxBytes and gives its read
// errors shelf codes. Errors are sticky.
type body struct {
	rc   io.ReadCloser
	left int64 // bytes still allowed
	f    *Fetcher
	err  error
}

func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left+1] // one byte more than allowed tells whether there is more
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.left {
		n = int(b.left)
		b.left = 0
		b.err = b.f.tooLarge()
		return n, b.err
	}
	b.left -= int64(n)
	switch {
	case err == io.EOF:
		b.err = io.EOF
	case err != nil:
		b.err = b.f.classifyErr(err)
	}
	return n, b.err
}

func (b *body) Close() error { return b.rc.Close() }

// Fetch implements shelf.Fetcher on top of Get.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (*shelf.Fetched, error) {
	r, err := f.Get(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	return &shelf.Fetched{Body: r.Body, ContentType: r.ContentType, Size: r.ContentLength, Name: r.Filename, URL: r.FinalURL}, nil
}

var _ shelf.Fetcher = (*Fetcher)(nil)
