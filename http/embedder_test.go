package http_test

import (
	"encoding/json"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shelfmem/shelf/embed/openai"
	"github.com/shelfmem/shelf/internal/shelftest"
	"github.com/shelfmem/shelf/library"
)

// Modes of the fake embedder.
const (
	embedOK    = iota // answers: each text as its hashed bag of words
	embedHang         // accepts the request and never answers
	embedError        // answers 500
)

// fakeEmbedder is an OpenAI-compatible embeddings server on loopback whose
// behaviour a test switches while it runs.
type fakeEmbedder struct {
	mode  atomic.Int32
	calls atomic.Int32
	srv   *httptest.Server
}

func newFakeEmbedder(t *testing.T, mode int32) *fakeEmbedder {
	t.Helper()
	f := &fakeEmbedder{}
	f.mode.Store(mode)
	stop := make(chan struct{})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		switch f.mode.Load() {
		case embedHang:
			select {
			case <-r.Context().Done():
			case <-stop:
			}
			return
		case embedError:
			http.Error(w, `{"error":{"message":"model is loading"}}`, http.StatusInternalServerError)
			return
		}
		var req struct {
			Input []string `json:"input"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		type item struct {
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		}
		out := struct {
			Data []item `json:"data"`
		}{}
		for i, text := range req.Input {
			v := make([]float32, 32)
			for _, word := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return r < 'a' || r > 'z' }) {
				h := fnv.New32a()
				h.Write([]byte(word))
				v[h.Sum32()%32]++
			}
			v[0] += 0.01
			out.Data = append(out.Data, item{Index: i, Embedding: v})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(func() { close(stop); f.srv.Close() })
	return f
}

// embedderServer starts a Shelf server wired to the fake embedder as
// `shelf serve` wires one: an indexing embedder that retries (briefly, for
// the test) and a query embedder that tries once within the search
// deadline, which is the default 2 s.
func embedderServer(t *testing.T, f *fakeEmbedder, cfg library.Config) *shelftest.Env {
	t.Helper()
	emb, err := openai.New(openai.Config{BaseURL: f.srv.URL + "/v1", Model: "fake-1", MaxRetries: 1,
		MinBackoff: 20 * time.Millisecond, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	qemb, err := openai.New(openai.Config{BaseURL: f.srv.URL + "/v1", Model: "fake-1", MaxRetries: -1, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Embedder, cfg.QueryEmbedder = emb, qemb
	return shelftest.New(t, cfg)
}

// timedSearch runs a search and returns its answer and how long it took.
func timedSearch(t *testing.T, e *shelftest.Env, body any) (*shelftest.Response, time.Duration) {
	t.Helper()
	start := time.Now()
	r := e.Do(t, "POST", "/v1/search", master, body)
	return r, time.Since(start)
}

type embedStatus struct {
	Embedder *struct {
		State         string `json:"state"`
		Error         string `json:"error"`
		PendingFiles  int    `json:"pending_files"`
		PendingChunks int    `json:"pending_chunks"`
	} `json:"embedder"`
	Indexed, Failed int
}

func indexStatus(t *testing.T, e *shelftest.Env) embedStatus {
	t.Helper()
	r := e.Do(t, "GET", "/v1/index/status", master, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("index status: %d %s", r.Status, r.Body)
	}
	var st embedStatus
	r.JSON(t, &st)
	if st.Embedder == nil {
		t.Fatalf("index status without its embedder: %s", r.Body)
	}
	return st
}

func putText(t *testing.T, e *shelftest.Env, path, body string) {
	t.Helper()
	r := e.Do(t, "PUT", "/v1/files/"+path, master, strings.NewReader(body))
	if r.Status != http.StatusOK && r.Status != http.StatusCreated {
		t.Fatalf("PUT %s: %d %s", path, r.Status, r.Body)
	}
}

// An embedder that accepts connections and never answers holds nothing
// back: files are indexed and found by keyword at once, a hybrid search
// (the default mode) answers by keyword within the 2 s deadline and says
// so, and once the embedder has failed three times in a row searches skip
// it and answer at once; a semantic search fails fast.
func TestEmbedderThatNeverAnswers(t *testing.T) {
	f := newFakeEmbedder(t, embedHang)
	e := embedderServer(t, f, library.Config{})
	putText(t, e, "zoo/penguins.md", "penguins swim in cold water and eat fish")
	putText(t, e, "zoo/camels.md", "camels walk across hot deserts")
	st := e.WaitIndexed(t, master) // before: the job waited on the embedder, past its lease
	if st["indexed"] != 2.0 || st["failed"] != 0.0 {
		t.Fatalf("index status with a silent embedder = %v; want both files indexed", st)
	}
	if es := indexStatus(t, e); es.Embedder.PendingFiles != 2 || es.Embedder.PendingChunks != 2 {
		t.Fatalf("embedder status = %+v; want both files' chunks pending", *es.Embedder)
	}

	// The first searches wait out the deadline, no more.
	for i := range 3 {
		r, took := timedSearch(t, e, map[string]any{"query": "penguins fish"})
		var res searchResp
		r.JSON(t, &res)
		if r.Status != http.StatusOK || res.Mode != "keyword" || len(res.Hits) != 1 || res.Hits[0].Path != "zoo/penguins.md" ||
			!strings.Contains(res.Notice, "did not answer within 2s") {
			t.Fatalf("hybrid search %d with a silent embedder = %d %s", i+1, r.Status, r.Body)
		}
		if took < 1900*time.Millisecond || took > 4*time.Second {
			t.Fatalf("hybrid search %d took %v; want the 2 s deadline", i+1, took)
		}
	}
	// Then the breaker is open: by keyword at once.
	r, took := timedSearch(t, e, map[string]any{"query": "camels"})
	var res searchResp
	r.JSON(t, &res)
	if r.Status != http.StatusOK || res.Mode != "keyword" || len(res.Hits) != 1 || !strings.Contains(res.Notice, "unavailable") {
		t.Fatalf("hybrid search with the breaker open = %d %s", r.Status, r.Body)
	}
	if took > time.Second {
		t.Fatalf("hybrid search with the breaker open took %v; want at once", took)
	}
	r, took = timedSearch(t, e, map[string]any{"query": "camels", "mode": "semantic"})
	if r.Status != http.StatusServiceUnavailable || took > time.Second || !strings.Contains(string(r.Body), "failing") {
		t.Fatalf("semantic search with the breaker open = %d %s after %v; want a fast 503", r.Status, r.Body, took)
	}
	if es := indexStatus(t, e); es.Embedder.State != "failing" || es.Embedder.Error == "" {
		t.Fatalf("embedder status with the breaker open = %+v", *es.Embedder)
	}
}

// An embedder that errors, then recovers: files are indexed at once and
// their embeddings follow once it answers; searches answer by keyword
// (fast: an error needs no deadline) while it fails, and use it again
// once a probe after the cool-down succeeds.
func TestEmbedderFailsThenRecovers(t *testing.T) {
	f := newFakeEmbedder(t, embedError)
	e := embedderServer(t, f, library.Config{EmbedCooldown: 500 * time.Millisecond})
	putText(t, e, "zoo/penguins.md", "penguins swim in cold water and eat fish")
	putText(t, e, "kitchen/soup.md", "a soup of fish and cold water")
	st := e.WaitIndexed(t, master)
	if st["indexed"] != 2.0 || st["failed"] != 0.0 {
		t.Fatalf("index status with a failing embedder = %v", st)
	}
	for i := range 4 {
		r, took := timedSearch(t, e, map[string]any{"query": "penguins"})
		var res searchResp
		r.JSON(t, &res)
		if r.Status != http.StatusOK || res.Mode != "keyword" || len(res.Hits) != 1 || res.Notice == "" {
			t.Fatalf("hybrid search %d with a failing embedder = %d %s", i+1, r.Status, r.Body)
		}
		if took > time.Second {
			t.Fatalf("hybrid search %d with a failing embedder took %v", i+1, took)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for es := indexStatus(t, e); es.Embedder.State != "failing" || es.Embedder.PendingChunks != 2; es = indexStatus(t, e) {
		if time.Now().After(deadline) {
			t.Fatalf("embedder status with a failing embedder = %+v", *es.Embedder)
		}
		time.Sleep(20 * time.Millisecond)
	}

	f.mode.Store(embedOK)
	deadline = time.Now().Add(30 * time.Second)
	for es := indexStatus(t, e); es.Embedder.PendingChunks != 0; es = indexStatus(t, e) {
		if time.Now().After(deadline) {
			t.Fatalf("the embeddings did not follow once the embedder answered: %+v", *es.Embedder)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(600 * time.Millisecond) // the breaker's cool-down
	res := doSearch(t, e, master, map[string]any{"query": "penguins fish"})
	if res.Mode != "hybrid" || res.Notice != "" || len(res.Hits) != 2 || res.Hits[0].Path != "zoo/penguins.md" {
		t.Fatalf("hybrid search once the embedder is back = %+v", res)
	}
	res = doSearch(t, e, master, map[string]any{"query": "cold soup", "mode": "semantic"})
	if res.Mode != "semantic" || len(res.Hits) == 0 || res.Hits[0].Path != "kitchen/soup.md" {
		t.Fatalf("semantic search once the embedder is back = %+v", res)
	}
	if es := indexStatus(t, e); es.Embedder.State != "ok" || es.Embedder.Error != "" {
		t.Fatalf("embedder status once it is back = %+v", *es.Embedder)
	}
}
