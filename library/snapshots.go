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
		// A tree being deleted, moved or restored in batches is between
		// two states: no snapshot of it.
		if err := claimRangeTx(ctx, tx, p.WorkspaceID, lib.ID, ""); err != nil {
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
		ops, err := tx.TreeOps(ctx, p.WorkspaceID, lib.ID)
		if err != nil {
			return err
		}
		for _, op := range ops {
			if op.SnapshotID == id {
				return shelf.Errorf(shelf.ECONFLICT, "the library is being restored from snapshot %q; try again when that is done", id)
			}
		}
		err = tx.DeleteSnapshot(ctx, p.WorkspaceID, lib.ID, id)
		if shelf.ErrorCode(err) == shelf.ENOTFOUND {
			return shelf.Errorf(shelf.ENOTFOUND, "snapshot %q not found", id)
		}
		return err
	})
}

// RestoreSnapshot makes a library's tree what it was when the snapshot was
// taken and returns the snapshot (FileCount files). Items that still exist
// keep their ids and their history: one whose bytes differ gets the
// snapshot's bytes as a new version; items made since are deleted; items
// deleted since come back with their ids and the snapshot's head. Files
// whose head changes are indexed again. The restore runs in batches (a
// shelf.TreeOp, restoreBatchTx): while it runs, the library's items are
// being put back in place, nothing can be created or moved in it (409), and
// should it be cut short the server finishes it.
func (s *Service) RestoreSnapshot(ctx context.Context, libraryID, id string) (*shelf.Snapshot, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	var sn *shelf.Snapshot
	var op *shelf.TreeOp
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		op = nil
		lib, err := libraryTx(ctx, tx, p, libraryID)
		if err != nil {
			return err
		}
		if sn, err = tx.Snapshot(ctx, p.WorkspaceID, lib.ID, id); shelf.ErrorCode(err) == shelf.ENOTFOUND {
			return shelf.Errorf(shelf.ENOTFOUND, "snapshot %q not found", id)
		} else if err != nil {
			return err
		}
		if err := claimRangeTx(ctx, tx, p.WorkspaceID, lib.ID, ""); err != nil {
			return err
		}
		op = s.newTreeOp(p.WorkspaceID, lib.ID, shelf.TreeOpRestore)
		op.SnapshotID = sn.ID
		op, err = s.startTreeOpTx(ctx, tx, op, s.newBudget())
		return err
	})
	if err == nil && op != nil {
		_, err = s.runTreeOp(context.WithoutCancel(ctx), op)
	}
	if err != nil {
		return nil, err
	}
	return sn, nil
}

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
