package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/shelfmem/shelf"
)

func newUpload(ws *shelf.Workspace, expires time.Time) *shelf.Upload {
	return &shelf.Upload{
		ID: newID(), WorkspaceID: ws.ID, Size: 20 << 20, PartSize: 8 << 20, State: shelf.UploadOpen,
		ExpiresAt: expires, CreatedAt: at(0),
	}
}

func getUpload(t *testing.T, s shelf.Store, ws, id string) *shelf.Upload {
	t.Helper()
	var u *shelf.Upload
	view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		u, err = tx.Upload(ctx, ws, id)
		return err
	})
	return u
}

func testUploads(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	u := newUpload(w.a, at(time.Hour))
	ub := newUpload(w.b, at(time.Hour))
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if err := tx.CreateUpload(ctx, u); err != nil {
			return err
		}
		return tx.CreateUpload(ctx, ub)
	})
	same(t, "Upload", getUpload(t, s, w.a.ID, u.ID), u)

	err := viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.Upload(ctx, w.b.ID, u.ID)
		return err
	})
	wantCode(t, "Upload(other workspace)", err, shelf.ENOTFOUND)
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateUpload(ctx, u) })
	wantCode(t, "CreateUpload(id taken)", err, shelf.ECONFLICT)

	// UpdateUpload writes State, Hash, ItemID, Version and ExpiresAt, and
	// nothing else.
	changed := *u
	changed.State, changed.Hash, changed.ItemID, changed.Version = shelf.UploadDone, hashOf("bytes"), newID(), 3
	changed.ExpiresAt = at(2 * time.Hour)
	sent := changed
	sent.Size, sent.PartSize, sent.CreatedAt = 1, 1, at(time.Hour)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateUpload(ctx, &sent) })
	same(t, "Upload after update", getUpload(t, s, w.a.ID, u.ID), &changed)

	foreign := changed
	foreign.WorkspaceID, foreign.State = w.b.ID, shelf.UploadCommitting
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateUpload(ctx, &foreign) })
	wantCode(t, "UpdateUpload(other workspace)", err, shelf.ENOTFOUND)
	same(t, "Upload after foreign update", getUpload(t, s, w.a.ID, u.ID), &changed)

	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, c := range []struct {
			id   string
			want bool
		}{{u.ID, true}, {ub.ID, true}, {newID(), false}} {
			got, err := tx.UploadExists(ctx, c.id)
			if err != nil || got != c.want {
				t.Errorf("UploadExists(%s) = %v, %v; want %v", c.id, got, err, c.want)
			}
		}
		return nil
	})

	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteUpload(ctx, u.ID) })
	err = viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.Upload(ctx, w.a.ID, u.ID)
		return err
	})
	wantCode(t, "Upload(deleted)", err, shelf.ENOTFOUND)
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteUpload(ctx, u.ID) })
	wantCode(t, "DeleteUpload(deleted)", err, shelf.ENOTFOUND)
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if got, err := tx.UploadExists(ctx, u.ID); err != nil || got {
			t.Errorf("UploadExists(deleted) = %v, %v; want false", got, err)
		}
		return nil
	})
	same(t, "other upload after delete", getUpload(t, s, w.b.ID, ub.ID), ub)
}

func parts(t *testing.T, s shelf.Store, uploadID string) []*shelf.Part {
	t.Helper()
	var ps []*shelf.Part
	view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		ps, err = tx.Parts(ctx, uploadID)
		return err
	})
	return ps
}

func testParts(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	u, other := newUpload(w.a, at(time.Hour)), newUpload(w.a, at(time.Hour))
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if err := tx.CreateUpload(ctx, u); err != nil {
			return err
		}
		return tx.CreateUpload(ctx, other)
	})
	mk := func(id string, n int, etag string) *shelf.Part {
		return &shelf.Part{UploadID: id, Number: n, Size: int64(n) << 20, ETag: etag, ReceivedAt: at(time.Duration(n) * time.Second)}
	}
	p1, p2, p3, p10 := mk(u.ID, 1, "e1"), mk(u.ID, 2, "e2"), mk(u.ID, 3, "e3"), mk(u.ID, 10, "e10")
	po := mk(other.ID, 1, "other")
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, p := range []*shelf.Part{p10, p3, po, p1, p2} { // out of order
			if err := tx.PutPart(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
	sameList(t, "Parts, by number", parts(t, s, u.ID), []*shelf.Part{p1, p2, p3, p10})

	// Putting a part again replaces it.
	p2b := mk(u.ID, 2, "e2-again")
	p2b.Size, p2b.ReceivedAt = 77, at(time.Hour)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.PutPart(ctx, p2b) })
	sameList(t, "Parts after replace", parts(t, s, u.ID), []*shelf.Part{p1, p2b, p3, p10})

	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeletePart(ctx, u.ID, 2) })
	sameList(t, "Parts after DeletePart(2)", parts(t, s, u.ID), []*shelf.Part{p1, p3, p10})
	err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeletePart(ctx, u.ID, 2) })
	wantCode(t, "DeletePart(deleted)", err, shelf.ENOTFOUND)
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.PutPart(ctx, mk(newID(), 1, "x")) })
	wantCode(t, "PutPart(missing upload)", err, shelf.ENOTFOUND)

	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteUpload(ctx, u.ID) })
	if got := parts(t, s, u.ID); len(got) != 0 {
		t.Errorf("Parts after DeleteUpload = %d parts, want none", len(got))
	}
	sameList(t, "Parts of the other upload", parts(t, s, other.ID), []*shelf.Part{po})
}

func testExpiredUploads(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	now := at(24 * time.Hour)
	old3 := newUpload(w.b, now.Add(-3*time.Hour))
	old2 := newUpload(w.a, now.Add(-2*time.Hour))
	old1 := newUpload(w.b, now.Add(-time.Microsecond))
	atNow := newUpload(w.a, now)
	later := newUpload(w.a, now.Add(time.Hour))
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, u := range []*shelf.Upload{later, old1, atNow, old3, old2} {
			if err := tx.CreateUpload(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.ExpiredUploads(ctx, now, 10)
		if err != nil {
			t.Fatalf("ExpiredUploads: %v", err)
		}
		sameList(t, "ExpiredUploads, oldest first", got, []*shelf.Upload{old3, old2, old1})
		got, err = tx.ExpiredUploads(ctx, now, 2)
		if err != nil {
			t.Fatalf("ExpiredUploads: %v", err)
		}
		sameList(t, "ExpiredUploads(limit 2)", got, []*shelf.Upload{old3, old2})
		got, err = tx.ExpiredUploads(ctx, at(0), 10)
		if err != nil || len(got) != 0 {
			t.Fatalf("ExpiredUploads(long ago) = %d, %v; want none", len(got), err)
		}
		return nil
	})
}

// refs is a set of blob references: file has versions naming hv1, hv2 and
// hf; a file in workspace B names hv1 too; uploads name hv2 and hu; and an
// open upload names nothing.
type refs struct {
	file             *shelf.Item
	up               *shelf.Upload // the upload naming hu
	hv1, hv2, hf, hu string
}

func refFixture(t *testing.T, s shelf.Store) *refs {
	t.Helper()
	w := newWorld(t, s)
	r := &refs{
		file: child(w.rootA, "f", shelf.TypeFile),
		up:   newUpload(w.a, at(time.Hour)),
		hv1:  hashOf("v1"), hv2: hashOf("v2"), hf: hashOf("only f"), hu: hashOf("upload"),
	}
	twin := child(w.rootB, "twin", shelf.TypeFile)
	createItems(t, s, r.file, twin)
	r.up.State, r.up.Hash = shelf.UploadCommitting, r.hu
	done := newUpload(w.b, at(time.Hour))
	done.State, done.Hash = shelf.UploadDone, r.hv2
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, v := range []*shelf.Version{
			{ID: newID(), ItemID: r.file.ID, WorkspaceID: w.a.ID, Number: 1, Hash: r.hv1, Size: 2, CreatedAt: at(0)},
			{ID: newID(), ItemID: r.file.ID, WorkspaceID: w.a.ID, Number: 2, Hash: r.hv2, Size: 2, CreatedAt: at(0)},
			{ID: newID(), ItemID: r.file.ID, WorkspaceID: w.a.ID, Number: 3, Hash: r.hf, Size: 2, CreatedAt: at(0)},
			{ID: newID(), ItemID: twin.ID, WorkspaceID: w.b.ID, Number: 1, Hash: r.hv1, Size: 2, CreatedAt: at(0)},
		} {
			if err := tx.CreateVersion(ctx, v); err != nil {
				return err
			}
		}
		for _, u := range []*shelf.Upload{r.up, done, newUpload(w.a, at(time.Hour))} {
			if err := tx.CreateUpload(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
	return r
}

func testBlobReferenced(t *testing.T, s shelf.Store) {
	r := refFixture(t, s)
	check := func(when string, want map[string]bool) {
		t.Helper()
		view(t, s, func(ctx context.Context, tx shelf.Tx) error {
			for h, w := range want {
				got, err := tx.BlobReferenced(ctx, h)
				if err != nil || got != w {
					t.Errorf("%s: BlobReferenced(%.8s) = %v, %v; want %v", when, h, got, err, w)
				}
			}
			return nil
		})
	}
	check("at first", map[string]bool{r.hv1: true, r.hv2: true, r.hf: true, r.hu: true, hashOf("nothing"): false})

	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteUpload(ctx, r.up.ID) })
	check("after DeleteUpload", map[string]bool{r.hv1: true, r.hv2: true, r.hf: true, r.hu: false})

	// hv1 is still named by the twin in workspace B, and hv2 by an upload.
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.DeleteTree(ctx, r.file.WorkspaceID, r.file.ID)
		return err
	})
	check("after DeleteTree", map[string]bool{r.hv1: true, r.hv2: true, r.hf: false, r.hu: false})
}

func testWalkBlobRefs(t *testing.T, s shelf.Store) {
	r := refFixture(t, s)
	var got []string
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		return tx.WalkBlobRefs(ctx, func(h string) error {
			got = append(got, h)
			return nil
		})
	})
	slices.Sort(got)
	want := []string{r.hv1, r.hv2, r.hf, r.hu}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("WalkBlobRefs = %q, want each of %q once", got, want)
	}

	calls := 0
	err := viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		return tx.WalkBlobRefs(ctx, func(string) error {
			calls++
			return errSentinel
		})
	})
	if !errors.Is(err, errSentinel) || calls != 1 {
		t.Fatalf("WalkBlobRefs with a failing fn: %d calls, err %v; want 1 call and fn's error", calls, err)
	}
}
