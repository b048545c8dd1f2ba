package storetest

import (
	"bytes"
	"context"
	"testing"

	"github.com/shelfmem/shelf"
)

// testInlineBlobs: small blobs kept in the store are put once, read back
// byte for byte (empty ones too), walked, and collected once no version
// names them.
func testInlineBlobs(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	a, b, empty := []byte("small bytes"), []byte("other bytes"), []byte{}
	ha, hb, he := hashOf(string(a)), hashOf(string(b)), hashOf("")
	f := child(w.rootA, "f.txt", shelf.TypeFile)
	f.Hash, f.Size = ha, int64(len(a))
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for h, d := range map[string][]byte{ha: a, hb: b, he: empty} {
			if err := tx.PutInlineBlob(ctx, h, d); err != nil {
				return err
			}
		}
		if err := tx.PutInlineBlob(ctx, ha, a); err != nil { // again: a no-op
			return err
		}
		if err := tx.CreateItem(ctx, f); err != nil {
			return err
		}
		return tx.CreateVersion(ctx, &shelf.Version{ID: newID(), ItemID: f.ID, WorkspaceID: w.a.ID, Number: 1,
			Hash: ha, Size: int64(len(a)), ContentType: "text/plain", CreatedAt: at(0)})
	})
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for h, want := range map[string][]byte{ha: a, hb: b, he: empty} {
			got, err := tx.InlineBlob(ctx, h)
			if err != nil || !bytes.Equal(got, want) || got == nil {
				t.Errorf("InlineBlob(%s) = %q, %v; want %q", h[:8], got, err, want)
			}
		}
		_, err := tx.InlineBlob(ctx, hashOf("absent"))
		wantCode(t, "InlineBlob(absent)", err, shelf.ENOTFOUND)
		seen := map[string]int{}
		if err := tx.WalkInlineBlobs(ctx, func(h string, d []byte) error { seen[h] = len(d); return nil }); err != nil {
			return err
		}
		if len(seen) != 3 || seen[ha] != len(a) || seen[he] != 0 {
			t.Errorf("WalkInlineBlobs saw %v", seen)
		}
		return nil
	})
	// Only the one a version names survives collection.
	var n int
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		var err error
		n, err = tx.DeleteUnreferencedInlineBlobs(ctx, 1)
		return err
	})
	if n != 1 {
		t.Fatalf("DeleteUnreferencedInlineBlobs(limit 1) = %d, want 1", n)
	}
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		var err error
		n, err = tx.DeleteUnreferencedInlineBlobs(ctx, 100)
		return err
	})
	if n != 1 {
		t.Fatalf("second DeleteUnreferencedInlineBlobs = %d, want 1", n)
	}
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if _, err := tx.InlineBlob(ctx, ha); err != nil {
			t.Errorf("the referenced inline blob was collected: %v", err)
		}
		for _, h := range []string{hb, he} {
			_, err := tx.InlineBlob(ctx, h)
			wantCode(t, "InlineBlob(collected)", err, shelf.ENOTFOUND)
		}
		return nil
	})
	// Once its version is gone, it goes too.
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if _, err := tx.DeleteTree(ctx, w.a.ID, f.ID); err != nil {
			return err
		}
		n, err := tx.DeleteUnreferencedInlineBlobs(ctx, 100)
		if n != 1 {
			t.Errorf("after the delete, DeleteUnreferencedInlineBlobs = %d, want 1", n)
		}
		return err
	})
}
