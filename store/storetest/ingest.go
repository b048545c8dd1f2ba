package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/shelfmem/shelf"
)

// The ingest side of the contract: an item's external id, title,
// visibility, owner, metadata and hidden flag; a library's source type;
// ItemByExternalID, filtered Children, QueryItems and Libraries.
//
// Readings of the contract the suite holds every store to here:
//   - Metadata is a JSON object and compares as JSON, not as bytes (a store
//     may keep it as jsonb and hand back another spelling of it).
//   - An empty ExternalID means "none": any number of items of a library
//     may have none, and ItemByExternalID(…, "") finds nothing.
//   - External ids compare exactly (bytewise, case-sensitive), like paths.
//   - QueryItems with a non-nil, empty LibraryIDs selects nothing.

// sameItem is same for items, comparing Metadata as JSON values.
func sameItem(t *testing.T, what string, got, want *shelf.Item) {
	t.Helper()
	if got != nil && want != nil {
		if !jsonEqual(got.Metadata, want.Metadata) {
			t.Fatalf("%s: metadata %s, want %s", what, got.Metadata, want.Metadata)
		}
		g := *got
		g.Metadata = want.Metadata
		got = &g
	}
	same(t, what, got, want)
}

// sameItems is sameItem for each element of two lists, in order.
func sameItems(t *testing.T, what string, got, want []*shelf.Item) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d items %q, want %d %q", what, len(got), itemNames(got), len(want), itemNames(want))
	}
	for i := range got {
		sameItem(t, fmt.Sprintf("%s[%d]", what, i), got[i], want[i])
	}
}

// jsonEqual reports whether a and b are both absent or the same JSON value.
func jsonEqual(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}

func testIngestFields(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	full := child(w.rootA, "mail.eml", shelf.TypeFile)
	full.ExternalID, full.Title = "msg-1@example.com", "Re: Grüße 日本"
	full.Scope, full.Owner, full.Hidden = shelf.VisiblePrivate, "key-7", true
	full.Metadata = json.RawMessage(`{"from":"a@example.com","labels":["inbox","ü"],"n":1.5,"deep":{"x":null,"t":true}}`)
	plain := child(w.rootA, "plain.txt", shelf.TypeFile)
	plain.Scope = shelf.VisibleWorkspace
	folder := child(w.rootA, "dir", shelf.TypeFolder)
	folder.Scope, folder.Metadata = shelf.VisibleWorkspace, json.RawMessage(`{}`)
	createItems(t, s, full, plain, folder)

	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, want := range []*shelf.Item{full, plain, folder} {
			got, err := tx.Item(ctx, w.a.ID, want.ID)
			if err != nil {
				t.Fatalf("Item(%q): %v", want.Path, err)
			}
			sameItem(t, "Item", got, want)
			got, err = tx.ItemByPath(ctx, w.a.ID, w.libA.ID, want.Path)
			if err != nil {
				t.Fatalf("ItemByPath(%q): %v", want.Path, err)
			}
			sameItem(t, "ItemByPath", got, want)
		}
		got, err := tx.ItemByExternalID(ctx, w.a.ID, w.libA.ID, full.ExternalID)
		if err != nil {
			t.Fatalf("ItemByExternalID: %v", err)
		}
		sameItem(t, "ItemByExternalID", got, full)
		return nil
	})
	if got := getItem(t, s, w.a.ID, folder.ID); got.Metadata == nil {
		t.Fatalf("Item(folder).Metadata = nil, want {} (an empty object is not an absent one)")
	}

	// Change every new field, and back.
	changed := *full
	changed.ExternalID, changed.Title = "msg-2", ""
	changed.Scope, changed.Owner, changed.Hidden = shelf.VisibleWorkspace, "", false
	changed.Metadata = json.RawMessage(`{"k":"v"}`)
	changed.UpdatedAt = at(time.Hour)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateItem(ctx, &changed) })
	sameItem(t, "item after update", getItem(t, s, w.a.ID, full.ID), &changed)
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.ItemByExternalID(ctx, w.a.ID, w.libA.ID, "msg-2")
		if err != nil {
			t.Fatalf("ItemByExternalID(new id): %v", err)
		}
		sameItem(t, "ItemByExternalID(new id)", got, &changed)
		return nil
	})
	err := viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.ItemByExternalID(ctx, w.a.ID, w.libA.ID, full.ExternalID)
		return err
	})
	wantCode(t, "ItemByExternalID(old id)", err, shelf.ENOTFOUND)

	back := changed
	back.ExternalID, back.Metadata = "", nil
	back.Scope, back.Owner, back.Hidden, back.Title = shelf.VisiblePrivate, "master", true, "t"
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateItem(ctx, &back) })
	got := getItem(t, s, w.a.ID, full.ID)
	sameItem(t, "item after clearing", got, &back)
	if got.Metadata != nil || got.ExternalID != "" {
		t.Fatalf("after clearing: metadata %q, external id %q; want both absent", got.Metadata, got.ExternalID)
	}
	err = viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.ItemByExternalID(ctx, w.a.ID, w.libA.ID, "msg-2")
		return err
	})
	wantCode(t, "ItemByExternalID(cleared id)", err, shelf.ENOTFOUND)

	// A library's source type.
	src, srcRoot := newLibrary(w.a, "source:Gmail")
	src.Kind, src.SourceType = shelf.KindSource, "gmail"
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if err := tx.CreateLibrary(ctx, src); err != nil {
			return err
		}
		return tx.CreateItem(ctx, srcRoot)
	})
	readLib := func(what string, want *shelf.Library) {
		t.Helper()
		view(t, s, func(ctx context.Context, tx shelf.Tx) error {
			got, err := tx.Library(ctx, w.a.ID, want.ID)
			if err != nil {
				t.Fatalf("%s: Library: %v", what, err)
			}
			same(t, what+": Library", got, want)
			got, err = tx.LibraryBySlug(ctx, w.a.ID, want.Slug)
			if err != nil {
				t.Fatalf("%s: LibraryBySlug: %v", what, err)
			}
			same(t, what+": LibraryBySlug", got, want)
			return nil
		})
	}
	readLib("created", src)
	readLib("created without a source type", w.libA)
	for _, typ := range []string{"api", ""} {
		u := *src
		u.SourceType, u.UpdatedAt = typ, at(time.Duration(len(typ))*time.Hour+time.Minute)
		update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateLibrary(ctx, &u) })
		readLib("updated to "+typ, &u)
	}
}

func testItemByExternalID(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	lib2, root2 := newLibrary(w.a, "other")
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateLibrary(ctx, lib2) })
	withID := func(parent *shelf.Item, name, ext string) *shelf.Item {
		it := child(parent, name, shelf.TypeFile)
		it.ExternalID = ext
		return it
	}
	inA := withID(w.rootA, "a", "doc-1")
	in2 := withID(root2, "a", "doc-1")   // the same id in another library of A
	inB := withID(w.rootB, "a", "doc-1") // and in workspace B
	upper := withID(w.rootA, "A", "DOC-1")
	onlyA := withID(w.rootA, "only", "only-in-A")
	var none []*shelf.Item
	for i := range 3 {
		none = append(none, child(w.rootA, fmt.Sprintf("none-%d", i), shelf.TypeFile))
	}
	createItems(t, s, append([]*shelf.Item{root2, inA, in2, inB, upper, onlyA}, none...)...)

	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, c := range []struct {
			ws, lib, ext string
			want         *shelf.Item
		}{
			{w.a.ID, w.libA.ID, "doc-1", inA},
			{w.a.ID, lib2.ID, "doc-1", in2},
			{w.b.ID, w.libB.ID, "doc-1", inB},
			{w.a.ID, w.libA.ID, "DOC-1", upper},
			{w.a.ID, w.libA.ID, "only-in-A", onlyA},
		} {
			got, err := tx.ItemByExternalID(ctx, c.ws, c.lib, c.ext)
			if err != nil {
				t.Fatalf("ItemByExternalID(%q): %v", c.ext, err)
			}
			sameItem(t, "ItemByExternalID("+c.ext+")", got, c.want)
		}
		return nil
	})
	for name, c := range map[string]struct{ ws, lib, ext string }{
		"another library":    {w.a.ID, lib2.ID, "only-in-A"},
		"another workspace":  {w.b.ID, w.libA.ID, "doc-1"},
		"missing":            {w.a.ID, w.libA.ID, "doc-2"},
		"prefix":             {w.a.ID, w.libA.ID, "doc-"},
		"empty means none":   {w.a.ID, w.libA.ID, ""},
		"case differs":       {w.a.ID, lib2.ID, "DOC-1"},
		"unknown library":    {w.a.ID, newID(), "doc-1"},
		"B's library from A": {w.a.ID, w.libB.ID, "doc-1"},
	} {
		err := viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
			_, err := tx.ItemByExternalID(ctx, c.ws, c.lib, c.ext)
			return err
		})
		wantCode(t, "ItemByExternalID("+name+")", err, shelf.ENOTFOUND)
	}

	// A second item with a taken id in one library: CreateItem and
	// UpdateItem are conflicts and change nothing.
	dup := withID(w.rootA, "dup", "doc-1")
	err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateItem(ctx, dup) })
	wantCode(t, "CreateItem(external id taken)", err, shelf.ECONFLICT)
	if got := exists(t, s, w.a.ID, dup); got[0] {
		t.Fatal("CreateItem(external id taken) stored the item")
	}
	clash := *onlyA
	clash.ExternalID, clash.Title, clash.UpdatedAt = "doc-1", "lost", at(time.Hour)
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateItem(ctx, &clash) })
	wantCode(t, "UpdateItem(external id taken)", err, shelf.ECONFLICT)
	sameItem(t, "item after conflicting update", getItem(t, s, w.a.ID, onlyA.ID), onlyA)
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.ItemByExternalID(ctx, w.a.ID, w.libA.ID, "doc-1")
		if err != nil {
			t.Fatalf("ItemByExternalID after conflicts: %v", err)
		}
		sameItem(t, "ItemByExternalID after conflicts", got, inA)
		return nil
	})

	// Items without an external id coexist, also when made or updated later.
	more := child(w.rootA, "none-more", shelf.TypeFile)
	cleared := *upper
	cleared.ExternalID = ""
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if err := tx.CreateItem(ctx, more); err != nil {
			return err
		}
		return tx.UpdateItem(ctx, &cleared)
	})
	for _, it := range append(none, more, &cleared) {
		sameItem(t, "item without an external id", getItem(t, s, w.a.ID, it.ID), it)
	}

	// After DeleteTree the id is gone, and free again.
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.DeleteTree(ctx, w.a.ID, inA.ID)
		return err
	})
	err = viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.ItemByExternalID(ctx, w.a.ID, w.libA.ID, "doc-1")
		return err
	})
	wantCode(t, "ItemByExternalID(deleted)", err, shelf.ENOTFOUND)
	again := withID(w.rootA, "again", "doc-1")
	createItems(t, s, again)
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.ItemByExternalID(ctx, w.a.ID, w.libA.ID, "doc-1")
		if err != nil {
			t.Fatalf("ItemByExternalID(reused): %v", err)
		}
		sameItem(t, "ItemByExternalID(reused)", got, again)
		for _, c := range []struct {
			ws, lib string
			want    *shelf.Item
		}{{w.a.ID, lib2.ID, in2}, {w.b.ID, w.libB.ID, inB}} {
			got, err := tx.ItemByExternalID(ctx, c.ws, c.lib, "doc-1")
			if err != nil {
				t.Fatalf("ItemByExternalID(bystander): %v", err)
			}
			sameItem(t, "ItemByExternalID(bystander)", got, c.want)
		}
		return nil
	})
}

func testChildrenFilter(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	folder := child(w.rootA, "box", shelf.TypeFolder)
	items := []*shelf.Item{folder}
	// 60 children in five kinds, interleaved in name order; made in reverse
	// name order so that insertion order is no help.
	const (
		plain = iota
		alice
		bob
		hidden
		aliceHidden
		kinds
	)
	kindOf := map[string]int{}
	for i := 59; i >= 0; i-- {
		name := fmt.Sprintf("c%02d", i)
		typ := shelf.TypeFile
		if i%7 == 0 {
			typ = shelf.TypeFolder
		}
		it := child(folder, name, typ)
		it.Scope = shelf.VisibleWorkspace
		switch i % kinds {
		case alice:
			it.Scope, it.Owner = shelf.VisiblePrivate, "alice"
		case bob:
			it.Scope, it.Owner = shelf.VisiblePrivate, "bob"
		case hidden:
			it.Hidden = true
		case aliceHidden:
			it.Scope, it.Owner, it.Hidden = shelf.VisiblePrivate, "alice", true
		}
		kindOf[name] = i % kinds
		items = append(items, it)
	}
	createItems(t, s, items...)
	byName := map[string]*shelf.Item{}
	for _, it := range items[1:] {
		byName[it.Name] = it
	}

	for _, c := range []struct {
		f     shelf.ItemFilter
		kinds []int
	}{
		{shelf.ItemFilter{}, []int{plain}},
		{shelf.ItemFilter{Viewer: "alice"}, []int{plain, alice}},
		{shelf.ItemFilter{Viewer: "bob"}, []int{plain, bob}},
		{shelf.ItemFilter{Viewer: "carol"}, []int{plain}},
		{shelf.ItemFilter{WithHidden: true}, []int{plain, hidden}},
		{shelf.ItemFilter{Viewer: "alice", WithHidden: true}, []int{plain, alice, hidden, aliceHidden}},
		{shelf.ItemFilter{Viewer: "bob", WithHidden: true}, []int{plain, bob, hidden}},
	} {
		var want []string
		for i := range 60 {
			name := fmt.Sprintf("c%02d", i)
			if slices.Contains(c.kinds, kindOf[name]) {
				want = append(want, name)
			}
		}
		for _, limit := range []int{1, 2, 3, 7, 100} {
			var got []string
			after := ""
			view(t, s, func(ctx context.Context, tx shelf.Tx) error {
				for pages := 0; ; pages++ {
					if pages > 61 {
						t.Fatalf("Children(%+v, limit %d): more than 61 pages", c.f, limit)
					}
					page, err := tx.Children(ctx, w.a.ID, folder.ID, after, limit, c.f)
					if err != nil {
						t.Fatalf("Children(%+v): %v", c.f, err)
					}
					if len(page) > limit {
						t.Fatalf("Children(%+v): page of %d, limit %d", c.f, len(page), limit)
					}
					for _, it := range page {
						sameItem(t, "Children item", it, byName[it.Name])
						got = append(got, it.Name)
					}
					if len(page) < limit {
						return nil
					}
					after = page[len(page)-1].Name
				}
			})
			if !slices.Equal(got, want) {
				t.Fatalf("Children(%+v) in pages of %d:\n got %q\nwant %q", c.f, limit, got, want)
			}
		}
	}

	// Starting after a name that is filtered out continues with the next
	// visible one.
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		page, err := tx.Children(ctx, w.a.ID, folder.ID, "c01", 2, shelf.ItemFilter{Viewer: "bob"}) // c01 is alice's
		if err != nil {
			t.Fatalf("Children: %v", err)
		}
		if names := itemNames(page); !slices.Equal(names, []string{"c02", "c05"}) {
			t.Fatalf("Children(after alice's c01, as bob) = %q, want [c02 c05]", names)
		}
		return nil
	})
}

func testQueryItems(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	lib2, root2 := newLibrary(w.a, "other")
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateLibrary(ctx, lib2) })
	mk := func(parent *shelf.Item, name string, typ shelf.ItemType, created time.Duration) *shelf.Item {
		it := child(parent, name, typ)
		it.Scope, it.CreatedAt, it.UpdatedAt = shelf.VisibleWorkspace, at(created), at(created+time.Hour)
		return it
	}
	e1 := mk(w.rootA, "e1.txt", shelf.TypeFile, time.Minute)
	e1.ExternalID = "e1"
	dir := mk(w.rootA, "dir", shelf.TypeFolder, 2*time.Minute)
	hid := mk(dir, "hid.txt", shelf.TypeFile, 3*time.Minute)
	hid.ExternalID, hid.Hidden = "e2", true
	alice := mk(w.rootA, "alice.txt", shelf.TypeFile, 4*time.Minute)
	alice.ExternalID, alice.Scope, alice.Owner = "e3", shelf.VisiblePrivate, "alice"
	bobH := mk(w.rootA, "bob.txt", shelf.TypeFile, 5*time.Minute)
	bobH.Scope, bobH.Owner, bobH.Hidden = shelf.VisiblePrivate, "bob", true
	lo := mk(w.rootA, "t1", shelf.TypeFile, 6*time.Minute) // lo and hi share a created_at
	hi := mk(w.rootA, "t2", shelf.TypeFile, 6*time.Minute)
	if lo.ID > hi.ID {
		lo, hi = hi, lo
	}
	early := mk(root2, "early.txt", shelf.TypeFile, 0)
	early.ExternalID = "e1"
	dir2 := mk(root2, "dir2", shelf.TypeFolder, 7*time.Minute)
	otherWS := mk(w.rootB, "e1.txt", shelf.TypeFile, time.Minute)
	otherWS.ExternalID = "e1"
	otherDir := mk(w.rootB, "dir", shelf.TypeFolder, 2*time.Minute)
	// Made in an order that is neither time nor id order.
	createItems(t, s, root2, dir2, hi, hid, dir, bobH, e1, early, alice, lo, otherDir, otherWS)

	yes, no := true, false
	all := []*shelf.Item{early, e1, dir, hid, lo, hi, dir2}
	for _, c := range []struct {
		name string
		q    shelf.ItemQuery
		want []*shelf.Item
	}{
		{"everything", shelf.ItemQuery{}, all},
		{"viewer alice", shelf.ItemQuery{Viewer: "alice"}, []*shelf.Item{early, e1, dir, hid, alice, lo, hi, dir2}},
		{"viewer bob", shelf.ItemQuery{Viewer: "bob"}, []*shelf.Item{early, e1, dir, hid, bobH, lo, hi, dir2}},
		{"viewer carol", shelf.ItemQuery{Viewer: "carol"}, all},
		{"library A", shelf.ItemQuery{LibraryIDs: []string{w.libA.ID}}, []*shelf.Item{e1, dir, hid, lo, hi}},
		{"library 2", shelf.ItemQuery{LibraryIDs: []string{lib2.ID}}, []*shelf.Item{early, dir2}},
		{"both libraries", shelf.ItemQuery{LibraryIDs: []string{lib2.ID, w.libA.ID}}, all},
		{"no library", shelf.ItemQuery{LibraryIDs: []string{}}, nil},
		{"no library, other fields set", shelf.ItemQuery{LibraryIDs: []string{}, IDs: []string{e1.ID}, Viewer: "alice"}, nil},
		{"library of workspace B", shelf.ItemQuery{LibraryIDs: []string{w.libB.ID}}, nil},
		{"unknown library", shelf.ItemQuery{LibraryIDs: []string{newID()}}, nil},
		{"ids", shelf.ItemQuery{IDs: []string{hi.ID, e1.ID, alice.ID, otherWS.ID, w.rootA.ID, newID()}}, []*shelf.Item{e1, hi}},
		{"ids, viewer alice", shelf.ItemQuery{IDs: []string{hi.ID, e1.ID, alice.ID}, Viewer: "alice"}, []*shelf.Item{e1, alice, hi}},
		{"external id e1", shelf.ItemQuery{ExternalIDs: []string{"e1"}}, []*shelf.Item{early, e1}},
		{"external ids, viewer alice", shelf.ItemQuery{ExternalIDs: []string{"e3", "e1"}, Viewer: "alice"}, []*shelf.Item{early, e1, alice}},
		{"external ids, private to another", shelf.ItemQuery{ExternalIDs: []string{"e3"}, Viewer: "bob"}, nil},
		{"external ids, one unknown", shelf.ItemQuery{ExternalIDs: []string{"e2", "nope"}}, []*shelf.Item{hid}},
		{"files", shelf.ItemQuery{Type: shelf.TypeFile}, []*shelf.Item{early, e1, hid, lo, hi}},
		{"folders, never roots", shelf.ItemQuery{Type: shelf.TypeFolder}, []*shelf.Item{dir, dir2}},
		{"created after, inclusive", shelf.ItemQuery{CreatedAfter: at(3 * time.Minute)}, []*shelf.Item{hid, lo, hi, dir2}},
		{"created before, exclusive", shelf.ItemQuery{CreatedBefore: at(3 * time.Minute)}, []*shelf.Item{early, e1, dir}},
		{"created in [1m, 6m)", shelf.ItemQuery{CreatedAfter: at(time.Minute), CreatedBefore: at(6 * time.Minute)}, []*shelf.Item{e1, dir, hid}},
		{"created in [6m, 6m+1µs)", shelf.ItemQuery{CreatedAfter: at(6 * time.Minute), CreatedBefore: at(6*time.Minute + time.Microsecond)}, []*shelf.Item{lo, hi}},
		{"created after, in another zone", shelf.ItemQuery{CreatedAfter: at(6 * time.Minute).UTC()}, []*shelf.Item{lo, hi, dir2}},
		{"created after the last", shelf.ItemQuery{CreatedAfter: at(8 * time.Minute)}, nil},
		{"hidden", shelf.ItemQuery{Hidden: &yes}, []*shelf.Item{hid}},
		{"hidden, viewer bob", shelf.ItemQuery{Hidden: &yes, Viewer: "bob"}, []*shelf.Item{hid, bobH}},
		{"not hidden", shelf.ItemQuery{Hidden: &no}, []*shelf.Item{early, e1, dir, lo, hi, dir2}},
		{"not hidden, viewer bob", shelf.ItemQuery{Hidden: &no, Viewer: "bob"}, []*shelf.Item{early, e1, dir, lo, hi, dir2}},
		{"combined", shelf.ItemQuery{LibraryIDs: []string{w.libA.ID}, Type: shelf.TypeFile, Hidden: &no, CreatedAfter: at(time.Minute)},
			[]*shelf.Item{e1, lo, hi}},
		{"combined, viewer alice", shelf.ItemQuery{LibraryIDs: []string{w.libA.ID}, Type: shelf.TypeFile, Hidden: &no, CreatedAfter: at(time.Minute), Viewer: "alice"},
			[]*shelf.Item{e1, alice, lo, hi}},
		{"combined, every field", shelf.ItemQuery{LibraryIDs: []string{w.libA.ID, lib2.ID}, IDs: []string{early.ID, e1.ID, alice.ID, hid.ID},
			ExternalIDs: []string{"e1", "e3"}, Type: shelf.TypeFile, CreatedAfter: at(time.Minute), CreatedBefore: at(5 * time.Minute),
			Hidden: &no, Viewer: "alice"}, []*shelf.Item{e1, alice}},
		{"external id and library", shelf.ItemQuery{ExternalIDs: []string{"e1"}, LibraryIDs: []string{w.libA.ID}}, []*shelf.Item{e1}},
		{"external id and type folder", shelf.ItemQuery{ExternalIDs: []string{"e1"}, Type: shelf.TypeFolder}, nil},
	} {
		for _, limit := range []int{100, len(c.want), 3, 1} {
			if limit == 0 {
				continue
			}
			q := c.q
			q.Limit = limit
			var got []*shelf.Item
			view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
				got, err = tx.QueryItems(ctx, w.a.ID, q)
				return err
			})
			want := c.want[:min(limit, len(c.want))]
			sameItems(t, fmt.Sprintf("QueryItems(%s, limit %d)", c.name, limit), got, want)
		}
	}

	// Workspace B sees only its own.
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.QueryItems(ctx, w.b.ID, shelf.ItemQuery{Limit: 100})
		if err != nil {
			t.Fatalf("QueryItems(B): %v", err)
		}
		sameItems(t, "QueryItems(B)", got, []*shelf.Item{otherWS, otherDir})
		got, err = tx.QueryItems(ctx, w.b.ID, shelf.ItemQuery{IDs: []string{e1.ID, otherWS.ID}, LibraryIDs: []string{w.libA.ID, w.libB.ID}, Limit: 100})
		if err != nil {
			t.Fatalf("QueryItems(B, A's ids): %v", err)
		}
		sameItems(t, "QueryItems(B, A's ids)", got, []*shelf.Item{otherWS})
		got, err = tx.QueryItems(ctx, newID(), shelf.ItemQuery{Limit: 100})
		if err != nil || len(got) != 0 {
			t.Fatalf("QueryItems(unknown workspace) = %d items, %v; want none", len(got), err)
		}
		return nil
	})

	// A hidden flag and a deletion show at once.
	unhid := *hid
	unhid.Hidden = false
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if err := tx.UpdateItem(ctx, &unhid); err != nil {
			return err
		}
		_, err := tx.DeleteTree(ctx, w.a.ID, lo.ID)
		return err
	})
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.QueryItems(ctx, w.a.ID, shelf.ItemQuery{Hidden: &no, Type: shelf.TypeFile, Limit: 100})
		if err != nil {
			t.Fatalf("QueryItems: %v", err)
		}
		sameItems(t, "QueryItems(not hidden files) after updates", got, []*shelf.Item{early, e1, &unhid, hi})
		return nil
	})
}

// testQueryItemsPrefix: ExternalIDPrefix is a bytewise prefix, with no
// pattern characters and no case folding, ANDed with the other fields.
func testQueryItemsPrefix(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	lib2, root2 := newLibrary(w.a, "other")
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateLibrary(ctx, lib2) })
	var made []*shelf.Item
	mk := func(parent *shelf.Item, ext string) *shelf.Item {
		n := len(made)
		it := child(parent, fmt.Sprintf("f%02d", n), shelf.TypeFile)
		it.ExternalID, it.Scope = ext, shelf.VisibleWorkspace
		it.CreatedAt, it.UpdatedAt = at(time.Duration(n)*time.Minute), at(time.Duration(n)*time.Minute)
		made = append(made, it)
		return it
	}
	a := mk(w.rootA, "a")
	ab := mk(w.rootA, "ab")
	key1 := mk(w.rootA, "ab\x1fy.txt\x1f1")
	key2 := mk(w.rootA, "ab\x1fy.txt\x1f2")
	pct := mk(w.rootA, "ab%")
	under := mk(w.rootA, "ab_")
	upper := mk(w.rootA, "aB")
	ac := mk(w.rootA, "ac")
	mk(w.rootA, "") // none: never matched
	e := mk(w.rootA, "e")
	eAcute := mk(w.rootA, "é")
	eAcuteA := mk(w.rootA, "éa")
	maxRune := mk(w.rootA, "\U0010ffff")
	maxRuneX := mk(w.rootA, "\U0010ffffx")
	priv := mk(w.rootA, "ab-private")
	priv.Scope, priv.Owner = shelf.VisiblePrivate, "alice"
	hid := mk(w.rootA, "ab-hidden")
	hid.Hidden = true
	other := mk(root2, "ab\x1fz\x1f1")
	otherWS := mk(w.rootB, "ab")
	createItems(t, s, made...)

	yes := true
	for _, c := range []struct {
		name string
		q    shelf.ItemQuery
		want []*shelf.Item
	}{
		{"ab", shelf.ItemQuery{ExternalIDPrefix: "ab"}, []*shelf.Item{ab, key1, key2, pct, under, hid, other}},
		{"ab, viewer alice", shelf.ItemQuery{ExternalIDPrefix: "ab", Viewer: "alice"}, []*shelf.Item{ab, key1, key2, pct, under, priv, hid, other}},
		{"a separator", shelf.ItemQuery{ExternalIDPrefix: "ab\x1f"}, []*shelf.Item{key1, key2, other}},
		{"a separator, library A", shelf.ItemQuery{ExternalIDPrefix: "ab\x1f", LibraryIDs: []string{w.libA.ID}}, []*shelf.Item{key1, key2}},
		{"a separator, library 2", shelf.ItemQuery{ExternalIDPrefix: "ab\x1f", LibraryIDs: []string{lib2.ID}}, []*shelf.Item{other}},
		{"a whole key", shelf.ItemQuery{ExternalIDPrefix: "ab\x1fy.txt\x1f2"}, []*shelf.Item{key2}},
		{"% is no pattern", shelf.ItemQuery{ExternalIDPrefix: "ab%"}, []*shelf.Item{pct}},
		{"_ is no pattern", shelf.ItemQuery{ExternalIDPrefix: "ab_"}, []*shelf.Item{under}},
		{"a", shelf.ItemQuery{ExternalIDPrefix: "a"}, []*shelf.Item{a, ab, key1, key2, pct, under, upper, ac, hid, other}},
		{"no case folding", shelf.ItemQuery{ExternalIDPrefix: "A"}, nil},
		{"aB", shelf.ItemQuery{ExternalIDPrefix: "aB"}, []*shelf.Item{upper}},
		{"e is not é", shelf.ItemQuery{ExternalIDPrefix: "e"}, []*shelf.Item{e}},
		{"é", shelf.ItemQuery{ExternalIDPrefix: "é"}, []*shelf.Item{eAcute, eAcuteA}},
		{"the last code point", shelf.ItemQuery{ExternalIDPrefix: "\U0010ffff"}, []*shelf.Item{maxRune, maxRuneX}},
		{"longer than any", shelf.ItemQuery{ExternalIDPrefix: "abc"}, nil},
		{"with external ids", shelf.ItemQuery{ExternalIDPrefix: "ab", ExternalIDs: []string{"ab", "ac", "a"}}, []*shelf.Item{ab}},
		{"with ids", shelf.ItemQuery{ExternalIDPrefix: "ab\x1f", IDs: []string{key2.ID, a.ID, other.ID}}, []*shelf.Item{key2, other}},
		{"with hidden", shelf.ItemQuery{ExternalIDPrefix: "ab", Hidden: &yes}, []*shelf.Item{hid}},
		{"with created after", shelf.ItemQuery{ExternalIDPrefix: "ab", CreatedAfter: key2.CreatedAt}, []*shelf.Item{key2, pct, under, hid, other}},
		{"with a folder type", shelf.ItemQuery{ExternalIDPrefix: "ab", Type: shelf.TypeFolder}, nil},
	} {
		for _, limit := range []int{100, 2, 1} {
			q := c.q
			q.Limit = limit
			var got []*shelf.Item
			view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
				got, err = tx.QueryItems(ctx, w.a.ID, q)
				return err
			})
			sameItems(t, fmt.Sprintf("QueryItems(prefix %s, limit %d)", c.name, limit), got, c.want[:min(limit, len(c.want))])
		}
	}
	// Another workspace sees only its own.
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.QueryItems(ctx, w.b.ID, shelf.ItemQuery{ExternalIDPrefix: "ab", Limit: 100})
		if err != nil {
			t.Fatalf("QueryItems(B): %v", err)
		}
		sameItems(t, "QueryItems(B, prefix ab)", got, []*shelf.Item{otherWS})
		return nil
	})
}

func testLibrariesByKind(t *testing.T, s shelf.Store) {
	w := newWorld(t, s) // libA and libB, kind library, made at 2s
	lib := func(ws *shelf.Workspace, slug, kind, typ string, created time.Duration) *shelf.Library {
		l, _ := newLibrary(ws, slug)
		l.Kind, l.SourceType, l.CreatedAt, l.UpdatedAt = kind, typ, at(created), at(created+time.Hour)
		return l
	}
	def := lib(w.a, "my-space", shelf.KindDefault, "", time.Second)
	src1 := lib(w.a, "source:Gmail", shelf.KindSource, "gmail", 10*time.Second)
	src0 := lib(w.a, "source:API ingest", shelf.KindSource, "api", 5*time.Second)
	space := lib(w.a, "space-1", shelf.KindSpace, "", 20*time.Second)
	srcB := lib(w.b, "source:API ingest", shelf.KindSource, "api", 0)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, l := range []*shelf.Library{src1, space, srcB, src0, def} { // not in time order
			if err := tx.CreateLibrary(ctx, l); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, c := range []struct {
			ws, kind string
			want     []*shelf.Library
		}{
			{w.a.ID, "", []*shelf.Library{def, w.libA, src0, src1, space}},
			{w.a.ID, shelf.KindSource, []*shelf.Library{src0, src1}},
			{w.a.ID, shelf.KindSpace, []*shelf.Library{space}},
			{w.a.ID, shelf.KindDefault, []*shelf.Library{def}},
			{w.a.ID, shelf.KindLibrary, []*shelf.Library{w.libA}},
			{w.a.ID, "Source", nil},
			{w.a.ID, "nope", nil},
			{w.b.ID, "", []*shelf.Library{srcB, w.libB}},
			{w.b.ID, shelf.KindSource, []*shelf.Library{srcB}},
			{w.b.ID, shelf.KindSpace, nil},
			{newID(), "", nil},
		} {
			got, err := tx.Libraries(ctx, c.ws, c.kind)
			if err != nil {
				t.Fatalf("Libraries(%q): %v", c.kind, err)
			}
			sameList(t, fmt.Sprintf("Libraries(%.8s, %q)", c.ws, c.kind), got, c.want)
		}
		return nil
	})

	// A changed kind moves a library between lists.
	moved := *space
	moved.Kind, moved.UpdatedAt = shelf.KindSource, at(time.Hour)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateLibrary(ctx, &moved) })
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.Libraries(ctx, w.a.ID, shelf.KindSource)
		if err != nil {
			t.Fatalf("Libraries: %v", err)
		}
		sameList(t, "Libraries(source) after a kind change", got, []*shelf.Library{src0, src1, &moved})
		got, err = tx.Libraries(ctx, w.a.ID, shelf.KindSpace)
		if err != nil || len(got) != 0 {
			t.Fatalf("Libraries(space) after a kind change = %d, %v; want none", len(got), err)
		}
		return nil
	})
}
