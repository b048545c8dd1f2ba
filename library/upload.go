package library

import (
	"context"
	"encoding/hex"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	shelf "github.com/shelfmem/shelf"
)

// A chunked upload: CreateUpload picks the part layout and reserves a
// staging area in the blob store (its shelf.StagingStore capability, found
// once by Open; without it chunked uploads are refused); each part's bytes
// land at their final offset in it (WritePart), so Finalize checks and
// hashes the staged file (a store may have hashed most of it while the
// parts arrived) and renames it into the blob store, never copying it.
//
// An upload's life is open → committing (hashed; the hash is kept so a
// crash during the rename can be finished) → done (ItemID and Version set;
// finalizing again answers the same item). Each part received, and each
// GetUpload, keeps the session alive for another UploadTTL; the sweep
// removes sessions idle for longer, with their staged bytes.

// PartSizeFor returns the part size the server picks for a file of size
// bytes: MinPartSize, or larger (whole MiB) when that would take more than
// MaxParts parts.
func (s *Service) PartSizeFor(size int64) int64 {
	ps := s.cfg.MinPartSize
	if need := (size + MaxParts - 1) / MaxParts; need > ps {
		ps = (need + (1<<20 - 1)) &^ (1<<20 - 1)
	}
	return ps
}

// CreateUpload starts a chunked upload of size bytes.
func (s *Service) CreateUpload(ctx context.Context, size int64) (*shelf.Upload, error) {
	return s.createUpload(ctx, size, false)
}

// CreateWholeUpload starts an upload of one part, the whole file, for a
// client that sends the bytes in one PUT (PutWhole).
func (s *Service) CreateWholeUpload(ctx context.Context, size int64) (*shelf.Upload, error) {
	return s.createUpload(ctx, size, true)
}

func (s *Service) createUpload(ctx context.Context, size int64, whole bool) (*shelf.Upload, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	if s.staging == nil {
		return nil, errNoChunked
	}
	if size < 1 {
		return nil, shelf.Errorf(shelf.EINVALID, "file size must be at least 1 byte")
	}
	if size > s.cfg.MaxFileSize {
		return nil, shelf.Errorf(shelf.ETOOLARGE, "file size %d exceeds the maximum of %d bytes", size, s.cfg.MaxFileSize)
	}
	if err := s.refuseContent(); err != nil {
		return nil, err
	}
	now := s.now()
	u := &shelf.Upload{ID: newID(), WorkspaceID: p.WorkspaceID, Size: size, PartSize: s.PartSizeFor(size),
		State: shelf.UploadOpen, ExpiresAt: now.Add(s.cfg.UploadTTL), CreatedAt: now}
	if whole {
		u.PartSize = size
	}
	// Staging first: a crash before the row leaves an orphan the sweep
	// removes; never a row without its staging area.
	if err := s.staging.CreateStaging(ctx, u.ID, size); err != nil {
		return nil, err
	}
	if err := s.store.Update(ctx, func(tx shelf.Tx) error { return tx.CreateUpload(ctx, u) }); err != nil {
		_ = s.staging.DeleteStaging(ctx, u.ID)
		return nil, err
	}
	return u, nil
}

// errNoChunked is the answer to a chunked upload when the blob store has
// no capability to take one (Service.staging is nil).
var errNoChunked = shelf.Errorf(shelf.ENOTIMPL, "this server's blob store cannot take chunked uploads; write the file in one request")

// errNoUpload is the answer for an unknown, foreign, expired or aborted upload.
func errNoUpload(id string) error {
	return shelf.Errorf(shelf.ENOTFOUND, "upload %q not found or expired", id)
}

// loadUpload reads an upload of the workspace, refusing an open one past
// its expiry.
func (s *Service) loadUpload(ctx context.Context, tx shelf.Tx, ws, id string) (*shelf.Upload, error) {
	u, err := tx.Upload(ctx, ws, id)
	if shelf.ErrorCode(err) == shelf.ENOTFOUND {
		return nil, errNoUpload(id)
	} else if err != nil {
		return nil, err
	}
	if u.State != shelf.UploadDone && !u.ExpiresAt.After(s.now()) {
		return nil, errNoUpload(id)
	}
	return u, nil
}

// GetUpload returns an upload and the parts received so far. An open
// session is kept alive for another UploadTTL, so a client can resume.
func (s *Service) GetUpload(ctx context.Context, id string) (*shelf.Upload, []*shelf.Part, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, nil, err
	}
	var u *shelf.Upload
	var parts []*shelf.Part
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		if u, err = s.loadUpload(ctx, tx, p.WorkspaceID, id); err != nil {
			return err
		}
		if parts, err = tx.Parts(ctx, id); err != nil {
			return err
		}
		if u.State == shelf.UploadOpen {
			u.ExpiresAt = s.now().Add(s.cfg.UploadTTL)
			return tx.UpdateUpload(ctx, u)
		}
		return nil
	})
	return u, parts, err
}

// SignPart returns the signing input of part n's PUT URL at path, or
// EINVALID when n is outside the layout.
func (s *Service) SignPart(u *shelf.Upload, n int, path string) (Signed, time.Time, error) {
	_, length, ok := u.PartRange(n)
	if !ok {
		return Signed{}, time.Time{}, shelf.Errorf(shelf.EINVALID, "part %d is outside the upload's %d parts", n, u.PartCount())
	}
	sd := Signed{Method: "PUT", Path: path, Workspace: u.WorkspaceID, Upload: u.ID, Part: n, Length: length}
	return sd, s.now().Add(s.cfg.UploadTTL), nil
}

// WritePart stores part n of an upload from r, which must hold exactly
// the part's length, and returns its ETag (the hex CRC-32C of the part's
// bytes, unquoted). Writing a part again replaces it.
func (s *Service) WritePart(ctx context.Context, id string, n int, r io.Reader, length int64) (string, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return "", err
	}
	if s.staging == nil {
		return "", errNoChunked
	}
	unlock, err := s.lock(ctx, uploadLockName(id), true)
	if err != nil {
		return "", err
	}
	defer unlock()
	unlockPart, err := s.lock(ctx, partLockName(id, n), false)
	if err != nil {
		return "", err
	}
	defer unlockPart()

	var u *shelf.Upload
	var had bool
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		if u, err = s.loadUpload(ctx, tx, p.WorkspaceID, id); err != nil {
			return err
		}
		parts, err := tx.Parts(ctx, id)
		for _, pt := range parts {
			had = had || pt.Number == n
		}
		return err
	})
	if err != nil {
		return "", err
	}
	switch u.State {
	case shelf.UploadDone:
		return "", shelf.Errorf(shelf.ECONFLICT, "upload %q is already finalized; its bytes were taken", id)
	case shelf.UploadCommitting:
		return "", shelf.Errorf(shelf.ECONFLICT, "upload %q is already being finalized", id)
	}
	off, want, ok := u.PartRange(n)
	if !ok {
		return "", shelf.Errorf(shelf.EINVALID, "part %d is outside the upload's %d parts", n, u.PartCount())
	}
	if length != want {
		return "", shelf.Errorf(shelf.EINVALID, "part %d must be exactly %d bytes, not %d", n, want, length)
	}
	if err := s.refuseContent(); err != nil {
		return "", err
	}
	// A part written again is forgotten first, so a crash or a cut
	// connection mid-write leaves it missing, never listed with stale bytes.
	if had {
		if err := s.store.Update(ctx, func(tx shelf.Tx) error { return tx.DeletePart(ctx, id, n) }); err != nil {
			return "", err
		}
	}
	sum, err := s.staging.WritePart(ctx, id, off, r, want)
	if err != nil {
		return "", err
	}
	s.hook("part-written")
	etag := hex.EncodeToString(sum)
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		u, err := s.loadUpload(ctx, tx, p.WorkspaceID, id)
		if err != nil {
			return err
		}
		u.ExpiresAt = s.now().Add(s.cfg.UploadTTL)
		if err := tx.UpdateUpload(ctx, u); err != nil {
			return err
		}
		return tx.PutPart(ctx, &shelf.Part{UploadID: id, Number: n, Size: want, ETag: etag, ReceivedAt: s.now()})
	})
	if err != nil {
		return "", err
	}
	return etag, nil
}

// PutWhole writes the one part of an upload made by CreateWholeUpload
// and finalizes it at t: the bytes are taken once, and a second PUT after
// the first succeeded is ECONFLICT.
func (s *Service) PutWhole(ctx context.Context, id string, r io.Reader, length int64, t FileTarget) (*shelf.Item, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	etag, err := s.WritePart(ctx, id, 1, r, length)
	if err != nil {
		return nil, err
	}
	return s.Finalize(ctx, id, []PartETag{{Number: 1, ETag: etag}}, t)
}

// PartETag is one entry of a finalize request: a part number and the ETag
// its PUT answered (quoted or not).
type PartETag struct {
	Number int
	ETag   string
}

// Finalize turns a complete upload into a file at t. The ETags must name
// every part, in order, as their PUTs answered; a missing part, a wrong ETag
// or a wrong order is EINVALID naming the part, and nothing is created.
// Finalizing a done upload again answers the same item.
func (s *Service) Finalize(ctx context.Context, id string, etags []PartETag, t FileTarget) (*shelf.Item, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	unlock, err := s.lock(ctx, uploadLockName(id), false)
	if err != nil {
		return nil, err
	}
	defer unlock()

	var u *shelf.Upload
	var parts []*shelf.Part
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		if u, err = s.loadUpload(ctx, tx, p.WorkspaceID, id); err != nil {
			return err
		}
		if u.State == shelf.UploadDone {
			return nil
		}
		if _, err := s.targetFolderTx(ctx, tx, p, t, false); err != nil {
			return err
		}
		parts, err = tx.Parts(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	if u.State == shelf.UploadDone {
		return s.Item(ctx, u.ItemID)
	}
	if err := checkETags(u, parts, etags); err != nil {
		return nil, err
	}
	if s.staging == nil {
		return nil, errNoChunked
	}
	if u.State == shelf.UploadOpen {
		staged, err := stagedParts(u, parts)
		if err != nil {
			return nil, err
		}
		ref, bad, err := s.staging.SumStaging(ctx, id, staged)
		if err != nil {
			return nil, err
		}
		if len(bad) > 0 {
			return nil, s.forgetLostParts(ctx, u, parts, bad)
		}
		if ref.Size != u.Size {
			return nil, shelf.Errorf(shelf.EINTERNAL, "staged upload %q holds %d bytes, not %d", id, ref.Size, u.Size)
		}
		u.State, u.Hash = shelf.UploadCommitting, ref.Hash
		if err := s.store.Update(ctx, func(tx shelf.Tx) error { return tx.UpdateUpload(ctx, u) }); err != nil {
			return nil, err
		}
		s.hook("finalize-hashed")
	}
	if err := s.staging.CommitStaging(ctx, id, shelf.BlobRef{Hash: u.Hash, Size: u.Size}); err != nil {
		return nil, err
	}
	s.hook("finalize-blob")
	var it *shelf.Item
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		cur, err := tx.Upload(ctx, p.WorkspaceID, id)
		if err != nil {
			return err
		}
		if cur.State == shelf.UploadDone { // finished by another replica
			it, err = getItem(ctx, tx, p, cur.ItemID)
			return err
		}
		var v *shelf.Version
		it, v, err = s.putFileTx(ctx, tx, p, t, shelf.BlobRef{Hash: cur.Hash, Size: cur.Size})
		if err != nil {
			return err
		}
		// Once done, the version holds the blob; the session's hash would
		// only keep the bytes from garbage collection after the file is gone.
		cur.State, cur.ItemID, cur.Version, cur.Hash = shelf.UploadDone, it.ID, v.Number, ""
		cur.ExpiresAt = s.now().Add(DoneRetention)
		return tx.UpdateUpload(ctx, cur)
	})
	if err != nil {
		return nil, err
	}
	s.hook("finalize-done")
	return it, nil
}

// stagedParts gives the blob store the range and CRC-32C of every part
// received, in order (Parts lists them by number).
func stagedParts(u *shelf.Upload, parts []*shelf.Part) ([]shelf.StagedPart, error) {
	staged := make([]shelf.StagedPart, len(parts))
	for i, pt := range parts {
		off, n, _ := u.PartRange(pt.Number)
		crc, err := strconv.ParseUint(pt.ETag, 16, 32)
		if err != nil || len(pt.ETag) != 8 {
			return nil, shelf.Errorf(shelf.EINTERNAL, "upload %q: part %d has a malformed ETag %q", u.ID, pt.Number, pt.ETag)
		}
		staged[i] = shelf.StagedPart{Off: off, Len: n, CRC32C: uint32(crc)}
	}
	return staged, nil
}

// forgetLostParts handles parts whose staged bytes no longer match the
// CRC-32C their PUT answered: bytes acknowledged but not yet synced when
// the machine went down (parts are synced at finalize). Their rows go, so
// GetUpload lists them as missing and issues fresh URLs, and the error
// names them: the client uploads them again and finalizes again.
func (s *Service) forgetLostParts(ctx context.Context, u *shelf.Upload, parts []*shelf.Part, bad []int) error {
	nums := make([]string, len(bad))
	err := s.store.Update(ctx, func(tx shelf.Tx) error {
		for i, b := range bad {
			nums[i] = strconv.Itoa(parts[b].Number)
			if err := tx.DeletePart(ctx, u.ID, parts[b].Number); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Warn("upload parts lost before finalize", "upload", u.ID, "parts", strings.Join(nums, ","))
	what, it := "part "+nums[0]+" was", "it"
	if len(nums) > 1 {
		what, it = "parts "+strings.Join(nums, ", ")+" were", "them"
	}
	return shelf.Errorf(shelf.EINVALID, "%s lost after being received (the server went down before finalize); upload %s again, then finalize", what, it)
}

// checkETags matches a finalize request against the parts received.
func checkETags(u *shelf.Upload, parts []*shelf.Part, etags []PartETag) error {
	have := make(map[int]string, len(parts))
	for _, pt := range parts {
		have[pt.Number] = pt.ETag
	}
	n := u.PartCount()
	for i, e := range etags {
		if e.Number < 1 || e.Number > n {
			return shelf.Errorf(shelf.EINVALID, "part %d is outside the upload's %d parts", e.Number, n)
		}
		if e.Number != i+1 {
			return shelf.Errorf(shelf.EINVALID, "part %d is out of order: entry %d must name part %d", e.Number, i+1, i+1)
		}
		got, ok := have[e.Number]
		if !ok {
			return shelf.Errorf(shelf.EINVALID, "part %d has not been uploaded", e.Number)
		}
		if normETag(e.ETag) != got {
			return shelf.Errorf(shelf.EINVALID, "part %d: ETag does not match the uploaded part", e.Number)
		}
	}
	if len(etags) < n {
		if _, ok := have[len(etags)+1]; !ok {
			return shelf.Errorf(shelf.EINVALID, "part %d has not been uploaded", len(etags)+1)
		}
		return shelf.Errorf(shelf.EINVALID, "part %d is missing from part_etags", len(etags)+1)
	}
	return nil
}

// normETag strips the quotes (and a weak prefix) of an ETag.
func normETag(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	return strings.ToLower(strings.Trim(s, `"`))
}

// AbortUpload ends an open upload and frees its staged bytes.
func (s *Service) AbortUpload(ctx context.Context, id string) error {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return err
	}
	unlock, err := s.lock(ctx, uploadLockName(id), false)
	if err != nil {
		return err
	}
	defer unlock()
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		u, err := s.loadUpload(ctx, tx, p.WorkspaceID, id)
		if err != nil {
			return err
		}
		if u.State == shelf.UploadDone {
			return shelf.Errorf(shelf.ECONFLICT, "upload %q is already finalized", id)
		}
		return tx.DeleteUpload(ctx, id)
	})
	if err != nil || s.staging == nil {
		return err
	}
	return s.staging.DeleteStaging(ctx, id)
}

// UploadsSlug is the natural id of the library files go to when an upload
// names none.
const UploadsSlug = "uploads"

// UploadsLibrary returns the workspace's uploads library (kind library,
// natural id "uploads"), making it on first use.
func (s *Service) UploadsLibrary(ctx context.Context) (*shelf.Library, error) {
	l, err := s.GetLibrary(ctx, shelf.KindLibrary, UploadsSlug)
	if shelf.ErrorCode(err) != shelf.ENOTFOUND {
		return l, err
	}
	l, err = s.CreateLibrary(ctx, Spec{Kind: shelf.KindLibrary, Slug: UploadsSlug, Name: "Uploads",
		Description: "Files uploaded without a library"})
	if shelf.ErrorCode(err) == shelf.ECONFLICT { // made meanwhile
		return s.GetLibrary(ctx, shelf.KindLibrary, UploadsSlug)
	}
	return l, err
}

// AttachUpload makes the file of an upload session whose parts have all
// arrived, at t, without asking for the parts' ETags. A session that
// already made its file is ECONFLICT: an upload is used once.
func (s *Service) AttachUpload(ctx context.Context, id string, t FileTarget) (*shelf.Item, error) {
	u, parts, err := s.GetUpload(ctx, id)
	if err != nil {
		return nil, err
	}
	if u.State == shelf.UploadDone {
		return nil, shelf.Errorf(shelf.ECONFLICT, "upload %q was already used", id)
	}
	etags := make([]PartETag, 0, len(parts))
	for _, pt := range parts {
		etags = append(etags, PartETag{Number: pt.Number, ETag: pt.ETag})
	}
	slices.SortFunc(etags, func(a, b PartETag) int { return a.Number - b.Number })
	return s.Finalize(ctx, id, etags, t)
}
