package library

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	shelf "github.com/shelfmem/shelf"
)

// DoneRetention is how long a finalized upload session is kept, so that a
// retried finalize still answers the same item.
const DoneRetention = 24 * time.Hour

// Sweep removes upload sessions past their expiry with their staged bytes,
// and staging areas that no session owns once they are older than
// UploadTTL. It returns how many sessions and orphan areas it removed. It is
// server housekeeping and needs no principal.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	removed := 0
	now := s.now()
	for {
		var expired []*shelf.Upload
		err := s.store.View(ctx, func(tx shelf.Tx) error {
			var err error
			expired, err = tx.ExpiredUploads(ctx, now, 200)
			return err
		})
		if err != nil {
			return removed, err
		}
		for _, u := range expired {
			if err := s.sweepUpload(ctx, u, now); err != nil {
				return removed, err
			}
			removed++
		}
		if len(expired) < 200 {
			break
		}
	}
	if s.staging == nil {
		return removed, nil
	}
	cutoff := now.Add(-s.cfg.UploadTTL)
	var orphans []string
	err := s.staging.WalkStaging(ctx, func(b shelf.BlobInfo) error {
		if b.ModTime.Before(cutoff) {
			orphans = append(orphans, b.Hash)
		}
		return nil
	})
	if err != nil {
		return removed, err
	}
	for _, id := range orphans {
		unlock, err := s.lock(ctx, uploadLockName(id), false)
		if err != nil {
			return removed, err
		}
		var exists bool
		err = s.store.View(ctx, func(tx shelf.Tx) error {
			var err error
			exists, err = tx.UploadExists(ctx, id)
			return err
		})
		if err == nil && !exists {
			err = s.staging.DeleteStaging(ctx, id)
			removed++
		}
		unlock()
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}

func (s *Service) sweepUpload(ctx context.Context, u *shelf.Upload, now time.Time) error {
	unlock, err := s.lock(ctx, uploadLockName(u.ID), false)
	if err != nil {
		return err
	}
	defer unlock()
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		cur, err := tx.Upload(ctx, u.WorkspaceID, u.ID)
		if err != nil || cur.ExpiresAt.After(now) {
			return err // gone already, or revived by a part since
		}
		return tx.DeleteUpload(ctx, u.ID)
	})
	if err != nil && shelf.ErrorCode(err) != shelf.ENOTFOUND {
		return err
	}
	if s.staging == nil {
		return nil
	}
	return s.staging.DeleteStaging(ctx, u.ID)
}

// GC deletes blobs that no version or upload references and that are
// older than BlobGrace. A blob written or re-put within the grace period is
// kept even when unreferenced, since its version may be about to commit.
// Inline blobs are written in their version's transaction, so those no
// version names are deleted at once. (While the disk is short, CheckSpace
// collects with a nearer cutoff: see promptGC.)
func (s *Service) GC(ctx context.Context) (int, error) {
	return s.collect(ctx, s.now().Add(-s.cfg.BlobGrace))
}

// collect deletes the unreferenced inline blobs, and the unreferenced
// blobs last written or touched before cutoff. Deleting inline blobs is a
// store write, which a full disk may refuse; the blob files are deleted
// all the same (that needs no room), and the error is returned after.
func (s *Service) collect(ctx context.Context, cutoff time.Time) (int, error) {
	deleted := 0
	var inlineErr error
	for {
		var n int
		inlineErr = s.store.Update(ctx, func(tx shelf.Tx) error {
			var err error
			n, err = tx.DeleteUnreferencedInlineBlobs(ctx, 1000)
			return err
		})
		if inlineErr != nil && shelf.ErrorCode(inlineErr) != shelf.EINSUFFICIENT {
			return deleted, inlineErr
		}
		deleted += n
		if inlineErr != nil || n < 1000 {
			break
		}
	}
	var old []string
	err := s.blobs.Walk(ctx, func(b shelf.BlobInfo) error {
		if b.ModTime.Before(cutoff) {
			old = append(old, b.Hash)
		}
		return nil
	})
	if err != nil {
		return deleted, err
	}
	for _, h := range old {
		var used bool
		err := s.store.View(ctx, func(tx shelf.Tx) error {
			var err error
			used, err = tx.BlobReferenced(ctx, h)
			return err
		})
		if err != nil {
			return deleted, err
		}
		if used {
			continue
		}
		if err := s.blobs.Delete(ctx, h, cutoff); err != nil {
			return deleted, err
		}
		deleted++
	}
	return deleted, inlineErr
}

// Problem is one broken invariant fsck found.
type Problem struct {
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// Fsck checks the invariants of DESIGN §4: every referenced blob exists
// with the bytes its name promises, no upload session or staging area is
// past its expiry, the index holds no chunk or embedding of a deleted
// file or an old version, and every item's path is built from the NFC
// form of its name. With deep set it re-hashes every stored blob.
func (s *Service) Fsck(ctx context.Context, deep bool) ([]Problem, error) {
	var problems []Problem
	add := func(kind, format string, args ...any) {
		problems = append(problems, Problem{Kind: kind, Detail: fmt.Sprintf(format, args...)})
	}
	var refs []string
	err := s.store.View(ctx, func(tx shelf.Tx) error {
		return tx.WalkBlobRefs(ctx, func(h string) error { refs = append(refs, h); return nil })
	})
	if err != nil {
		return nil, err
	}
	inline := map[string]bool{}
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		return tx.WalkInlineBlobs(ctx, func(h string, data []byte) error {
			inline[h] = true
			if deep {
				if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != h {
					add("corrupt_blob", "inline blob %s holds bytes whose SHA-256 is %x", h, sum)
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	for _, h := range refs {
		if inline[h] {
			continue
		}
		if _, err := s.blobs.Stat(ctx, h); shelf.ErrorCode(err) == shelf.ENOTFOUND {
			add("missing_blob", "blob %s is referenced but missing", h)
		} else if err != nil {
			return nil, err
		}
	}
	if deep {
		err := s.blobs.Walk(ctx, func(b shelf.BlobInfo) error {
			got, err := s.hashBlob(ctx, b.Hash)
			if err != nil {
				return err
			}
			if got != b.Hash {
				add("corrupt_blob", "blob %s holds bytes whose SHA-256 is %s", b.Hash, got)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	now := s.now()
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		expired, err := tx.ExpiredUploads(ctx, now, 100)
		for _, u := range expired {
			add("expired_upload", "upload %s expired at %s and was not swept", u.ID, u.ExpiresAt.Format(time.RFC3339))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	// The index: no chunk or embedding outlives its file, and every chunk
	// is of its file's head. The check runs in a write transaction, as
	// FTS5's integrity check is spelt as an insert.
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		found, err := tx.CheckIndex(ctx, 100)
		for _, p := range found {
			add(p.Kind, "%s", p.Detail)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := s.fsckNames(ctx, add); err != nil {
		return nil, err
	}
	if s.staging == nil {
		return problems, nil
	}
	cutoff := now.Add(-s.cfg.UploadTTL)
	err = s.staging.WalkStaging(ctx, func(b shelf.BlobInfo) error {
		var exists bool
		err := s.store.View(ctx, func(tx shelf.Tx) error {
			var err error
			exists, err = tx.UploadExists(ctx, b.Hash)
			return err
		})
		if err == nil && !exists && b.ModTime.Before(cutoff) {
			add("orphan_staging", "staging area %s belongs to no upload", b.Hash)
		}
		return err
	})
	return problems, err
}

// fsckNames checks that every item's path ends in its name's key (NFC
// form), which is what makes two names equal under NFC collide on the
// path's uniqueness, and that its parent is the folder at the rest of its
// path ("orphan_item"), which a recursive delete or move in batches must
// keep; items below a bulk change still under way are passed over. It
// reports at most 100 items.
func (s *Service) fsckNames(ctx context.Context, add func(kind, format string, args ...any)) error {
	const most, page = 100, 1000
	found := 0
	return s.store.View(ctx, func(tx shelf.Tx) error {
		wss, err := tx.Workspaces(ctx)
		if err != nil {
			return err
		}
		for _, ws := range wss {
			libs, err := tx.Libraries(ctx, ws.ID, "")
			if err != nil {
				return err
			}
			for _, lib := range libs {
				ops, err := tx.TreeOps(ctx, ws.ID, lib.ID)
				if err != nil {
					return err
				}
				busy := func(path string) bool {
					for _, op := range ops {
						for _, r := range op.Ranges() {
							if path == r || below(path, r) {
								return true
							}
						}
					}
					return false
				}
				folders := map[string]string{"": lib.RootID} // path → id, of the last folders looked up
				for after := ""; ; {
					items, err := tx.Tree(ctx, ws.ID, shelf.TreeQuery{LibraryID: lib.ID, After: after, Limit: page,
						Filter: shelf.ItemFilter{WithHidden: true, AllScopes: true}})
					if err != nil {
						return err
					}
					for _, it := range items {
						dir, leaf := splitPath(it.Path)
						if leaf != NameKey(it.Name) {
							add("name_path_mismatch", "item %s is named %q but its path %q does not end in the name's NFC form", it.ID, it.Name, it.Path)
							found++
						}
						parent, ok := folders[dir]
						if !ok {
							if len(folders) > page {
								clear(folders)
								folders[""] = lib.RootID
							}
							f, err := tx.ItemByPath(ctx, ws.ID, lib.ID, dir)
							if err != nil && shelf.ErrorCode(err) != shelf.ENOTFOUND {
								return err
							}
							if err == nil && f.Type == shelf.TypeFolder {
								parent = f.ID
							}
							folders[dir] = parent
						}
						if parent != it.ParentID && !busy(it.Path) {
							add("orphan_item", "item %s at %q is not in the folder at %q", it.ID, it.Path, dir)
							found++
						}
						if found >= most {
							return nil
						}
					}
					if len(items) < page {
						break
					}
					after = items[len(items)-1].Path
				}
			}
		}
		return nil
	})
}

func (s *Service) hashBlob(ctx context.Context, hash string) (string, error) {
	r, err := s.blobs.Open(ctx, hash, 0, -1)
	if err != nil {
		return "", err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", shelf.Wrap(err, "read blob")
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
