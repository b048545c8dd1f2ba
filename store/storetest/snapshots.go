package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/shelfmem/shelf"
)

// testSnapshots checks that a snapshot copies a library's rows as they
// were, lists newest first, pages its items by path, keeps the blobs it
// names referenced after their files are gone, and stays in its workspace.
func testSnapshots(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	docs := child(w.rootA, "docs", shelf.TypeFolder)
	a := child(docs, "a.md", shelf.TypeFile)
	a.XAttrs, a.Metadata, a.ExternalID = map[string]string{"k": "v"}, json.RawMessage(`{"n":1}`), "ext-a"
	b := child(w.rootA, "b.txt", shelf.TypeFile)
	createItems(t, s, docs, a, b, child(w.rootB, "other.txt", shelf.TypeFile))
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, it := range []*shelf.Item{a, b} {
			if err := tx.CreateVersion(ctx, &shelf.Version{ID: newID(), ItemID: it.ID, WorkspaceID: it.WorkspaceID,
				Number: 1, Hash: it.Hash, Size: it.Size, ContentType: it.ContentType, CreatedAt: at(time.Minute)}); err != nil {
				return err
			}
		}
		return nil
	})
	s1 := &shelf.Snapshot{ID: newID(), WorkspaceID: w.a.ID, LibraryID: w.libA.ID, Trigger: "manual", CreatedAt: at(time.Hour)}
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateSnapshot(ctx, s1) })
	if s1.FileCount != 2 {
		t.Fatalf("FileCount = %d, want 2", s1.FileCount)
	}
	err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		return tx.CreateSnapshot(ctx, &shelf.Snapshot{ID: newID(), WorkspaceID: w.b.ID, LibraryID: w.libA.ID, Trigger: "manual", CreatedAt: at(0)})
	})
	wantCode(t, "CreateSnapshot(another workspace's library)", err, shelf.ENOTFOUND)

	// The library changes; the snapshot does not.
	a.Name, a.Path, a.Hash = "renamed.md", "docs/renamed.md", hashOf("new bytes")
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if err := tx.UpdateItem(ctx, a); err != nil {
			return err
		}
		_, err := tx.DeleteTree(ctx, w.a.ID, b.ID)
		return err
	})
	s2 := &shelf.Snapshot{ID: newID(), WorkspaceID: w.a.ID, LibraryID: w.libA.ID, Trigger: "scheduled", CreatedAt: at(2 * time.Hour)}
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateSnapshot(ctx, s2) })
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		list, err := tx.Snapshots(ctx, w.a.ID, w.libA.ID)
		if err != nil || len(list) != 2 || list[0].ID != s2.ID || list[1].ID != s1.ID || list[0].FileCount != 1 || list[1].Trigger != "manual" {
			t.Fatalf("Snapshots = %+v, %v", list, err)
		}
		got, err := tx.Snapshot(ctx, w.a.ID, w.libA.ID, s1.ID)
		if err != nil || !got.CreatedAt.Equal(at(time.Hour)) {
			t.Fatalf("Snapshot = %+v, %v", got, err)
		}
		_, err = tx.Snapshot(ctx, w.b.ID, w.libA.ID, s1.ID)
		wantCode(t, "Snapshot(another workspace)", err, shelf.ENOTFOUND)
		items, err := tx.SnapshotItems(ctx, w.a.ID, s1.ID, "", 10)
		if err != nil || len(items) != 3 {
			t.Fatalf("SnapshotItems = %v, %v", items, err)
		}
		if items[0].Path != "b.txt" || items[1].Path != "docs" || items[2].Path != "docs/a.md" {
			t.Fatalf("SnapshotItems order: %s, %s, %s", items[0].Path, items[1].Path, items[2].Path)
		}
		old := items[2]
		if old.ID != a.ID || old.Hash != hashOf("docs/a.md") || old.XAttrs["k"] != "v" || string(old.Metadata) != `{"n":1}` ||
			old.ExternalID != "ext-a" || old.LibraryID != w.libA.ID || old.ParentID != docs.ID || old.Head != 1 {
			t.Fatalf("snapshot item %+v", old)
		}
		page, err := tx.SnapshotItems(ctx, w.a.ID, s1.ID, "docs", 10)
		if err != nil || len(page) != 1 || page[0].Path != "docs/a.md" {
			t.Fatalf("SnapshotItems after docs = %v, %v", page, err)
		}
		if none, err := tx.SnapshotItems(ctx, w.b.ID, s1.ID, "", 10); err != nil || len(none) != 0 {
			t.Fatalf("SnapshotItems from another workspace = %v, %v", none, err)
		}
		// b's bytes are named only by the snapshot now.
		if ok, err := tx.BlobReferenced(ctx, b.Hash); err != nil || !ok {
			t.Fatalf("BlobReferenced(a hash only a snapshot names) = %v, %v", ok, err)
		}
		found := false
		if err := tx.WalkBlobRefs(ctx, func(h string) error { found = found || h == b.Hash; return nil }); err != nil || !found {
			t.Fatalf("WalkBlobRefs misses the snapshot's hash: %v", err)
		}
		return nil
	})
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteSnapshot(ctx, w.b.ID, w.libA.ID, s1.ID) })
	wantCode(t, "DeleteSnapshot(another workspace)", err, shelf.ENOTFOUND)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteSnapshot(ctx, w.a.ID, w.libA.ID, s1.ID) })
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if ok, err := tx.BlobReferenced(ctx, b.Hash); err != nil || ok {
			t.Fatalf("BlobReferenced after the snapshot's delete = %v, %v", ok, err)
		}
		list, err := tx.Snapshots(ctx, w.a.ID, w.libA.ID)
		if err != nil || len(list) != 1 {
			t.Fatalf("Snapshots after a delete = %v, %v", list, err)
		}
		return nil
	})
	// Deleting the library takes its snapshots.
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteLibrary(ctx, w.a.ID, w.libA.ID) })
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if items, err := tx.SnapshotItems(ctx, w.a.ID, s2.ID, "", 10); err != nil || len(items) != 0 {
			t.Fatalf("snapshot items outlive their library: %v, %v", items, err)
		}
		return nil
	})
}
