package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/shelfmem/shelf"
)

// testVectors checks embeddings beside chunks: kept with their model, listed
// in id order, resolved through the search filters, never reused, gone with
// their chunks, and found stale when the model changes.
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
		ids := []int64{rows[0].ID, rows[1].ID, rows[2].ID, rows[3].ID, 1 << 40}
		got, err := tx.VectorChunks(ctx, w.a.ID, ids, shelf.ChunkQuery{})
		if err != nil || len(got) != 3 || got[rows[0].ID].Item.ID != a.ID || got[rows[2].ID].Item.ID != b.ID ||
			got[rows[1].ID].Chunk.Index != 1 || got[rows[1].ID].Chunk.Model != "m1" {
			t.Fatalf("VectorChunks = %v, %v (hidden and unknown ids must be left out)", got, err)
		}
		got, err = tx.VectorChunks(ctx, w.a.ID, ids, shelf.ChunkQuery{PathPrefix: "docs"})
		if err != nil || len(got) != 2 || got[rows[2].ID] != nil {
			t.Fatalf("VectorChunks under docs = %v, %v", got, err)
		}
		if got, err := tx.VectorChunks(ctx, w.b.ID, ids, shelf.ChunkQuery{}); err != nil || len(got) != 0 {
			t.Fatalf("VectorChunks from another workspace = %v, %v", got, err)
		}
		allowed, err := tx.VectorIDs(ctx, w.a.ID, "m1", shelf.ChunkQuery{PathPrefix: "docs"}, 10)
		slices.Sort(allowed)
		if err != nil || !slices.Equal(allowed, []int64{rows[0].ID, rows[1].ID}) {
			t.Fatalf("VectorIDs under docs = %v, %v", allowed, err)
		}
		stale, err := tx.StaleEmbeddings(ctx, "m1", "", 10)
		if err != nil || len(stale) != 0 {
			t.Fatalf("StaleEmbeddings(current model) = %v, %v", stale, err)
		}
		stale, err = tx.StaleEmbeddings(ctx, "m2", "", 10)
		if err != nil || len(stale) != 4 {
			t.Fatalf("StaleEmbeddings(new model) = %v, %v", stale, err)
		}
		next, err := tx.StaleEmbeddings(ctx, "m2", stale[1].ItemID, 10)
		if err != nil || len(next) != 2 || next[0] != stale[2] {
			t.Fatalf("StaleEmbeddings after %s = %v, %v", stale[1].ItemID, next, err)
		}
		return nil
	})
	// A chunk without a vector is stale under any model.
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		return tx.ReplaceChunks(ctx, w.a.ID, b.ID, []shelf.Chunk{{ItemID: b.ID, WorkspaceID: w.a.ID, Version: 1, Text: "no vector", End: 9}})
	})
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		stale, err := tx.StaleEmbeddings(ctx, "m1", "", 10)
		if err != nil || len(stale) != 1 || stale[0] != (shelf.ItemRef{WorkspaceID: w.a.ID, ItemID: b.ID}) {
			t.Fatalf("StaleEmbeddings with an unembedded chunk = %v, %v", stale, err)
		}
		return nil
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
		got, err := tx.VectorChunks(ctx, w.a.ID, []int64{rows[0].ID, rows[1].ID}, shelf.ChunkQuery{})
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
