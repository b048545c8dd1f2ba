package library_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/library"
)

// The two spellings of one name: NFD (e + combining acute) as a macOS
// client sends it, and NFC (é precomposed).
const (
	ecoleNFD = "e\u0301cole"
	ecoleNFC = "\u00e9cole"
	cafeNFD  = "cafe\u0301.txt"
	cafeNFC  = "caf\u00e9.txt"
)

// wantItem checks an item's name bytes and path.
func wantItem(t *testing.T, what string, it *shelf.Item, err error, name, path string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if it.Name != name || it.Path != path {
		t.Fatalf("%s: name %+q, path %+q; want name %+q, path %+q", what, it.Name, it.Path, name, path)
	}
}

// TestNamesNFCFolders: a folder keeps its name as sent; its NFC twin is the
// same name under every strategy, and _N suffixes are free under NFC.
func TestNamesNFCFolders(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := e.ctx
	root, _ := e.svc.Root(ctx)
	nfd, err := e.svc.CreateFolder(ctx, root.ID, ecoleNFD, library.ConflictDeny, nil)
	wantItem(t, "NFD folder", nfd, err, ecoleNFD, ecoleNFC)

	_, err = e.svc.CreateFolder(ctx, root.ID, ecoleNFC, library.ConflictDeny, nil)
	wantCode(t, err, shelf.ECONFLICT)
	_, err = e.svc.CreateFolder(ctx, root.ID, ecoleNFD, library.ConflictDeny, nil)
	wantCode(t, err, shelf.ECONFLICT)

	r1, err := e.svc.CreateFolder(ctx, root.ID, ecoleNFC, library.ConflictRename, nil)
	wantItem(t, "NFC twin, rename", r1, err, ecoleNFC+"_1", ecoleNFC+"_1")
	// ecoleNFD_1 is taken under NFC by ecoleNFC_1: the next free is _2,
	// spelt as sent.
	r2, err := e.svc.CreateFolder(ctx, root.ID, ecoleNFD, library.ConflictRename, nil)
	wantItem(t, "NFD again, rename", r2, err, ecoleNFD+"_2", ecoleNFC+"_2")

	// Reading back gives the bytes sent, and the listing pages by them.
	got, err := e.svc.Item(ctx, nfd.ID)
	wantItem(t, "Item", got, err, ecoleNFD, ecoleNFC)
	if names := e.names(t, ctx, root.ID); fmt.Sprintf("%+q", names) != fmt.Sprintf("%+q", []string{ecoleNFD, ecoleNFD + "_2", ecoleNFC + "_1"}) {
		t.Fatalf("listing = %+q (byte order of the names as sent)", names)
	}
}

// TestNamesNFCFiles: the conflict strategies of files find the NFC twin.
func TestNamesNFCFiles(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := e.ctx
	root, _ := e.svc.Root(ctx)
	first, err := e.upload(t, ctx, root.ID, cafeNFD, library.ConflictDeny, []byte("v1"))
	wantItem(t, "NFD file", first, err, cafeNFD, cafeNFC)

	cases := []struct {
		strategy library.Conflict
		send     string
		code     string // the error, or "" for a file named name
		name     string
		sameID   bool
	}{
		{library.ConflictDeny, cafeNFC, shelf.ECONFLICT, "", false},
		{library.ConflictRename, cafeNFC, "", "caf\u00e9_1.txt", false},
		{library.ConflictRename, cafeNFD, "", "cafe\u0301_2.txt", false},
		// overwrite keeps the item, so its name too.
		{library.ConflictOverwrite, cafeNFC, "", cafeNFD, true},
		// replace makes a new item, named as sent now.
		{library.ConflictReplace, cafeNFC, "", cafeNFC, false},
	}
	cur := first
	for i, c := range cases {
		data := []byte(fmt.Sprintf("v%d", i+2))
		it, err := e.upload(t, ctx, root.ID, c.send, c.strategy, data)
		if c.code != "" {
			wantCode(t, err, c.code)
			continue
		}
		wantItem(t, string(c.strategy), it, err, c.name, library.NameKey(c.name))
		if c.sameID != (it.ID == cur.ID) {
			t.Fatalf("%s: id %s, the twin's %s; same id wanted: %v", c.strategy, it.ID, cur.ID, c.sameID)
		}
		if !bytes.Equal(e.read(t, ctx, it.ID), data) {
			t.Fatalf("%s: content differs", c.strategy)
		}
		if c.strategy == library.ConflictOverwrite && it.Head != 2 {
			t.Fatalf("overwrite made version %d, want 2", it.Head)
		}
		if c.strategy == library.ConflictReplace {
			_, err := e.svc.Item(ctx, cur.ID)
			wantCode(t, err, shelf.ENOTFOUND)
		}
	}
	// A folder whose name is the NFC twin stands in the way of both
	// overwrite and replace.
	if _, err := e.svc.CreateFolder(ctx, root.ID, "r\u00e9sum\u00e9", "", nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []library.Conflict{library.ConflictOverwrite, library.ConflictReplace} {
		_, err := e.upload(t, ctx, root.ID, "re\u0301sume\u0301", c, []byte("x"))
		wantCode(t, err, shelf.ECONFLICT)
	}
}

// TestNamesNFCRenameMove: renames and moves compare under NFC; renaming an
// item to its own twin changes only the name's bytes.
func TestNamesNFCRenameMove(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := e.ctx
	root, _ := e.svc.Root(ctx)
	a, _ := e.svc.CreateFolder(ctx, root.ID, "a", "", nil)
	b, _ := e.svc.CreateFolder(ctx, root.ID, "b", "", nil)
	inA, err := e.upload(t, ctx, a.ID, cafeNFD, "", []byte("in a"))
	if err != nil {
		t.Fatal(err)
	}
	inB, err := e.upload(t, ctx, b.ID, cafeNFC, "", []byte("in b"))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := e.upload(t, ctx, a.ID, "other.txt", "", []byte("other"))

	// Rename onto the twin: deny refuses, rename suffixes.
	name := cafeNFC
	_, err = e.svc.UpdateItem(ctx, other.ID, library.ItemUpdate{Name: &name})
	wantCode(t, err, shelf.ECONFLICT)
	it, err := e.svc.UpdateItem(ctx, other.ID, library.ItemUpdate{Name: &name, Conflict: library.ConflictRename})
	wantItem(t, "rename onto the twin", it, err, "caf\u00e9_1.txt", "a/caf\u00e9_1.txt")

	// Move the NFC file of b into a, where its NFD twin is.
	aid := a.ID
	_, err = e.svc.UpdateItem(ctx, inB.ID, library.ItemUpdate{ParentID: &aid})
	wantCode(t, err, shelf.ECONFLICT)
	it, err = e.svc.UpdateItem(ctx, inB.ID, library.ItemUpdate{ParentID: &aid, Conflict: library.ConflictRename})
	wantItem(t, "move onto the twin", it, err, "caf\u00e9_2.txt", "a/caf\u00e9_2.txt")

	// A folder moved keeps its children's names; their paths follow.
	ren := ecoleNFD
	f, err := e.svc.UpdateItem(ctx, a.ID, library.ItemUpdate{Name: &ren})
	wantItem(t, "folder renamed", f, err, ecoleNFD, ecoleNFC)
	got, err := e.svc.Item(ctx, inA.ID)
	wantItem(t, "child after the folder's rename", got, err, cafeNFD, ecoleNFC+"/"+cafeNFC)

	// Renaming an item to its own twin: the same path, the bytes sent.
	self := cafeNFC
	it, err = e.svc.UpdateItem(ctx, inA.ID, library.ItemUpdate{Name: &self})
	wantItem(t, "renamed to its own twin", it, err, cafeNFC, ecoleNFC+"/"+cafeNFC)
	if it.ID != inA.ID || !bytes.Equal(e.read(t, ctx, it.ID), []byte("in a")) {
		t.Fatalf("the twin rename changed the file: %+v", it)
	}
	self = cafeNFD
	if _, err := e.svc.UpdateItem(ctx, inA.ID, library.ItemUpdate{Name: &self}); err != nil {
		t.Fatal(err)
	}

	// By path: either spelling finds the file and the folder.
	for _, p := range []string{ecoleNFD + "/" + cafeNFD, ecoleNFC + "/" + cafeNFC, ecoleNFC + "/" + cafeNFD} {
		got, err := e.svc.ItemAt(ctx, "", p)
		if err != nil || got.ID != inA.ID {
			t.Fatalf("ItemAt(%+q) = %+v, %v", p, got, err)
		}
	}
	items, _, err := e.svc.ListTree(ctx, library.TreeList{Under: ecoleNFD, Limit: 10})
	if err != nil || len(items) != 3 {
		t.Fatalf("ListTree(NFD folder) = %d items, %v; want 3", len(items), err)
	}
	// MoveFile by path onto the twin of its own path renames its bytes.
	moved, err := e.svc.MoveFile(ctx, inA.ID, ecoleNFD+"/"+cafeNFC, library.ConflictDeny)
	wantItem(t, "MoveFile onto its own twin path", moved, err, cafeNFC, ecoleNFC+"/"+cafeNFC)
	// MoveFile onto another file's twin path: deny refuses.
	_, err = e.svc.MoveFile(ctx, other.ID, ecoleNFD+"/cafe\u0301_2.txt", library.ConflictDeny)
	wantCode(t, err, shelf.ECONFLICT)
	moved, err = e.svc.MoveFile(ctx, other.ID, "b/"+ecoleNFD+"/"+cafeNFD, library.ConflictDeny)
	wantItem(t, "MoveFile to a new path", moved, err, cafeNFD, "b/"+ecoleNFC+"/"+cafeNFC)
	made, err := e.svc.ItemAt(ctx, "", "b/"+ecoleNFC)
	wantItem(t, "folder MoveFile made", made, err, ecoleNFD, "b/"+ecoleNFC)
}

// TestNamesNFCByPath: writes by path name new folders and files as sent
// and find existing ones under either spelling.
func TestNamesNFCByPath(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := e.ctx
	write := func(path, data string) *library.Upserted {
		t.Helper()
		up, err := e.svc.WriteFile(ctx, library.FileWrite{Path: path, Body: strings.NewReader(data), Size: int64(len(data))})
		if err != nil {
			t.Fatalf("WriteFile(%+q): %v", path, err)
		}
		return up
	}
	first := write(ecoleNFD+"/"+cafeNFD, "one")
	wantItem(t, "first write", first.Item, nil, cafeNFD, ecoleNFC+"/"+cafeNFC)
	folder, err := e.svc.ItemAt(ctx, "", ecoleNFC)
	wantItem(t, "folder made by the write", folder, err, ecoleNFD, ecoleNFC)

	second := write(ecoleNFC+"/"+cafeNFC, "two")
	if second.Item.ID != first.Item.ID || second.Status != library.StatusIndexed || second.Item.Head != 2 {
		t.Fatalf("the NFC write = %s %+v; want a new version of the NFD file", second.Status, second.Item)
	}
	wantItem(t, "second write", second.Item, nil, cafeNFD, ecoleNFC+"/"+cafeNFC)

	// Ingest keyed by path: the twin is the same document.
	doc := func(path string) *library.Upserted {
		t.Helper()
		up, err := e.svc.Ingest(ctx, library.Doc{SourceName: "notes", Path: path, Content: strings.NewReader("same"), Size: 4})
		if err != nil {
			t.Fatalf("Ingest(%+q): %v", path, err)
		}
		return up
	}
	d1 := doc("notes/" + cafeNFD)
	d2 := doc("notes/" + cafeNFC)
	if d2.Item.ID != d1.Item.ID || d2.Status != library.StatusUnchanged || d1.Item.Name != cafeNFD {
		t.Fatalf("ingest of the twin = %s %+v; want the same item unchanged, named as first sent", d2.Status, d2.Item)
	}

	n, err := e.svc.Fsck(context.Background(), false)
	if err != nil || len(n) != 0 {
		t.Fatalf("fsck = %+v, %v; want nothing", n, err)
	}
}

// TestNamesNFCSnapshotAndFsck: a restore brings names back byte for byte;
// fsck finds an item whose path does not follow its name.
func TestNamesNFCSnapshotAndFsck(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := e.ctx
	root, _ := e.svc.Root(ctx)
	f, err := e.upload(t, ctx, root.ID, cafeNFD, "", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	sn, err := e.svc.CreateSnapshot(ctx, "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	name := cafeNFC
	if _, err := e.svc.UpdateItem(ctx, f.ID, library.ItemUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RestoreSnapshot(ctx, "", sn.ID); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.Item(ctx, f.ID)
	wantItem(t, "after restore", got, err, cafeNFD, cafeNFC)

	if problems, err := e.svc.Fsck(context.Background(), false); err != nil || len(problems) != 0 {
		t.Fatalf("fsck = %+v, %v; want nothing", problems, err)
	}
	// A row whose path is not built from its name's NFC form.
	err = e.store.Update(context.Background(), func(tx shelf.Tx) error {
		it, err := tx.Item(context.Background(), got.WorkspaceID, got.ID)
		if err != nil {
			return err
		}
		it.Path = cafeNFD
		return tx.UpdateItem(context.Background(), it)
	})
	if err != nil {
		t.Fatal(err)
	}
	problems, err := e.svc.Fsck(context.Background(), false)
	if err != nil || len(problems) != 1 || problems[0].Kind != "name_path_mismatch" {
		t.Fatalf("fsck = %+v, %v; want one name_path_mismatch", problems, err)
	}
}
