package memoryinc_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/fetch"
	"github.com/shelfmem/shelf/http/memoryinc"
	"github.com/shelfmem/shelf/internal/shelftest"
	"github.com/shelfmem/shelf/library"
)

// The answers, as a client reads them.

type ingestOut struct {
	OK           *bool    `json:"ok"`
	Status       string   `json:"status"`
	SourceID     string   `json:"source_id"`
	SourceItemID string   `json:"source_item_id"`
	VersionID    string   `json:"version_id"`
	Attachments  []attOut `json:"attachments"`
}

type attOut struct {
	URL          string `json:"url"`
	Filename     string `json:"filename"`
	Status       string `json:"status"`
	SourceItemID string `json:"source_item_id"`
	Error        string `json:"error"`
}

type listOut struct {
	OK    *bool     `json:"ok"`
	Count int       `json:"count"`
	Items []itemOut `json:"items"`
}

type itemOut struct {
	ID             string          `json:"id"`
	ExternalID     *string         `json:"external_id"`
	SourceName     string          `json:"source_name"`
	SourceType     string          `json:"source_type"`
	Title          string          `json:"title"`
	Scope          string          `json:"scope"`
	Hidden         bool            `json:"hidden"`
	DeleteBehavior string          `json:"delete_behavior"`
	SourceID       string          `json:"source_id"`
	Path           string          `json:"path"`
	Metadata       json.RawMessage `json:"metadata"`
	Version        int64           `json:"version"`
	ContentType    string          `json:"content_type"`
	Size           int64           `json:"size"`
	SHA256         string          `json:"sha256"`
	CreatedAt      string          `json:"created_at"`
	UpdatedAt      string          `json:"updated_at"`
	AttachmentOf   *string         `json:"attachment_of"`
}

type deleteOut struct {
	OK          *bool        `json:"ok"`
	Matched     int          `json:"matched"`
	HardDeleted []removalOut `json:"hard_deleted"`
	Hidden      []removalOut `json:"hidden"`
}

type removalOut struct {
	ID           string  `json:"id"`
	ExternalID   *string `json:"external_id"`
	SourceName   string  `json:"source_name"`
	Path         string  `json:"path"`
	AttachmentOf *string `json:"attachment_of"`
}

type errOut struct {
	OK    *bool `json:"ok"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// tc is one test's server and the key it mostly acts with.
type tc struct {
	t   *testing.T
	env *shelftest.Env
	ws  string // the default workspace, the master key's
	key string // a write key of ws
}

func newTC(t *testing.T, cfg library.Config) *tc {
	t.Helper()
	env := shelftest.New(t, cfg)
	c := &tc{t: t, env: env, ws: shelf.PrincipalFrom(env.Context(t)).WorkspaceID}
	c.key = c.newKey("writer", shelf.ScopeWrite)
	return c
}

// newKey makes another key of the default workspace.
func (c *tc) newKey(name string, scopes ...shelf.Scope) string {
	c.t.Helper()
	_, token, err := c.env.Service.CreateKey(c.env.Context(c.t), c.ws, name, scopes)
	if err != nil {
		c.t.Fatal(err)
	}
	return token
}

func (c *tc) post(key string, body any) *shelftest.Response {
	c.t.Helper()
	return c.env.Do(c.t, http.MethodPost, memoryinc.IngestPath, key, body)
}

// ingest posts body and expects a 200 answer.
func (c *tc) ingest(key string, body any) ingestOut {
	c.t.Helper()
	r := c.post(key, body)
	var out ingestOut
	okJSON(c.t, r, &out)
	if out.Status != "indexed" && out.Status != "unchanged" {
		c.t.Fatalf("status %q: %s", out.Status, r.Body)
	}
	if out.SourceID == "" || out.SourceItemID == "" || out.VersionID == "" {
		c.t.Fatalf("ids missing: %s", r.Body)
	}
	return out
}

// list looks items up with query (url-encoded, without "?").
func (c *tc) list(key, query string) listOut {
	c.t.Helper()
	r := c.env.Do(c.t, http.MethodGet, memoryinc.ItemsPath+"?"+query, key, nil)
	var out listOut
	okJSON(c.t, r, &out)
	if out.Count != len(out.Items) {
		c.t.Fatalf("count %d, %d items", out.Count, len(out.Items))
	}
	return out
}

func (c *tc) del(key string, body any, query string) *shelftest.Response {
	c.t.Helper()
	p := memoryinc.ItemsPath
	if query != "" {
		p += "?" + query
	}
	return c.env.Do(c.t, http.MethodDelete, p, key, body)
}

func (c *tc) remove(key string, body any, query string) deleteOut {
	c.t.Helper()
	var out deleteOut
	okJSON(c.t, c.del(key, body, query), &out)
	if out.HardDeleted == nil || out.Hidden == nil {
		c.t.Fatal("hard_deleted and hidden must be arrays")
	}
	if out.Matched != len(out.HardDeleted)+len(out.Hidden) {
		c.t.Fatalf("matched %d, but %d deleted and %d hidden", out.Matched, len(out.HardDeleted), len(out.Hidden))
	}
	return out
}

// snapshot is everything key can list, for before/after comparisons.
func (c *tc) snapshot(key string) string {
	c.t.Helper()
	l := c.list(key, "limit=200")
	var b strings.Builder
	for _, it := range l.Items {
		fmt.Fprintf(&b, "%s %s v%d hidden=%v\n", it.ID, it.Path, it.Version, it.Hidden)
	}
	return b.String()
}

// content reads an item's bytes (version 0: the head) with the master key.
func (c *tc) content(id string, version int) ([]byte, string) {
	c.t.Helper()
	p := "/v1/items/" + id + "/content"
	if version > 0 {
		p += fmt.Sprintf("?version=%d", version)
	}
	r := c.env.Do(c.t, http.MethodGet, p, shelftest.MasterKey, nil)
	if r.Status != http.StatusOK {
		c.t.Fatalf("GET %s = %d: %s", p, r.Status, r.Body)
	}
	return r.Body, r.Header.Get("Content-Type")
}

// native reads an item through the native API with the master key.
func (c *tc) native(id string) (int, *shelf.Item) {
	c.t.Helper()
	r := c.env.Do(c.t, http.MethodGet, "/v1/items/"+id, shelftest.MasterKey, nil)
	if r.Status != http.StatusOK {
		return r.Status, nil
	}
	var it shelf.Item
	r.JSON(c.t, &it)
	return r.Status, &it
}

// okJSON checks a 200 {"ok":true,…} answer and decodes it into v.
func okJSON(t *testing.T, r *shelftest.Response, v any) {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("status = %d, want 200: %s", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q", ct)
	}
	var e struct {
		OK *bool `json:"ok"`
	}
	r.JSON(t, &e)
	if e.OK == nil || !*e.OK {
		t.Fatalf("not {\"ok\":true}: %s", r.Body)
	}
	r.JSON(t, v)
}

// fails checks an error answer: status, {"ok":false,"error":{code,
// message}}, a message mentioning each of msgParts.
func fails(t *testing.T, r *shelftest.Response, status int, code string, msgParts ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q", ct)
	}
	var e errOut
	r.JSON(t, &e)
	if e.OK == nil || *e.OK || e.Error == nil || e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("want {ok:false, error:{code:%q, message}}, got %s", code, r.Body)
	}
	for _, p := range msgParts {
		if !strings.Contains(e.Error.Message, p) {
			t.Fatalf("message %q does not mention %q", e.Error.Message, p)
		}
	}
}

// keys returns the keys of a JSON object, sorted.
func keys(t *testing.T, raw []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func hasAll(got []string, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}

// ids names items by external id, else (keyed by path, or attachments)
// by path.
func ids(items []itemOut) []string {
	out := make([]string, len(items))
	for i, it := range items {
		if it.ExternalID != nil {
			out[i] = *it.ExternalID
		} else {
			out[i] = it.Path
		}
	}
	return out
}

// removedIDs names removed items as ids does, sorted.
func removedIDs(rs []removalOut) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		if r.ExternalID != nil {
			out[i] = *r.ExternalID
		} else {
			out[i] = r.Path
		}
	}
	sort.Strings(out)
	return out
}

// fileServer serves files from loopback and counts the requests it got.
type fileServer struct {
	*httptest.Server
	hits     atomic.Int64
	mu       sync.Mutex
	rawQuery []string
}

func serve(t *testing.T, h http.HandlerFunc) *fileServer {
	t.Helper()
	fs := &fileServer{}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.hits.Add(1)
		fs.mu.Lock()
		fs.rawQuery = append(fs.rawQuery, r.URL.RawQuery)
		fs.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(fs.Close)
	if host, _, _ := net.SplitHostPort(fs.Listener.Addr().String()); host != "127.0.0.1" {
		t.Fatalf("test server listens on %s, want 127.0.0.1", host)
	}
	return fs
}

// serveOn6 serves h on [::1], or skips when the host has no IPv6 loopback.
func serveOn6(t *testing.T, h http.HandlerFunc) *fileServer {
	t.Helper()
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	fs := &fileServer{}
	fs.Server = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.hits.Add(1)
		h(w, r)
	})}}
	fs.Start()
	t.Cleanup(fs.Close)
	return fs
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func bytesHandler(b []byte, ct string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ct)
		_, _ = w.Write(b)
	}
}

func loopbackAllow(t *testing.T, s string) fetch.Allow {
	t.Helper()
	a, err := fetch.ParseAllow(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// clock is a controllable library.Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// q2PDF stands in for the seed's q2.pdf.
var q2PDF = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% Q2 report\n%%EOF\n")

// TestSeedIngestWithAttachment runs the seed's first example verbatim,
// with its presigned S3 URL pointing at a loopback server, then the seed's
// look-up call.
func TestSeedIngestWithAttachment(t *testing.T) {
	c := newTC(t, library.Config{})
	files := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/q2.pdf" {
			http.NotFound(w, r)
			return
		}
		bytesHandler(q2PDF, "application/pdf")(w, r)
	})
	attURL := files.URL + "/q2.pdf?X-Amz-…"
	body := `{
    "external_id": "doc-2026-06-09-001",
    "title": "Weekly decision memo",
    "content": "# Decision\n- Move the payment module to v2",
    "attachments": [
      { "url": "` + attURL + `", "filename": "q2-report.pdf" }
    ]
  }`
	r := c.post(c.key, body)
	var out ingestOut
	okJSON(t, r, &out)
	if got := keys(t, r.Body); !slices.Equal(got, []string{"attachments", "ok", "source_id", "source_item_id", "status", "version_id"}) {
		t.Fatalf("answer fields = %v", got)
	}
	if out.Status != "indexed" || out.SourceID == "" || out.SourceItemID == "" || out.VersionID == "" {
		t.Fatalf("answer = %s", r.Body)
	}
	if len(out.Attachments) != 1 {
		t.Fatalf("attachments = %s", r.Body)
	}
	a := out.Attachments[0]
	if a.URL != attURL || a.Filename != "q2-report.pdf" || a.Status != "indexed" || a.SourceItemID == "" || a.Error != "" {
		t.Fatalf("attachment = %+v", a)
	}
	if files.hits.Load() != 1 || !strings.HasPrefix(files.rawQuery[0], "X-Amz-") {
		t.Fatalf("file server: %d requests, queries %q", files.hits.Load(), files.rawQuery)
	}

	// The bytes, through the native API with the master key.
	b, ct := c.content(out.SourceItemID, 0)
	if string(b) != "# Decision\n- Move the payment module to v2" || ct != "text/plain; charset=utf-8" {
		t.Fatalf("document = %q (%s)", b, ct)
	}
	b, ct = c.content(a.SourceItemID, 0)
	if !bytes.Equal(b, q2PDF) || ct != "application/pdf" {
		t.Fatalf("attachment = %q (%s)", b, ct)
	}
	_, doc := c.native(out.SourceItemID)
	if doc.Title != "Weekly decision memo" || doc.ExternalID != "doc-2026-06-09-001" || doc.Head != 1 || doc.Scope != "workspace" {
		t.Fatalf("document item = %+v", doc)
	}

	// The seed's look-up, and the documented shape of its answer.
	lr := c.env.Do(t, http.MethodGet, memoryinc.ItemsPath+"?external_id=doc-2026-06-09-001", c.key, nil)
	var l listOut
	okJSON(t, lr, &l)
	if got := keys(t, lr.Body); !slices.Equal(got, []string{"count", "items", "ok"}) {
		t.Fatalf("list fields = %v", got)
	}
	if l.Count != 1 || len(l.Items) != 1 {
		t.Fatalf("list = %s", lr.Body)
	}
	var raw struct{ Items []json.RawMessage }
	lr.JSON(t, &raw)
	if got := keys(t, raw.Items[0]); !hasAll(got, "id", "external_id", "source_name", "source_type", "title", "scope", "hidden", "delete_behavior") {
		t.Fatalf("item fields = %v", got)
	}
	it := l.Items[0]
	want := itemOut{ID: out.SourceItemID, ExternalID: it.ExternalID, SourceName: "API ingest", SourceType: "api",
		Title: "Weekly decision memo", Scope: "workspace", Hidden: false, DeleteBehavior: "hard_delete",
		SourceID: out.SourceID, Path: "doc-2026-06-09-001", Version: 1, ContentType: "text/plain; charset=utf-8",
		Size: int64(len("# Decision\n- Move the payment module to v2")), SHA256: doc.Hash,
		Metadata: it.Metadata, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt}
	if it.ExternalID == nil || *it.ExternalID != "doc-2026-06-09-001" || string(it.Metadata) != "null" ||
		fmt.Sprint(it) != fmt.Sprint(want) {
		t.Fatalf("item = %+v\nwant   %+v", it, want)
	}
	if _, err := time.Parse(time.RFC3339Nano, it.CreatedAt); err != nil {
		t.Fatalf("created_at %q: %v", it.CreatedAt, err)
	}

	// The attachment is an item of the same source.
	all := c.list(c.key, "")
	if got := ids(all.Items); !slices.Equal(got, []string{"doc-2026-06-09-001", "doc-2026-06-09-001.attachments/q2-report.pdf"}) {
		t.Fatalf("items = %v", got)
	}
	if att := all.Items[1]; att.ID != a.SourceItemID || att.Title != "q2-report.pdf" || att.SourceID != out.SourceID ||
		att.Path != "doc-2026-06-09-001.attachments/q2-report.pdf" || att.ContentType != "application/pdf" ||
		att.ExternalID != nil || att.AttachmentOf == nil || *att.AttachmentOf != out.SourceItemID {
		t.Fatalf("attachment item = %+v", att)
	}
	if doc := all.Items[0]; doc.AttachmentOf != nil {
		t.Fatalf("document item = %+v", doc)
	}

	// The same request again: unchanged, the attachment fetched again and unchanged.
	again := c.ingest(c.key, body)
	if again.Status != "unchanged" || again.SourceItemID != out.SourceItemID || again.VersionID != out.VersionID ||
		len(again.Attachments) != 1 || again.Attachments[0].Status != "unchanged" || again.Attachments[0].SourceItemID != a.SourceItemID {
		t.Fatalf("again = %+v", again)
	}
}

// TestSeedIngestPath runs the seed's folder-tree example verbatim.
func TestSeedIngestPath(t *testing.T) {
	c := newTC(t, library.Config{})
	body := `{
    "source_name": "my-docs",
    "path": "docs/api/payments.md",
    "content": "# Payments API\n..."
  }`
	r := c.post(c.key, body)
	var out ingestOut
	okJSON(t, r, &out)
	if got := keys(t, r.Body); slices.Contains(got, "attachments") {
		t.Fatalf("attachments in an answer to a request without any: %s", r.Body)
	}
	if out.Status != "indexed" {
		t.Fatalf("answer = %s", r.Body)
	}
	b, ct := c.content(out.SourceItemID, 0)
	if string(b) != "# Payments API\n..." || ct != "text/markdown; charset=utf-8" {
		t.Fatalf("content = %q (%s)", b, ct)
	}
	l := c.list(c.key, "source_name=my-docs")
	if l.Count != 1 {
		t.Fatalf("list = %+v", l)
	}
	it := l.Items[0]
	if it.ID != out.SourceItemID || it.ExternalID != nil || it.Path != "docs/api/payments.md" || it.Title != "payments.md" ||
		it.SourceName != "my-docs" || it.SourceType != "api" || it.DeleteBehavior != "hard_delete" || it.SourceID != out.SourceID {
		t.Fatalf("item = %+v", it)
	}
	// Another source keeps its own id.
	other := c.ingest(c.key, map[string]any{"external_id": "x", "content": "x"})
	if other.SourceID == out.SourceID {
		t.Fatal("API ingest and my-docs share a source id")
	}
}

// TestSeedDelete runs the seed's delete call verbatim, then reproduces its
// documented answer, which lists an item of a connector (Gmail) as hidden.
func TestSeedDelete(t *testing.T) {
	c := newTC(t, library.Config{})
	doc := c.ingest(c.key, map[string]any{"external_id": "doc-2026-06-09-001", "title": "Weekly decision memo",
		"content": "# Decision\n- Move the payment module to v2"})
	keep := c.ingest(c.key, map[string]any{"external_id": "doc-2026-06-09-002", "content": "keep"})

	r := c.del(c.key, `{ "external_ids": ["doc-2026-06-09-001"] }`, "")
	var out deleteOut
	okJSON(t, r, &out)
	if got := keys(t, r.Body); !slices.Equal(got, []string{"hard_deleted", "hidden", "matched", "ok"}) {
		t.Fatalf("answer fields = %v", got)
	}
	if out.Matched != 1 || len(out.HardDeleted) != 1 || len(out.Hidden) != 0 {
		t.Fatalf("answer = %s", r.Body)
	}
	if d := out.HardDeleted[0]; d.ID != doc.SourceItemID || *d.ExternalID != "doc-2026-06-09-001" || d.SourceName != "API ingest" {
		t.Fatalf("hard_deleted = %+v", d)
	}
	var raw struct {
		HardDeleted []json.RawMessage `json:"hard_deleted"`
	}
	r.JSON(t, &raw)
	if got := keys(t, raw.HardDeleted[0]); !hasAll(got, "id", "external_id", "source_name") {
		t.Fatalf("hard_deleted fields = %v", got)
	}
	if st, _ := c.native(doc.SourceItemID); st != http.StatusNotFound {
		t.Fatalf("GET /v1/items/{deleted} = %d, want 404", st)
	}
	if st, _ := c.native(keep.SourceItemID); st != http.StatusOK {
		t.Fatalf("the other document: %d", st)
	}

	// The documented answer: matched 2, one hard-deleted, mail-9 of Gmail hidden.
	if _, err := c.env.Service.CreateSource(c.env.Context(t), "Gmail", "gmail"); err != nil {
		t.Fatal(err)
	}
	doc = c.ingest(c.key, map[string]any{"external_id": "doc-2026-06-09-001", "content": "# Decision"})
	mail := c.ingest(c.key, map[string]any{"source_name": "Gmail", "external_id": "mail-9", "content": "Subject: hi"})
	out = c.remove(c.key, map[string]any{"external_ids": []string{"doc-2026-06-09-001", "mail-9"}}, "")
	if out.Matched != 2 || len(out.HardDeleted) != 1 || len(out.Hidden) != 1 {
		t.Fatalf("answer = %+v", out)
	}
	if d := out.HardDeleted[0]; d.ID != doc.SourceItemID || *d.ExternalID != "doc-2026-06-09-001" || d.SourceName != "API ingest" {
		t.Fatalf("hard_deleted = %+v", d)
	}
	if h := out.Hidden[0]; h.ID != mail.SourceItemID || *h.ExternalID != "mail-9" || h.SourceName != "Gmail" {
		t.Fatalf("hidden = %+v", h)
	}
}

func TestUnchangedAndVersions(t *testing.T) {
	c := newTC(t, library.Config{})
	check := func(name string, first, second, changed any) {
		t.Helper()
		a := c.ingest(c.key, first)
		if a.Status != "indexed" {
			t.Fatalf("%s: first = %+v", name, a)
		}
		b := c.ingest(c.key, second)
		if b.Status != "unchanged" || b.SourceItemID != a.SourceItemID || b.VersionID != a.VersionID || b.SourceID != a.SourceID {
			t.Fatalf("%s: same content = %+v, first %+v", name, b, a)
		}
		d := c.ingest(c.key, changed)
		if d.Status != "indexed" || d.SourceItemID != a.SourceItemID || d.VersionID == a.VersionID {
			t.Fatalf("%s: changed content = %+v, first %+v", name, d, a)
		}
		if _, it := c.native(a.SourceItemID); it.Head != 2 {
			t.Fatalf("%s: head = %d, want 2", name, it.Head)
		}
		e := c.ingest(c.key, changed)
		if e.Status != "unchanged" || e.VersionID != d.VersionID {
			t.Fatalf("%s: changed again = %+v", name, e)
		}
	}
	check("external_id",
		map[string]any{"external_id": "e1", "content": "one"},
		map[string]any{"external_id": "e1", "content": "one"},
		map[string]any{"external_id": "e1", "content": "two"})
	check("text alias",
		map[string]any{"external_id": "e2", "text": "one"},
		map[string]any{"external_id": "e2", "content": "one"},
		map[string]any{"external_id": "e2", "text": "two"})
	check("path",
		map[string]any{"source_name": "my-docs", "path": "docs/a.md", "content": "one"},
		map[string]any{"source_name": "my-docs", "path": "docs/a.md", "content": "one"},
		map[string]any{"source_name": "my-docs", "path": "docs/a.md", "content": "two"})
	check("path as segments",
		map[string]any{"source_name": "my-docs", "path": []string{"docs", "api", "payments.md"}, "content": "one"},
		map[string]any{"source_name": "my-docs", "path": "docs/api/payments.md", "content": "one"},
		map[string]any{"source_name": "my-docs", "path": []string{"docs", "api", "payments.md"}, "content": "two"})
	check("JSON object",
		`{"external_id":"j1","content":{"a":1,"b":[1,2],"c":{"d":"x y"}}}`,
		"{\"external_id\":\"j1\",\"content\":{ \"a\" : 1,\n\t\"b\" : [ 1 , 2 ] , \"c\": {\"d\" :\"x y\"} }}",
		`{"external_id":"j1","content":{"a":2,"b":[1,2],"c":{"d":"x y"}}}`)
	check("JSON array in text",
		`{"external_id":"j2","text":[1,{"a":null}]}`,
		`{"external_id":"j2","text":[ 1, { "a": null } ]}`,
		`{"external_id":"j2","text":[1,{"a":null},3]}`)

	// The stored forms.
	l := c.list(c.key, "external_id=j1&external_id=e1&external_id=j2")
	byExt := map[string]itemOut{}
	for _, it := range l.Items {
		byExt[*it.ExternalID] = it
	}
	if b, ct := c.content(byExt["j1"].ID, 2); string(b) != `{"a":2,"b":[1,2],"c":{"d":"x y"}}` || ct != "application/json" {
		t.Fatalf("j1 v2 = %q (%s)", b, ct)
	}
	if b, _ := c.content(byExt["j1"].ID, 1); string(b) != `{"a":1,"b":[1,2],"c":{"d":"x y"}}` {
		t.Fatalf("j1 v1 = %q", b)
	}
	if b, _ := c.content(byExt["j2"].ID, 1); string(b) != `[1,{"a":null}]` {
		t.Fatalf("j2 v1 = %q", b)
	}
	if b, ct := c.content(byExt["e1"].ID, 1); string(b) != "one" || ct != "text/plain; charset=utf-8" {
		t.Fatalf("e1 v1 = %q (%s)", b, ct)
	}

	// Reordered keys are other text: a new version.
	r := c.ingest(c.key, `{"external_id":"j1","content":{"b":[1,2],"a":2,"c":{"d":"x y"}}}`)
	if r.Status != "indexed" {
		t.Fatalf("reordered keys: %+v", r)
	}
}

func TestContentTypes(t *testing.T) {
	c := newTC(t, library.Config{})
	for _, tt := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"external_id": "memo", "content": "# Decision"}, "text/plain; charset=utf-8"},
		{map[string]any{"external_id": "notes.md", "content": "# Notes"}, "text/markdown; charset=utf-8"},
		{map[string]any{"external_id": "README.MARKDOWN", "content": "# Notes"}, "text/markdown; charset=utf-8"},
		{map[string]any{"path": "site/index.html", "content": "<p>hi</p>"}, "text/html; charset=utf-8"},
		{map[string]any{"path": "data/x.json", "content": `{"a":1}`}, "application/json"},
		{map[string]any{"path": "data/x.unknownext", "content": "x"}, "text/plain; charset=utf-8"},
		{map[string]any{"external_id": "k", "path": "p/n.md", "content": "x"}, "text/markdown; charset=utf-8"},
		{map[string]any{"external_id": "obj.md", "content": map[string]any{"a": "b"}}, "application/json"},
	} {
		out := c.ingest(c.key, tt.body)
		if _, ct := c.content(out.SourceItemID, 0); ct != tt.want {
			t.Errorf("%v: Content-Type %q, want %q", tt.body, ct, tt.want)
		}
	}
	// Bytes as given: no trimming, no newline added, UTF-8 kept.
	out := c.ingest(c.key, map[string]any{"external_id": "raw", "content": "  한국어 \r\n\t"})
	if b, _ := c.content(out.SourceItemID, 0); string(b) != "  한국어 \r\n\t" {
		t.Fatalf("content = %q", b)
	}
}

func TestMetadataTitleScope(t *testing.T) {
	c := newTC(t, library.Config{})
	out := c.ingest(c.key, `{"external_id":"m","content":"x","metadata":{ "k": "v", "n": [1, 2] },"title":"T"}`)
	l := c.list(c.key, "external_id=m")
	it := l.Items[0]
	if string(it.Metadata) != `{"k":"v","n":[1,2]}` || it.Title != "T" || it.ID != out.SourceItemID {
		t.Fatalf("item = %+v (metadata %s)", it, it.Metadata)
	}
	// The title defaults to the external id.
	c.ingest(c.key, map[string]any{"external_id": "untitled", "content": "x"})
	if it := c.list(c.key, "external_id=untitled").Items[0]; it.Title != "untitled" || string(it.Metadata) != "null" {
		t.Fatalf("item = %+v", it)
	}
}

func TestAttachmentsField(t *testing.T) {
	c := newTC(t, library.Config{})
	r := c.post(c.key, `{"external_id":"a","content":"x","attachments":[]}`)
	var raw map[string]json.RawMessage
	okJSON(t, r, &raw)
	if string(raw["attachments"]) != "[]" {
		t.Fatalf("attachments [] sent: answer %s", r.Body)
	}
	r = c.post(c.key, `{"external_id":"a","content":"x","attachments":null}`)
	if slices.Contains(keys(t, r.Body), "attachments") {
		t.Fatalf("attachments null sent: answer %s", r.Body)
	}
}

// seedFilters ingests items on three days in three sources and returns
// the clock.
func filtersTC(t *testing.T) (*tc, *clock) {
	clk := &clock{now: time.Date(2026, 6, 8, 12, 0, 0, 0, time.UTC)}
	c := newTC(t, library.Config{Now: clk.Now})
	if _, err := c.env.Service.CreateSource(c.env.Context(t), "Gmail", "gmail"); err != nil {
		t.Fatal(err)
	}
	for i, d := range []struct {
		day    int
		source string
		ext    string
	}{
		{8, "", "a"}, {8, "Gmail", "mail-1"},
		{9, "my-docs", "b"}, {9, "Gmail", "mail-2"},
		{10, "", "c"}, {10, "Gmail", "mail-3"},
	} {
		clk.Set(time.Date(2026, 6, d.day, 12, i, 0, 0, time.UTC))
		body := map[string]any{"external_id": d.ext, "content": d.ext}
		if d.source != "" {
			body["source_name"] = d.source
		}
		c.ingest(c.key, body)
	}
	clk.Set(time.Date(2026, 6, 11, 0, 0, 0, 0, time.UTC))
	return c, clk
}

func TestListFilters(t *testing.T) {
	c, _ := filtersTC(t)
	// Hide one Gmail item.
	if out := c.remove(c.key, map[string]any{"external_ids": []string{"mail-2"}}, ""); len(out.Hidden) != 1 {
		t.Fatalf("hide mail-2: %+v", out)
	}
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"", []string{"a", "mail-1", "b", "mail-2", "c", "mail-3"}},
		{"external_id=c&external_id=a", []string{"a", "c"}},
		{"external_id=a&external_id=nope", []string{"a"}},
		{"external_id=", []string{"a", "mail-1", "b", "mail-2", "c", "mail-3"}},
		{"source_name=my-docs", []string{"b"}},
		{"source_name=API+ingest", []string{"a", "c"}},
		{"source_name=nope", []string{}},
		{"type=gmail", []string{"mail-1", "mail-2", "mail-3"}},
		{"type=api", []string{"a", "b", "c"}},
		{"created_after=2026-06-09", []string{"b", "mail-2", "c", "mail-3"}},
		{"created_before=2026-06-10", []string{"a", "mail-1", "b", "mail-2"}},
		{"created_after=2026-06-09&created_before=2026-06-10", []string{"b", "mail-2"}},
		{"created_after=2026-06-09T12:00:00Z&created_before=2026-06-10T12:00:00Z", []string{"b", "mail-2"}},
		{"created_after=2026-06-09T12:03:00Z", []string{"mail-2", "c", "mail-3"}},
		{"created_after=" + url.QueryEscape("2026-06-09T21:00:00+09:00"), []string{"b", "mail-2", "c", "mail-3"}},
		{"created_after=2026-06-09T21:00:00+09:00", []string{"b", "mail-2", "c", "mail-3"}}, // "+" unencoded
		{"created_after=2026-06-09T12:02:00.000000001Z", []string{"mail-2", "c", "mail-3"}},
		{"created_after=2026-06-09T12:02:00Z", []string{"b", "mail-2", "c", "mail-3"}},
		{"created_before=2026-06-08T12:00:00", []string{}},
		{"status=active", []string{"a", "mail-1", "b", "c", "mail-3"}},
		{"status=hidden", []string{"mail-2"}},
		{"status=all", []string{"a", "mail-1", "b", "mail-2", "c", "mail-3"}},
		{"limit=2", []string{"a", "mail-1"}},
		{"limit=200", []string{"a", "mail-1", "b", "mail-2", "c", "mail-3"}},
		{"type=gmail&status=active&created_after=2026-06-09", []string{"mail-3"}},
		{"source_name=Gmail&external_id=mail-2&external_id=a", []string{"mail-2"}},
		{"type=api&created_before=2026-06-10&limit=1", []string{"a"}},
	} {
		l := c.list(c.key, tt.query)
		if got := ids(l.Items); !slices.Equal(got, tt.want) {
			t.Errorf("?%s = %v, want %v", tt.query, got, tt.want)
		}
	}
	// The hidden item says so, and how deletes treat each source.
	for _, it := range c.list(c.key, "").Items {
		wantHidden := *it.ExternalID == "mail-2"
		wantBehavior := "hard_delete"
		if it.SourceType == "gmail" {
			wantBehavior = "hide"
		}
		if it.Hidden != wantHidden || it.DeleteBehavior != wantBehavior {
			t.Errorf("%s: hidden %v, delete_behavior %q", *it.ExternalID, it.Hidden, it.DeleteBehavior)
		}
	}
	// created_at round-trips as a bound: the page after the first two.
	first := c.list(c.key, "limit=2")
	next := c.list(c.key, "limit=2&created_after="+url.QueryEscape(first.Items[1].CreatedAt))
	if got := ids(next.Items); !slices.Equal(got, []string{"mail-1", "b"}) {
		t.Fatalf("next page = %v", got)
	}
	// The default limit is 50.
	for i := range 52 {
		c.ingest(c.key, map[string]any{"external_id": fmt.Sprintf("bulk-%02d", i), "content": "x"})
	}
	if l := c.list(c.key, ""); l.Count != 50 {
		t.Fatalf("default limit: %d items", l.Count)
	}
	if l := c.list(c.key, "limit=200"); l.Count != 58 {
		t.Fatalf("limit 200: %d items", l.Count)
	}
}

func TestDeleteHideVersusHard(t *testing.T) {
	c, _ := filtersTC(t)
	all := map[string]itemOut{}
	for _, it := range c.list(c.key, "").Items {
		all[*it.ExternalID] = it
	}

	// No selector at all: refused, nothing touched.
	before := c.snapshot(c.key)
	for _, body := range []any{`{}`, nil, `{"ids":[],"external_ids":[""]}`, `null`, `{"source_name":""}`} {
		fails(t, c.del(c.key, body, ""), http.StatusBadRequest, "invalid_request", "selector")
	}
	fails(t, c.del(c.key, nil, "external_ids="), http.StatusBadRequest, "invalid_request", "selector")
	// A misspelt selector, in the body or the query: refused.
	fails(t, c.del(c.key, `{"source_name":"Gmail","external_id":["mail-1"]}`, ""), http.StatusBadRequest, "invalid_request", "external_id")
	fails(t, c.del(c.key, nil, "type=gmail&status=active"), http.StatusBadRequest, "invalid_request", "status")
	fails(t, c.del(c.key, nil, "source_name=Gmail&source_name=my-docs"), http.StatusBadRequest, "invalid_request", "more than once")
	// Selectors in the body and the query: refused.
	fails(t, c.del(c.key, `{"ids":["x"]}`, "type=gmail"), http.StatusBadRequest, "invalid_request", "not both")
	fails(t, c.del(c.key, `{"ids":"x"}`, ""), http.StatusBadRequest, "invalid_request", "ids")
	fails(t, c.del(c.key, `{"created_after":"yesterday"}`, ""), http.StatusBadRequest, "invalid_request", "created_after")
	fails(t, c.del(c.key, `{"ids":[`, ""), http.StatusBadRequest, "invalid_request", "malformed")
	if after := c.snapshot(c.key); after != before {
		t.Fatalf("refused deletes changed items:\n%s\nwas\n%s", after, before)
	}

	// ids: an api item goes for good, a gmail item is hidden.
	out := c.remove(c.key, map[string]any{"ids": []string{all["a"].ID, all["mail-1"].ID}}, "")
	if out.Matched != 2 || removedIDs(out.HardDeleted)[0] != "a" || removedIDs(out.Hidden)[0] != "mail-1" {
		t.Fatalf("ids: %+v", out)
	}
	if st, _ := c.native(all["a"].ID); st != http.StatusNotFound {
		t.Fatalf("deleted item: GET = %d", st)
	}
	if b, _ := c.content(all["mail-1"].ID, 0); string(b) != "mail-1" {
		t.Fatalf("hidden item's content = %q", b)
	}
	if got := ids(c.list(c.key, "status=hidden").Items); !slices.Equal(got, []string{"mail-1"}) {
		t.Fatalf("hidden = %v", got)
	}
	if got := ids(c.list(c.key, "status=active").Items); slices.Contains(got, "mail-1") || slices.Contains(got, "a") {
		t.Fatalf("active = %v", got)
	}
	if got := ids(c.list(c.key, "status=all").Items); !slices.Contains(got, "mail-1") || slices.Contains(got, "a") {
		t.Fatalf("all = %v", got)
	}

	// Deleting again: the gone item matches nothing, the hidden one is hidden again.
	out = c.remove(c.key, map[string]any{"ids": []string{all["a"].ID, all["mail-1"].ID}}, "")
	if out.Matched != 1 || len(out.Hidden) != 1 {
		t.Fatalf("again: %+v", out)
	}

	// A time range (query form, date bounds): the 9th's items.
	out = c.remove(c.key, nil, "created_after=2026-06-09&created_before=2026-06-10")
	if got := append(removedIDs(out.HardDeleted), removedIDs(out.Hidden)...); out.Matched != 2 || !slices.Equal(got, []string{"b", "mail-2"}) {
		t.Fatalf("time range: %+v", out)
	}
	if out.HardDeleted[0].SourceName != "my-docs" || out.Hidden[0].SourceName != "Gmail" {
		t.Fatalf("time range: %+v", out)
	}

	// type: every gmail item, hidden.
	out = c.remove(c.key, map[string]any{"type": "gmail"}, "")
	if got := removedIDs(out.Hidden); out.Matched != 3 || len(out.HardDeleted) != 0 || !slices.Equal(got, []string{"mail-1", "mail-2", "mail-3"}) {
		t.Fatalf("type: %+v", out)
	}
	if got := ids(c.list(c.key, "status=active").Items); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("active = %v", got)
	}

	// source_name, and external_ids in the query.
	c.ingest(c.key, map[string]any{"external_id": "d", "content": "d"})
	out = c.remove(c.key, nil, "external_id=c&external_ids=nope")
	if out.Matched != 1 || removedIDs(out.HardDeleted)[0] != "c" {
		t.Fatalf("external_ids: %+v", out)
	}
	out = c.remove(c.key, map[string]any{"source_name": "API ingest"}, "")
	if out.Matched != 1 || removedIDs(out.HardDeleted)[0] != "d" {
		t.Fatalf("source_name: %+v", out)
	}
	if got := ids(c.list(c.key, "").Items); !slices.Equal(got, []string{"mail-1", "mail-2", "mail-3"}) {
		t.Fatalf("left = %v", got)
	}
	// Selectors that match nothing: ok, matched 0.
	if out := c.remove(c.key, map[string]any{"source_name": "nope"}, ""); out.Matched != 0 {
		t.Fatalf("nothing: %+v", out)
	}
	// A deleted api item can be ingested afresh: a new item.
	again := c.ingest(c.key, map[string]any{"external_id": "a", "content": "a"})
	if again.Status != "indexed" || again.SourceItemID == all["a"].ID {
		t.Fatalf("re-ingest = %+v", again)
	}
}

func TestPrivateScope(t *testing.T) {
	c := newTC(t, library.Config{})
	alice, bob := c.newKey("alice", shelf.ScopeWrite), c.newKey("bob", shelf.ScopeWrite)
	priv := c.ingest(alice, map[string]any{"external_id": "secret", "content": "s", "scope": "private"})
	c.ingest(alice, map[string]any{"external_id": "shared", "content": "w"})

	if got := ids(c.list(alice, "").Items); !slices.Equal(got, []string{"secret", "shared"}) {
		t.Fatalf("alice sees %v", got)
	}
	if l := c.list(alice, "external_id=secret"); l.Items[0].Scope != "private" {
		t.Fatalf("scope = %q", l.Items[0].Scope)
	}
	if got := ids(c.list(bob, "").Items); !slices.Equal(got, []string{"shared"}) {
		t.Fatalf("bob sees %v", got)
	}
	if got := ids(c.list(bob, "external_id=secret").Items); len(got) != 0 {
		t.Fatalf("bob finds %v", got)
	}
	// Bob cannot delete it, nor take its external id.
	if out := c.remove(bob, map[string]any{"external_ids": []string{"secret"}}, ""); out.Matched != 0 {
		t.Fatalf("bob deleted %+v", out)
	}
	if out := c.remove(bob, map[string]any{"ids": []string{priv.SourceItemID}}, ""); out.Matched != 0 {
		t.Fatalf("bob deleted %+v", out)
	}
	fails(t, c.post(bob, map[string]any{"external_id": "secret", "content": "mine"}), http.StatusConflict, "conflict")
	if b, _ := c.contentAs(alice, priv.SourceItemID); string(b) != "s" {
		t.Fatalf("content = %q", b)
	}
	if out := c.remove(alice, map[string]any{"external_ids": []string{"secret"}}, ""); out.Matched != 1 {
		t.Fatalf("alice's delete: %+v", out)
	}
}

func (c *tc) contentAs(key, id string) ([]byte, int) {
	c.t.Helper()
	r := c.env.Do(c.t, http.MethodGet, "/v1/items/"+id+"/content", key, nil)
	return r.Body, r.Status
}

// TestAttachmentSSRF refuses attachments at internal addresses, on a
// server whose fetcher allows nothing internal: the request fails and
// nothing is written, and no connection is made.
func TestAttachmentSSRF(t *testing.T) {
	c := newTC(t, library.Config{Fetcher: fetch.New(fetch.Config{})})
	c.ingest(c.key, map[string]any{"external_id": "before", "content": "x"})
	before := c.snapshot(c.key)
	target := serve(t, bytesHandler([]byte("internal secret"), "text/plain"))
	_, port, _ := net.SplitHostPort(target.Listener.Addr().String())

	for _, u := range []string{
		target.URL + "/x",
		"http://localhost:" + port + "/x",
		"http://[::1]:" + port + "/x",
		"http://[::ffff:127.0.0.1]:" + port + "/x",
		"http://169.254.169.254/latest/meta-data/iam/security-credentials/",
		"http://10.0.0.1/x",
		"https://10.0.0.1/x",
	} {
		r := c.post(c.key, map[string]any{"external_id": "doc", "content": "x",
			"attachments": []map[string]string{{"url": u}}})
		fails(t, r, http.StatusForbidden, "forbidden", "attachment 1", "not allowed")
		if strings.Contains(string(r.Body), "internal secret") {
			t.Fatal("the body leaked")
		}
	}
	if n := target.hits.Load(); n != 0 {
		t.Fatalf("the internal server got %d requests", n)
	}
	if after := c.snapshot(c.key); after != before {
		t.Fatalf("refused ingests wrote:\n%s", after)
	}
}

// TestAttachmentRules runs, on servers that allow loopback, every way an
// attachment URL can break a rule: the whole request is refused.
func TestAttachmentRules(t *testing.T) {
	refused := func(t *testing.T, c *tc, urls []string, status int, code string, msg ...string) {
		t.Helper()
		before := c.snapshot(c.key)
		atts := []map[string]string{}
		for _, u := range urls {
			atts = append(atts, map[string]string{"url": u})
		}
		fails(t, c.post(c.key, map[string]any{"external_id": "doc", "content": "x", "attachments": atts}), status, code, msg...)
		if after := c.snapshot(c.key); after != before {
			t.Fatalf("a refused ingest wrote:\n%s", after)
		}
	}

	t.Run("RedirectToBlocked", func(t *testing.T) {
		six := serveOn6(t, bytesHandler([]byte("internal"), "text/plain"))
		c := newTC(t, library.Config{Fetcher: fetch.New(fetch.Config{Allow: loopbackAllow(t, "127.0.0.1/32")})})
		c.ingest(c.key, map[string]any{"external_id": "before", "content": "x"})
		var to string
		redirector := serve(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, http.StatusFound) })
		to = six.URL + "/secret"
		refused(t, c, []string{redirector.URL + "/r"}, http.StatusForbidden, "forbidden", "not allowed")
		if six.hits.Load() != 0 || redirector.hits.Load() != 1 {
			t.Fatalf("requests: [::1] %d, redirector %d", six.hits.Load(), redirector.hits.Load())
		}
		to = "http://169.254.169.254/latest/meta-data/"
		refused(t, c, []string{redirector.URL + "/r"}, http.StatusForbidden, "forbidden", "not allowed")
		// The allowed server itself works.
		ok := serve(t, bytesHandler([]byte("fine"), "text/plain"))
		if out := c.ingest(c.key, map[string]any{"external_id": "doc", "content": "x",
			"attachments": []map[string]string{{"url": ok.URL + "/f.txt"}}}); out.Attachments[0].Status != "indexed" {
			t.Fatalf("allowed attachment: %+v", out)
		}
	})

	t.Run("TooLarge", func(t *testing.T) {
		c := newTC(t, library.Config{Fetcher: fetch.New(fetch.Config{MaxBytes: 1024, Allow: loopbackAllow(t, "127.0.0.0/8")})})
		c.ingest(c.key, map[string]any{"external_id": "before", "content": "x"})
		big := bytes.Repeat([]byte("A"), 4096)
		declared := serve(t, bytesHandler(big, "application/octet-stream"))
		streamed := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush() // no Content-Length: the cap holds while reading
			for range 4 {
				_, _ = w.Write(big[:1024])
				w.(http.Flusher).Flush()
			}
		})
		refused(t, c, []string{declared.URL + "/big"}, http.StatusRequestEntityTooLarge, "too_large", "1024")
		refused(t, c, []string{streamed.URL + "/big"}, http.StatusRequestEntityTooLarge, "too_large")
		fits := serve(t, bytesHandler(big[:1024], "application/octet-stream"))
		if out := c.ingest(c.key, map[string]any{"external_id": "doc", "content": "x",
			"attachments": []map[string]string{{"url": fits.URL + "/fits.bin"}}}); out.Attachments[0].Status != "indexed" {
			t.Fatalf("1024 bytes: %+v", out)
		}
	})

	t.Run("NeverFinishes", func(t *testing.T) {
		c := newTC(t, library.Config{Fetcher: fetch.New(fetch.Config{Timeout: 300 * time.Millisecond, Allow: loopbackAllow(t, "127.0.0.0/8")})})
		c.ingest(c.key, map[string]any{"external_id": "before", "content": "x"})
		done := make(chan struct{})
		hang := func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-done:
			}
		}
		noHeaders := serve(t, hang)
		trickle := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			_, _ = w.Write([]byte("first bytes"))
			w.(http.Flusher).Flush()
			hang(w, r)
		})
		t.Cleanup(func() { close(done) }) // before the servers close
		start := time.Now()
		refused(t, c, []string{noHeaders.URL + "/slow"}, http.StatusBadRequest, "invalid_request", "attachment 1")
		refused(t, c, []string{trickle.URL + "/slow"}, http.StatusBadRequest, "invalid_request", "attachment 1")
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("took %v", d)
		}
	})

	t.Run("NotHTTP", func(t *testing.T) {
		c := newTC(t, library.Config{})
		c.ingest(c.key, map[string]any{"external_id": "before", "content": "x"})
		for _, u := range []string{"file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/", "data:text/plain,hi", "", "//127.0.0.1/x", "javascript:alert(1)"} {
			refused(t, c, []string{u}, http.StatusBadRequest, "invalid_request", "attachment 1")
		}
		// Credentials in the URL break a rule too.
		ok := serve(t, bytesHandler([]byte("x"), "text/plain"))
		refused(t, c, []string{strings.Replace(ok.URL, "http://", "http://user:pass@", 1)}, http.StatusBadRequest, "invalid_request")
		if ok.hits.Load() != 0 {
			t.Fatal("a refused URL was fetched")
		}
	})

	t.Run("TooMany", func(t *testing.T) {
		c := newTC(t, library.Config{})
		c.ingest(c.key, map[string]any{"external_id": "before", "content": "x"})
		files := serve(t, bytesHandler([]byte("x"), "text/plain"))
		urls := make([]string, 11)
		for i := range urls {
			urls[i] = fmt.Sprintf("%s/f%d.txt", files.URL, i)
		}
		refused(t, c, urls, http.StatusBadRequest, "invalid_request", "10")
		if files.hits.Load() != 0 {
			t.Fatal("attachments were fetched for a refused request")
		}
		// Ten is fine.
		atts := []map[string]string{}
		for _, u := range urls[:10] {
			atts = append(atts, map[string]string{"url": u})
		}
		out := c.ingest(c.key, map[string]any{"external_id": "doc", "content": "x", "attachments": atts})
		if len(out.Attachments) != 10 {
			t.Fatalf("%d attachments", len(out.Attachments))
		}
		for i, a := range out.Attachments {
			if a.Status != "indexed" || a.Filename != fmt.Sprintf("f%d.txt", i) {
				t.Fatalf("attachment %d: %+v", i, a)
			}
		}
	})
}

// TestAttachmentFailures: an attachment whose server fails is reported,
// and the document and the other attachments are ingested.
func TestAttachmentFailures(t *testing.T) {
	c := newTC(t, library.Config{})
	good := serve(t, bytesHandler([]byte("good bytes"), "text/plain"))
	missing := serve(t, http.NotFound)
	closed := "http://" + closedPort(t) + "/gone.pdf"
	out := c.ingest(c.key, map[string]any{"external_id": "doc", "content": "the doc", "attachments": []map[string]string{
		{"url": good.URL + "/good.txt"},
		{"url": missing.URL + "/missing.pdf?sig=SECRET", "filename": "missing.pdf"},
		{"url": closed},
	}})
	if out.Status != "indexed" || len(out.Attachments) != 3 {
		t.Fatalf("answer = %+v", out)
	}
	a, m, cl := out.Attachments[0], out.Attachments[1], out.Attachments[2]
	if a.Status != "indexed" || a.SourceItemID == "" || a.Filename != "good.txt" || a.Error != "" {
		t.Fatalf("good: %+v", a)
	}
	if m.Status != "failed" || m.SourceItemID != "" || !strings.Contains(m.Error, "404") || m.Filename != "missing.pdf" ||
		m.URL != missing.URL+"/missing.pdf?sig=SECRET" || strings.Contains(m.Error, "SECRET") {
		t.Fatalf("404: %+v", m)
	}
	if cl.Status != "failed" || cl.SourceItemID != "" || cl.Error == "" || cl.URL != closed {
		t.Fatalf("closed port: %+v", cl)
	}
	if got := ids(c.list(c.key, "").Items); !slices.Equal(got, []string{"doc", "doc.attachments/good.txt"}) {
		t.Fatalf("items = %v", got)
	}
	if b, _ := c.content(a.SourceItemID, 0); string(b) != "good bytes" {
		t.Fatalf("good attachment = %q", b)
	}
	if b, _ := c.content(out.SourceItemID, 0); string(b) != "the doc" {
		t.Fatalf("doc = %q", b)
	}
}

func TestBadInput(t *testing.T) {
	c := newTC(t, library.Config{})
	c.ingest(c.key, map[string]any{"external_id": "existing", "content": "x"})
	before := c.snapshot(c.key)
	for _, tt := range []struct {
		name string
		body any
		msg  string
	}{
		{"no key", `{"content":"x","title":"t"}`, "external_id or path"},
		{"empty content", `{"external_id":"e","content":""}`, "empty"},
		{"missing content", `{"external_id":"e"}`, "content"},
		{"null content", `{"external_id":"e","content":null}`, "content"},
		{"number content", `{"external_id":"e","content":42}`, "content"},
		{"boolean content", `{"external_id":"e","text":true}`, "content"},
		{"content and text", `{"external_id":"e","content":"a","text":"b"}`, "not both"},
		{"public scope", `{"external_id":"e","content":"x","scope":"public"}`, "scope"},
		{"metadata string", `{"external_id":"e","content":"x","metadata":"m"}`, "metadata"},
		{"metadata array", `{"external_id":"e","content":"x","metadata":[1]}`, "metadata"},
		{"malformed JSON", `{"external_id":"e","content":`, "malformed"},
		{"trailing data", `{"external_id":"e","content":"x"} {}`, "trailing"},
		{"not an object", `["x"]`, ""},
		{"empty body", ``, "empty"},
		{"external_id a number", `{"external_id":5,"content":"x"}`, "external_id"},
		{"path number", `{"path":5,"content":"x"}`, "path"},
		{"path empty array", `{"path":[],"content":"x"}`, "path"},
		{"path segments not strings", `{"path":["a",1],"content":"x"}`, "path"},
		{"path segment with slash", `{"path":["a/b","c"],"content":"x"}`, "segment 1"},
		{"path empty segment", `{"path":["a",""],"content":"x"}`, "segment 2"},
		{"path absolute", `{"path":"/docs/a.md","content":"x"}`, "relative"},
		{"path dot-dot", `{"path":"docs/../a.md","content":"x"}`, ".."},
		{"attachments not a list", `{"external_id":"e","content":"x","attachments":{"url":"http://x"}}`, "attachments"},
		{"attachment url a number", `{"external_id":"e","content":"x","attachments":[{"url":1}]}`, "url"},
		{"control char in external_id", `{"external_id":"a\u0000b","content":"x"}`, "external_id"},
	} {
		r := c.post(c.key, tt.body)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%s: status %d: %s", tt.name, r.Status, r.Body)
			continue
		}
		fails(t, r, http.StatusBadRequest, "invalid_request", tt.msg)
	}
	for _, q := range []string{"limit=201", "limit=0", "limit=-1", "limit=abc", "limit=1.5", "created_after=yesterday",
		"created_before=2026-13-01", "created_after=2026-06-09T25:00:00Z", "status=deleted",
		"created_after=2026-06-10&created_before=2026-06-09"} {
		fails(t, c.env.Do(t, http.MethodGet, memoryinc.ItemsPath+"?"+q, c.key, nil), http.StatusBadRequest, "invalid_request")
	}
	if after := c.snapshot(c.key); after != before {
		t.Fatalf("bad input wrote:\n%s", after)
	}

	// A body over the 8 MiB cap.
	big, _ := json.Marshal(map[string]any{"external_id": "big", "content": strings.Repeat("x", memoryinc.MaxIngestJSON)})
	fails(t, c.post(c.key, big), http.StatusRequestEntityTooLarge, "too_large")
	// Content above the server's maximum file size.
	small := newTC(t, library.Config{MaxFileSize: 100})
	fails(t, small.post(small.key, map[string]any{"external_id": "big", "content": strings.Repeat("x", 101)}), http.StatusRequestEntityTooLarge, "too_large")
	// Just under the JSON cap is fine.
	okBody, _ := json.Marshal(map[string]any{"external_id": "big", "content": strings.Repeat("x", memoryinc.MaxIngestJSON-100)})
	if out := c.ingest(c.key, okBody); out.Status != "indexed" {
		t.Fatalf("near the cap: %+v", out)
	}
	if after := c.snapshot(c.key); after == before {
		t.Fatal("the ingest near the cap wrote nothing")
	}
}

func TestRoutes(t *testing.T) {
	c := newTC(t, library.Config{})
	fails(t, c.env.Do(t, http.MethodGet, "/sources/api/nope", c.key, nil), http.StatusNotFound, "not_found")
	r := c.env.Do(t, http.MethodPut, memoryinc.ItemsPath, c.key, `{}`)
	fails(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
	if r.Header.Get("Allow") != "GET, HEAD, DELETE" {
		t.Fatalf("Allow = %q", r.Header.Get("Allow"))
	}
	r = c.env.Do(t, http.MethodGet, memoryinc.IngestPath, c.key, nil)
	fails(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
	if r.Header.Get("Allow") != "POST" {
		t.Fatalf("Allow = %q", r.Header.Get("Allow"))
	}
	// Unauthenticated, even for an unknown path.
	fails(t, c.env.Do(t, http.MethodGet, "/sources/api/nope", "", nil), http.StatusUnauthorized, "unauthorized")
}

func TestAuth(t *testing.T) {
	c := newTC(t, library.Config{})
	doc := c.ingest(c.key, map[string]any{"external_id": "mine", "content": "x"})
	before := c.snapshot(c.key)

	for _, key := range []string{"", "pwk_YOUR_KEY", "shk_0000_bad"} {
		r := c.post(key, map[string]any{"external_id": "e", "content": "x"})
		fails(t, r, http.StatusUnauthorized, "unauthorized")
		if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
		}
		fails(t, c.env.Do(t, http.MethodGet, memoryinc.ItemsPath, key, nil), http.StatusUnauthorized, "unauthorized")
		fails(t, c.del(key, map[string]any{"type": "api"}, ""), http.StatusUnauthorized, "unauthorized")
	}

	// A read-only key reads, but neither ingests nor deletes.
	ro := c.newKey("ro", shelf.ScopeRead)
	fails(t, c.post(ro, map[string]any{"external_id": "e", "content": "x"}), http.StatusForbidden, "forbidden", "write")
	fails(t, c.del(ro, map[string]any{"type": "api"}, ""), http.StatusForbidden, "forbidden")
	if got := ids(c.list(ro, "").Items); !slices.Equal(got, []string{"mine"}) {
		t.Fatalf("read-only key sees %v", got)
	}
	// The same for a read-only key of another workspace (env.Workspace).
	_, otherRO := c.env.Workspace(t, "ro", shelf.ScopeRead)
	fails(t, c.post(otherRO, map[string]any{"external_id": "e", "content": "x"}), http.StatusForbidden, "forbidden")

	// Another workspace sees none of it, and cannot delete it.
	_, other := c.env.Workspace(t, "other", shelf.ScopeWrite)
	if l := c.list(other, ""); l.Count != 0 {
		t.Fatalf("another workspace sees %v", ids(l.Items))
	}
	if out := c.remove(other, map[string]any{"ids": []string{doc.SourceItemID}}, ""); out.Matched != 0 {
		t.Fatalf("another workspace deleted %+v", out)
	}
	if out := c.remove(other, map[string]any{"external_ids": []string{"mine"}}, ""); out.Matched != 0 {
		t.Fatalf("another workspace deleted %+v", out)
	}
	if _, st := c.contentAs(other, doc.SourceItemID); st != http.StatusNotFound {
		t.Fatalf("another workspace reads the content: %d", st)
	}
	// Its own item with the same external id is its own.
	theirs := c.ingest(other, map[string]any{"external_id": "mine", "content": "x"})
	if theirs.SourceItemID == doc.SourceItemID || theirs.SourceID == doc.SourceID || theirs.Status != "indexed" {
		t.Fatalf("another workspace's ingest = %+v", theirs)
	}
	if after := c.snapshot(c.key); after != before {
		t.Fatalf("items changed:\n%s", after)
	}
}

// rawPost is a POST that reports errors instead of failing the test, for
// goroutines.
func rawPost(url, key string, body any) (int, []byte, error) {
	j, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(j))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func TestConcurrentIngest(t *testing.T) {
	c := newTC(t, library.Config{})
	const n = 32
	run := func(ext string, content func(i int) string) []ingestOut {
		outs := make([]ingestOut, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				st, b, err := rawPost(c.env.URL+memoryinc.IngestPath, c.key, map[string]any{"external_id": ext, "content": content(i)})
				if err != nil || st != http.StatusOK {
					t.Errorf("ingest %d: %d %v %s", i, st, err, b)
					return
				}
				if err := json.Unmarshal(b, &outs[i]); err != nil {
					t.Errorf("ingest %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		return outs
	}

	// The same bytes 32 times at once: one item, one version.
	same := run("same", func(int) string { return "the same bytes" })
	indexed := 0
	for _, o := range same {
		if o.SourceItemID != same[0].SourceItemID || o.VersionID != same[0].VersionID {
			t.Fatalf("answers differ: %+v and %+v", o, same[0])
		}
		if o.Status == "indexed" {
			indexed++
		}
	}
	if indexed != 1 {
		t.Fatalf("%d answers say indexed, want 1", indexed)
	}
	if _, it := c.native(same[0].SourceItemID); it.Head != 1 {
		t.Fatalf("version = %d, want 1", it.Head)
	}
	found, err := c.env.Service.FindItems(c.env.Context(t), library.Selector{ExternalIDs: []string{"same"}, Limit: 10})
	if err != nil || len(found) != 1 {
		t.Fatalf("FindItems: %d items, %v", len(found), err)
	}

	// 32 different contents at once: one item at version 32, every content kept.
	sent := map[string]bool{}
	chain := run("chain", func(i int) string { return fmt.Sprintf("content number %d", i) })
	versionIDs := map[string]bool{}
	for i, o := range chain {
		sent[fmt.Sprintf("content number %d", i)] = true
		if o.SourceItemID != chain[0].SourceItemID || o.Status != "indexed" {
			t.Fatalf("answer %d = %+v", i, o)
		}
		versionIDs[o.VersionID] = true
	}
	if len(versionIDs) != n {
		t.Fatalf("%d distinct version ids, want %d", len(versionIDs), n)
	}
	id := chain[0].SourceItemID
	if _, it := c.native(id); it.Head != n {
		t.Fatalf("version = %d, want %d", it.Head, n)
	}
	got := map[string]bool{}
	for v := 1; v <= n; v++ {
		b, _ := c.content(id, v)
		got[string(b)] = true
	}
	if len(got) != n || fmt.Sprint(got) != fmt.Sprint(sent) {
		t.Fatalf("versions hold %v, sent %v", got, sent)
	}
	found, err = c.env.Service.FindItems(c.env.Context(t), library.Selector{ExternalIDs: []string{"chain"}, Limit: 10})
	if err != nil || len(found) != 1 {
		t.Fatalf("FindItems: %d items, %v", len(found), err)
	}
}

// TestOmittedFieldsKeep: a re-ingest that leaves out title, scope and
// metadata keeps the item's (the dialect sends no defaults of its own).
func TestOmittedFieldsKeep(t *testing.T) {
	c := newTC(t, library.Config{})
	first := c.ingest(c.key, map[string]any{"external_id": "k", "content": "v1", "title": "Kept",
		"scope": "private", "metadata": map[string]any{"a": 1}})
	again := c.ingest(c.key, map[string]any{"external_id": "k", "content": "v2", "metadata": nil})
	if again.SourceItemID != first.SourceItemID || again.Status != "indexed" {
		t.Fatalf("again = %+v", again)
	}
	it := c.list(c.key, "external_id=k").Items[0]
	if it.Title != "Kept" || it.Scope != "private" || string(it.Metadata) != `{"a":1}` || it.Version != 2 {
		t.Fatalf("item = %+v (metadata %s)", it, it.Metadata)
	}
	c.ingest(c.key, map[string]any{"external_id": "k", "content": "v2", "title": "New", "scope": "workspace", "metadata": map[string]any{}})
	it = c.list(c.key, "external_id=k").Items[0]
	if it.Title != "New" || it.Scope != "workspace" || string(it.Metadata) != `{}` || it.Version != 2 {
		t.Fatalf("item = %+v (metadata %s)", it, it.Metadata)
	}
}

// TestMalformedQuery: what url.Values would drop silently (a bad escape,
// too many parameters) is refused, so a filter is never lost.
func TestMalformedQuery(t *testing.T) {
	c, _ := filtersTC(t)
	before := c.snapshot(c.key)
	fails(t, c.env.Do(t, http.MethodGet, memoryinc.ItemsPath+"?external_id=%zz", c.key, nil), http.StatusBadRequest, "invalid_request", "query")
	fails(t, c.del(c.key, nil, "source_name=Gmail&external_id=%zz"), http.StatusBadRequest, "invalid_request", "query")
	many := url.Values{"external_id": make([]string, 10001)}
	for i := range many["external_id"] {
		many["external_id"][i] = fmt.Sprintf("x%d", i)
	}
	fails(t, c.env.Do(t, http.MethodGet, memoryinc.ItemsPath+"?"+many.Encode(), c.key, nil), http.StatusBadRequest, "invalid_request", "query")
	fails(t, c.del(c.key, nil, "type=gmail&"+many.Encode()), http.StatusBadRequest, "invalid_request", "query")
	if after := c.snapshot(c.key); after != before {
		t.Fatalf("items changed:\n%s", after)
	}
}

// TestDeleteManySelectors documents a core bug: the core passes every id
// of a selector to one SQL IN list, and SQLite refuses more than 32,766
// variables, so a delete naming 40,000 external ids (a 500 KB body, well
// under the JSON cap) is a 500 instead of a 4xx or a result.
func TestDeleteManySelectors(t *testing.T) {
	c := newTC(t, library.Config{})
	c.ingest(c.key, map[string]any{"external_id": "a", "content": "x"})
	ext := make([]string, 40000)
	for i := range ext {
		ext[i] = fmt.Sprintf("x%d", i)
	}
	r := c.del(c.key, map[string]any{"external_ids": ext}, "")
	if r.Status != 400 {
		t.Fatalf("status %d: %s; want 400 (too many ids in one selector)", r.Status, r.Body)
	}
	if got := ids(c.list(c.key, "").Items); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("items = %v", got)
	}
}
