package library

import (
	"context"
	"encoding/base64"
	"strings"

	shelf "github.com/shelfmem/shelf"
)

// Operations on a library by path, for the APIs that address files that
// way (space storage, the library API's contents by path): look an item
// up, list a subtree, copy and move a file onto a path.

// ItemAt returns the item at path in a library ("" for the default
// library); the path "" is the library's root.
func (s *Service) ItemAt(ctx context.Context, libraryID, path string) (*shelf.Item, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	if path != "" {
		if path, err = CleanPath(path); err != nil {
			return nil, err
		}
	}
	var it *shelf.Item
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		it, err = itemAtTx(ctx, tx, p, libraryID, NameKey(path))
		return err
	})
	return it, err
}

func itemAtTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, libraryID, path string) (*shelf.Item, error) {
	lib, err := libraryTx(ctx, tx, p, libraryID)
	if err != nil {
		return nil, err
	}
	it, err := tx.ItemByPath(ctx, p.WorkspaceID, lib.ID, path)
	if shelf.ErrorCode(err) == shelf.ENOTFOUND || (err == nil && !it.VisibleTo(p)) {
		return nil, shelf.Errorf(shelf.ENOTFOUND, "nothing at %q", path)
	}
	return it, err
}

// TreeList selects a page of the items below a folder, at any depth.
type TreeList struct {
	LibraryID string // "" for the default library
	Under     string // the folder's path; "" for the root
	FilesOnly bool
	Token     string // "" for the first page
	Limit     int    // 1..1000
}

// ListTree returns a page of the items below a folder in path order, and
// the token of the next page ("" on the last). A path that is not a
// folder is ENOTFOUND.
func (s *Service) ListTree(ctx context.Context, q TreeList) ([]*shelf.Item, string, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, "", err
	}
	if q.Limit < 1 || q.Limit > 1000 {
		return nil, "", shelf.Errorf(shelf.EINVALID, "page size must be between 1 and 1000")
	}
	if q.Under != "" {
		if q.Under, err = CleanPath(q.Under); err != nil {
			return nil, "", err
		}
		q.Under = NameKey(q.Under)
	}
	after, err := decodeTreeToken(q.Token, q.Under)
	if err != nil {
		return nil, "", err
	}
	typ := shelf.ItemType("")
	if q.FilesOnly {
		typ = shelf.TypeFile
	}
	var items []*shelf.Item
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		dir, err := itemAtTx(ctx, tx, p, q.LibraryID, q.Under)
		if err != nil {
			return err
		}
		if dir.Type != shelf.TypeFolder {
			return shelf.Errorf(shelf.ENOTFOUND, "%q is not a folder", q.Under)
		}
		items, err = tx.Tree(ctx, p.WorkspaceID, shelf.TreeQuery{LibraryID: dir.LibraryID, Under: q.Under, After: after,
			Type: typ, Filter: shelf.ItemFilter{Viewer: p.Owner()}, Limit: q.Limit + 1})
		return err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(items) > q.Limit {
		items = items[:q.Limit]
		next = treeTokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(items[len(items)-1].Path))
	}
	return items, next, nil
}

const treeTokenPrefix = "t1."

// decodeTreeToken returns the path a token names, which must lie below
// under: a token of another listing is EINVALID.
func decodeTreeToken(tok, under string) (string, error) {
	if tok == "" {
		return "", nil
	}
	bad := shelf.Errorf(shelf.EINVALID, "invalid page token")
	raw, ok := strings.CutPrefix(tok, treeTokenPrefix)
	if !ok || len(raw) > 2*MaxPathBytes {
		return "", bad
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return "", bad
	}
	path := string(b)
	if under != "" && !strings.HasPrefix(path, under+"/") {
		return "", bad
	}
	return path, nil
}

// CopyFile makes the file at target a copy of the head of the file id:
// the same bytes (no byte is copied; the blob is shared), content type
// and x_attrs, under the target's conflict strategy.
func (s *Service) CopyFile(ctx context.Context, id string, t FileTarget) (*shelf.Item, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	var it *shelf.Item
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		src, err := getItem(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if src.Type != shelf.TypeFile {
			return shelf.Errorf(shelf.EINVALID, "only files can be copied")
		}
		if t.ContentType == "" {
			t.ContentType = src.ContentType
		}
		if t.XAttrs == nil {
			t.XAttrs = src.XAttrs
		}
		it, _, err = s.putFileTx(ctx, tx, p, t, shelf.BlobRef{Hash: src.Hash, Size: src.Size})
		return err
	})
	return it, err
}

// MoveFile moves the file id to path in its own library, making the
// folders above it. A file at path is replaced (the moved file takes its
// place), or with ConflictDeny refused; a folder at path is EINVALID.
func (s *Service) MoveFile(ctx context.Context, id, path string, c Conflict) (*shelf.Item, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	if path, err = CleanPath(path); err != nil {
		return nil, err
	}
	if c != ConflictReplace && c != ConflictDeny {
		return nil, shelf.Errorf(shelf.EINVALID, "a move by path takes the replace or deny strategy, not %q", c)
	}
	var it *shelf.Item
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		if it, err = getItem(ctx, tx, p, id); err != nil {
			return err
		}
		if it.Type != shelf.TypeFile {
			return shelf.Errorf(shelf.EINVALID, "only files can be moved by path")
		}
		dir, name := splitPath(path)
		if it.Path == NameKey(path) {
			if it.Name == name {
				return nil
			}
			it.Name, it.UpdatedAt = name, s.now() // the same path: only the name's bytes change
			return tx.UpdateItem(ctx, it)
		}
		lib, err := tx.Library(ctx, p.WorkspaceID, it.LibraryID)
		if err != nil {
			return err
		}
		if err := checkFilePathTx(ctx, tx, p, lib, path); err != nil {
			return err
		}
		parent, err := s.mkdirAllTx(ctx, tx, p, lib, dir)
		if err != nil {
			return err
		}
		existing, err := tx.ItemByPath(ctx, p.WorkspaceID, lib.ID, childPath(parent, name))
		switch {
		case shelf.ErrorCode(err) == shelf.ENOTFOUND:
		case err != nil:
			return err
		case c == ConflictDeny || !existing.VisibleTo(p):
			return shelf.Errorf(shelf.ECONFLICT, "%q already exists", path)
		default:
			if _, err := tx.DeleteTree(ctx, p.WorkspaceID, existing.ID); err != nil {
				return err
			}
		}
		it.ParentID, it.Name, it.Path, it.UpdatedAt = parent.ID, name, childPath(parent, name), s.now()
		if err := guardTx(ctx, tx, p.WorkspaceID, it.LibraryID, it.Path); err != nil {
			return err
		}
		return tx.UpdateItem(ctx, it)
	})
	return it, err
}

// rootOf returns a library's root folder as far as placing items below it
// needs, without reading it: every principal of the workspace sees a root.
func rootOf(lib *shelf.Library) *shelf.Item {
	return &shelf.Item{ID: lib.RootID, WorkspaceID: lib.WorkspaceID, LibraryID: lib.ID, Type: shelf.TypeFolder,
		Name: lib.Name, Scope: shelf.VisibleWorkspace}
}

// moveToPathTx moves a file to path (clean, as sent) in its library,
// making the folders.
func (s *Service) moveToPathTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, lib *shelf.Library, it *shelf.Item, path string) error {
	dir, leaf := splitPath(path)
	parent, err := s.mkdirAllTx(ctx, tx, p, lib, dir)
	if err != nil {
		return err
	}
	if _, _, err := place(ctx, tx, parent, leaf, it.Type, ConflictDeny); err != nil {
		return err
	}
	it.ParentID, it.Name, it.Path = parent.ID, leaf, childPath(parent, leaf)
	return guardTx(ctx, tx, it.WorkspaceID, it.LibraryID, it.Path)
}

// mkdirAllTx returns the folder at dir ("" for the root; clean, as sent)
// in lib, making the missing ones, named as sent. A file in the way is a
// conflict.
func (s *Service) mkdirAllTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, lib *shelf.Library, dir string) (*shelf.Item, error) {
	parent := rootOf(lib)
	if dir == "" {
		return parent, nil
	}
	for _, seg := range strings.Split(dir, "/") {
		path := childPath(parent, seg)
		next, err := tx.ItemByPath(ctx, p.WorkspaceID, lib.ID, path)
		switch {
		case err == nil && next.Type != shelf.TypeFolder:
			return nil, shelf.Errorf(shelf.ECONFLICT, "%q is a file, not a folder", path)
		case err == nil:
			parent = next
			continue
		case shelf.ErrorCode(err) != shelf.ENOTFOUND:
			return nil, err
		}
		now := s.now()
		next = &shelf.Item{ID: newID(), WorkspaceID: p.WorkspaceID, LibraryID: lib.ID, ParentID: parent.ID,
			Type: shelf.TypeFolder, Name: seg, Path: path, XAttrs: map[string]string{}, Scope: shelf.VisibleWorkspace,
			CreatedAt: now, UpdatedAt: now}
		if err := createItemTx(ctx, tx, next); err != nil {
			return nil, err
		}
		parent = next
	}
	return parent, nil
}

// splitPath splits a clean path into its folder ("" at the root) and leaf.
func splitPath(p string) (string, string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}
