package library

import (
	"context"
	"time"

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
//
// A library of at most Config.BulkRows items is copied in one statement.
// A larger one is copied in batches, each its own transaction, from the
// rows of one read transaction, so the snapshot is the tree as it was at
// one instant however long the copy takes; it is listed and found only
// once complete (a shelf.TreeOp of kind snapshot hides it until then), and
// one whose process dies is deleted by the server. A tree that a bulk
// change (a delete, move or restore in batches) is working on has no
// instant to copy: ECONFLICT.
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
	var op *shelf.TreeOp
	var drops []*shelf.TreeOp
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		op, drops = nil, nil
		lib, err := libraryTx(ctx, tx, p, libraryID)
		if err != nil {
			return err
		}
		if err := claimRangeTx(ctx, tx, p.WorkspaceID, lib.ID, ""); err != nil {
			return err
		}
		sn = &shelf.Snapshot{ID: newID(), WorkspaceID: p.WorkspaceID, LibraryID: lib.ID, Trigger: trigger, CreatedAt: s.now()}
		some, err := tx.Tree(ctx, p.WorkspaceID, shelf.TreeQuery{LibraryID: lib.ID,
			Filter: shelf.ItemFilter{WithHidden: true, AllScopes: true}, Limit: s.cfg.BulkRows + 1})
		if err != nil {
			return err
		}
		if len(some) <= s.cfg.BulkRows {
			if err := tx.CreateSnapshot(ctx, sn); err != nil {
				return err
			}
			drops, err = s.pruneSnapshotsTx(ctx, tx, p.WorkspaceID, lib.ID, limit)
			return err
		}
		if err := tx.PutSnapshot(ctx, sn); err != nil {
			return err
		}
		op = s.newTreeOp(p.WorkspaceID, lib.ID, shelf.TreeOpSnapshot)
		op.SnapshotID = sn.ID
		return tx.CreateTreeOp(ctx, op)
	})
	if err != nil {
		return nil, err
	}
	if op != nil {
		if sn, drops, err = s.copySnapshot(context.WithoutCancel(ctx), op, limit); err != nil {
			return nil, err
		}
	}
	return sn, s.runTreeOps(ctx, drops)
}

// copySnapshot copies the tree of op's library into its snapshot, from
// one read transaction, in batches of its own; then it shows the snapshot
// (deletes op) and prunes the library's snapshots to limit. It returns
// the snapshot and the drops the pruning started.
func (s *Service) copySnapshot(ctx context.Context, op *shelf.TreeOp, limit int) (*shelf.Snapshot, []*shelf.TreeOp, error) {
	ws, token := op.WorkspaceID, op.Token
	// write runs fn in a batch of the op, which must still be ours.
	write := func(fn func(tx shelf.Tx) error) error {
		return s.store.Update(ctx, func(tx shelf.Tx) error {
			cur, err := tx.TreeOp(ctx, ws, op.ID)
			if shelf.ErrorCode(err) == shelf.ENOTFOUND || (err == nil && cur.Token != token) {
				return shelf.Errorf(shelf.ECONFLICT, "the snapshot was deleted while it was being made")
			} else if err != nil {
				return err
			}
			return fn(tx)
		})
	}
	last := time.Duration(-1)
	err := s.store.View(ctx, func(rtx shelf.Tx) error {
		for after := ""; ; {
			page, err := rtx.Tree(ctx, ws, shelf.TreeQuery{LibraryID: op.LibraryID, After: after,
				Filter: shelf.ItemFilter{WithHidden: true, AllScopes: true}, Limit: s.cfg.BulkRows})
			if err != nil {
				return err
			}
			for rest := page; len(rest) > 0; {
				if last >= 0 {
					s.hook("tree-op-batch")
					pace(ctx, last)
				}
				start := time.Now()
				var did int
				err := write(func(tx shelf.Tx) error {
					did = 0
					b := s.newBudget()
					for did < len(rest) {
						lim := b.take()
						if lim == 0 {
							break
						}
						n := min(lim, len(rest)-did)
						if err := tx.AddSnapshotItems(ctx, ws, op.SnapshotID, rest[did:did+n]); err != nil {
							return err
						}
						b.spend(n)
						did += n
					}
					now := s.now()
					cur := *op
					cur.Done, cur.Cursor = op.Done+did, rest[did-1].Path
					cur.LeaseUntil, cur.UpdatedAt = now.Add(s.cfg.OpLease), now
					return tx.UpdateTreeOp(ctx, &cur)
				})
				last = time.Since(start)
				if err != nil {
					return err
				}
				op.Done += did
				rest = rest[did:]
			}
			if len(page) < s.cfg.BulkRows {
				return nil
			}
			after = page[len(page)-1].Path
		}
	})
	if err != nil {
		return nil, nil, err
	}
	var sn *shelf.Snapshot
	var drops []*shelf.TreeOp
	err = write(func(tx shelf.Tx) error {
		if err := tx.DeleteTreeOp(ctx, ws, op.ID); err != nil {
			return err
		}
		var err error
		if sn, err = tx.Snapshot(ctx, ws, op.LibraryID, op.SnapshotID); err != nil {
			return err
		}
		drops, err = s.pruneSnapshotsTx(ctx, tx, ws, op.LibraryID, limit)
		return err
	})
	return sn, drops, err
}

// pruneSnapshotsTx drops the library's oldest snapshots past limit (as
// DeleteSnapshot does) and returns the drops to finish.
func (s *Service) pruneSnapshotsTx(ctx context.Context, tx shelf.Tx, ws, libraryID string, limit int) ([]*shelf.TreeOp, error) {
	all, err := visibleSnapshotsTx(ctx, tx, ws, libraryID)
	if err != nil {
		return nil, err
	}
	var drops []*shelf.TreeOp
	b := s.newBudget()
	for _, old := range all[min(limit, len(all)):] {
		op, err := s.dropSnapshotTx(ctx, tx, old, b)
		if err != nil {
			return nil, err
		}
		if op != nil {
			drops = append(drops, op)
		}
	}
	return drops, nil
}

// visibleSnapshotsTx lists a library's snapshots, newest first, but those
// being made or deleted.
func visibleSnapshotsTx(ctx context.Context, tx shelf.Tx, ws, libraryID string) ([]*shelf.Snapshot, error) {
	all, err := tx.Snapshots(ctx, ws, libraryID)
	if err != nil {
		return nil, err
	}
	busy, err := busySnapshotsTx(ctx, tx, ws, libraryID)
	if err != nil || len(busy) == 0 {
		return all, err
	}
	out := all[:0]
	for _, sn := range all {
		if !busy[sn.ID] {
			out = append(out, sn)
		}
	}
	return out, nil
}

// busySnapshotsTx returns the library's snapshots being made or deleted.
func busySnapshotsTx(ctx context.Context, tx shelf.Tx, ws, libraryID string) (map[string]bool, error) {
	ops, err := tx.TreeOps(ctx, ws, libraryID)
	if err != nil {
		return nil, err
	}
	busy := map[string]bool{}
	for _, op := range ops {
		if op.Kind == shelf.TreeOpSnapshot || op.Kind == shelf.TreeOpDropSnapshot {
			busy[op.SnapshotID] = true
		}
	}
	return busy, nil
}

// snapshotTx returns a complete snapshot of a library, or ENOTFOUND.
func snapshotTx(ctx context.Context, tx shelf.Tx, lib *shelf.Library, id string) (*shelf.Snapshot, error) {
	sn, err := tx.Snapshot(ctx, lib.WorkspaceID, lib.ID, id)
	if err == nil {
		var busy map[string]bool
		if busy, err = busySnapshotsTx(ctx, tx, lib.WorkspaceID, lib.ID); err == nil && busy[id] {
			err = shelf.Errorf(shelf.ENOTFOUND, "snapshot")
		}
	}
	if shelf.ErrorCode(err) == shelf.ENOTFOUND {
		return nil, shelf.Errorf(shelf.ENOTFOUND, "snapshot %q not found", id)
	}
	return sn, err
}

// dropSnapshotTx starts deleting a snapshot: its rows in batches (the
// first within b), then it; it returns the op when more batches are left.
func (s *Service) dropSnapshotTx(ctx context.Context, tx shelf.Tx, sn *shelf.Snapshot, b *budget) (*shelf.TreeOp, error) {
	op := s.newTreeOp(sn.WorkspaceID, sn.LibraryID, shelf.TreeOpDropSnapshot)
	op.SnapshotID = sn.ID
	return s.startTreeOpTx(ctx, tx, op, b)
}

// dropBatchTx deletes a snapshot's rows, then the snapshot.
func (s *Service) dropBatchTx(ctx context.Context, tx shelf.Tx, op *shelf.TreeOp, b *budget) (bool, error) {
	for {
		lim := b.take()
		if lim == 0 {
			return false, nil
		}
		n, err := tx.DeleteSnapshotItems(ctx, op.WorkspaceID, op.SnapshotID, lim)
		if err != nil {
			return false, err
		}
		b.spend(lim)
		op.Done += n
		if n < lim {
			err := tx.DeleteSnapshot(ctx, op.WorkspaceID, op.LibraryID, op.SnapshotID)
			if shelf.ErrorCode(err) == shelf.ENOTFOUND {
				err = nil // gone with its library
			}
			return err == nil, err
		}
	}
}

// Snapshots lists a library's snapshots, newest first; those being made
// or deleted are left out.
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
		out, err = visibleSnapshotsTx(ctx, tx, p.WorkspaceID, lib.ID)
		return err
	})
	return out, err
}

// DeleteSnapshot deletes a snapshot, in batches (a shelf.TreeOp that
// hides it at once and that the server finishes should the request be
// cut short); the blobs only it named become garbage. A snapshot the
// library is being restored from is not deleted (ECONFLICT).
func (s *Service) DeleteSnapshot(ctx context.Context, libraryID, id string) error {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return err
	}
	var op *shelf.TreeOp
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		lib, err := libraryTx(ctx, tx, p, libraryID)
		if err != nil {
			return err
		}
		sn, err := snapshotTx(ctx, tx, lib, id)
		if err != nil {
			return err
		}
		ops, err := tx.TreeOps(ctx, p.WorkspaceID, lib.ID)
		if err != nil {
			return err
		}
		for _, op := range ops {
			if op.Kind == shelf.TreeOpRestore && op.SnapshotID == id {
				return shelf.Errorf(shelf.ECONFLICT, "the library is being restored from snapshot %q; try again when that is done", id)
			}
		}
		op, err = s.dropSnapshotTx(ctx, tx, sn, s.newBudget())
		return err
	})
	if err != nil || op == nil {
		return err
	}
	_, err = s.runTreeOp(context.WithoutCancel(ctx), op)
	return err
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
		if sn, err = snapshotTx(ctx, tx, lib, id); err != nil {
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
