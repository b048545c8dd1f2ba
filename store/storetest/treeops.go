package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/shelfmem/shelf"
)

// private makes it another principal's private item.
func private(it *shelf.Item, owner string) *shelf.Item {
	it.Scope, it.Owner = shelf.VisiblePrivate, owner
	return it
}

// testDeleteBelow checks the batches of a recursive delete: greatest path
// first, only what the filter lets through (hidden items too), a folder only
// once nothing at all is left in it, the cursor that carries one batch to
// the next, and nothing outside the subtree, the library or the workspace.
func testDeleteBelow(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	subtree, siblings := prefixTree(t, s, w.rootA) // a, a/b, a/b/c, a/x, a/~
	a, ab := subtree[0], subtree[1]
	// a/b/d holds another principal's file, so it and a/b and a stay.
	abd := child(ab, "d", shelf.TypeFolder)
	theirs := private(child(abd, "theirs.txt", shelf.TypeFile), "key-2")
	mine := private(child(abd, "mine.txt", shelf.TypeFile), "key-1")
	hidden := child(abd, "hidden.txt", shelf.TypeFile)
	hidden.Hidden = true
	ae := child(a, "e", shelf.TypeFolder) // empty: goes
	aef := child(ae, "f.txt", shelf.TypeFile)
	createItems(t, s, abd, theirs, mine, hidden, ae, aef)
	versions := addVersions(t, s, mine, 2)
	subtreeB, _ := prefixTree(t, s, w.rootB)

	err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, _, err := tx.DeleteBelow(ctx, w.a.ID, w.libA.ID, "a", "", shelf.ItemFilter{Viewer: "key-1"}, 0)
		return err
	})
	wantCode(t, "DeleteBelow(limit 0)", err, shelf.EINVALID)
	// Another workspace's call finds nothing.
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		n, next, err := tx.DeleteBelow(ctx, w.b.ID, w.libA.ID, "a", "", shelf.ItemFilter{AllScopes: true}, 100)
		if n != 0 || next != "" || err != nil {
			t.Fatalf("DeleteBelow(another workspace) = %d, %q, %v", n, next, err)
		}
		return nil
	})

	// Batches of 2: the cursor is the last path looked at.
	var cursors []string
	total := 0
	before := ""
	for range 20 {
		var n int
		update(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
			n, before, err = tx.DeleteBelow(ctx, w.a.ID, w.libA.ID, "a", before, shelf.ItemFilter{Viewer: "key-1"}, 2)
			return err
		})
		total += n
		cursors = append(cursors, before)
		if before == "" {
			break
		}
	}
	// Looked at, greatest first (theirs.txt is not let through): a/~,
	// a/x | a/e/f.txt, a/e | a/b/d/mine.txt, a/b/d/hidden.txt | a/b/d,
	// a/b/c | a/b (4 batches of 2, then 1).
	if want := []string{"a/x", "a/e", "a/b/d/hidden.txt", "a/b/c", ""}; !slices.Equal(cursors, want) {
		t.Fatalf("cursors = %q, want %q", cursors, want)
	}
	if total != 7 {
		t.Fatalf("deleted %d, want 7 (a/~, a/x, a/e/f.txt, a/e, mine.txt, hidden.txt, a/b/c)", total)
	}
	gone := []*shelf.Item{subtree[2], subtree[3], subtree[4], ae, aef, mine, hidden}
	if got := exists(t, s, w.a.ID, gone...); !slices.Equal(got, all(len(gone), false)) {
		t.Fatalf("deleted items: exists = %v, want all false", got)
	}
	kept := []*shelf.Item{a, ab, abd, theirs}
	if got := exists(t, s, w.a.ID, kept...); !slices.Equal(got, all(len(kept), true)) {
		t.Fatalf("another's file and the folders holding it: exists = %v, want all true", got)
	}
	if got := exists(t, s, w.a.ID, siblings...); !slices.Equal(got, all(len(siblings), true)) {
		t.Fatalf("siblings of a: exists = %v", got)
	}
	if got := exists(t, s, w.b.ID, subtreeB...); !slices.Equal(got, all(len(subtreeB), true)) {
		t.Fatalf("workspace B: exists = %v", got)
	}
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, v := range versions {
			if ref, err := tx.BlobReferenced(ctx, v.Hash); err != nil || ref {
				t.Errorf("BlobReferenced(version of a deleted file) = %v, %v", ref, err)
			}
		}
		return nil
	})

	// Every principal's items, the whole library ("" is every item but
	// the root), in one call.
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		n, next, err := tx.DeleteBelow(ctx, w.a.ID, w.libA.ID, "", "", shelf.ItemFilter{AllScopes: true}, 1000)
		if n != len(kept)+len(siblings) || next != "" || err != nil {
			t.Fatalf("DeleteBelow(whole library) = %d, %q, %v; want %d", n, next, err, len(kept)+len(siblings))
		}
		return nil
	})
	if got := exists(t, s, w.a.ID, w.rootA); !got[0] {
		t.Fatal("DeleteBelow(\"\") deleted the root")
	}
}

// testMoveBelow checks that a move's batches rewrite the least paths first
// and only below the old path, in the library and workspace named.
func testMoveBelow(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	subtree, siblings := prefixTree(t, s, w.rootA)
	subtreeB, _ := prefixTree(t, s, w.rootB)
	// The folder a itself moves first, as the core does: its own row.
	a := subtree[0]
	a.Name, a.Path = "z", "z"
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateItem(ctx, a) })
	err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.MoveBelow(ctx, w.a.ID, w.libA.ID, "", "z", 10)
		return err
	})
	wantCode(t, "MoveBelow(root)", err, shelf.EINVALID)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if n, err := tx.MoveBelow(ctx, w.b.ID, w.libA.ID, "a", "z", 10); n != 0 || err != nil {
			t.Fatalf("MoveBelow(another workspace) = %d, %v", n, err)
		}
		return nil
	})
	var counts []int
	for range 10 {
		var n int
		update(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
			n, err = tx.MoveBelow(ctx, w.a.ID, w.libA.ID, "a", "z", 3)
			return err
		})
		counts = append(counts, n)
		if n == 0 {
			break
		}
		if n == 3 {
			// The least paths went first: a/b and a/b/c, then a/x.
			if got := pathsOf(t, s, w.a.ID, subtree[1:4]...); !slices.Equal(got, []string{"z/b", "z/b/c", "z/x"}) {
				t.Fatalf("after the first batch: %q", got)
			}
		}
	}
	if !slices.Equal(counts, []int{3, 1, 0}) {
		t.Fatalf("batches moved %v, want [3 1 0]", counts)
	}
	if got := pathsOf(t, s, w.a.ID, subtree...); !slices.Equal(got, []string{"z", "z/b", "z/b/c", "z/x", "z/~"}) {
		t.Fatalf("paths after the move: %q", got)
	}
	wantSiblings := itemPaths(siblings)
	if got := pathsOf(t, s, w.a.ID, siblings...); !slices.Equal(got, wantSiblings) {
		t.Fatalf("bystanders after the move: %q, want %q", got, wantSiblings)
	}
	if got := pathsOf(t, s, w.b.ID, subtreeB...); !slices.Equal(got, itemPaths(subtreeB)) {
		t.Fatalf("workspace B after the move: %q", got)
	}
}

func itemPaths(items []*shelf.Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Path)
	}
	return out
}

// testOthersBelow checks which private items count as another's.
func testOthersBelow(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	a := child(w.rootA, "a", shelf.TypeFolder)
	ab := child(a, "b", shelf.TypeFolder)
	mine := private(child(ab, "mine.txt", shelf.TypeFile), "key-1")
	theirs := private(child(w.rootA, "a b", shelf.TypeFile), "key-2") // beside a, not below it
	createItems(t, s, a, ab, mine, theirs)
	check := func(ws, path, viewer string, want bool) {
		t.Helper()
		view(t, s, func(ctx context.Context, tx shelf.Tx) error {
			got, err := tx.OthersBelow(ctx, ws, w.libA.ID, path, viewer)
			if err != nil || got != want {
				t.Fatalf("OthersBelow(%q, viewer %q) = %v, %v; want %v", path, viewer, got, err, want)
			}
			return nil
		})
	}
	check(w.a.ID, "a", "key-1", false)
	check(w.a.ID, "a", "key-2", true)
	check(w.a.ID, "a", "", true)
	check(w.a.ID, "a/b/mine.txt", "key-2", false) // nothing below a file
	check(w.a.ID, "", "key-1", true)              // theirs is in the library
	check(w.b.ID, "", "", false)
}

// testTreeOps checks the op records: create, read, list, update, claim by
// lease, delete, and that they stay in their workspace and go with their
// library.
func testTreeOps(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	lib2, root2 := newLibrary(w.a, "other")
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if err := tx.CreateLibrary(ctx, lib2); err != nil {
			return err
		}
		return tx.CreateItem(ctx, root2)
	})
	op1 := &shelf.TreeOp{ID: newID(), WorkspaceID: w.a.ID, LibraryID: w.libA.ID, Kind: shelf.TreeOpDelete, ItemID: newID(),
		Path: "docs/é", Viewer: "key-1", Cursor: "docs/é/z", Done: 7, Token: "t1", LeaseUntil: at(time.Minute),
		CreatedAt: at(0), UpdatedAt: at(time.Second)}
	op2 := &shelf.TreeOp{ID: newID(), WorkspaceID: w.a.ID, LibraryID: w.libA.ID, Kind: shelf.TreeOpMove, ItemID: newID(),
		Path: "a", NewPath: "b/a", Token: "t2", LeaseUntil: at(3 * time.Minute), CreatedAt: at(time.Second), UpdatedAt: at(time.Second)}
	op3 := &shelf.TreeOp{ID: newID(), WorkspaceID: w.a.ID, LibraryID: lib2.ID, Kind: shelf.TreeOpRestore, SnapshotID: newID(),
		Phase: 1, Token: "t3", LeaseUntil: at(2 * time.Minute), CreatedAt: at(2 * time.Second), UpdatedAt: at(2 * time.Second)}
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, op := range []*shelf.TreeOp{op2, op1, op3} {
			if err := tx.CreateTreeOp(ctx, op); err != nil {
				return err
			}
		}
		return nil
	})
	err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateTreeOp(ctx, op1) })
	wantCode(t, "CreateTreeOp(same id)", err, shelf.ECONFLICT)
	foreign := *op1
	foreign.ID, foreign.WorkspaceID = newID(), w.b.ID
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateTreeOp(ctx, &foreign) })
	wantCode(t, "CreateTreeOp(another workspace's library)", err, shelf.ENOTFOUND)

	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.TreeOp(ctx, w.a.ID, op1.ID)
		if err != nil {
			t.Fatalf("TreeOp: %v", err)
		}
		same(t, "TreeOp", got, op1)
		_, err = tx.TreeOp(ctx, w.b.ID, op1.ID)
		wantCode(t, "TreeOp(another workspace)", err, shelf.ENOTFOUND)
		list, err := tx.TreeOps(ctx, w.a.ID, w.libA.ID)
		if err != nil {
			t.Fatalf("TreeOps: %v", err)
		}
		sameList(t, "TreeOps", list, []*shelf.TreeOp{op1, op2})
		if list, err := tx.TreeOps(ctx, w.b.ID, w.libA.ID); err != nil || len(list) != 0 {
			t.Fatalf("TreeOps(another workspace) = %v, %v", list, err)
		}
		for _, c := range []struct {
			now  time.Duration
			want bool
		}{{time.Minute, false}, {time.Minute + time.Millisecond, true}} {
			if got, err := tx.ExpiredTreeOps(ctx, at(c.now)); err != nil || got != c.want {
				t.Fatalf("ExpiredTreeOps(%v) = %v, %v; want %v", c.now, got, err, c.want)
			}
		}
		return nil
	})

	op1.Phase, op1.Cursor, op1.Done, op1.LeaseUntil, op1.UpdatedAt = 2, "docs/é/m", 9, at(10*time.Minute), at(time.Minute)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateTreeOp(ctx, op1) })
	same(t, "TreeOp after UpdateTreeOp", readTreeOp(t, s, w.a.ID, op1.ID), op1)
	ghost := *op1
	ghost.ID = newID()
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateTreeOp(ctx, &ghost) })
	wantCode(t, "UpdateTreeOp(missing)", err, shelf.ENOTFOUND)

	// At 2m30s the leases of op3 (2m) has ended, op2's (3m) and op1's
	// (10m) have not; at 5m, op2's too. A claim takes them, oldest first.
	var claimed []*shelf.TreeOp
	update(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		claimed, err = tx.ClaimTreeOps(ctx, at(5*time.Minute), at(6*time.Minute), "t9", 10)
		return err
	})
	if len(claimed) != 2 || claimed[0].ID != op2.ID || claimed[1].ID != op3.ID {
		t.Fatalf("ClaimTreeOps = %s, want op2 then op3", dump(claimed))
	}
	for _, c := range claimed {
		if c.Token != "t9" || !c.LeaseUntil.Equal(at(6*time.Minute)) {
			t.Fatalf("claimed op %+v: token or lease not taken", c)
		}
	}
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		again, err := tx.ClaimTreeOps(ctx, at(5*time.Minute), at(7*time.Minute), "t10", 10)
		if err != nil || len(again) != 0 {
			t.Fatalf("ClaimTreeOps again = %v, %v; want none (their leases hold)", again, err)
		}
		return nil
	})
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		one, err := tx.ClaimTreeOps(ctx, at(time.Hour), at(2*time.Hour), "t11", 1)
		if err != nil || len(one) != 1 || one[0].ID != op1.ID {
			t.Fatalf("ClaimTreeOps(n=1) = %v, %v; want op1 alone (oldest)", one, err)
		}
		return nil
	})

	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteTreeOp(ctx, w.b.ID, op1.ID) })
	wantCode(t, "DeleteTreeOp(another workspace)", err, shelf.ENOTFOUND)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteTreeOp(ctx, w.a.ID, op1.ID) })
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteTreeOp(ctx, w.a.ID, op1.ID) })
	wantCode(t, "DeleteTreeOp(again)", err, shelf.ENOTFOUND)
	// Deleting the library deletes its ops.
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteLibrary(ctx, w.a.ID, lib2.ID) })
	err = viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.TreeOp(ctx, w.a.ID, op3.ID)
		return err
	})
	wantCode(t, "TreeOp(of a deleted library)", err, shelf.ENOTFOUND)
}

func readTreeOp(t *testing.T, s shelf.Store, ws, id string) *shelf.TreeOp {
	t.Helper()
	var op *shelf.TreeOp
	view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		op, err = tx.TreeOp(ctx, ws, id)
		return err
	})
	return op
}

// testSnapshotBatches checks the lookups of a restore and the deletion of
// a snapshot's rows in batches.
func testSnapshotBatches(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	docs := child(w.rootA, "docs", shelf.TypeFolder)
	items := []*shelf.Item{docs}
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		items = append(items, child(docs, n+".md", shelf.TypeFile))
	}
	createItems(t, s, items...)
	sn := &shelf.Snapshot{ID: newID(), WorkspaceID: w.a.ID, LibraryID: w.libA.ID, Trigger: "manual", CreatedAt: at(time.Hour)}
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateSnapshot(ctx, sn) })
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.SnapshotItemsAt(ctx, w.a.ID, sn.ID, []string{"docs/b.md", "docs", "nope", "docs/e.md"})
		if err != nil || len(got) != 3 || got["docs/b.md"].ID != items[2].ID || got["docs"].ID != docs.ID ||
			got["docs/e.md"].ParentID != docs.ID {
			t.Fatalf("SnapshotItemsAt = %v, %v", got, err)
		}
		if got, err := tx.SnapshotItemsAt(ctx, w.b.ID, sn.ID, []string{"docs"}); err != nil || len(got) != 0 {
			t.Fatalf("SnapshotItemsAt(another workspace) = %v, %v", got, err)
		}
		return nil
	})
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if n, err := tx.DeleteSnapshotItems(ctx, w.b.ID, sn.ID, 10); n != 0 || err != nil {
			t.Fatalf("DeleteSnapshotItems(another workspace) = %d, %v", n, err)
		}
		return nil
	})
	var counts []int
	for range 5 {
		var n int
		update(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
			n, err = tx.DeleteSnapshotItems(ctx, w.a.ID, sn.ID, 4)
			return err
		})
		counts = append(counts, n)
		if n == 0 {
			break
		}
	}
	if !slices.Equal(counts, []int{4, 2, 0}) {
		t.Fatalf("DeleteSnapshotItems batches = %v, want [4 2 0]", counts)
	}
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		rest, err := tx.SnapshotItems(ctx, w.a.ID, sn.ID, "", 10)
		if err != nil || len(rest) != 0 {
			t.Fatalf("SnapshotItems after deleting its rows = %v, %v", rest, err)
		}
		if _, err := tx.Snapshot(ctx, w.a.ID, w.libA.ID, sn.ID); err != nil {
			t.Fatalf("the snapshot itself: %v", err)
		}
		return nil
	})
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteSnapshot(ctx, w.a.ID, w.libA.ID, sn.ID) })
	if got := exists(t, s, w.a.ID, items...); !slices.Equal(got, all(len(items), true)) {
		t.Fatalf("the library's items after its snapshot went: %v", got)
	}

	// A snapshot made in batches: recorded empty, then filled.
	made := &shelf.Snapshot{ID: newID(), WorkspaceID: w.a.ID, LibraryID: w.libA.ID, Trigger: "manual", CreatedAt: at(2 * time.Hour)}
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.PutSnapshot(ctx, made) })
	err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.PutSnapshot(ctx, made) })
	wantCode(t, "PutSnapshot(same id)", err, shelf.ECONFLICT)
	foreign := *made
	foreign.ID, foreign.WorkspaceID = newID(), w.b.ID
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.PutSnapshot(ctx, &foreign) })
	wantCode(t, "PutSnapshot(another workspace's library)", err, shelf.ENOTFOUND)
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		return tx.AddSnapshotItems(ctx, w.b.ID, made.ID, items[:1])
	})
	wantCode(t, "AddSnapshotItems(another workspace)", err, shelf.ENOTFOUND)
	items[2].XAttrs = map[string]string{"k": "v"}
	for _, page := range [][]*shelf.Item{items[:2], items[2:]} {
		update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.AddSnapshotItems(ctx, w.a.ID, made.ID, page) })
	}
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		return tx.AddSnapshotItems(ctx, w.a.ID, made.ID, items[1:2])
	})
	wantCode(t, "AddSnapshotItems(a path again)", err, shelf.ECONFLICT)
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.Snapshot(ctx, w.a.ID, w.libA.ID, made.ID)
		if err != nil || got.FileCount != 5 {
			t.Fatalf("the snapshot made in batches: %+v, %v; want 5 files", got, err)
		}
		rows, err := tx.SnapshotItems(ctx, w.a.ID, made.ID, "", 10)
		if err != nil || len(rows) != len(items) {
			t.Fatalf("its rows: %v, %v", rows, err)
		}
		for i, it := range items {
			want := *it
			want.Index = shelf.IndexStatus{}
			same(t, "a row added", rows[i], &want)
		}
		return nil
	})
}
