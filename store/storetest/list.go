package storetest

import (
	"context"
	"fmt"
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
