package memorylake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/http/memorylake"
	"github.com/shelfmem/shelf/internal/shelftest"
	"github.com/shelfmem/shelf/library"
)

var (
	workspaceIDShape = regexp.MustCompile(`^ws-[0-9a-f]{32}$`)
	memoryIDShape    = regexp.MustCompile(`^mem-[0-9a-f]{32}$`)
)

type wireWorkspace struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Metadata    map[string]any `json:"metadata"`
	CustomID    *string        `json:"custom_id"`
	CreatedAt   string         `json:"created_at"`
	UpdatedAt   string         `json:"updated_at"`
}

type wireV3Project struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	CustomID    *string        `json:"custom_id"`
	Metadata    map[string]any `json:"metadata"`
	CreatedAt   string         `json:"created_at"`
	UpdatedAt   string         `json:"updated_at"`
}

type wireV3Document struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Error  *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Usage *struct {
		FilesProcessTokens *int64 `json:"files_process_tokens"`
	} `json:"usage"`
	DocumentType string `json:"document_type"`
	DriveItemID  string `json:"drive_item_id"`
	CreatedAt    string `json:"created_at"`
}

type importDetail struct {
	Result      string  `json:"result"`
	DriveItemID string  `json:"drive_item_id"`
	DocumentID  *string `json:"document_id"`
	Reason      string  `json:"reason"`
}

type importAnswer struct {
	SuccessCount     *int           `json:"success_count"`
	FailureCount     *int           `json:"failure_count"`
	DuplicateCount   *int           `json:"duplicate_count"`
	Details          []importDetail `json:"details"`
	DetailsTruncated *bool          `json:"details_truncated"`
}

type v3Chunk struct {
	Text  string `json:"text"`
	Range string `json:"range"`
}

type v3DocResult struct {
	DocumentID      string    `json:"document_id"`
	DocumentName    string    `json:"document_name"`
	FileName        string    `json:"file_name"`
	DocumentSummary *string   `json:"document_summary"`
	SourceType      string    `json:"source_type"`
	SheetName       *string   `json:"sheet_name"`
	ProjectID       string    `json:"project_id"`
	Items           []v3Chunk `json:"items"`
}

type v3Fact struct {
	ID        string         `json:"id"`
	Fact      string         `json:"fact"`
	Score     *float64       `json:"score"`
	Metadata  map[string]any `json:"metadata"`
	CreatedAt string         `json:"created_at"`
	UpdatedAt string         `json:"updated_at"`
}

type v3SearchAnswer struct {
	Documents []v3DocResult `json:"documents"`
	Facts     []v3Fact      `json:"facts"`
}

// do3 sends a request to path under the v3 prefix.
func (c *tc) do3(method, path, key string, body any) *shelftest.Response {
	c.t.Helper()
	return c.env.Do(c.t, method, memorylake.PrefixV3+path, key, body)
}

// hasKeys checks that data is an object of exactly these keys.
func hasKeys(t *testing.T, data json.RawMessage, keys ...string) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("data is not an object: %s", data)
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Fatalf("data has no %q: %s", k, data)
		}
	}
	if len(m) != len(keys) {
		t.Fatalf("data has keys beyond %q: %s", keys, data)
	}
}

func (c *tc) createWorkspace(key, name, customID string, extra map[string]any) wireWorkspace {
	c.t.Helper()
	body := map[string]any{"name": name, "custom_id": customID}
	for k, v := range extra {
		body[k] = v
	}
	var w wireWorkspace
	e := ok(c.t, c.do3("POST", "/workspaces", key, body), &w)
	hasKeys(c.t, e.Data, "id", "name", "description", "metadata", "custom_id", "created_at", "updated_at")
	if !workspaceIDShape.MatchString(w.ID) || w.Name != name || w.CustomID == nil || *w.CustomID != customID || w.Metadata == nil {
		c.t.Fatalf("create workspace answered %s", e.Data)
	}
	checkTimestamp(c.t, "created_at", w.CreatedAt)
	checkTimestamp(c.t, "updated_at", w.UpdatedAt)
	return w
}

func (c *tc) createV3Project(ws, name, customID string, extra map[string]any) wireV3Project {
	c.t.Helper()
	body := map[string]any{"name": name, "custom_id": customID}
	for k, v := range extra {
		body[k] = v
	}
	var p wireV3Project
	e := ok(c.t, c.do3("POST", "/workspaces/"+ws+"/projects", c.key, body), &p)
	hasKeys(c.t, e.Data, "id", "name", "description", "custom_id", "metadata", "created_at", "updated_at")
	if !projectIDShape.MatchString(p.ID) || p.Name != name || p.CustomID == nil || *p.CustomID != customID || p.Metadata == nil {
		c.t.Fatalf("create project answered %s", e.Data)
	}
	checkTimestamp(c.t, "created_at", p.CreatedAt)
	return p
}

// walk lists path page by page, size items a page, checking that every
// page but the last is full and carries a token, and that the last one's
// token is null and its items not none (unless the list is empty); it
// returns every item in order.
func walk[T any](c *tc, key, path string, size int) []T {
	c.t.Helper()
	var all []T
	token := ""
	for range 1000 {
		q := url.Values{"page_size": {fmt.Sprint(size)}}
		if token != "" {
			q.Set("continuation_token", token)
		}
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		var page struct {
			Items             []T     `json:"items"`
			ContinuationToken *string `json:"continuation_token"`
		}
		e := ok(c.t, c.do3("GET", path+sep+q.Encode(), key, nil), &page)
		hasKeys(c.t, e.Data, "items", "continuation_token")
		if page.Items == nil {
			c.t.Fatalf("items is not a list: %s", e.Data)
		}
		if len(page.Items) == 0 && all != nil {
			c.t.Fatalf("the page after a token is empty: the token should have been null")
		}
		all = append(all, page.Items...)
		if page.ContinuationToken == nil {
			return all
		}
		if len(page.Items) != size || *page.ContinuationToken == "" {
			c.t.Fatalf("a page of %d items (page_size %d) has token %q", len(page.Items), size, *page.ContinuationToken)
		}
		token = *page.ContinuationToken
	}
	c.t.Fatal("the list does not end")
	return nil
}

func idsOf[T any](items []T, id func(T) string) []string {
	var out []string
	for _, it := range items {
		out = append(out, id(it))
	}
	return out
}

func wsID(w wireWorkspace) string       { return w.ID }
func v3ProjID(p wireV3Project) string   { return p.ID }
func v3DocID(d wireV3Document) string   { return d.ID }
func v3ProjName(p wireV3Project) string { return p.Name }

// authed is a context acting with key, for core calls a test makes.
func (c *tc) authed(key string) context.Context {
	c.t.Helper()
	ctx := c.env.Context(c.t)
	p, err := c.env.Service.Authenticate(ctx, key)
	if err != nil {
		c.t.Fatal(err)
	}
	return shelf.NewContext(ctx, p)
}

func TestV3Workspaces(t *testing.T) {
	c := newTC(t, library.Config{})
	research := c.createWorkspace(c.key, "Research", "research", map[string]any{
		"description": "the lab's", "metadata": map[string]any{"team": "a", "n": 1}})
	if research.Description != "the lab's" || research.Metadata["team"] != "a" || research.Metadata["n"] != 1.0 {
		t.Fatalf("workspace = %+v", research)
	}
	plain := c.createWorkspace(c.key, "plain", "plain", nil)
	if len(plain.Metadata) != 0 || plain.Description != "" {
		t.Fatalf("workspace without metadata = %+v", plain)
	}
	// A custom_id is unique in the Shelf workspace.
	fails(t, c.do3("POST", "/workspaces", c.key, map[string]any{"name": "again", "custom_id": "research"}),
		http.StatusConflict, "DRIVE_ITEM_CONFLICT", "research")

	var got wireWorkspace
	ok(t, c.do3("GET", "/workspaces/"+research.ID, c.key, nil), &got)
	if !reflectEqual(got, research) {
		t.Fatalf("get = %+v, want %+v", got, research)
	}
	ok(t, c.do3("GET", "/workspaces/research?by_custom_id=true", c.key, nil), &got)
	if got.ID != research.ID {
		t.Fatalf("get by custom id = %+v", got)
	}
	ok(t, c.do3("GET", "/workspaces/"+research.ID+"?by_custom_id=false", c.key, nil), &got)
	for _, path := range []string{
		"/workspaces/research",                              // a custom id, without by_custom_id
		"/workspaces/" + research.ID + "?by_custom_id=true", // an id is not a custom id
		"/workspaces/" + strings.ToUpper(research.ID),
		"/workspaces/ws-" + strings.Repeat("0", 32),
		"/workspaces/ws-" + strings.Repeat("0", 31),
		"/workspaces/" + strings.TrimPrefix(research.ID, "ws-"),
		"/workspaces/nothing?by_custom_id=true",
	} {
		fails(t, c.do3("GET", path, c.key, nil), http.StatusNotFound, "NOT_FOUND", "workspace")
	}

	// Paging: every workspace once, in creation order, whatever the page size.
	var want []string
	want = append(want, research.ID, plain.ID)
	for i := range 5 {
		want = append(want, c.createWorkspace(c.key, fmt.Sprintf("ws %d", i), fmt.Sprintf("c%d", i), nil).ID)
	}
	for _, size := range []int{1, 2, 3, 7, 20, 100} {
		if got := idsOf(walk[wireWorkspace](c, c.key, "/workspaces", size), wsID); !slices.Equal(got, want) {
			t.Fatalf("page_size %d walks %q, want %q", size, got, want)
		}
	}
	var first struct {
		Items             []wireWorkspace `json:"items"`
		ContinuationToken *string         `json:"continuation_token"`
	}
	ok(t, c.do3("GET", "/workspaces", c.key, nil), &first)
	if len(first.Items) != 7 || first.ContinuationToken != nil || !reflectEqual(first.Items[0], research) {
		t.Fatalf("default page = %+v", first)
	}
	// name_fuzzy: ASCII letters without case, literal, combined with paging.
	if got := idsOf(walk[wireWorkspace](c, c.key, "/workspaces?name_fuzzy=WS", 2), wsID); !slices.Equal(got, want[2:]) {
		t.Fatalf("name_fuzzy=WS walks %q", got)
	}
	if got := walk[wireWorkspace](c, c.key, "/workspaces?name_fuzzy=search", 2); len(got) != 1 || got[0].ID != research.ID {
		t.Fatalf("name_fuzzy=search = %+v", got)
	}
	if got := walk[wireWorkspace](c, c.key, "/workspaces?name_fuzzy=%25", 2); len(got) != 0 {
		t.Fatalf("name_fuzzy=%% = %+v", got)
	}

	// Delete (a Shelf extra) takes the projects and their documents; the
	// Library file stays.
	f := c.upload("MY_SPACE", "kept.txt", []byte("a kept file"), "")
	p := c.createV3Project(plain.ID, "p", "p", nil)
	c.importDocs(plain.ID, p.ID, f.ItemID)
	e := ok(t, c.do3("DELETE", "/workspaces/plain?by_custom_id=true", c.key, nil), nil)
	if string(e.Data) != "{}" {
		t.Fatalf("delete answered %+v", e)
	}
	fails(t, c.do3("GET", "/workspaces/"+plain.ID, c.key, nil), http.StatusNotFound, "NOT_FOUND")
	fails(t, c.do3("DELETE", "/workspaces/"+plain.ID, c.key, nil), http.StatusNotFound, "NOT_FOUND")
	fails(t, c.do("GET", "/projects/"+p.ID, c.key, nil), http.StatusNotFound, "NOT_FOUND")
	c.item(c.key, f.ItemID)
	if got := idsOf(walk[wireWorkspace](c, c.key, "/workspaces", 3), wsID); !slices.Equal(got, append([]string{research.ID}, want[2:]...)) {
		t.Fatalf("after delete: %q", got)
	}
	// The custom id is free again.
	c.createWorkspace(c.key, "plain again", "plain", nil)
}

// reflectEqual compares two values by their JSON.
func reflectEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func TestV3Projects(t *testing.T) {
	c := newTC(t, library.Config{})
	ws := c.createWorkspace(c.key, "W", "w", nil)
	other := c.createWorkspace(c.key, "Other", "other", nil)
	alpha := c.createV3Project(ws.ID, "Alpha one", "alpha", map[string]any{"description": "the first", "metadata": map[string]any{"k": "v"}})
	if alpha.Description != "the first" || alpha.Metadata["k"] != "v" {
		t.Fatalf("project = %+v", alpha)
	}
	beta := c.createV3Project(ws.ID, "beta", "beta", nil)
	gamma := c.createV3Project(ws.ID, "ALPHA_two", "gamma", nil)
	// custom_id: unique in its workspace, free in another.
	fails(t, c.do3("POST", "/workspaces/"+ws.ID+"/projects", c.key, map[string]any{"name": "x", "custom_id": "alpha"}),
		http.StatusConflict, "DRIVE_ITEM_CONFLICT", "alpha")
	elsewhere := c.createV3Project(other.ID, "elsewhere", "alpha", nil)
	v1 := c.createProject("a v1 project", "")

	base := "/workspaces/" + ws.ID + "/projects"
	want := []string{alpha.ID, beta.ID, gamma.ID}
	for _, size := range []int{1, 2, 3, 4} {
		if got := idsOf(walk[wireV3Project](c, c.key, base, size), v3ProjID); !slices.Equal(got, want) {
			t.Fatalf("page_size %d walks %q, want %q", size, got, want)
		}
	}
	if got := idsOf(walk[wireV3Project](c, c.key, "/workspaces/w/projects?by_custom_id=true", 2), v3ProjID); !slices.Equal(got, want) {
		t.Fatalf("by custom id walks %q", got)
	}
	if got := idsOf(walk[wireV3Project](c, c.key, base+"?name_fuzzy=alpha", 1), v3ProjName); !slices.Equal(got, []string{"Alpha one", "ALPHA_two"}) {
		t.Fatalf("name_fuzzy=alpha walks %q", got)
	}
	if got := idsOf(walk[wireV3Project](c, c.key, "/workspaces/"+other.ID+"/projects", 20), v3ProjID); !slices.Equal(got, []string{elsewhere.ID}) {
		t.Fatalf("the other workspace lists %q", got)
	}
	// v1 sees every project of the Shelf workspace, v3 ones included.
	if l := c.listProjects(""); l.Total != 5 {
		t.Fatalf("v1 lists %d projects", l.Total)
	}

	var got wireV3Project
	ok(t, c.do3("GET", base+"/"+alpha.ID, c.key, nil), &got)
	if !reflectEqual(got, alpha) {
		t.Fatalf("get = %+v, want %+v", got, alpha)
	}
	ok(t, c.do3("GET", "/workspaces/w/projects/alpha?by_custom_id=true", c.key, nil), &got)
	if got.ID != alpha.ID {
		t.Fatalf("get by custom ids = %+v", got)
	}
	ok(t, c.do3("GET", "/workspaces/other/projects/alpha?by_custom_id=true", c.key, nil), &got)
	if got.ID != elsewhere.ID {
		t.Fatalf("get by custom ids in the other workspace = %+v", got)
	}
	for _, path := range []string{
		base + "/" + elsewhere.ID, // another v3 workspace's
		base + "/" + v1.ID,        // a project of no v3 workspace
		base + "/alpha",           // a custom id without by_custom_id
		base + "/" + alpha.ID + "?by_custom_id=true",
		"/workspaces/w/projects/" + alpha.ID + "?by_custom_id=true",
		base + "/proj-00000000000000000000000000000000",
	} {
		fails(t, c.do3("GET", path, c.key, nil), http.StatusNotFound, "NOT_FOUND")
		fails(t, c.do3("PATCH", path, c.key, map[string]any{"name": "x"}), http.StatusNotFound, "NOT_FOUND")
		fails(t, c.do3("DELETE", path, c.key, nil), http.StatusNotFound, "NOT_FOUND")
	}

	// PATCH is partial.
	ok(t, c.do3("PATCH", base+"/"+alpha.ID, c.key, map[string]any{"name": "Alpha renamed"}), &got)
	if got.Name != "Alpha renamed" || got.Description != "the first" || *got.CustomID != "alpha" || got.Metadata["k"] != "v" {
		t.Fatalf("patch name = %+v", got)
	}
	ok(t, c.do3("PATCH", "/workspaces/w/projects/alpha?by_custom_id=true", c.key, map[string]any{"description": ""}), &got)
	if got.Name != "Alpha renamed" || got.Description != "" {
		t.Fatalf("patch description = %+v", got)
	}
	ok(t, c.do3("PATCH", base+"/"+alpha.ID, c.key, map[string]any{}), &got)
	ok(t, c.do3("GET", base+"/"+alpha.ID, c.key, nil), &got)
	if got.Name != "Alpha renamed" || got.Description != "" {
		t.Fatalf("get after patch = %+v", got)
	}

	e := ok(t, c.do3("DELETE", "/workspaces/w/projects/beta?by_custom_id=true", c.key, nil), nil)
	if string(e.Data) != "{}" {
		t.Fatalf("delete answered %+v", e)
	}
	fails(t, c.do3("GET", base+"/"+beta.ID, c.key, nil), http.StatusNotFound, "NOT_FOUND")
	if got := idsOf(walk[wireV3Project](c, c.key, base, 1), v3ProjID); !slices.Equal(got, []string{alpha.ID, gamma.ID}) {
		t.Fatalf("after delete: %q", got)
	}
	// Its custom id is free again.
	c.createV3Project(ws.ID, "beta again", "beta", nil)
}

// importDocs imports ids into a v3 project and returns the answer,
// checking its shape.
func (c *tc) importDocs(ws, projectID string, ids ...string) importAnswer {
	c.t.Helper()
	var a importAnswer
	e := ok(c.t, c.do3("POST", "/workspaces/"+ws+"/projects/"+projectID+"/memories/documents", c.key,
		map[string]any{"drive_item_ids": ids}), &a)
	hasKeys(c.t, e.Data, "success_count", "failure_count", "duplicate_count", "details", "details_truncated")
	if a.SuccessCount == nil || a.FailureCount == nil || a.DuplicateCount == nil || a.DetailsTruncated == nil || a.Details == nil {
		c.t.Fatalf("import answered %s", e.Data)
	}
	for _, d := range a.Details {
		switch {
		case d.Result == "failed" && (d.DocumentID != nil || d.Reason == ""),
			d.Result != "failed" && (d.DocumentID == nil || !documentIDShape.MatchString(*d.DocumentID) || d.Reason != ""),
			!slices.Contains([]string{"success", "failed", "duplicate"}, d.Result):
			c.t.Fatalf("detail %+v", d)
		}
	}
	return a
}

// results is the details as "result drive_item_id", sorted.
func detailsOf(a importAnswer) []string {
	var out []string
	for _, d := range a.Details {
		out = append(out, d.Result+" "+d.DriveItemID)
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// waitV3 polls a v3 project's documents until there are n, every one
// okay.
func (c *tc) waitV3(docs string, n int) []wireV3Document {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		l := walk[wireV3Document](c, c.key, docs, 100)
		done := len(l) == n
		for _, d := range l {
			switch d.Status {
			case "okay":
			case "pending", "running":
				done = false
			default:
				c.t.Fatalf("document %s (%s) has status %q", d.ID, d.Name, d.Status)
			}
		}
		if done {
			return l
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("documents not indexed in time: %+v", l)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func v3DocByName(t *testing.T, docs []wireV3Document, name string) wireV3Document {
	t.Helper()
	for _, d := range docs {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("no document %q in %+v", name, docs)
	return wireV3Document{}
}

func TestV3Documents(t *testing.T) {
	c := newTC(t, library.Config{})
	folder := c.folder("MY_SPACE", "docs", "")
	aData := []byte("The zebra grazes at dawn.\n")
	a := c.upload(folder.ItemID, "a.txt", aData, "")
	b := c.upload(folder.ItemID, "b.md", []byte("# Notes\n\nA quokka on the island.\n"), "")
	c.upload(folder.ItemID, "blob.bin", randomBytes(200, 3), "") // unreadable: skipped in a folder
	bin := c.upload("MY_SPACE", "lone.bin", randomBytes(200, 4), "")
	_, otherKey := c.env.Workspace(t, "other", shelf.ScopeWrite)
	foreign := (&tc{t: t, env: c.env, key: otherKey}).upload("MY_SPACE", "theirs.txt", []byte("their zebra"), "")

	ws := c.createWorkspace(c.key, "W", "w", nil)
	p := c.createV3Project(ws.ID, "research", "research", nil)
	docs := "/workspaces/" + ws.ID + "/projects/" + p.ID + "/memories/documents"

	// The folder brings a.txt and b.md; a.txt named again counts once;
	// an unknown id, another workspace's file and an unreadable file named
	// directly fail.
	res := c.importDocs(ws.ID, p.ID, folder.ItemID, a.ItemID, "no-such-item", foreign.ItemID, bin.ItemID)
	if *res.SuccessCount != 2 || *res.FailureCount != 3 || *res.DuplicateCount != 0 || *res.DetailsTruncated ||
		!slices.Equal(detailsOf(res), sorted("success "+a.ItemID, "success "+b.ItemID, "failed no-such-item",
			"failed "+foreign.ItemID, "failed "+bin.ItemID)) {
		t.Fatalf("import = %+v", res)
	}
	docA := ""
	for _, d := range res.Details {
		if d.DriveItemID == a.ItemID {
			docA = *d.DocumentID
		}
	}
	// Again, by custom ids: both files are duplicates.
	var again importAnswer
	ok(t, c.do3("POST", "/workspaces/w/projects/research/memories/documents?by_custom_id=true", c.key,
		map[string]any{"drive_item_ids": []string{a.ItemID, b.ItemID}}), &again)
	if *again.SuccessCount != 0 || *again.DuplicateCount != 2 || *again.FailureCount != 0 ||
		!slices.Equal(detailsOf(again), sorted("duplicate "+a.ItemID, "duplicate "+b.ItemID)) || *again.Details[0].DocumentID == "" {
		t.Fatalf("import again = %+v", again)
	}

	got := c.waitV3(docs, 2)
	da, db := v3DocByName(t, got, "a.txt"), v3DocByName(t, got, "b.md")
	for _, d := range got {
		if !documentIDShape.MatchString(d.ID) || d.Error != nil || d.Usage == nil || d.Usage.FilesProcessTokens == nil ||
			*d.Usage.FilesProcessTokens != 0 || d.DocumentType != "drive_file" {
			t.Fatalf("document = %+v", d)
		}
		checkTimestamp(t, "created_at", d.CreatedAt)
	}
	if da.ID != docA || da.DriveItemID != a.ItemID || db.DriveItemID != b.ItemID {
		t.Fatalf("documents = %+v", got)
	}
	var raw map[string]any
	e := ok(t, c.do3("GET", docs+"/"+da.ID, c.key, nil), &raw)
	hasKeys(t, e.Data, "id", "name", "status", "error", "usage", "document_type", "drive_item_id", "created_at")
	if raw["error"] != nil {
		t.Fatalf("error of an okay document = %v", raw["error"])
	}
	var one wireV3Document
	ok(t, c.do3("GET", "/workspaces/w/projects/research/memories/documents/"+da.ID+"?by_custom_id=true", c.key, nil), &one)
	if !reflectEqual(one, da) {
		t.Fatalf("get = %+v, want %+v", one, da)
	}
	if l := walk[wireV3Document](c, c.key, docs+"?name_fuzzy=.MD", 1); len(l) != 1 || l[0].ID != db.ID {
		t.Fatalf("name_fuzzy=.MD = %+v", l)
	}

	// Download streams the document's copy.
	r := c.do3("GET", docs+"/"+da.ID+"/download", c.key, nil)
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, aData) || r.Header.Get("Content-Disposition") != "attachment; filename=a.txt" {
		t.Fatalf("download = %d %q %v", r.Status, r.Body, r.Header)
	}

	// The Library file changes: importing it again refreshes the
	// document, a success with the same document id.
	newA := []byte("The zebra now sleeps at noon.\n")
	if over := c.upload(folder.ItemID, "a.txt", newA, "overwrite"); over.ItemID != a.ItemID {
		t.Fatalf("overwrite made a new item")
	}
	if r := c.do3("GET", docs+"/"+da.ID+"/download", c.key, nil); !bytes.Equal(r.Body, aData) {
		t.Fatalf("the document changed with its file: %q", r.Body)
	}
	res = c.importDocs(ws.ID, p.ID, a.ItemID)
	if *res.SuccessCount != 1 || *res.DuplicateCount != 0 || len(res.Details) != 1 || res.Details[0].Result != "success" ||
		*res.Details[0].DocumentID != da.ID {
		t.Fatalf("import of the changed file = %+v", res)
	}
	c.waitV3(docs, 2)
	if r := c.do3("GET", docs+"/"+da.ID+"/download", c.key, nil); !bytes.Equal(r.Body, newA) {
		t.Fatalf("the refreshed document reads %q", r.Body)
	}
	// Deleting the Library file leaves the document and its bytes.
	ok(t, c.do("DELETE", "/drives/items/"+a.ItemID, c.key, nil), nil)
	if r := c.do3("GET", docs+"/"+da.ID+"/download", c.key, nil); r.Status != http.StatusOK || !bytes.Equal(r.Body, newA) {
		t.Fatalf("after deleting the file: %d %q", r.Status, r.Body)
	}
	ok(t, c.do3("GET", docs+"/"+da.ID, c.key, nil), &one)
	if one.Status != "okay" || one.DriveItemID != a.ItemID {
		t.Fatalf("after deleting the file: %+v", one)
	}

	// A document whose index was cleared shows status error with an error.
	ctx := c.authed(c.key)
	d, err := c.env.Service.GetDocument(ctx, p.ID, db.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.env.Service.ClearIndex(ctx, d.ItemID); err != nil {
		t.Fatal(err)
	}
	ok(t, c.do3("GET", docs+"/"+db.ID, c.key, nil), &one)
	if one.Status != "error" || one.Error == nil || one.Error.Code != "NOT_INDEXED" || one.Error.Message == "" {
		t.Fatalf("a cleared document = %+v", one)
	}

	// Delete documents: the listed ones go, unknown ids are ignored, the
	// Library files stay.
	e = ok(t, c.do3("DELETE", docs, c.key, map[string]any{"ids": []string{db.ID, "doc-00000000000000000000000000000000"}}), nil)
	if string(e.Data) != "{}" {
		t.Fatalf("delete answered %+v", e)
	}
	if l := walk[wireV3Document](c, c.key, docs, 20); len(l) != 1 || l[0].ID != da.ID {
		t.Fatalf("after delete: %+v", l)
	}
	fails(t, c.do3("GET", docs+"/"+db.ID, c.key, nil), http.StatusNotFound, "NOT_FOUND")
	fails(t, c.do3("GET", docs+"/"+db.ID+"/download", c.key, nil), http.StatusNotFound, "NOT_FOUND")
	c.item(c.key, b.ItemID)

	// A document is found only through its own project and workspace.
	q := c.createV3Project(ws.ID, "q", "q", nil)
	for _, path := range []string{
		"/workspaces/" + ws.ID + "/projects/" + q.ID + "/memories/documents/" + da.ID,
		"/workspaces/" + ws.ID + "/projects/" + q.ID + "/memories/documents/" + da.ID + "/download",
		"/workspaces/" + c.createWorkspace(c.key, "X", "x", nil).ID + "/projects/" + p.ID + "/memories/documents/" + da.ID,
	} {
		fails(t, c.do3("GET", path, c.key, nil), http.StatusNotFound, "NOT_FOUND")
	}
}

// TestV3DocumentsPaging walks a project's documents at every page size.
func TestV3DocumentsPaging(t *testing.T) {
	c := newTC(t, library.Config{})
	ctx := c.authed(c.key)
	var ids []string
	for i := range 7 {
		up, err := c.env.Service.WriteFile(ctx, library.FileWrite{Path: fmt.Sprintf("d/f%d.txt", i),
			Body: strings.NewReader(fmt.Sprintf("file %d", i)), Size: -1})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, up.Item.ID)
	}
	ws := c.createWorkspace(c.key, "W", "w", nil)
	p := c.createV3Project(ws.ID, "p", "p", nil)
	// One at a time, so that creation order is known.
	for _, id := range ids {
		c.importDocs(ws.ID, p.ID, id)
	}
	docs := "/workspaces/" + ws.ID + "/projects/" + p.ID + "/memories/documents"
	want := idsOf(walk[wireV3Document](c, c.key, docs, 100), v3DocID)
	if len(want) != 7 {
		t.Fatalf("documents: %q", want)
	}
	for _, size := range []int{1, 2, 3, 6, 7, 8} {
		if got := idsOf(walk[wireV3Document](c, c.key, docs, size), v3DocID); !slices.Equal(got, want) {
			t.Fatalf("page_size %d walks %q, want %q", size, got, want)
		}
	}
	if got := walk[wireV3Document](c, c.key, docs+"?name_fuzzy=F3", 1); len(got) != 1 || got[0].Name != "f3.txt" {
		t.Fatalf("name_fuzzy=F3 = %+v", got)
	}
}

// TestV3ImportDetailsTruncated checks that an import of more files than
// the details list holds counts them all and says the list is cut.
func TestV3ImportDetailsTruncated(t *testing.T) {
	c := newTC(t, library.Config{})
	ctx := c.authed(c.key)
	// An embedded library's files fail to import (never indexed), even
	// inside a folder, so 1001 of them make 1001 details without any
	// indexing work.
	cold, err := c.env.Service.CreateLibrary(ctx, library.Spec{Kind: shelf.KindLibrary, Name: "cold", Embedded: true})
	if err != nil {
		t.Fatal(err)
	}
	var folderID string
	for i := range 1001 {
		up, err := c.env.Service.WriteFile(ctx, library.FileWrite{LibraryID: cold.ID, Path: fmt.Sprintf("all/%04d.txt", i),
			Body: strings.NewReader("x"), Size: 1})
		if err != nil {
			t.Fatal(err)
		}
		folderID = up.Item.ParentID
	}
	ws := c.createWorkspace(c.key, "W", "w", nil)
	p := c.createV3Project(ws.ID, "p", "p", nil)
	res := c.importDocs(ws.ID, p.ID, folderID)
	if *res.FailureCount != 1001 || *res.SuccessCount != 0 || len(res.Details) != 1000 || !*res.DetailsTruncated ||
		!strings.Contains(res.Details[0].Reason, "embedded") {
		t.Fatalf("import = %d failed, %d details, truncated %v, first %+v", *res.FailureCount, len(res.Details), *res.DetailsTruncated, res.Details[0])
	}
	res = c.importDocs(ws.ID, p.ID, "no-such-item")
	if *res.FailureCount != 1 || len(res.Details) != 1 || *res.DetailsTruncated {
		t.Fatalf("a small import = %+v", res)
	}
}

// searchV3 searches a workspace; query is the URL's query, "" for none.
func (c *tc) searchV3(ws, query string, body any) v3SearchAnswer {
	c.t.Helper()
	var a v3SearchAnswer
	e := ok(c.t, c.do3("POST", "/workspaces/"+ws+"/memories/search"+query, c.key, body), &a)
	hasKeys(c.t, e.Data, "documents", "facts")
	if a.Documents == nil || a.Facts == nil {
		c.t.Fatalf("search answered %s", e.Data)
	}
	for _, d := range a.Documents {
		if !documentIDShape.MatchString(d.DocumentID) || d.DocumentName == "" || d.FileName != d.DocumentName ||
			d.DocumentSummary != nil || d.SourceType != "drive_file" || d.SheetName != nil || !projectIDShape.MatchString(d.ProjectID) ||
			len(d.Items) == 0 {
			c.t.Fatalf("document result %+v", d)
		}
		for _, it := range d.Items {
			if it.Text == "" || !rangeShape.MatchString(it.Range) {
				c.t.Fatalf("item %+v", it)
			}
		}
	}
	for _, f := range a.Facts {
		if !memoryIDShape.MatchString(f.ID) || f.Fact == "" || f.Score == nil || *f.Score < 0 || *f.Score > 1 || f.Metadata == nil {
			c.t.Fatalf("fact %+v", f)
		}
		checkTimestamp(c.t, "created_at", f.CreatedAt)
		checkTimestamp(c.t, "updated_at", f.UpdatedAt)
	}
	return a
}

func docNames(a v3SearchAnswer) []string {
	var out []string
	for _, d := range a.Documents {
		out = append(out, d.DocumentName)
	}
	return out
}

func factTexts(a v3SearchAnswer) []string {
	var out []string
	for _, f := range a.Facts {
		out = append(out, f.Fact)
	}
	slices.Sort(out)
	return out
}

func TestV3Search(t *testing.T) {
	c := newTC(t, library.Config{})
	// two.md has two sections (two chunks) that mention the zebra.
	two := c.upload("MY_SPACE", "two.md", []byte("# Morning\n\nThe zebra grazes on the plain.\n\n# Evening\n\nAt dusk the zebra drinks at the river.\n"), "")
	one := c.upload("MY_SPACE", "one.txt", []byte("A single zebra appears in this rather long file about many other things.\n"), "")
	third := c.upload("MY_SPACE", "third.txt", []byte("Far away a zebra and a narwhal meet at last by the cold grey shore of the sea.\n"), "")
	stray := c.upload("MY_SPACE", "stray.txt", []byte("A stray zebra outside the workspace.\n"), "")

	ws := c.createWorkspace(c.key, "W", "w", nil)
	p1 := c.createV3Project(ws.ID, "p1", "p1", nil)
	p2 := c.createV3Project(ws.ID, "p2", "p2", nil)
	otherWS := c.createWorkspace(c.key, "Other", "other", nil)
	foreign := c.createV3Project(otherWS.ID, "foreign", "foreign", nil)
	v1 := c.createProject("v1", "")
	c.importDocs(ws.ID, p1.ID, two.ItemID, one.ItemID)
	c.importDocs(ws.ID, p2.ID, third.ItemID)
	c.importDocs(otherWS.ID, foreign.ID, stray.ItemID)
	c.addDocuments(v1.ID, stray.ItemID)
	c.waitV3("/workspaces/"+ws.ID+"/projects/"+p1.ID+"/memories/documents", 2)
	c.waitV3("/workspaces/"+ws.ID+"/projects/"+p2.ID+"/memories/documents", 1)
	c.waitV3("/workspaces/"+otherWS.ID+"/projects/"+foreign.ID+"/memories/documents", 1)
	c.waitIndexed(v1.ID, 1)

	// Memories come from the core (the v2 memory routes are elsewhere).
	ctx := c.authed(c.key)
	for _, m := range []struct {
		proj, user, text string
		meta             string
	}{
		{p1.ID, "ann", "Ann saw a zebra at the zoo", `{"source":"chat"}`},
		{p1.ID, "bob", "Bob dislikes the zebra crossing", ""},
		{p2.ID, "ann", "Ann wants to paint a zebra", ""},
		{foreign.ID, "ann", "A zebra outside the workspace", ""},
	} {
		in := library.MemoryInput{UserID: m.user, SessionID: "s-1", Messages: []library.Message{{Role: "user", Content: m.text}}}
		if m.meta != "" {
			in.Metadata = json.RawMessage(m.meta)
		}
		if _, err := c.env.Service.AddMemories(ctx, m.proj, in); err != nil {
			t.Fatal(err)
		}
	}
	c.env.WaitIndexed(t, c.key)

	all := c.searchV3(ws.ID, "", map[string]any{"query": "zebra"})
	if got := sorted(docNames(all)...); !slices.Equal(got, []string{"one.txt", "third.txt", "two.md"}) {
		t.Fatalf("documents = %q", got)
	}
	for _, d := range all.Documents {
		want := 1
		if d.DocumentName == "two.md" {
			want = 2 // its two chunks, as one document with two items
		}
		if len(d.Items) != want {
			t.Fatalf("%s has %d items, want %d: %+v", d.DocumentName, len(d.Items), want, d.Items)
		}
		if d.DocumentName == "third.txt" && d.ProjectID != p2.ID || d.DocumentName != "third.txt" && d.ProjectID != p1.ID {
			t.Fatalf("%s is of project %s", d.DocumentName, d.ProjectID)
		}
	}
	for _, d := range all.Documents {
		if d.DocumentName == "two.md" && (!strings.Contains(d.Items[0].Text+d.Items[1].Text, "grazes") ||
			!strings.Contains(d.Items[0].Text+d.Items[1].Text, "drinks") || d.Items[0].Range == d.Items[1].Range) {
			t.Fatalf("two.md items = %+v", d.Items)
		}
	}
	if got := factTexts(all); !slices.Equal(got, []string{"Ann saw a zebra at the zoo", "Ann wants to paint a zebra", "Bob dislikes the zebra crossing"}) {
		t.Fatalf("facts = %q", got)
	}
	for _, f := range all.Facts {
		if f.Metadata["role"] != "user" || f.Metadata["chat_session_id"] != "s-1" || f.Metadata["user_id"] == nil ||
			f.Metadata["project_id"] == nil {
			t.Fatalf("fact metadata = %v", f.Metadata)
		}
		if f.Fact == "Ann saw a zebra at the zoo" {
			if inner, _ := f.Metadata["metadata"].(map[string]any); inner["source"] != "chat" || f.Metadata["project_id"] != p1.ID {
				t.Fatalf("fact metadata = %v", f.Metadata)
			}
		}
	}

	// By custom id, naming projects.
	a := c.searchV3("w", "?by_custom_id=true", map[string]any{"query": "zebra", "project_ids": []string{p2.ID}})
	if !slices.Equal(docNames(a), []string{"third.txt"}) || !slices.Equal(factTexts(a), []string{"Ann wants to paint a zebra"}) {
		t.Fatalf("p2 only = %q %q", docNames(a), factTexts(a))
	}
	// memory_types.
	a = c.searchV3(ws.ID, "", map[string]any{"query": "zebra", "memory_types": []string{"document"}})
	if len(a.Documents) != 3 || len(a.Facts) != 0 {
		t.Fatalf("documents only = %+v", a)
	}
	a = c.searchV3(ws.ID, "", map[string]any{"query": "zebra", "memory_types": []string{"fact"}})
	if len(a.Documents) != 0 || len(a.Facts) != 3 {
		t.Fatalf("facts only = %+v", a)
	}
	a = c.searchV3(ws.ID, "", map[string]any{"query": "zebra", "memory_types": []string{"fact", "document", "fact"}})
	if len(a.Documents) != 3 || len(a.Facts) != 3 {
		t.Fatalf("both = %+v", a)
	}
	// actor_ids narrow the facts.
	a = c.searchV3(ws.ID, "", map[string]any{"query": "zebra", "actor_ids": []string{"ann"}})
	if got := factTexts(a); !slices.Equal(got, []string{"Ann saw a zebra at the zoo", "Ann wants to paint a zebra"}) || len(a.Documents) != 3 {
		t.Fatalf("ann's = %q", got)
	}
	if a = c.searchV3(ws.ID, "", map[string]any{"query": "zebra", "actor_ids": []string{"carol"}}); len(a.Facts) != 0 {
		t.Fatalf("carol's = %+v", a.Facts)
	}
	// top_k is per type: one document (with all its chunks found) and one fact.
	a = c.searchV3(ws.ID, "", map[string]any{"query": "zebra", "top_k": 1})
	if len(a.Documents) != 1 || len(a.Facts) != 1 || a.Documents[0].DocumentID != all.Documents[0].DocumentID {
		t.Fatalf("top_k 1 = %+v", a)
	}
	if a = c.searchV3(ws.ID, "", map[string]any{"query": "narwhal"}); !slices.Equal(docNames(a), []string{"third.txt"}) || len(a.Facts) != 0 {
		t.Fatalf("narwhal = %+v", a)
	}
	// An empty workspace finds nothing.
	empty := c.createWorkspace(c.key, "Empty", "empty", nil)
	if a = c.searchV3(empty.ID, "", map[string]any{"query": "zebra"}); len(a.Documents)+len(a.Facts) != 0 {
		t.Fatalf("an empty workspace finds %+v", a)
	}

	// Naming a project outside the workspace, or an agent, refuses the
	// whole request.
	for _, body := range []map[string]any{
		{"query": "zebra", "project_ids": []string{p1.ID, foreign.ID}},
		{"query": "zebra", "project_ids": []string{v1.ID}},
		{"query": "zebra", "project_ids": []string{"proj-00000000000000000000000000000000"}},
		{"query": "zebra", "project_ids": []string{"p1"}}, // a custom id is not an id, even by_custom_id
		{"query": "zebra", "agent_ids": []string{"helper"}},
	} {
		fails(t, c.do3("POST", "/workspaces/"+ws.ID+"/memories/search", c.key, body), http.StatusNotFound, "NOT_FOUND")
	}
	fails(t, c.do3("POST", "/workspaces/w/memories/search?by_custom_id=true", c.key,
		map[string]any{"query": "zebra", "project_ids": []string{"p1"}}), http.StatusNotFound, "NOT_FOUND")
	fails(t, c.do3("POST", "/workspaces/ws-"+strings.Repeat("0", 32)+"/memories/search", c.key,
		map[string]any{"query": "zebra"}), http.StatusNotFound, "NOT_FOUND", "workspace")
}

// TestV3Isolation checks what each kind of key sees: a key sees the v3
// workspaces of its own Shelf workspace only, the master key those of the
// default workspace, and anything of another Shelf workspace is 404.
func TestV3Isolation(t *testing.T) {
	c := newTC(t, library.Config{})
	f := c.upload("MY_SPACE", "f.txt", []byte("an okapi"), "")
	ws := c.createWorkspace(c.key, "W", "w", nil)
	p := c.createV3Project(ws.ID, "p", "p", nil)
	c.importDocs(ws.ID, p.ID, f.ItemID)
	docs := "/workspaces/" + ws.ID + "/projects/" + p.ID + "/memories/documents"
	d := c.waitV3(docs, 1)[0]

	_, otherKey := c.env.Workspace(t, "other", shelf.ScopeWrite)
	o := &tc{t: t, env: c.env, key: otherKey}
	if l := walk[wireWorkspace](c, otherKey, "/workspaces", 20); len(l) != 0 {
		t.Fatalf("another Shelf workspace lists %+v", l)
	}
	// The other Shelf workspace may use the same custom ids.
	theirs := o.createWorkspace(otherKey, "W", "w", nil)
	if theirs.ID == ws.ID {
		t.Fatal("the same workspace id in two Shelf workspaces")
	}
	ok(t, o.do3("GET", "/workspaces/w?by_custom_id=true", otherKey, nil), nil)
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/workspaces/" + ws.ID, nil},
		{"DELETE", "/workspaces/" + ws.ID, nil},
		{"GET", "/workspaces/" + ws.ID + "/projects", nil},
		{"POST", "/workspaces/" + ws.ID + "/projects", map[string]any{"name": "x", "custom_id": "x"}},
		{"GET", "/workspaces/" + ws.ID + "/projects/" + p.ID, nil},
		{"PATCH", "/workspaces/" + ws.ID + "/projects/" + p.ID, map[string]any{"name": "x"}},
		{"DELETE", "/workspaces/" + ws.ID + "/projects/" + p.ID, nil},
		{"POST", docs, map[string]any{"drive_item_ids": []string{"MY_SPACE"}}},
		{"GET", docs, nil},
		{"DELETE", docs, map[string]any{"ids": []string{d.ID}}},
		{"GET", docs + "/" + d.ID, nil},
		{"GET", docs + "/" + d.ID + "/download", nil},
		{"POST", "/workspaces/" + ws.ID + "/memories/search", map[string]any{"query": "okapi"}},
		// Their own workspace does not reach our project either.
		{"GET", "/workspaces/" + theirs.ID + "/projects/" + p.ID, nil},
		{"GET", "/workspaces/" + theirs.ID + "/projects/" + p.ID + "/memories/documents/" + d.ID, nil},
		{"POST", "/workspaces/" + theirs.ID + "/memories/search", map[string]any{"query": "okapi", "project_ids": []string{p.ID}}},
	} {
		fails(t, c.do3(r.method, r.path, otherKey, r.body), http.StatusNotFound, "NOT_FOUND")
	}
	// Nothing of ours changed.
	if l := walk[wireV3Document](c, c.key, docs, 20); len(l) != 1 || l[0].ID != d.ID {
		t.Fatalf("after the other key's requests: %+v", l)
	}
	ok(t, c.do3("GET", "/workspaces/"+ws.ID+"/projects/"+p.ID, c.key, nil), nil)

	// The master key acts in the default Shelf workspace: it sees neither.
	master := shelftest.MasterKey
	if l := walk[wireWorkspace](c, master, "/workspaces", 20); len(l) != 0 {
		t.Fatalf("the master key lists %+v", l)
	}
	fails(t, c.do3("GET", "/workspaces/"+ws.ID, master, nil), http.StatusNotFound, "NOT_FOUND")
	mine := c.createWorkspace(master, "Default's", "w", nil)
	if l := walk[wireWorkspace](c, master, "/workspaces", 20); len(l) != 1 || l[0].ID != mine.ID {
		t.Fatalf("the master key lists %+v", l)
	}
	fails(t, c.do3("GET", "/workspaces/"+mine.ID, c.key, nil), http.StatusNotFound, "NOT_FOUND")

	// A read-only key reads and searches, and writes nothing.
	ro := c.readKey()
	ok(t, c.do3("GET", docs, ro, nil), nil)
	ok(t, c.do3("POST", "/workspaces/"+ws.ID+"/memories/search", ro, map[string]any{"query": "okapi"}), nil)
	fails(t, c.do3("POST", "/workspaces", ro, map[string]any{"name": "x", "custom_id": "y"}), http.StatusForbidden, "ACCESS_DENIED")
	fails(t, c.do3("DELETE", docs, ro, map[string]any{"ids": []string{d.ID}}), http.StatusForbidden, "ACCESS_DENIED")
	fails(t, c.do3("GET", "/workspaces", "", nil), http.StatusUnauthorized, "UNAUTHORIZED")
}

// snapshotV3 is every v3 workspace, project and document, as the API
// shows them.
func (c *tc) snapshotV3() string {
	c.t.Helper()
	var b strings.Builder
	for _, w := range walk[wireWorkspace](c, c.key, "/workspaces", 100) {
		j, _ := json.Marshal(w)
		b.Write(j)
		for _, p := range walk[wireV3Project](c, c.key, "/workspaces/"+w.ID+"/projects", 100) {
			j, _ := json.Marshal(p)
			b.Write(j)
			j, _ = json.Marshal(walk[wireV3Document](c, c.key, "/workspaces/"+w.ID+"/projects/"+p.ID+"/memories/documents", 100))
			b.Write(j)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// tokenOf returns the continuation token of path's first page at size 1.
func (c *tc) tokenOf(path string) string {
	c.t.Helper()
	var page struct {
		ContinuationToken *string `json:"continuation_token"`
	}
	ok(c.t, c.do3("GET", path+"?page_size=1", c.key, nil), &page)
	if page.ContinuationToken == nil {
		c.t.Fatalf("%s has one page", path)
	}
	return *page.ContinuationToken
}

func TestV3BadInputs(t *testing.T) {
	c := newTC(t, library.Config{})
	f := c.upload("MY_SPACE", "f.txt", []byte("some text"), "")
	ws := c.createWorkspace(c.key, "W", "w", nil)
	c.createWorkspace(c.key, "W2", "w2", nil)
	p := c.createV3Project(ws.ID, "kept", "kept", map[string]any{"description": "as is"})
	c.createV3Project(ws.ID, "kept2", "kept2", nil)
	proj := "/workspaces/" + ws.ID + "/projects/" + p.ID
	docs := proj + "/memories/documents"
	c.importDocs(ws.ID, p.ID, f.ItemID)
	g, err := c.env.Service.GetDocument(c.authed(c.key), p.ID, c.waitV3(docs, 1)[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	// A second document, so that the documents list has a token.
	f2 := c.upload("MY_SPACE", "f2.txt", []byte("more text"), "")
	c.importDocs(ws.ID, p.ID, f2.ItemID)
	c.waitV3(docs, 2)
	before := c.snapshotV3()

	wsToken := c.tokenOf("/workspaces")
	projToken := c.tokenOf("/workspaces/" + ws.ID + "/projects")
	docToken := c.tokenOf(docs)
	long := strings.Repeat("n", 256)
	manyIDs := make([]string, 101)
	for i := range manyIDs {
		manyIDs[i] = f.ItemID
	}
	search := "/workspaces/" + ws.ID + "/memories/search"
	bads := []struct {
		method, path string
		body         any
		msg          string
	}{
		{"GET", "/workspaces?page_size=0", nil, "page_size"},
		{"GET", "/workspaces?page_size=101", nil, "page_size"},
		{"GET", "/workspaces?page_size=x", nil, "page_size"},
		{"GET", "/workspaces?continuation_token=garbage", nil, "continuation_token"},
		{"GET", "/workspaces?continuation_token=" + projToken, nil, "continuation_token"}, // another list's
		{"GET", "/workspaces?continuation_token=" + wsToken + "x", nil, "continuation_token"},
		{"GET", "/workspaces?name_fuzzy=" + url.QueryEscape(long), nil, "255"},
		{"GET", "/workspaces/w?by_custom_id=yes", nil, "by_custom_id"},
		{"GET", "/workspaces/" + ws.ID + "/projects?page_size=0", nil, "page_size"},
		{"GET", "/workspaces/" + ws.ID + "/projects?continuation_token=" + wsToken, nil, "continuation_token"},
		{"GET", "/workspaces/" + ws.ID + "/projects?continuation_token=" + docToken, nil, "continuation_token"},
		{"GET", docs + "?page_size=101", nil, "page_size"},
		{"GET", docs + "?continuation_token=" + projToken, nil, "continuation_token"},
		{"GET", docs + "?continuation_token=v3.", nil, "continuation_token"},
		{"GET", docs + "?name_fuzzy=bad%00", nil, "name filter"},
		{"GET", proj + "?by_custom_id=1", nil, "by_custom_id"},
	}
	for _, route := range []string{"/workspaces", "/workspaces/" + ws.ID + "/projects"} {
		bads = append(bads, []struct {
			method, path string
			body         any
			msg          string
		}{
			{"POST", route, map[string]any{}, "name"},
			{"POST", route, map[string]any{"custom_id": "c"}, "name"},
			{"POST", route, map[string]any{"name": "x"}, "custom_id"},
			{"POST", route, map[string]any{"name": "x", "custom_id": ""}, "custom_id"},
			{"POST", route, map[string]any{"name": "", "custom_id": "c"}, "name"},
			{"POST", route, map[string]any{"name": "  ", "custom_id": "c"}, "name"},
			{"POST", route, map[string]any{"name": long, "custom_id": "c"}, "255"},
			{"POST", route, map[string]any{"name": "x", "custom_id": "a/b"}, "custom_id"},
			{"POST", route, map[string]any{"name": "x", "custom_id": strings.Repeat("c", 256)}, "custom_id"},
			{"POST", route, map[string]any{"name": "x", "custom_id": "c", "description": strings.Repeat("d", 2001)}, "2000"},
			{"POST", route, map[string]any{"name": "x", "custom_id": "c", "metadata": []int{1}}, "metadata"},
			{"POST", route, map[string]any{"name": "x", "custom_id": "c", "metadata": "m"}, "metadata"},
			{"POST", route, map[string]any{"name": 5, "custom_id": "c"}, "name"},
			{"POST", route, `{"name": "x"`, "JSON"},
			{"POST", route, "", "empty"},
		}...)
	}
	bads = append(bads, []struct {
		method, path string
		body         any
		msg          string
	}{
		{"PATCH", proj, map[string]any{"name": ""}, "name"},
		{"PATCH", proj, map[string]any{"name": long}, "255"},
		{"PATCH", proj, map[string]any{"description": strings.Repeat("d", 2001)}, "2000"},
		{"PATCH", proj, `{"name":`, "JSON"},
		{"POST", docs, map[string]any{}, "drive_item_ids"},
		{"POST", docs, map[string]any{"drive_item_ids": []string{}}, "drive_item_ids"},
		{"POST", docs, map[string]any{"drive_item_ids": manyIDs}, "100"},
		{"POST", docs, map[string]any{"drive_item_ids": "x"}, "drive_item_ids"},
		{"POST", docs, `{`, "JSON"},
		{"DELETE", docs, map[string]any{}, "ids"},
		{"DELETE", docs, map[string]any{"ids": []string{}}, "ids"},
		{"DELETE", docs, map[string]any{"ids": manyIDs}, "100"},
		{"DELETE", docs, `{"ids":[`, "JSON"},
		{"POST", search, map[string]any{}, "query"},
		{"POST", search, map[string]any{"query": ""}, "query"},
		{"POST", search, map[string]any{"query": "  "}, "query"},
		{"POST", search, map[string]any{"query": 5}, "query"},
		{"POST", search, map[string]any{"query": "text", "top_k": 0}, "top_k"},
		{"POST", search, map[string]any{"query": "text", "top_k": 101}, "top_k"},
		{"POST", search, map[string]any{"query": "text", "top_k": 1.5}, "top_k"},
		{"POST", search, map[string]any{"query": "text", "memory_types": []string{"episode"}}, "memory_types"},
		{"POST", search, map[string]any{"query": "text", "memory_types": "fact"}, "memory_types"},
		{"POST", search, map[string]any{"query": "text", "project_ids": "p"}, "project_ids"},
		{"POST", search, map[string]any{"query": "text", "project_ids": manyIDs}, "100"},
		{"POST", search, map[string]any{"query": "text", "actor_ids": []string{strings.Repeat("u", 129)}}, "128"},
		// A bad input is refused before any lookup: unknown projects and
		// agents do not turn it into a 404.
		{"POST", search, map[string]any{"query": "", "project_ids": []string{"proj-none"}, "agent_ids": []string{"a"}}, "query"},
		{"POST", search, `{"query":`, "JSON"},
	}...)
	for _, tc := range bads {
		t.Run(fmt.Sprintf("%s %s %v", tc.method, tc.path, tc.body), func(t *testing.T) {
			fails(t, c.do3(tc.method, tc.path, c.key, tc.body), http.StatusBadRequest, "INVALID_ARGUMENT", tc.msg)
		})
	}
	if after := c.snapshotV3(); after != before {
		t.Fatalf("bad inputs changed v3 data:\n%s\nwant\n%s", after, before)
	}
	if _, err := c.env.Service.GetDocument(c.authed(c.key), p.ID, g.ID); err != nil {
		t.Fatalf("the document is gone: %v", err)
	}
}
