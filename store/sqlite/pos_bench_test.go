package sqlite

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/shelfmem/shelf"
)

// BenchmarkDeepPage times a page of 100 at offset 50,000 of a folder of
// 100,000, with the folder unchanged (remembered positions) and changed
// before each page (positions rebuilt), against counting from the start.
func BenchmarkDeepPage(b *testing.B) {
	s := mustOpen(b, filepath.Join(b.TempDir(), "shelf.db"))
	ctx := b.Context()
	const n = 100_000
	err := s.Update(ctx, func(tx shelf.Tx) error {
		if err := tx.CreateWorkspace(ctx, &shelf.Workspace{ID: "w", Name: "w", CreatedAt: time.Now()}); err != nil {
			return err
		}
		if err := tx.CreateLibrary(ctx, &shelf.Library{ID: "l", WorkspaceID: "w", Slug: "l", Name: "l", RootID: "r"}); err != nil {
			return err
		}
		if err := tx.CreateItem(ctx, &shelf.Item{ID: "r", WorkspaceID: "w", LibraryID: "l", Type: shelf.TypeFolder, Name: "root"}); err != nil {
			return err
		}
		for i := range n {
			name := fmt.Sprintf("file-%06d.md", i)
			if err := tx.CreateItem(ctx, &shelf.Item{ID: "i" + name, WorkspaceID: "w", LibraryID: "l", ParentID: "r", Type: shelf.TypeFile, Name: name, Path: name}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	q := shelf.ListQuery{ParentID: "r", Offset: 50_000, Limit: 100}
	page := func(b *testing.B) {
		err := s.View(ctx, func(tx shelf.Tx) error {
			items, err := tx.ListItems(ctx, "w", q)
			if err == nil && (len(items) != 100 || items[0].Name != "file-050000.md") {
				err = fmt.Errorf("page: %d from %s", len(items), items[0].Name)
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Run("remembered", func(b *testing.B) {
		for b.Loop() {
			page(b)
		}
	})
	b.Run("changed", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			err := s.Update(ctx, func(tx shelf.Tx) error {
				return tx.CreateItem(ctx, &shelf.Item{ID: fmt.Sprint("z", i), WorkspaceID: "w", LibraryID: "l", ParentID: "r", Type: shelf.TypeFile, Name: fmt.Sprint("zz", i), Path: fmt.Sprint("zz", i)})
			})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			page(b)
		}
	})
	b.Run("changed, counted", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			err := s.Update(ctx, func(tx shelf.Tx) error {
				return tx.CreateItem(ctx, &shelf.Item{ID: fmt.Sprint("y", i), WorkspaceID: "w", LibraryID: "l", ParentID: "r", Type: shelf.TypeFile, Name: fmt.Sprint("zy", i), Path: fmt.Sprint("zy", i)})
			})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			err = s.View(ctx, func(t shelf.Tx) error {
				t.(*tx).pos = nil
				_, err := t.ListItems(ctx, "w", q)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("counted", func(b *testing.B) {
		for b.Loop() {
			err := s.View(ctx, func(t shelf.Tx) error {
				t.(*tx).pos = nil
				_, err := t.ListItems(ctx, "w", q)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
