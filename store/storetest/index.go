package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shelfmem/shelf"
)

// testIndexJobs checks the job table: one job per file, replaced by a
// newer version; claims take ready jobs once, and a lease that ended
// lets another claimer take the job.
func testIndexJobs(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	a, b, c := child(w.rootA, "a.txt", shelf.TypeFile), child(w.rootA, "b.txt", shelf.TypeFile), child(w.rootB, "c.txt", shelf.TypeFile)
	a.Index = shelf.IndexStatus{State: shelf.IndexQueued, IndexedAt: at(-time.Hour)} // indexed before, queued again
	createItems(t, s, a, b, c)
	job := func(it *shelf.Item, v int64, runAfter time.Duration) *shelf.IndexJob {
		return &shelf.IndexJob{ItemID: it.ID, WorkspaceID: it.WorkspaceID, Version: v, State: shelf.IndexQueued,
			RunAfter: at(runAfter), CreatedAt: at(0), UpdatedAt: at(0)}
	}
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, j := range []*shelf.IndexJob{job(a, 1, 0), job(b, 1, time.Hour), job(c, 1, 0), job(a, 2, 0)} {
			if err := tx.PutIndexJob(ctx, j); err != nil {
				return err
			}
		}
		return nil
	})
	err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		j := job(a, 3, 0)
		j.WorkspaceID = w.b.ID
		return tx.PutIndexJob(ctx, j)
	})
	wantCode(t, "PutIndexJob(other workspace)", err, shelf.ENOTFOUND)

	claim := func(now time.Duration, token string, n int) []*shelf.IndexJob {
		t.Helper()
		var got []*shelf.IndexJob
		update(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
			got, err = tx.ClaimIndexJobs(ctx, at(now), at(now+time.Minute), token, n)
			return err
		})
		return got
	}
	got := claim(time.Second, "t1", 10)
	if len(got) != 2 {
		t.Fatalf("first claim took %d jobs, want 2 (a's v2 and c)", len(got))
	}
	for _, j := range got {
		if j.State != shelf.IndexRunning || j.Token != "t1" || j.Attempts != 1 || j.Stops != 0 || !j.LeaseUntil.Equal(at(time.Second+time.Minute)) {
			t.Fatalf("claimed job: %+v", j)
		}
		if j.ItemID == a.ID && j.Version != 2 {
			t.Fatalf("a's job names version %d, want 2 (the newer one replaced it)", j.Version)
		}
	}
	// The claimed files are marked running, their other index fields kept;
	// b, not claimed, is untouched.
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, it := range []*shelf.Item{a, b, c} {
			got, err := tx.Item(ctx, it.WorkspaceID, it.ID)
			if err != nil {
				return err
			}
			want := it.Index
			if it != b {
				want.State, want.StartedAt = shelf.IndexRunning, at(time.Second)
			}
			if got.Index.State != want.State || !got.Index.StartedAt.Equal(want.StartedAt) || !got.Index.IndexedAt.Equal(want.IndexedAt) {
				t.Fatalf("%s's index status after the claim = %+v, want %+v", it.Name, got.Index, want)
			}
		}
		return nil
	})
	if got := claim(2*time.Second, "t2", 10); len(got) != 0 {
		t.Fatalf("a second claim within the lease took %d jobs", len(got))
	}
	// After the lease and b's run_after, the three are claimed again, one at a time.
	var tokens []string
	for i := range 3 {
		got := claim(2*time.Hour, fmt.Sprintf("t%d", 3+i), 1)
		if len(got) != 1 {
			t.Fatalf("claim %d after the lease took %d", i, len(got))
		}
		tokens = append(tokens, got[0].ItemID)
		// a and c were running when their lease ended: one stop each; b
		// was only queued.
		if got[0].ItemID != b.ID && (got[0].Attempts != 2 || got[0].Stops != 1) {
			t.Fatalf("re-claimed job: %+v", got[0])
		}
		if got[0].ItemID == b.ID && (got[0].Attempts != 1 || got[0].Stops != 0) {
			t.Fatalf("first claim of a queued job: %+v", got[0])
		}
	}
	if slices.Sort(tokens); len(slices.Compact(tokens)) != 3 {
		t.Fatalf("claims took %v", tokens)
	}
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		j, err := tx.IndexJob(ctx, w.a.ID, a.ID)
		if err != nil || j.Version != 2 || j.Token != "t3" && j.Token != "t4" && j.Token != "t5" {
			t.Fatalf("IndexJob(a) = %+v, %v", j, err)
		}
		if _, err := tx.IndexJob(ctx, w.b.ID, a.ID); shelf.ErrorCode(err) != shelf.ENOTFOUND {
			t.Fatalf("IndexJob(other workspace): %v", err)
		}
		return nil
	})
	// PutIndexJob keeps the counts it is given: a job handed back keeps
	// its stops.
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		j := job(b, 1, 0)
		j.Attempts, j.Stops, j.Error = 3, 2, "the last error"
		return tx.PutIndexJob(ctx, j)
	})
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		j, err := tx.IndexJob(ctx, w.a.ID, b.ID)
		if err != nil || j.Attempts != 3 || j.Stops != 2 || j.Error != "the last error" || j.State != shelf.IndexQueued {
			t.Fatalf("IndexJob(b) after PutIndexJob = %+v, %v", j, err)
		}
		return nil
	})
	for _, j := range claim(3*time.Hour, "t9", 10) {
		if j.ItemID == b.ID && (j.Attempts != 4 || j.Stops != 2) {
			t.Fatalf("claim of a queued job with stops: %+v", j)
		}
	}
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteIndexJob(ctx, w.a.ID, b.ID) })
	// Deleting a file takes its job with it.
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { _, err := tx.DeleteTree(ctx, w.a.ID, a.ID); return err })
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, it := range []*shelf.Item{a, b} {
			if _, err := tx.IndexJob(ctx, w.a.ID, it.ID); shelf.ErrorCode(err) != shelf.ENOTFOUND {
				t.Fatalf("job of %s after delete: %v", it.Name, err)
			}
		}
		return nil
	})
}

// testSearchChunks checks chunks, their full-text search with stemming,
// folding and filters, and that deleting a file takes its chunks.
func testSearchChunks(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	docs := child(w.rootA, "docs", shelf.TypeFolder)
	a := child(docs, "a.md", shelf.TypeFile)
	a.ContentType, a.Metadata = "text/markdown; charset=utf-8", json.RawMessage(`{"team":"ops","n":2}`)
	b := child(w.rootA, "b.txt", shelf.TypeFile)
	hidden := child(w.rootA, "hidden.txt", shelf.TypeFile)
	hidden.Hidden = true
	private := child(w.rootA, "private.txt", shelf.TypeFile)
	private.Scope, private.Owner = shelf.VisiblePrivate, "owner-1"
	other := child(w.rootB, "other.txt", shelf.TypeFile)
	// A project's library is internal: searched only when named.
	projLib, projRoot := newLibrary(w.a, "project:p")
	projLib.Kind = shelf.KindProject
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if err := tx.CreateLibrary(ctx, projLib); err != nil {
			return err
		}
		return tx.CreateItem(ctx, projRoot)
	})
	copied := child(projRoot, "copy.txt", shelf.TypeFile)
	// So is a library being deleted, which no search reaches.
	goneLib, goneRoot := newLibrary(w.a, "deleted:x")
	goneLib.Kind = shelf.KindDeleted
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if err := tx.CreateLibrary(ctx, goneLib); err != nil {
			return err
		}
		return tx.CreateItem(ctx, goneRoot)
	})
	doomed := child(goneRoot, "doomed.txt", shelf.TypeFile)
	createItems(t, s, docs, a, b, hidden, private, other, copied, doomed)
	chunks := func(it *shelf.Item, texts ...string) []shelf.Chunk {
		var out []shelf.Chunk
		for i, x := range texts {
			out = append(out, shelf.Chunk{ItemID: it.ID, WorkspaceID: it.WorkspaceID, Version: 1, Index: i, Text: x,
				Heading: "Intro", Start: i * 100, End: i*100 + len(x), Page: i + 1})
		}
		return out
	}
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, c := range []struct {
			it    *shelf.Item
			texts []string
		}{
			{a, []string{"The runners were running in the café", "nothing here"}},
			{b, []string{"a runner ran", "Cafe society"}},
			{hidden, []string{"running hidden"}},
			{private, []string{"running private"}},
			{other, []string{"running elsewhere"}},
			{copied, []string{"running in a project's copy"}},
			{doomed, []string{"running in a library being deleted"}},
		} {
			if err := tx.ReplaceChunks(ctx, c.it.WorkspaceID, c.it.ID, chunks(c.it, c.texts...)); err != nil {
				return err
			}
		}
		return nil
	})
	search := func(q shelf.ChunkQuery) []string {
		t.Helper()
		if q.Limit == 0 {
			q.Limit = 10
		}
		var hits []*shelf.ChunkHit
		view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
			hits, err = tx.SearchChunks(ctx, w.a.ID, q)
			return err
		})
		out := []string{}
		for _, h := range hits {
			if h.Item == nil || h.Item.ID != h.Chunk.ItemID || h.Score <= 0 || h.Highlight == "" {
				t.Fatalf("hit %+v", h)
			}
			out = append(out, fmt.Sprintf("%s#%d", h.Item.Name, h.Chunk.Index))
		}
		slices.Sort(out)
		return out
	}
	check := func(what string, got []string, want ...string) {
		t.Helper()
		slices.Sort(want)
		if !slices.Equal(got, append([]string{}, want...)) {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
	}
	check("stemmed", search(shelf.ChunkQuery{Terms: []string{"run"}}), "a.md#0")
	check("stemmed runner", search(shelf.ChunkQuery{Terms: []string{"runner"}}), "a.md#0", "b.txt#0")
	check("folded", search(shelf.ChunkQuery{Terms: []string{"cafe"}}), "a.md#0", "b.txt#1")
	check("viewer sees private", search(shelf.ChunkQuery{Terms: []string{"running"}, Viewer: "owner-1"}), "a.md#0", "private.txt#0")
	check("library", search(shelf.ChunkQuery{Terms: []string{"cafe"}, LibraryIDs: []string{w.libA.ID}}), "a.md#0", "b.txt#1")
	check("no library", search(shelf.ChunkQuery{Terms: []string{"cafe"}, LibraryIDs: []string{}}))
	check("a project's library, named", search(shelf.ChunkQuery{Terms: []string{"running"}, LibraryIDs: []string{projLib.ID}}), "copy.txt#0")
	check("a project's library and another", search(shelf.ChunkQuery{Terms: []string{"running"}, LibraryIDs: []string{projLib.ID, w.libA.ID}}),
		"a.md#0", "copy.txt#0")
	check("words, not in a project's library", search(shelf.ChunkQuery{Terms: []string{"running", "project"}}), "a.md#0")
	check("path prefix", search(shelf.ChunkQuery{Terms: []string{"cafe"}, PathPrefix: "docs"}), "a.md#0")
	check("content type", search(shelf.ChunkQuery{Terms: []string{"cafe"}, ContentTypes: []string{"text/markdown"}}), "a.md#0")
	check("metadata", search(shelf.ChunkQuery{Terms: []string{"cafe"}, Metadata: map[string]string{"team": "ops", "n": "2"}}), "a.md#0")
	check("metadata miss", search(shelf.ChunkQuery{Terms: []string{"cafe"}, Metadata: map[string]string{"team": "dev"}}))
	check("created before", search(shelf.ChunkQuery{Terms: []string{"cafe"}, CreatedBefore: at(time.Second)}))
	check("created after", search(shelf.ChunkQuery{Terms: []string{"cafe"}, CreatedAfter: at(time.Second)}), "a.md#0", "b.txt#1")

	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.Chunks(ctx, w.a.ID, a.ID)
		if err != nil || len(got) != 2 || got[1].Text != "nothing here" || got[1].Page != 2 || got[1].Start != 100 || got[1].Heading != "Intro" {
			t.Fatalf("Chunks = %+v, %v", got, err)
		}
		if _, err := tx.SearchChunks(ctx, w.a.ID, shelf.ChunkQuery{Terms: []string{`"unbalanced`}, Limit: 5}); shelf.ErrorCode(err) != shelf.EINVALID {
			t.Fatalf("malformed term: %v", err)
		}
		return nil
	})
	// Replacing and deleting leave no chunk behind.
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		return tx.ReplaceChunks(ctx, w.a.ID, b.ID, chunks(b, "fresh words"))
	})
	check("after replace", search(shelf.ChunkQuery{Terms: []string{"cafe"}}), "a.md#0")
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.DeleteTree(ctx, w.a.ID, docs.ID)
		return err
	})
	check("after delete", search(shelf.ChunkQuery{Terms: []string{"cafe"}}))
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteLibrary(ctx, w.a.ID, w.libA.ID) })
	check("after the library's delete", search(shelf.ChunkQuery{Terms: []string{"fresh"}}))
}

// testIndexCounts checks the counts by index state.
func testIndexCounts(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	dir := child(w.rootA, "dir", shelf.TypeFolder)
	var items []*shelf.Item
	for i, st := range []string{shelf.IndexQueued, shelf.IndexRunning, shelf.IndexIndexed, shelf.IndexIndexed, shelf.IndexFailed, shelf.IndexNone, shelf.IndexSkipped} {
		parent := w.rootA
		if i < 3 {
			parent = dir
		}
		it := child(parent, fmt.Sprintf("f%d", i), shelf.TypeFile)
		it.Index.State = st
		if st == shelf.IndexFailed {
			it.Index.Error, it.Index.ErroredAt = "boom", at(time.Hour)
		}
		items = append(items, it)
	}
	createItems(t, s, append([]*shelf.Item{dir}, items...)...)
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.IndexCounts(ctx, w.a.ID)
		want := map[string]int{shelf.IndexQueued: 1, shelf.IndexRunning: 1, shelf.IndexIndexed: 2, shelf.IndexFailed: 1, shelf.IndexSkipped: 1}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("IndexCounts = %v, %v; want %v", got, err, want)
		}
		if n, err := tx.IndexingBelow(ctx, w.a.ID, w.libA.ID, "dir"); err != nil || n != 2 {
			t.Fatalf("IndexingBelow(dir) = %d, %v", n, err)
		}
		if n, err := tx.IndexingBelow(ctx, w.a.ID, w.libA.ID, ""); err != nil || n != 2 {
			t.Fatalf("IndexingBelow(root) = %d, %v", n, err)
		}
		if got, err := tx.IndexCounts(ctx, w.b.ID); err != nil || len(got) != 0 {
			t.Fatalf("IndexCounts(other) = %v, %v", got, err)
		}
		f := getItem(t, s, w.a.ID, items[4].ID)
		if f.Index.State != shelf.IndexFailed || f.Index.Error != "boom" || !f.Index.ErroredAt.Equal(at(time.Hour)) {
			t.Fatalf("index status round trip: %+v", f.Index)
		}
		return nil
	})
}

// testSetIndexStatus checks that SetIndexStatus writes the index fields
// only, and only in the item's workspace.
func testSetIndexStatus(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	a := child(w.rootA, "a.txt", shelf.TypeFile)
	createItems(t, s, a)
	st := shelf.IndexStatus{State: shelf.IndexFailed, IndexedAt: at(time.Minute), StartedAt: at(2 * time.Minute),
		ErroredAt: at(3 * time.Minute), Error: "boom"}
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.SetIndexStatus(ctx, w.a.ID, a.ID, st) })
	got := getItem(t, s, w.a.ID, a.ID)
	want := *a
	want.Index = st
	want.Index.IndexedAt, want.Index.StartedAt, want.Index.ErroredAt = st.IndexedAt.UTC(), st.StartedAt.UTC(), st.ErroredAt.UTC()
	same(t, "item after SetIndexStatus", got, &want)
	err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.SetIndexStatus(ctx, w.b.ID, a.ID, st) })
	wantCode(t, "SetIndexStatus(another workspace)", err, shelf.ENOTFOUND)
}
