package http_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/fetch"
	shelfhttp "github.com/shelfmem/shelf/http"
	"github.com/shelfmem/shelf/internal/shelftest"
	"github.com/shelfmem/shelf/library"
)

// written is the native answer to a write by path or a restore.
type written struct {
	Status  string        `json:"status"`
	Item    shelf.Item    `json:"item"`
	Version shelf.Version `json:"version"`
}

// send makes a request with the master key. size is the Content-Length:
// -1 sends the body chunked.
func send(t *testing.T, e *shelftest.Env, method, path, ct string, body io.Reader, size int64) *shelftest.Response {
	t.Helper()
	return sendKey(t, e, master, method, path, ct, body, size)
}

func sendKey(t *testing.T, e *shelftest.Env, key, method, path, ct string, body io.Reader, size int64) *shelftest.Response {
	t.Helper()
	if body != nil {
		body = struct{ io.Reader }{body} // hide the type, so the client never guesses a length
	}
	req, err := http.NewRequest(method, e.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	if body == nil {
		req.ContentLength = 0
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	// no redirects: a write must never turn into another request
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &shelftest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// putFile writes data at path with a raw PUT.
func putFile(t *testing.T, e *shelftest.Env, path, ct string, data []byte) (*shelftest.Response, written) {
	t.Helper()
	r := send(t, e, "PUT", "/v1/files/"+path, ct, bytes.NewReader(data), int64(len(data)))
	var w written
	if r.Status < 300 {
		r.JSON(t, &w)
	}
	return r, w
}

// form is a multipart body: fields first, then the file part (if name is
// not ""), streamed through a pipe.
func form(fields map[string]string, name, ct string, file io.Reader) (string, io.Reader) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for k, v := range fields {
			if err := mw.WriteField(k, v); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		if name != "" {
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename="upload"`, name))
			if ct != "" {
				h.Set("Content-Type", ct)
			}
			w, err := mw.CreatePart(h)
			if err == nil {
				_, err = io.Copy(w, file)
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(mw.Close())
	}()
	return mw.FormDataContentType(), pr
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

// content reads a file's head content and checks it is want.
func checkContent(t *testing.T, e *shelftest.Env, id string, want []byte, ct string) {
	t.Helper()
	r := e.Do(t, "GET", "/v1/items/"+id+"/content", master, nil)
	if r.Status != 200 || !bytes.Equal(r.Body, want) {
		t.Fatalf("content of %s = %d, %d bytes (sha256 %s), want %d bytes (sha256 %s)", id, r.Status, len(r.Body), sum(r.Body), len(want), sum(want))
	}
	if got := r.Header.Get("Content-Type"); got != ct {
		t.Fatalf("Content-Type of %s = %q, want %q", id, got, ct)
	}
}

// rootNames lists the names under the default library's root.
func rootNames(t *testing.T, e *shelftest.Env) []string {
	t.Helper()
	var page struct {
		Items []shelf.Item `json:"items"`
	}
	e.Do(t, "GET", "/v1/items/root/children?limit=1000", master, nil).JSON(t, &page)
	var names []string
	for _, it := range page.Items {
		names = append(names, it.Name)
	}
	return names
}

func TestVersionsAPI(t *testing.T) {
	e := shelftest.New(t, library.Config{})
	v1, v2 := []byte("the first words"), []byte("the second, longer words")
	r, w := putFile(t, e, "docs/a.txt", "", v1)
	if r.Status != 201 || w.Version.Number != 1 {
		t.Fatalf("v1 = %d %s", r.Status, r.Body)
	}
	id := w.Item.ID
	if r, w = putFile(t, e, "docs/a.txt", "text/markdown", v2); r.Status != 200 || w.Status != "indexed" || w.Version.Number != 2 || w.Item.ID != id {
		t.Fatalf("v2 = %d %s", r.Status, r.Body)
	}
	var list struct {
		Versions []shelf.Version `json:"versions"`
	}
	e.Do(t, "GET", "/v1/items/"+id+"/versions", master, nil).JSON(t, &list)
	if len(list.Versions) != 2 || list.Versions[0].Number != 2 || list.Versions[1].Number != 1 ||
		list.Versions[0].Hash != sum(v2) || list.Versions[1].Hash != sum(v1) ||
		list.Versions[1].Size != int64(len(v1)) || list.Versions[0].ContentType != "text/markdown" ||
		list.Versions[1].ContentType != "text/plain" || list.Versions[0].ItemID != id {
		t.Fatalf("versions = %+v", list.Versions)
	}
	// Any version's bytes, by path or by query.
	for n, want := range map[int][]byte{1: v1, 2: v2} {
		r := e.Do(t, "GET", fmt.Sprintf("/v1/items/%s/versions/%d/content", id, n), master, nil)
		if r.Status != 200 || !bytes.Equal(r.Body, want) || r.Header.Get("Etag") != `"`+sum(want)+`"` {
			t.Fatalf("version %d = %d %q %s", n, r.Status, r.Body, r.Header.Get("Etag"))
		}
		if r := e.Do(t, "GET", fmt.Sprintf("/v1/items/%s/content?version=%d", id, n), master, nil); !bytes.Equal(r.Body, want) {
			t.Fatalf("?version=%d = %q", n, r.Body)
		}
	}
	// Restoring v1 makes v3 with v1's bytes and type; v1 and v2 stay.
	r = e.Do(t, "POST", "/v1/items/"+id+"/versions/1/restore", master, nil)
	r.JSON(t, &w)
	if r.Status != 200 || w.Status != "indexed" || w.Version.Number != 3 || w.Item.Head != 3 || w.Version.Hash != sum(v1) ||
		w.Item.Hash != sum(v1) || w.Version.ContentType != "text/plain" {
		t.Fatalf("restore = %d %s", r.Status, r.Body)
	}
	checkContent(t, e, id, v1, "text/plain")
	e.Do(t, "GET", "/v1/items/"+id+"/versions", master, nil).JSON(t, &list)
	if len(list.Versions) != 3 || list.Versions[0].Number != 3 || list.Versions[0].Hash != sum(v1) || list.Versions[1].Hash != sum(v2) || list.Versions[2].Hash != sum(v1) {
		t.Fatalf("versions after restore = %+v", list.Versions)
	}
	// Restoring the head's bytes, from the head or from v1, is unchanged.
	for _, n := range []int{3, 1} {
		r = e.Do(t, "POST", fmt.Sprintf("/v1/items/%s/versions/%d/restore", id, n), master, nil)
		r.JSON(t, &w)
		if r.Status != 200 || w.Status != "unchanged" || w.Version.Number != 3 || w.Item.Head != 3 {
			t.Fatalf("restore %d onto equal bytes = %d %s", n, r.Status, r.Body)
		}
	}
	// Refusals.
	docs := w.Item.ParentID
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"POST", "/v1/items/" + id + "/versions/9/restore", 404},
		{"GET", "/v1/items/" + id + "/versions/9/content", 404},
		{"GET", "/v1/items/" + id + "/versions/0/content", 400},
		{"POST", "/v1/items/" + id + "/versions/x/restore", 400},
		{"POST", "/v1/items/" + id + "/versions/-1/restore", 400},
		{"GET", "/v1/items/0197a000-0000-7000-8000-000000000000/versions", 404},
		{"GET", "/v1/items/root/versions", 400},
		{"GET", "/v1/items/" + docs + "/versions", 400},
		{"POST", "/v1/items/" + docs + "/versions/1/restore", 400},
		{"GET", "/v1/items/" + docs + "/versions/1/content", 400},
	} {
		if r := e.Do(t, c.method, c.path, master, nil); r.Status != c.status {
			t.Errorf("%s %s = %d %s, want %d", c.method, c.path, r.Status, r.Body, c.status)
		}
	}
	// A read key lists and reads but does not restore; another workspace sees nothing.
	_, reader := e.Workspace(t, "other", shelf.ScopeRead)
	if r := e.Do(t, "GET", "/v1/items/"+id+"/versions", reader, nil); r.Status != 404 {
		t.Errorf("foreign versions = %d", r.Status)
	}
	if r := e.Do(t, "POST", "/v1/items/"+id+"/versions/1/restore", reader, nil); r.Status != 403 {
		t.Errorf("read key restoring = %d", r.Status)
	}
	e.Do(t, "GET", "/v1/items/"+id+"/versions", master, nil).JSON(t, &list)
	if len(list.Versions) != 3 {
		t.Fatalf("refusals changed the history: %+v", list.Versions)
	}
}

func TestWriteFileForms(t *testing.T) {
	e := shelftest.New(t, library.Config{})
	big := randomBytes(3<<20+17, 1)
	html := []byte("<!doctype html><p>hello</p>")
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big.bin":
			w.Header().Set("Content-Type", "application/x-shelf-test")
			w.Write(big)
		case "/page":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write(html)
		default:
			http.NotFound(w, r)
		}
	}))
	defer remote.Close()
	csv := []byte("a,b\n1,\"two\"\n")
	formFields := map[string]string{"note": "ignored", "path": "elsewhere.txt"}
	cases := []struct {
		name, path string
		req        func() *shelftest.Response
		want       []byte
		ct         string
	}{
		{"raw with type", "raw/deep/a/file.bin", func() *shelftest.Response {
			return send(t, e, "PUT", "/v1/files/raw/deep/a/file.bin", "application/x-custom; v=1", bytes.NewReader(big), int64(len(big)))
		}, big, "application/x-custom; v=1"},
		{"raw chunked, type inferred", "raw/notes.txt", func() *shelftest.Response {
			return send(t, e, "PUT", "/v1/files/raw/notes.txt", "", strings.NewReader("notes"), -1)
		}, []byte("notes"), "text/plain"},
		{"raw octet-stream, type inferred", "raw/page.html", func() *shelftest.Response {
			return send(t, e, "PUT", "/v1/files/raw/page.html", "application/octet-stream", bytes.NewReader(html), int64(len(html)))
		}, html, "text/html"},
		{"multipart", "form/pic.png", func() *shelftest.Response {
			ct, body := form(formFields, "file", "image/png", bytes.NewReader(big))
			return send(t, e, "POST", "/v1/files/form/pic.png", ct, body, -1)
		}, big, "image/png"},
		{"multipart octet-stream", "form/data.json", func() *shelftest.Response {
			ct, body := form(nil, "file", "application/octet-stream", strings.NewReader(`{"a":1}`))
			return send(t, e, "POST", "/v1/files/form/data.json", ct, body, -1)
		}, []byte(`{"a":1}`), "application/json"},
		{"data URL base64", "data/table.csv", func() *shelftest.Response {
			return send(t, e, "POST", "/v1/files/data/table.csv", "application/json", jsonBody(map[string]any{
				"before": []any{1, map[string]any{"x": nil}}, "url": "data:text/csv;base64," + base64.StdEncoding.EncodeToString(csv), "z": "after"}), -1)
		}, csv, "text/csv"},
		{"data URL base64, big", "data/big.bin", func() *shelftest.Response {
			return send(t, e, "POST", "/v1/files/data/big.bin", "application/json; charset=utf-8",
				strings.NewReader(`{"url":"data:;base64,`+base64.StdEncoding.EncodeToString(big)+`"}`), -1)
		}, big, "text/plain; charset=US-ASCII"},
		{"data URL percent, escaped JSON", "data/hello.txt", func() *shelftest.Response {
			return send(t, e, "POST", "/v1/files/data/hello.txt", "application/json",
				strings.NewReader(`{"u\u0072l" : "data:text/plain;charset=utf-8,h\u00e9llo%20w%C3%B6rld\/\"q\"\\", "n": -1.5e3}`), -1)
		}, []byte(`héllo wörld/"q"\`), "text/plain; charset=utf-8"},
		{"http URL", "fetched/big.bin", func() *shelftest.Response {
			return send(t, e, "POST", "/v1/files/fetched/big.bin", "application/json", jsonBody(map[string]string{"url": remote.URL + "/big.bin"}), -1)
		}, big, "application/x-shelf-test"},
		{"uri-list", "fetched/page.html", func() *shelftest.Response {
			return send(t, e, "POST", "/v1/files/fetched/page.html", "text/uri-list", strings.NewReader("# the page\r\n"+remote.URL+"/page\r\n\r\n# end\r\n"), -1)
		}, html, "text/html; charset=utf-8"},
		{"uri-list data URL", "data/list.txt", func() *shelftest.Response {
			return send(t, e, "POST", "/v1/files/data/list.txt", "text/uri-list", strings.NewReader("data:text/plain,from%20a%20list\n"), -1)
		}, []byte("from a list"), "text/plain"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.req()
			var w written
			if r.Status != 201 {
				t.Fatalf("status %d %s", r.Status, r.Body)
			}
			r.JSON(t, &w)
			if w.Status != "indexed" || w.Item.Path != c.path || w.Item.Type != shelf.TypeFile || w.Version.Number != 1 ||
				w.Item.Hash != sum(c.want) || w.Item.Size != int64(len(c.want)) || w.Version.Hash != sum(c.want) || w.Item.ContentType != c.ct {
				t.Fatalf("answer = %s", r.Body)
			}
			if loc := r.Header.Get("Location"); loc != "/v1/items/"+w.Item.ID {
				t.Errorf("Location = %q", loc)
			}
			checkContent(t, e, w.Item.ID, c.want, c.ct)
			// The folders above it were made.
			parent, want := w.Item.ParentID, c.path
			for strings.Contains(want, "/") {
				want = want[:strings.LastIndexByte(want, '/')]
				var folder shelf.Item
				e.Do(t, "GET", "/v1/items/"+parent, master, nil).JSON(t, &folder)
				if folder.Type != shelf.TypeFolder || folder.Path != want {
					t.Fatalf("parent = %+v, want folder %q", folder, want)
				}
				parent = folder.ParentID
			}
		})
	}
	// Writing again makes version 2; the same bytes again are unchanged.
	again := func(form string, data []byte) *shelftest.Response {
		switch form {
		case "raw":
			return send(t, e, "PUT", "/v1/files/raw/deep/a/file.bin", "", bytes.NewReader(data), int64(len(data)))
		case "multipart":
			ct, body := form2(data)
			return send(t, e, "POST", "/v1/files/raw/deep/a/file.bin", ct, body, -1)
		default:
			return send(t, e, "POST", "/v1/files/raw/deep/a/file.bin", "application/json",
				jsonBody(map[string]string{"url": "data:application/octet-stream;base64," + base64.StdEncoding.EncodeToString(data)}), -1)
		}
	}
	head := int64(1)
	for i, f := range []string{"raw", "multipart", "data"} {
		data := append([]byte(f), big[:1000+i]...)
		r := again(f, data)
		var w written
		r.JSON(t, &w)
		head++
		if r.Status != 200 || w.Status != "indexed" || w.Version.Number != head || w.Item.Head != head || w.Item.Hash != sum(data) ||
			w.Item.ContentType != "application/octet-stream" {
			t.Fatalf("%s again = %d %s, want version %d", f, r.Status, r.Body, head)
		}
		r = again(f, data)
		r.JSON(t, &w)
		if r.Status != 200 || w.Status != "unchanged" || w.Version.Number != head || w.Item.Head != head {
			t.Fatalf("%s with the same bytes = %d %s", f, r.Status, r.Body)
		}
	}
	// Another library of the workspace, by id.
	var src shelf.Library
	e.Do(t, "POST", "/v1/sources", master, map[string]any{"name": "uploads"}).JSON(t, &src)
	r := send(t, e, "PUT", "/v1/files/in/source.txt?library="+src.ID, "", strings.NewReader("there"), 5)
	var w written
	r.JSON(t, &w)
	if r.Status != 201 || w.Item.LibraryID != src.ID || w.Item.Path != "in/source.txt" {
		t.Fatalf("write into a source = %d %s", r.Status, r.Body)
	}
}

// form2 is a multipart body whose only part is file (Go's default part
// type, application/octet-stream).
func form2(data []byte) (string, io.Reader) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("file", "x.bin")
	fw.Write(data)
	mw.Close()
	return mw.FormDataContentType(), &b
}

func TestWriteFileRefusals(t *testing.T) {
	e := shelftest.New(t, library.Config{})
	if r, _ := putFile(t, e, "dir/f.txt", "", []byte("x")); r.Status != 201 {
		t.Fatalf("setup = %d %s", r.Status, r.Body)
	}
	_, other := e.Workspace(t, "other")
	_, reader := e.Workspace(t, "reader", shelf.ScopeRead)
	otherLib := func() string {
		var l shelf.Library
		e.Do(t, "GET", "/v1/libraries/default", other, nil).JSON(t, &l)
		return l.ID
	}()
	dataURL := func(s string) io.Reader { return jsonBody(map[string]string{"url": s}) }
	many := func(n int) func() (string, io.Reader) {
		return func() (string, io.Reader) {
			fields := map[string]string{}
			for i := range n {
				fields[fmt.Sprint("f", i)] = "v"
			}
			return form(fields, "file", "", strings.NewReader("late"))
		}
	}
	raw := func(s string) func() (string, io.Reader) {
		return func() (string, io.Reader) { return "text/plain", strings.NewReader(s) }
	}
	js := func(s string) func() (string, io.Reader) {
		return func() (string, io.Reader) { return "application/json", strings.NewReader(s) }
	}
	cases := []struct {
		what, method, path string
		body               func() (string, io.Reader)
		status             int
		code               string
	}{
		{"a folder at the path", "PUT", "dir", raw("y"), 400, "invalid"},
		{"a folder at the path, by URL", "POST", "dir", func() (string, io.Reader) { return "application/json", dataURL("data:,y") }, 400, "invalid"},
		{"a file in the way", "PUT", "dir/f.txt/g.txt", raw("y"), 409, "conflict"},
		{"dot-dot", "PUT", "..%2Fx", raw("y"), 400, "invalid"},
		{"dot", "PUT", "a%2F.%2Fb", raw("y"), 400, "invalid"},
		{"empty segment", "PUT", "a%2F%2Fb", raw("y"), 400, "invalid"},
		{"leading slash", "PUT", "%2Fa", raw("y"), 400, "invalid"},
		{"trailing slash", "PUT", "a/", raw("y"), 400, "invalid"},
		{"no path", "PUT", "", raw("y"), 400, "invalid"},
		{"backslash", "PUT", "a%5Cb", raw("y"), 400, "invalid"},
		{"NUL", "PUT", "a%00b", raw("y"), 400, "invalid"},
		{"control character", "PUT", "a%0Ab", raw("y"), 400, "invalid"},
		{"256-byte segment", "PUT", strings.Repeat("x", 256), raw("y"), 400, "invalid"},
		{"device name", "PUT", "a/CON", raw("y"), 400, "invalid"},
		{"bad path before a fetch", "POST", "a%00b", func() (string, io.Reader) { return "application/json", dataURL("http://127.0.0.1:1/") }, 400, "invalid"},
		{"malformed Content-Type", "PUT", "a.txt", func() (string, io.Reader) { return "text/", strings.NewReader("y") }, 400, "invalid"},
		{"unknown library", "PUT", "a.txt?library=0197a000-0000-7000-8000-000000000000", raw("y"), 404, "not_found"},
		{"another workspace's library", "PUT", "a.txt?library=" + otherLib, raw("y"), 404, "not_found"},
		{"POST of another type", "POST", "a.txt", raw("y"), 400, "invalid"},
		{"form without file", "POST", "a.txt", func() (string, io.Reader) { return form(map[string]string{"files": "x"}, "", "", nil) }, 400, "invalid"},
		{"empty form", "POST", "a.txt", func() (string, io.Reader) { return form(nil, "", "", nil) }, 400, "invalid"},
		{"form without boundary", "POST", "a.txt", func() (string, io.Reader) { return "multipart/form-data", strings.NewReader("--x\r\n") }, 400, "invalid"},
		{"form cut short", "POST", "a.txt", func() (string, io.Reader) {
			return "multipart/form-data; boundary=xx", strings.NewReader("--xx\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nhalf a file")
		}, 400, "invalid"},
		{"garbage form", "POST", "a.txt", func() (string, io.Reader) { return "multipart/form-data; boundary=xx", strings.NewReader("nonsense") }, 400, "invalid"},
		{"1001 parts", "POST", "a.txt", many(1000), 400, "invalid"},
		{"fields too large", "POST", "a.txt", func() (string, io.Reader) {
			return form(map[string]string{"big": strings.Repeat("x", 1<<20+1)}, "file", "", strings.NewReader("y"))
		}, 413, "too_large"},
		{"malformed base64", "POST", "a.txt", func() (string, io.Reader) { return "application/json", dataURL("data:text/plain;base64,@@@@") }, 400, "invalid"},
		{"malformed percent", "POST", "a.txt", func() (string, io.Reader) { return "application/json", dataURL("data:,50%zz") }, 400, "invalid"},
		{"data URL without comma", "POST", "a.txt", func() (string, io.Reader) { return "application/json", dataURL("data:text/plain") }, 400, "invalid"},
		{"data URL bad media type", "POST", "a.txt", func() (string, io.Reader) { return "application/json", dataURL("data:a b/c,x") }, 400, "invalid"},
		{"file URL", "POST", "a.txt", func() (string, io.Reader) { return "application/json", dataURL("file:///etc/passwd") }, 400, "invalid"},
		{"ftp URL", "POST", "a.txt", func() (string, io.Reader) { return "application/json", dataURL("ftp://example.com/x") }, 400, "invalid"},
		{"ftp URL in a list", "POST", "a.txt", func() (string, io.Reader) { return "text/uri-list", strings.NewReader("ftp://example.com/x\n") }, 400, "invalid"},
		{"empty URL", "POST", "a.txt", func() (string, io.Reader) { return "application/json", dataURL("") }, 400, "invalid"},
		{"URL too long", "POST", "a.txt", func() (string, io.Reader) {
			return "application/json", dataURL("https://example.com/" + strings.Repeat("a", 9000))
		}, 400, "invalid"},
		{"JSON without url", "POST", "a.txt", js(`{"uri":"data:,x"}`), 400, "invalid"},
		{"JSON url not a string", "POST", "a.txt", js(`{"url":["data:,x"]}`), 400, "invalid"},
		{"JSON url twice", "POST", "a.txt", js(`{"url":"data:,x","url":"data:,y"}`), 400, "invalid"},
		{"JSON cut short", "POST", "a.txt", js(`{"url":"data:,x"`), 400, "invalid"},
		{"JSON trailing data", "POST", "a.txt", js(`{"url":"data:,x"} {}`), 400, "invalid"},
		{"JSON malformed after", "POST", "a.txt", js(`{"url":"data:,x", "n": 01}`), 400, "invalid"},
		{"JSON array", "POST", "a.txt", js(`["data:,x"]`), 400, "invalid"},
		{"JSON bad escape", "POST", "a.txt", js(`{"url":"data:,\x"}`), 400, "invalid"},
		{"JSON raw newline", "POST", "a.txt", js("{\"url\":\"data:,a\nb\"}"), 400, "invalid"},
		{"JSON invalid UTF-8", "POST", "a.txt", js("{\"url\":\"data:,\xff\"}"), 400, "invalid"},
		{"two URLs in a list", "POST", "a.txt", func() (string, io.Reader) { return "text/uri-list", strings.NewReader("data:,a\ndata:,b\n") }, 400, "invalid"},
		{"empty list", "POST", "a.txt", func() (string, io.Reader) { return "text/uri-list", strings.NewReader("# nothing\n") }, 400, "invalid"},
	}
	for _, c := range cases {
		ct, body := c.body()
		r := send(t, e, c.method, "/v1/files/"+c.path, ct, body, -1)
		if r.Status != c.status || errCode(t, r) != c.code {
			t.Errorf("%s: %s %s = %d %s, want %d %s", c.what, c.method, c.path, r.Status, r.Body, c.status, c.code)
		}
	}
	// A read key cannot write.
	if r := sendKey(t, e, reader, "PUT", "/v1/files/a.txt", "", strings.NewReader("y"), 1); r.Status != 403 {
		t.Errorf("read key writing = %d", r.Status)
	}
	// Paths with empty, . or .. segments are refused, never redirected
	// to a cleaned path that a client would then write to.
	for _, p := range []string{"../x", "a//b", "a/./b", "a/../b", "a/.."} {
		r := send(t, e, "PUT", "/v1/files/"+p, "", strings.NewReader("y"), 1)
		if r.Status != 400 {
			t.Errorf("PUT %s = %d %s, want 400", p, r.Status, r.Body)
		}
	}
	// Nothing of it changed the tree.
	if names := rootNames(t, e); len(names) != 1 || names[0] != "dir" {
		t.Fatalf("root holds %v, want only dir", names)
	}
	var kids struct {
		Items []shelf.Item `json:"items"`
	}
	e.Do(t, "GET", "/v1/items/root/children", master, nil).JSON(t, &kids)
	dir := kids.Items[0]
	e.Do(t, "GET", "/v1/items/"+dir.ID+"/children", master, nil).JSON(t, &kids)
	if dir.Type != shelf.TypeFolder || len(kids.Items) != 1 || kids.Items[0].Name != "f.txt" || kids.Items[0].Head != 1 {
		t.Fatalf("dir = %+v holding %+v", dir, kids.Items)
	}
}

// TestWriteFileInternalURL: a server whose fetcher has no exceptions
// refuses a URL that points inside, without connecting to it.
func TestWriteFileInternalURL(t *testing.T) {
	var hits atomic.Int32
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("secret"))
	}))
	defer local.Close()
	e := shelftest.New(t, library.Config{Fetcher: fetch.New(fetch.Config{})})
	port := local.URL[strings.LastIndexByte(local.URL, ':'):]
	for _, u := range []string{local.URL + "/x", "http://localhost" + port + "/x", "http://[::1]" + port + "/x"} {
		r := send(t, e, "POST", "/v1/files/in.txt", "application/json", jsonBody(map[string]string{"url": u}), -1)
		if r.Status != 403 || errCode(t, r) != "forbidden" {
			t.Errorf("%s = %d %s, want 403", u, r.Status, r.Body)
		}
		r = send(t, e, "POST", "/v1/files/in.txt", "text/uri-list", strings.NewReader(u+"\r\n"), -1)
		if r.Status != 403 {
			t.Errorf("%s in a list = %d %s, want 403", u, r.Status, r.Body)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the local listener received %d requests", n)
	}
	if names := rootNames(t, e); len(names) != 0 {
		t.Fatalf("root holds %v", names)
	}
}

// blockingReader hands out head, then blocks until released (or a
// timeout), then hands out the rest: a server that waits for the whole
// body before answering makes the request fail.
type blockingReader struct {
	head, rest io.Reader
	release    chan struct{}
	read       atomic.Int64
}

func (b *blockingReader) Read(p []byte) (int, error) {
	n, err := b.head.Read(p)
	if err == io.EOF {
		select {
		case <-b.release:
		case <-time.After(10 * time.Second):
			return 0, errors.New("the server waited for the whole body")
		}
		n, err = b.rest.Read(p)
	}
	b.read.Add(int64(n))
	return n, err
}

func TestWriteFileLimits(t *testing.T) {
	const limit = 1 << 20
	e := shelftest.New(t, library.Config{MaxFileSize: limit})
	over := randomBytes(2<<20, 2)
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("chunked") {
			w.Write(over[:1000])
			w.(http.Flusher).Flush() // no Content-Length
			w.Write(over[1000:])
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(over)))
		w.Write(over)
	}))
	defer remote.Close()

	// A declared length over the limit is refused before the body is read.
	br := &blockingReader{head: bytes.NewReader(over[:64<<10]), rest: bytes.NewReader(over[64<<10:]), release: make(chan struct{})}
	r := send(t, e, "PUT", "/v1/files/declared.bin", "", br, int64(len(over)))
	close(br.release)
	if r.Status != 413 || errCode(t, r) != "too_large" {
		t.Fatalf("declared 2 MiB = %d %s", r.Status, r.Body)
	}
	if n := br.read.Load(); n >= int64(len(over)) {
		t.Fatalf("the whole body was read (%d bytes)", n)
	}
	// The limit itself fits.
	if r, w := putFile(t, e, "exact.bin", "", over[:limit]); r.Status != 201 || w.Item.Size != limit {
		t.Fatalf("exactly the limit = %d %s", r.Status, r.Body)
	}
	r = send(t, e, "PUT", "/v1/files/exact-chunked.bin", "", bytes.NewReader(over[:limit]), -1)
	if r.Status != 201 {
		t.Fatalf("exactly the limit, chunked = %d %s", r.Status, r.Body)
	}
	// Every form is cut off while it streams.
	for _, c := range []struct {
		what string
		req  func() *shelftest.Response
	}{
		{"raw chunked", func() *shelftest.Response {
			return send(t, e, "PUT", "/v1/files/big.bin", "", bytes.NewReader(over), -1)
		}},
		{"raw one byte over, chunked", func() *shelftest.Response {
			return send(t, e, "PUT", "/v1/files/big.bin", "", bytes.NewReader(over[:limit+1]), -1)
		}},
		{"multipart", func() *shelftest.Response {
			ct, body := form(map[string]string{"a": "b"}, "file", "", bytes.NewReader(over))
			return send(t, e, "POST", "/v1/files/big.bin", ct, body, -1)
		}},
		{"multipart with a length", func() *shelftest.Response {
			ct, body := form2(over)
			b, _ := io.ReadAll(body)
			return send(t, e, "POST", "/v1/files/big.bin", ct, bytes.NewReader(b), int64(len(b)))
		}},
		{"data URL", func() *shelftest.Response {
			return send(t, e, "POST", "/v1/files/big.bin", "application/json",
				strings.NewReader(`{"url":"data:;base64,`+base64.StdEncoding.EncodeToString(over)+`"}`), -1)
		}},
		{"data URL in a list", func() *shelftest.Response {
			return send(t, e, "POST", "/v1/files/big.bin", "text/uri-list",
				strings.NewReader(`data:;base64,`+base64.StdEncoding.EncodeToString(over)), -1)
		}},
		{"fetched with a length", func() *shelftest.Response {
			return send(t, e, "POST", "/v1/files/big.bin", "application/json", jsonBody(map[string]string{"url": remote.URL + "/big"}), -1)
		}},
		{"fetched chunked", func() *shelftest.Response {
			return send(t, e, "POST", "/v1/files/big.bin", "application/json", jsonBody(map[string]string{"url": remote.URL + "/big?chunked=1"}), -1)
		}},
	} {
		if r := c.req(); r.Status != 413 || errCode(t, r) != "too_large" {
			t.Errorf("%s = %d %s, want 413", c.what, r.Status, r.Body)
		}
	}
	if names := rootNames(t, e); len(names) != 2 || names[0] != "exact-chunked.bin" || names[1] != "exact.bin" {
		t.Fatalf("root holds %v", names)
	}
}

// TestWriteFileMemory streams 64 MiB bodies that the test never holds
// either, and checks the server's heap stays flat: the maximum HeapInuse
// sampled during each upload stays within 32 MiB of the level before it.
func TestWriteFileMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 64 MiB bodies")
	}
	const size = 64 << 20
	e := shelftest.New(t, library.Config{})
	// source returns a fresh 64 MiB stream and the hash it will have.
	source := func(seed byte) (io.Reader, func() string) {
		h := sha256.New()
		r := io.TeeReader(io.LimitReader(rand.NewChaCha8([32]byte{seed}), size), h)
		return r, func() string { return hex.EncodeToString(h.Sum(nil)) }
	}
	measure := func(what string, upload func() *shelftest.Response) *shelftest.Response {
		t.Helper()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		var peak atomic.Uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
			}
		}()
		r := upload()
		close(stop)
		wg.Wait()
		growth := int64(peak.Load()) - int64(base)
		t.Logf("%s: heap in use peaked %.1f MiB over the %.1f MiB before", what, float64(growth)/(1<<20), float64(base)/(1<<20))
		if growth > 32<<20 {
			t.Errorf("%s: heap grew by %d MiB while streaming %d MiB", what, growth>>20, size>>20)
		}
		return r
	}
	check := func(what string, r *shelftest.Response, hash string) {
		t.Helper()
		var w written
		if r.Status != 201 {
			t.Fatalf("%s = %d %s", what, r.Status, r.Body)
		}
		r.JSON(t, &w)
		if w.Item.Size != size || w.Item.Hash != hash {
			t.Fatalf("%s: size %d sha256 %s, want %d %s", what, w.Item.Size, w.Item.Hash, size, hash)
		}
	}

	body, hash := source(1)
	r := measure("raw", func() *shelftest.Response { return send(t, e, "PUT", "/v1/files/raw.bin", "", body, size) })
	check("raw", r, hash())

	body, hash = source(2)
	pr, pw := io.Pipe()
	go func() {
		enc := base64.NewEncoder(base64.StdEncoding, pw)
		_, err := io.Copy(enc, body)
		if err == nil {
			err = enc.Close()
		}
		pw.CloseWithError(err)
	}()
	js := io.MultiReader(strings.NewReader(`{"name": "big", "url": "data:application/x-test;base64,`), pr, strings.NewReader(`", "tags": ["a"]}`))
	r = measure("data URL", func() *shelftest.Response {
		return send(t, e, "POST", "/v1/files/data.bin", "application/json", js, -1)
	})
	check("data URL", r, hash())

	body, hash = source(3)
	ct, mp := form(map[string]string{"note": "n"}, "file", "", body)
	r = measure("multipart", func() *shelftest.Response { return send(t, e, "POST", "/v1/files/form.bin", ct, mp, -1) })
	check("multipart", r, hash())
}

func TestCreateSource(t *testing.T) {
	e := shelftest.New(t, library.Config{})
	r := e.Do(t, "POST", "/v1/sources", master, map[string]any{"name": "Team Drive", "type": "gdrive"})
	var drive shelf.Library
	r.JSON(t, &drive)
	if r.Status != 201 || drive.ID == "" || drive.Name != "Team Drive" || drive.Kind != shelf.KindSource || drive.SourceType != "gdrive" || drive.RootID == "" {
		t.Fatalf("create = %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "POST", "/v1/sources", master, map[string]any{"name": "Team Drive", "type": "api"}); r.Status != 409 || errCode(t, r) != "conflict" {
		t.Fatalf("duplicate = %d %s", r.Status, r.Body)
	}
	r = e.Do(t, "POST", "/v1/sources", master, map[string]any{"name": "Scripts"})
	var api shelf.Library
	r.JSON(t, &api)
	if r.Status != 201 || api.SourceType != library.SourceAPI {
		t.Fatalf("default type = %d %s", r.Status, r.Body)
	}
	for _, body := range []any{map[string]any{"name": ""}, map[string]any{"name": "x", "type": 3}, "{"} {
		if r := e.Do(t, "POST", "/v1/sources", master, body); r.Status != 400 {
			t.Errorf("create %v = %d %s", body, r.Status, r.Body)
		}
	}
	_, reader := e.Workspace(t, "reader", shelf.ScopeRead)
	if r := e.Do(t, "POST", "/v1/sources", reader, map[string]any{"name": "x"}); r.Status != 403 {
		t.Errorf("read key = %d", r.Status)
	}
	// Ingest lands in the source made here; removal follows its type.
	ctx := e.Context(t)
	for _, src := range []shelf.Library{drive, api} {
		up, err := e.Service.Ingest(ctx, library.Doc{SourceName: src.Name, ExternalID: "doc-1", Content: strings.NewReader("hello"), Size: 5})
		if err != nil {
			t.Fatal(err)
		}
		if up.Source.ID != src.ID || up.Source.SourceType != src.SourceType || up.Item.LibraryID != src.ID {
			t.Fatalf("ingest into %s landed in %+v", src.Name, up.Source)
		}
	}
	rm, err := e.Service.RemoveItems(ctx, library.Selector{ExternalIDs: []string{"doc-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rm.Hidden) != 1 || rm.Hidden[0].Source.ID != drive.ID || len(rm.HardDeleted) != 1 || rm.HardDeleted[0].Source.ID != api.ID {
		t.Fatalf("remove = hidden %v, deleted %v", rm.Hidden, rm.HardDeleted)
	}
}

func TestStatusOfTimeout(t *testing.T) {
	if got := shelfhttp.Status(shelf.Errorf(shelf.ETIMEOUT, "slow")); got != http.StatusGatewayTimeout {
		t.Fatalf("timeout = %d, want 504", got)
	}
}
