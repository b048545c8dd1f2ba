package informer_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	shelf "github.com/shelfmem/shelf"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/shelfmem/shelf/internal/shelftest"
	"github.com/shelfmem/shelf/library"
)

const master = shelftest.MasterKey

type file struct {
	ID                      string  `json:"id"`
	Filename                string  `json:"filename"`
	Path                    string  `json:"path"`
	LibraryID               string  `json:"libraryId"`
	ParentID                *string `json:"parentId"`
	Directory               bool    `json:"directory"`
	ContentType             *string `json:"contentType"`
	Size                    int64   `json:"size"`
	Indexed                 bool    `json:"indexed"`
	IndexedAt               *string `json:"indexedAt"`
	IndexingErroredAt       *string `json:"indexingErroredAt"`
	IndexingErrorMessage    *string `json:"indexingErrorMessage"`
	ModifiedAt              string  `json:"modifiedAt"`
	RemoteURL               *string `json:"remoteUrl"`
	Embedded                bool    `json:"embedded"`
	CanIndex                bool    `json:"canIndex"`
	RunningDescendantsCount *int    `json:"runningDescendantsCount"`
}

type lib struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Slug      string `json:"slug"`
	NaturalID string `json:"naturalId"`
	OwnerID   string `json:"ownerId"`
	Embedded  bool   `json:"embedded"`
	Type      string `json:"type"`
}

type client struct {
	t   *testing.T
	e   *shelftest.Env
	key string
}

// do sends a request and checks its status; out, when set, gets the JSON.
func (c *client) do(method, path string, body any, want int, out any) *shelftest.Response {
	c.t.Helper()
	r := c.e.Do(c.t, method, path, c.key, body)
	if r.Status != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, r.Status, r.Body, want)
	}
	if out != nil {
		r.JSON(c.t, out)
	}
	return r
}

// fails checks an error answer: its status and Boom's shape.
func (c *client) fails(method, path string, body any, want int) {
	c.t.Helper()
	r := c.e.Do(c.t, method, path, c.key, body)
	var b struct {
		StatusCode int    `json:"statusCode"`
		Error      string `json:"error"`
		Message    string `json:"message"`
	}
	if r.Status != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, r.Status, r.Body, want)
	}
	if err := json.Unmarshal(r.Body, &b); err != nil || b.StatusCode != want || b.Error != http.StatusText(want) || b.Message == "" {
		c.t.Fatalf("%s %s: error body %s is not Boom's", method, path, r.Body)
	}
}

func (c *client) raw(method, path, contentType string, body []byte, want int) *shelftest.Response {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.e.URL+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	return &shelftest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func (c *client) put(libID, path, body string, want int) file {
	c.t.Helper()
	var f file
	r := c.raw("PUT", "/api/libraries/"+libID+"/contents/"+path, "text/markdown", []byte(body), want)
	r.JSON(c.t, &f)
	return f
}

func (c *client) get(path string) string {
	c.t.Helper()
	return string(c.raw("GET", path, "", nil, http.StatusOK).Body)
}

// upload makes a native upload session holding data and returns its id.
func (c *client) upload(data []byte) string {
	c.t.Helper()
	var up struct {
		Upload struct {
			ID string `json:"id"`
		} `json:"upload"`
		Parts []struct {
			URL string `json:"upload_url"`
		} `json:"parts"`
	}
	c.do("POST", "/v1/uploads", map[string]any{"size": len(data)}, http.StatusCreated, &up)
	req, _ := http.NewRequest("PUT", up.Parts[0].URL, bytes.NewReader(data))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		c.t.Fatalf("part PUT: %v %v", resp, err)
	}
	resp.Body.Close()
	return up.Upload.ID
}

func newClient(t *testing.T) *client {
	return &client{t: t, e: shelftest.New(t, library.Config{}), key: master}
}

func TestLibraries(t *testing.T) {
	c := newClient(t)
	var my lib
	c.do("POST", "/api/libraries", map[string]any{"name": "Project Documentation", "slug": "my-lib", "description": "docs of the project"}, http.StatusCreated, &my)
	if my.Type != "local" || my.Slug != "my-lib" || my.NaturalID != my.OwnerID+":my-lib" || my.ID == "" {
		t.Fatalf("created %+v", my)
	}
	for _, ref := range []string{my.ID, "my-lib", my.NaturalID} {
		var got lib
		c.do("GET", "/api/libraries/"+url.PathEscape(ref), nil, http.StatusOK, &got)
		if got.ID != my.ID {
			t.Fatalf("GET by %q = %+v", ref, got)
		}
	}
	c.fails("GET", "/api/libraries/someone-else:my-lib", nil, http.StatusNotFound)
	c.do("POST", "/api/libraries", map[string]any{"name": "Assets", "slug": "assets", "embedded": true}, http.StatusCreated, nil)
	c.do("POST", "/api/libraries", map[string]any{"name": "Archive", "description": "old things"}, http.StatusCreated, nil)

	var page struct {
		Links    map[string]map[string]any `json:"_links"`
		Embedded struct {
			Libraries []lib `json:"inf:library"`
		} `json:"_embedded"`
		Start, Count, Total int
	}
	c.do("GET", "/api/libraries", nil, http.StatusOK, &page)
	if page.Total != 2 || page.Count != 2 || page.Embedded.Libraries[0].Name != "Archive" || page.Links["self"]["templated"] != true {
		t.Fatalf("search (embedded left out, by name) = %+v", page)
	}
	c.do("GET", "/api/libraries?q=PROJECT&sort=-name", nil, http.StatusOK, &page)
	if page.Total != 1 || page.Embedded.Libraries[0].ID != my.ID {
		t.Fatalf("search q = %+v", page)
	}
	c.do("GET", "/api/libraries?sort=-name&limit=1&start=1", nil, http.StatusOK, &page)
	if page.Total != 2 || page.Count != 1 || page.Start != 1 || page.Embedded.Libraries[0].Name != "Archive" {
		t.Fatalf("search page = %+v", page)
	}
	var flat []lib
	c.do("GET", "/api/libraries-list", nil, http.StatusOK, &flat)
	if len(flat) != 2 {
		t.Fatalf("libraries-list = %+v", flat)
	}
	var upd lib
	c.do("PATCH", "/api/libraries/my-lib", map[string]any{"name": "Docs", "embedded": true}, http.StatusOK, &upd)
	if upd.Name != "Docs" || !upd.Embedded {
		t.Fatalf("update = %+v", upd)
	}
	c.do("PUT", "/api/libraries/my-lib", map[string]any{"embedded": false}, http.StatusOK, nil)

	for _, bad := range []struct {
		method, path string
		body         any
		status       int
	}{
		{"POST", "/api/libraries", map[string]any{}, 400},
		{"POST", "/api/libraries", map[string]any{"name": "x", "type": "google-drive"}, 400},
		{"POST", "/api/libraries", map[string]any{"name": "x", "colour": "red"}, 400},
		{"POST", "/api/libraries", map[string]any{"name": "x", "slug": "my-lib"}, 409},
		{"POST", "/api/libraries", "{", 400},
		{"GET", "/api/libraries?limit=0", nil, 400},
		{"GET", "/api/libraries?start=-1", nil, 400},
		{"GET", "/api/libraries?sort=colour", nil, 400},
		{"GET", "/api/libraries/nope", nil, 404},
		{"GET", "/api/libraries/my-lib/nothing-here", nil, 404},
	} {
		c.fails(bad.method, bad.path, bad.body, bad.status)
	}
	c.do("DELETE", "/api/libraries/my-lib", nil, http.StatusNoContent, nil)
	c.fails("GET", "/api/libraries/"+my.ID, nil, http.StatusNotFound)

	// Another workspace sees none of it; no key is a 401 in Boom's shape.
	_, other := c.e.Workspace(t, "other")
	oc := &client{t: t, e: c.e, key: other}
	oc.do("GET", "/api/libraries", nil, http.StatusOK, &page)
	if page.Total != 0 {
		t.Fatalf("another workspace sees %d libraries", page.Total)
	}
	(&client{t: t, e: c.e}).fails("GET", "/api/libraries", nil, http.StatusUnauthorized)
}

func TestLibraryUpload(t *testing.T) {
	c := newClient(t)
	var my, assets lib
	c.do("POST", "/api/libraries", map[string]any{"name": "Docs", "slug": "my-lib"}, http.StatusCreated, &my)
	c.do("POST", "/api/libraries", map[string]any{"name": "Assets", "slug": "assets", "embedded": true}, http.StatusCreated, &assets)

	data := []byte("# Overview\n\nThe API overview.\n")
	id := c.upload(data)
	var f file
	c.do("POST", "/_library-upload", map[string]any{"uploadId": id, "libraryId": my.ID, "path": "docs/api/overview.md"}, http.StatusCreated, &f)
	if f.Filename != "overview.md" || f.LibraryID != my.ID || f.ParentID == nil || f.Directory || f.Size != int64(len(data)) ||
		*f.ContentType != "text/markdown" || f.Embedded || !f.CanIndex {
		t.Fatalf("upload answer %+v", f)
	}
	if got := c.get("/api/libraries/my-lib/contents/docs/api/overview.md"); got != string(data) {
		t.Fatalf("contents = %q", got)
	}
	// An upload is used once.
	c.fails("POST", "/api/_library-upload", map[string]any{"uploadId": id, "libraryId": my.ID, "path": "again.md"}, http.StatusConflict)
	// No library: the uploads library; an embedded library: indexed at once.
	c.do("POST", "/api/_library-upload", map[string]any{"uploadId": c.upload([]byte("x")), "path": "inbox/x.txt"}, http.StatusCreated, &f)
	var uploads lib
	c.do("GET", "/api/libraries/uploads", nil, http.StatusOK, &uploads)
	if f.LibraryID != uploads.ID {
		t.Fatalf("default library %s, want the uploads library %s", f.LibraryID, uploads.ID)
	}
	c.do("POST", "/api/_library-upload", map[string]any{"uploadId": c.upload([]byte("logo")), "libraryId": "assets", "path": "logo.png"}, http.StatusCreated, &f)
	if !f.Indexed || !f.Embedded || f.CanIndex {
		t.Fatalf("file of an embedded library: %+v", f)
	}
	// Bad inputs change nothing.
	_, otherKey := c.e.Workspace(t, "other")
	foreign := (&client{t: t, e: c.e, key: otherKey}).upload([]byte("foreign"))
	for _, body := range []any{
		map[string]any{"uploadId": foreign, "libraryId": my.ID, "path": "f.txt"},
		map[string]any{"uploadId": "no-such-upload", "libraryId": my.ID, "path": "f.txt"},
		map[string]any{"uploadId": c.upload([]byte("y")), "libraryId": "nope", "path": "f.txt"},
	} {
		c.fails("POST", "/api/_library-upload", body, http.StatusNotFound)
	}
	for _, body := range []any{
		map[string]any{"libraryId": my.ID},
		map[string]any{"uploadId": c.upload([]byte("z")), "libraryId": my.ID, "path": "../etc/passwd"},
		map[string]any{"uploadId": c.upload([]byte("z")), "libraryId": my.ID, "path": "a\x00b"},
		"[]",
	} {
		c.fails("POST", "/api/_library-upload", body, http.StatusBadRequest)
	}
	var all []file
	c.do("GET", "/api/libraries/my-lib/files?dir=/docs/api", nil, http.StatusOK, &all)
	if len(all) != 1 {
		t.Fatalf("bad uploads left files: %+v", all)
	}
}

func TestFiles(t *testing.T) {
	c := newClient(t)
	var my lib
	c.do("POST", "/api/libraries", map[string]any{"name": "Docs", "slug": "my-lib"}, http.StatusCreated, &my)
	newFile := c.put("my-lib", "docs/new-file.md", "# New Documentation\nThis is a new file.\n", http.StatusCreated)
	if newFile.Filename != "new-file.md" || newFile.Path != "/docs/new-file.md" {
		t.Fatalf("PUT by path = %+v", newFile)
	}
	c.put("my-lib", "docs/new-file.md", "# New Documentation\nUpdated.\n", http.StatusOK)
	c.put("my-lib", "docs/api/overview.md", "# API\n", http.StatusCreated)
	c.put("my-lib", "docs/api/auth.md", "# Auth\n", http.StatusCreated)
	logo := c.raw("PUT", "/api/libraries/my-lib/contents/assets/images/logo.png", "image/png", []byte("\x89PNG fake"), http.StatusCreated)
	c.put("my-lib", "readme.txt", "read me", http.StatusCreated)
	if got := c.get("/api/libraries/my-lib/contents/assets/images/logo.png"); got != "\x89PNG fake" || logo.Status != 201 {
		t.Fatalf("logo = %q", got)
	}

	list := func(query string) []file {
		t.Helper()
		var out []file
		c.do("GET", "/api/libraries/my-lib/files"+query, nil, http.StatusOK, &out)
		return out
	}
	names := func(fs []file) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Filename)
		}
		return out
	}
	if got := names(list("")); !slices.Equal(got, []string{"assets", "docs", "readme.txt"}) {
		t.Fatalf("root listing = %v", got)
	}
	docs := list("?dir=/docs")
	if got := names(docs); !slices.Equal(got, []string{"api", "new-file.md"}) || docs[0].RunningDescendantsCount == nil || !docs[0].Directory {
		t.Fatalf("docs listing = %+v", docs)
	}
	if got := names(list("?parentId=" + docs[0].ID)); !slices.Equal(got, []string{"auth.md", "overview.md"}) {
		t.Fatalf("by parentId = %v", got)
	}
	sortQ := url.QueryEscape(`[{"colId":"filename","sort":"DESC"}]`)
	if got := names(list("?dir=/docs/api&sort=" + sortQ)); !slices.Equal(got, []string{"overview.md", "auth.md"}) {
		t.Fatalf("sorted desc = %v", got)
	}
	if got := names(list("?dir=/docs/api&start=1&end=2")); !slices.Equal(got, []string{"overview.md"}) {
		t.Fatalf("start/end = %v", got)
	}
	if got := names(list("?q=READ")); !slices.Equal(got, []string{"readme.txt"}) {
		t.Fatalf("q = %v", got)
	}
	if got := names(list("?dirOnly=true")); !slices.Equal(got, []string{"assets", "docs"}) {
		t.Fatalf("dirOnly = %v", got)
	}
	var hal struct {
		Embedded struct {
			Files []file `json:"inf:file"`
		} `json:"_embedded"`
		Start, Count, Total int
	}
	c.do("GET", "/api/libraries/my-lib/files-list?limit=3&start=2", nil, http.StatusOK, &hal)
	if hal.Total != 9 || hal.Count != 3 || hal.Embedded.Files[0].Path != "/assets/images/logo.png" {
		t.Fatalf("files-list = %+v", hal)
	}
	for _, q := range []string{"?start=-1", "?end=-5", "?sort=colour", "?sort=%5Bnope",
		"?sort%5B0%5D%5Bsort%5D=asc", "?sort%5B0%5D%5Bcolour%5D=x", "?sort%5Bx%5D=1", "?sort%5B0%5D%5BcolId%5D=nope",
		"?sort=filename&sort%5B0%5D%5BcolId%5D=filename",
		"?dirOnly=maybe", "?dir=/nope", "?dir=/../etc", "?parentId=nope"} {
		want := http.StatusBadRequest
		if strings.HasPrefix(q, "?dir=/nope") || strings.HasPrefix(q, "?parentId") {
			want = http.StatusNotFound
		}
		c.fails("GET", "/api/libraries/my-lib/files"+q, nil, want)
	}

	// F5, F6: get, rename, move, and the refused patches.
	var f file
	c.do("GET", "/api/libraries/my-lib/files/"+newFile.ID, nil, http.StatusOK, &f)
	if docsID := list("")[1].ID; f.Path != "/docs/new-file.md" || f.ParentID == nil || *f.ParentID != docsID {
		t.Fatalf("get = %+v", f)
	}
	c.do("PATCH", "/api/libraries/my-lib/files/"+newFile.ID, []map[string]any{{"op": "replace", "path": "/filename", "value": "new-name.md"}}, http.StatusOK, &f)
	if f.Filename != "new-name.md" || f.Path != "/docs/new-name.md" {
		t.Fatalf("rename = %+v", f)
	}
	api := docs[0]
	c.do("PATCH", "/api/libraries/my-lib/files/"+newFile.ID, []map[string]any{
		{"op": "test", "path": "/filename", "value": "new-name.md"},
		{"op": "replace", "path": "/parentId", "value": api.ID},
		{"op": "replace", "path": "/remoteUrl", "value": "https://drive.google.com/file/d/abc123"},
	}, http.StatusOK, &f)
	if f.Path != "/docs/api/new-name.md" || *f.ParentID != api.ID || *f.RemoteURL != "https://drive.google.com/file/d/abc123" {
		t.Fatalf("move = %+v", f)
	}
	c.do("PATCH", "/api/libraries/my-lib/files/"+newFile.ID, []map[string]any{{"op": "replace", "path": "/parentId", "value": nil}}, http.StatusOK, &f)
	if f.Path != "/new-name.md" || f.ParentID != nil {
		t.Fatalf("move to the root = %+v", f)
	}
	docsDir := list("?dir=/")[1]
	for _, bad := range []struct {
		body   any
		status int
	}{
		{[]map[string]any{{"op": "remove", "path": "/filename"}}, 400},
		{[]map[string]any{{"op": "replace", "path": "/indexed", "value": true}}, 400},
		{[]map[string]any{{"op": "replace", "path": "/ownerId", "value": "x"}}, 400},
		{[]map[string]any{{"op": "replace", "path": "/filename", "value": "../x"}}, 400},
		{[]map[string]any{{"op": "replace", "path": "/size", "value": 1}}, 400},
		{[]map[string]any{{"op": "replace", "path": "/directory", "value": true}}, 400},
		{[]map[string]any{{"op": "replace", "path": "/modifiedAt", "value": "yesterday"}}, 400},
		{[]map[string]any{{"op": "replace", "path": "/filename", "value": "readme.txt"}}, 409},
		{[]map[string]any{{"op": "test", "path": "/filename", "value": "other.md"}, {"op": "replace", "path": "/filename", "value": "changed.md"}}, 409},
		{[]map[string]any{}, 400},
		{`{"op":"replace"}`, 400},
	} {
		c.fails("PATCH", "/api/libraries/my-lib/files/"+newFile.ID, bad.body, bad.status)
	}
	c.fails("PATCH", "/api/libraries/my-lib/files/"+docsDir.ID, []map[string]any{{"op": "replace", "path": "/parentId", "value": api.ID}}, 400)
	c.do("GET", "/api/libraries/my-lib/files/"+newFile.ID, nil, http.StatusOK, &f)
	if f.Filename != "new-name.md" || f.Path != "/new-name.md" {
		t.Fatalf("refused patches changed the file: %+v", f)
	}

	// F8: contents by id, raw and multipart.
	if got := c.get("/api/libraries/my-lib/files/" + newFile.ID + "/contents"); got != "# New Documentation\nUpdated.\n" {
		t.Fatalf("contents by id = %q", got)
	}
	c.raw("PUT", "/api/libraries/my-lib/files/"+newFile.ID+"/contents", "text/markdown", []byte("raw v3"), http.StatusOK)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "new-name.md")
	fw.Write([]byte("multipart v4"))
	mw.Close()
	var v4 file
	c.raw("PUT", "/api/libraries/my-lib/files/"+newFile.ID+"/contents", mw.FormDataContentType(), buf.Bytes(), http.StatusOK).JSON(t, &v4)
	if got := c.get("/api/libraries/my-lib/contents/new-name.md"); got != "multipart v4" || v4.ID != newFile.ID {
		t.Fatalf("after PUT contents: %q, %+v", got, v4)
	}

	// F7: deleting a directory deletes what is in it.
	c.do("DELETE", "/api/libraries/my-lib/files/"+docsDir.ID, nil, http.StatusNoContent, nil)
	c.fails("GET", "/api/libraries/my-lib/files/"+api.ID, nil, http.StatusNotFound)
	c.fails("GET", "/api/libraries/my-lib/contents/docs/api/auth.md", nil, http.StatusNotFound)
	// A file of another library is not found through this one.
	var other lib
	c.do("POST", "/api/libraries", map[string]any{"name": "Other", "slug": "other"}, http.StatusCreated, &other)
	c.fails("GET", "/api/libraries/other/files/"+newFile.ID, nil, http.StatusNotFound)
	c.fails("DELETE", "/api/libraries/other/files/"+newFile.ID, nil, http.StatusNotFound)
}

func TestBulkPatch(t *testing.T) {
	c := newClient(t)
	c.do("POST", "/api/libraries", map[string]any{"name": "Docs", "slug": "my-lib"}, http.StatusCreated, nil)
	for _, p := range []string{"docs/a.md", "docs/guide/b.md", "docs/guide/c.txt", "assets/images/x.png", "assets/images/y.png", "top.md"} {
		c.put("my-lib", p, "content of "+p, http.StatusCreated)
	}
	c.raw("PATCH", "/api/libraries/my-lib/files", "application/json", []byte(`[
		{"op":"replace","path":"/docs/**/*.md/modifiedAt","value":"2024-02-09T12:00:00Z"},
		{"op":"replace","path":"/assets/images/*.png/contentType","value":"image/png"},
		{"op":"replace","path":"/docs/guide/{b,c}.*/remoteUrl","value":"https://example.com/x"}
	]`), http.StatusOK)
	byPath := func() map[string]file {
		var hal struct {
			Embedded struct {
				Files []file `json:"inf:file"`
			} `json:"_embedded"`
		}
		c.do("GET", "/api/libraries/my-lib/files-list?limit=100", nil, http.StatusOK, &hal)
		out := map[string]file{}
		for _, f := range hal.Embedded.Files {
			out[f.Path] = f
		}
		return out
	}
	got := byPath()
	for p, f := range got {
		wantMod := p == "/docs/a.md" || p == "/docs/guide/b.md"
		if (f.ModifiedAt == "2024-02-09T12:00:00.000Z") != wantMod {
			t.Errorf("%s modifiedAt %s", p, f.ModifiedAt)
		}
		wantPNG := strings.HasSuffix(p, ".png")
		if (f.ContentType != nil && *f.ContentType == "image/png") != wantPNG {
			t.Errorf("%s contentType %v", p, f.ContentType)
		}
		wantRemote := p == "/docs/guide/b.md" || p == "/docs/guide/c.txt"
		if (f.RemoteURL != nil) != wantRemote {
			t.Errorf("%s remoteUrl %v", p, f.RemoteURL)
		}
	}
	// Checked whole: a later operation that would fail refuses the
	// request before the earlier ones are written.
	before := byPath()
	for _, bad := range []struct {
		body   string
		status int
	}{
		{`[{"op":"replace","path":"/**/*.md/contentType","value":"text/x"},{"op":"replace","path":"/docs/guide/*/filename","value":"same.md"}]`, 409},
		{`[{"op":"replace","path":"/**/*.md/contentType","value":"text/x"},{"op":"replace","path":"/docs/*.md/indexed","value":true}]`, 400},
		{`[{"op":"add","path":"/docs/*.md/contentType","value":"text/x"}]`, 400},
		{`[{"op":"replace","path":"/docs/*.md/ownerId","value":"x"}]`, 400},
		{`[{"op":"replace","path":"/docs/*.md/size","value":1}]`, 400},
		{`[{"op":"replace","path":"/docs/**.md/contentType","value":"x"}]`, 400},
		{`[{"op":"replace","path":"/../*.md/contentType","value":"x"}]`, 400},
		{`[{"op":"replace","path":"/{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}/contentType","value":"x"}]`, 400},
		{`[{"op":"replace","path":"/**/x/**/y/**/z/**/w/**/v.md/contentType","value":"x"}]`, 400},
		{`[{"op":"replace","path":"/` + strings.Repeat("a", 2000) + `/contentType","value":"x"}]`, 400},
		{`[` + strings.TrimSuffix(strings.Repeat(`{"op":"replace","path":"/x/contentType","value":"x"},`, 101), ",") + `]`, 400},
		{`[]`, 400},
		{`{}`, 400},
	} {
		r := c.e.Do(t, "PATCH", "/api/libraries/my-lib/files", master, []byte(bad.body))
		if r.Status != bad.status {
			t.Fatalf("bulk patch %.80s: %d %s, want %d", bad.body, r.Status, r.Body, bad.status)
		}
	}
	after := byPath()
	for p, f := range before {
		if a, ok := after[p]; !ok || *nilSafe(a.ContentType) != *nilSafe(f.ContentType) || a.Filename != f.Filename {
			t.Fatalf("a refused bulk patch changed %s: %+v → %+v", p, f, a)
		}
	}
	// A glob rename of one file.
	c.raw("PATCH", "/api/libraries/my-lib/files", "application/json", []byte(`[{"op":"replace","path":"/top.md/filename","value":"index.md"}]`), http.StatusOK)
	if _, ok := byPath()["/index.md"]; !ok {
		t.Fatal("bulk rename did not rename")
	}
}

func nilSafe(s *string) *string {
	if s == nil {
		e := ""
		return &e
	}
	return s
}

func TestContentPatch(t *testing.T) {
	c := newClient(t)
	c.do("POST", "/api/libraries", map[string]any{"name": "Docs", "slug": "my-lib"}, http.StatusCreated, nil)
	c.raw("PUT", "/api/libraries/my-lib/contents/conf/app.json", "application/json", []byte(`{"name":"app","tags":["a"],"n":1}`), http.StatusCreated)
	patch := func(body string, want int) {
		t.Helper()
		c.raw("PATCH", "/api/libraries/my-lib/contents/conf/app.json", "application/json-patch+json", []byte(body), want)
	}
	patch(`[{"op":"test","path":"/name","value":"app"},{"op":"replace","path":"/n","value":2},{"op":"add","path":"/tags/-","value":"b"}]`, http.StatusOK)
	var doc map[string]any
	json.Unmarshal([]byte(c.get("/api/libraries/my-lib/contents/conf/app.json")), &doc)
	if doc["n"] != 2.0 || len(doc["tags"].([]any)) != 2 {
		t.Fatalf("after the patch: %v", doc)
	}
	patch(`[{"op":"test","path":"/name","value":"other"},{"op":"replace","path":"/n","value":3}]`, http.StatusConflict)
	patch(`[{"op":"frobnicate","path":"/n","value":3}]`, http.StatusBadRequest)
	patch(`[{"op":"remove","path":"/missing"}]`, http.StatusBadRequest)
	patch(`not json`, http.StatusBadRequest)
	json.Unmarshal([]byte(c.get("/api/libraries/my-lib/contents/conf/app.json")), &doc)
	if doc["n"] != 2.0 {
		t.Fatalf("a refused patch changed the file: %v", doc)
	}
	// A JSON Patch on a file that is not JSON.
	c.put("my-lib", "notes.txt", "hello world", http.StatusCreated)
	c.raw("PATCH", "/api/libraries/my-lib/contents/notes.txt", "application/json-patch+json", []byte(`[{"op":"add","path":"/x","value":1}]`), http.StatusBadRequest)

	// Range replace, SabreDAV's partial update.
	rng := func(spec, body string, want int) {
		t.Helper()
		req, _ := http.NewRequest("PATCH", c.e.URL+"/api/libraries/my-lib/contents/notes.txt", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+master)
		req.Header.Set("Content-Type", "application/x-sabredav-partialupdate")
		if spec != "" {
			req.Header.Set("X-Update-Range", spec)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("range %s: %d %s, want %d", spec, resp.StatusCode, b, want)
		}
	}
	rng("bytes=6-10", "WORLD", http.StatusOK)
	rng("append", "!", http.StatusOK)
	rng("bytes=0-", "HE", http.StatusOK)
	rng("bytes=-1", "?", http.StatusOK)
	if got := c.get("/api/libraries/my-lib/contents/notes.txt"); got != "HEllo WORLD?" {
		t.Fatalf("after range updates: %q", got)
	}
	for _, bad := range []string{"", "bytes=5-1", "bytes=0-2", "bytes=100-104", "lines=1-2", "bytes=a-b", "bytes=-0"} {
		rng(bad, "xyzab", http.StatusBadRequest)
	}
	c.raw("PATCH", "/api/libraries/my-lib/contents/notes.txt", "text/plain", []byte("x"), http.StatusBadRequest)
	if got := c.get("/api/libraries/my-lib/contents/notes.txt"); got != "HEllo WORLD?" {
		t.Fatalf("refused range updates changed the file: %q", got)
	}
	c.fails("GET", "/api/libraries/my-lib/contents/../notes.txt", nil, http.StatusBadRequest)
	c.fails("PATCH", "/api/libraries/my-lib/contents/missing.txt", `[]`, http.StatusNotFound)
}

func TestIndexingControl(t *testing.T) {
	c := newClient(t)
	c.do("POST", "/api/libraries", map[string]any{"name": "Docs", "slug": "my-lib"}, http.StatusCreated, nil)
	good := c.put("my-lib", "docs/a.md", "# A\nalpha words", http.StatusCreated)
	c.put("my-lib", "docs/b.md", "# B\nbeta words", http.StatusCreated)
	poison := c.raw("PUT", "/api/libraries/my-lib/contents/bad.pdf", "application/pdf", []byte("%PDF-1.7 not really"), http.StatusCreated)
	var bad file
	poison.JSON(t, &bad)
	c.e.WaitIndexed(t, master)

	var st struct {
		Indexed              bool    `json:"indexed"`
		IndexedAt            *string `json:"indexedAt"`
		IndexingErroredAt    *string `json:"indexingErroredAt"`
		IndexingErrorMessage *string `json:"indexingErrorMessage"`
	}
	c.do("GET", "/api/libraries/my-lib/files/"+good.ID+"/indexed", nil, http.StatusOK, &st)
	if !st.Indexed || st.IndexedAt == nil || st.IndexingErroredAt != nil {
		t.Fatalf("indexed status = %+v", st)
	}
	c.do("GET", "/api/libraries/my-lib/files/"+bad.ID+"/indexed", nil, http.StatusOK, &st)
	if st.Indexed || st.IndexingErroredAt == nil || st.IndexingErrorMessage == nil {
		t.Fatalf("failed status = %+v", st)
	}
	// F12: retry the failed file; a file without an error is refused.
	var retry map[string]any
	c.do("POST", "/api/libraries/my-lib/files/"+bad.ID+"/_retry-indexing", nil, http.StatusOK, &retry)
	if retry["status"] != "queued" || retry["indexingStartedAt"] == nil {
		t.Fatalf("retry = %v", retry)
	}
	c.e.WaitIndexed(t, master)
	// On a file without an error, a retry changes nothing and says where
	// the file is.
	c.do("POST", "/api/libraries/my-lib/files/"+good.ID+"/_retry-indexing", nil, http.StatusOK, &retry)
	if retry["status"] != "indexed" {
		t.Fatalf("retry of an indexed file = %v", retry)
	}

	// F11: DELETE clears the index (search no longer finds the file), PUT
	// true queues it again.
	c.do("DELETE", "/api/libraries/my-lib/files/"+good.ID+"/indexed", nil, http.StatusNoContent, nil)
	search := func(q string) int {
		var res struct {
			Hits []any `json:"hits"`
		}
		c.do("POST", "/v1/search", map[string]any{"query": q}, http.StatusOK, &res)
		return len(res.Hits)
	}
	if search("alpha") != 0 {
		t.Fatal("cleared file still found")
	}
	c.do("PUT", "/api/libraries/my-lib/files/"+good.ID+"/indexed", map[string]any{"indexed": true}, http.StatusOK, nil)
	c.e.WaitIndexed(t, master)
	if search("alpha") != 1 {
		t.Fatal("re-indexed file not found")
	}
	c.do("PUT", "/api/libraries/my-lib/files/"+good.ID+"/indexed", map[string]any{"indexed": false}, http.StatusOK, &st)
	if st.Indexed {
		t.Fatalf("PUT indexed false = %+v", st)
	}
	// F10: bulk, by globs.
	var n map[string]int
	c.do("POST", "/api/libraries/my-lib/files/_bulk-index", map[string]any{"files": []string{"/docs/**/*.md", "/assets/*.pdf"}, "value": true}, http.StatusOK, &n)
	if n["updated"] != 2 {
		t.Fatalf("bulk index = %v", n)
	}
	c.e.WaitIndexed(t, master)
	if search("alpha beta") != 2 {
		t.Fatal("bulk-indexed files not found")
	}
	c.do("POST", "/api/libraries/my-lib/files/_bulk-index", map[string]any{"files": []string{"/docs/b.md"}, "value": false}, http.StatusOK, &n)
	if n["updated"] != 1 || search("beta") != 0 {
		t.Fatalf("bulk clear = %v", n)
	}
	for _, body := range []any{
		map[string]any{"files": []string{"/docs/*.md"}},
		map[string]any{"value": true},
		map[string]any{"files": []string{"/docs/**.md"}, "value": true},
		map[string]any{"files": []string{}, "value": true},
	} {
		c.fails("POST", "/api/libraries/my-lib/files/_bulk-index", body, http.StatusBadRequest)
	}
	c.fails("PUT", "/api/libraries/my-lib/files/"+good.ID+"/indexed", map[string]any{}, http.StatusBadRequest)
	// A directory's running count.
	var root []file
	c.do("GET", "/api/libraries/my-lib/files", nil, http.StatusOK, &root)
	for _, f := range root {
		if f.Directory && (f.RunningDescendantsCount == nil || *f.RunningDescendantsCount != 0) {
			t.Fatalf("directory after indexing: %+v", f)
		}
	}
}

// TestSkippedFiles: a file whose type holds no text (an image, a binary)
// is skipped, never failed: canIndex false, no indexingErroredAt. Asking
// for its indexing (F11 PUT, F10) records the request and reads indexed;
// a retry is a no-op; /v1/index/status counts it as skipped.
func TestSkippedFiles(t *testing.T) {
	c := newClient(t)
	c.do("POST", "/api/libraries", map[string]any{"name": "Docs", "slug": "my-lib"}, http.StatusCreated, nil)
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
	var img, bin, md file
	c.raw("PUT", "/api/libraries/my-lib/contents/assets/logo.png", "image/png", []byte(png), http.StatusCreated).JSON(t, &img)
	c.raw("PUT", "/api/libraries/my-lib/contents/assets/blob.bin", "application/octet-stream", []byte{0, 1, 2, 3}, http.StatusCreated).JSON(t, &bin)
	c.raw("PUT", "/api/libraries/my-lib/contents/assets/notes.md", "text/markdown", []byte("# Notes\ngamma words"), http.StatusCreated).JSON(t, &md)
	c.e.WaitIndexed(t, master)
	get := func(id string) file {
		var f file
		c.do("GET", "/api/libraries/my-lib/files/"+id, nil, http.StatusOK, &f)
		return f
	}
	for _, id := range []string{img.ID, bin.ID} {
		f := get(id)
		if f.CanIndex || f.Indexed || f.IndexedAt != nil || f.IndexingErroredAt != nil || f.IndexingErrorMessage != nil {
			t.Fatalf("a file with no text after upload: %+v", f)
		}
	}
	if f := get(md.ID); !f.CanIndex || !f.Indexed {
		t.Fatalf("a markdown file after upload: %+v", f)
	}
	status := func() map[string]any {
		var st map[string]any
		c.do("GET", "/v1/index/status", nil, http.StatusOK, &st)
		return st
	}
	if st := status(); st["skipped"] != 2.0 || st["failed"] != 0.0 || st["indexed"] != 1.0 {
		t.Fatalf("/v1/index/status = %v", st)
	}

	// F11 PUT true: the request is recorded and the file reads indexed;
	// canIndex false says why nothing is searchable.
	var st struct {
		Indexed           bool    `json:"indexed"`
		State             string  `json:"state"`
		IndexedAt         *string `json:"indexedAt"`
		IndexingErroredAt *string `json:"indexingErroredAt"`
	}
	c.do("PUT", "/api/libraries/my-lib/files/"+img.ID+"/indexed", map[string]any{"indexed": true}, http.StatusOK, &st)
	if !st.Indexed || st.State != "skipped" || st.IndexedAt == nil || st.IndexingErroredAt != nil {
		t.Fatalf("PUT indexed on an image = %+v", st)
	}
	c.e.WaitIndexed(t, master)
	if f := get(img.ID); !f.Indexed || f.CanIndex || f.IndexingErroredAt != nil {
		t.Fatalf("image after PUT indexed: %+v", f)
	}
	// F12 on it: a no-op with its status.
	var retry map[string]any
	c.do("POST", "/api/libraries/my-lib/files/"+img.ID+"/_retry-indexing", nil, http.StatusOK, &retry)
	if retry["status"] != "skipped" {
		t.Fatalf("retry of a skipped file = %v", retry)
	}
	// F11 DELETE clears the mark; F10 follows the same rule per file: the
	// binary and the image are marked, the markdown file is queued and
	// indexed again.
	c.do("DELETE", "/api/libraries/my-lib/files/"+img.ID+"/indexed", nil, http.StatusNoContent, nil)
	if f := get(img.ID); f.Indexed || f.IndexedAt != nil {
		t.Fatalf("image after DELETE indexed: %+v", f)
	}
	var n map[string]int
	c.do("POST", "/api/libraries/my-lib/files/_bulk-index", map[string]any{"files": []string{"/assets/*"}, "value": true}, http.StatusOK, &n)
	if n["updated"] != 3 {
		t.Fatalf("bulk index = %v", n)
	}
	c.e.WaitIndexed(t, master)
	for _, id := range []string{img.ID, bin.ID, md.ID} {
		if f := get(id); !f.Indexed || f.IndexingErroredAt != nil || f.CanIndex != (id == md.ID) {
			t.Fatalf("after bulk index: %+v", f)
		}
	}
	if st := status(); st["skipped"] != 2.0 || st["failed"] != 0.0 || st["indexed"] != 1.0 {
		t.Fatalf("/v1/index/status after bulk index = %v", st)
	}
	var res struct {
		Hits []any `json:"hits"`
	}
	c.do("POST", "/v1/search", map[string]any{"query": "gamma"}, http.StatusOK, &res)
	if len(res.Hits) != 1 {
		t.Fatalf("search after bulk index: %d hits", len(res.Hits))
	}
}

func TestSnapshots(t *testing.T) {
	c := newClient(t)
	c.do("POST", "/api/libraries", map[string]any{"name": "Docs", "slug": "my-lib"}, http.StatusCreated, nil)
	c.put("my-lib", "docs/a.md", "version one", http.StatusCreated)
	c.put("my-lib", "docs/b.md", "bee", http.StatusCreated)
	var sn struct {
		ID        string `json:"id"`
		Trigger   string `json:"trigger"`
		FileCount int    `json:"fileCount"`
		CreatedAt string `json:"createdAt"`
	}
	c.do("POST", "/api/libraries/my-lib/snapshots", map[string]any{}, http.StatusCreated, &sn)
	if sn.Trigger != "manual" || sn.FileCount != 2 || sn.CreatedAt == "" {
		t.Fatalf("snapshot = %+v", sn)
	}
	c.put("my-lib", "docs/a.md", "version two", http.StatusOK)
	c.put("my-lib", "docs/c.md", "sea", http.StatusCreated)
	var restored map[string]any
	c.do("POST", "/api/libraries/my-lib/snapshots/"+sn.ID+"/_restore", nil, http.StatusOK, &restored)
	if restored["restored"] != true || restored["fileCount"] != 2.0 {
		t.Fatalf("restore = %v", restored)
	}
	if got := c.get("/api/libraries/my-lib/contents/docs/a.md"); got != "version one" {
		t.Fatalf("after restore a.md = %q", got)
	}
	c.fails("GET", "/api/libraries/my-lib/contents/docs/c.md", nil, http.StatusNotFound)
	for i := range 3 {
		c.do("POST", "/api/libraries/my-lib/snapshots", map[string]any{"limit": 2, "trigger": []string{"refresh", "scheduled", "manual"}[i]}, http.StatusCreated, nil)
	}
	var list []struct {
		ID      string `json:"id"`
		Trigger string `json:"trigger"`
	}
	c.do("GET", "/api/libraries/my-lib/snapshots", nil, http.StatusOK, &list)
	if len(list) != 2 || list[0].Trigger != "manual" {
		t.Fatalf("snapshots after pruning = %+v", list)
	}
	c.do("DELETE", "/api/libraries/my-lib/snapshots/"+list[1].ID, nil, http.StatusNoContent, nil)
	c.fails("DELETE", "/api/libraries/my-lib/snapshots/"+list[1].ID, nil, http.StatusNotFound)
	c.fails("POST", "/api/libraries/my-lib/snapshots/"+sn.ID+"/_restore", nil, http.StatusNotFound)
	for _, body := range []any{map[string]any{"limit": 0}, map[string]any{"limit": 101}, map[string]any{"trigger": "hourly"}, map[string]any{"keep": 1}} {
		c.fails("POST", "/api/libraries/my-lib/snapshots", body, http.StatusBadRequest)
	}
}

// TestRoundTwo checks the Informer details a client written from the docs
// hit: end read as an index or a count, a page over 1000 capped and said
// so, files-list walked by its next links, the qs form of sort, every
// timestamp with three fractional digits, runningDescendantsCount on every
// row, a slug made from the name, ownerName, inline contents, and derived
// properties refused by a bulk patch.
func TestRoundTwo(t *testing.T) {
	c := newClient(t)
	var my lib
	c.do("POST", "/api/libraries", map[string]any{"name": "Project Documentation"}, http.StatusCreated, &my)
	if my.Slug != "project-documentation" || my.NaturalID != my.OwnerID+":project-documentation" {
		t.Fatalf("a library made without a slug: %+v", my)
	}
	var again lib
	c.do("POST", "/api/libraries", map[string]any{"name": "Project  documentation!"}, http.StatusCreated, &again)
	if again.Slug != "project-documentation-2" {
		t.Fatalf("the second one's slug = %q", again.Slug)
	}
	var raw map[string]any
	c.do("GET", "/api/libraries/project-documentation", nil, http.StatusOK, &raw)
	if raw["ownerName"] != "default" {
		t.Fatalf("ownerName = %v", raw["ownerName"])
	}
	for i := range 25 {
		c.put(my.ID, fmt.Sprintf("docs/f%02d.md", i), fmt.Sprintf("# file %d\n", i), http.StatusCreated)
	}
	names := func(q string) []string {
		t.Helper()
		var fs []file
		c.do("GET", "/api/libraries/"+my.ID+"/files?dir=/docs"+q, nil, http.StatusOK, &fs)
		var out []string
		for _, f := range fs {
			out = append(out, f.Filename)
			if f.RunningDescendantsCount == nil || *f.RunningDescendantsCount != 0 {
				t.Fatalf("runningDescendantsCount of %s = %v", f.Filename, f.RunningDescendantsCount)
			}
		}
		return out
	}
	// end past start is an exclusive end; at or before it, a count.
	if got := names("&start=5&end=8"); !slices.Equal(got, []string{"f05.md", "f06.md", "f07.md"}) {
		t.Fatalf("start=5&end=8 = %q", got)
	}
	if got := names("&start=10&end=10"); len(got) != 10 || got[0] != "f10.md" {
		t.Fatalf("start=10&end=10 = %q", got)
	}
	if got := names("&start=20&end=3"); !slices.Equal(got, []string{"f20.md", "f21.md", "f22.md"}) {
		t.Fatalf("start=20&end=3 = %q", got)
	}
	// A page over 1000 is served, capped, and says so.
	r := c.do("GET", "/api/libraries/"+my.ID+"/files?dir=/docs&start=0&end=5000", nil, http.StatusOK, nil)
	if r.Header.Get("X-Page-Limit") != "1000" {
		t.Fatalf("a page of 5000: X-Page-Limit %q", r.Header.Get("X-Page-Limit"))
	}
	if r := c.do("GET", "/api/libraries/"+my.ID+"/files?dir=/docs&end=10", nil, http.StatusOK, nil); r.Header.Get("X-Page-Limit") != "" {
		t.Fatalf("a page of 10 says it was capped")
	}
	// The qs form of sort.
	if got := names("&sort%5B0%5D%5BcolId%5D=filename&sort%5B0%5D%5Bsort%5D=desc&end=2"); !slices.Equal(got, []string{"f24.md", "f23.md"}) {
		t.Fatalf("qs sort desc = %q", got)
	}
	// files-list: walking next visits every item once.
	seen := map[string]int{}
	next := "/api/libraries/" + my.ID + "/files-list?limit=7"
	pages := 0
	for next != "" && pages < 20 {
		var hal struct {
			Links map[string]struct {
				Href      string `json:"href"`
				Templated bool   `json:"templated"`
			} `json:"_links"`
			Embedded struct {
				Files []file `json:"inf:file"`
			} `json:"_embedded"`
			Start, Count, Total int
		}
		c.do("GET", next, nil, http.StatusOK, &hal)
		if self := hal.Links["self"]; !self.Templated || self.Href != "/api/libraries/"+my.ID+"/files-list{?start,limit}" {
			t.Fatalf("self = %+v", self)
		}
		if _, ok := hal.Links["prev"]; ok != (hal.Start > 0) {
			t.Fatalf("prev at start %d: %v", hal.Start, hal.Links)
		}
		for _, f := range hal.Embedded.Files {
			seen[f.Path]++
		}
		next = hal.Links["next"].Href
		pages++
	}
	if len(seen) != 26 { // docs and its 25 files
		t.Fatalf("files-list walked %d items in %d pages", len(seen), pages)
	}
	for p, n := range seen {
		if n != 1 {
			t.Fatalf("%s seen %d times", p, n)
		}
	}
	// Every timestamp: RFC 3339 with three fractional digits, UTC.
	stamp := regexp.MustCompile(`"(createdAt|updatedAt|modifiedAt|indexedAt|indexingStartedAt|indexingErroredAt|syncedAt|expiresAt)":"([^"]*)"`)
	fixed := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	for _, path := range []string{"/api/libraries/" + my.ID, "/api/libraries", "/api/libraries-list", "/api/libraries/" + my.ID + "/files?dir=/docs",
		"/api/libraries/" + my.ID + "/files-list", "/api/libraries/" + my.ID + "/snapshots"} {
		body := c.do("GET", path, nil, http.StatusOK, nil).Body
		for _, m := range stamp.FindAllSubmatch(body, -1) {
			if !fixed.Match(m[2]) {
				t.Fatalf("%s: %s is %q", path, m[1], m[2])
			}
		}
	}
	// Contents: inline with the file name, an attachment with ?download=1.
	fid := c.put(my.ID, "page.html", "<p>hi</p>", http.StatusCreated).ID
	for _, path := range []string{"/api/libraries/" + my.ID + "/contents/page.html", "/api/libraries/" + my.ID + "/files/" + fid + "/contents"} {
		if cd := c.raw("GET", path, "", nil, http.StatusOK).Header.Get("Content-Disposition"); cd != "inline; filename=page.html" {
			t.Fatalf("%s: Content-Disposition %q", path, cd)
		}
		if cd := c.raw("GET", path+"?download=1", "", nil, http.StatusOK).Header.Get("Content-Disposition"); cd != "attachment; filename=page.html" {
			t.Fatalf("%s?download=1: Content-Disposition %q", path, cd)
		}
	}
	// A file of an embedded library reads indexed, with an indexedAt.
	var emb lib
	c.do("POST", "/api/libraries", map[string]any{"name": "Assets", "embedded": true}, http.StatusCreated, &emb)
	ef := c.put(emb.ID, "logo.md", "# logo", http.StatusCreated)
	if !ef.Indexed || ef.IndexedAt == nil || !fixed.MatchString(*ef.IndexedAt) {
		t.Fatalf("a file of an embedded library: %+v", ef)
	}
	// size and directory are derived: a bulk patch of either is refused.
	for _, prop := range []string{"size", "directory"} {
		c.fails("PATCH", "/api/libraries/"+my.ID+"/files", []map[string]any{{"op": "replace", "path": "/docs/*.md/" + prop, "value": 1}}, http.StatusBadRequest)
	}
}

// TestStorageAPI checks Informer's Storage API: a multipart upload is a
// file of its own (201 with Location), read, downloaded and found by name.
func TestStorageAPI(t *testing.T) {
	c := newClient(t)
	upload := func(name, body string) map[string]any {
		t.Helper()
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		part, _ := mw.CreateFormFile("file", name)
		part.Write([]byte(body))
		mw.Close()
		r := c.raw("POST", "/api/files", mw.FormDataContentType(), buf.Bytes(), http.StatusCreated)
		var f map[string]any
		r.JSON(t, &f)
		if r.Header.Get("Location") != "/api/files/"+f["id"].(string) {
			t.Fatalf("Location %q for %v", r.Header.Get("Location"), f)
		}
		return f
	}
	a := upload("document.pdf", "%PDF-1.4 first")
	b := upload("document.pdf", "%PDF-1.4 second") // the same name: another file
	upload("notes.txt", "notes")
	if a["id"] == b["id"] || a["filename"] != "document.pdf" || b["filename"] != "document_1.pdf" || a["contentType"] != "application/pdf" ||
		a["size"] != float64(14) {
		t.Fatalf("uploads: %v, %v", a, b)
	}
	links := a["_links"].(map[string]any)
	if links["inf:download"].(map[string]any)["href"] != "/api/files/"+a["id"].(string)+"/download" {
		t.Fatalf("links: %v", links)
	}
	var got map[string]any
	c.do("GET", "/api/files/"+a["id"].(string), nil, http.StatusOK, &got)
	if got["embedded"] != false || got["updatedAt"] == nil || got["filename"] != "document.pdf" {
		t.Fatalf("get: %v", got)
	}
	r := c.raw("GET", "/api/files/"+b["id"].(string)+"/download", "", nil, http.StatusOK)
	if string(r.Body) != "%PDF-1.4 second" || r.Header.Get("Content-Disposition") != "attachment; filename=document_1.pdf" {
		t.Fatalf("download: %q %v", r.Body, r.Header)
	}
	var found struct {
		Embedded struct {
			Files []map[string]any `json:"inf:file"`
		} `json:"_embedded"`
		Total int
	}
	c.do("GET", "/api/files?q=DOCUMENT", nil, http.StatusOK, &found)
	if found.Total != 2 || len(found.Embedded.Files) != 2 {
		t.Fatalf("search: %+v", found)
	}
	// A library file is not a Storage API file; another workspace's is
	// not found.
	var l lib
	c.do("POST", "/api/libraries", map[string]any{"name": "L"}, http.StatusCreated, &l)
	lf := c.put(l.ID, "x.md", "# x", http.StatusCreated)
	c.fails("GET", "/api/files/"+lf.ID, nil, http.StatusNotFound)
	_, other := c.e.Workspace(t, "other", shelf.ScopeWrite)
	if r := c.e.Do(t, "GET", "/api/files/"+a["id"].(string), other, nil); r.Status != http.StatusNotFound {
		t.Fatalf("another workspace's file: %d", r.Status)
	}
	c.fails("POST", "/api/files", map[string]any{"file": "x"}, http.StatusBadRequest)
}

// TestAssistantAccessSharesAndCloud checks assistant access (a flag the
// native search honours), shares as the workspace's keys, the cloud-drive
// routes' 501 and Boom's shape for every unknown /api/ route.
func TestAssistantAccessSharesAndCloud(t *testing.T) {
	c := newClient(t)
	var open, closed lib
	c.do("POST", "/api/libraries", map[string]any{"name": "Open", "assistantAccess": true}, http.StatusCreated, &open)
	c.do("POST", "/api/libraries", map[string]any{"name": "Closed"}, http.StatusCreated, &closed)
	c.put(open.ID, "a.md", "the zebra runs", http.StatusCreated)
	c.put(closed.ID, "b.md", "the zebra sleeps", http.StatusCreated)
	var acc map[string]bool
	c.do("GET", "/api/libraries/"+open.ID+"/assistant-access", nil, http.StatusOK, &acc)
	if !acc["enabled"] {
		t.Fatalf("open library: %v", acc)
	}
	c.do("GET", "/api/libraries/"+closed.ID+"/assistant-access", nil, http.StatusOK, &acc)
	if acc["enabled"] {
		t.Fatalf("closed library: %v", acc)
	}
	c.e.WaitIndexed(t, master)
	search := func(assistant bool) []string {
		t.Helper()
		var res struct {
			Hits []struct {
				Path string `json:"path"`
			} `json:"hits"`
		}
		c.do("POST", "/v1/search", map[string]any{"query": "zebra", "filters": map[string]any{"assistant": assistant}}, http.StatusOK, &res)
		var out []string
		for _, h := range res.Hits {
			out = append(out, h.Path)
		}
		slices.Sort(out)
		return out
	}
	if got := search(false); !slices.Equal(got, []string{"a.md", "b.md"}) {
		t.Fatalf("a search = %q", got)
	}
	if got := search(true); !slices.Equal(got, []string{"a.md"}) {
		t.Fatalf("an assistant's search = %q", got)
	}
	c.do("PUT", "/api/libraries/"+closed.ID+"/assistant-access", map[string]any{"enabled": true}, http.StatusOK, &acc)
	if got := search(true); !acc["enabled"] || !slices.Equal(got, []string{"a.md", "b.md"}) {
		t.Fatalf("after enabling: %v %q", acc, got)
	}
	c.do("DELETE", "/api/libraries/"+open.ID+"/assistant-access", nil, http.StatusNoContent, nil)
	var raw map[string]any
	c.do("GET", "/api/libraries/"+open.ID, nil, http.StatusOK, &raw)
	if raw["assistantAccess"] != false || search(true)[0] != "b.md" {
		t.Fatalf("after disabling: %v", raw)
	}
	c.fails("PUT", "/api/libraries/"+open.ID+"/assistant-access", map[string]any{}, http.StatusBadRequest)

	// Shares: the workspace's keys at the level of their scope.
	ctx := c.e.Context(t)
	ws := shelf.PrincipalFrom(ctx).WorkspaceID
	reader, _, err := c.e.Service.CreateKey(ctx, ws, "reader", []shelf.Scope{shelf.ScopeRead})
	if err != nil {
		t.Fatal(err)
	}
	writer, wtoken, err := c.e.Service.CreateKey(ctx, ws, "writer", []shelf.Scope{shelf.ScopeWrite})
	if err != nil {
		t.Fatal(err)
	}
	var shares struct {
		Embedded struct {
			Shares []map[string]any `json:"inf:share"`
		} `json:"_embedded"`
		Total int
	}
	c.do("GET", "/api/libraries/"+open.ID+"/shares", nil, http.StatusOK, &shares)
	levels := map[string]float64{}
	for _, s := range shares.Embedded.Shares {
		levels[s["principalId"].(string)] = s["accessLevel"].(float64)
		if s["libraryId"] != open.ID {
			t.Fatalf("share %v", s)
		}
	}
	if levels[reader.ID] != 1 || levels[writer.ID] != 2 || shares.Total < 2 {
		t.Fatalf("shares = %v", shares)
	}
	var sh map[string]any
	c.do("GET", "/api/libraries/"+open.ID+"/shares/"+reader.ID, nil, http.StatusOK, &sh)
	c.do("PUT", "/api/libraries/"+open.ID+"/shares/"+reader.ID, map[string]any{"accessLevel": 1}, http.StatusOK, &sh)
	c.fails("PUT", "/api/libraries/"+open.ID+"/shares/"+reader.ID, map[string]any{"accessLevel": 2}, http.StatusNotImplemented)
	c.fails("DELETE", "/api/libraries/"+open.ID+"/shares/"+reader.ID, nil, http.StatusNotImplemented)
	c.fails("GET", "/api/libraries/"+open.ID+"/shares/nobody", nil, http.StatusNotFound)
	if r := c.e.Do(t, "GET", "/api/libraries/"+open.ID+"/shares", wtoken, nil); r.Status != http.StatusForbidden {
		t.Fatalf("shares with a write key: %d", r.Status)
	}

	// Cloud drives: 501 in Boom's shape; unknown routes: Boom's 404.
	for _, rt := range []struct{ method, path string }{
		{"GET", "/integration"}, {"PUT", "/integration"}, {"GET", "/connection"}, {"DELETE", "/connection"}, {"POST", "/_sync"},
	} {
		c.fails(rt.method, "/api/libraries/"+open.ID+rt.path, map[string]any{"integrationId": "x"}, http.StatusNotImplemented)
	}
	c.fails("GET", "/api/libraries/nope/integration", nil, http.StatusNotFound)
	c.fails("GET", "/api/nothing-here", nil, http.StatusNotFound)
	c.fails("POST", "/api/users/me", nil, http.StatusNotFound)
	var cbk map[string]any
	r := c.e.Do(t, "GET", "/api/v1/nothing", master, nil)
	if r.Status != http.StatusNotFound || json.Unmarshal(r.Body, &cbk) != nil || cbk["code"] != "NOT_FOUND" {
		t.Fatalf("an unknown ChatBotKit route: %d %s", r.Status, r.Body)
	}
}
