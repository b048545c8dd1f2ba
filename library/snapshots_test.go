package library_test

import (
	"context"
	"slices"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/library"
)

// tree lists a library's file paths and their contents.
func (e *env) tree(t *testing.T, libID string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lib, err := e.svc.DefaultLibrary(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if libID == "" {
		libID = lib.ID
	}
	var items []*shelf.Item
	err = e.store.View(context.Background(), func(tx shelf.Tx) (err error) {
		items, err = tx.Tree(context.Background(), e.ws(), shelf.TreeQuery{LibraryID: libID, Limit: 1000})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Type == shelf.TypeFolder {
			out[it.Path+"/"] = ""
			continue
		}
		out[it.Path] = string(e.read(t, e.ctx, it.ID))
	}
	return out
}

func TestSnapshotRestore(t *testing.T) {
	e := newEnv(t, library.Config{})
	keep := e.write(t, e.ctx, fileWrite("docs/keep.md", "unchanged words")).Item
	edit := e.write(t, e.ctx, fileWrite("docs/edit.md", "original walrus text")).Item
	gone := e.write(t, e.ctx, fileWrite("old/gone.txt", "deleted later, restored by the snapshot "+string(make([]byte, 20000)))).Item
	move := e.write(t, e.ctx, fileWrite("move.txt", "moved later")).Item
	e.drain(t)
	before := e.tree(t, "")
	sn, err := e.svc.CreateSnapshot(e.ctx, "", "", 0)
	if err != nil || sn.FileCount != 4 || sn.Trigger != library.TriggerManual {
		t.Fatalf("CreateSnapshot = %+v, %v", sn, err)
	}

	// Change everything a user can change.
	e.write(t, e.ctx, fileWrite("docs/edit.md", "rewritten text about badgers"))
	if _, err := e.svc.Delete(e.ctx, gone.ParentID); err != nil {
		t.Fatal(err)
	}
	added := e.write(t, e.ctx, fileWrite("docs/new.md", "made after the snapshot")).Item
	root, _ := e.svc.Root(e.ctx)
	name := "moved.txt"
	docs, _ := e.svc.ItemAt(e.ctx, "", "docs")
	if _, err := e.svc.UpdateItem(e.ctx, move.ID, library.ItemUpdate{Name: &name, ParentID: &docs.ID}); err != nil {
		t.Fatal(err)
	}
	// A file now where the snapshot has a folder's child: the paths
	// cross, which the restore must untangle.
	e.write(t, e.ctx, fileWrite("move.txt", "a different file at the old path"))
	e.drain(t)
	// The deleted file's blob is garbage for the versions, but the
	// snapshot keeps it.
	e.clock.Add(49 * time.Hour)
	if _, err := e.svc.GC(context.Background()); err != nil {
		t.Fatal(err)
	}
	_ = root

	got, err := e.svc.RestoreSnapshot(e.ctx, "", sn.ID)
	if err != nil || got.FileCount != 4 {
		t.Fatalf("RestoreSnapshot = %+v, %v", got, err)
	}
	after := e.tree(t, "")
	if len(after) != len(before) {
		t.Fatalf("after the restore: %v\nwant %v", keysOf(after), keysOf(before))
	}
	for p, want := range before {
		if after[p] != want {
			t.Fatalf("%s after the restore = %.40q, want %.40q", p, after[p], want)
		}
	}
	// Ids and history are kept; the deleted file is back with its id.
	for _, it := range []*shelf.Item{keep, edit, gone, move} {
		if _, err := e.svc.Item(e.ctx, it.ID); err != nil {
			t.Fatalf("%s lost its id: %v", it.Path, err)
		}
	}
	if _, err := e.svc.Item(e.ctx, added.ID); shelf.ErrorCode(err) != shelf.ENOTFOUND {
		t.Fatalf("a file made after the snapshot survives: %v", err)
	}
	nums, _ := e.versions(t, e.ctx, edit.ID)
	if len(nums) != 3 {
		t.Fatalf("edited file's versions after the restore: %v, want 3 (history kept)", nums)
	}
	// The restored head is indexed again: the old words are found, the
	// new ones are not.
	wantState(t, e.item(t, edit.ID), shelf.IndexQueued)
	e.drain(t)
	if got := e.search(t, e.ctx, library.SearchQuery{Query: "walrus"}); !slices.Equal(got, []string{"docs/edit.md"}) {
		t.Fatalf("search after the restore: %v", got)
	}
	if got := e.search(t, e.ctx, library.SearchQuery{Query: "badgers"}); len(got) != 0 {
		t.Fatalf("replaced text still found: %v", got)
	}
	if got := e.search(t, e.ctx, library.SearchQuery{Query: "restored snapshot"}); !slices.Equal(got, []string{"old/gone.txt"}) {
		t.Fatalf("restored file not indexed: %v", got)
	}
	e.fsckClean(t)

	// Pruning keeps the newest limit snapshots.
	for range 3 {
		if _, err := e.svc.CreateSnapshot(e.ctx, "", library.TriggerScheduled, 2); err != nil {
			t.Fatal(err)
		}
	}
	list, err := e.svc.Snapshots(e.ctx, "")
	if err != nil || len(list) != 2 || list[0].Trigger != library.TriggerScheduled {
		t.Fatalf("Snapshots after pruning = %+v, %v", list, err)
	}
	if err := e.svc.DeleteSnapshot(e.ctx, "", list[0].ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.svc.DeleteSnapshot(e.ctx, "", list[0].ID), shelf.ENOTFOUND)
	_, err = e.svc.RestoreSnapshot(e.ctx, "", sn.ID) // pruned
	wantCode(t, err, shelf.ENOTFOUND)
	for _, bad := range []struct {
		trigger string
		limit   int
	}{{"nightly", 0}, {"", -1}, {"", 101}} {
		_, err := e.svc.CreateSnapshot(e.ctx, "", bad.trigger, bad.limit)
		wantCode(t, err, shelf.EINVALID)
	}
	other := e.otherWorkspace(t)
	_, err = e.svc.RestoreSnapshot(other, list[1].LibraryID, list[1].ID)
	wantCode(t, err, shelf.ENOTFOUND)
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
