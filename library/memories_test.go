package library_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/library"
)

func memContents(ms []*library.Memory) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Content)
	}
	return out
}

// hitContents is the hits' contents, sorted: ties in score may come in
// either order.
func hitContents(hs []library.MemoryHit) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Memory.Content)
	}
	slices.Sort(out)
	return out
}

// TestMemories checks that messages are remembered word for word, per
// user, listed with filters, forgotten (listed as expired, never found)
// and deleted, and searched with a score in [0, 1] and a threshold.
func TestMemories(t *testing.T) {
	e := newEnv(t, library.Config{})
	proj := e.project(t, "chat")
	other := e.project(t, "other")
	ms, err := e.svc.AddMemories(e.ctx, proj.ID, library.MemoryInput{UserID: "alice", SessionID: "s1",
		Metadata: json.RawMessage(`{"app":"demo"}`),
		Messages: []library.Message{
			{Role: "user", Content: "I love hiking in the Alps with my dog"},
			{Role: "assistant", Content: "   "}, // no content: left out
			{Role: "assistant", Content: "The Alps have great hiking trails"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || !strings.HasPrefix(ms[0].ID, "mem-") || ms[0].UserID != "alice" || ms[0].Role != "user" ||
		ms[0].SessionID != "s1" || string(ms[0].Metadata) != `{"app":"demo"}` || ms[0].Expired {
		t.Fatalf("added %+v", ms)
	}
	if _, err := e.svc.AddMemories(e.ctx, proj.ID, library.MemoryInput{UserID: "bob/../x", Messages: []library.Message{
		{Role: "user", Content: "Bob prefers the sea to hiking"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddMemories(e.ctx, other.ID, library.MemoryInput{UserID: "alice", Messages: []library.Message{
		{Role: "user", Content: "hiking elsewhere"}}}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []library.MemoryInput{
		{Messages: nil},
		{Messages: []library.Message{{Role: "user", Content: " "}}},
		{Messages: []library.Message{{Role: "robot", Content: "x"}}},
		{UserID: strings.Repeat("u", 129), Messages: []library.Message{{Role: "user", Content: "x"}}},
		{Messages: []library.Message{{Role: "user", Content: strings.Repeat("x", library.MaxMemoryBytes+1)}}},
		{Metadata: json.RawMessage(`[1]`), Messages: []library.Message{{Role: "user", Content: "x"}}},
	} {
		_, err := e.svc.AddMemories(e.ctx, proj.ID, bad)
		wantCode(t, err, shelf.EINVALID)
	}
	_, err = e.svc.AddMemories(e.ctx, "proj-none", library.MemoryInput{Messages: []library.Message{{Role: "user", Content: "x"}}})
	wantCode(t, err, shelf.ENOTFOUND)

	list := func(q library.MemoryList) ([]string, int) {
		t.Helper()
		if q.Limit == 0 {
			q.Limit = 10
		}
		got, total, err := e.svc.ListMemories(e.ctx, proj.ID, q)
		if err != nil {
			t.Fatal(err)
		}
		return memContents(got), total
	}
	all := []string{"I love hiking in the Alps with my dog", "The Alps have great hiking trails", "Bob prefers the sea to hiking"}
	if got, total := list(library.MemoryList{}); !slices.Equal(got, all) || total != 3 {
		t.Fatalf("all = %q (%d)", got, total)
	}
	if got, total := list(library.MemoryList{UserID: "bob/../x", ByUser: true}); !slices.Equal(got, all[2:]) || total != 1 {
		t.Fatalf("bob's = %q (%d)", got, total)
	}
	if got, total := list(library.MemoryList{UserID: "carol", ByUser: true}); len(got) != 0 || total != 0 {
		t.Fatalf("carol's = %q (%d)", got, total)
	}
	if got, total := list(library.MemoryList{Keyword: "ALPS"}); !slices.Equal(got, all[:2]) || total != 2 {
		t.Fatalf("keyword alps = %q (%d)", got, total)
	}
	if got, total := list(library.MemoryList{Keyword: "alps", Offset: 1, Limit: 1}); !slices.Equal(got, all[1:2]) || total != 2 {
		t.Fatalf("keyword alps, page 2 = %q (%d)", got, total)
	}
	if got, total := list(library.MemoryList{Offset: 1, Limit: 1}); !slices.Equal(got, all[1:2]) || total != 3 {
		t.Fatalf("page 2 = %q (%d)", got, total)
	}

	e.drain(t)
	search := func(users []string, query string, threshold float64) []library.MemoryHit {
		t.Helper()
		hits, err := e.svc.SearchMemories(e.ctx, library.MemorySearch{ProjectIDs: []string{proj.ID}, UserIDs: users,
			Query: query, TopK: 10, Threshold: threshold})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hits {
			if h.Score < threshold || h.Score > 1 {
				t.Fatalf("score %v out of range", h.Score)
			}
		}
		return hits
	}
	if got := hitContents(search(nil, "hiking", 0)); len(got) != 3 {
		t.Fatalf("everyone's hiking = %q", got)
	}
	if got := hitContents(search([]string{"alice"}, "hiking", 0)); !slices.Equal(got, []string{all[0], all[1]}) {
		t.Fatalf("alice's hiking = %q", got)
	}
	// Two of the query's three words: 2/3; one: 1/3, under the threshold.
	hits := search([]string{"alice"}, "hiking dog cats", 0.5)
	if got := hitContents(hits); !slices.Equal(got, all[:1]) || hits[0].Score < 0.66 || hits[0].Score > 0.67 {
		t.Fatalf("threshold 0.5 = %q %+v", got, hits)
	}
	if got := search([]string{"dave"}, "hiking", 0); len(got) != 0 {
		t.Fatalf("dave's = %+v", got)
	}

	// Forgotten: listed as expired, not found; forgetting again is fine.
	if err := e.svc.ForgetMemory(e.ctx, proj.ID, ms[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.ForgetMemory(e.ctx, proj.ID, ms[0].ID); err != nil {
		t.Fatal(err)
	}
	m, err := e.svc.GetMemory(e.ctx, proj.ID, ms[0].ID)
	if err != nil || !m.Expired || m.Content != all[0] {
		t.Fatalf("forgotten memory = %+v, %v", m, err)
	}
	if got := hitContents(search([]string{"alice"}, "hiking", 0)); !slices.Equal(got, all[1:2]) {
		t.Fatalf("after forgetting = %q", got)
	}
	// Another project's memory is not found by id here.
	_, err = e.svc.GetMemory(e.ctx, other.ID, ms[0].ID)
	wantCode(t, err, shelf.ENOTFOUND)
	if err := e.svc.DeleteMemory(e.ctx, proj.ID, ms[1].ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.GetMemory(e.ctx, proj.ID, ms[1].ID)
	wantCode(t, err, shelf.ENOTFOUND)
	if got := search([]string{"alice"}, "hiking", 0); len(got) != 0 {
		t.Fatalf("after deleting = %+v", got)
	}
	// A library search never finds memories.
	if res, err := e.svc.Search(e.ctx, library.SearchQuery{Query: "hiking"}); err != nil || len(res.Hits) != 0 {
		t.Fatalf("library search = %+v, %v", res, err)
	}
	// Deleting the project deletes its memories.
	if err := e.svc.DeleteProject(e.ctx, proj.ID); err != nil {
		t.Fatal(err)
	}
	if got, _, err := e.svc.ListMemories(e.ctx, other.ID, library.MemoryList{Limit: 10}); err != nil || len(got) != 1 {
		t.Fatalf("the other project's memories = %d, %v", len(got), err)
	}
}

// TestMemorySearchSemantic checks that with an embedder a memory's score
// is the cosine similarity of its text and the query, the threshold cuts
// on it, and a failing embedder falls back to keywords.
func TestMemorySearchSemantic(t *testing.T) {
	emb := &bagEmbedder{model: "bag"}
	e := newEnv(t, library.Config{Embedder: emb})
	proj := e.project(t, "chat")
	if _, err := e.svc.AddMemories(e.ctx, proj.ID, library.MemoryInput{UserID: "u", Messages: []library.Message{
		{Role: "user", Content: "green tea in hangzhou"},
		{Role: "user", Content: "coffee in rome"},
	}}); err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	search := func(query string, threshold float64) []library.MemoryHit {
		t.Helper()
		hits, err := e.svc.SearchMemories(e.ctx, library.MemorySearch{ProjectIDs: []string{proj.ID}, UserIDs: []string{"u"},
			Query: query, TopK: 5, Threshold: threshold})
		if err != nil {
			t.Fatal(err)
		}
		return hits
	}
	hits := search("green tea in hangzhou", 0)
	if len(hits) == 0 || hits[0].Memory.Content != "green tea in hangzhou" || hits[0].Score < 0.99 || hits[0].Score > 1 {
		t.Fatalf("exact text = %+v", hits)
	}
	for _, h := range hits[1:] {
		if h.Score >= hits[0].Score || h.Score < 0 {
			t.Fatalf("scores = %+v", hits)
		}
	}
	if got := search("green tea in hangzhou", 0.99); len(got) != 1 {
		t.Fatalf("threshold 0.99 = %+v", got)
	}
	emb.failN.Store(1)
	if got := hitContents(search("rome", 0.5)); !slices.Equal(got, []string{"coffee in rome"}) {
		t.Fatalf("with the embedder down = %q", got)
	}
}
