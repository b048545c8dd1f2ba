package library

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"

	shelf "github.com/shelfmem/shelf"
)

// FileTarget says where a file's bytes go: a name under a folder, or a
// path in a library (its folders made as needed); the strategy for a name
// that is taken, attributes to set, and the content type ("" to infer it
// from the name's extension).
type FileTarget struct {
	ParentID string
	Name     string
	// LibraryID and Path, when Path is set, name the file by path instead
	// of ParentID and Name; LibraryID "" is the default library.
	LibraryID   string
	Path        string
	Conflict    Conflict
	XAttrs      map[string]string
	ContentType string
}

// check validates and normalises the target's own fields.
func (t *FileTarget) check() error {
	var err error
	if t.Path != "" {
		if t.Path, err = CleanPath(t.Path); err != nil {
			return err
		}
		_, t.Name = splitPath(t.Path)
	}
	if t.Name, err = CleanName(t.Name); err != nil {
		return err
	}
	if t.Conflict, err = ParseConflict(string(t.Conflict)); err != nil {
		return err
	}
	if err := CheckMediaType(t.ContentType); err != nil {
		return err
	}
	t.XAttrs, err = cleanXAttrs(t.XAttrs)
	return err
}

// putFileTx places a durable blob as a file, following the target's
// conflict strategy: a new item, a new version of the file there
// (overwrite; the same bytes as its head make no new version), or a new
// item in place of the old one (replace). It returns the file and its head.
func (s *Service) putFileTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, t FileTarget, ref shelf.BlobRef) (*shelf.Item, *shelf.Version, error) {
	ws := p.WorkspaceID
	parent, err := s.targetFolderTx(ctx, tx, p, t, true)
	if err != nil {
		return nil, nil, err
	}
	final, existing, err := place(ctx, tx, parent, t.Name, shelf.TypeFile, t.Conflict)
	if err != nil {
		return nil, nil, err
	}
	if existing != nil && t.Conflict == ConflictOverwrite && existing.AttachmentOf() != "" {
		return nil, nil, errAttachmentPath(existing.Path)
	}
	lib, err := tx.Library(ctx, ws, parent.LibraryID)
	if err != nil {
		return nil, nil, err
	}
	now := s.now()
	ct := s.typeOfTx(ctx, tx, final, t.ContentType, ref, nil)
	if existing != nil && t.Conflict == ConflictOverwrite {
		it := existing
		if it.XAttrs == nil {
			it.XAttrs = map[string]string{}
		}
		for k, v := range t.XAttrs {
			it.XAttrs[k] = v
		}
		if it.Hash == ref.Hash {
			it.UpdatedAt = now
			if err := tx.UpdateItem(ctx, it); err != nil {
				return nil, nil, err
			}
			v, err := tx.Version(ctx, ws, it.ID, it.Head)
			return it, v, err
		}
		v := &shelf.Version{ID: newID(), ItemID: it.ID, WorkspaceID: ws, Number: it.Head + 1,
			Hash: ref.Hash, Size: ref.Size, ContentType: ct, CreatedAt: now}
		if err := tx.CreateVersion(ctx, v); err != nil {
			return nil, nil, err
		}
		it.Head, it.Hash, it.Size, it.ContentType, it.UpdatedAt = v.Number, v.Hash, v.Size, v.ContentType, now
		return it, v, s.indexNewHeadTx(ctx, tx, lib, it)
	}
	if existing != nil { // replace
		if _, err := tx.DeleteTree(ctx, ws, existing.ID); err != nil {
			return nil, nil, err
		}
	}
	it := &shelf.Item{ID: newID(), WorkspaceID: ws, LibraryID: parent.LibraryID, ParentID: parent.ID, Scope: shelf.VisibleWorkspace,
		Type: shelf.TypeFile, Name: final, Path: childPath(parent, final), XAttrs: copyAttrs(t.XAttrs),
		Head: 1, Size: ref.Size, Hash: ref.Hash, ContentType: ct, CreatedAt: now, UpdatedAt: now}
	if len(it.Path) > MaxPathBytes {
		return nil, nil, shelf.Errorf(shelf.EINVALID, "path is longer than %d bytes", MaxPathBytes)
	}
	v := &shelf.Version{ID: newID(), ItemID: it.ID, WorkspaceID: ws, Number: 1,
		Hash: ref.Hash, Size: ref.Size, ContentType: ct, CreatedAt: now}
	if err := s.queueIndexTx(ctx, tx, lib, it); err != nil {
		return nil, nil, err
	}
	if err := createItemTx(ctx, tx, it); err != nil {
		return nil, nil, err
	}
	if err := tx.CreateVersion(ctx, v); err != nil {
		return nil, nil, err
	}
	return it, v, s.putIndexJobTx(ctx, tx, it)
}

// targetFolderTx returns the folder a target's file goes in: ParentID's,
// or the one above Path, made (with mkdir) or only checked: a folder at
// Path itself, or a file where one of its folders would be, is refused.
func (s *Service) targetFolderTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, t FileTarget, mkdir bool) (*shelf.Item, error) {
	if t.Path == "" {
		return getFolder(ctx, tx, p, t.ParentID)
	}
	lib, err := libraryTx(ctx, tx, p, t.LibraryID)
	if err != nil {
		return nil, err
	}
	if err := checkFilePathTx(ctx, tx, p, lib, t.Path); err != nil {
		return nil, err
	}
	dir, _ := splitPath(t.Path)
	if !mkdir {
		return rootOf(lib), nil
	}
	return s.mkdirAllTx(ctx, tx, p, lib, dir)
}

// content is bytes ready to become a version: a small body is held in
// memory and goes into the store inline, in the version's own transaction
// (one commit, no file); a larger one is already durable in the blob store.
type content struct {
	ref    shelf.BlobRef
	inline []byte // non-nil when the bytes go inline
}

// saveTx writes inline bytes in the transaction that references them.
func (c *content) saveTx(ctx context.Context, tx shelf.Tx) error {
	if c.inline == nil {
		return nil
	}
	return tx.PutInlineBlob(ctx, c.ref.Hash, c.inline)
}

// putBlob reads a body within the size limit: up to InlineMax bytes it
// keeps in memory for the store, more it streams into the blob store. The
// limit holds while reading, whatever size says; a size that the body
// does not match is EINVALID. Empty bodies are refused when nonEmpty is set,
// and every body while the disk is short. The caller pins its writes
// (pinWrites) from before this call until its transaction has ended.
func (s *Service) putBlob(ctx context.Context, r io.Reader, size int64, nonEmpty bool) (content, error) {
	if err := s.refuseContent(); err != nil {
		return content{}, err
	}
	if size > s.cfg.MaxFileSize {
		return content{}, shelf.Errorf(shelf.ETOOLARGE, "content of %d bytes exceeds the maximum of %d", size, s.cfg.MaxFileSize)
	}
	if nonEmpty && size == 0 {
		return content{}, shelf.Errorf(shelf.EINVALID, "content is empty")
	}
	lr := &limitReader{r: r, left: s.cfg.MaxFileSize}
	var body io.Reader = lr
	if max := int64(s.cfg.InlineMax); max > 0 && size <= max {
		if size >= 0 {
			max = size // a longer body is refused below
		}
		buf := make([]byte, max+1)
		n, err := io.ReadFull(lr, buf)
		fits := err == io.EOF || err == io.ErrUnexpectedEOF
		switch {
		case err != nil && !fits:
			return content{}, err
		case size >= 0 && int64(n) != size:
			return content{}, shelf.Errorf(shelf.EINVALID, "the body's length does not match the %d bytes declared", size)
		case fits: // all of it is here
			if nonEmpty && n == 0 {
				return content{}, shelf.Errorf(shelf.EINVALID, "content is empty")
			}
			sum := sha256.Sum256(buf[:n])
			return content{ref: shelf.BlobRef{Hash: hex.EncodeToString(sum[:]), Size: int64(n)}, inline: buf[:n:n]}, nil
		default: // larger: what was read goes first
			body = io.MultiReader(bytes.NewReader(buf), lr)
		}
	}
	ref, err := s.blobs.Put(ctx, body, size)
	if err != nil {
		return content{}, err
	}
	if nonEmpty && ref.Size == 0 {
		return content{}, shelf.Errorf(shelf.EINVALID, "content is empty")
	}
	return content{ref: ref}, nil
}

// limitReader fails once more than left bytes are read, so an oversized
// body is refused while it streams, not after.
type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, shelf.Errorf(shelf.ETOOLARGE, "content exceeds the maximum size")
	}
	return n, err
}
