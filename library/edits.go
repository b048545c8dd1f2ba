package library

import (
	"bytes"
	"context"
	"io"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/internal/glob"
)

// EditFile writes edit's answer to a file's head content as its new head,
// or nothing when the answer is the same bytes. The head must be at most
// maxSize bytes. If the file gets another head meanwhile, nothing is
// written: ECONFLICT.
func (s *Service) EditFile(ctx context.Context, itemID string, maxSize int64, edit func(old []byte) ([]byte, error)) (*Upserted, error) {
	defer s.pinWrites()() // its blobs, until its transaction ends
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	it, v, err := s.Content(ctx, itemID, 0)
	if err != nil {
		return nil, err
	}
	if v.Size > maxSize {
		return nil, shelf.Errorf(shelf.ETOOLARGE, "the file is %d bytes; at most %d can be edited in place", v.Size, maxSize)
	}
	rc, err := s.Read(ctx, v, 0, -1)
	if err != nil {
		return nil, err
	}
	old, err := io.ReadAll(io.LimitReader(rc, maxSize+1))
	rc.Close()
	if err != nil {
		return nil, err
	}
	neu, err := edit(old)
	if err != nil {
		return nil, err
	}
	if int64(len(neu)) > s.cfg.MaxFileSize {
		return nil, shelf.Errorf(shelf.ETOOLARGE, "the edited file is %d bytes; the limit is %d", len(neu), s.cfg.MaxFileSize)
	}
	if bytes.Equal(old, neu) {
		return &Upserted{Status: StatusUnchanged, Item: it, Version: v}, nil
	}
	c, err := s.putBlob(ctx, bytes.NewReader(neu), int64(len(neu)), false)
	if err != nil {
		return nil, err
	}
	var out *Upserted
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		cur, err := getItem(ctx, tx, p, itemID)
		if err != nil {
			return err
		}
		if cur.Head != v.Number {
			return shelf.Errorf(shelf.ECONFLICT, "the file changed while it was edited; edit it again")
		}
		if err := c.saveTx(ctx, tx); err != nil {
			return err
		}
		now := s.now()
		nv := &shelf.Version{ID: newID(), ItemID: cur.ID, WorkspaceID: cur.WorkspaceID, Number: cur.Head + 1,
			Hash: c.ref.Hash, Size: c.ref.Size, ContentType: cur.ContentType, CreatedAt: now}
		if err := tx.CreateVersion(ctx, nv); err != nil {
			return err
		}
		cur.Head, cur.Hash, cur.Size, cur.UpdatedAt = nv.Number, nv.Hash, nv.Size, now
		lib, err := tx.Library(ctx, cur.WorkspaceID, cur.LibraryID)
		if err != nil {
			return err
		}
		out = &Upserted{Status: StatusIndexed, Item: cur, Version: nv}
		return s.indexNewHeadTx(ctx, tx, lib, cur)
	})
	return out, err
}

// ItemProps are the recorded properties of an item a client may set
// directly. Nil fields stay. (An item's size and kind are derived from its
// content and type: no client sets them.)
type ItemProps struct {
	ContentType *string
	ModifiedAt  *time.Time
	XAttrs      map[string]string // keys set; "" removes a key
	// The index timestamps and message; a zero time or "" clears one.
	IndexedAt, IndexingStartedAt, IndexingErroredAt *time.Time
	IndexingError                                   *string
}

// empty reports whether p sets nothing.
func (p *ItemProps) empty() bool {
	return p.ContentType == nil && p.ModifiedAt == nil && len(p.XAttrs) == 0 && p.IndexedAt == nil &&
		p.IndexingStartedAt == nil && p.IndexingErroredAt == nil && p.IndexingError == nil
}

// apply sets p's fields on it.
func (p *ItemProps) apply(it *shelf.Item) error {
	if p.ContentType != nil {
		if it.Type != shelf.TypeFile {
			return shelf.Errorf(shelf.EINVALID, "%q is a folder and has no content type", it.Name)
		}
		it.ContentType = *p.ContentType
	}
	if p.ModifiedAt != nil {
		it.UpdatedAt = p.ModifiedAt.UTC()
	}
	if len(p.XAttrs) > 0 {
		if it.XAttrs == nil {
			it.XAttrs = map[string]string{}
		}
		for k, v := range p.XAttrs {
			if v == "" {
				delete(it.XAttrs, k)
			} else {
				it.XAttrs[k] = v
			}
		}
		if len(it.XAttrs) > maxXAttrs {
			return shelf.Errorf(shelf.EINVALID, "at most %d x_attrs", maxXAttrs)
		}
	}
	set := func(dst *time.Time, src *time.Time) {
		if src != nil {
			*dst = src.UTC()
		}
	}
	set(&it.Index.IndexedAt, p.IndexedAt)
	set(&it.Index.StartedAt, p.IndexingStartedAt)
	set(&it.Index.ErroredAt, p.IndexingErroredAt)
	if p.IndexingError != nil {
		it.Index.Error = *p.IndexingError
	}
	return nil
}

func (p *ItemProps) check() error {
	if p.ContentType != nil {
		if err := CheckMediaType(*p.ContentType); err != nil {
			return err
		}
	}
	if p.IndexingError != nil && len(*p.IndexingError) > maxErrorText {
		return shelf.Errorf(shelf.EINVALID, "the indexing error message is longer than %d bytes", maxErrorText)
	}
	var err error
	p.XAttrs, err = cleanXAttrs(p.XAttrs)
	return err
}

// SetProps sets an item's properties.
func (s *Service) SetProps(ctx context.Context, itemID string, props ItemProps) (*shelf.Item, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	if err := props.check(); err != nil {
		return nil, err
	}
	var it *shelf.Item
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		if it, err = getItem(ctx, tx, p, itemID); err != nil {
			return err
		}
		if it.IsRoot() {
			return shelf.Errorf(shelf.EFORBIDDEN, "a library root has no properties to set")
		}
		if err := props.apply(it); err != nil {
			return err
		}
		return tx.UpdateItem(ctx, it)
	})
	return it, err
}

// PropPatch sets properties (and, with Rename, the name) of every item of
// a library whose path matches Glob.
type PropPatch struct {
	Glob   string
	Props  ItemProps
	Rename *string
}

// Limits of PatchItems.
const (
	MaxPatchOps     = 100
	MaxPatchMatches = 1_000_000
)

// PatchItems applies patches in order and returns how many items it
// changed (an item matched by several patches counts once per patch).
//
// The whole request is checked before anything is written: every
// patch's matches are read (in read transactions, which never hold the
// writer up) and a patch that would fail on any of them — a property the
// item cannot take, a rename onto a taken name or of two items of one
// folder to one name, a folder holding another key's items, more than
// MaxPatchMatches matches — refuses the request, and nothing changes.
// The patches are then written in batches, each its own transaction
// (bulkWalk), renames after each patch's walk (they move paths under it),
// a folder's descendants following it in batches of their own. So a
// request is atomic per batch, not as a whole: one that fails while being
// written (the library changed in between, another key took a name) or
// that is cut short leaves the batches before it written. Every patch sets
// values, so sending the request again finishes it.
func (s *Service) PatchItems(ctx context.Context, libraryID string, patches []PropPatch) (int, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return 0, err
	}
	if len(patches) == 0 || len(patches) > MaxPatchOps {
		return 0, shelf.Errorf(shelf.EINVALID, "a patch holds 1 to %d operations", MaxPatchOps)
	}
	pats := make([][]*glob.Pattern, len(patches))
	for i := range patches {
		if err := patches[i].Props.check(); err != nil {
			return 0, err
		}
		if patches[i].Rename != nil {
			name, err := CleanName(*patches[i].Rename)
			if err != nil {
				return 0, err
			}
			patches[i].Rename = &name
		}
		if pats[i], err = compileGlobs([]string{patches[i].Glob}); err != nil {
			return 0, err
		}
	}
	var lib *shelf.Library
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		if lib, err = libraryTx(ctx, tx, p, libraryID); err != nil {
			return err
		}
		for i, pp := range patches {
			if err := s.checkPatchTx(ctx, tx, p, lib, pp, pats[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for i, pp := range patches {
		w := newWalker(p, lib.ID, pats[i], "", shelf.ItemFilter{Viewer: p.Owner()})
		m, renames, err := s.bulkWalk(ctx, w, func(tx shelf.Tx, it *shelf.Item) (bool, error) {
			if err := pp.Props.apply(it); err != nil {
				return false, err
			}
			// Renaming moves paths under the walk: it is done after.
			return pp.Rename != nil, tx.UpdateItem(ctx, it)
		})
		n += m
		if err != nil {
			return n, err
		}
		if pp.Rename != nil {
			if err := s.renameAll(ctx, p, renames, *pp.Rename); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// checkPatchTx checks, in a read transaction, that pp applies to every
// item it matches.
func (s *Service) checkPatchTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, lib *shelf.Library, pp PropPatch, pats []*glob.Pattern) error {
	w := newWalker(p, lib.ID, pats, "", shelf.ItemFilter{Viewer: p.Owner()})
	matched := 0
	targets := map[string]bool{} // the paths renamed items take
	var page []*shelf.Item
	check := func() error {
		if pp.Rename == nil || len(page) == 0 {
			return nil
		}
		var paths []string
		for _, it := range page {
			dir, _ := splitPath(it.Path)
			target := NameKey(*pp.Rename)
			if dir != "" {
				target = dir + "/" + target
			}
			if target == it.Path {
				continue // at most the bytes of its name change
			}
			if len(target) > MaxPathBytes {
				return shelf.Errorf(shelf.EINVALID, "renaming %q to %q makes a path longer than %d bytes", it.Path, *pp.Rename, MaxPathBytes)
			}
			if targets[target] {
				return shelf.Errorf(shelf.ECONFLICT, "%q matches two items of one folder; both cannot be named %q", pp.Glob, *pp.Rename)
			}
			targets[target] = true
			paths = append(paths, target)
			if it.Type == shelf.TypeFolder {
				others, err := tx.OthersBelow(ctx, p.WorkspaceID, lib.ID, it.Path, p.Owner())
				if err != nil {
					return err
				}
				if others {
					return shelf.Errorf(shelf.ECONFLICT, "%q holds items of another key, which stay where they are; it cannot be renamed", it.Path)
				}
				if err := claimRangeTx(ctx, tx, p.WorkspaceID, lib.ID, it.Path, target); err != nil {
					return err
				}
			}
			if err := guardTx(ctx, tx, p.WorkspaceID, lib.ID, target); err != nil {
				return err
			}
		}
		taken, err := tx.TakenPaths(ctx, p.WorkspaceID, lib.ID, paths)
		if err != nil {
			return err
		}
		for _, path := range paths {
			if taken[path] {
				return shelf.Errorf(shelf.ECONFLICT, "an item named %q already exists in %s", *pp.Rename, showPath(path))
			}
		}
		return nil
	}
	for {
		page = page[:0]
		_, over, err := w.step(ctx, tx, treePage, func(it *shelf.Item) error {
			if matched++; matched > MaxPatchMatches {
				return shelf.Errorf(shelf.ETOOLARGE, "%q matches more than %d items", pp.Glob, MaxPatchMatches)
			}
			copied := *it
			copied.XAttrs = copyAttrs(it.XAttrs)
			if err := pp.Props.apply(&copied); err != nil {
				return err
			}
			page = append(page, it)
			return nil
		})
		if err != nil {
			return err
		}
		if err := check(); err != nil {
			return err
		}
		if over {
			return nil
		}
	}
}

// renameAll renames the items ids to name, in batches; a folder's
// descendants follow it (runTreeOp) before the next is renamed.
func (s *Service) renameAll(ctx context.Context, p *shelf.Principal, ids []string, name string) error {
	last := time.Duration(-1)
	for len(ids) > 0 {
		if last >= 0 {
			pace(ctx, last)
		}
		var op *shelf.TreeOp
		var did int
		start := time.Now()
		err := s.store.Update(ctx, func(tx shelf.Tx) error {
			op, did = nil, 0
			b := s.newBudget()
			for did < len(ids) && b.take() > 0 {
				it, err := tx.Item(ctx, p.WorkspaceID, ids[did])
				if err != nil {
					return err
				}
				did++
				b.spend(1)
				if op, err = s.moveTx(ctx, tx, p, it, it.ParentID, name, ConflictDeny); err != nil || op != nil {
					return err
				}
			}
			return nil
		})
		last = time.Since(start)
		if err != nil {
			return err
		}
		ids = ids[did:]
		if op != nil {
			if _, err := s.runTreeOp(context.WithoutCancel(ctx), op); err != nil {
				return err
			}
		}
	}
	return nil
}

// PatchItem renames and/or moves an item (following u.Conflict: rename or
// deny, the default) and sets its properties, in one transaction, after
// check (when set) accepts the item as it is: all of it happens, or none.
func (s *Service) PatchItem(ctx context.Context, id string, u ItemUpdate, props ItemProps, check func(*shelf.Item) error) (*shelf.Item, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	c := u.Conflict
	if c == "" {
		c = ConflictDeny
	}
	if c != ConflictRename && c != ConflictDeny {
		return nil, shelf.Errorf(shelf.EINVALID, "a rename or move takes the rename or deny strategy, not %q", c)
	}
	if err := props.check(); err != nil {
		return nil, err
	}
	var name string
	if u.Name != nil {
		if name, err = CleanName(*u.Name); err != nil {
			return nil, err
		}
	}
	var it *shelf.Item
	var op *shelf.TreeOp
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		op = nil
		if it, err = getItem(ctx, tx, p, id); err != nil {
			return err
		}
		if it.IsRoot() {
			return shelf.Errorf(shelf.EFORBIDDEN, "a library root cannot be changed")
		}
		if check != nil {
			if err := check(it); err != nil {
				return err
			}
		}
		if u.Name != nil || u.ParentID != nil {
			newName, parentID := it.Name, it.ParentID
			if u.Name != nil {
				newName = name
			}
			if u.ParentID != nil {
				parentID = *u.ParentID
			}
			if op, err = s.moveTx(ctx, tx, p, it, parentID, newName, c); err != nil {
				return err
			}
		}
		if props.empty() {
			return nil // moveTx wrote what changed
		}
		if err := props.apply(it); err != nil {
			return err
		}
		return tx.UpdateItem(ctx, it)
	})
	if err == nil && op != nil {
		// The folder is in its place; what is below it follows.
		_, err = s.runTreeOp(context.WithoutCancel(ctx), op)
	}
	return it, err
}
