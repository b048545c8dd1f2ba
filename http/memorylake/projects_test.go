package memorylake_test

import (
	"bytes"
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
	"github.com/shelfmem/shelf/library"
)

var (
	projectIDShape  = regexp.MustCompile(`^proj-[0-9a-f]{32}$`)
	documentIDShape = regexp.MustCompile(`^doc-[0-9a-f]{32}$`)
	rangeShape      = regexp.MustCompile(`^(p[0-9]+|c[0-9]+-[0-9]+)$`)
)

type wireProject struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	CreatedAt   string          `json:"created_at"`
	UpdatedAt   string          `json:"updated_at"`
	Statistics  map[string]*int `json:"statistics"`
}

type wireDocument struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Status      string `json:"status"`
	DriveItemID string `json:"drive_item_id"`
	CreatedAt   string `json:"created_at"`
}

type listOf[T any] struct {
	Items      []T `json:"items"`
	Total      int `json:"total"`
	Page       int `json:"page"`
	Size       int `json:"size"`
	TotalPages int `json:"total_pages"`
}

type searchAnswer struct {
	Count   int `json:"count"`
	Results []struct {
		Type             string `json:"type"`
		DocumentID       string `json:"document_id"`
		DocumentName     string `json:"document_name"`
		ParagraphBlockID *int   `json:"paragraph_block_id"`
		SourceDocument   struct {
			FileName string `json:"file_name"`
		} `json:"source_document"`
		Highlight struct {
			Chunks []struct {
				Text  string `json:"text"`
				Range string `json:"range"`
			} `json:"chunks"`
		} `json:"highlight"`
	} `json:"results"`
}

var statisticsKeys = []string{"total_history_document_retrieve_tokens", "total_history_document_tokens",
	"total_history_memory_retrieve_tokens", "total_history_memory_tokens", "total_document_tokens",
	"total_memory_tokens", "document_retrieve_count", "memory_retrieve_count"}

func checkStatistics(t *testing.T, p wireProject) {
	t.Helper()
	if len(p.Statistics) != len(statisticsKeys) {
		t.Fatalf("statistics = %v", p.Statistics)
	}
	for _, k := range statisticsKeys {
		if v := p.Statistics[k]; v == nil || *v != 0 {
			t.Fatalf("statistics[%s] = %v, want 0", k, v)
		}
	}
}

func (c *tc) createProject(name, description string) wireProject {
	c.t.Helper()
	var p wireProject
	e := ok(c.t, c.do("POST", "/projects", c.key, map[string]any{"name": name, "description": description}), &p)
	if e.Message != "Operation completed successfully" || !projectIDShape.MatchString(p.ID) || p.Name != name ||
		p.Description != description || p.Statistics != nil {
		c.t.Fatalf("create project answered %s", e.Data)
	}
	checkTimestamp(c.t, "created_at", p.CreatedAt)
	checkTimestamp(c.t, "updated_at", p.UpdatedAt)
	return p
}

func (c *tc) listProjects(query string) listOf[wireProject] {
	c.t.Helper()
	var l listOf[wireProject]
	ok(c.t, c.do("GET", "/projects?"+query, c.key, nil), &l)
	return l
}

func projectNamesOf(ps []wireProject) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func TestProjects(t *testing.T) {
	c := newTC(t, library.Config{})
	alpha := c.createProject("Alpha one", "the first")
	beta := c.createProject("beta", "")
	alpha2 := c.createProject("ALPHA_two", "")
	c.createProject("100% cotton", "")

	l := c.listProjects("")
	if got := projectNamesOf(l.Items); !slices.Equal(got, []string{"Alpha one", "beta", "ALPHA_two", "100% cotton"}) ||
		l.Total != 4 || l.Page != 1 || l.Size != 20 || l.TotalPages != 1 {
		t.Fatalf("list = %+v", l)
	}
	for _, p := range l.Items {
		checkStatistics(t, p)
	}
	for _, c2 := range []struct {
		query      string
		want       []string
		total, pgs int
	}{
		{"page=1&size=3", []string{"Alpha one", "beta", "ALPHA_two"}, 4, 2},
		{"page=2&size=3", []string{"100% cotton"}, 4, 2},
		{"page=3&size=3", nil, 4, 2},
		{"name_fuzzy=alpha", []string{"Alpha one", "ALPHA_two"}, 2, 1},
		{"name_fuzzy=alpha&size=1&page=2", []string{"ALPHA_two"}, 2, 2},
		{"name_fuzzy=" + url.QueryEscape("%"), []string{"100% cotton"}, 1, 1},
		{"name_fuzzy=_", []string{"ALPHA_two"}, 1, 1},
		{"name_fuzzy=nothing", nil, 0, 0},
	} {
		l := c.listProjects(c2.query)
		if got := projectNamesOf(l.Items); !slices.Equal(got, c2.want) || l.Total != c2.total || l.TotalPages != c2.pgs || l.Items == nil {
			t.Fatalf("list ?%s = %q total %d pages %d, want %q %d %d", c2.query, got, l.Total, l.TotalPages, c2.want, c2.total, c2.pgs)
		}
	}

	var got wireProject
	ok(t, c.do("GET", "/projects/"+alpha.ID, c.key, nil), &got)
	checkStatistics(t, got)
	if got.ID != alpha.ID || got.Name != alpha.Name || got.Description != "the first" || got.CreatedAt != alpha.CreatedAt {
		t.Fatalf("get = %+v", got)
	}

	// Update is partial.
	e := ok(t, c.do("PUT", "/projects/"+alpha.ID, c.key, map[string]any{"name": "Alpha renamed"}), &got)
	if e.Message != "Project updated successfully" || got.Name != "Alpha renamed" || got.Description != "the first" {
		t.Fatalf("update name = %s %+v", e.Message, got)
	}
	ok(t, c.do("PUT", "/projects/"+alpha.ID, c.key, map[string]any{"description": ""}), &got)
	if got.Name != "Alpha renamed" || got.Description != "" {
		t.Fatalf("update description = %+v", got)
	}
	ok(t, c.do("GET", "/projects/"+alpha.ID, c.key, nil), &got)
	if got.Name != "Alpha renamed" || got.Description != "" {
		t.Fatalf("get after update = %+v", got)
	}

	// Another workspace sees none of them.
	_, otherKey := c.env.Workspace(t, "other", shelf.ScopeWrite)
	fails(t, c.do("GET", "/projects/"+beta.ID, otherKey, nil), http.StatusNotFound, "NOT_FOUND")
	fails(t, c.do("PUT", "/projects/"+beta.ID, otherKey, map[string]any{"name": "x"}), http.StatusNotFound, "NOT_FOUND")
	fails(t, c.do("DELETE", "/projects/"+beta.ID, otherKey, nil), http.StatusNotFound, "NOT_FOUND")
	var ol listOf[wireProject]
	ok(t, c.do("GET", "/projects", otherKey, nil), &ol)
	if len(ol.Items) != 0 || ol.Total != 0 {
		t.Fatalf("other workspace lists %+v", ol)
	}
	// A read-only key reads but does not write.
	ro := c.readKey()
	ok(t, c.do("GET", "/projects/"+beta.ID, ro, nil), nil)
	fails(t, c.do("POST", "/projects", ro, map[string]any{"name": "x"}), http.StatusForbidden, "ACCESS_DENIED")

	e = ok(t, c.do("DELETE", "/projects/"+beta.ID, c.key, nil), nil)
	if e.Message != "Project deleted successfully" || e.Data != nil {
		t.Fatalf("delete answered %+v", e)
	}
	fails(t, c.do("GET", "/projects/"+beta.ID, c.key, nil), http.StatusNotFound, "NOT_FOUND")
	fails(t, c.do("DELETE", "/projects/"+beta.ID, c.key, nil), http.StatusNotFound, "NOT_FOUND")
	if got := projectNamesOf(c.listProjects("").Items); !slices.Equal(got, []string{"Alpha renamed", "ALPHA_two", "100% cotton"}) {
		t.Fatalf("after delete: %q", got)
	}
	_ = alpha2
}

type addAnswer struct {
	SuccessCount *int `json:"success_count"`
	FailureCount *int `json:"failure_count"`
}

func (c *tc) addDocuments(projectID string, ids ...string) (int, int) {
	c.t.Helper()
	var a addAnswer
	ok(c.t, c.do("POST", "/projects/"+projectID+"/documents", c.key, map[string]any{"drive_item_ids": ids}), &a)
	if a.SuccessCount == nil || a.FailureCount == nil {
		c.t.Fatalf("add documents answered no counts")
	}
	return *a.SuccessCount, *a.FailureCount
}

func (c *tc) documents(projectID, query string) listOf[wireDocument] {
	c.t.Helper()
	var l listOf[wireDocument]
	ok(c.t, c.do("GET", "/projects/"+projectID+"/documents?"+query, c.key, nil), &l)
	return l
}

// waitIndexed polls a project's documents until every one is okay, and
// fails on an error status or at the deadline.
func (c *tc) waitIndexed(projectID string, n int) []wireDocument {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		l := c.documents(projectID, "size=100")
		done := len(l.Items) == n
		for _, d := range l.Items {
			switch d.Status {
			case "okay":
			case "pending", "running":
				done = false
			default:
				c.t.Fatalf("document %s (%s) has status %q", d.ID, d.Name, d.Status)
			}
		}
		if done {
			return l.Items
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("documents not indexed in time: %+v", l.Items)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *tc) search(projectID string, body any) searchAnswer {
	c.t.Helper()
	var a searchAnswer
	ok(c.t, c.do("POST", "/projects/"+projectID+"/documents/search", c.key, body), &a)
	if a.Count != len(a.Results) {
		c.t.Fatalf("count %d for %d results", a.Count, len(a.Results))
	}
	return a
}

func docByName(t *testing.T, docs []wireDocument, name string) wireDocument {
	t.Helper()
	for _, d := range docs {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("no document %q in %+v", name, docs)
	return wireDocument{}
}

func TestProjectDocuments(t *testing.T) {
	c := newTC(t, library.Config{})
	docs := c.folder("MY_SPACE", "docs", "")
	deep := c.folder(docs.ItemID, "deep", "")
	aData := []byte("The zebra grazes on the savanna at dawn.\n")
	a := c.upload(docs.ItemID, "a.txt", aData, "")
	b := c.upload(deep.ItemID, "b.md", []byte("# Notes\n\nA quokka lives on the island.\n"), "")
	bin := c.upload(docs.ItemID, "blob.bin", randomBytes(300, 1), "")
	outside := c.upload("MY_SPACE", "outside.txt", []byte("A narwhal and a zebra swim outside.\n"), "")
	_, otherKey := c.env.Workspace(t, "other", shelf.ScopeWrite)
	foreign := (&tc{t: t, env: c.env, key: otherKey}).upload("MY_SPACE", "theirs.txt", []byte("their zebra"), "")

	p := c.createProject("research", "")
	// The folder flattens to a.txt and b.md, and blob.bin, which Shelf
	// cannot read and which a folder import skips without a word; a.txt
	// named again counts once; an unknown id and another workspace's file
	// are failures.
	okN, failN := c.addDocuments(p.ID, docs.ItemID, a.ItemID, "no-such-item", foreign.ItemID)
	if okN != 2 || failN != 2 {
		t.Fatalf("add = %d ok, %d failed; want 2, 2", okN, failN)
	}
	// Again: in the project already is a success, and no second document.
	if okN, failN = c.addDocuments(p.ID, a.ItemID); okN != 1 || failN != 0 {
		t.Fatalf("add again = %d, %d", okN, failN)
	}
	// Named directly, an unreadable file is a failure.
	if okN, failN = c.addDocuments(p.ID, bin.ItemID); okN != 0 || failN != 1 {
		t.Fatalf("add .bin = %d, %d", okN, failN)
	}
	fails(t, c.do("POST", "/projects/proj-00000000000000000000000000000000/documents", c.key,
		map[string]any{"drive_item_ids": []string{a.ItemID}}), http.StatusNotFound, "NOT_FOUND", "project")
	fails(t, c.do("POST", "/projects/"+p.ID+"/documents", otherKey,
		map[string]any{"drive_item_ids": []string{foreign.ItemID}}), http.StatusNotFound, "NOT_FOUND")

	// outside.txt goes into another project, so that it is indexed too.
	other := c.createProject("elsewhere", "")
	if okN, failN = c.addDocuments(other.ID, outside.ItemID); okN != 1 || failN != 0 {
		t.Fatalf("add outside = %d, %d", okN, failN)
	}

	l := c.documents(p.ID, "")
	if l.Total != 2 || len(l.Items) != 2 || l.Page != 1 || l.Size != 20 || l.TotalPages != 1 {
		t.Fatalf("documents = %+v", l)
	}
	for _, d := range l.Items {
		if !documentIDShape.MatchString(d.ID) || !slices.Contains([]string{"pending", "running", "okay"}, d.Status) {
			t.Fatalf("document = %+v", d)
		}
		checkTimestamp(t, "created_at", d.CreatedAt)
	}
	if got := []string{l.Items[0].Name, l.Items[1].Name}; !slices.Contains(got, "a.txt") || !slices.Contains(got, "b.md") {
		t.Fatalf("documents are %q", got)
	}
	if l2 := c.documents(p.ID, "page=2&size=1"); len(l2.Items) != 1 || l2.Items[0].ID != l.Items[1].ID || l2.Total != 2 || l2.TotalPages != 2 {
		t.Fatalf("page 2 = %+v", l2)
	}

	got := c.waitIndexed(p.ID, 2)
	c.waitIndexed(other.ID, 1)
	docA, docB := docByName(t, got, "a.txt"), docByName(t, got, "b.md")
	if docA.DriveItemID != a.ItemID || docB.DriveItemID != b.ItemID {
		t.Fatalf("drive_item_id: %+v %+v", docA, docB)
	}
	var one wireDocument
	ok(t, c.do("GET", "/projects/"+p.ID+"/documents/"+docA.ID, c.key, nil), &one)
	if one != docA {
		t.Fatalf("get document = %+v, want %+v", one, docA)
	}
	fails(t, c.do("GET", "/projects/"+other.ID+"/documents/"+docA.ID, c.key, nil), http.StatusNotFound, "NOT_FOUND")
	fails(t, c.do("GET", "/projects/"+p.ID+"/documents/doc-00000000000000000000000000000000", c.key, nil), http.StatusNotFound, "NOT_FOUND")

	// Search finds the project's text, and not a library file's outside it.
	res := c.search(p.ID, map[string]any{"query": "zebra"})
	if res.Count != 1 {
		t.Fatalf("search zebra = %+v", res)
	}
	r0 := res.Results[0]
	if r0.Type != "paragraph" || r0.DocumentID != docA.ID || r0.DocumentName != "a.txt" || r0.SourceDocument.FileName != "a.txt" ||
		r0.ParagraphBlockID == nil || len(r0.Highlight.Chunks) != 1 || !strings.Contains(r0.Highlight.Chunks[0].Text, "zebra grazes") ||
		!rangeShape.MatchString(r0.Highlight.Chunks[0].Range) {
		t.Fatalf("result = %+v", r0)
	}
	if res := c.search(p.ID, map[string]any{"query": "narwhal"}); res.Count != 0 || res.Results == nil {
		t.Fatalf("search narwhal in project = %+v", res)
	}
	if res := c.search(other.ID, map[string]any{"query": "narwhal"}); res.Count != 1 || res.Results[0].DocumentName != "outside.txt" {
		t.Fatalf("search narwhal in the other project = %+v", res)
	}
	if res := c.search(p.ID, map[string]any{"query": "zebra quokka", "top_n": 1}); res.Count != 1 {
		t.Fatalf("top_n 1 = %+v", res)
	}
	fails(t, c.do("POST", "/projects/"+p.ID+"/documents/search", otherKey, map[string]any{"query": "zebra"}), http.StatusNotFound, "NOT_FOUND")

	// Download streams the file.
	r := c.do("GET", "/projects/"+p.ID+"/documents/"+docA.ID+"/download", c.key, nil)
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, aData) || r.Header.Get("Content-Disposition") != "attachment; filename=a.txt" {
		t.Fatalf("download = %d %q %v", r.Status, r.Body, r.Header)
	}
	fails(t, c.do("GET", "/projects/"+p.ID+"/documents/doc-00000000000000000000000000000000/download", c.key, nil),
		http.StatusNotFound, "NOT_FOUND")

	// Removing a document leaves its file; unknown ids are ignored.
	e := ok(t, c.do("DELETE", "/projects/"+p.ID+"/documents", c.key,
		map[string]any{"ids": []string{docA.ID, "doc-00000000000000000000000000000000"}}), nil)
	if e.Message != "Documents removed successfully" {
		t.Fatalf("remove answered %+v", e)
	}
	if l := c.documents(p.ID, ""); l.Total != 1 || l.Items[0].ID != docB.ID {
		t.Fatalf("after remove: %+v", l)
	}
	c.item(c.key, a.ItemID)
	if res := c.search(p.ID, map[string]any{"query": "zebra"}); res.Count != 0 {
		t.Fatalf("search after remove = %+v", res)
	}
	// A document outlives its file: deleting b.md from the Library leaves
	// the document, readable and searchable.
	ok(t, c.do("DELETE", "/drives/items/"+b.ItemID, c.key, nil), nil)
	if l := c.documents(p.ID, ""); l.Total != 1 || l.Items[0] != docB {
		t.Fatalf("after deleting the file: %+v, want %+v", l, docB)
	}
	if res := c.search(p.ID, map[string]any{"query": "quokka"}); res.Count != 1 || res.Results[0].DocumentID != docB.ID {
		t.Fatalf("search after deleting the file = %+v", res)
	}
	// MY_SPACE (and ROOT) stand for the whole Library: a.txt and
	// outside.txt are readable; blob.bin, inside it, is skipped.
	if okN, failN = c.addDocuments(p.ID, "MY_SPACE"); okN != 2 || failN != 0 {
		t.Fatalf("add MY_SPACE = %d, %d", okN, failN)
	}
	if okN, failN = c.addDocuments(p.ID, "ROOT"); okN != 2 || failN != 0 {
		t.Fatalf("add ROOT = %d, %d", okN, failN)
	}
	c.waitIndexed(p.ID, 3)
	// Deleting the project leaves the files.
	ok(t, c.do("DELETE", "/projects/"+p.ID, c.key, nil), nil)
	fails(t, c.do("GET", "/projects/"+p.ID+"/documents", c.key, nil), http.StatusNotFound, "NOT_FOUND")
	c.item(c.key, outside.ItemID)
}

// TestDocumentReindex checks that adding a file again whose document's
// index was cleared queues it again, and that such a document shows
// "error" until then.
func TestDocumentReindex(t *testing.T) {
	c := newTC(t, library.Config{})
	f := c.upload("MY_SPACE", "note.txt", []byte("an okapi in the forest"), "")
	p := c.createProject("p", "")
	c.addDocuments(p.ID, f.ItemID)
	doc := c.waitIndexed(p.ID, 1)[0]
	ctx := c.env.Context(t)
	pr, err := c.env.Service.Authenticate(ctx, c.key)
	if err != nil {
		t.Fatal(err)
	}
	ctx = shelf.NewContext(ctx, pr)
	// Clearing the library file's index leaves the document's own.
	if _, err := c.env.Service.ClearIndex(ctx, f.ItemID); err != nil {
		t.Fatal(err)
	}
	if res := c.search(p.ID, map[string]any{"query": "okapi"}); res.Count != 1 {
		t.Fatalf("search after clearing the file's index = %+v", res)
	}
	d, err := c.env.Service.GetDocument(ctx, p.ID, doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.env.Service.ClearIndex(ctx, d.ItemID); err != nil {
		t.Fatal(err)
	}
	if l := c.documents(p.ID, ""); l.Items[0].Status != "error" {
		t.Fatalf("status after clear = %q, want error", l.Items[0].Status)
	}
	if res := c.search(p.ID, map[string]any{"query": "okapi"}); res.Count != 0 {
		t.Fatalf("search after clear = %+v", res)
	}
	if okN, failN := c.addDocuments(p.ID, f.ItemID); okN != 1 || failN != 0 {
		t.Fatalf("add again = %d, %d", okN, failN)
	}
	c.waitIndexed(p.ID, 1)
	if res := c.search(p.ID, map[string]any{"query": "okapi"}); res.Count != 1 {
		t.Fatalf("search after re-add = %+v", res)
	}
}

// snapshotProjects is every project and its documents, as the API shows
// them.
func (c *tc) snapshotProjects() string {
	c.t.Helper()
	var b strings.Builder
	for _, p := range c.listProjects("size=100").Items {
		j, _ := json.Marshal(p)
		b.Write(j)
		j, _ = json.Marshal(c.documents(p.ID, "size=100"))
		b.Write(j)
		b.WriteString("\n")
	}
	return b.String()
}

func TestProjectBadInputs(t *testing.T) {
	c := newTC(t, library.Config{})
	f := c.upload("MY_SPACE", "f.txt", []byte("some text"), "")
	p := c.createProject("kept", "as is")
	c.addDocuments(p.ID, f.ItemID)
	c.waitIndexed(p.ID, 1)
	doc := c.documents(p.ID, "").Items[0]
	before := c.snapshotProjects()

	long := strings.Repeat("n", 256)
	manyIDs := make([]string, 101)
	for i := range manyIDs {
		manyIDs[i] = f.ItemID
	}
	proj := "/projects/" + p.ID
	for _, tc := range []struct {
		method, path string
		body         any
		msg          string
	}{
		{"POST", "/projects", map[string]any{}, "name"},
		{"POST", "/projects", map[string]any{"name": ""}, "name"},
		{"POST", "/projects", map[string]any{"name": "  "}, "name"},
		{"POST", "/projects", map[string]any{"name": long}, "255"},
		{"POST", "/projects", map[string]any{"name": "x", "description": strings.Repeat("d", 2001)}, "2000"},
		{"POST", "/projects", map[string]any{"name": "bad\x00name"}, "control"},
		{"POST", "/projects", map[string]any{"name": 5}, "name"},
		{"POST", "/projects", `{"name": "x"`, "JSON"},
		{"POST", "/projects", `[]`, ""},
		{"POST", "/projects", "", "empty"},
		{"GET", "/projects?page=0", nil, "page"},
		{"GET", "/projects?page=x", nil, "page"},
		{"GET", "/projects?size=0", nil, "size"},
		{"GET", "/projects?size=101", nil, "size"},
		{"GET", "/projects?name_fuzzy=" + url.QueryEscape(long), nil, "255"},
		{"PUT", proj, map[string]any{"name": ""}, "name"},
		{"PUT", proj, map[string]any{"name": long}, "255"},
		{"PUT", proj, map[string]any{"description": strings.Repeat("d", 2001)}, "2000"},
		{"PUT", proj, `{"name":`, "JSON"},
		{"POST", proj + "/documents", map[string]any{}, "drive_item_ids"},
		{"POST", proj + "/documents", map[string]any{"drive_item_ids": []string{}}, "drive_item_ids"},
		{"POST", proj + "/documents", map[string]any{"drive_item_ids": manyIDs}, "100"},
		{"POST", proj + "/documents", map[string]any{"drive_item_ids": "x"}, "drive_item_ids"},
		{"POST", proj + "/documents", `{`, "JSON"},
		{"GET", proj + "/documents?size=0", nil, "size"},
		{"GET", proj + "/documents?page=-1", nil, "page"},
		{"DELETE", proj + "/documents", map[string]any{}, "ids"},
		{"DELETE", proj + "/documents", map[string]any{"ids": []string{}}, "ids"},
		{"DELETE", proj + "/documents", map[string]any{"ids": manyIDs}, "100"},
		{"DELETE", proj + "/documents", `{"ids":[`, "JSON"},
		{"POST", proj + "/documents/search", map[string]any{}, "query"},
		{"POST", proj + "/documents/search", map[string]any{"query": ""}, "query"},
		{"POST", proj + "/documents/search", map[string]any{"query": 5}, "query"},
		{"POST", proj + "/documents/search", map[string]any{"query": "text", "top_n": 0}, "top_n"},
		{"POST", proj + "/documents/search", map[string]any{"query": "text", "top_n": -1}, "top_n"},
		{"POST", proj + "/documents/search", map[string]any{"query": "text", "top_n": 101}, "top_n"},
		{"POST", proj + "/documents/search", map[string]any{"query": "text", "top_n": 1.5}, "top_n"},
		{"POST", proj + "/documents/search", `{"query":`, "JSON"},
	} {
		t.Run(fmt.Sprintf("%s %s %v", tc.method, tc.path, tc.body), func(t *testing.T) {
			fails(t, c.do(tc.method, tc.path, c.key, tc.body), http.StatusBadRequest, "INVALID_ARGUMENT", tc.msg)
		})
	}
	if after := c.snapshotProjects(); after != before {
		t.Fatalf("bad inputs changed projects:\n%s\nwant\n%s", after, before)
	}

	// Every route of an unknown project is 404 NOT_FOUND.
	unknown := "/projects/proj-00000000000000000000000000000000"
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"GET", unknown, nil},
		{"PUT", unknown, map[string]any{"name": "x"}},
		{"DELETE", unknown, nil},
		{"POST", unknown + "/documents", map[string]any{"drive_item_ids": []string{f.ItemID}}},
		{"GET", unknown + "/documents", nil},
		{"DELETE", unknown + "/documents", map[string]any{"ids": []string{doc.ID}}},
		{"GET", unknown + "/documents/" + doc.ID, nil},
		{"GET", unknown + "/documents/" + doc.ID + "/download", nil},
		{"POST", unknown + "/documents/search", map[string]any{"query": "text"}},
	} {
		fails(t, c.do(tc.method, tc.path, c.key, tc.body), http.StatusNotFound, "NOT_FOUND")
	}
	if after := c.snapshotProjects(); after != before {
		t.Fatalf("unknown projects changed projects:\n%s\nwant\n%s", after, before)
	}
}

// TestDocumentsOutliveTheirFiles checks, over HTTP, that a document keeps
// the version it imported while its Library file is overwritten, replaced
// and deleted, stays searchable and downloadable, and takes the file's new
// bytes only when Add Documents is called again.
func TestDocumentsOutliveTheirFiles(t *testing.T) {
	c := newTC(t, library.Config{})
	v1 := []byte("Version one mentions an ibex.\n")
	f := c.upload("MY_SPACE", "notes.txt", v1, "")
	p := c.createProject("p", "")
	c.addDocuments(p.ID, f.ItemID)
	doc := c.waitIndexed(p.ID, 1)[0]
	download := func() []byte {
		t.Helper()
		r := c.do("GET", "/projects/"+p.ID+"/documents/"+doc.ID+"/download", c.key, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("download = %d %s", r.Status, r.Body)
		}
		return r.Body
	}
	found := func(word string) int {
		t.Helper()
		return c.search(p.ID, map[string]any{"query": word}).Count
	}

	// overwrite keeps the item id and changes its bytes: not the document's.
	over := c.upload("MY_SPACE", "notes.txt", []byte("Version two mentions a yak.\n"), "overwrite")
	if over.ItemID != f.ItemID {
		t.Fatalf("overwrite made a new item")
	}
	// replace makes a new item at the name: not the document's either.
	repl := c.upload("MY_SPACE", "notes.txt", []byte("Version three mentions a gnu.\n"), "replace")
	if repl.ItemID == f.ItemID {
		t.Fatalf("replace kept the item id")
	}
	time.Sleep(50 * time.Millisecond) // let any indexing the writes queued run
	c.waitIndexed(p.ID, 1)
	if got := download(); !bytes.Equal(got, v1) || found("ibex") != 1 || found("yak") != 0 || found("gnu") != 0 {
		t.Fatalf("after overwrite and replace: %q, ibex %d yak %d gnu %d", got, found("ibex"), found("yak"), found("gnu"))
	}
	if l := c.documents(p.ID, ""); l.Total != 1 || l.Items[0] != doc {
		t.Fatalf("documents = %+v, want %+v", l.Items, doc)
	}
	// The file replace made is another file: importing it adds a document.
	if okN, failN := c.addDocuments(p.ID, repl.ItemID); okN != 1 || failN != 0 {
		t.Fatalf("add the replacement = %d, %d", okN, failN)
	}
	c.waitIndexed(p.ID, 2)
	if found("gnu") != 1 || found("ibex") != 1 {
		t.Fatalf("after adding the replacement: gnu %d ibex %d", found("gnu"), found("ibex"))
	}
	// Deleting the replacement leaves its document.
	ok(t, c.do("DELETE", "/drives/items/"+repl.ItemID, c.key, nil), nil)
	if l := c.documents(p.ID, ""); l.Total != 2 || found("gnu") != 1 {
		t.Fatalf("after deleting the replacement: %+v, gnu %d", l.Items, found("gnu"))
	}
	if got := download(); !bytes.Equal(got, v1) {
		t.Fatalf("download after the deletes = %q", got)
	}
}
