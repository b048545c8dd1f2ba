package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/shelfmem/shelf"
)

// testVectors checks embeddings beside chunks: kept with their model, listed
// in id order, resolved through the search filters, never reused, and gone
// with their chunks.
func testVectors(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	docs := child(w.rootA, "docs", shelf.TypeFolder)
	a := child(docs, "a.md", shelf.TypeFile)
	b := child(w.rootA, "b.txt", shelf.TypeFile)
	hidden := child(w.rootA, "hidden.txt", shelf.TypeFile)
	hidden.Hidden = true
	other := child(w.rootB, "other.txt", shelf.TypeFile)
	for _, it := range []*shelf.Item{a, b, hidden, other} {
		it.Index.State = shelf.IndexIndexed
	}
	createItems(t, s, docs, a, b, hidden, other)
	chunks := func(it *shelf.Item, model string, vecs ...[]float32) []shelf.Chunk {
		var out []shelf.Chunk
		for i, v := range vecs {
			out = append(out, shelf.Chunk{ItemID: it.ID, WorkspaceID: it.WorkspaceID, Version: 1, Index: i,
				Text: "text", Start: 0, End: 4, Model: model, Vector: v})
		}
		return out
	}
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, c := range []struct {
			it   *shelf.Item
			vecs [][]float32
		}{
			{a, [][]float32{{1, 0, 0}, {0, 1, 0}}},
			{b, [][]float32{{0, 0, 1}}},
			{hidden, [][]float32{{1, 1, 0}}},
			{other, [][]float32{{1, 0, 1}}},
		} {
			if err := tx.ReplaceChunks(ctx, c.it.WorkspaceID, c.it.ID, chunks(c.it, "m1", c.vecs...)); err != nil {
				return err
			}
		}
		return nil
	})
	err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		return tx.ReplaceChunks(ctx, w.a.ID, b.ID, []shelf.Chunk{{Index: 0, Text: "x", Vector: []float32{1}}})
	})
	wantCode(t, "a vector without a model", err, shelf.EINVALID)
	var rows []shelf.VectorRow
	view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		if rows, err = tx.Vectors(ctx, w.a.ID, "m1", 0, 10); err != nil {
			return err
		}
		if len(rows) != 4 || !slices.Equal(rows[0].Vector, []float32{1, 0, 0}) || !slices.Equal(rows[3].Vector, []float32{1, 1, 0}) {
			t.Fatalf("Vectors = %+v", rows)
		}
		for i := 1; i < len(rows); i++ {
			if rows[i].ID <= rows[i-1].ID {
				t.Fatalf("Vectors not in id order: %+v", rows)
			}
		}
		page, err := tx.Vectors(ctx, w.a.ID, "m1", rows[1].ID, 1)
		if err != nil || len(page) != 1 || page[0].ID != rows[2].ID {
			t.Fatalf("Vectors after %d = %+v, %v", rows[1].ID, page, err)
		}
		if none, err := tx.Vectors(ctx, w.a.ID, "m2", 0, 10); err != nil || len(none) != 0 {
			t.Fatalf("Vectors of another model = %+v, %v", none, err)
		}
		if n, err := tx.CountVectors(ctx, w.a.ID, "m1"); err != nil || n != 4 {
			t.Fatalf("CountVectors = %d, %v", n, err)
		}
		ids := []int64{rows[0].ChunkID, rows[1].ChunkID, rows[2].ChunkID, rows[3].ChunkID, 1 << 40}
		got, err := tx.ChunkHits(ctx, w.a.ID, ids, shelf.ChunkQuery{})
		if err != nil || len(got) != 3 || got[rows[0].ChunkID].Item.ID != a.ID || got[rows[2].ChunkID].Item.ID != b.ID ||
			got[rows[1].ChunkID].Chunk.Index != 1 || got[rows[1].ChunkID].Chunk.Model != "m1" {
			t.Fatalf("ChunkHits = %v, %v (hidden and unknown ids must be left out)", got, err)
		}
		got, err = tx.ChunkHits(ctx, w.a.ID, ids, shelf.ChunkQuery{PathPrefix: "docs"})
		if err != nil || len(got) != 2 || got[rows[2].ChunkID] != nil {
			t.Fatalf("ChunkHits under docs = %v, %v", got, err)
		}
		if got, err := tx.ChunkHits(ctx, w.b.ID, ids, shelf.ChunkQuery{}); err != nil || len(got) != 0 {
			t.Fatalf("ChunkHits from another workspace = %v, %v", got, err)
		}
		allowed, err := tx.EmbeddedChunkIDs(ctx, w.a.ID, "m1", shelf.ChunkQuery{PathPrefix: "docs"}, 10)
		slices.Sort(allowed)
		if err != nil || !slices.Equal(allowed, []int64{rows[0].ChunkID, rows[1].ChunkID}) {
			t.Fatalf("EmbeddedChunkIDs under docs = %v, %v", allowed, err)
		}
		return nil
	})
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		return tx.ReplaceChunks(ctx, w.a.ID, b.ID, []shelf.Chunk{{ItemID: b.ID, WorkspaceID: w.a.ID, Version: 1, Text: "no vector", End: 9}})
	})
	// Replaced vectors get new ids; old ids never come back.
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		return tx.ReplaceChunks(ctx, w.a.ID, a.ID, chunks(a, "m1", []float32{0, 1, 1}))
	})
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		now, err := tx.Vectors(ctx, w.a.ID, "m1", 0, 10)
		if err != nil || len(now) != 2 || now[1].ID <= rows[3].ID {
			t.Fatalf("after replace: %+v, %v (want the hidden file's and a new id above %d)", now, err, rows[3].ID)
		}
		got, err := tx.ChunkHits(ctx, w.a.ID, []int64{rows[0].ChunkID, rows[1].ChunkID}, shelf.ChunkQuery{})
		if err != nil || len(got) != 0 {
			t.Fatalf("replaced ids still resolve: %v, %v", got, err)
		}
		return nil
	})
	// Deleting the files takes their vectors.
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, it := range []*shelf.Item{docs, hidden} {
			if _, err := tx.DeleteTree(ctx, w.a.ID, it.ID); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if n, err := tx.CountVectors(ctx, w.a.ID, "m1"); err != nil || n != 0 {
			t.Fatalf("vectors after deletes: %d, %v", n, err)
		}
		if n, err := tx.CountVectors(ctx, w.b.ID, "m1"); err != nil || n != 1 {
			t.Fatalf("the other workspace's vectors: %d, %v", n, err)
		}
		return nil
	})
	// CheckIndex finds nothing wrong, then a chunk of a version that is
	// not the head.
	check := func() []shelf.IndexProblem {
		t.Helper()
		var got []shelf.IndexProblem
		update(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
			got, err = tx.CheckIndex(ctx, 10)
			return err
		})
		return got
	}
	if got := check(); len(got) != 0 {
		t.Fatalf("CheckIndex on a sound index = %+v", got)
	}
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		return tx.ReplaceChunks(ctx, w.b.ID, other.ID, []shelf.Chunk{{ItemID: other.ID, WorkspaceID: w.b.ID, Version: other.Head + 5, Text: "old", End: 3}})
	})
	if got := check(); len(got) != 1 || got[0].Kind != "stale_chunk" {
		t.Fatalf("CheckIndex with a stale chunk = %+v", got)
	}
}

// testCopyChunks checks that CopyChunks gives a file copies of another's
// chunks, full-text entries and embeddings (new ids), as chunks of the
// version given, replacing its own, and that the copies outlive the file
// they came from.
func testCopyChunks(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	src := child(w.rootA, "src.txt", shelf.TypeFile)
	dst := child(w.rootA, "dst.txt", shelf.TypeFile)
	empty := child(w.rootA, "empty.txt", shelf.TypeFile)
	other := child(w.rootB, "other.txt", shelf.TypeFile)
	createItems(t, s, src, dst, empty, other)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if err := tx.ReplaceChunks(ctx, w.a.ID, src.ID, []shelf.Chunk{
			{Version: 2, Index: 0, Text: "copied zebra", Heading: "H", Start: 0, End: 12, Page: 1, Model: "m1", Vector: []float32{1, 0}},
			{Version: 2, Index: 1, Text: "copied okapi", Start: 13, End: 25, Page: 2},
		}); err != nil {
			return err
		}
		return tx.ReplaceChunks(ctx, w.a.ID, dst.ID, []shelf.Chunk{{Version: 1, Index: 0, Text: "stale quokka", End: 12}})
	})
	var n int
	update(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		n, err = tx.CopyChunks(ctx, w.a.ID, src.ID, dst.ID, 7)
		return err
	})
	if n != 2 {
		t.Fatalf("CopyChunks = %d, want 2", n)
	}
	// The source goes; the copies stay.
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { _, err := tx.DeleteTree(ctx, w.a.ID, src.ID); return err })
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.Chunks(ctx, w.a.ID, dst.ID)
		if err != nil {
			return err
		}
		want := []shelf.Chunk{
			{ItemID: dst.ID, WorkspaceID: w.a.ID, Version: 7, Index: 0, Text: "copied zebra", Heading: "H", Start: 0, End: 12, Page: 1},
			{ItemID: dst.ID, WorkspaceID: w.a.ID, Version: 7, Index: 1, Text: "copied okapi", Start: 13, End: 25, Page: 2},
		}
		if len(got) != 2 || !sameChunk(got[0], want[0]) || !sameChunk(got[1], want[1]) {
			t.Fatalf("copied chunks = %+v", got)
		}
		for q, want := range map[string]int{"zebra": 1, "okapi": 1, "quokka": 0} {
			hits, err := tx.SearchChunks(ctx, w.a.ID, shelf.ChunkQuery{Terms: []string{q}, Limit: 10})
			if err != nil {
				return err
			}
			if len(hits) != want || (want == 1 && hits[0].Item.ID != dst.ID) {
				t.Fatalf("search %q = %d hits, want %d", q, len(hits), want)
			}
		}
		rows, err := tx.Vectors(ctx, w.a.ID, "m1", 0, 10)
		if err != nil || len(rows) != 1 || !slices.Equal(rows[0].Vector, []float32{1, 0}) {
			t.Fatalf("vectors after the copy and the source's delete = %+v, %v", rows, err)
		}
		found, err := tx.ChunkHits(ctx, w.a.ID, []int64{rows[0].ChunkID}, shelf.ChunkQuery{})
		if err != nil || found[rows[0].ChunkID] == nil || found[rows[0].ChunkID].Item.ID != dst.ID || found[rows[0].ChunkID].Chunk.Index != 0 {
			t.Fatalf("the copied vector's chunk = %+v, %v", found, err)
		}
		return nil
	})
	// The copy of a chunk without an embedding waits for one too.
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		files, chunks, err := tx.EmbeddingsPending(ctx, w.a.ID)
		if err != nil || files != 1 || chunks != 1 {
			t.Fatalf("EmbeddingsPending after the copy = %d files, %d chunks, %v; want the copy's one", files, chunks, err)
		}
		todo, err := tx.ChunksToEmbed(ctx, 10)
		if err != nil || len(todo) != 1 || todo[0].ItemID != dst.ID || todo[0].Text != "copied okapi" {
			t.Fatalf("ChunksToEmbed after the copy = %+v, %v", todo, err)
		}
		return nil
	})
	// A file without chunks copies none, and clears the target's.
	update(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		n, err = tx.CopyChunks(ctx, w.a.ID, empty.ID, dst.ID, 8)
		return err
	})
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.Chunks(ctx, w.a.ID, dst.ID)
		if n != 0 || err != nil || len(got) != 0 {
			t.Fatalf("copy of none = %d, then %+v, %v", n, got, err)
		}
		if files, _, err := tx.EmbeddingsPending(ctx, w.a.ID); err != nil || files != 0 {
			t.Fatalf("EmbeddingsPending after a copy of none = %d, %v", files, err)
		}
		return nil
	})
	for _, c := range []struct {
		what, from, to string
		code           string
	}{
		{"a file of another workspace", other.ID, dst.ID, shelf.ENOTFOUND},
		{"onto a file of another workspace", dst.ID, other.ID, shelf.ENOTFOUND},
		{"a missing file", newID(), dst.ID, shelf.ENOTFOUND},
		{"onto itself", dst.ID, dst.ID, shelf.EINVALID},
	} {
		err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
			_, err := tx.CopyChunks(ctx, w.a.ID, c.from, c.to, 1)
			return err
		})
		wantCode(t, "CopyChunks("+c.what+")", err, c.code)
	}
}

func sameChunk(a, b shelf.Chunk) bool {
	return a.ItemID == b.ItemID && a.WorkspaceID == b.WorkspaceID && a.Version == b.Version && a.Index == b.Index &&
		a.Text == b.Text && a.Heading == b.Heading && a.Start == b.Start && a.End == b.End && a.Page == b.Page
}

// testEmbeddings checks the embeddings that follow chunks: chunks stored
// without one are pending, per file and in order; PutEmbeddings stores
// one per chunk, skipping chunks gone or embedded already; a refusal ends
// a chunk's wait without being found; DropEmbeddings makes chunks of
// another model pending again; a deleted file waits for nothing.
func testEmbeddings(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	a := child(w.rootA, "a.txt", shelf.TypeFile)
	b := child(w.rootA, "b.txt", shelf.TypeFile)
	other := child(w.rootB, "other.txt", shelf.TypeFile)
	createItems(t, s, a, b, other)
	first, second := a, b
	if b.ID < a.ID {
		first, second = b, a
	}
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if err := tx.ReplaceChunks(ctx, w.a.ID, first.ID, []shelf.Chunk{
			{Version: 1, Index: 0, Text: "f0", End: 2, Model: "m1", Vector: []float32{1, 0}},
			{Version: 1, Index: 1, Text: "f1", Heading: "H", End: 2},
			{Version: 1, Index: 2, Text: "f2", End: 2, Model: "m1", Vector: []float32{0, 1}},
		}); err != nil {
			return err
		}
		if err := tx.ReplaceChunks(ctx, w.a.ID, second.ID, []shelf.Chunk{
			{Version: 1, Index: 0, Text: "s0", End: 2}, {Version: 1, Index: 1, Text: "s1", End: 2},
		}); err != nil {
			return err
		}
		return tx.ReplaceChunks(ctx, w.b.ID, other.ID, []shelf.Chunk{{Version: 1, Index: 0, Text: "o0", End: 2}})
	})
	pending := func(ws string, wantFiles, wantChunks int) {
		t.Helper()
		view(t, s, func(ctx context.Context, tx shelf.Tx) error {
			files, chunks, err := tx.EmbeddingsPending(ctx, ws)
			if err != nil || files != wantFiles || chunks != wantChunks {
				t.Fatalf("EmbeddingsPending = %d files, %d chunks, %v; want %d, %d", files, chunks, err, wantFiles, wantChunks)
			}
			return nil
		})
	}
	todo := func(limit int) []shelf.ChunkToEmbed {
		t.Helper()
		var out []shelf.ChunkToEmbed
		view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
			out, err = tx.ChunksToEmbed(ctx, limit)
			return err
		})
		return out
	}
	pending(w.a.ID, 2, 3)
	pending(w.b.ID, 1, 1)
	all := todo(10)
	var texts []string
	var got []shelf.ChunkToEmbed // the workspace's, in order
	for _, c := range all {
		if c.WorkspaceID == w.a.ID {
			texts = append(texts, c.Text)
			got = append(got, c)
		}
	}
	want := []string{"f1", "s0", "s1"}
	if first.ID > other.ID == (second.ID > other.ID) { // other is not between them
		if len(all) != 4 || (all[0].Text == "o0") != (other.ID < first.ID) {
			t.Fatalf("ChunksToEmbed = %+v; want the files in item id order", all)
		}
	}
	if len(all) != 4 || !slices.Equal(texts, want) || got[0].Heading != "H" || got[0].ItemID != first.ID {
		t.Fatalf("ChunksToEmbed = %+v; want f1, s0, s1 (and the other workspace's), in file and chunk order", all)
	}
	if page := todo(2); len(page) != 2 || page[1].ID != all[1].ID {
		t.Fatalf("ChunksToEmbed(2) = %+v", page)
	}
	err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.PutEmbeddings(ctx, []shelf.Embedding{{ChunkID: got[0].ID, Vector: []float32{1, 1}}})
		return err
	})
	wantCode(t, "an embedding without a model", err, shelf.EINVALID)
	var stored int
	update(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		stored, err = tx.PutEmbeddings(ctx, []shelf.Embedding{
			{ChunkID: got[0].ID, Model: "m1", Vector: []float32{1, 1}},
			{ChunkID: got[1].ID, Model: "m1"},                          // refused
			{ChunkID: got[0].ID, Model: "m1", Vector: []float32{5, 5}}, // embedded already
			{ChunkID: 1 << 50, Model: "m1", Vector: []float32{1, 1}},   // no such chunk
		})
		return err
	})
	if stored != 2 {
		t.Fatalf("PutEmbeddings stored %d, want 2", stored)
	}
	pending(w.a.ID, 1, 1)
	if left := todo(10); len(left) != 2 || !slices.ContainsFunc(left, func(c shelf.ChunkToEmbed) bool { return c.Text == "s1" }) {
		t.Fatalf("ChunksToEmbed after PutEmbeddings = %+v", left)
	}
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		rows, err := tx.Vectors(ctx, w.a.ID, "m1", 0, 10)
		if err != nil || len(rows) != 3 || !slices.Equal(rows[2].Vector, []float32{1, 1}) {
			t.Fatalf("Vectors = %+v, %v; want three, the refusal left out", rows, err)
		}
		ids, err := tx.EmbeddedChunkIDs(ctx, w.a.ID, "m1", shelf.ChunkQuery{}, 10)
		if err != nil || len(ids) != 3 {
			t.Fatalf("EmbeddedChunkIDs = %v, %v; want three, the refusal left out", ids, err)
		}
		return nil
	})
	// Chunks replaced since they were read take no embedding.
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		return tx.ReplaceChunks(ctx, w.a.ID, second.ID, []shelf.Chunk{{Version: 2, Index: 0, Text: "n0", End: 2}})
	})
	update(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		stored, err = tx.PutEmbeddings(ctx, []shelf.Embedding{{ChunkID: got[2].ID, Model: "m1", Vector: []float32{1, 1}}})
		return err
	})
	if stored != 0 {
		t.Fatalf("PutEmbeddings of a replaced chunk stored %d", stored)
	}
	pending(w.a.ID, 1, 1)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		left, err := tx.ChunksToEmbed(ctx, 10)
		for _, c := range left {
			if c.Text == "n0" {
				_, err = tx.PutEmbeddings(ctx, []shelf.Embedding{{ChunkID: c.ID, Model: "m1"}}) // refused
			}
		}
		return err
	})
	pending(w.a.ID, 0, 0)
	// A change of model: every embedding of another, refusals too, goes,
	// in batches, and its chunks wait again.
	total := 0
	for {
		var n int
		update(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
			n, err = tx.DropEmbeddings(ctx, "m2", 2)
			return err
		})
		if n > 2 {
			t.Fatalf("DropEmbeddings(limit 2) = %d", n)
		}
		if n == 0 {
			break
		}
		total += n
	}
	if total != 4 {
		t.Fatalf("DropEmbeddings dropped %d, want 4 (three vectors and a refusal)", total)
	}
	pending(w.a.ID, 2, 4)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		n, err := tx.DropEmbeddings(ctx, "m2", 10)
		if err == nil && n != 0 {
			t.Fatalf("DropEmbeddings with none left = %d", n)
		}
		return err
	})
	// A deleted file waits for nothing.
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.DeleteTree(ctx, w.b.ID, other.ID)
		return err
	})
	pending(w.b.ID, 0, 0)
	// Cleared chunks wait for nothing either.
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.ReplaceChunks(ctx, w.a.ID, first.ID, nil) })
	pending(w.a.ID, 1, 1)
}
