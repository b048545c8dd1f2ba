package http_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/internal/shelftest"
	"github.com/shelfmem/shelf/library"
)

const master = shelftest.MasterKey

type partURL struct {
	Number int    `json:"number"`
	Size   int64  `json:"size"`
	URL    string `json:"upload_url"`
}

type created struct {
	Upload struct {
		ID       string `json:"id"`
		PartSize int64  `json:"part_size"`
	} `json:"upload"`
	Parts []partURL `json:"parts"`
}

func put(t *testing.T, url string, body []byte, key string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("PUT", url, bytes.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp, b.String()
}

// upload makes a file through the native chunked upload.
func upload(t *testing.T, e *shelftest.Env, key, parent, name string, data []byte) map[string]any {
	t.Helper()
	var c created
	r := e.Do(t, "POST", "/v1/uploads", key, map[string]any{"size": len(data)})
	if r.Status != 201 {
		t.Fatalf("create upload: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &c)
	var parts []map[string]any
	off := int64(0)
	for _, p := range c.Parts {
		resp, body := put(t, p.URL, data[off:off+p.Size], "")
		if resp.StatusCode != 200 {
			t.Fatalf("PUT part %d: %d %s", p.Number, resp.StatusCode, body)
		}
		parts = append(parts, map[string]any{"number": p.Number, "etag": resp.Header.Get("ETag")})
		off += p.Size
	}
	r = e.Do(t, "POST", "/v1/uploads/"+c.Upload.ID+"/finalize", key, map[string]any{"parent_id": parent, "name": name, "parts": parts})
	if r.Status != 200 {
		t.Fatalf("finalize: %d %s", r.Status, r.Body)
	}
	var it map[string]any
	r.JSON(t, &it)
	return it
}

func errCode(t *testing.T, r *shelftest.Response) string {
	t.Helper()
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	r.JSON(t, &body)
	if body.Error.Message == "" {
		t.Fatalf("error without a message: %s", r.Body)
	}
	return body.Error.Code
}

func TestHealthz(t *testing.T) {
	e := shelftest.New(t, library.Config{})
	if r := e.Do(t, "GET", "/healthz", "", nil); r.Status != 200 {
		t.Fatalf("healthz = %d", r.Status)
	}
}

// TestEveryRouteNeedsAKey sends every route, of every API, a request with
// no key and one with a bogus key: each must be refused with 401.
func TestEveryRouteNeedsAKey(t *testing.T) {
	e := shelftest.New(t, library.Config{})
	patterns := e.Server.Patterns()
	if len(patterns) < 20 {
		t.Fatalf("only %d routes registered", len(patterns))
	}
	for _, p := range patterns {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			method, path = "GET", p
		}
		var segs []string
		for _, s := range strings.Split(path, "/") {
			if strings.HasPrefix(s, "{") {
				s = "0197a000-0000-7000-8000-000000000000"
			}
			segs = append(segs, s)
		}
		u := strings.Join(segs, "/")
		for _, key := range []string{"", "shelf_bogus", "shelf_0123456789abcdef_0123456789abcdef0123456789abcdef0123456700000000"} {
			if r := e.Do(t, method, u, key, "{}"); r.Status != 401 {
				t.Errorf("%s %s with key %q = %d, want 401: %s", method, u, key, r.Status, r.Body)
			}
		}
	}
	// Unknown paths are refused before they are routed.
	if r := e.Do(t, "GET", "/v1/nothing-here", "", nil); r.Status != 401 {
		t.Errorf("unknown path without a key = %d, want 401", r.Status)
	}
	if r := e.Do(t, "GET", "/v1/nothing-here", master, nil); r.Status != 404 {
		t.Errorf("unknown path with a key = %d, want 404", r.Status)
	}
}

func TestKeysAPI(t *testing.T) {
	e := shelftest.New(t, library.Config{})
	r := e.Do(t, "POST", "/v1/workspaces", master, map[string]any{"name": "acme"})
	if r.Status != 201 {
		t.Fatalf("create workspace: %d %s", r.Status, r.Body)
	}
	var ws shelf.Workspace
	r.JSON(t, &ws)
	if ws.ID == "" || ws.Name != "acme" {
		t.Fatalf("workspace = %+v", ws)
	}
	r = e.Do(t, "POST", "/v1/keys", master, map[string]any{"workspace_id": ws.ID, "name": "admin", "scopes": []string{"admin"}})
	if r.Status != 201 {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	var k struct {
		ID, Key, WorkspaceID string `json:"-"`
	}
	var raw map[string]any
	r.JSON(t, &raw)
	k.ID, k.Key, k.WorkspaceID = raw["id"].(string), raw["key"].(string), raw["workspace_id"].(string)
	if k.WorkspaceID != ws.ID || !strings.HasPrefix(k.Key, "shelf_") {
		t.Fatalf("key = %v", raw)
	}
	if _, leaked := raw["hash"]; leaked {
		t.Fatal("the key's hash is in the response")
	}
	// The admin key makes a read key in its own workspace.
	r = e.Do(t, "POST", "/v1/keys", k.Key, map[string]any{"name": "reader", "scopes": []string{"read"}})
	if r.Status != 201 {
		t.Fatalf("create read key: %d %s", r.Status, r.Body)
	}
	var reader map[string]any
	r.JSON(t, &reader)
	readKey := reader["key"].(string)
	// A read key cannot write, or make keys.
	if r := e.Do(t, "POST", "/v1/items", readKey, map[string]any{"parent_id": "root", "name": "x"}); r.Status != 403 || errCode(t, r) != "forbidden" {
		t.Fatalf("read key writing = %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "GET", "/v1/keys", readKey, nil); r.Status != 403 {
		t.Fatalf("read key listing keys = %d", r.Status)
	}
	if r := e.Do(t, "GET", "/v1/items/root", readKey, nil); r.Status != 200 {
		t.Fatalf("read key reading = %d %s", r.Status, r.Body)
	}
	// The workspace admin cannot make workspaces, nor keys elsewhere.
	if r := e.Do(t, "POST", "/v1/workspaces", k.Key, map[string]any{"name": "x"}); r.Status != 403 {
		t.Fatalf("workspace admin made a workspace: %d", r.Status)
	}
	var def shelf.Library
	e.Do(t, "GET", "/v1/libraries/default", master, nil).JSON(t, &def)
	if r := e.Do(t, "POST", "/v1/keys", k.Key, map[string]any{"workspace_id": def.WorkspaceID, "name": "x", "scopes": []string{"read"}}); r.Status != 404 {
		t.Fatalf("key in a foreign workspace = %d, want 404", r.Status)
	}
	var list struct {
		Keys []map[string]any `json:"keys"`
	}
	e.Do(t, "GET", "/v1/keys", k.Key, nil).JSON(t, &list)
	if len(list.Keys) != 2 {
		t.Fatalf("keys = %v", list.Keys)
	}
	for _, key := range list.Keys {
		if _, ok := key["key"]; ok {
			t.Fatal("a listed key shows its secret")
		}
	}
	// Revoked keys fail on their next request.
	if r := e.Do(t, "DELETE", "/v1/keys/"+reader["id"].(string), k.Key, nil); r.Status != 204 {
		t.Fatalf("revoke = %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "GET", "/v1/items/root", readKey, nil); r.Status != 401 || errCode(t, r) != "unauthorized" {
		t.Fatalf("revoked key = %d %s", r.Status, r.Body)
	}
	// Bad requests.
	for _, body := range []any{"{", `{"name": 5}`, map[string]any{"name": "x", "scopes": []string{"root"}}, map[string]any{"name": "", "scopes": []string{"read"}}} {
		if r := e.Do(t, "POST", "/v1/keys", master, body); r.Status != 400 {
			t.Errorf("create key with %v = %d, want 400", body, r.Status)
		}
	}
}

func TestContent(t *testing.T) {
	e := shelftest.New(t, library.Config{MinPartSize: 1024})
	data := bytes.Repeat([]byte("abcdefghij"), 500)
	it := upload(t, e, master, "root", "notes.txt", data)
	id := it["id"].(string)
	sum := fmt.Sprintf("%x", sha256.Sum256(data))
	if it["sha256"] != sum || it["size"].(float64) != float64(len(data)) {
		t.Fatalf("item = %v", it)
	}
	r := e.Do(t, "GET", "/v1/items/"+id+"/content", master, nil)
	if r.Status != 200 || !bytes.Equal(r.Body, data) {
		t.Fatalf("content = %d, %d bytes", r.Status, len(r.Body))
	}
	h := r.Header
	for k, want := range map[string]string{
		"Content-Type":           "text/plain",
		"Content-Length":         fmt.Sprint(len(data)),
		"Etag":                   `"` + sum + `"`,
		"X-Content-Type-Options": "nosniff",
		"Content-Disposition":    `attachment; filename=notes.txt`,
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// Range.
	req, _ := http.NewRequest("GET", e.URL+"/v1/items/"+id+"/content", nil)
	req.Header.Set("Authorization", "Bearer "+master)
	req.Header.Set("Range", "bytes=1020-1029")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 206 || b.String() != string(data[1020:1030]) || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 1020-1029/%d", len(data)) {
		t.Fatalf("range = %d %q %s", resp.StatusCode, b.String(), resp.Header.Get("Content-Range"))
	}
	// Overlapping ranges come as one; many ranges far apart, as the
	// whole file.
	rangeOf := func(spec string) (int, string, string) {
		t.Helper()
		req.Header.Set("Range", spec)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Range"), b.String()
	}
	if st, cr, body := rangeOf("bytes=1020-1029,1025-1039,1030-1031"); st != 206 || body != string(data[1020:1040]) ||
		cr != fmt.Sprintf("bytes 1020-1039/%d", len(data)) {
		t.Fatalf("overlapping ranges = %d %s %q", st, cr, body)
	}
	var many []string
	for i := range 40 {
		many = append(many, fmt.Sprintf("%d-%d", i*300, i*300))
	}
	if st, cr, body := rangeOf("bytes=" + strings.Join(many, ",")); st != 200 || cr != "" || body != string(data) {
		t.Fatalf("40 ranges = %d %s, %d bytes", st, cr, len(body))
	}
	// If-None-Match.
	req.Header.Del("Range")
	req.Header.Set("If-None-Match", `"`+sum+`"`)
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 304 {
		t.Fatalf("If-None-Match = %d, want 304", resp.StatusCode)
	}
	// A UTF-8 name is encoded per RFC 2231, never inlined raw.
	it2 := upload(t, e, master, "root", "résumé.pdf", []byte("%PDF-1.4"))
	r = e.Do(t, "GET", "/v1/items/"+it2["id"].(string)+"/content", master, nil)
	if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf` {
		t.Fatalf("Content-Disposition = %q", cd)
	}
	// A folder has no content.
	if r := e.Do(t, "GET", "/v1/items/root/content", master, nil); r.Status != 400 {
		t.Fatalf("folder content = %d", r.Status)
	}
	if r := e.Do(t, "GET", "/v1/items/"+id+"/content?version=9", master, nil); r.Status != 404 {
		t.Fatalf("missing version = %d", r.Status)
	}
}

func TestSignedPartURLs(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := shelftest.New(t, library.Config{MinPartSize: 1024, UploadTTL: time.Hour, Now: clock})
	var c created
	e.Do(t, "POST", "/v1/uploads", master, map[string]any{"size": 3000}).JSON(t, &c)
	if len(c.Parts) != 3 || c.Parts[2].Size != 952 {
		t.Fatalf("parts = %+v", c.Parts)
	}
	good := c.Parts[0].URL
	tamper := func(f func(u *url.URL)) string {
		u, _ := url.Parse(good)
		f(u)
		return u.String()
	}
	body := make([]byte, 1024)
	cases := map[string]string{
		"part number": tamper(func(u *url.URL) { u.Path = strings.Replace(u.Path, "/parts/1", "/parts/2", 1) }),
		"part zero":   tamper(func(u *url.URL) { u.Path = strings.Replace(u.Path, "/parts/1", "/parts/0", 1) }),
		"past last":   tamper(func(u *url.URL) { u.Path = strings.Replace(u.Path, "/parts/1", "/parts/4", 1) }),
		"length":      tamper(func(u *url.URL) { q := u.Query(); q.Set("len", "1000"); u.RawQuery = q.Encode() }),
		"expiry": tamper(func(u *url.URL) {
			q := u.Query()
			q.Set("exp", fmt.Sprint(now.Add(2*time.Hour).Unix()))
			u.RawQuery = q.Encode()
		}),
		"workspace": tamper(func(u *url.URL) { q := u.Query(); q.Set("w", "other"); u.RawQuery = q.Encode() }),
		"kid":       tamper(func(u *url.URL) { q := u.Query(); q.Set("kid", "nope"); u.RawQuery = q.Encode() }),
		"signature": tamper(func(u *url.URL) { q := u.Query(); q.Set("sig", "AAAA"); u.RawQuery = q.Encode() }),
		"upload": tamper(func(u *url.URL) {
			u.Path = strings.Replace(u.Path, c.Upload.ID, "0197a000-0000-7000-8000-000000000000", 1)
		}),
	}
	for what, u := range cases {
		if resp, msg := put(t, u, body, ""); resp.StatusCode != 403 {
			t.Errorf("tampered %s: %d %s, want 403", what, resp.StatusCode, msg)
		}
	}
	// Wrong body length with a good signature.
	if resp, msg := put(t, good, body[:1000], ""); resp.StatusCode != 400 {
		t.Errorf("short body = %d %s, want 400", resp.StatusCode, msg)
	}
	// The signed URL works, needs no key, and a re-PUT replaces the part.
	resp, _ := put(t, good, body, "")
	first := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || first != fmt.Sprintf(`"%08x"`, crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli))) {
		t.Fatalf("PUT = %d ETag %s", resp.StatusCode, first)
	}
	body[0] = 1
	resp, _ = put(t, good, body, "")
	if resp.Header.Get("ETag") == first {
		t.Fatal("re-PUT with other bytes kept the old ETag")
	}
	// Expired URLs are refused.
	mu.Lock()
	now = now.Add(61 * time.Minute)
	mu.Unlock()
	if resp, msg := put(t, c.Parts[1].URL, body, ""); resp.StatusCode != 403 {
		t.Fatalf("expired URL = %d %s, want 403", resp.StatusCode, msg)
	}
}

func TestResumeListsMissingParts(t *testing.T) {
	e := shelftest.New(t, library.Config{MinPartSize: 1024})
	var c created
	e.Do(t, "POST", "/v1/uploads", master, map[string]any{"size": 3000}).JSON(t, &c)
	resp, _ := put(t, c.Parts[1].URL, make([]byte, 1024), "")
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	var st struct {
		Received []struct{ Number int } `json:"received"`
		Missing  []partURL              `json:"missing"`
	}
	e.Do(t, "GET", "/v1/uploads/"+c.Upload.ID, master, nil).JSON(t, &st)
	if len(st.Received) != 1 || st.Received[0].Number != 2 || len(st.Missing) != 2 || st.Missing[0].Number != 1 || st.Missing[1].Number != 3 {
		t.Fatalf("status = %+v", st)
	}
	if resp, _ := put(t, st.Missing[1].URL, make([]byte, 952), ""); resp.StatusCode != 200 {
		t.Fatalf("fresh URL = %d", resp.StatusCode)
	}
	if r := e.Do(t, "DELETE", "/v1/uploads/"+c.Upload.ID, master, nil); r.Status != 204 {
		t.Fatalf("abort = %d", r.Status)
	}
	if r := e.Do(t, "GET", "/v1/uploads/"+c.Upload.ID, master, nil); r.Status != 404 {
		t.Fatalf("aborted upload = %d", r.Status)
	}
}

func TestSecondWorkspaceSeesNothing(t *testing.T) {
	e := shelftest.New(t, library.Config{MinPartSize: 1024})
	it := upload(t, e, master, "root", "private.txt", []byte("mine"))
	id := it["id"].(string)
	var c created
	e.Do(t, "POST", "/v1/uploads", master, map[string]any{"size": 10}).JSON(t, &c)
	_, other := e.Workspace(t, "other")
	for _, req := range []struct{ method, path string }{
		{"GET", "/v1/items/" + id},
		{"GET", "/v1/items/" + id + "/content"},
		{"GET", "/v1/items/" + id + "/children"},
		{"PATCH", "/v1/items/" + id},
		{"DELETE", "/v1/items/" + id},
		{"PUT", "/v1/items/" + id + "/xattrs"},
		{"GET", "/v1/uploads/" + c.Upload.ID},
		{"DELETE", "/v1/uploads/" + c.Upload.ID},
		{"POST", "/v1/uploads/" + c.Upload.ID + "/finalize"},
	} {
		body := `{"name":"x","x_attrs":{"a":"b"},"parent_id":"root","parts":[]}`
		if r := e.Do(t, req.method, req.path, other, body); r.Status != 404 {
			t.Errorf("%s %s from another workspace = %d %s, want 404", req.method, req.path, r.Status, r.Body)
		}
	}
	// A part PUT with the other workspace's key (no signature).
	if resp, _ := put(t, e.URL+"/v1/uploads/"+c.Upload.ID+"/parts/1", make([]byte, 10), other); resp.StatusCode != 404 {
		t.Errorf("foreign part PUT = %d", resp.StatusCode)
	}
	var kids struct {
		Items []any `json:"items"`
	}
	e.Do(t, "GET", "/v1/items/root/children", other, nil).JSON(t, &kids)
	if len(kids.Items) != 0 {
		t.Fatalf("other workspace lists %v", kids.Items)
	}
	if r := e.Do(t, "GET", "/v1/items/"+id+"/content", master, nil); string(r.Body) != "mine" {
		t.Fatal("owner lost the file")
	}
}

func TestOpenAPIListsEveryRoute(t *testing.T) {
	e := shelftest.New(t, library.Config{})
	r := e.Do(t, "GET", "/v1/openapi.json", master, nil)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	r.JSON(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi = %q", doc.OpenAPI)
	}
	for _, p := range e.Server.Patterns() {
		method, path, _ := strings.Cut(p, " ")
		if !strings.HasPrefix(path, "/v1/") || e.Server.RouteDialect(p) != "native" {
			continue // another API's route (ChatBotKit's live under /v1 too)
		}
		// OpenAPI spells a wildcard that spans segments ({path...}) {path}.
		path = strings.ReplaceAll(path, "...}", "}")
		ops, ok := doc.Paths[path]
		if !ok {
			t.Errorf("openapi.json lacks %s", path)
			continue
		}
		if _, ok := ops[strings.ToLower(method)]; !ok {
			t.Errorf("openapi.json lacks %s %s", method, path)
		}
	}
}

func TestTreeAPI(t *testing.T) {
	e := shelftest.New(t, library.Config{MinPartSize: 1024})
	mk := func(parent, name string) string {
		r := e.Do(t, "POST", "/v1/items", master, map[string]any{"parent_id": parent, "name": name})
		if r.Status != 201 {
			t.Fatalf("mkdir %s: %d %s", name, r.Status, r.Body)
		}
		var it map[string]any
		r.JSON(t, &it)
		return it["id"].(string)
	}
	a := mk("root", "a")
	b := mk(a, "b")
	upload(t, e, master, b, "f.txt", []byte("x"))
	if r := e.Do(t, "PATCH", "/v1/items/"+a, master, map[string]any{"parent_id": b}); r.Status != 400 {
		t.Fatalf("move into own subtree = %d", r.Status)
	}
	r := e.Do(t, "PATCH", "/v1/items/"+b, master, map[string]any{"parent_id": "root", "name": "b2"})
	var moved map[string]any
	r.JSON(t, &moved)
	if r.Status != 200 || moved["path"] != "b2" {
		t.Fatalf("move = %d %s", r.Status, r.Body)
	}
	for _, bad := range []any{
		map[string]any{"parent_id": "root", "name": "../x"},
		map[string]any{"parent_id": "root", "name": "a/b"},
		map[string]any{"parent_id": "root", "name": "x", "type": "file"},
		map[string]any{"parent_id": "root", "name": "x", "conflict": "explode"},
		"[1,2]", "{",
	} {
		if r := e.Do(t, "POST", "/v1/items", master, bad); r.Status != 400 || errCode(t, r) != "invalid" {
			t.Errorf("create %v = %d %s", bad, r.Status, r.Body)
		}
	}
	if r := e.Do(t, "GET", "/v1/items/root/children?limit=0", master, nil); r.Status != 400 {
		t.Errorf("limit 0 = %d", r.Status)
	}
	if r := e.Do(t, "GET", "/v1/items/root/children?cursor=zzz", master, nil); r.Status != 400 {
		t.Errorf("garbage cursor = %d", r.Status)
	}
	var page struct {
		Items      []map[string]any `json:"items"`
		NextCursor string           `json:"next_cursor"`
	}
	e.Do(t, "GET", "/v1/items/root/children?limit=1", master, nil).JSON(t, &page)
	if len(page.Items) != 1 || page.Items[0]["name"] != "a" || page.NextCursor == "" {
		t.Fatalf("page 1 = %+v", page)
	}
	e.Do(t, "GET", "/v1/items/root/children?limit=1&cursor="+page.NextCursor, master, nil).JSON(t, &page)
	if len(page.Items) != 1 || page.Items[0]["name"] != "b2" || page.NextCursor != "" {
		t.Fatalf("page 2 = %+v", page)
	}
	if r := e.Do(t, "DELETE", "/v1/items/"+a, master, nil); r.Status != 200 {
		t.Fatalf("delete = %d", r.Status)
	}
	var del map[string]int
	r = e.Do(t, "DELETE", "/v1/items/"+b, master, nil)
	json.Unmarshal(r.Body, &del)
	if del["deleted"] != 2 {
		t.Fatalf("recursive delete = %s", r.Body)
	}
}

// TestReservedXAttrsNative: the reserved x_attrs keys are the core's rule,
// so the native API passes over them as MemoryLake's does.
func TestReservedXAttrsNative(t *testing.T) {
	e := shelftest.New(t, library.Config{MinPartSize: 1024})
	reserved := map[string]string{"x_source": "s", "x_thumbnail_uri": "t", "shelf.internal": "i"}
	r := e.Do(t, "POST", "/v1/items", master, map[string]any{"parent_id": "root", "name": "a",
		"x_attrs": map[string]string{"k": "v", "x_source": "s", "shelf.x": "1"}})
	var it struct {
		ID     string            `json:"id"`
		XAttrs map[string]string `json:"x_attrs"`
	}
	r.JSON(t, &it)
	if r.Status != 201 || fmt.Sprint(it.XAttrs) != "map[k:v]" {
		t.Fatalf("create = %d %s", r.Status, r.Body)
	}
	r = e.Do(t, "PUT", "/v1/items/"+it.ID+"/xattrs", master, map[string]any{"x_attrs": reserved})
	it.XAttrs = nil
	r.JSON(t, &it)
	if r.Status != 200 || fmt.Sprint(it.XAttrs) != "map[k:v]" {
		t.Fatalf("set = %d %s", r.Status, r.Body)
	}
	r = e.Do(t, "DELETE", "/v1/items/"+it.ID+"/xattrs?key=k,x_thumbnail_uri,shelf.internal", master, nil)
	it.XAttrs = nil // decoding into a map merges
	r.JSON(t, &it)
	if r.Status != 200 || len(it.XAttrs) != 0 {
		t.Fatalf("delete = %d %s", r.Status, r.Body)
	}
}

// TestNamesNFCNative: names are kept as sent and compared under NFC in the
// native API too: the rule is the core's, not MemoryLake's.
func TestNamesNFCNative(t *testing.T) {
	e := shelftest.New(t, library.Config{MinPartSize: 1024})
	const nfd, nfc = "e\u0301cole", "\u00e9cole"
	type item struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Path string `json:"path"`
	}
	mk := func(name, conflict string) (*shelftest.Response, item) {
		r := e.Do(t, "POST", "/v1/items", master, map[string]any{"parent_id": "root", "name": name, "conflict": conflict})
		var it item
		if r.Status == 201 {
			r.JSON(t, &it)
		}
		return r, it
	}
	r, folder := mk(nfd, "deny")
	if r.Status != 201 || folder.Name != nfd || folder.Path != nfc {
		t.Fatalf("NFD folder = %d %s; want name %+q, path %+q", r.Status, r.Body, nfd, nfc)
	}
	if r, _ := mk(nfc, "deny"); r.Status != 409 || errCode(t, r) != "conflict" {
		t.Fatalf("NFC twin, deny = %d %s", r.Status, r.Body)
	}
	if r, it := mk(nfc, "rename"); r.Status != 201 || it.Name != nfc+"_1" {
		t.Fatalf("NFC twin, rename = %d %s", r.Status, r.Body)
	}
	var got item
	e.Do(t, "GET", "/v1/items/"+folder.ID, master, nil).JSON(t, &got)
	if got.Name != nfd {
		t.Fatalf("GET name = %+q, want %+q", got.Name, nfd)
	}
	// By path: the file written under the NFD spelling is the one the NFC
	// spelling writes again.
	var up struct {
		Status string `json:"status"`
		Item   item   `json:"item"`
	}
	r = e.Do(t, "PUT", "/v1/files/"+url.PathEscape(nfd)+"/"+url.PathEscape("cafe\u0301.txt"), master, []byte("one"))
	r.JSON(t, &up)
	if r.Status != 201 || up.Item.Name != "cafe\u0301.txt" || up.Item.Path != nfc+"/caf\u00e9.txt" {
		t.Fatalf("PUT NFD path = %d %s", r.Status, r.Body)
	}
	first := up.Item.ID
	r = e.Do(t, "PUT", "/v1/files/"+url.PathEscape(nfc)+"/"+url.PathEscape("caf\u00e9.txt"), master, []byte("two"))
	r.JSON(t, &up)
	if r.Status != 200 || up.Item.ID != first || up.Status != "indexed" || up.Item.Name != "cafe\u0301.txt" {
		t.Fatalf("PUT NFC path = %d %s; want a new version of %s", r.Status, r.Body, first)
	}
	// Renaming the folder to its own twin changes only the name's bytes.
	r = e.Do(t, "PATCH", "/v1/items/"+folder.ID, master, map[string]any{"name": nfc})
	r.JSON(t, &got)
	if r.Status != 200 || got.Name != nfc || got.Path != nfc {
		t.Fatalf("rename to the twin = %d %s", r.Status, r.Body)
	}
}
