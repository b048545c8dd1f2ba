package chatbotkit_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/fetch"
	"github.com/shelfmem/shelf/http/chatbotkit"
	"github.com/shelfmem/shelf/internal/shelftest"
	"github.com/shelfmem/shelf/library"
)

// failure is ChatBotKit's error body.
type failure struct {
	Message string `json:"message"`
	Code    string `json:"code"`
}

type storageItem struct {
	ID          string `json:"id"`
	PathID      string `json:"pathId"`
	Path        string `json:"path"`
	Size        int64  `json:"size"`
	UpdatedAt   int64  `json:"updatedAt"`
	IsDirectory bool   `json:"isDirectory"`
}

type storageList struct {
	Items     []storageItem `json:"items"`
	NextToken string        `json:"nextToken"`
}

type uploaded struct {
	ID            string `json:"id"`
	Path          string `json:"path"`
	UploadRequest *struct {
		Method  string            `json:"method"`
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
	} `json:"uploadRequest"`
}

// wantFailure checks a ChatBotKit error answer.
func wantFailure(t *testing.T, what string, r *shelftest.Response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.Status, status, r.Body)
	}
	var f failure
	r.JSON(t, &f)
	if f.Code != code || f.Message == "" {
		t.Fatalf("%s: body %s, want code %s and a message", what, r.Body, code)
	}
	if (status == 403 || status == 429) && r.Header.Get("X-Failure-Code") != code {
		t.Fatalf("%s: X-Failure-Code = %q, want %q", what, r.Header.Get("X-Failure-Code"), code)
	}
}

func wantOK(t *testing.T, what string, r *shelftest.Response, v any) {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("%s: status %d: %s", what, r.Status, r.Body)
	}
	if v != nil {
		r.JSON(t, v)
	}
}

func createSpace(t *testing.T, e *shelftest.Env, key string, body map[string]any) string {
	t.Helper()
	var out struct{ ID string }
	wantOK(t, "create space", e.Do(t, "POST", "/api/v1/space/create", key, body), &out)
	if out.ID == "" {
		t.Fatal("create space: no id")
	}
	return out.ID
}

// send makes a request with a raw body and content type.
func send(t *testing.T, e *shelftest.Env, method, path, key, ct string, body []byte, header ...string) *shelftest.Response {
	t.Helper()
	req, err := http.NewRequest(method, e.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) *shelftest.Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &shelftest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// fixture is a server with a space and a key of its workspace.
type fixture struct {
	e     *shelftest.Env
	key   string
	space string
	base  string // the space's storage URL prefix
}

func newFixture(t *testing.T, cfg library.Config) *fixture {
	e := shelftest.New(t, cfg)
	_, key := e.Workspace(t, "cbk", shelf.ScopeWrite)
	sp := createSpace(t, e, key, map[string]any{"name": "files"})
	return &fixture{e: e, key: key, space: sp, base: "/api/v1/space/" + sp + "/storage"}
}

func (f *fixture) get(t *testing.T, path string, header ...string) *shelftest.Response {
	t.Helper()
	return send(t, f.e, "GET", path, f.key, "", nil, header...)
}

// download reads a file's bytes through the storage download route.
func (f *fixture) download(t *testing.T, path string) ([]byte, http.Header) {
	t.Helper()
	r := f.get(t, f.base+"/download/"+path)
	if r.Status != 200 {
		t.Fatalf("download %s: %d %s", path, r.Status, r.Body)
	}
	return r.Body, r.Header
}

// tree lists every file of the space, recursively, as "path:size".
func (f *fixture) tree(t *testing.T) []string {
	t.Helper()
	var l storageList
	wantOK(t, "recursive list", f.get(t, f.base+"/list?recursive=true"), &l)
	out := []string{}
	for _, it := range l.Items {
		out = append(out, fmt.Sprintf("%s:%d", it.Path, it.Size))
	}
	return out
}

func pathID(p string) string { return base64.StdEncoding.EncodeToString([]byte(p)) }

// TestSeedExamples runs the examples of the space storage docs: each body
// form to /storage/{pathId}/upload with the docs' path id.
func TestSeedExamples(t *testing.T) {
	f := newFixture(t, library.Config{})
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 5000)...)
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(png)
	}))
	defer files.Close()
	const id = "cGhvdG9zL3Byb2ZpbGUucG5n"
	if pathID("photos/profile.png") != id {
		t.Fatalf("the docs' path id is %s", pathID("photos/profile.png"))
	}
	check := func(what string, r *shelftest.Response) {
		t.Helper()
		var up uploaded
		wantOK(t, what, r, &up)
		if up.ID != id || up.Path != "photos/profile.png" || up.UploadRequest != nil {
			t.Fatalf("%s: %s", what, r.Body)
		}
		got, h := f.download(t, "photos/profile.png")
		if !bytes.Equal(got, png) || h.Get("Content-Type") != "image/png" {
			t.Fatalf("%s: download %d bytes of %s", what, len(got), h.Get("Content-Type"))
		}
	}
	url := f.base + "/" + id + "/upload"

	// Direct binary upload.
	check("raw body", send(t, f.e, "POST", url, f.key, "image/png", png))

	// Multipart form upload, with the docs' boundary.
	var mp bytes.Buffer
	mp.WriteString("------WebKitFormBoundary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"profile.png\"\r\nContent-Type: image/png\r\n\r\n")
	mp.Write(png)
	mp.WriteString("\r\n------WebKitFormBoundary--\r\n")
	check("multipart", send(t, f.e, "POST", url, f.key, "multipart/form-data; boundary=----WebKitFormBoundary", mp.Bytes()))

	// Upload via HTTP URL.
	body, _ := json.Marshal(map[string]string{"file": files.URL + "/images/profile.png"})
	check("http URL", send(t, f.e, "POST", url, f.key, "application/json", body))

	// Upload via data URL.
	body, _ = json.Marshal(map[string]string{"file": "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)})
	check("data URL", send(t, f.e, "POST", url, f.key, "application/json", body))

	// Two-stage upload: the docs' request, then the PUT.
	r := send(t, f.e, "POST", url, f.key, "application/json",
		[]byte(`{ "file": { "type": "image/png", "size": 1024000, "meta": { "description": "User profile photo" } } }`))
	var up uploaded
	wantOK(t, "two-stage", r, &up)
	if up.ID != id || up.Path != "photos/profile.png" || up.UploadRequest == nil || up.UploadRequest.Method != "PUT" ||
		up.UploadRequest.Headers["Content-Type"] != "image/png" || up.UploadRequest.Headers["Content-Length"] != "1024000" ||
		up.UploadRequest.Headers["Content-Disposition"] != "attachment; filename=profile.png" {
		t.Fatalf("two-stage answer: %s", r.Body)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1024000/16)
	req, _ := http.NewRequest("PUT", up.UploadRequest.URL, bytes.NewReader(big))
	req.Header.Set("Content-Type", "image/png")
	if r := do(t, req); r.Status != 200 {
		t.Fatalf("two-stage PUT: %d %s", r.Status, r.Body)
	}
	got, h := f.download(t, "photos/profile.png")
	if !bytes.Equal(got, big) || h.Get("Content-Type") != "image/png" {
		t.Fatalf("after the two-stage PUT: %d bytes of %s", len(got), h.Get("Content-Type"))
	}
	// The meta became the file's attributes.
	ctx := f.ctx(t)
	it, err := f.e.Service.ItemAt(ctx, f.space, "photos/profile.png")
	if err != nil || it.XAttrs["description"] != "User profile photo" {
		t.Fatalf("x_attrs after the two-stage upload: %v, %v", it, err)
	}
	// Every upload wrote the one file: the first four the same bytes (one
	// version), the two-stage one others (a second).
	vs, err := f.e.Service.Versions(ctx, it.ID)
	if err != nil || len(vs) != 2 {
		t.Fatalf("versions = %d, %v; want 2", len(vs), err)
	}
}

// ctx returns a context acting as the fixture's key.
func (f *fixture) ctx(t *testing.T) context.Context {
	t.Helper()
	p, err := f.e.Service.Authenticate(context.Background(), f.key)
	if err != nil {
		t.Fatal(err)
	}
	return shelf.NewContext(context.Background(), p)
}

// TestBothURLForms runs every storage operation in the SDK's form and in
// the documented path-id form, under both prefixes.
func TestBothURLForms(t *testing.T) {
	f := newFixture(t, library.Config{})
	for _, prefix := range chatbotkit.Prefixes {
		base := prefix + "/space/" + f.space + "/storage"
		forms := []struct {
			name string
			url  func(op, path string) string
		}{
			{"path", func(op, path string) string { return base + "/" + op + "/" + path }},
			{"std path id", func(op, path string) string { return base + "/" + pathID(path) + "/" + op }},
			{"url-safe unpadded path id", func(op, path string) string {
				return base + "/" + base64.RawURLEncoding.EncodeToString([]byte(path)) + "/" + op
			}},
		}
		for _, form := range forms {
			t.Run(prefix+" "+form.name, func(t *testing.T) {
				dir := "d-" + strings.ReplaceAll(prefix+form.name, "/", "_") + "/ü ?>"
				file := dir + "/a.txt"
				u := form.url("upload", file)
				if form.name == "path" {
					u = base + "/upload/" + escape(file)
				}
				wantOK(t, "upload", send(t, f.e, "POST", u, f.key, "text/plain", []byte("hello")), nil)
				var l storageList
				lu := form.url("list", dir)
				if form.name == "path" {
					lu = base + "/list/" + escape(dir)
				}
				wantOK(t, "list", f.get(t, lu), &l)
				if len(l.Items) != 1 || l.Items[0].Path != "a.txt" || l.Items[0].Size != 5 || l.Items[0].IsDirectory ||
					l.Items[0].PathID != pathID("a.txt") || l.Items[0].ID != l.Items[0].PathID {
					t.Fatalf("list: %+v", l)
				}
				at := func(op, p string) string {
					if form.name == "path" {
						return base + "/" + op + "/" + escape(p)
					}
					return form.url(op, p)
				}
				r := f.get(t, at("download", file))
				if r.Status != 200 || string(r.Body) != "hello" {
					t.Fatalf("download: %d %s", r.Status, r.Body)
				}
				wantOK(t, "copy", f.e.Do(t, "POST", at("copy", file), f.key, map[string]string{"destinationPath": dir + "/b.txt"}), nil)
				wantOK(t, "move", f.e.Do(t, "POST", at("move", dir+"/b.txt"), f.key, map[string]string{"destinationPath": dir + "/c.txt"}), nil)
				wantOK(t, "delete", f.e.Do(t, "POST", at("delete", file), f.key, map[string]any{}), nil)
				wantOK(t, "list", f.get(t, lu), &l)
				if len(l.Items) != 1 || l.Items[0].Path != "c.txt" {
					t.Fatalf("list after copy, move and delete: %+v", l)
				}
				wantOK(t, "delete dir", f.e.Do(t, "POST", at("delete", dir), f.key, map[string]any{"recursive": true}), nil)
				wantFailure(t, "list deleted dir", f.get(t, lu), 404, "NOT_FOUND")
			})
		}
	}
}

func escape(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// TestSpaces covers create, fetch, list (paging, order, filters, JSON
// lines), update and delete.
func TestSpaces(t *testing.T) {
	e := shelftest.New(t, library.Config{})
	_, key := e.Workspace(t, "spaces", shelf.ScopeWrite)
	_, readKey := e.Workspace(t, "readers", shelf.ScopeRead)
	var ids []string
	for i := range 5 {
		body := map[string]any{"name": fmt.Sprintf("S%d", i), "meta": map[string]any{"i": i, "kind": []string{"even", "odd"}[i%2]}}
		if i == 0 {
			body["alias"], body["contactId"], body["blueprintId"], body["description"] = "first", "contact-1", "bp-1", "the first"
		}
		ids = append(ids, createSpace(t, e, key, body))
	}
	var sp map[string]any
	wantOK(t, "fetch", e.Do(t, "GET", "/api/v1/space/"+ids[0]+"/fetch", key, nil), &sp)
	for k, v := range map[string]any{"id": ids[0], "alias": "first", "name": "S0", "description": "the first",
		"contactId": "contact-1", "blueprintId": "bp-1"} {
		if sp[k] != v {
			t.Fatalf("fetch: %s = %v, want %v (%v)", k, sp[k], v, sp)
		}
	}
	if _, ok := sp["createdAt"].(float64); !ok {
		t.Fatalf("createdAt is not a number: %v", sp)
	}
	wantOK(t, "fetch by alias", e.Do(t, "GET", "/v1/space/first/fetch", key, nil), &sp)
	if sp["id"] != ids[0] {
		t.Fatalf("fetch by alias: %v", sp)
	}

	list := func(query string) ([]string, string) {
		t.Helper()
		var out struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			Cursor *string `json:"cursor"`
		}
		wantOK(t, "list "+query, e.Do(t, "GET", "/api/v1/space/list?"+query, key, nil), &out)
		var got []string
		for _, it := range out.Items {
			got = append(got, it.ID)
		}
		if out.Cursor == nil {
			if len(got) > 0 {
				t.Fatalf("list %s: no cursor", query)
			}
			return got, ""
		}
		return got, *out.Cursor
	}
	desc := slices.Clone(ids)
	slices.Reverse(desc)
	var paged []string
	cursor := ""
	for range 10 {
		page, c := list("take=2&cursor=" + cursor)
		paged = append(paged, page...)
		if len(page) < 2 {
			break
		}
		cursor = c
	}
	if !slices.Equal(paged, desc) {
		t.Fatalf("paged = %v, want %v", paged, desc)
	}
	if got, _ := list("order=asc"); !slices.Equal(got, ids) {
		t.Fatalf("asc = %v, want %v", got, ids)
	}
	if got, _ := list("take=nonsense&order=asc"); !slices.Equal(got, ids) {
		t.Fatalf("take=NaN takes the default: %v", got)
	}
	// take below 1 is 1, a fractional take is truncated (parseInt).
	for q, want := range map[string][]string{"take=0": ids[:1], "take=-5": ids[:1], "take=2.9": ids[:2], "take=+3abc": ids[:3]} {
		if got, _ := list("order=asc&" + q); !slices.Equal(got, want) {
			t.Fatalf("%s = %v, want %v", q, got, want)
		}
	}
	// A contact's list: the spaces whose contactId is the path's, with
	// the list's query.
	var byContact struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	for _, p := range []string{"/api/v1", "/v1"} {
		wantOK(t, "contact list", e.Do(t, "GET", p+"/contact/contact-1/space/list?order=asc", key, nil), &byContact)
		if len(byContact.Items) != 1 || byContact.Items[0].ID != ids[0] {
			t.Fatalf("%s contact list = %+v", p, byContact)
		}
	}
	wantOK(t, "contact list", e.Do(t, "GET", "/api/v1/contact/nobody/space/list", key, nil), &byContact)
	if len(byContact.Items) != 0 {
		t.Fatalf("nobody's spaces = %+v", byContact)
	}
	// A space route with another method: 405 with Allow.
	for _, c := range []struct{ method, path, allow string }{
		{"GET", "/api/v1/space/create", "POST"},
		{"POST", "/api/v1/space/list", "GET, HEAD"},
		{"DELETE", "/v1/space/" + ids[0] + "/fetch", "GET, HEAD"},
		{"GET", "/api/v1/space/" + ids[0] + "/delete", "POST"},
		{"POST", "/api/v1/contact/c/space/list", "GET, HEAD"},
	} {
		r := e.Do(t, c.method, c.path, key, nil)
		wantFailure(t, c.method+" "+c.path, r, 405, "METHOD_NOT_ALLOWED")
		if r.Header.Get("Allow") != c.allow {
			t.Fatalf("%s %s: Allow %q", c.method, c.path, r.Header.Get("Allow"))
		}
	}
	wantFailure(t, "unknown", e.Do(t, "GET", "/api/v1/space/"+ids[0]+"/nothing", key, nil), 404, "NOT_FOUND")
	if got, _ := list("order=asc&meta.kind=odd"); !slices.Equal(got, []string{ids[1], ids[3]}) {
		t.Fatalf("meta.kind=odd: %v", got)
	}
	if got, _ := list("order=asc&meta%5Bkind%5D=even&meta.i=2"); !slices.Equal(got, []string{ids[2]}) {
		t.Fatalf("meta[kind]=even&meta.i=2: %v", got)
	}
	if got, _ := list("contactId=contact-1"); !slices.Equal(got, ids[:1]) {
		t.Fatalf("contactId: %v", got)
	}
	if got, c := list("meta.kind=none"); len(got) != 0 || c != "" {
		t.Fatalf("an empty page: %v, cursor %q", got, c)
	}
	wantFailure(t, "bad order", e.Do(t, "GET", "/api/v1/space/list?order=up", key, nil), 400, "BAD_REQUEST")
	wantFailure(t, "unknown cursor", e.Do(t, "GET", "/api/v1/space/list?cursor=nope", key, nil), 400, "BAD_REQUEST")

	// JSON lines, all pages, or at most take.
	r := send(t, e, "GET", "/api/v1/space/export?order=asc", key, "", nil, "Accept", "application/jsonl")
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/jsonl") {
		t.Fatalf("jsonl: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	var streamed []string
	lines := strings.Split(strings.TrimSpace(string(r.Body)), "\n")
	for i, line := range lines {
		var ev struct {
			Type string `json:"type"`
			Data struct {
				ID     string `json:"id"`
				Cursor string `json:"cursor"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("jsonl line %q: %v", line, err)
		}
		if i == len(lines)-1 { // the result, with the last item's cursor
			if ev.Type != "result" || ev.Data.Cursor != ids[len(ids)-1] {
				t.Fatalf("jsonl's last line %q", line)
			}
			continue
		}
		if ev.Type != "item" {
			t.Fatalf("jsonl line %q", line)
		}
		streamed = append(streamed, ev.Data.ID)
	}
	if !slices.Equal(streamed, ids) {
		t.Fatalf("streamed = %v", streamed)
	}
	r = send(t, e, "GET", "/api/v1/space/list?take=3", key, "", nil, "Accept", "application/jsonl")
	if n := strings.Count(string(r.Body), `"type":"item"`); n != 3 {
		t.Fatalf("jsonl with take=3: %d items", n)
	}

	// Server-sent events: an "item" event per space, then "result".
	r = send(t, e, "GET", "/api/v1/space/export?order=asc", key, "", nil, "Accept", "text/event-stream")
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("sse: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	streamed = nil
	events := strings.Split(strings.TrimSpace(string(r.Body)), "\n\n")
	for i, ev := range events {
		name, data, ok := strings.Cut(ev, "\n")
		var body struct {
			ID     string `json:"id"`
			Cursor string `json:"cursor"`
		}
		if !ok || !strings.HasPrefix(data, "data: ") || json.Unmarshal([]byte(strings.TrimPrefix(data, "data: ")), &body) != nil {
			t.Fatalf("sse event %q", ev)
		}
		if i == len(events)-1 {
			if name != "event: result" || body.Cursor != ids[len(ids)-1] {
				t.Fatalf("sse's last event %q", ev)
			}
			continue
		}
		if name != "event: item" {
			t.Fatalf("sse event %q", ev)
		}
		streamed = append(streamed, body.ID)
	}
	if !slices.Equal(streamed, ids) {
		t.Fatalf("sse streamed = %v", streamed)
	}
	// CSV: a header row, then a row per space, quoted as RFC 4180 says.
	r = send(t, e, "GET", "/api/v1/space/list?order=asc", key, "", nil, "Accept", "text/csv")
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil || len(rows) != len(ids)+1 || strings.Join(rows[0], ",") != "id,alias,name,description,meta,blueprintId,contactId,createdAt,updatedAt" {
		t.Fatalf("csv = %q, %v", rows, err)
	}
	for i, row := range rows[1:] {
		if row[0] != ids[i] || (row[4] != "" && !json.Valid([]byte(row[4]))) {
			t.Fatalf("csv row %d = %q", i, row)
		}
	}

	// Update merges meta, null removing a key; null removes the contact.
	wantOK(t, "update", e.Do(t, "POST", "/api/v1/space/"+ids[0]+"/update", key,
		`{"name":"renamed","meta":{"i":null,"new":true},"contactId":null,"alias":"premier"}`), nil)
	sp = nil
	wantOK(t, "fetch", e.Do(t, "GET", "/api/v1/space/premier/fetch", key, nil), &sp)
	meta, _ := json.Marshal(sp["meta"])
	if sp["name"] != "renamed" || string(meta) != `{"kind":"even","new":true}` || sp["contactId"] != nil ||
		sp["blueprintId"] != "bp-1" || sp["description"] != "the first" {
		t.Fatalf("after update: %v", sp)
	}
	wantFailure(t, "alias taken", e.Do(t, "POST", "/api/v1/space/create", key, map[string]any{"alias": "premier"}), 409, "CONFLICT")
	wantFailure(t, "meta not an object", e.Do(t, "POST", "/api/v1/space/create", key, `{"meta":[1]}`), 400, "BAD_REQUEST")
	wantFailure(t, "name not a string", e.Do(t, "POST", "/api/v1/space/create", key, `{"name":5}`), 400, "BAD_REQUEST")
	wantFailure(t, "malformed JSON", e.Do(t, "POST", "/api/v1/space/create", key, `{"name":`), 400, "BAD_REQUEST")
	wantFailure(t, "update missing", e.Do(t, "POST", "/api/v1/space/nope/update", key, `{}`), 404, "NOT_FOUND")

	// A read key reads but does not write.
	_, _ = readKey, key
	wantFailure(t, "no key", e.Do(t, "GET", "/api/v1/space/list", "", nil), 401, "NOT_AUTHENTICATED")
	wantFailure(t, "read key writes", e.Do(t, "POST", "/api/v1/space/create", readKey, `{}`), 403, "NOT_AUTHORIZED")

	// Delete takes the space's storage with it.
	wantOK(t, "upload", send(t, e, "POST", "/api/v1/space/"+ids[1]+"/storage/upload/a/b.txt", key, "text/plain", []byte("x")), nil)
	var del struct{ ID string }
	wantOK(t, "delete", e.Do(t, "POST", "/api/v1/space/"+ids[1]+"/delete", key, `{}`), &del)
	if del.ID != ids[1] {
		t.Fatalf("delete answered %v", del)
	}
	wantFailure(t, "fetch deleted", e.Do(t, "GET", "/api/v1/space/"+ids[1]+"/fetch", key, nil), 404, "NOT_FOUND")
	wantFailure(t, "storage of deleted", e.Do(t, "GET", "/api/v1/space/"+ids[1]+"/storage/list", key, nil), 404, "NOT_FOUND")
	wantFailure(t, "delete again", e.Do(t, "POST", "/api/v1/space/"+ids[1]+"/delete", key, nil), 404, "NOT_FOUND")
	wantFailure(t, "unknown route", e.Do(t, "GET", "/api/v1/space/"+ids[0]+"/frobnicate", key, nil), 404, "NOT_FOUND")
}

// TestStorage covers listing (flat, recursive, pages), download (stream
// and signed link), delete, copy, move and overwrite.
func TestStorage(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := newFixture(t, library.Config{Now: clock})
	for i := range 25 {
		p := fmt.Sprintf("docs/sub/f%02d.txt", i)
		wantOK(t, "upload", send(t, f.e, "POST", f.base+"/upload/"+p, f.key, "text/plain", []byte(p)), nil)
	}
	wantOK(t, "upload", send(t, f.e, "POST", f.base+"/upload/docs/readme.md", f.key, "text/markdown", []byte("# hi")), nil)
	wantOK(t, "upload", send(t, f.e, "POST", f.base+"/upload/top.bin", f.key, "", []byte{0, 1, 2}), nil)

	var l storageList
	wantOK(t, "root", f.get(t, f.base+"/list"), &l)
	if len(l.Items) != 2 || !l.Items[0].IsDirectory || l.Items[0].Path != "docs" || l.Items[0].Size != 0 || l.Items[0].UpdatedAt != 0 ||
		l.Items[1].Path != "top.bin" || l.Items[1].Size != 3 || l.Items[1].UpdatedAt != now.UnixMilli() || l.NextToken != "" {
		t.Fatalf("root listing: %+v", l)
	}
	wantOK(t, "docs", f.get(t, f.base+"/list/docs"), &l)
	if len(l.Items) != 2 || l.Items[0].Path != "readme.md" || l.Items[1].Path != "sub" || !l.Items[1].IsDirectory {
		t.Fatalf("docs listing: %+v", l)
	}
	// Recursive, relative to the directory, in pages of 10.
	var all []string
	token := ""
	for range 10 {
		l = storageList{}
		wantOK(t, "recursive page", f.get(t, f.base+"/list/docs?recursive=true&take=10&nextToken="+url.QueryEscape(token)), &l)
		for _, it := range l.Items {
			if it.IsDirectory {
				t.Fatalf("a recursive listing lists directories: %+v", it)
			}
			all = append(all, it.Path)
		}
		if token = l.NextToken; token == "" {
			break
		}
	}
	if len(all) != 26 || all[0] != "readme.md" || all[1] != "sub/f00.txt" || all[25] != "sub/f24.txt" {
		t.Fatalf("recursive pages: %d %v", len(all), all)
	}
	// Flat pages too.
	wantOK(t, "flat page", f.get(t, f.base+"/list/docs/sub?take=20"), &l)
	if len(l.Items) != 20 || l.NextToken == "" {
		t.Fatalf("flat page 1: %d, token %q", len(l.Items), l.NextToken)
	}
	token = l.NextToken
	l = storageList{}
	wantOK(t, "flat page", f.get(t, f.base+"/list/docs/sub?take=20&nextToken="+url.QueryEscape(token)), &l)
	if len(l.Items) != 5 || l.Items[4].Path != "f24.txt" || l.NextToken != "" {
		t.Fatalf("flat page 2: %+v", l)
	}
	// A trailing slash names the folder; take below 1 is 1, a fractional
	// take truncated.
	wantOK(t, "docs/", f.get(t, f.base+"/list/docs/"), &l)
	if len(l.Items) != 2 || l.Items[0].Path != "readme.md" || l.Items[1].Path != "sub" {
		t.Fatalf("docs/ listing: %+v", l)
	}
	for take, want := range map[string]int{"0": 1, "-3": 1, "2.8": 2, "x": 20} {
		l = storageList{}
		wantOK(t, "take "+take, f.get(t, f.base+"/list/docs/sub?take="+url.QueryEscape(take)), &l)
		if want == 20 {
			want = 25 // NaN: the default page
		}
		if len(l.Items) != want {
			t.Fatalf("take=%s lists %d", take, len(l.Items))
		}
	}
	wantFailure(t, "list a file", f.get(t, f.base+"/list/top.bin"), 404, "NOT_FOUND")
	wantFailure(t, "list missing", f.get(t, f.base+"/list/nope"), 404, "NOT_FOUND")
	wantFailure(t, "bad token", f.get(t, f.base+"/list?recursive=true&nextToken=garbage"), 400, "BAD_REQUEST")

	// Download: an attachment by default.
	r := f.get(t, f.base+"/download/docs/readme.md")
	if r.Status != 200 || string(r.Body) != "# hi" || r.Header.Get("Content-Type") != "text/markdown" ||
		!strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("download: %d %v %s", r.Status, r.Header, r.Body)
	}
	wantFailure(t, "download dir", f.get(t, f.base+"/download/docs"), 404, "NOT_FOUND")
	wantFailure(t, "download missing", f.get(t, f.base+"/download/nope.txt"), 404, "NOT_FOUND")
	wantFailure(t, "download root", f.get(t, f.base+"/download"), 400, "BAD_REQUEST")

	// With Accept: application/json, a signed link that needs no key.
	var link struct{ ID, URL string }
	wantOK(t, "download link", f.get(t, f.base+"/download/docs/readme.md", "Accept", "application/json"), &link)
	if link.ID != pathID("docs/readme.md") || !strings.HasPrefix(link.URL, f.e.URL+"/") {
		t.Fatalf("link: %+v", link)
	}
	if r := send(t, f.e, "GET", strings.TrimPrefix(link.URL, f.e.URL), "", "", nil); r.Status != 200 || string(r.Body) != "# hi" {
		t.Fatalf("GET link: %d %s", r.Status, r.Body)
	}
	// The link pins the version it was made for, and cannot be bent.
	wantOK(t, "overwrite", send(t, f.e, "POST", f.base+"/upload/docs/readme.md", f.key, "text/markdown", []byte("# v2")), nil)
	if r := send(t, f.e, "GET", strings.TrimPrefix(link.URL, f.e.URL), "", "", nil); r.Status != 200 || string(r.Body) != "# hi" {
		t.Fatalf("GET link after overwrite: %d %s", r.Status, r.Body)
	}
	if b, _ := f.download(t, "docs/readme.md"); string(b) != "# v2" {
		t.Fatalf("download after overwrite: %s", b)
	}
	bent := strings.Replace(link.URL, "version=1", "version=2", 1)
	if r := send(t, f.e, "GET", strings.TrimPrefix(bent, f.e.URL), "", "", nil); r.Status != 403 {
		t.Fatalf("GET of a link with another version: %d %s", r.Status, r.Body)
	}
	if r := send(t, f.e, "PUT", strings.TrimPrefix(link.URL, f.e.URL), "", "", []byte("x")); r.Status == 200 {
		t.Fatalf("PUT to a download link: %d", r.Status)
	}
	mu.Lock()
	now = now.Add(16 * time.Minute)
	mu.Unlock()
	if r := send(t, f.e, "GET", strings.TrimPrefix(link.URL, f.e.URL), "", "", nil); r.Status != 403 {
		t.Fatalf("GET of an expired link: %d %s", r.Status, r.Body)
	}

	// Copy and move overwrite a file at the destination; not a directory.
	wantOK(t, "copy", f.e.Do(t, "POST", f.base+"/copy/top.bin", f.key, map[string]string{"destinationPath": "docs/sub/f00.txt"}), nil)
	if b, _ := f.download(t, "docs/sub/f00.txt"); !bytes.Equal(b, []byte{0, 1, 2}) {
		t.Fatalf("copy over a file: %v", b)
	}
	wantFailure(t, "copy onto a dir", f.e.Do(t, "POST", f.base+"/copy/top.bin", f.key, map[string]string{"destinationPath": "docs"}), 400, "BAD_REQUEST")
	wantFailure(t, "copy a dir", f.e.Do(t, "POST", f.base+"/copy/docs", f.key, map[string]string{"destinationPath": "x"}), 404, "NOT_FOUND")
	wantFailure(t, "copy missing", f.e.Do(t, "POST", f.base+"/copy/nope", f.key, map[string]string{"destinationPath": "x"}), 404, "NOT_FOUND")
	wantFailure(t, "copy without destination", f.e.Do(t, "POST", f.base+"/copy/top.bin", f.key, `{}`), 400, "BAD_REQUEST")
	wantFailure(t, "copy to ..", f.e.Do(t, "POST", f.base+"/copy/top.bin", f.key, map[string]string{"destinationPath": "a/../b"}), 400, "BAD_REQUEST")
	wantOK(t, "move", f.e.Do(t, "POST", f.base+"/move/docs/sub/f01.txt", f.key, map[string]string{"destinationPath": "docs/sub/f02.txt"}), nil)
	if b, _ := f.download(t, "docs/sub/f02.txt"); string(b) != "docs/sub/f01.txt" {
		t.Fatalf("move over a file: %s", b)
	}
	wantFailure(t, "moved away", f.get(t, f.base+"/download/docs/sub/f01.txt"), 404, "NOT_FOUND")
	wantOK(t, "rename", f.e.Do(t, "POST", f.base+"/move/top.bin", f.key, map[string]string{"destinationPath": "/new/top.bin"}), nil)

	// Delete: a file, a directory only with recursive.
	wantFailure(t, "delete dir", f.e.Do(t, "POST", f.base+"/delete/docs", f.key, nil), 404, "NOT_FOUND")
	wantFailure(t, "delete file recursively", f.e.Do(t, "POST", f.base+"/delete/new/top.bin", f.key, `{"recursive":true}`), 404, "NOT_FOUND")
	wantFailure(t, "delete root", f.e.Do(t, "POST", f.base+"/delete", f.key, `{"recursive":true}`), 404, "NOT_FOUND")
	wantOK(t, "delete file", f.e.Do(t, "POST", f.base+"/delete/new/top.bin", f.key, nil), nil)
	var del struct{ Path string }
	wantFailure(t, "delete dir, recursive not a flag", f.e.Do(t, "POST", f.base+"/delete/docs", f.key, `{"recursive":"yes"}`), 400, "BAD_REQUEST")
	// recursive "true" (a string) is the flag; a trailing slash names the
	// folder.
	wantOK(t, "delete dir", f.e.Do(t, "POST", f.base+"/delete/docs/", f.key, `{"recursive":"true"}`), &del)
	if del.Path != "docs" {
		t.Fatalf("delete answered %+v", del)
	}
	if got := f.tree(t); len(got) != 0 {
		t.Fatalf("after deleting everything: %v", got)
	}

	// A two-stage upload of size 0 makes an empty file, with its type and
	// meta, when its URL takes the PUT of no bytes (and only then).
	var up uploaded
	wantOK(t, "two-stage, empty", send(t, f.e, "POST", f.base+"/upload/empty.txt", f.key, "application/json",
		[]byte(`{"file":{"type":"text/plain","size":0,"meta":{"origin":"test"}}}`)), &up)
	if up.UploadRequest == nil || up.UploadRequest.Headers["Content-Length"] != "0" {
		t.Fatalf("two-stage, empty: %+v", up)
	}
	req, _ := http.NewRequest("PUT", up.UploadRequest.URL, strings.NewReader("x"))
	req.Header.Set("Content-Type", "text/plain")
	wantFailure(t, "a byte where none is due", do(t, req), 400, "BAD_REQUEST")
	if got := f.tree(t); len(got) != 0 {
		t.Fatalf("a refused PUT wrote: %v", got)
	}
	req, _ = http.NewRequest("PUT", up.UploadRequest.URL, http.NoBody)
	req.Header.Set("Content-Type", "text/plain")
	wantOK(t, "PUT no bytes", do(t, req), nil)
	r = f.get(t, f.base+"/download/empty.txt")
	if r.Status != 200 || len(r.Body) != 0 || r.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("the empty file: %d %q %v", r.Status, r.Body, r.Header)
	}
}

// TestBadInput sends each bad input of the issue; each is a 4xx in
// ChatBotKit's format and changes nothing.
func TestBadInput(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	// No loopback exception: the server must refuse to fetch inside.
	f := newFixture(t, library.Config{Now: clock, MaxFileSize: 1 << 20, Fetcher: fetch.New(fetch.Config{})})
	wantOK(t, "upload", send(t, f.e, "POST", f.base+"/upload/keep/a.txt", f.key, "text/plain", []byte("keep")), nil)
	before := f.tree(t)
	unchanged := func(what string) {
		t.Helper()
		if got := f.tree(t); !slices.Equal(got, before) {
			t.Fatalf("%s changed the storage: %v, was %v", what, got, before)
		}
	}
	post := func(what, path, ct string, body []byte, status int, code string) {
		t.Helper()
		wantFailure(t, what, send(t, f.e, "POST", path, f.key, ct, body), status, code)
		unchanged(what)
	}
	for _, c := range []struct {
		what, id string
	}{
		{"undecodable path id", "!!!notbase64"},
		{"too much padding", "YQ==="},
		{"path id with ..", pathID("a/../b.txt")},
		{"path id with a leading ..", pathID("../b.txt")},
		{"path id with NUL", pathID("a\x00b.txt")},
		{"path id with an empty segment", pathID("a//b.txt")},
		{"path id with a control character", pathID("a/\x01.txt")},
	} {
		post(c.what, f.base+"/"+c.id+"/upload", "text/plain", []byte("x"), 400, "BAD_REQUEST")
	}
	post("unknown operation", f.base+"/"+pathID("a.txt")+"/frobnicate", "text/plain", []byte("x"), 404, "NOT_FOUND")
	post("unknown operation (path form)", f.base+"/frobnicate/a.txt", "text/plain", []byte("x"), 404, "NOT_FOUND")
	wantFailure(t, "GET an upload", f.get(t, f.base+"/upload/a.txt"), 405, "METHOD_NOT_ALLOWED")
	wantFailure(t, "POST a list", send(t, f.e, "POST", f.base+"/list", f.key, "", nil), 405, "METHOD_NOT_ALLOWED")
	wantFailure(t, "PUT with a key", send(t, f.e, "PUT", f.base+"/upload/a.txt", f.key, "text/plain", []byte("x")), 405, "METHOD_NOT_ALLOWED")
	unchanged("method")
	post("upload to the root", f.base+"/upload", "text/plain", []byte("x"), 400, "BAD_REQUEST")
	post("upload to a directory", f.base+"/upload/keep", "text/plain", []byte("x"), 400, "BAD_REQUEST")
	post("upload below a file", f.base+"/upload/keep/a.txt/b.txt", "text/plain", []byte("x"), 409, "CONFLICT")
	post("over the size limit", f.base+"/upload/big.bin", "application/octet-stream", make([]byte, 1<<20+1), 429, "LIMITS_REACHED")
	post("over the size limit (two-stage)", f.base+"/upload/big.bin", "application/json", []byte(`{"file":{"type":"text/plain","size":1048577}}`), 429, "LIMITS_REACHED")
	js := func(v string) []byte { return []byte(`{"file":` + v + `}`) }
	for _, c := range []struct{ what, file string }{
		{"data URL not base64", `"data:text/plain;base64,@@@not base64@@@"`},
		{"data URL without a comma", `"data:text/plain;base64"`},
		{"not a data URL", `"text/plain;base64,aGk="`},
		{"an ftp URL", `"ftp://example.com/a.txt"`},
		{"a URL inside (loopback)", fmt.Sprintf("%q", f.e.URL+"/healthz")},
		{"a URL inside (metadata)", `"http://169.254.169.254/latest/meta-data/"`},
		{"a URL inside (private)", `"http://10.0.0.1/a.txt"`},
		{"file missing", `null`},
		{"file a number", `5`},
		{"two-stage without size", `{"type":"text/plain"}`},
		{"two-stage with a bad type", `{"type":"not a type","size":3}`},
		{"two-stage with meta not strings", `{"type":"text/plain","size":3,"meta":{"a":1}}`},
	} {
		post(c.what, f.base+"/upload/new.txt", "application/json", js(c.file), 400, "BAD_REQUEST")
	}
	post("malformed JSON", f.base+"/upload/new.txt", "application/json", []byte(`{"file":`), 400, "BAD_REQUEST")
	post("invalid UTF-8 in the JSON", f.base+"/upload/new.txt", "application/json", []byte("{\"file\":\"data:text/plain,\xff\"}"), 400, "BAD_REQUEST")
	post("multipart without a file part", f.base+"/upload/new.txt", "multipart/form-data; boundary=xx", []byte("--xx\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nv\r\n--xx--\r\n"), 400, "BAD_REQUEST")
	wantFailure(t, "copy into a file", f.e.Do(t, "POST", f.base+"/copy/keep/a.txt", f.key, map[string]string{"destinationPath": "keep/a.txt/x"}), 409, "CONFLICT")
	unchanged("copy into a file")

	// A space of another workspace is not found, for every operation.
	_, otherKey := f.e.Workspace(t, "other", shelf.ScopeWrite)
	foreign := createSpace(t, f.e, otherKey, map[string]any{"name": "theirs"})
	fb := "/api/v1/space/" + foreign + "/storage"
	wantOK(t, "their upload", send(t, f.e, "POST", fb+"/upload/secret.txt", otherKey, "text/plain", []byte("secret")), nil)
	for _, c := range []struct{ method, path string }{
		{"GET", fb + "/list"}, {"GET", fb + "/download/secret.txt"}, {"POST", fb + "/upload/x.txt"},
		{"POST", fb + "/delete/secret.txt"}, {"POST", fb + "/copy/secret.txt"}, {"POST", fb + "/move/secret.txt"},
		{"GET", "/api/v1/space/" + foreign + "/fetch"}, {"POST", "/api/v1/space/" + foreign + "/update"},
		{"POST", "/api/v1/space/" + foreign + "/delete"},
	} {
		wantFailure(t, "foreign "+c.path, f.e.Do(t, c.method, c.path, f.key, map[string]string{"destinationPath": "x.txt"}), 404, "NOT_FOUND")
	}
	if r := f.e.Do(t, "GET", fb+"/download/secret.txt", otherKey, nil); string(r.Body) != "secret" {
		t.Fatalf("their file after the attempts: %d %s", r.Status, r.Body)
	}

	// Two-stage PUTs: the wrong length, twice, after expiry.
	var up uploaded
	wantOK(t, "two-stage", send(t, f.e, "POST", f.base+"/upload/two.txt", f.key, "application/json", js(`{"type":"text/plain","size":5}`)), &up)
	put := func(u string, body []byte) *shelftest.Response {
		req, _ := http.NewRequest("PUT", u, bytes.NewReader(body))
		req.Header.Set("Content-Type", "text/plain")
		return do(t, req)
	}
	wantFailure(t, "PUT too short", put(up.UploadRequest.URL, []byte("four")), 400, "BAD_REQUEST")
	wantFailure(t, "PUT too long", put(up.UploadRequest.URL, []byte("sixsix")), 400, "BAD_REQUEST")
	unchanged("wrong-length PUTs")
	wantFailure(t, "PUT to another path", put(strings.Replace(up.UploadRequest.URL, "two.txt", "owt.txt", 1), []byte("12345")), 403, "NOT_AUTHORIZED")
	wantFailure(t, "PUT with another size", put(strings.Replace(up.UploadRequest.URL, "len=5", "len=6", 1), []byte("123456")), 403, "NOT_AUTHORIZED")
	wantFailure(t, "PUT without the signature", put(strings.Split(up.UploadRequest.URL, "?")[0]+"?upload=x&sig=", []byte("12345")), 403, "NOT_AUTHORIZED")
	unchanged("tampered PUTs")
	if r := put(up.UploadRequest.URL, []byte("12345")); r.Status != 200 {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	if b, h := f.download(t, "two.txt"); string(b) != "12345" || h.Get("Content-Type") != "text/plain" {
		t.Fatalf("two-stage file: %s %s", b, h.Get("Content-Type"))
	}
	before = f.tree(t)
	wantFailure(t, "PUT twice", put(up.UploadRequest.URL, []byte("54321")), 409, "CONFLICT")
	unchanged("a second PUT")
	if b, _ := f.download(t, "two.txt"); string(b) != "12345" {
		t.Fatalf("after a second PUT: %s", b)
	}
	wantOK(t, "two-stage", send(t, f.e, "POST", f.base+"/upload/late.txt", f.key, "application/json", js(`{"type":"text/plain","size":5}`)), &up)
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	wantFailure(t, "PUT after expiry", put(up.UploadRequest.URL, []byte("12345")), 403, "NOT_AUTHORIZED")
	unchanged("a PUT after expiry")
}

// TestNamesNFC: paths name files under NFC whatever spelling a client
// sends; the file keeps the name it was first sent with, and the paths
// answered are built from the NFC form of each name.
func TestNamesNFC(t *testing.T) {
	f := newFixture(t, library.Config{})
	const nfd, nfc = "e\u0301cole/cafe\u0301.txt", "\u00e9cole/caf\u00e9.txt"
	var up uploaded
	wantOK(t, "upload NFD", send(t, f.e, "POST", f.base+"/upload/"+escape(nfd), f.key, "text/plain", []byte("one")), &up)
	if up.Path != nfc || up.ID != chatbotkit.PathID(nfc) {
		t.Fatalf("upload answered %+v; want the stored path %+q", up, nfc)
	}
	wantOK(t, "upload NFC", send(t, f.e, "POST", f.base+"/upload/"+escape(nfc), f.key, "text/plain", []byte("two")), &up)
	if got := f.tree(t); fmt.Sprint(got) != "["+nfc+":3]" {
		t.Fatalf("tree = %+q; want one file", got)
	}
	var l storageList
	wantOK(t, "list NFD dir", f.get(t, f.base+"/list/"+escape("e\u0301cole")), &l)
	if len(l.Items) != 1 || l.Items[0].Path != "caf\u00e9.txt" {
		t.Fatalf("listing of the NFD spelling = %+v", l)
	}
	for _, p := range []string{nfd, nfc} {
		body, h := f.download(t, escape(p))
		if string(body) != "two" || !strings.Contains(h.Get("Content-Disposition"), url.PathEscape("cafe\u0301.txt")) {
			t.Fatalf("download %+q = %q, %q; want the file named as first sent", p, body, h.Get("Content-Disposition"))
		}
	}
}
