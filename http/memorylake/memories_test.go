package memorylake_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/http/memorylake"
	"github.com/shelfmem/shelf/internal/shelftest"
	"github.com/shelfmem/shelf/library"
)

type wireMemory struct {
	ID                    string         `json:"id"`
	Content               string         `json:"content"`
	UserID                string         `json:"user_id"`
	Expired               bool           `json:"expired"`
	HasUnresolvedConflict *bool          `json:"has_unresolved_conflict"`
	CreatedAt             string         `json:"created_at"`
	UpdatedAt             string         `json:"updated_at"`
	Role                  string         `json:"role"`
	SessionID             string         `json:"chat_session_id"`
	Metadata              map[string]any `json:"metadata"`
	Score                 *float64       `json:"score"`
}

// doV2 sends a request to path under the v2 prefix.
func (c *tc) doV2(method, path, key string, body any) *shelftest.Response {
	c.t.Helper()
	return c.env.Do(c.t, method, memorylake.PrefixV2+path, key, body)
}

func (c *tc) addMemories(projectID string, body map[string]any) []wireMemory {
	c.t.Helper()
	var a struct {
		Results []struct {
			Message  string     `json:"message"`
			Status   string     `json:"status"`
			EventID  string     `json:"event_id"`
			MemoryID string     `json:"memory_id"`
			Memory   wireMemory `json:"memory"`
		} `json:"results"`
	}
	ok(c.t, c.doV2("POST", "/projects/"+projectID+"/memories", c.key, body), &a)
	var out []wireMemory
	for _, r := range a.Results {
		if r.Status != "SUCCEEDED" || r.EventID != r.MemoryID || r.Memory.ID != r.MemoryID || r.Message == "" {
			c.t.Fatalf("result = %+v", r)
		}
		out = append(out, r.Memory)
	}
	return out
}

func (c *tc) memories(projectID, query string) listOf[wireMemory] {
	c.t.Helper()
	var l listOf[wireMemory]
	ok(c.t, c.doV2("GET", "/projects/"+projectID+"/memories?"+query, c.key, nil), &l)
	return l
}

func contentsOf(ms []wireMemory) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Content)
	}
	return out
}

type projectSearch struct {
	Documents []struct {
		Type       string `json:"type"`
		DocumentID string `json:"document_id"`
		Highlight  struct {
			Chunks []struct {
				Text string `json:"text"`
			} `json:"chunks"`
		} `json:"highlight"`
	} `json:"documents"`
	Memories []wireMemory `json:"memories"`
}

func (c *tc) searchProject(projectID string, body map[string]any) projectSearch {
	c.t.Helper()
	var a projectSearch
	ok(c.t, c.do("POST", "/projects/"+projectID+"/search", c.key, body), &a)
	if a.Documents == nil || a.Memories == nil {
		c.t.Fatalf("search answered a missing list: %+v", a)
	}
	return a
}

// waitMemories waits until a search of the project finds n memories of
// user for query: memories are indexed in the background.
func (c *tc) waitMemories(projectID, user, query string, n int) projectSearch {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		a := c.searchProject(projectID, map[string]any{"query": query, "user_id": user, "threshold": 0})
		if len(a.Memories) == n {
			return a
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("memories not found in time: %+v", a)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMemoriesV2 checks the v2 memory routes: messages stored word for
// word per user, listed with their filters and pages, read, forgotten and
// deleted, and another workspace's key answered 404.
func TestMemoriesV2(t *testing.T) {
	c := newTC(t, library.Config{})
	p := c.createProject("chat", "")
	ms := c.addMemories(p.ID, map[string]any{
		"messages": []map[string]string{
			{"role": "user", "content": "What restaurants do you recommend in Hangzhou?"},
			{"role": "assistant", "content": "Try Grandma's Kitchen for Hangzhou cuisine."},
		},
		"user_id": "user-abc123", "chat_session_id": "session-1", "infer": true, "metadata": map[string]any{"app": "demo"},
	})
	if len(ms) != 2 || ms[0].Content != "What restaurants do you recommend in Hangzhou?" || ms[0].UserID != "user-abc123" ||
		ms[0].Role != "user" || ms[1].Role != "assistant" || ms[0].SessionID != "session-1" || ms[0].Metadata["app"] != "demo" ||
		ms[0].Expired || ms[0].HasUnresolvedConflict == nil || *ms[0].HasUnresolvedConflict || !strings.HasPrefix(ms[0].ID, "mem-") {
		t.Fatalf("stored %+v", ms)
	}
	checkTimestamp(t, "created_at", ms[0].CreatedAt)
	c.addMemories(p.ID, map[string]any{"messages": []map[string]string{{"role": "user", "content": "I live in Rome"}}, "user_id": "other"})
	c.addMemories(p.ID, map[string]any{"messages": []map[string]string{{"role": "user", "content": "No user here"}}})

	all := []string{ms[0].Content, ms[1].Content, "I live in Rome", "No user here"}
	if l := c.memories(p.ID, ""); !slices.Equal(contentsOf(l.Items), all) || l.Total != 4 || l.TotalPages != 1 {
		t.Fatalf("all memories = %+v", l)
	}
	if l := c.memories(p.ID, "user_id=user-abc123&size=1&page=2"); !slices.Equal(contentsOf(l.Items), all[1:2]) || l.Total != 2 || l.TotalPages != 2 {
		t.Fatalf("a user's page 2 = %+v", l)
	}
	if l := c.memories(p.ID, "keyword=hangzhou"); !slices.Equal(contentsOf(l.Items), all[:2]) || l.Total != 2 {
		t.Fatalf("keyword = %+v", l)
	}
	if l := c.memories(p.ID, "user_id=nobody"); len(l.Items) != 0 || l.Total != 0 || l.Items == nil {
		t.Fatalf("nobody's = %+v", l)
	}
	var one wireMemory
	ok(t, c.doV2("GET", "/projects/"+p.ID+"/memories/"+ms[0].ID, c.key, nil), &one)
	if one.Content != ms[0].Content || one.ID != ms[0].ID {
		t.Fatalf("get = %+v", one)
	}

	// Forgotten: still there, expired, and no longer found.
	c.waitMemories(p.ID, "user-abc123", "Hangzhou", 2)
	e := ok(t, c.doV2("POST", "/projects/"+p.ID+"/memories/"+ms[1].ID+"/forget", c.key, nil), nil)
	if e.Message != "Memory forgotten successfully" {
		t.Fatalf("forget answered %+v", e)
	}
	ok(t, c.doV2("GET", "/projects/"+p.ID+"/memories/"+ms[1].ID, c.key, nil), &one)
	if !one.Expired {
		t.Fatalf("forgotten = %+v", one)
	}
	if a := c.searchProject(p.ID, map[string]any{"query": "Hangzhou", "user_id": "user-abc123", "threshold": 0}); len(a.Memories) != 1 || a.Memories[0].ID != ms[0].ID {
		t.Fatalf("search after forget = %+v", a.Memories)
	}
	ok(t, c.doV2("DELETE", "/projects/"+p.ID+"/memories/"+ms[1].ID, c.key, nil), nil)
	fails(t, c.doV2("GET", "/projects/"+p.ID+"/memories/"+ms[1].ID, c.key, nil), http.StatusNotFound, "NOT_FOUND")

	// Isolation and unknowns.
	_, otherKey := c.env.Workspace(t, "other", shelf.ScopeWrite)
	for _, r := range []*shelftest.Response{
		c.doV2("GET", "/projects/"+p.ID+"/memories", otherKey, nil),
		c.doV2("GET", "/projects/"+p.ID+"/memories/"+ms[0].ID, otherKey, nil),
		c.doV2("POST", "/projects/"+p.ID+"/memories/"+ms[0].ID+"/forget", otherKey, nil),
		c.doV2("POST", "/projects/"+p.ID+"/memories", otherKey, map[string]any{"messages": []map[string]string{{"role": "user", "content": "x"}}}),
		c.doV2("GET", "/projects/"+p.ID+"/memories/mem-00000000000000000000000000000000", c.key, nil),
		c.doV2("GET", "/projects/proj-00000000000000000000000000000000/memories", c.key, nil),
	} {
		fails(t, r, http.StatusNotFound, "NOT_FOUND")
	}
	fails(t, c.doV2("POST", "/projects/"+p.ID+"/memories", c.readKey(), map[string]any{"messages": []map[string]string{{"role": "user", "content": "x"}}}),
		http.StatusForbidden, "ACCESS_DENIED")

	// Bad inputs change nothing.
	before := contentsOf(c.memories(p.ID, "size=100").Items)
	for _, tc := range []struct {
		method, path string
		body         any
		msg          string
	}{
		{"POST", "/memories", map[string]any{}, "messages"},
		{"POST", "/memories", map[string]any{"messages": []any{}}, "messages"},
		{"POST", "/memories", map[string]any{"messages": []map[string]string{{"role": "robot", "content": "x"}}}, "role"},
		{"POST", "/memories", map[string]any{"messages": []map[string]string{{"role": "user", "content": ""}}}, "content"},
		{"POST", "/memories", map[string]any{"messages": []map[string]string{{"role": "user", "content": strings.Repeat("x", 16<<10+1)}}}, "longer"},
		{"POST", "/memories", map[string]any{"messages": []map[string]string{{"role": "user", "content": "x"}}, "user_id": strings.Repeat("u", 129)}, "user_id"},
		{"POST", "/memories", map[string]any{"messages": []map[string]string{{"role": "user", "content": "x"}}, "metadata": []int{1}}, "metadata"},
		{"POST", "/memories", map[string]any{"messages": "x"}, "messages"},
		{"POST", "/memories", `{"messages":`, "JSON"},
		{"GET", "/memories?size=0", nil, "size"},
		{"GET", "/memories?page=0", nil, "page"},
		{"GET", "/memories?user_id=" + strings.Repeat("u", 129), nil, "user_id"},
	} {
		t.Run(fmt.Sprintf("%s %s %v", tc.method, tc.path, tc.body), func(t *testing.T) {
			fails(t, c.doV2(tc.method, "/projects/"+p.ID+tc.path, c.key, tc.body), http.StatusBadRequest, "INVALID_ARGUMENT", tc.msg)
		})
	}
	if after := contentsOf(c.memories(p.ID, "size=100").Items); !slices.Equal(after, before) {
		t.Fatalf("bad inputs changed the memories: %q, want %q", after, before)
	}
}

// TestProjectSearch checks D7: the project's documents as D6 finds them,
// and the memories of user_id ranked by the same search, the threshold
// applied to their score in [0, 1].
func TestProjectSearch(t *testing.T) {
	c := newTC(t, library.Config{})
	f := c.upload("MY_SPACE", "menu.txt", []byte("The tea house serves longjing green tea.\n"), "")
	p := c.createProject("food", "")
	c.addDocuments(p.ID, f.ItemID)
	c.waitIndexed(p.ID, 1)
	c.addMemories(p.ID, map[string]any{"user_id": "alice", "messages": []map[string]string{
		{"role": "user", "content": "I drink green tea every morning"},
		{"role": "user", "content": "My sister prefers coffee"},
	}})
	c.addMemories(p.ID, map[string]any{"user_id": "bob", "messages": []map[string]string{{"role": "user", "content": "Bob likes green tea too"}}})
	c.waitMemories(p.ID, "alice", "green tea", 1)

	a := c.searchProject(p.ID, map[string]any{"query": "green tea", "user_id": "alice"})
	if len(a.Documents) != 1 || a.Documents[0].Type != "paragraph" || !strings.Contains(a.Documents[0].Highlight.Chunks[0].Text, "longjing") {
		t.Fatalf("documents = %+v", a.Documents)
	}
	if len(a.Memories) != 1 || a.Memories[0].Content != "I drink green tea every morning" || a.Memories[0].UserID != "alice" ||
		a.Memories[0].Score == nil || *a.Memories[0].Score != 1 {
		t.Fatalf("alice's memories = %+v", a.Memories)
	}
	// "green coffee": each memory holds one of two words, 0.5, under the
	// threshold 0.6 and over 0.4.
	if a := c.searchProject(p.ID, map[string]any{"query": "green coffee", "user_id": "alice", "threshold": 0.6}); len(a.Memories) != 0 {
		t.Fatalf("threshold 0.6 = %+v", a.Memories)
	}
	if a := c.searchProject(p.ID, map[string]any{"query": "green coffee", "user_id": "alice", "threshold": 0.4}); len(a.Memories) != 2 {
		t.Fatalf("threshold 0.4 = %+v", a.Memories)
	}
	if a := c.searchProject(p.ID, map[string]any{"query": "green tea", "user_id": "carol"}); len(a.Memories) != 0 || len(a.Documents) != 1 {
		t.Fatalf("carol = %+v", a)
	}
	if a := c.searchProject(p.ID, map[string]any{"query": "green tea", "user_id": "alice", "top_n": 1000, "with_conflicts": true}); len(a.Memories) != 1 {
		t.Fatalf("top_n 1000 = %+v", a)
	}
	_, otherKey := c.env.Workspace(t, "other", shelf.ScopeWrite)
	fails(t, c.do("POST", "/projects/"+p.ID+"/search", otherKey, map[string]any{"query": "tea", "user_id": "alice"}), http.StatusNotFound, "NOT_FOUND")
	for _, tc := range []struct {
		body any
		msg  string
	}{
		{map[string]any{"user_id": "alice"}, "query"},
		{map[string]any{"query": "tea"}, "user_id"},
		{map[string]any{"query": "", "user_id": "alice"}, "query"},
		{map[string]any{"query": "tea", "user_id": "alice", "top_n": 0}, "top_n"},
		{map[string]any{"query": "tea", "user_id": "alice", "top_n": 1001}, "top_n"},
		{map[string]any{"query": "tea", "user_id": "alice", "threshold": 1.5}, "threshold"},
		{map[string]any{"query": "tea", "user_id": "alice", "threshold": -0.1}, "threshold"},
		{map[string]any{"query": "tea", "user_id": "alice", "with_conflicts": "yes"}, "with_conflicts"},
		{`{"query":`, "JSON"},
	} {
		t.Run(fmt.Sprintf("%v", tc.body), func(t *testing.T) {
			fails(t, c.do("POST", "/projects/"+p.ID+"/search", c.key, tc.body), http.StatusBadRequest, "INVALID_ARGUMENT", tc.msg)
		})
	}
}
