package library_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/index/chunk"
	"github.com/shelfmem/shelf/library"
)

// bagEmbedder embeds a text as its hashed bag of lowercased words: texts
// that share words are close. It fails its next failN calls.
type bagEmbedder struct {
	model string
	failN atomic.Int32
	calls atomic.Int32
}

const bagDims = 64

func (b *bagEmbedder) Model() string   { return b.model }
func (b *bagEmbedder) Dimensions() int { return bagDims }
func (b *bagEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	b.calls.Add(1)
	if b.failN.Add(-1) >= 0 {
		return nil, shelf.Errorf(shelf.EUNAVAILABLE, "embedding service is down")
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, bagDims)
		for _, w := range strings.FieldsFunc(strings.ToLower(t), func(r rune) bool { return r < 'a' || r > 'z' }) {
			h := fnv.New32a()
			h.Write([]byte(w))
			v[h.Sum32()%bagDims]++
		}
		v[0] += 0.01 // never the zero vector
		out[i] = v
	}
	return out, nil
}

// drain runs index jobs until none is ready, then embeds the chunks that
// wait for an embedding until none does or the embedder fails.
func (e *env) drain(t *testing.T) {
	t.Helper()
	for i := 0; ; i++ {
		if i == 100 {
			t.Fatal("jobs keep coming")
		}
		n, err := e.svc.IndexOnce(context.Background())
		if err != nil {
			t.Fatalf("IndexOnce: %v", err)
		}
		if n == 0 {
			break
		}
	}
	for range 100 {
		n, err := e.svc.EmbedOnce(context.Background())
		if err != nil || n == 0 {
			return
		}
	}
	t.Fatal("chunks to embed keep coming")
}

func (e *env) item(t testing.TB, id string) *shelf.Item {
	t.Helper()
	it, err := e.svc.Item(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func (e *env) search(t *testing.T, ctx context.Context, q library.SearchQuery) []string {
	t.Helper()
	res, err := e.svc.Search(ctx, q)
	if err != nil {
		t.Fatalf("Search(%+v): %v", q, err)
	}
	var out []string
	for _, h := range res.Hits {
		out = append(out, h.Item.Path)
	}
	return out
}

func (e *env) chunkCount(t *testing.T, itemID string) int {
	t.Helper()
	var n int
	err := e.store.View(context.Background(), func(tx shelf.Tx) error {
		cs, err := tx.Chunks(context.Background(), e.ws(), itemID)
		n = len(cs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func wantState(t *testing.T, it *shelf.Item, state string) {
	t.Helper()
	if it.Index.State != state {
		t.Fatalf("%s: index state %q (%+v), want %q", it.Path, it.Index.State, it.Index, state)
	}
}

func TestIndexFileLifecycle(t *testing.T) {
	e := newEnv(t, library.Config{})
	up := e.write(t, e.ctx, fileWrite("docs/guide.md", "# Install\n\nThe runners were running quickly through Zürich.\n"))
	it := up.Item
	wantState(t, e.item(t, it.ID), shelf.IndexQueued)
	if got := e.search(t, e.ctx, library.SearchQuery{Query: "runner"}); len(got) != 0 {
		t.Fatalf("found before indexing: %v", got)
	}
	e.drain(t)
	got := e.item(t, it.ID)
	wantState(t, got, shelf.IndexIndexed)
	if got.Index.IndexedAt.IsZero() || got.Index.StartedAt.IsZero() || got.Index.Error != "" {
		t.Fatalf("index status %+v", got.Index)
	}
	res, err := e.svc.Search(e.ctx, library.SearchQuery{Query: "RUNNING zurich"})
	if err != nil || len(res.Hits) != 1 || res.Mode != library.ModeKeyword || res.Hits[0].Chunk.Version != 1 {
		t.Fatalf("Search = %+v, %v", res, err)
	}
	h := res.Hits[0]
	if !strings.Contains(h.Highlight, "«running»") || !strings.Contains(h.Highlight, "«Zürich»") || h.Score <= 0 || h.Chunk.Text == "" {
		t.Fatalf("hit %+v", h)
	}

	// A new version drops the old chunks in its own transaction and
	// queues the new one.
	e.write(t, e.ctx, fileWrite("docs/guide.md", "# Install\n\nNothing about sprinting here; bicycles only.\n"))
	wantState(t, e.item(t, it.ID), shelf.IndexQueued)
	if n := e.chunkCount(t, it.ID); n != 0 {
		t.Fatalf("%d chunks of the old version survive the update", n)
	}
	e.drain(t)
	if got := e.search(t, e.ctx, library.SearchQuery{Query: "running"}); len(got) != 0 {
		t.Fatalf("the old version is still found: %v", got)
	}
	if got := e.search(t, e.ctx, library.SearchQuery{Query: "bicycle"}); !slices.Equal(got, []string{"docs/guide.md"}) {
		t.Fatalf("new version: %v", got)
	}
	// Restoring version 1 is a new head: indexed again.
	if _, err := e.svc.RestoreVersion(e.ctx, it.ID, 1); err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	if got := e.search(t, e.ctx, library.SearchQuery{Query: "running"}); len(got) != 1 {
		t.Fatalf("restored version not found: %v", got)
	}
	counts, err := e.svc.IndexCounts(e.ctx)
	if err != nil || counts[shelf.IndexIndexed] != 1 || counts[shelf.IndexQueued] != 0 {
		t.Fatalf("IndexCounts = %v, %v", counts, err)
	}
	// Clearing takes the chunks; indexing again brings them back.
	if _, err := e.svc.ClearIndex(e.ctx, it.ID); err != nil {
		t.Fatal(err)
	}
	wantState(t, e.item(t, it.ID), shelf.IndexNone)
	if e.chunkCount(t, it.ID) != 0 || len(e.search(t, e.ctx, library.SearchQuery{Query: "running"})) != 0 {
		t.Fatal("cleared file still has chunks")
	}
	if _, err := e.svc.IndexFile(e.ctx, it.ID); err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	wantState(t, e.item(t, it.ID), shelf.IndexIndexed)
	// Deleting the file takes its chunks.
	if _, err := e.svc.Delete(e.ctx, it.ID); err != nil {
		t.Fatal(err)
	}
	if e.chunkCount(t, it.ID) != 0 || len(e.search(t, e.ctx, library.SearchQuery{Query: "running"})) != 0 {
		t.Fatal("a deleted file is still found")
	}
	e.fsckClean(t)
}

// fsckClean fails the test when fsck finds anything: no orphan chunk or
// embedding, no chunk of an old version.
func (e *env) fsckClean(t *testing.T) {
	t.Helper()
	problems, err := e.svc.Fsck(context.Background(), false)
	if err != nil || len(problems) != 0 {
		t.Fatalf("fsck = %+v, %v", problems, err)
	}
}

// A worker that dies leaves its job to its lease; when the lease ends
// another worker takes it.
func TestIndexAbandonedLease(t *testing.T) {
	e := newEnv(t, library.Config{Index: library.IndexConfig{Lease: 2 * time.Minute}})
	it := e.write(t, e.ctx, fileWrite("a.txt", "orphaned lease text")).Item
	var claimed []*shelf.IndexJob
	err := e.store.Update(context.Background(), func(tx shelf.Tx) (err error) {
		now := e.clock.Now()
		claimed, err = tx.ClaimIndexJobs(context.Background(), now, now.Add(2*time.Minute), "dead-worker", 10)
		return err
	})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v, %v", claimed, err)
	}
	if n, err := e.svc.IndexOnce(context.Background()); err != nil || n != 0 {
		t.Fatalf("a leased job was claimed again: %d, %v", n, err)
	}
	e.clock.Add(2*time.Minute + time.Second)
	e.drain(t)
	wantState(t, e.item(t, it.ID), shelf.IndexIndexed)
	if got := e.search(t, e.ctx, library.SearchQuery{Query: "orphaned"}); len(got) != 1 {
		t.Fatalf("not found after the lease ended: %v", got)
	}
}

// A file updated while its old version is being indexed keeps only the
// new version's chunks: the old claim's results are dropped.
func TestIndexStaleClaimDropped(t *testing.T) {
	var e *env
	var once sync.Once
	cfg := library.Config{Hook: func(point string) {
		if point == "index-claimed" {
			once.Do(func() {
				if _, err := e.svc.WriteFile(e.ctx, fileWrite("a.txt", "second version words")); err != nil {
					panic(err)
				}
			})
		}
	}}
	e = newEnv(t, cfg)
	it := e.write(t, e.ctx, fileWrite("a.txt", "first version words")).Item
	if n, err := e.svc.IndexOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("IndexOnce = %d, %v", n, err)
	}
	wantState(t, e.item(t, it.ID), shelf.IndexQueued)
	if e.chunkCount(t, it.ID) != 0 {
		t.Fatal("the stale claim wrote its chunks")
	}
	e.drain(t)
	if got := e.search(t, e.ctx, library.SearchQuery{Query: "first"}); len(got) != 0 {
		t.Fatalf("old version found: %v", got)
	}
	if got := e.search(t, e.ctx, library.SearchQuery{Query: "second"}); len(got) != 1 {
		t.Fatalf("new version not found: %v", got)
	}
}

func TestIndexFailures(t *testing.T) {
	emb := &bagEmbedder{model: "bag-1"}
	e := newEnv(t, library.Config{Embedder: emb, Index: library.IndexConfig{MaxAttempts: 3, Backoff: time.Minute}})
	// A poison file fails at once, with its error, and can be retried.
	poison := e.write(t, e.ctx, library.FileWrite{Path: "bad.pdf", Body: strings.NewReader("%PDF-1.7 garbage"), Size: 16, ContentType: "application/pdf"}).Item
	bin := e.write(t, e.ctx, library.FileWrite{Path: "blob.bin", Body: strings.NewReader("\x00\x01\x02"), Size: 3, ContentType: "application/octet-stream"}).Item
	e.drain(t)
	p := e.item(t, poison.ID)
	wantState(t, p, shelf.IndexFailed)
	if p.Index.Error == "" || p.Index.ErroredAt.IsZero() {
		t.Fatalf("poison status %+v", p.Index)
	}
	// A file with no text to read is skipped, not failed: no error, no
	// job. Asking for its indexing records the request (IndexedAt) and
	// queues nothing; a new version keeps that mark.
	b := e.item(t, bin.ID)
	wantState(t, b, shelf.IndexSkipped)
	if b.Index.Error != "" || !b.Index.ErroredAt.IsZero() || !b.Index.IndexedAt.IsZero() {
		t.Fatalf("unsupported type status %+v", b.Index)
	}
	asked := e.clock.Now()
	if b, err := e.svc.IndexFile(e.ctx, bin.ID); err != nil || b.Index.State != shelf.IndexSkipped || !b.Index.IndexedAt.Equal(asked) {
		t.Fatalf("IndexFile(unsupported) = %+v, %v", b, err)
	}
	if n, err := e.svc.IndexOnce(e.ctx); err != nil || n != 0 {
		t.Fatalf("a skipped file was queued: IndexOnce = %d, %v", n, err)
	}
	e.write(t, e.ctx, library.FileWrite{Path: "blob.bin", Body: strings.NewReader("\x00\x03"), Size: 2, ContentType: "application/octet-stream"})
	if b := e.item(t, bin.ID); b.Index.State != shelf.IndexSkipped || !b.Index.IndexedAt.Equal(asked) || b.Head != 2 {
		t.Fatalf("new version of a skipped file: %+v", b)
	}
	// A version the indexer can read is queued and indexed; one it cannot
	// after that is skipped without the mark of the earlier, readable one.
	e.write(t, e.ctx, library.FileWrite{Path: "blob.bin", Body: strings.NewReader("now plain words"), Size: 15, ContentType: "text/plain"})
	e.drain(t)
	wantState(t, e.item(t, bin.ID), shelf.IndexIndexed)
	e.write(t, e.ctx, library.FileWrite{Path: "blob.bin", Body: strings.NewReader("\x00\x04"), Size: 2, ContentType: "application/octet-stream"})
	if b := e.item(t, bin.ID); b.Index.State != shelf.IndexSkipped || !b.Index.IndexedAt.IsZero() || e.chunkCount(t, bin.ID) != 0 {
		t.Fatalf("readable then unreadable: %+v, %d chunks", b.Index, e.chunkCount(t, bin.ID))
	}
	if counts, err := e.svc.IndexCounts(e.ctx); err != nil || counts[shelf.IndexSkipped] != 1 || counts[shelf.IndexFailed] != 1 {
		t.Fatalf("IndexCounts = %v, %v", counts, err)
	}
	emb.calls.Store(0) // the readable version was embedded
	if _, err := e.svc.IndexFile(e.ctx, poison.ID); err != nil {
		t.Fatal(err)
	}
	wantState(t, e.item(t, poison.ID), shelf.IndexQueued)
	e.drain(t)
	wantState(t, e.item(t, poison.ID), shelf.IndexFailed)

	// The embedder down fails nothing: the file is indexed and found by
	// keyword at once; its chunks wait for their embeddings, which come
	// when the embedder answers again.
	emb.failN.Store(100)
	flaky := e.write(t, e.ctx, fileWrite("flaky.txt", "embedding will fail")).Item
	e.drain(t)
	f := e.item(t, flaky.ID)
	wantState(t, f, shelf.IndexIndexed)
	if f.Index.Error != "" {
		t.Fatalf("indexed with an error: %+v", f.Index)
	}
	if got := e.search(t, e.ctx, library.SearchQuery{Query: "embedding", Mode: library.ModeKeyword}); len(got) != 1 {
		t.Fatalf("keyword search with the embedder down = %v", got)
	}
	st, err := e.svc.EmbeddingStatus(e.ctx)
	if err != nil || st.PendingFiles != 1 || st.PendingChunks != 1 {
		t.Fatalf("EmbeddingStatus with the embedder down = %+v, %v", st, err)
	}
	if _, err := e.svc.EmbedOnce(context.Background()); shelf.ErrorCode(err) != shelf.EUNAVAILABLE {
		t.Fatalf("EmbedOnce with the embedder down = %v, want EUNAVAILABLE", err)
	}
	emb.failN.Store(0)
	e.drain(t)
	if st, err := e.svc.EmbeddingStatus(e.ctx); err != nil || st.PendingFiles != 0 || st.PendingChunks != 0 {
		t.Fatalf("EmbeddingStatus once the embedder is back = %+v, %v", st, err)
	}
	res, err := e.svc.Search(e.ctx, library.SearchQuery{Query: "embedding fail", Mode: library.ModeSemantic})
	if err != nil || len(res.Hits) == 0 || res.Hits[0].Item.ID != flaky.ID {
		t.Fatalf("semantic search once the embedder is back = %+v, %v", res, err)
	}
	counts, err := e.svc.IndexCounts(e.ctx)
	if err != nil || counts[shelf.IndexFailed] != 1 || counts[shelf.IndexIndexed] != 1 || counts[shelf.IndexSkipped] != 1 {
		t.Fatalf("IndexCounts = %v, %v", counts, err)
	}
}

// refusingEmbedder refuses (EINVALID) any text that holds "poison", as a
// model refuses a text too long for it: in a batch, the whole batch.
type refusingEmbedder struct {
	bagEmbedder
}

func (r *refusingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	for _, t := range texts {
		if strings.Contains(t, "poison") {
			r.calls.Add(1)
			return nil, shelf.Errorf(shelf.EINVALID, "input too long for the model")
		}
	}
	return r.bagEmbedder.Embed(ctx, texts)
}

// A chunk the embedder refuses is found by keyword only; the file's other
// chunks, and other files, are embedded, and the refused one is not tried
// again.
func TestEmbeddingRefusedChunk(t *testing.T) {
	emb := &refusingEmbedder{bagEmbedder{model: "bag-1"}}
	e := newEnv(t, library.Config{Embedder: emb, Index: library.IndexConfig{Chunk: chunk.Options{Target: 60, Overlap: -1}}})
	text := "# One\n\nGiraffes browse acacia leaves on the savanna plains.\n\n# Two\n\nA poison paragraph nobody can embed at all here.\n\n# Three\n\nOtters float on their backs holding hands in kelp.\n"
	it := e.write(t, e.ctx, fileWrite("mixed.md", text)).Item
	e.write(t, e.ctx, fileWrite("plain.md", "zebras run across the grassland"))
	e.drain(t)
	if n := e.chunkCount(t, it.ID); n < 3 {
		t.Fatalf("%d chunks; the test needs the poison in a chunk of its own", n)
	}
	wantState(t, e.item(t, it.ID), shelf.IndexIndexed)
	if st, err := e.svc.EmbeddingStatus(e.ctx); err != nil || st.PendingChunks != 0 {
		t.Fatalf("EmbeddingStatus after a refusal = %+v, %v; want nothing pending", st, err)
	}
	calls := emb.calls.Load()
	if n, err := e.svc.EmbedOnce(context.Background()); n != 0 || err != nil || emb.calls.Load() != calls {
		t.Fatalf("EmbedOnce after the refusal = %d, %v; the embedder was called again", n, err)
	}
	res, err := e.svc.Search(e.ctx, library.SearchQuery{Query: "otters kelp", Mode: library.ModeSemantic})
	if err != nil || len(res.Hits) == 0 || res.Hits[0].Item.ID != it.ID {
		t.Fatalf("semantic search for an embedded chunk of the file = %+v, %v", res, err)
	}
	for _, h := range res.Hits {
		if strings.Contains(h.Chunk.Text, "poison") {
			t.Fatalf("the refused chunk was found by meaning: %+v", h)
		}
	}
	if got := e.search(t, e.ctx, library.SearchQuery{Query: "poison paragraph", Mode: library.ModeKeyword}); len(got) != 1 {
		t.Fatalf("keyword search for the refused chunk = %v", got)
	}
	e.fsckClean(t)
}

func TestIndexEmbeddedLibraryAndFolders(t *testing.T) {
	e := newEnv(t, library.Config{})
	lib, err := e.svc.CreateLibrary(e.ctx, library.Spec{Kind: shelf.KindLibrary, Name: "assets", Embedded: true})
	if err != nil {
		t.Fatal(err)
	}
	it := e.write(t, e.ctx, library.FileWrite{LibraryID: lib.ID, Path: "logo.txt", Body: strings.NewReader("embedded text"), Size: 13}).Item
	wantState(t, e.item(t, it.ID), shelf.IndexNone)
	e.drain(t)
	if got := e.search(t, e.ctx, library.SearchQuery{Query: "embedded"}); len(got) != 0 {
		t.Fatalf("embedded file found: %v", got)
	}
	_, err = e.svc.IndexFile(e.ctx, it.ID)
	wantCode(t, err, shelf.EINVALID)
	_, err = e.svc.IndexGlobs(e.ctx, lib.ID, []string{"/**"})
	wantCode(t, err, shelf.EINVALID)
	// No longer embedded: every file of it is queued; embedded again:
	// their index is cleared.
	other := e.write(t, e.ctx, library.FileWrite{LibraryID: lib.ID, Path: "deep/er/note.txt", Body: strings.NewReader("embedded note"), Size: 13}).Item
	off, on := false, true
	if _, err := e.svc.UpdateLibrary(e.ctx, shelf.KindLibrary, lib.ID, library.Update{Embedded: &off}); err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	wantState(t, e.item(t, it.ID), shelf.IndexIndexed)
	wantState(t, e.item(t, other.ID), shelf.IndexIndexed)
	if got := e.search(t, e.ctx, library.SearchQuery{Query: "embedded"}); len(got) != 2 {
		t.Fatalf("after embedded is off: %v", got)
	}
	if _, err := e.svc.UpdateLibrary(e.ctx, shelf.KindLibrary, lib.ID, library.Update{Embedded: &on}); err != nil {
		t.Fatal(err)
	}
	wantState(t, e.item(t, it.ID), shelf.IndexNone)
	if got := e.search(t, e.ctx, library.SearchQuery{Query: "embedded"}); len(got) != 0 || e.chunkCount(t, other.ID) != 0 {
		t.Fatalf("after embedded is on again: %v", got)
	}

	// A folder counts the files below it still being indexed.
	for _, p := range []string{"docs/a.md", "docs/api/b.md", "docs/api/c.txt", "other/d.md"} {
		e.write(t, e.ctx, fileWrite(p, "words in "+p))
	}
	docs, err := e.svc.ItemAt(e.ctx, "", "docs")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.svc.IndexingBelow(e.ctx, docs.ID); err != nil || n != 3 {
		t.Fatalf("IndexingBelow(docs) = %d, %v", n, err)
	}
	_, err = e.svc.IndexFile(e.ctx, docs.ID)
	wantCode(t, err, shelf.EINVALID)
	e.drain(t)
	if n, err := e.svc.IndexingBelow(e.ctx, docs.ID); err != nil || n != 0 {
		t.Fatalf("IndexingBelow(docs) after = %d, %v", n, err)
	}
	// Bulk reindex by globs queues exactly the matches.
	n, err := e.svc.IndexGlobs(e.ctx, "", []string{"/docs/**/*.md", "/other/*.md", "/docs/api/*.md"})
	if err != nil || n != 3 {
		t.Fatalf("IndexGlobs = %d, %v", n, err)
	}
	counts, _ := e.svc.IndexCounts(e.ctx)
	if counts[shelf.IndexQueued] != 3 || counts[shelf.IndexIndexed] != 1 {
		t.Fatalf("counts after IndexGlobs: %v", counts)
	}
	_, err = e.svc.IndexGlobs(e.ctx, "", []string{"/docs/**.md"})
	wantCode(t, err, shelf.EINVALID)
	_, err = e.svc.IndexGlobs(e.ctx, "", nil)
	wantCode(t, err, shelf.EINVALID)
}

func TestSearchFiltersAndVisibility(t *testing.T) {
	e := newEnv(t, library.Config{})
	alice, _ := e.keyCtx(t, "alice", shelf.ScopeRead, shelf.ScopeWrite)
	bob, _ := e.keyCtx(t, "bob", shelf.ScopeRead, shelf.ScopeWrite)
	other := e.otherWorkspace(t)
	e.write(t, e.ctx, fileWrite("docs/a.md", "shared walrus notes"))
	e.write(t, e.ctx, fileWrite("misc/b.txt", "another walrus"))
	d := doc("", "notes/private.txt", "private walrus diary")
	d.Scope = shelf.VisiblePrivate
	e.ingest(t, alice, d)
	d = doc("", "notes/meta.txt", "tagged walrus")
	d.Metadata = json.RawMessage(`{"team":"ops"}`)
	hidden := e.ingest(t, e.ctx, d)
	e.write(t, other, fileWrite("docs/x.md", "foreign walrus"))
	e.drain(t)

	all := e.search(t, bob, library.SearchQuery{Query: "walrus", TopK: 100})
	slices.Sort(all)
	if !slices.Equal(all, []string{"docs/a.md", "misc/b.txt", "notes/meta.txt"}) {
		t.Fatalf("bob sees %v", all)
	}
	if got := e.search(t, alice, library.SearchQuery{Query: "walrus diary"}); len(got) == 0 || got[0] != "notes/private.txt" {
		t.Fatalf("alice sees %v", got)
	}
	if got := e.search(t, bob, library.SearchQuery{Query: "walrus", Filters: library.SearchFilters{PathPrefix: "/docs"}}); !slices.Equal(got, []string{"docs/a.md"}) {
		t.Fatalf("path prefix: %v", got)
	}
	if got := e.search(t, bob, library.SearchQuery{Query: "walrus", Filters: library.SearchFilters{Metadata: map[string]string{"team": "ops"}}}); !slices.Equal(got, []string{"notes/meta.txt"}) {
		t.Fatalf("metadata: %v", got)
	}
	if got := e.search(t, bob, library.SearchQuery{Query: "walrus", Filters: library.SearchFilters{ContentTypes: []string{"text/markdown"}}}); !slices.Equal(got, []string{"docs/a.md"}) {
		t.Fatalf("content type: %v", got)
	}
	future := e.clock.Now().Add(time.Hour)
	if got := e.search(t, bob, library.SearchQuery{Query: "walrus", Filters: library.SearchFilters{CreatedAfter: future}}); len(got) != 0 {
		t.Fatalf("created after: %v", got)
	}
	// Hidden items are never found.
	if _, err := e.svc.RemoveItems(e.ctx, library.Selector{IDs: []string{hidden.Item.ID}}); err != nil {
		t.Fatal(err)
	}
	if got := e.search(t, bob, library.SearchQuery{Query: "tagged"}); len(got) != 0 {
		t.Fatalf("hidden item found: %v", got)
	}
	// Query syntax in the text is only text.
	for _, q := range []string{`walrus"`, `NEAR(walrus`, `walrus AND OR NOT`, `*`, `"unbalanced`, `col:walrus`, `^walrus`} {
		if _, err := e.svc.Search(bob, library.SearchQuery{Query: q}); err != nil {
			t.Fatalf("Search(%q): %v", q, err)
		}
	}
	for _, bad := range []library.SearchQuery{
		{Query: ""}, {Query: "   "}, {Query: "x", TopK: 101}, {Query: "x", TopK: -1}, {Query: "x", Mode: "fuzzy"},
		{Query: strings.Repeat("x", library.MaxQueryBytes+1)}, {Query: "bad\xff"},
		{Query: "x", Filters: library.SearchFilters{PathPrefix: "../etc"}},
		{Query: "x", Filters: library.SearchFilters{Library: "no-such-library"}},
		{Query: "x", Mode: library.ModeSemantic},
	} {
		if _, err := e.svc.Search(bob, bad); shelf.ErrorCode(err) != shelf.EINVALID && shelf.ErrorCode(err) != shelf.ENOTFOUND {
			t.Fatalf("Search(%.40q, top_k %d, mode %q) = %v, want a client error", bad.Query, bad.TopK, bad.Mode, err)
		}
	}
	res, err := e.svc.Search(bob, library.SearchQuery{Query: "walrus", Mode: library.ModeHybrid})
	if err != nil || res.Mode != library.ModeKeyword || res.Notice == "" {
		t.Fatalf("hybrid without an embedder = %+v, %v; want keyword with a notice", res, err)
	}
}

func TestSemanticAndHybridSearch(t *testing.T) {
	emb := &bagEmbedder{model: "bag-1"}
	e := newEnv(t, library.Config{Embedder: emb})
	e.write(t, e.ctx, fileWrite("zoo/penguins.md", "penguins swim in cold water and eat fish"))
	e.write(t, e.ctx, fileWrite("zoo/camels.md", "camels walk across hot deserts carrying loads"))
	e.write(t, e.ctx, fileWrite("kitchen/soup.md", "a soup of fish and cold water"))
	e.drain(t)
	res, err := e.svc.Search(e.ctx, library.SearchQuery{Query: "camels deserts", Mode: library.ModeSemantic})
	if err != nil || len(res.Hits) == 0 || res.Hits[0].Item.Path != "zoo/camels.md" || res.Mode != library.ModeSemantic {
		t.Fatalf("semantic = %+v, %v", res, err)
	}
	if s := res.Hits[0].Score; s <= 0 || s > 1.0001 {
		t.Fatalf("cosine score %v", s)
	}
	res, err = e.svc.Search(e.ctx, library.SearchQuery{Query: "fish cold water", Mode: library.ModeSemantic,
		Filters: library.SearchFilters{PathPrefix: "kitchen"}})
	if err != nil || len(res.Hits) != 1 || res.Hits[0].Item.Path != "kitchen/soup.md" {
		t.Fatalf("filtered semantic = %+v, %v", res, err)
	}
	res, err = e.svc.Search(e.ctx, library.SearchQuery{Query: "penguins fish"})
	if err != nil || res.Mode != library.ModeHybrid || len(res.Hits) < 2 || res.Hits[0].Item.Path != "zoo/penguins.md" {
		t.Fatalf("hybrid = %+v, %v", res, err)
	}
	if math.Abs(res.Hits[0].Score-2.0/61) > 1e-9 {
		t.Fatalf("top hybrid score %v, want 2/61 (first in both rankings)", res.Hits[0].Score)
	}
	// With the embedder down, hybrid answers by keyword and says so;
	// semantic fails.
	emb.failN.Store(1)
	res, err = e.svc.Search(e.ctx, library.SearchQuery{Query: "penguins fish"})
	if err != nil || res.Mode != library.ModeKeyword || res.Notice == "" || len(res.Hits) == 0 {
		t.Fatalf("hybrid with the embedder down = %+v, %v", res, err)
	}
	emb.failN.Store(1)
	_, err = e.svc.Search(e.ctx, library.SearchQuery{Query: "penguins fish", Mode: library.ModeSemantic})
	wantCode(t, err, shelf.EUNAVAILABLE)
	// Updating a file replaces its embeddings: the old text is not found
	// by meaning either.
	e.write(t, e.ctx, fileWrite("zoo/camels.md", "llamas graze in the mountains"))
	e.drain(t)
	res, err = e.svc.Search(e.ctx, library.SearchQuery{Query: "camels deserts", Mode: library.ModeSemantic})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range res.Hits {
		if strings.Contains(h.Chunk.Text, "camels") {
			t.Fatalf("old embedding found: %+v", h)
		}
	}
	e.fsckClean(t)

	// A new model re-embeds everything embedded with the old one, on the
	// indexer's next start; keyword search works meanwhile.
	emb2 := &bagEmbedder{model: "bag-2"}
	svc2, err := library.Open(context.Background(), e.store, e.blobs, library.Config{Embedder: emb2, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc2.RunIndexer(ctx); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var old, cur int
		err := e.store.View(context.Background(), func(tx shelf.Tx) (err error) {
			if old, err = tx.CountVectors(context.Background(), e.ws(), "bag-1"); err != nil {
				return err
			}
			cur, err = tx.CountVectors(context.Background(), e.ws(), "bag-2")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if old == 0 && cur == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the model change: %d old and %d new vectors", old, cur)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	res, err = svc2.Search(e.ctx, library.SearchQuery{Query: "llamas mountains", Mode: library.ModeSemantic})
	if err != nil || len(res.Hits) == 0 || res.Hits[0].Item.Path != "zoo/camels.md" {
		t.Fatalf("semantic after the model change = %+v, %v", res, err)
	}
	// Deleting a file takes its embeddings with its chunks.
	soup, err := svc2.ItemAt(e.ctx, "", "kitchen/soup.md")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc2.Delete(e.ctx, soup.ID); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := e.store.View(context.Background(), func(tx shelf.Tx) (err error) {
		left, err = tx.CountVectors(context.Background(), e.ws(), "bag-2")
		return err
	}); err != nil || left != 2 {
		t.Fatalf("embeddings after a delete: %d, %v", left, err)
	}
	res, err = svc2.Search(e.ctx, library.SearchQuery{Query: "soup fish", Mode: library.ModeSemantic})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range res.Hits {
		if h.Item.ID == soup.ID {
			t.Fatal("a deleted file is found by meaning")
		}
	}
	e.fsckClean(t)
}

// otherWorkspace returns a context acting with write scope in a new
// workspace.
func (e *env) otherWorkspace(t *testing.T) context.Context {
	t.Helper()
	ws, err := e.svc.CreateWorkspace(e.ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := e.svc.CreateKey(e.ctx, ws.ID, "w", []shelf.Scope{shelf.ScopeWrite})
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.svc.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return shelf.NewContext(context.Background(), p)
}

// Workers give way to client writes: nothing is indexed while one runs,
// until MaxDefer passes; then the file is indexed.
func TestIndexGivesWayToWrites(t *testing.T) {
	e := newEnv(t, library.Config{Index: library.IndexConfig{IdleGap: 20 * time.Millisecond, MaxDefer: 400 * time.Millisecond, Poll: 10 * time.Millisecond}})
	it := e.write(t, e.ctx, fileWrite("a.txt", "patient words")).Item
	done := e.svc.Foreground() // a write in progress
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { e.svc.RunIndexer(ctx); close(stopped) }()
	defer func() { cancel(); <-stopped }()
	time.Sleep(200 * time.Millisecond)
	wantState(t, e.item(t, it.ID), shelf.IndexQueued)
	deadline := time.Now().Add(10 * time.Second)
	for e.item(t, it.ID).Index.State != shelf.IndexIndexed {
		if time.Now().After(deadline) {
			t.Fatal("a steady write held indexing off past MaxDefer")
		}
		time.Sleep(10 * time.Millisecond)
	}
	done()
}

// TestIndexBatchBounds: a claim of many jobs commits once the jobs it ran
// made BatchChunks chunks, and hands the others back to the queue in the
// same transaction, without counting an attempt against them.
func TestIndexBatchBounds(t *testing.T) {
	cfg := library.Config{}
	cfg.Index.Batch, cfg.Index.BatchChunks = 10, 2
	e := newEnv(t, cfg)
	var ids []string
	for i := range 5 {
		u, err := e.svc.WriteFile(e.ctx, fileWrite(fmt.Sprintf("f%d.txt", i), fmt.Sprintf("file number %d has words", i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.Item.ID)
	}
	n, err := e.svc.IndexOnce(context.Background())
	if err != nil || n != 5 {
		t.Fatalf("IndexOnce = %d, %v; want 5 claimed", n, err)
	}
	counts, err := e.svc.IndexCounts(e.ctx)
	if err != nil || counts["indexed"] != 2 || counts["queued"] != 3 || counts["running"] != 0 {
		t.Fatalf("after one claim: %v, %v; want 2 indexed (one chunk each), 3 queued", counts, err)
	}
	err = e.store.View(context.Background(), func(tx shelf.Tx) error {
		for _, id := range ids[2:] {
			j, err := tx.IndexJob(context.Background(), e.ws(), id)
			if err != nil {
				return err
			}
			if j.State != shelf.IndexQueued || j.Attempts != 0 || j.Token != "" {
				t.Errorf("job of %s handed back as %+v; want queued, no attempt, no token", id, j)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	for _, id := range ids {
		if it := e.item(t, id); it.Index.State != shelf.IndexIndexed {
			t.Fatalf("%s ended %q, want indexed", it.Path, it.Index.State)
		}
	}
	if res := e.search(t, e.ctx, library.SearchQuery{Query: "number"}); len(res) != 5 {
		t.Fatalf("search found %v, want the 5 files", res)
	}
}

// While the embedder fails, the embedding loop waits, doubling, and new
// files do not send it back to the embedder before its wait ends; each
// file is indexed and found by keyword meanwhile, and its embeddings
// follow once the embedder answers.
func TestEmbeddingBacksOff(t *testing.T) {
	emb := &bagEmbedder{model: "bag-1"}
	emb.failN.Store(1 << 20)
	e := newEnv(t, library.Config{Embedder: emb, Index: library.IndexConfig{Poll: 5 * time.Millisecond, IdleGap: -1}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.svc.RunIndexer(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	var last *shelf.Item
	for i := range 20 {
		last = e.write(t, e.ctx, fileWrite(fmt.Sprintf("f%02d.txt", i), fmt.Sprintf("walrus number %d", i))).Item
		time.Sleep(40 * time.Millisecond)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.item(t, last.ID).Index.State != shelf.IndexIndexed {
		if time.Now().After(deadline) {
			t.Fatal("files are not indexed while the embedder fails")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// 800 ms of new files: tries at 0, 1 s at most, not one per commit.
	if calls := emb.calls.Load(); calls > 3 {
		t.Fatalf("the embedder was called %d times in the first second of its failure", calls)
	}
	if got := e.search(t, e.ctx, library.SearchQuery{Query: "walrus", Mode: library.ModeKeyword, TopK: 50}); len(got) != 20 {
		t.Fatalf("keyword search found %d of 20 files", len(got))
	}
	emb.failN.Store(0)
	deadline = time.Now().Add(15 * time.Second)
	for {
		st, err := e.svc.EmbeddingStatus(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.PendingChunks == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("embeddings did not follow once the embedder answered: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
