package http_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/shelfmem/shelf/internal/shelftest"
	"github.com/shelfmem/shelf/library"
)

type searchResp struct {
	Hits []struct {
		ItemID    string `json:"item_id"`
		LibraryID string `json:"library_id"`
		Path      string `json:"path"`
		Version   int64  `json:"version"`
		Chunk     struct {
			Index, Start, End, Page int
			Text                    string
		} `json:"chunk"`
		Highlight string  `json:"highlight"`
		Score     float64 `json:"score"`
	} `json:"hits"`
	Mode   string   `json:"mode"`
	TookMS *float64 `json:"took_ms"`
	Notice string   `json:"notice"`
}

func doSearch(t *testing.T, e *shelftest.Env, key string, body any) searchResp {
	t.Helper()
	r := e.Do(t, "POST", "/v1/search", key, body)
	if r.Status != http.StatusOK {
		t.Fatalf("search %v: %d %s", body, r.Status, r.Body)
	}
	var out searchResp
	r.JSON(t, &out)
	if out.TookMS == nil || out.Hits == nil {
		t.Fatalf("search response lacks took_ms or hits: %s", r.Body)
	}
	return out
}

func paths(s searchResp) []string {
	var out []string
	for _, h := range s.Hits {
		out = append(out, h.Path)
	}
	slices.Sort(out)
	return out
}

func TestSearchAPI(t *testing.T) {
	e := shelftest.New(t, library.Config{})
	put := func(path, ct, body string) string {
		t.Helper()
		r := e.Do(t, "PUT", "/v1/files/"+path, master, strings.NewReader(body))
		if r.Status != http.StatusOK && r.Status != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", path, r.Status, r.Body)
		}
		var w struct {
			Item struct{ ID string } `json:"item"`
		}
		r.JSON(t, &w)
		return w.Item.ID
	}
	guide := put("docs/guide.md", "", "# Setup\n\nInstall the otter package, then configure the otter daemon.\n")
	put("docs/api/ref.md", "", "The otter API reference.")
	put("notes/todo.txt", "", "feed the otter; buy milk")
	st := e.WaitIndexed(t, master)
	if st["indexed"] != 3.0 || st["failed"] != 0.0 || st["embedder"] != nil {
		t.Fatalf("index status %v", st)
	}

	res := doSearch(t, e, master, map[string]any{"query": "otters configuration"})
	if res.Mode != "keyword" || len(res.Hits) != 3 || res.Hits[0].Path != "docs/guide.md" || res.Hits[0].ItemID != guide {
		t.Fatalf("search = %+v", res)
	}
	h := res.Hits[0]
	if h.Version != 1 || h.LibraryID == "" || h.Score <= 0 || !strings.Contains(h.Highlight, "«otter»") ||
		h.Chunk.Text == "" || h.Chunk.End <= h.Chunk.Start {
		t.Fatalf("hit %+v", h)
	}
	if got := paths(doSearch(t, e, master, map[string]any{"query": "otter", "filters": map[string]any{"path_prefix": "/docs"}})); !slices.Equal(got, []string{"docs/api/ref.md", "docs/guide.md"}) {
		t.Fatalf("path_prefix: %v", got)
	}
	if got := paths(doSearch(t, e, master, map[string]any{"query": "otter", "filters": map[string]any{"content_type": []string{"text/plain"}}})); !slices.Equal(got, []string{"notes/todo.txt"}) {
		t.Fatalf("content_type: %v", got)
	}
	if got := doSearch(t, e, master, map[string]any{"query": "otter", "top_k": 1}); len(got.Hits) != 1 {
		t.Fatalf("top_k 1: %d hits", len(got.Hits))
	}
	if got := doSearch(t, e, master, map[string]any{"query": "otter", "mode": "hybrid"}); got.Mode != "keyword" || got.Notice == "" {
		t.Fatalf("hybrid without an embedder: %+v", got)
	}

	// Index control.
	r := e.Do(t, "DELETE", "/v1/items/"+guide+"/index", master, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("clear: %d %s", r.Status, r.Body)
	}
	if got := paths(doSearch(t, e, master, map[string]any{"query": "daemon"})); len(got) != 0 {
		t.Fatalf("cleared file found: %v", got)
	}
	if r := e.Do(t, "POST", "/v1/items/"+guide+"/index", master, nil); r.Status != http.StatusAccepted {
		t.Fatalf("index: %d %s", r.Status, r.Body)
	}
	e.WaitIndexed(t, master)
	if got := paths(doSearch(t, e, master, map[string]any{"query": "daemon"})); len(got) != 1 {
		t.Fatalf("re-indexed file not found: %v", got)
	}
	r = e.Do(t, "POST", "/v1/index/reindex", master, map[string]any{"globs": []string{"/docs/**/*.md"}})
	if r.Status != http.StatusAccepted || !strings.Contains(string(r.Body), `"queued":2`) {
		t.Fatalf("reindex: %d %s", r.Status, r.Body)
	}
	e.WaitIndexed(t, master)
	r = e.Do(t, "GET", "/v1/items/"+guide, master, nil)
	if !strings.Contains(string(r.Body), `"state":"indexed"`) {
		t.Fatalf("file after reindex: %s", r.Body)
	}
	// A folder says how many files below it are still being indexed.
	var kids struct {
		Items []struct{ ID, Name string } `json:"items"`
	}
	e.Do(t, "GET", "/v1/items/root/children", master, nil).JSON(t, &kids)
	found := false
	for _, k := range kids.Items {
		if k.Name == "docs" {
			found = true
			if r := e.Do(t, "GET", "/v1/items/"+k.ID, master, nil); !strings.Contains(string(r.Body), `"indexing":0`) {
				t.Fatalf("folder: %s", r.Body)
			}
		}
	}
	if !found {
		t.Fatalf("no docs folder among %+v", kids.Items)
	}

	// Another workspace finds nothing of this one, and cannot touch its
	// files' index.
	_, other := e.Workspace(t, "other")
	if got := doSearch(t, e, other, map[string]any{"query": "otter"}); len(got.Hits) != 0 {
		t.Fatalf("another workspace found %v", paths(got))
	}
	if r := e.Do(t, "POST", "/v1/items/"+guide+"/index", other, nil); r.Status != http.StatusNotFound {
		t.Fatalf("foreign index: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "POST", "/v1/search", "", map[string]any{"query": "otter"}); r.Status != http.StatusUnauthorized {
		t.Fatalf("no key: %d", r.Status)
	}

	for _, bad := range []string{
		`{}`, `{"query":""}`, `{"query":"x","top_k":0}`, `{"query":"x","top_k":101}`, `{"query":"x","top_k":"ten"}`,
		`{"query":"x","mode":"fuzzy"}`, `{"query":"x","mode":"semantic"}`, `{"query":"x","filters":{"path":"/docs"}}`,
		`{"query":"x","filter":{}}`, `{"query":"x","filters":{"created_after":"yesterday"}}`,
		`{"query":"x","filters":{"path_prefix":"../x"}}`, `{"query":"x","filters":{"metadata":{"k":{"a":1}}}}`,
		`{"query":"x","filters":{"content_type":5}}`, `{"query":"x","filters":{"library":"nope"}}`,
		`{"query":"x","filters":{"project":"nope"}}`, `[1]`, `{"query":"x"`, `{"query":"x"} {}`,
		fmt.Sprintf(`{"query":%q}`, strings.Repeat("w ", 3000)),
		`{"query":"x","filters":{"created_after":"2025-01-02T00:00:00Z","created_before":"2025-01-01T00:00:00Z"}}`,
	} {
		r := e.Do(t, "POST", "/v1/search", master, bad)
		if r.Status != http.StatusBadRequest && r.Status != http.StatusNotFound {
			t.Errorf("search %.60s: %d %s, want 400 or 404", bad, r.Status, r.Body)
		}
		if !strings.Contains(string(r.Body), `"error"`) {
			t.Errorf("search %.60s: body %s is not the native error", bad, r.Body)
		}
	}
	for _, bad := range []string{`{"globs":[]}`, `{"globs":["/a/**.md"]}`, `{"globs":["/../x"]}`, `{"globs":["/x"],"library":"nope"}`, `{"glob":["/x"]}`} {
		if r := e.Do(t, "POST", "/v1/index/reindex", master, bad); r.Status != http.StatusBadRequest && r.Status != http.StatusNotFound {
			t.Errorf("reindex %s: %d %s", bad, r.Status, r.Body)
		}
	}
}
