package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shelfmem/shelf"
)

func testItems(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	folder := child(w.rootA, "docs ü", shelf.TypeFolder)
	file := child(folder, "a.txt", shelf.TypeFile)
	file.XAttrs = map[string]string{"k": "v", "ü": "日本", "empty": ""}
	file.Head, file.Size, file.ContentType = 7, 1<<40, "text/plain; charset=utf-8"
	bare := child(folder, "bare", shelf.TypeFolder)
	bare.XAttrs = nil
	sameInB := child(w.rootB, "docs ü", shelf.TypeFolder) // same path, other library
	createItems(t, s, folder, file, bare, sameInB)

	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, want := range []*shelf.Item{w.rootA, folder, file, bare, sameInB} {
			got, err := tx.Item(ctx, want.WorkspaceID, want.ID)
			if err != nil {
				t.Fatalf("Item(%q): %v", want.Path, err)
			}
			same(t, "Item", got, want)
			got, err = tx.ItemByPath(ctx, want.WorkspaceID, want.LibraryID, want.Path)
			if err != nil {
				t.Fatalf("ItemByPath(%q): %v", want.Path, err)
			}
			same(t, "ItemByPath", got, want)
		}
		return nil
	})

	for name, fn := range map[string]func(ctx context.Context, tx shelf.Tx) error{
		"Item(other workspace)": func(ctx context.Context, tx shelf.Tx) error {
			_, err := tx.Item(ctx, w.b.ID, file.ID)
			return err
		},
		"ItemByPath(other workspace)": func(ctx context.Context, tx shelf.Tx) error {
			_, err := tx.ItemByPath(ctx, w.b.ID, w.libA.ID, file.Path)
			return err
		},
		"Item(missing)": func(ctx context.Context, tx shelf.Tx) error {
			_, err := tx.Item(ctx, w.a.ID, newID())
			return err
		},
		"ItemByPath(missing)": func(ctx context.Context, tx shelf.Tx) error {
			_, err := tx.ItemByPath(ctx, w.a.ID, w.libA.ID, "docs ü/b.txt")
			return err
		},
	} {
		wantCode(t, name, viewErr(t, s, fn), shelf.ENOTFOUND)
	}

	dupPath := child(folder, "a.txt", shelf.TypeFile)
	err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateItem(ctx, dupPath) })
	wantCode(t, "CreateItem(path taken)", err, shelf.ECONFLICT)

	dupID := child(folder, "c.txt", shelf.TypeFile)
	dupID.ID = file.ID
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateItem(ctx, dupID) })
	wantCode(t, "CreateItem(id taken)", err, shelf.ECONFLICT)

	// An item cannot go into a library of another workspace.
	foreign := child(w.rootA, "foreign", shelf.TypeFile)
	foreign.WorkspaceID = w.b.ID
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateItem(ctx, foreign) })
	wantCode(t, "CreateItem(library of another workspace)", err, shelf.ENOTFOUND)

	same(t, "file after failed creates", getItem(t, s, w.a.ID, file.ID), file)
	err = viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.ItemByPath(ctx, w.a.ID, w.libA.ID, "docs ü/c.txt")
		return err
	})
	wantCode(t, "ItemByPath(failed create)", err, shelf.ENOTFOUND)
}

func testUpdateItem(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	f1 := child(w.rootA, "f1", shelf.TypeFolder)
	f2 := child(w.rootA, "f2", shelf.TypeFolder)
	a := child(f1, "a.txt", shelf.TypeFile)
	b := child(f1, "b.txt", shelf.TypeFile)
	createItems(t, s, f1, f2, a, b)

	// Move a into f2 under a new name and change every mutable field.
	moved := *a
	moved.ParentID, moved.Name, moved.Path = f2.ID, "c ü.txt", "f2/c ü.txt"
	moved.XAttrs = map[string]string{"color": "blue"}
	moved.Head, moved.Size, moved.Hash, moved.ContentType = 2, 12345, hashOf("v2"), "application/pdf"
	moved.UpdatedAt = at(time.Hour)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateItem(ctx, &moved) })
	same(t, "item after update", getItem(t, s, w.a.ID, a.ID), &moved)
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.ItemByPath(ctx, w.a.ID, w.libA.ID, "f2/c ü.txt")
		if err != nil {
			t.Fatalf("ItemByPath(new path): %v", err)
		}
		same(t, "ItemByPath(new path)", got, &moved)
		kids, err := tx.Children(ctx, w.a.ID, f2.ID, "", 10, shelf.ItemFilter{})
		if err != nil {
			t.Fatalf("Children: %v", err)
		}
		sameList(t, "Children(f2)", kids, []*shelf.Item{&moved})
		return nil
	})
	err := viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.ItemByPath(ctx, w.a.ID, w.libA.ID, a.Path)
		return err
	})
	wantCode(t, "ItemByPath(old path)", err, shelf.ENOTFOUND)

	// Renaming b onto the moved item's name and path is a conflict and
	// changes nothing.
	clash := *b
	clash.ParentID, clash.Name, clash.Path = f2.ID, moved.Name, moved.Path
	clash.XAttrs = map[string]string{"lost": "yes"}
	clash.UpdatedAt = at(2 * time.Hour)
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateItem(ctx, &clash) })
	wantCode(t, "UpdateItem(path taken)", err, shelf.ECONFLICT)
	same(t, "b after conflicting update", getItem(t, s, w.a.ID, b.ID), b)
	same(t, "moved after conflicting update", getItem(t, s, w.a.ID, a.ID), &moved)

	foreign := *b
	foreign.WorkspaceID, foreign.Name, foreign.Path = w.b.ID, "stolen", "f1/stolen"
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateItem(ctx, &foreign) })
	wantCode(t, "UpdateItem(other workspace)", err, shelf.ENOTFOUND)
	same(t, "b after foreign update", getItem(t, s, w.a.ID, b.ID), b)

	missing := *b
	missing.ID = newID()
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateItem(ctx, &missing) })
	wantCode(t, "UpdateItem(missing)", err, shelf.ENOTFOUND)
}

// childNames are names whose byte order differs from a locale's order
// (upper before lower case, '_' between them, accents after 'z'), plus
// names that share prefixes.
var childNames = []string{"B", "a", "_", "é", "e", "f", "Z", "0", "a b", "a-", "ab", "~", "Ä", "日本", "ß", "a.txt", "A"}

// makeChildren stores n children of a new folder under w.rootA: the
// childNames and then generated ones, mixed files and folders. It returns
// the folder and the names.
func makeChildren(t *testing.T, s shelf.Store, w *world, n int) (*shelf.Item, []string) {
	t.Helper()
	folder := child(w.rootA, "big", shelf.TypeFolder)
	items := []*shelf.Item{folder}
	var names []string
	for i := range n {
		name := fmt.Sprintf("n%04d-%c", (i*7919)%n, 'a'+i%26)
		if i < len(childNames) {
			name = childNames[i]
		}
		typ := shelf.TypeFile
		if i%3 == 0 {
			typ = shelf.TypeFolder
		}
		items = append(items, child(folder, name, typ))
		names = append(names, name)
	}
	// Rows that must not show up: a sibling of the folder and a grandchild.
	sib := child(w.rootA, "bigger", shelf.TypeFolder)
	items = append(items, sib, child(sib, "a", shelf.TypeFile), child(items[1], "deep", shelf.TypeFile))
	createItems(t, s, items...)
	return folder, names
}

func testChildren(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	folder, names := makeChildren(t, s, w, 1000)
	want := slices.Clone(names)
	slices.Sort(want) // byte order

	var got []string
	after := ""
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for pages := 0; ; pages++ {
			if pages > len(want)/50+1 {
				t.Fatalf("Children: more than %d pages", pages)
			}
			page, err := tx.Children(ctx, w.a.ID, folder.ID, after, 50, shelf.ItemFilter{})
			if err != nil {
				t.Fatalf("Children(after %q): %v", after, err)
			}
			if len(page) > 50 {
				t.Fatalf("Children: page of %d, limit 50", len(page))
			}
			for _, it := range page {
				if it.ParentID != folder.ID || it.WorkspaceID != w.a.ID || it.Path != "big/"+it.Name {
					t.Fatalf("Children: got %+v, not a child of %q", it, folder.Path)
				}
				got = append(got, it.Name)
			}
			if len(page) < 50 {
				return nil
			}
			after = page[len(page)-1].Name
		}
	})
	if !slices.Equal(got, want) {
		t.Fatalf("Children in pages of 50:\n got %q\nwant %q", got, want)
	}

	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		page, err := tx.Children(ctx, w.a.ID, folder.ID, want[996], 50, shelf.ItemFilter{})
		if err != nil {
			t.Fatalf("Children: %v", err)
		}
		if len(page) != 3 || page[0].Name != want[997] || page[2].Name != want[999] {
			t.Fatalf("Children(after the 997th) = %d items, want the last 3", len(page))
		}
		full, err := tx.ItemByPath(ctx, w.a.ID, w.libA.ID, "big/"+want[998])
		if err != nil {
			t.Fatalf("ItemByPath: %v", err)
		}
		same(t, "Children item", page[1], full)

		page, err = tx.Children(ctx, w.a.ID, folder.ID, "", 5, shelf.ItemFilter{})
		if err != nil {
			t.Fatalf("Children: %v", err)
		}
		if len(page) != 5 || page[0].Name != "0" || page[1].Name != "A" || page[2].Name != "B" {
			t.Fatalf("Children first page = %v, want 0, A, B, …", itemNames(page))
		}

		page, err = tx.Children(ctx, w.b.ID, folder.ID, "", 50, shelf.ItemFilter{})
		if err != nil || len(page) != 0 {
			t.Fatalf("Children(other workspace) = %d items, %v; want none", len(page), err)
		}
		page, err = tx.Children(ctx, w.a.ID, newID(), "", 50, shelf.ItemFilter{})
		if err != nil || len(page) != 0 {
			t.Fatalf("Children(missing folder) = %d items, %v; want none", len(page), err)
		}
		return nil
	})
}

func itemNames(items []*shelf.Item) []string {
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = it.Name
	}
	return names
}

func testTakenPaths(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	_, names := makeChildren(t, s, w, 1000)
	// 1,200 paths: 600 taken, 600 free (some taken in another library or
	// workspace, or only under another spelling), in no order.
	var ask []string
	want := map[string]bool{"bigger": true, "bigger/a": true, "big": true, "": true} // "" is the root
	for i, n := range names {
		if i%5 < 3 {
			ask = append(ask, "big/"+n)
			want["big/"+n] = true
		}
	}
	other := child(w.rootB, "elsewhere", shelf.TypeFile)
	nfc := child(w.rootA, "caf\u00e9", shelf.TypeFile)
	createItems(t, s, other, nfc)
	want[nfc.Path] = true
	ask = append(ask, "bigger", "bigger/a", "big", "big/deep", "deep", "", "elsewhere", nfc.Path, "cafe\u0301", "big/"+names[1]+"/x")
	for i := len(ask); i < 1200; i++ {
		ask = append(ask, fmt.Sprintf("big/free-%d", i))
	}
	slices.Reverse(ask)

	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.TakenPaths(ctx, w.a.ID, w.libA.ID, ask)
		if err != nil {
			t.Fatalf("TakenPaths: %v", err)
		}
		for _, p := range ask {
			if got[p] != want[p] {
				t.Errorf("TakenPaths[%q] = %v, want %v", p, got[p], want[p])
			}
		}
		for p, taken := range got {
			if taken && !slices.Contains(ask, p) {
				t.Errorf("TakenPaths has %q, which was not asked for", p)
			}
		}
		got, err = tx.TakenPaths(ctx, w.b.ID, w.libA.ID, ask)
		if err != nil || countTrue(got) != 0 {
			t.Fatalf("TakenPaths(other workspace) = %d paths, %v; want none", countTrue(got), err)
		}
		got, err = tx.TakenPaths(ctx, w.a.ID, w.libA.ID, nil)
		if err != nil || countTrue(got) != 0 {
			t.Fatalf("TakenPaths(no paths) = %d paths, %v; want none", countTrue(got), err)
		}
		return nil
	})
}

func countTrue(m map[string]bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}

// pathsOf reads the path of each item by id.
func pathsOf(t *testing.T, s shelf.Store, ws string, items ...*shelf.Item) []string {
	t.Helper()
	var paths []string
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, it := range items {
			got, err := tx.Item(ctx, ws, it.ID)
			if err != nil {
				t.Fatalf("Item(%q): %v", it.Path, err)
			}
			paths = append(paths, got.Path)
		}
		return nil
	})
	return paths
}

func testMovePaths(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	e := child(w.rootA, "é", shelf.TypeFolder)
	u := child(e, "ü", shelf.TypeFolder)
	jp := child(u, "日本", shelf.TypeFolder)
	f := child(jp, "ファイル.txt", shelf.TypeFile)
	x := child(e, "x.txt", shelf.TypeFile)
	ea := child(w.rootA, "éa", shelf.TypeFolder) // shares the prefix "é"
	eau := child(ea, "ü", shelf.TypeFile)
	eb := child(w.rootA, "é b", shelf.TypeFile)
	lib2, root2 := newLibrary(w.a, "other")
	e2 := child(root2, "é", shelf.TypeFolder)
	u2 := child(e2, "ü", shelf.TypeFolder)
	bE := child(w.rootB, "é", shelf.TypeFolder)
	bU := child(bE, "ü", shelf.TypeFolder)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateLibrary(ctx, lib2) })
	createItems(t, s, e, u, jp, f, x, ea, eau, eb, root2, e2, u2, bE, bU)
	bystanders := []*shelf.Item{e, ea, eau, eb, e2, u2}
	wantBystanders := []string{"é", "éa", "éa/ü", "é b", "é", "é/ü"}

	// Another workspace's call moves nothing in A.
	err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		return tx.MovePaths(ctx, w.b.ID, w.libA.ID, "é", "zzz")
	})
	if code := shelf.ErrorCode(err); code != "" && code != shelf.ENOTFOUND {
		t.Fatalf("MovePaths(other workspace): %v", err)
	}
	if got := pathsOf(t, s, w.a.ID, u, f); !slices.Equal(got, []string{"é/ü", "é/ü/日本/ファイル.txt"}) {
		t.Fatalf("after MovePaths of another workspace: %q", got)
	}

	// "é" (2 bytes, 1 character) becomes "ñandú" (7 bytes, 5 characters).
	// Only what is below "é" moves; the folder itself is UpdateItem's job.
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		return tx.MovePaths(ctx, w.a.ID, w.libA.ID, "é", "ñandú")
	})
	below := []*shelf.Item{u, jp, f, x}
	want := []string{"ñandú/ü", "ñandú/ü/日本", "ñandú/ü/日本/ファイル.txt", "ñandú/x.txt"}
	if got := pathsOf(t, s, w.a.ID, below...); !slices.Equal(got, want) {
		t.Fatalf("paths after MovePaths(é → ñandú) = %q, want %q", got, want)
	}
	if got := pathsOf(t, s, w.a.ID, bystanders...); !slices.Equal(got, wantBystanders) {
		t.Fatalf("bystanders after MovePaths = %q, want %q", got, wantBystanders)
	}
	if got := pathsOf(t, s, w.b.ID, bU); !slices.Equal(got, []string{"é/ü"}) {
		t.Fatalf("workspace B after MovePaths = %q", got)
	}
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.ItemByPath(ctx, w.a.ID, w.libA.ID, "ñandú/ü/日本/ファイル.txt")
		if err != nil {
			t.Fatalf("ItemByPath(new path): %v", err)
		}
		if got.ID != f.ID || got.Name != "ファイル.txt" || got.ParentID != jp.ID {
			t.Fatalf("ItemByPath(new path) = %+v", got)
		}
		return nil
	})
	err = viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.ItemByPath(ctx, w.a.ID, w.libA.ID, "é/ü")
		return err
	})
	wantCode(t, "ItemByPath(old path)", err, shelf.ENOTFOUND)

	// And back out to a shorter prefix: "ñandú/ü" becomes "ü" at the root.
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		return tx.MovePaths(ctx, w.a.ID, w.libA.ID, "ñandú/ü", "ü")
	})
	want = []string{"ñandú/ü", "ü/日本", "ü/日本/ファイル.txt", "ñandú/x.txt"}
	if got := pathsOf(t, s, w.a.ID, below...); !slices.Equal(got, want) {
		t.Fatalf("paths after MovePaths(ñandú/ü → ü) = %q, want %q", got, want)
	}
	if got := pathsOf(t, s, w.a.ID, bystanders...); !slices.Equal(got, wantBystanders) {
		t.Fatalf("bystanders after MovePaths = %q, want %q", got, wantBystanders)
	}
}

// prefixTree stores, under root, the classic prefix-bug set: a folder "a"
// with a subtree, and siblings whose paths start with "a" or sort right
// around "a/". It returns the subtree (a first) and the siblings.
func prefixTree(t *testing.T, s shelf.Store, root *shelf.Item) (subtree, siblings []*shelf.Item) {
	t.Helper()
	a := child(root, "a", shelf.TypeFolder)
	ab := child(a, "b", shelf.TypeFolder)
	subtree = []*shelf.Item{a, ab, child(ab, "c", shelf.TypeFile), child(a, "x", shelf.TypeFile), child(a, "~", shelf.TypeFile)}
	aSpace := child(root, "a b", shelf.TypeFolder)
	siblings = []*shelf.Item{aSpace, child(aSpace, "c", shelf.TypeFile)}
	for _, name := range []string{"ab", "a-", "a.", "a.txt", "a0", "a~", "b"} {
		siblings = append(siblings, child(root, name, shelf.TypeFile))
	}
	createItems(t, s, append(slices.Clone(subtree), siblings...)...)
	return subtree, siblings
}

// addVersions stores versions 1..n of it; their hashes are hashOf(it.ID/k).
func addVersions(t *testing.T, s shelf.Store, it *shelf.Item, n int) []*shelf.Version {
	t.Helper()
	var vs []*shelf.Version
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for k := 1; k <= n; k++ {
			v := &shelf.Version{
				ID: newID(), ItemID: it.ID, WorkspaceID: it.WorkspaceID, Number: int64(k),
				Hash: hashOf(fmt.Sprintf("%s/%d", it.ID, k)), Size: int64(100 * k), ContentType: "text/plain",
				CreatedAt: at(time.Duration(k) * time.Hour),
			}
			if err := tx.CreateVersion(ctx, v); err != nil {
				return err
			}
			vs = append(vs, v)
		}
		return nil
	})
	return vs
}

// exists reports, for each item, whether Item finds it.
func exists(t *testing.T, s shelf.Store, ws string, items ...*shelf.Item) []bool {
	t.Helper()
	var found []bool
	for _, it := range items {
		err := viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
			_, err := tx.Item(ctx, ws, it.ID)
			return err
		})
		if err != nil && shelf.ErrorCode(err) != shelf.ENOTFOUND {
			t.Fatalf("Item(%q): %v", it.Path, err)
		}
		found = append(found, err == nil)
	}
	return found
}

func all(n int, v bool) []bool {
	bs := make([]bool, n)
	for i := range bs {
		bs[i] = v
	}
	return bs
}

func testDeleteTree(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	subtree, siblings := prefixTree(t, s, w.rootA)
	lib2, root2 := newLibrary(w.a, "other")
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateLibrary(ctx, lib2) })
	createItems(t, s, root2)
	subtree2, _ := prefixTree(t, s, root2) // same paths, other library
	goneFile := subtree[2]                 // a/b/c
	keptFile := siblings[2]                // ab
	goneVersions := addVersions(t, s, goneFile, 2)
	keptVersions := addVersions(t, s, keptFile, 2)

	err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.DeleteTree(ctx, w.b.ID, subtree[0].ID)
		return err
	})
	wantCode(t, "DeleteTree(other workspace)", err, shelf.ENOTFOUND)
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.DeleteTree(ctx, w.a.ID, newID())
		return err
	})
	wantCode(t, "DeleteTree(missing)", err, shelf.ENOTFOUND)
	if got := exists(t, s, w.a.ID, subtree...); !slices.Equal(got, all(len(subtree), true)) {
		t.Fatalf("subtree after failed deletes: exists = %v", got)
	}

	var n int
	update(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		n, err = tx.DeleteTree(ctx, w.a.ID, subtree[0].ID)
		return err
	})
	if n != len(subtree) {
		t.Errorf("DeleteTree(a) = %d, want %d", n, len(subtree))
	}
	if got := exists(t, s, w.a.ID, subtree...); !slices.Equal(got, all(len(subtree), false)) {
		t.Errorf("subtree of a after DeleteTree: exists = %v, want all false", got)
	}
	if got := exists(t, s, w.a.ID, siblings...); !slices.Equal(got, all(len(siblings), true)) {
		t.Errorf("siblings of a (%q) after DeleteTree: exists = %v, want all true", itemNames(siblings), got)
	}
	if got := exists(t, s, w.a.ID, append([]*shelf.Item{w.rootA}, subtree2...)...); !slices.Equal(got, all(len(subtree2)+1, true)) {
		t.Errorf("root and other library after DeleteTree: exists = %v, want all true", got)
	}

	// The versions of deleted files go with them.
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		vs, err := tx.Versions(ctx, w.a.ID, goneFile.ID)
		if err != nil || len(vs) != 0 {
			t.Errorf("Versions(deleted file) = %d versions, %v; want none", len(vs), err)
		}
		vs, err = tx.Versions(ctx, w.a.ID, keptFile.ID)
		if err != nil {
			t.Fatalf("Versions: %v", err)
		}
		sameList(t, "Versions(kept file)", vs, []*shelf.Version{keptVersions[1], keptVersions[0]})
		for _, v := range goneVersions {
			if ref, err := tx.BlobReferenced(ctx, v.Hash); err != nil || ref {
				t.Errorf("BlobReferenced(deleted version %d) = %v, %v; want false", v.Number, ref, err)
			}
		}
		return nil
	})
	err = viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.Version(ctx, w.a.ID, goneFile.ID, 1)
		return err
	})
	wantCode(t, "Version(deleted file)", err, shelf.ENOTFOUND)

	// A file alone.
	update(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		n, err = tx.DeleteTree(ctx, w.a.ID, siblings[3].ID) // "a-"
		return err
	})
	if n != 1 {
		t.Errorf("DeleteTree(file) = %d, want 1", n)
	}
	if got := exists(t, s, w.a.ID, siblings...); slices.Index(got, false) != 3 || slices.Contains(got[4:], false) {
		t.Errorf("siblings after DeleteTree(a-): exists = %v", got)
	}
}

func testDeleteTreeRoot(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	subtree, siblings := prefixTree(t, s, w.rootA)
	addVersions(t, s, subtree[2], 1)
	lib2, root2 := newLibrary(w.a, "other")
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateLibrary(ctx, lib2) })
	createItems(t, s, root2)
	subtree2, siblings2 := prefixTree(t, s, root2)
	subtreeB, _ := prefixTree(t, s, w.rootB)

	var n int
	update(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		n, err = tx.DeleteTree(ctx, w.a.ID, w.rootA.ID)
		return err
	})
	if want := 1 + len(subtree) + len(siblings); n != want {
		t.Errorf("DeleteTree(root) = %d, want %d", n, want)
	}
	gone := append(append([]*shelf.Item{w.rootA}, subtree...), siblings...)
	if got := exists(t, s, w.a.ID, gone...); !slices.Equal(got, all(len(gone), false)) {
		t.Errorf("library after DeleteTree(root): exists = %v, want all false", got)
	}
	kept := append(append([]*shelf.Item{root2}, subtree2...), siblings2...)
	if got := exists(t, s, w.a.ID, kept...); !slices.Equal(got, all(len(kept), true)) {
		t.Errorf("other library after DeleteTree(root): exists = %v, want all true", got)
	}
	if got := exists(t, s, w.b.ID, subtreeB...); !slices.Equal(got, all(len(subtreeB), true)) {
		t.Errorf("workspace B after DeleteTree(root): exists = %v, want all true", got)
	}
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if _, err := tx.Library(ctx, w.a.ID, w.libA.ID); err != nil {
			t.Errorf("Library after DeleteTree(root): %v", err)
		}
		vs, err := tx.Versions(ctx, w.a.ID, subtree[2].ID)
		if err != nil || len(vs) != 0 {
			t.Errorf("Versions after DeleteTree(root) = %d versions, %v; want none", len(vs), err)
		}
		return nil
	})
}

func testVersions(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	file := child(w.rootA, "f.txt", shelf.TypeFile)
	other := child(w.rootA, "g.txt", shelf.TypeFile)
	createItems(t, s, file, other)
	mk := func(n int64) *shelf.Version {
		return &shelf.Version{
			ID: newID(), ItemID: file.ID, WorkspaceID: w.a.ID, Number: n, Hash: hashOf(fmt.Sprint(n)),
			Size: n * 1000, ContentType: "application/octet-stream", CreatedAt: at(time.Duration(n) * time.Minute),
		}
	}
	v1, v2, v3 := mk(1), mk(2), mk(3)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, v := range []*shelf.Version{v2, v1, v3} {
			if err := tx.CreateVersion(ctx, v); err != nil {
				return err
			}
		}
		return nil
	})
	oneOther := addVersions(t, s, other, 1) // number 1 again, other item

	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.Version(ctx, w.a.ID, file.ID, 2)
		if err != nil {
			t.Fatalf("Version: %v", err)
		}
		same(t, "Version(2)", got, v2)
		vs, err := tx.Versions(ctx, w.a.ID, file.ID)
		if err != nil {
			t.Fatalf("Versions: %v", err)
		}
		sameList(t, "Versions, newest first", vs, []*shelf.Version{v3, v2, v1})
		vs, err = tx.Versions(ctx, w.a.ID, other.ID)
		if err != nil {
			t.Fatalf("Versions: %v", err)
		}
		sameList(t, "Versions(other item)", vs, oneOther)
		vs, err = tx.Versions(ctx, w.b.ID, file.ID)
		if err != nil || len(vs) != 0 {
			t.Fatalf("Versions(other workspace) = %d versions, %v; want none", len(vs), err)
		}
		return nil
	})
	for name, fn := range map[string]func(ctx context.Context, tx shelf.Tx) error{
		"Version(other workspace)": func(ctx context.Context, tx shelf.Tx) error {
			_, err := tx.Version(ctx, w.b.ID, file.ID, 1)
			return err
		},
		"Version(missing number)": func(ctx context.Context, tx shelf.Tx) error {
			_, err := tx.Version(ctx, w.a.ID, file.ID, 4)
			return err
		},
	} {
		wantCode(t, name, viewErr(t, s, fn), shelf.ENOTFOUND)
	}

	dup := mk(2)
	err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateVersion(ctx, dup) })
	wantCode(t, "CreateVersion(number taken)", err, shelf.ECONFLICT)
	foreign := mk(9)
	foreign.WorkspaceID = w.b.ID
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateVersion(ctx, foreign) })
	wantCode(t, "CreateVersion(item of another workspace)", err, shelf.ENOTFOUND)
	orphan := mk(9)
	orphan.ItemID = newID()
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateVersion(ctx, orphan) })
	wantCode(t, "CreateVersion(missing item)", err, shelf.ENOTFOUND)

	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.Version(ctx, w.a.ID, file.ID, 2)
		if err != nil {
			t.Fatalf("Version: %v", err)
		}
		same(t, "Version(2) after failed creates", got, v2)
		vs, err := tx.Versions(ctx, w.a.ID, file.ID)
		if err != nil || len(vs) != 3 {
			t.Fatalf("Versions after failed creates = %d, %v; want 3", len(vs), err)
		}
		return nil
	})
}
