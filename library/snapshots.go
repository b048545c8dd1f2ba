package library

import (
	"context"

	shelf "github.com/shelfmem/shelf"
)

// Snapshot triggers and limits.
const (
	TriggerManual    = "manual"
	TriggerRefresh   = "refresh"
	TriggerScheduled = "scheduled"

	DefaultSnapshotLimit = 10
	MaxSnapshotLimit     = 100
	// MaxRestoreItems bounds the items a restore handles in one
	// transaction (both the library's and the snapshot's).
	MaxRestoreItems = 1_000_000
)

// CreateSnapshot records a library's tree as it is now: a copy of its rows,
// never of its bytes (files name content-addressed blobs, which the
// snapshot keeps from garbage collection). Past limit (1..100, 0 for the
// default 10) the oldest snapshots go.
func (s *Service) CreateSnapshot(ctx context.Context, libraryID, trigger string, limit int) (*shelf.Snapshot, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	switch trigger {
	case "":
		trigger = TriggerManual
	case TriggerManual, TriggerRefresh, TriggerScheduled:
	default:
		return nil, shelf.Errorf(shelf.EINVALID, "trigger must be %q, %q or %q", TriggerManual, TriggerRefresh, TriggerScheduled)
	}
	switch {
	case limit == 0:
		limit = DefaultSnapshotLimit
	case limit < 1 || limit > MaxSnapshotLimit:
		return nil, shelf.Errorf(shelf.EINVALID, "limit must be between 1 and %d", MaxSnapshotLimit)
	}
	var sn *shelf.Snapshot
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		lib, err := libraryTx(ctx, tx, p, libraryID)
		if err != nil {
			return err
		}
		sn = &shelf.Snapshot{ID: newID(), WorkspaceID: p.WorkspaceID, LibraryID: lib.ID, Trigger: trigger, CreatedAt: s.now()}
		if err := tx.CreateSnapshot(ctx, sn); err != nil {
			return err
		}
		all, err := tx.Snapshots(ctx, p.WorkspaceID, lib.ID)
		if err != nil {
			return err
		}
		for _, old := range all[min(limit, len(all)):] {
			if err := tx.DeleteSnapshot(ctx, p.WorkspaceID, lib.ID, old.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return sn, err
}

// Snapshots lists a library's snapshots, newest first.
func (s *Service) Snapshots(ctx context.Context, libraryID string) ([]*shelf.Snapshot, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	var out []*shelf.Snapshot
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		lib, err := libraryTx(ctx, tx, p, libraryID)
		if err != nil {
			return err
		}
		out, err = tx.Snapshots(ctx, p.WorkspaceID, lib.ID)
		return err
	})
	return out, err
}

// DeleteSnapshot deletes a snapshot; the blobs only it named become
// garbage.
func (s *Service) DeleteSnapshot(ctx context.Context, libraryID, id string) error {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx shelf.Tx) error {
		lib, err := libraryTx(ctx, tx, p, libraryID)
		if err != nil {
			return err
		}
		err = tx.DeleteSnapshot(ctx, p.WorkspaceID, lib.ID, id)
		if shelf.ErrorCode(err) == shelf.ENOTFOUND {
			return shelf.Errorf(shelf.ENOTFOUND, "snapshot %q not found", id)
		}
		return err
	})
}

// RestoreSnapshot makes a library's tree what it was when the snapshot was
// taken, in one transaction, and returns the snapshot (FileCount files).
// Items that still exist keep their ids and their history: one whose
// bytes differ gets the snapshot's bytes as a new version; items made
// since are deleted; items deleted since come back with their ids and the
// snapshot's head. Files whose head changes are indexed again.
func (s *Service) RestoreSnapshot(ctx context.Context, libraryID, id string) (*shelf.Snapshot, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	var sn *shelf.Snapshot
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		lib, err := libraryTx(ctx, tx, p, libraryID)
		if err != nil {
			return err
		}
		if sn, err = tx.Snapshot(ctx, p.WorkspaceID, lib.ID, id); shelf.ErrorCode(err) == shelf.ENOTFOUND {
			return shelf.Errorf(shelf.ENOTFOUND, "snapshot %q not found", id)
		} else if err != nil {
			return err
		}
		return s.restoreTx(ctx, tx, p, lib, sn)
	})
	return sn, err
}

func (s *Service) restoreTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, lib *shelf.Library, sn *shelf.Snapshot) error {
	ws := p.WorkspaceID
	// The library's items now, every one of them.
	current := map[string]*shelf.Item{}
	after := ""
	for {
		page, err := tx.Tree(ctx, ws, shelf.TreeQuery{LibraryID: lib.ID, After: after,
			Filter: shelf.ItemFilter{WithHidden: true, AllScopes: true}, Limit: treePage})
		if err != nil {
			return err
		}
		for _, it := range page {
			current[it.ID] = it
		}
		if len(current) > MaxRestoreItems {
			return shelf.Errorf(shelf.ETOOLARGE, "the library holds more than %d items; a restore handles at most that", MaxRestoreItems)
		}
		if len(page) < treePage {
			break
		}
		after = page[len(page)-1].Path
	}
	// The snapshot's items, parents before children (path order).
	var want []*shelf.Item
	after = ""
	for {
		page, err := tx.SnapshotItems(ctx, ws, sn.ID, after, treePage)
		if err != nil {
			return err
		}
		want = append(want, page...)
		if len(want) > MaxRestoreItems {
			return shelf.Errorf(shelf.ETOOLARGE, "the snapshot holds more than %d items; a restore handles at most that", MaxRestoreItems)
		}
		if len(page) < treePage {
			break
		}
		after = page[len(page)-1].Path
	}
	inSnapshot := make(map[string]bool, len(want))
	for _, it := range want {
		inSnapshot[it.ID] = true
	}
	// Park every current item under the root with a name no real item can
	// have, so the snapshot's names and paths are all free; then delete
	// what the snapshot does not hold.
	for _, it := range current {
		it.ParentID, it.Name, it.Path = lib.RootID, parkedName(it.ID), parkedName(it.ID)
		if inSnapshot[it.ID] {
			if err := tx.UpdateItem(ctx, it); err != nil {
				return err
			}
			continue
		}
		if _, err := tx.DeleteTree(ctx, ws, it.ID); err != nil {
			return err
		}
	}
	now := s.now()
	for _, old := range want {
		cur := current[old.ID]
		if cur == nil {
			if err := s.recreateTx(ctx, tx, lib, old); err != nil {
				return err
			}
			continue
		}
		cur.ParentID, cur.Name, cur.Path, cur.XAttrs = old.ParentID, old.Name, old.Path, old.XAttrs
		cur.ExternalID, cur.Title, cur.Scope, cur.Owner = old.ExternalID, old.Title, old.Scope, old.Owner
		cur.Metadata, cur.Hidden, cur.UpdatedAt = old.Metadata, old.Hidden, now
		if cur.Type != shelf.TypeFile || cur.Hash == old.Hash {
			if err := tx.UpdateItem(ctx, cur); err != nil {
				return err
			}
			continue
		}
		v := &shelf.Version{ID: newID(), ItemID: cur.ID, WorkspaceID: ws, Number: cur.Head + 1,
			Hash: old.Hash, Size: old.Size, ContentType: old.ContentType, CreatedAt: now}
		if err := tx.CreateVersion(ctx, v); err != nil {
			return err
		}
		cur.Head, cur.Hash, cur.Size, cur.ContentType = v.Number, v.Hash, v.Size, v.ContentType
		if err := s.indexNewHeadTx(ctx, tx, lib, cur); err != nil {
			return err
		}
	}
	return nil
}

// parkedName is an item's name and path while a restore moves the tree:
// unique, and never a valid name (it starts with a control character).
func parkedName(id string) string { return "\x01" + id }

// recreateTx brings back an item deleted since the snapshot, with its id
// and the snapshot's head as its one version.
func (s *Service) recreateTx(ctx context.Context, tx shelf.Tx, lib *shelf.Library, old *shelf.Item) error {
	it := *old
	it.UpdatedAt = s.now()
	if it.Type == shelf.TypeFile {
		if err := s.queueIndexTx(ctx, tx, lib, &it); err != nil {
			return err
		}
	}
	if err := tx.CreateItem(ctx, &it); err != nil {
		return err
	}
	if it.Type != shelf.TypeFile {
		return nil
	}
	v := &shelf.Version{ID: newID(), ItemID: it.ID, WorkspaceID: it.WorkspaceID, Number: it.Head,
		Hash: it.Hash, Size: it.Size, ContentType: it.ContentType, CreatedAt: it.UpdatedAt}
	if err := tx.CreateVersion(ctx, v); err != nil {
		return err
	}
	return s.putIndexJobTx(ctx, tx, &it)
}
