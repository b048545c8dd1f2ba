package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shelfmem/shelf"
)

// testListItems checks listing by offset: children or the whole library,
// every sort key both ways with a total order, the name filter, the type
// and visibility filters, counts, and workspace isolation.
func testListItems(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	dir := child(w.rootA, "Docs", shelf.TypeFolder)
	var items []*shelf.Item
	items = append(items, dir)
	for i, name := range []string{"b.md", "a.md", "C.txt", "d.md"} {
		it := child(dir, name, shelf.TypeFile)
		it.Size = int64(10 - i)
		it.UpdatedAt = at(time.Duration(i) * time.Minute)
		items = append(items, it)
	}
	sub := child(dir, "sub", shelf.TypeFolder)
	deep := child(sub, "deep.md", shelf.TypeFile)
	hidden := child(dir, "hidden.md", shelf.TypeFile)
	hidden.Hidden = true
	private := child(dir, "private.md", shelf.TypeFile)
	private.Scope, private.Owner = shelf.VisiblePrivate, "owner-1"
	items = append(items, sub, deep, hidden, private)
	createItems(t, s, items...)
	createItems(t, s, child(w.rootB, "x.md", shelf.TypeFile))

	list := func(q shelf.ListQuery) []string {
		t.Helper()
		if q.Limit == 0 {
			q.Limit = 100
		}
		var got []*shelf.Item
		var n int
		view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
			if got, err = tx.ListItems(ctx, w.a.ID, q); err != nil {
				return err
			}
			n, err = tx.CountItems(ctx, w.a.ID, q)
			return err
		})
		out := []string{}
		for _, it := range got {
			if q.Recursive {
				out = append(out, it.Path)
			} else {
				out = append(out, it.Name)
			}
		}
		return append(out, fmt.Sprint(n))
	}
	check := func(what string, got []string, want ...string) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s = %q, want %q", what, got, want)
		}
	}
	q := shelf.ListQuery{ParentID: dir.ID}
	check("by name", list(q), "C.txt", "a.md", "b.md", "d.md", "sub", "5")
	q.Desc = true
	check("by name desc", list(q), "sub", "d.md", "b.md", "a.md", "C.txt", "5")
	check("offset 1 limit 2", list(shelf.ListQuery{ParentID: dir.ID, Offset: 1, Limit: 2}), "a.md", "b.md", "5")
	check("past the end", list(shelf.ListQuery{ParentID: dir.ID, Offset: 10}), "5")
	check("by size", list(shelf.ListQuery{ParentID: dir.ID, Sort: shelf.ListBySize, Type: shelf.TypeFile}), "d.md", "C.txt", "a.md", "b.md", "4")
	check("by updated desc", list(shelf.ListQuery{ParentID: dir.ID, Sort: shelf.ListByUpdated, Desc: true, Type: shelf.TypeFile}), "d.md", "C.txt", "a.md", "b.md", "4")
	check("after b.md", list(shelf.ListQuery{ParentID: dir.ID, After: "b.md"}), "d.md", "sub", "5")
	check("after b.md, descending", list(shelf.ListQuery{ParentID: dir.ID, After: "b.md", Desc: true}), "a.md", "C.txt", "5")
	check("recursive after Docs/b.md", list(shelf.ListQuery{LibraryID: w.libA.ID, Recursive: true, After: "Docs/b.md", Limit: 2}), "Docs/d.md", "Docs/sub", "7")
	check("folders only", list(shelf.ListQuery{ParentID: dir.ID, Type: shelf.TypeFolder}), "sub", "1")
	check("name contains, any case", list(shelf.ListQuery{ParentID: dir.ID, NameContains: "C"}), "C.txt", "1")
	check("name contains md", list(shelf.ListQuery{ParentID: dir.ID, NameContains: ".MD"}), "a.md", "b.md", "d.md", "3")
	check("with hidden, as owner-1", list(shelf.ListQuery{ParentID: dir.ID, Filter: shelf.ItemFilter{Viewer: "owner-1", WithHidden: true}}),
		"C.txt", "a.md", "b.md", "d.md", "hidden.md", "private.md", "sub", "7")
	check("recursive by path", list(shelf.ListQuery{LibraryID: w.libA.ID, Recursive: true}),
		"Docs", "Docs/C.txt", "Docs/a.md", "Docs/b.md", "Docs/d.md", "Docs/sub", "Docs/sub/deep.md", "7")
	check("recursive files, offset 5", list(shelf.ListQuery{LibraryID: w.libA.ID, Recursive: true, Type: shelf.TypeFile, Offset: 4}), "Docs/sub/deep.md", "5")
	err := viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.ListItems(ctx, w.a.ID, shelf.ListQuery{ParentID: dir.ID, Sort: "owner", Limit: 1})
		return err
	})
	wantCode(t, "ListItems(unknown sort)", err, shelf.EINVALID)
	err = viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.ListItems(ctx, w.a.ID, shelf.ListQuery{ParentID: dir.ID, Sort: shelf.ListBySize, After: "a.md", Limit: 1})
		return err
	})
	wantCode(t, "ListItems(After with another sort)", err, shelf.EINVALID)
	var got []*shelf.Item
	view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		got, err = tx.ListItems(ctx, w.b.ID, shelf.ListQuery{ParentID: dir.ID, Limit: 10})
		return err
	})
	if len(got) != 0 {
		t.Fatalf("another workspace lists %d items", len(got))
	}
}

// testListDeep checks pages deep in long lists, in both orders, with
// their counts, against a model of the list, as the list changes between
// reads: a store that remembers where deep pages start (as the SQLite
// store does) must forget it when any item is added, removed, renamed,
// moved, hidden or made private.
func testListDeep(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	dir := child(w.rootA, "big", shelf.TypeFolder)
	other := child(w.rootA, "other", shelf.TypeFolder)
	items := []*shelf.Item{dir, other}
	byName := map[string]*shelf.Item{}
	const n = 1300
	for i := range n {
		// Names in an order unlike creation, so a store cannot lean on it.
		it := child(dir, fmt.Sprintf("f%05d", (i*7919)%n), shelf.TypeFile)
		if i%97 == 0 {
			it.Hidden = true
		}
		if i%89 == 0 {
			it.Scope, it.Owner = shelf.VisiblePrivate, "owner-1"
		}
		items = append(items, it)
		byName[it.Name] = it
	}
	createItems(t, s, items...)

	viewers := []shelf.ItemFilter{{}, {Viewer: "owner-1", WithHidden: true}}
	// model is the list q selects, as the test's own copy of the items
	// says, in q's order: paths when recursive.
	model := func(q shelf.ListQuery) []string {
		var out []string
		for _, it := range byName {
			if (it.Hidden && !q.Filter.WithHidden) || (it.Scope == shelf.VisiblePrivate && it.Owner != q.Filter.Viewer) {
				continue
			}
			if q.Recursive {
				out = append(out, it.Path)
			} else if it.ParentID == dir.ID {
				out = append(out, it.Name)
			}
		}
		if q.Recursive {
			out = append(out, dir.Path, other.Path)
		}
		slices.Sort(out)
		if q.Desc {
			slices.Reverse(out)
		}
		return out
	}
	check := func(when string) {
		t.Helper()
		for _, filter := range viewers {
			for _, recursive := range []bool{false, true} {
				for _, desc := range []bool{false, true} {
					q := shelf.ListQuery{ParentID: dir.ID, LibraryID: w.libA.ID, Recursive: recursive, Desc: desc, Filter: filter, Limit: 100}
					want := model(q)
					for _, off := range []int{0, 411, 511, 512, 513, 1000, 1023, 1024, 1025, 1200, len(want) - 1, len(want), 5000} {
						q.Offset = off
						var got []*shelf.Item
						var count int
						view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
							if got, err = tx.ListItems(ctx, w.a.ID, q); err != nil {
								return err
							}
							count, err = tx.CountItems(ctx, w.a.ID, q)
							return err
						})
						var names []string
						for _, it := range got {
							if recursive {
								names = append(names, it.Path)
							} else {
								names = append(names, it.Name)
							}
						}
						page := want[min(off, len(want)):min(off+q.Limit, len(want))]
						if !slices.Equal(names, page) || count != len(want) {
							i := 0
							for i < min(len(names), len(page)) && names[i] == page[i] {
								i++
							}
							t.Fatalf("%s: viewer %+v, recursive %v, desc %v, offset %d: got %d rows of %d, want %d of %d; they differ from row %d on: got %q, want %q",
								when, filter, recursive, desc, off, len(names), count, len(page), len(want), i,
								names[i:min(i+3, len(names))], page[i:min(i+3, len(page))])
						}
					}
				}
			}
		}
	}
	check("as created")

	change := func(what string, fn func(ctx context.Context, tx shelf.Tx) error) {
		t.Helper()
		update(t, s, fn)
		check("after " + what)
	}
	it := byName["f00003"]
	change("a delete near the start", func(ctx context.Context, tx shelf.Tx) error {
		delete(byName, it.Name)
		_, err := tx.DeleteTree(ctx, w.a.ID, it.ID)
		return err
	})
	add := child(dir, "a-first", shelf.TypeFile)
	change("an insert at the start", func(ctx context.Context, tx shelf.Tx) error {
		byName[add.Name] = add
		return tx.CreateItem(ctx, add)
	})
	rename := func(it *shelf.Item, name string, parent *shelf.Item) {
		delete(byName, it.Name)
		it.Name, it.ParentID, it.Path = name, parent.ID, parent.Path+"/"+name
		byName[it.Name] = it
	}
	it = byName["f00010"]
	change("a rename to the end", func(ctx context.Context, tx shelf.Tx) error {
		rename(it, "z-last", dir)
		return tx.UpdateItem(ctx, it)
	})
	it = byName["f00020"]
	change("a move to another folder", func(ctx context.Context, tx shelf.Tx) error {
		rename(it, it.Name, other)
		return tx.UpdateItem(ctx, it)
	})
	it = byName["f00030"]
	change("a hide", func(ctx context.Context, tx shelf.Tx) error {
		it.Hidden = true
		return tx.UpdateItem(ctx, it)
	})
	it = byName["f00040"]
	change("making one private", func(ctx context.Context, tx shelf.Tx) error {
		it.Scope, it.Owner = shelf.VisiblePrivate, "owner-2"
		return tx.UpdateItem(ctx, it)
	})
	it = byName["f00050"]
	rollback := errors.New("roll back")
	err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.DeleteTree(ctx, w.a.ID, it.ID)
		if err != nil {
			return err
		}
		// A read inside the write sees the delete; it must not leave a
		// remembered position behind that outlives the rollback.
		if _, err := tx.ListItems(ctx, w.a.ID, shelf.ListQuery{ParentID: dir.ID, Offset: 1100, Limit: 10}); err != nil {
			return err
		}
		if _, err := tx.CountItems(ctx, w.a.ID, shelf.ListQuery{ParentID: dir.ID}); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatalf("rolled back update: %v", err)
	}
	check("a delete rolled back")
	it = byName["f00060"]
	change("a delete after the rollback", func(ctx context.Context, tx shelf.Tx) error {
		delete(byName, it.Name)
		_, err := tx.DeleteTree(ctx, w.a.ID, it.ID)
		return err
	})
}
