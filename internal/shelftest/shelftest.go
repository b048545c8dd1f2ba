// Package shelftest starts a whole Shelf server for tests: SQLite and the
// local blob store in a temporary directory, the core, and every HTTP API,
// served on a real loopback listener.
package shelftest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/blob/fsblob"
	"github.com/shelfmem/shelf/fetch"
	shelfhttp "github.com/shelfmem/shelf/http"
	"github.com/shelfmem/shelf/http/chatbotkit"
	"github.com/shelfmem/shelf/http/informer"
	"github.com/shelfmem/shelf/http/memoryinc"
	"github.com/shelfmem/shelf/http/memorylake"
	"github.com/shelfmem/shelf/library"
	"github.com/shelfmem/shelf/store/sqlite"
)

// MasterKey is the master key every test server runs with.
const MasterKey = "test-master-key-0123456789abcdef0123"

// Env is a running test server.
type Env struct {
	URL     string
	Dir     string
	Service *library.Service
	Store   shelf.Store
	Blobs   shelf.BlobStore
	HTTP    *httptest.Server
	Server  *shelfhttp.Server
}

// New starts a server whose data lives in a fresh temporary directory; cfg
// tunes the core.
func New(tb testing.TB, cfg library.Config) *Env {
	tb.Helper()
	return NewAt(tb, tb.TempDir(), cfg)
}

// NewAt starts a server over the data in dir.
func NewAt(tb testing.TB, dir string, cfg library.Config) *Env {
	tb.Helper()
	// Tests send many failing requests on purpose: the throttle of failed
	// authentications, which has tests of its own, must not answer them.
	return NewWith(tb, dir, cfg, Options{HTTP: shelfhttp.Options{AuthFailures: shelf.RateLimit{PerSecond: 1e6, Burst: 1e6}}})
}

// Options change how NewWith builds a server.
type Options struct {
	// Wrap, when set, wraps the store and the blob store the core is
	// given, to inject faults; Env keeps the unwrapped ones.
	Wrap func(shelf.Store, shelf.BlobStore) (shelf.Store, shelf.BlobStore)
	// HTTP configures the HTTP layer, as given (the zero value is the
	// server's defaults); its Logger defaults to cfg's.
	HTTP shelfhttp.Options
}

// NewWith starts a server over the data in dir, built as opt says.
func NewWith(tb testing.TB, dir string, cfg library.Config, opt Options) *Env {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(dir, "shelf.db"))
	if err != nil {
		tb.Fatal(err)
	}
	blobs, err := fsblob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		tb.Fatal(err)
	}
	var coreStore shelf.Store = st
	var coreBlobs shelf.BlobStore = blobs
	if opt.Wrap != nil {
		coreStore, coreBlobs = opt.Wrap(st, blobs)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Fetcher == nil {
		// Tests serve the files the server fetches from loopback.
		allow, err := fetch.ParseAllow("127.0.0.0/8,::1/128")
		if err != nil {
			tb.Fatal(err)
		}
		cfg.Fetcher = fetch.New(fetch.Config{Allow: allow})
	}
	svc, err := library.Open(ctx, coreStore, coreBlobs, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := svc.EnsureMasterKey(ctx, MasterKey); err != nil {
		tb.Fatal(err)
	}
	opts := opt.HTTP
	if opts.Logger == nil {
		opts.Logger = cfg.Logger
	}
	srv := shelfhttp.New(svc, opts)
	memorylake.Register(srv)
	memoryinc.Register(srv)
	chatbotkit.Register(srv)
	informer.Register(srv)
	hs := httptest.NewServer(srv)
	env := &Env{URL: hs.URL, Dir: dir, Service: svc, Store: st, Blobs: blobs, HTTP: hs, Server: srv}
	ictx, stopIndexer := context.WithCancel(ctx)
	indexerDone := make(chan struct{})
	go func() {
		defer close(indexerDone)
		svc.RunIndexer(ictx)
	}()
	spaceDone := make(chan struct{})
	go func() {
		defer close(spaceDone)
		svc.WatchSpace(ictx)
	}()
	tb.Cleanup(func() {
		hs.Close()
		stopIndexer()
		<-indexerDone
		<-spaceDone
		_ = blobs.Close()
		_ = st.Close()
	})
	return env
}

// Context returns a context acting as the master key in the default workspace.
func (e *Env) Context(tb testing.TB) context.Context {
	tb.Helper()
	p, err := e.Service.Authenticate(context.Background(), MasterKey)
	if err != nil {
		tb.Fatal(err)
	}
	return shelf.NewContext(context.Background(), p)
}

// Workspace makes a new workspace and a key for it with the given scopes,
// returning the workspace id and the key.
func (e *Env) Workspace(tb testing.TB, name string, scopes ...shelf.Scope) (string, string) {
	tb.Helper()
	ctx := e.Context(tb)
	ws, err := e.Service.CreateWorkspace(ctx, name)
	if err != nil {
		tb.Fatal(err)
	}
	if len(scopes) == 0 {
		scopes = []shelf.Scope{shelf.ScopeAdmin}
	}
	_, token, err := e.Service.CreateKey(ctx, ws.ID, name+"-key", scopes)
	if err != nil {
		tb.Fatal(err)
	}
	return ws.ID, token
}

// Response is a finished HTTP exchange.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test when it is not JSON.
func (r *Response) JSON(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		tb.Fatalf("response %d is not JSON: %v: %s", r.Status, err, r.Body)
	}
}

// Do sends a request with key as the bearer token ("" sends none). A body
// that is not an io.Reader or []byte is sent as JSON.
func (e *Env) Do(tb testing.TB, method, url, key string, body any) *Response {
	tb.Helper()
	return e.DoWith(tb, method, url, key, nil, body)
}

// DoWith is Do with extra request headers.
func (e *Env) DoWith(tb testing.TB, method, url, key string, header http.Header, body any) *Response {
	tb.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case io.Reader:
		rd = b
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd, ct = bytes.NewReader([]byte(b)), "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		rd, ct = bytes.NewReader(j), "application/json"
	}
	if len(url) > 0 && url[0] == '/' {
		url = e.URL + url
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for name, vs := range header {
		for _, v := range vs {
			req.Header.Add(name, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// WaitIndexed polls GET /v1/index/status with key until no file of its
// workspace is queued or being indexed, failing the test after 30 seconds.
// It returns the last counts.
func (e *Env) WaitIndexed(tb testing.TB, key string) map[string]any {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st map[string]any
		r := e.Do(tb, "GET", "/v1/index/status", key, nil)
		if r.Status != http.StatusOK {
			tb.Fatalf("index status: %d %s", r.Status, r.Body)
		}
		r.JSON(tb, &st)
		if st["queued"] == 0.0 && st["running"] == 0.0 {
			return st
		}
		if time.Now().After(deadline) {
			tb.Fatalf("indexing did not finish in 30s: %v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
