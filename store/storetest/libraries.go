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

// testLibraryFields checks that description, metadata and x_attrs round
// trip through create and update.
func testLibraryFields(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	l, root := newLibrary(w.a, "fields")
	l.Description = "Notes, ü and \"quotes\""
	l.Metadata = json.RawMessage(`{"team":"support","n":3}`)
	l.XAttrs = map[string]string{"contactId": "c-1", "blueprintId": "b 2"}
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if err := tx.CreateLibrary(ctx, l); err != nil {
			return err
		}
		return tx.CreateItem(ctx, root)
	})
	get := func() *shelf.Library {
		var got *shelf.Library
		view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
			got, err = tx.Library(ctx, w.a.ID, l.ID)
			return err
		})
		return got
	}
	got := get()
	if !jsonEqual(got.Metadata, l.Metadata) {
		t.Fatalf("Metadata = %s, want %s", got.Metadata, l.Metadata)
	}
	got.Metadata = l.Metadata
	same(t, "Library with fields", got, l)

	changed := *l
	changed.Description, changed.Metadata, changed.XAttrs = "", nil, nil
	changed.UpdatedAt = at(time.Hour)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateLibrary(ctx, &changed) })
	got = get()
	if got.Metadata != nil || len(got.XAttrs) != 0 || got.Description != "" {
		t.Fatalf("after clearing: %+v", got)
	}
}

// testListLibraries checks the keyset pages of ListLibraries in both
// orders, the kind, metadata and x_attrs filters, and isolation.
func testListLibraries(t *testing.T, s shelf.Store) {
	w := newWorld(t, s) // libA and libB, kind library, made at 2s
	var spaces []*shelf.Library
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for i := range 7 {
			l, root := newLibrary(w.a, fmt.Sprintf("space:%d", i))
			l.Kind = shelf.KindSpace
			// Two share a creation time, so the id breaks the tie.
			l.CreatedAt = at(time.Duration(10+i/2*2) * time.Second)
			l.XAttrs = map[string]string{"contactId": fmt.Sprintf("c%d", i%2)}
			if i == 3 {
				l.Name = "Sales_100%"
			}
			switch i % 3 {
			case 0:
				l.Metadata = json.RawMessage(fmt.Sprintf(`{"dept":"support","n":%d,"ok":true}`, i))
			case 1:
				l.Metadata = json.RawMessage(`{"dept":"sales","a.b":"dotted"}`)
			}
			if err := tx.CreateLibrary(ctx, l); err != nil {
				return err
			}
			if err := tx.CreateItem(ctx, root); err != nil {
				return err
			}
			spaces = append(spaces, l)
		}
		other, _ := newLibrary(w.b, "space:b")
		other.Kind = shelf.KindSpace
		return tx.CreateLibrary(ctx, other)
	})
	// The order the store must give: (created_at, id).
	ordered := append([]*shelf.Library(nil), spaces...)
	for i := 0; i+1 < len(ordered); i += 2 {
		if ordered[i].ID > ordered[i+1].ID {
			ordered[i], ordered[i+1] = ordered[i+1], ordered[i]
		}
	}
	list := func(q shelf.LibraryQuery) []*shelf.Library {
		t.Helper()
		var got []*shelf.Library
		view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
			got, err = tx.ListLibraries(ctx, w.a.ID, q)
			return err
		})
		return got
	}
	ids := func(ls []*shelf.Library) []string {
		out := make([]string, len(ls))
		for i, l := range ls {
			out[i] = l.Slug
		}
		return out
	}
	eq := func(what string, got, want []*shelf.Library) {
		t.Helper()
		if fmt.Sprint(ids(got)) != fmt.Sprint(ids(want)) {
			t.Fatalf("%s = %v, want %v", what, ids(got), ids(want))
		}
	}
	for _, desc := range []bool{false, true} {
		want := append([]*shelf.Library(nil), ordered...)
		if desc {
			for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
				want[i], want[j] = want[j], want[i]
			}
		}
		var got []*shelf.Library
		q := shelf.LibraryQuery{Kind: shelf.KindSpace, Desc: desc, Limit: 3}
		for {
			page := list(q)
			got = append(got, page...)
			if len(page) < q.Limit {
				break
			}
			last := page[len(page)-1]
			q.AfterTime, q.AfterID = last.CreatedAt, last.ID
		}
		eq(fmt.Sprintf("pages (desc=%v)", desc), got, want)
	}
	eq("kind library", list(shelf.LibraryQuery{Kind: shelf.KindLibrary, Limit: 10}), []*shelf.Library{w.libA})
	if got := list(shelf.LibraryQuery{Limit: 100}); len(got) != 8 {
		t.Fatalf("all kinds: %d libraries, want 8", len(got))
	}
	filter := func(meta, x map[string]string) []*shelf.Library {
		var want []*shelf.Library
		for _, l := range ordered {
			var m map[string]any
			_ = json.Unmarshal(l.Metadata, &m)
			ok := true
			for k, v := range meta {
				ok = ok && m != nil && m[k] != nil && fmt.Sprint(m[k]) == v
			}
			for k, v := range x {
				ok = ok && l.XAttrs[k] == v
			}
			if ok {
				want = append(want, l)
			}
		}
		return want
	}
	for _, c := range []struct {
		meta, x map[string]string
		min     int
	}{
		{map[string]string{"dept": "support"}, nil, 3},
		{map[string]string{"dept": "sales"}, nil, 2},
		{map[string]string{"dept": "support", "n": "3"}, nil, 1},
		{map[string]string{"ok": "true"}, nil, 3},
		{map[string]string{"a.b": "dotted"}, nil, 2},
		{map[string]string{"dept": "none"}, nil, 0},
		{nil, map[string]string{"contactId": "c1"}, 3},
		{map[string]string{"dept": "support"}, map[string]string{"contactId": "c0"}, 2},
	} {
		want := filter(c.meta, c.x)
		if len(want) < c.min {
			t.Fatalf("test data: filter %v %v selects %d, want at least %d", c.meta, c.x, len(want), c.min)
		}
		eq(fmt.Sprintf("filter %v %v", c.meta, c.x), list(shelf.LibraryQuery{Kind: shelf.KindSpace, Metadata: c.meta, XAttrs: c.x, Limit: 100}), want)
	}
	// The name filter: a literal substring, ASCII letters without case.
	eq("name contains sales_100%", list(shelf.LibraryQuery{Kind: shelf.KindSpace, NameContains: "sales_100%", Limit: 100}), spaces[3:4])
	eq("name contains _", list(shelf.LibraryQuery{Kind: shelf.KindSpace, NameContains: "_", Limit: 100}), spaces[3:4])
	eq("name contains space:", list(shelf.LibraryQuery{Kind: shelf.KindSpace, NameContains: "SPACE:", Limit: 100}),
		slices.DeleteFunc(slices.Clone(ordered), func(l *shelf.Library) bool { return l == spaces[3] }))
	err := viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.ListLibraries(ctx, w.a.ID, shelf.LibraryQuery{})
		return err
	})
	wantCode(t, "ListLibraries(limit 0)", err, shelf.EINVALID)
}

// testDeleteLibrary checks that a library goes with its items and their
// versions, and nothing of another library or workspace.
func testDeleteLibrary(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	dir := child(w.rootA, "dir", shelf.TypeFolder)
	f := child(dir, "f.txt", shelf.TypeFile)
	keepB := child(w.rootB, "f.txt", shelf.TypeFile)
	createItems(t, s, dir, f, keepB)
	fv := addVersions(t, s, f, 2)
	addVersions(t, s, keepB, 1)

	err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteLibrary(ctx, w.b.ID, w.libA.ID) })
	wantCode(t, "DeleteLibrary(other workspace)", err, shelf.ENOTFOUND)

	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteLibrary(ctx, w.a.ID, w.libA.ID) })
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if _, err := tx.Library(ctx, w.a.ID, w.libA.ID); shelf.ErrorCode(err) != shelf.ENOTFOUND {
			t.Fatalf("Library after delete: %v", err)
		}
		for _, it := range []*shelf.Item{w.rootA, dir, f} {
			if _, err := tx.Item(ctx, w.a.ID, it.ID); shelf.ErrorCode(err) != shelf.ENOTFOUND {
				t.Fatalf("item %q after its library's delete: %v", it.Path, err)
			}
		}
		if vs, err := tx.Versions(ctx, w.a.ID, f.ID); err != nil || len(vs) != 0 {
			t.Fatalf("versions after delete: %d, %v", len(vs), err)
		}
		if ok, err := tx.BlobReferenced(ctx, fv[1].Hash); err != nil || ok {
			t.Fatalf("BlobReferenced after delete = %v, %v", ok, err)
		}
		if _, err := tx.Item(ctx, w.b.ID, keepB.ID); err != nil {
			t.Fatalf("other workspace's item: %v", err)
		}
		if vs, err := tx.Versions(ctx, w.b.ID, keepB.ID); err != nil || len(vs) != 1 {
			t.Fatalf("other workspace's versions: %d, %v", len(vs), err)
		}
		return nil
	})
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteLibrary(ctx, w.a.ID, w.libA.ID) })
	wantCode(t, "DeleteLibrary(again)", err, shelf.ENOTFOUND)
}

// testTree checks listings below a path: only that subtree (not a
// sibling sharing a prefix), keyset pages by path, the type and
// visibility filters.
func testTree(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	a := child(w.rootA, "a", shelf.TypeFolder)
	ab := child(a, "b", shelf.TypeFolder)
	items := []*shelf.Item{a, ab,
		child(a, "x.txt", shelf.TypeFile), child(ab, "y.txt", shelf.TypeFile), child(ab, "z.txt", shelf.TypeFile),
		child(w.rootA, "a-b", shelf.TypeFolder), child(w.rootA, "a0", shelf.TypeFile), child(w.rootA, "ab", shelf.TypeFile),
		child(w.rootA, "top.txt", shelf.TypeFile)}
	hidden := child(ab, "hidden.txt", shelf.TypeFile)
	hidden.Hidden = true
	private := child(ab, "private.txt", shelf.TypeFile)
	private.Scope, private.Owner = shelf.VisiblePrivate, "owner-1"
	items = append(items, hidden, private)
	createItems(t, s, items...)
	createItems(t, s, child(w.rootB, "a", shelf.TypeFolder))

	tree := func(q shelf.TreeQuery) []string {
		t.Helper()
		q.LibraryID = w.libA.ID
		var got []*shelf.Item
		view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
			got, err = tx.Tree(ctx, w.a.ID, q)
			return err
		})
		out := []string{}
		for _, it := range got {
			out = append(out, it.Path)
		}
		return out
	}
	check := func(what string, got []string, want ...string) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(append([]string{}, want...)) {
			t.Fatalf("%s = %q, want %q", what, got, want)
		}
	}
	check("below a", tree(shelf.TreeQuery{Under: "a", Limit: 100}), "a/b", "a/b/y.txt", "a/b/z.txt", "a/x.txt")
	check("files below a", tree(shelf.TreeQuery{Under: "a", Type: shelf.TypeFile, Limit: 100}), "a/b/y.txt", "a/b/z.txt", "a/x.txt")
	check("below a, after a/b/y.txt", tree(shelf.TreeQuery{Under: "a", After: "a/b/y.txt", Limit: 100}), "a/b/z.txt", "a/x.txt")
	check("below a, page of 2", tree(shelf.TreeQuery{Under: "a", Limit: 2}), "a/b", "a/b/y.txt")
	check("below a/b with hidden and owner-1", tree(shelf.TreeQuery{Under: "a/b", Limit: 100,
		Filter: shelf.ItemFilter{Viewer: "owner-1", WithHidden: true}}), "a/b/hidden.txt", "a/b/private.txt", "a/b/y.txt", "a/b/z.txt")
	check("below a/b, every scope", tree(shelf.TreeQuery{Under: "a/b", Limit: 100,
		Filter: shelf.ItemFilter{AllScopes: true}}), "a/b/private.txt", "a/b/y.txt", "a/b/z.txt")
	check("below the root", tree(shelf.TreeQuery{Limit: 100}),
		"a", "a-b", "a/b", "a/b/y.txt", "a/b/z.txt", "a/x.txt", "a0", "ab", "top.txt")
	check("files below the root, after a/x.txt", tree(shelf.TreeQuery{Type: shelf.TypeFile, After: "a/x.txt", Limit: 100}), "a0", "ab", "top.txt")
	check("below a file", tree(shelf.TreeQuery{Under: "top.txt", Limit: 100}))
	check("below a missing path", tree(shelf.TreeQuery{Under: "nope", Limit: 100}))
	err := viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.Tree(ctx, w.a.ID, shelf.TreeQuery{LibraryID: w.libA.ID})
		return err
	})
	wantCode(t, "Tree(limit 0)", err, shelf.EINVALID)
	var got []*shelf.Item
	view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		got, err = tx.Tree(ctx, w.b.ID, shelf.TreeQuery{LibraryID: w.libA.ID, Limit: 100})
		return err
	})
	if len(got) != 0 {
		t.Fatalf("Tree of another workspace's library: %d items", len(got))
	}
}
