package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shelfmem/shelf"
)

// Over a large index the most common terms leave a query whose other terms
// suffice; under the budget every term counts.
func TestAffordableTerms(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "shelf.db"))
	ctx := context.Background()
	now := time.Now().UTC()
	ws := &shelf.Workspace{ID: "ws", Name: "w", CreatedAt: now}
	lib := &shelf.Library{ID: "lib", WorkspaceID: "ws", Slug: "l", Name: "l", Kind: shelf.KindLibrary, RootID: "root", CreatedAt: now, UpdatedAt: now}
	err := s.Update(ctx, func(tx shelf.Tx) error {
		if err := tx.CreateWorkspace(ctx, ws); err != nil {
			return err
		}
		if err := tx.CreateLibrary(ctx, lib); err != nil {
			return err
		}
		if err := tx.CreateItem(ctx, &shelf.Item{ID: "root", WorkspaceID: "ws", LibraryID: "lib", Type: shelf.TypeFolder, Name: "r", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		for i := range 20 {
			id := fmt.Sprintf("f%02d", i)
			if err := tx.CreateItem(ctx, &shelf.Item{ID: id, WorkspaceID: "ws", LibraryID: "lib", ParentID: "root", Type: shelf.TypeFile,
				Name: id, Path: id, Scope: shelf.VisibleWorkspace, Head: 1, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
			text := "the walruses are common here"
			if i < 2 {
				text += " and rarely zebras"
			}
			if err := tx.ReplaceChunks(ctx, "ws", id, []shelf.Chunk{{Version: 1, Text: text, End: len(text)}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	search := func(terms ...string) int {
		t.Helper()
		var n int
		err := s.View(ctx, func(tx shelf.Tx) error {
			hits, err := tx.SearchChunks(ctx, "ws", shelf.ChunkQuery{Terms: terms, Limit: 100})
			n = len(hits)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := search("walruses", "zebra"); n != 20 {
		t.Fatalf("under the budget: %d hits, want every chunk with either term (20)", n)
	}
	defer func(b int64) { termBudget = b }(termBudget)
	termBudget = 5
	var top []*shelf.ChunkHit
	if err := s.View(ctx, func(tx shelf.Tx) (err error) {
		top, err = tx.SearchChunks(ctx, "ws", shelf.ChunkQuery{Terms: []string{"Walrus", "zebras"}, Limit: 2})
		return err
	}); err != nil || len(top) != 2 || top[0].Item.ID > "f01" || top[1].Item.ID > "f01" {
		t.Fatalf("over the budget, top 2: %v, %v; want the 2 with the rare term", top, err)
	}
	if n := search("walruses", "zebras"); n != 20 {
		t.Fatalf("over the budget, when the rare term does not fill the page: %d hits, want all 20", n)
	}
	if n := search("walruses"); n != 20 {
		t.Fatalf("a lone common term stays: %d hits", n)
	}
	if n := search("walruses", "unheardof"); n != 20 {
		t.Fatalf("a term the index lacks does not stand in for the others: %d hits", n)
	}
	// Terms every chunk holds: the newest matches are ranked, with their
	// highlights; a page they cannot fill counts every match.
	defer func(o int64, n int) { sampleOver, sampleSize = o, n }(sampleOver, sampleSize)
	sampleOver, sampleSize = 5, 3
	var page []*shelf.ChunkHit
	if err := s.View(ctx, func(tx shelf.Tx) (err error) {
		page, err = tx.SearchChunks(ctx, "ws", shelf.ChunkQuery{Terms: []string{"walruses"}, Limit: 2})
		return err
	}); err != nil || len(page) != 2 || page[0].Item.ID < "f17" || page[1].Item.ID < "f17" || !strings.Contains(page[0].Highlight, "\x02walruses\x03") {
		for _, h := range page {
			t.Logf("%s %q", h.Item.ID, h.Highlight)
		}
		t.Fatalf("sampled page: %+v, %v", page, err)
	}
	if n := search("walruses"); n != 20 {
		t.Fatalf("a page the sample cannot fill: %d hits, want 20", n)
	}
	if got := foldWord("Ŵálrüs"); got != "walrus" {
		t.Fatalf("foldWord = %q", got)
	}
}
