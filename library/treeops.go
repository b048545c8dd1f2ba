package library

import (
	"bytes"
	"context"
	"maps"
	"strings"
	"time"

	shelf "github.com/shelfmem/shelf"
)

// Bulk writes. The store has one writer: a transaction that writes many
// rows makes every other write wait for it. So a request that may write
// many rows works in batches, each its own transaction bounded by
// Config.BulkRows rows and Config.BulkTime, and pauses between two batches
// (pace) so that the writes queued meanwhile go first.
//
// A change of the tree that must not be left half done (a recursive
// delete, a folder's move, a library's deletion, a snapshot restore) is a
// shelf.TreeOp: its first batch runs in the request's own transaction, and
// when that is not the last one, the same transaction records the op. The
// request then runs the rest; should its process die, any process claims
// the op once its lease ends (RunTreeOps) and finishes it. While an op
// runs, nothing may be created at, or moved to, a path below it (guardTx),
// and no other op may start on a path that nests with its own
// (claimRangeTx).

// stepRows bounds the rows of one store call inside a batch, so that the
// batch's time bound is checked often.
const stepRows = 32

// budget bounds one transaction of a bulk write.
type budget struct {
	rows     int
	deadline time.Time
	started  bool
}

func (s *Service) newBudget() *budget {
	return &budget{rows: s.cfg.BulkRows, deadline: time.Now().Add(s.cfg.BulkTime)}
}

// take returns how many rows the next step may handle: 0 once the batch
// is spent. The first step of a batch always gets some, so every batch
// makes progress.
func (b *budget) take() int {
	if b.rows <= 0 || (b.started && time.Now().After(b.deadline)) {
		return 0
	}
	b.started = true
	return min(b.rows, stepRows)
}

func (b *budget) spend(n int) { b.rows -= max(n, 1) }

// pace waits after a batch that took d, so that the writes queued behind
// it commit on their own before the next batch queues: the store takes
// queued writes in order, so each waits for at most the batch that runs
// when it comes. The pause is a quarter of the batch's time (1 to 25 ms),
// which leaves bulk work at most about four fifths of the writer.
func pace(ctx context.Context, d time.Duration) {
	d = min(max(d/4, time.Millisecond), 25*time.Millisecond)
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// below reports whether path lies strictly below the path under ("" is
// the root: every path but its own).
func below(path, under string) bool {
	if under == "" {
		return path != ""
	}
	return strings.HasPrefix(path, under+"/")
}

// nests reports whether two paths are equal or one lies below the other.
func nests(a, b string) bool { return a == b || below(a, b) || below(b, a) }

// opWords names what an op is doing, for messages.
func opWords(kind string) string {
	switch kind {
	case shelf.TreeOpDelete:
		return "being deleted"
	case shelf.TreeOpMove:
		return "being moved"
	case shelf.TreeOpPurge:
		return "being deleted with its library"
	case shelf.TreeOpRestore:
		return "being restored from a snapshot"
	case shelf.TreeOpIndex:
		return "being indexed or cleared"
	case shelf.TreeOpSnapshot:
		return "being copied into a snapshot"
	case shelf.TreeOpDropSnapshot:
		return "losing a snapshot"
	}
	return "being changed"
}

func showPath(p string) string { return "/" + p }

// guardTx refuses (ECONFLICT) to put an item at path in a library while
// an op changes the tree above it.
func guardTx(ctx context.Context, tx shelf.Tx, ws, libraryID, path string) error {
	ops, err := tx.TreeOps(ctx, ws, libraryID)
	if err != nil {
		return err
	}
	for _, op := range ops {
		for _, r := range op.Ranges() {
			if below(path, r) {
				return shelf.Errorf(shelf.ECONFLICT, "%s is %s; try again when that is done", showPath(r), opWords(op.Kind))
			}
		}
	}
	return nil
}

// createItemTx inserts an item a client's request makes, once guardTx
// lets it.
func createItemTx(ctx context.Context, tx shelf.Tx, it *shelf.Item) error {
	if err := guardTx(ctx, tx, it.WorkspaceID, it.LibraryID, it.Path); err != nil {
		return err
	}
	return tx.CreateItem(ctx, it)
}

// claimRangeTx refuses (ECONFLICT) to start an op on paths (a subtree's,
// "" for the whole library) while another op works on a path that nests
// with one of them.
func claimRangeTx(ctx context.Context, tx shelf.Tx, ws, libraryID string, paths ...string) error {
	ops, err := tx.TreeOps(ctx, ws, libraryID)
	if err != nil {
		return err
	}
	for _, op := range ops {
		for _, r := range op.Ranges() {
			for _, p := range paths {
				if nests(p, r) {
					return shelf.Errorf(shelf.ECONFLICT, "%s is %s; try again when that is done", showPath(r), opWords(op.Kind))
				}
			}
		}
	}
	return nil
}

// newTreeOp returns an op of kind held by this process.
func (s *Service) newTreeOp(ws, libraryID, kind string) *shelf.TreeOp {
	now := s.now()
	return &shelf.TreeOp{ID: newID(), WorkspaceID: ws, LibraryID: libraryID, Kind: kind, Token: randomHex(16),
		LeaseUntil: now.Add(s.cfg.OpLease), CreatedAt: now, UpdatedAt: now}
}

// startTreeOpTx runs op's first batch in the caller's transaction, within
// b. When it finishes the op, it returns nil; else it records the op and
// returns it, for runTreeOp to finish after the transaction commits.
func (s *Service) startTreeOpTx(ctx context.Context, tx shelf.Tx, op *shelf.TreeOp, b *budget) (*shelf.TreeOp, error) {
	done, err := s.treeBatchTx(ctx, tx, op, b)
	if err != nil || done {
		return nil, err
	}
	op.UpdatedAt = s.now()
	return op, tx.CreateTreeOp(ctx, op)
}

// runTreeOp runs the batches of an op this process holds until it is
// done, ctx ends or the lease is lost, and returns how many items it did
// in all.
func (s *Service) runTreeOp(ctx context.Context, op *shelf.TreeOp) (int, error) {
	last := time.Duration(0)
	for {
		s.hook("tree-op-batch")
		pace(ctx, last)
		if err := ctx.Err(); err != nil {
			return op.Done, err
		}
		var done, lost bool
		start := time.Now()
		token := op.Token
		err := s.store.Update(ctx, func(tx shelf.Tx) error {
			done, lost = false, false
			cur, err := tx.TreeOp(ctx, op.WorkspaceID, op.ID)
			if shelf.ErrorCode(err) == shelf.ENOTFOUND || (err == nil && cur.Token != token) {
				lost = true
				return nil
			} else if err != nil {
				return err
			}
			if done, err = s.treeBatchTx(ctx, tx, cur, s.newBudget()); err != nil {
				return err
			}
			*op = *cur
			if done {
				// A purge's last batch deleted its library, and the op
				// with it.
				if err := tx.DeleteTreeOp(ctx, cur.WorkspaceID, cur.ID); err != nil && shelf.ErrorCode(err) != shelf.ENOTFOUND {
					return err
				}
				return nil
			}
			now := s.now()
			op.LeaseUntil, op.UpdatedAt = now.Add(s.cfg.OpLease), now
			return tx.UpdateTreeOp(ctx, op)
		})
		last = time.Since(start)
		switch {
		case err != nil:
			return op.Done, err
		case lost:
			s.log.Warn("a bulk change of a library went on in another process", "op", op.ID, "kind", op.Kind)
			return op.Done, nil
		case done:
			return op.Done, nil
		}
	}
}

// RunTreeOps finishes the ops whose process died (their lease ended),
// until ctx ends: it looks for them now and then at a quarter of the
// lease (at most every 10 seconds).
func (s *Service) RunTreeOps(ctx context.Context) {
	every := min(max(s.cfg.OpLease/4, 100*time.Millisecond), 10*time.Second)
	for {
		if err := s.resumeTreeOps(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("finishing bulk changes cut short failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// resumeTreeOps claims and finishes, one at a time, every op whose lease
// has ended.
func (s *Service) resumeTreeOps(ctx context.Context) error {
	for {
		var expired bool
		err := s.store.View(ctx, func(tx shelf.Tx) (err error) {
			expired, err = tx.ExpiredTreeOps(ctx, s.now())
			return err
		})
		if err != nil || !expired {
			return err
		}
		var ops []*shelf.TreeOp
		token := randomHex(16)
		err = s.store.Update(ctx, func(tx shelf.Tx) (err error) {
			now := s.now()
			ops, err = tx.ClaimTreeOps(ctx, now, now.Add(s.cfg.OpLease), token, 1)
			return err
		})
		if err != nil || len(ops) == 0 {
			return err
		}
		op := ops[0]
		s.log.Info("finishing a bulk change cut short", "op", op.ID, "kind", op.Kind, "library", op.LibraryID, "done", op.Done)
		n, err := s.runTreeOp(ctx, op)
		if err != nil {
			return err
		}
		s.log.Info("finished a bulk change cut short", "op", op.ID, "kind", op.Kind, "items", n)
	}
}

// treeBatchTx runs one batch of op within b and reports whether op is
// done; op's progress fields (Phase, Cursor, Done) follow.
func (s *Service) treeBatchTx(ctx context.Context, tx shelf.Tx, op *shelf.TreeOp, b *budget) (bool, error) {
	switch op.Kind {
	case shelf.TreeOpDelete:
		return s.deleteBatchTx(ctx, tx, op, b)
	case shelf.TreeOpMove:
		return s.moveBatchTx(ctx, tx, op, b)
	case shelf.TreeOpPurge:
		return s.purgeBatchTx(ctx, tx, op, b)
	case shelf.TreeOpRestore:
		return s.restoreBatchTx(ctx, tx, op, b)
	case shelf.TreeOpIndex:
		return s.indexBatchTx(ctx, tx, op, b)
	case shelf.TreeOpSnapshot, shelf.TreeOpDropSnapshot:
		// A snapshot's copy goes on only in the process that began it,
		// from its one read transaction; claimed here, it is dropped.
		return s.dropBatchTx(ctx, tx, op, b)
	}
	return false, shelf.Errorf(shelf.EINTERNAL, "unknown tree op kind %q", op.Kind)
}

// deleteBatchTx deletes, greatest path first, the items below op.Path
// that op.Viewer may see; the folders that hold anything else stay. Once
// none is left, it deletes the subtree's root if nothing is left in it.
func (s *Service) deleteBatchTx(ctx context.Context, tx shelf.Tx, op *shelf.TreeOp, b *budget) (bool, error) {
	for {
		lim := b.take()
		if lim == 0 {
			return false, nil
		}
		n, next, err := tx.DeleteBelow(ctx, op.WorkspaceID, op.LibraryID, op.Path, op.Cursor, shelf.ItemFilter{Viewer: op.Viewer}, lim)
		if err != nil {
			return false, err
		}
		b.spend(lim)
		op.Done, op.Cursor = op.Done+n, next
		if next == "" {
			break
		}
	}
	left, err := tx.Tree(ctx, op.WorkspaceID, shelf.TreeQuery{LibraryID: op.LibraryID, Under: op.Path,
		Filter: shelf.ItemFilter{WithHidden: true, AllScopes: true}, Limit: 1})
	if err != nil || len(left) > 0 {
		return err == nil, err
	}
	n, err := tx.DeleteTree(ctx, op.WorkspaceID, op.ItemID)
	if shelf.ErrorCode(err) == shelf.ENOTFOUND {
		return true, nil
	}
	op.Done += n
	return err == nil, err
}

// moveBatchTx rewrites the paths below op.Path to start with op.NewPath.
func (s *Service) moveBatchTx(ctx context.Context, tx shelf.Tx, op *shelf.TreeOp, b *budget) (bool, error) {
	for {
		lim := b.take()
		if lim == 0 {
			return false, nil
		}
		n, err := tx.MoveBelow(ctx, op.WorkspaceID, op.LibraryID, op.Path, op.NewPath, lim)
		if err != nil {
			return false, err
		}
		b.spend(lim)
		op.Done += n
		if n < lim {
			return true, nil
		}
	}
}

// Phases of a purge.
const (
	purgeItems     = 0 // delete the items, greatest path first
	purgeSnapshots = 1 // delete the snapshots' rows, then the snapshots
)

// purgeBatchTx deletes a library being deleted: its items, its
// snapshots, then the library itself.
func (s *Service) purgeBatchTx(ctx context.Context, tx shelf.Tx, op *shelf.TreeOp, b *budget) (bool, error) {
	ws := op.WorkspaceID
	for {
		lim := b.take()
		if lim == 0 {
			return false, nil
		}
		b.spend(lim)
		if op.Phase == purgeItems {
			n, next, err := tx.DeleteBelow(ctx, ws, op.LibraryID, "", op.Cursor, shelf.ItemFilter{AllScopes: true}, lim)
			if err != nil {
				return false, err
			}
			op.Done, op.Cursor = op.Done+n, next
			if next == "" {
				op.Phase = purgeSnapshots
			}
			continue
		}
		sns, err := tx.Snapshots(ctx, ws, op.LibraryID)
		if err != nil {
			return false, err
		}
		if len(sns) == 0 {
			return true, tx.DeleteLibrary(ctx, ws, op.LibraryID)
		}
		n, err := tx.DeleteSnapshotItems(ctx, ws, sns[0].ID, lim)
		if err != nil {
			return false, err
		}
		if n < lim {
			if err := tx.DeleteSnapshot(ctx, ws, op.LibraryID, sns[0].ID); err != nil {
				return false, err
			}
		}
	}
}

// Phases of a restore.
const (
	restorePark   = 0 // park every item whose place differs from the snapshot's
	restorePlace  = 1 // set the snapshot's items back, parents first
	restoreDelete = 2 // delete what is still parked
)

// parkedName is an item's name and path while a restore moves the tree:
// unique, never a valid name (it starts with a control character), and
// before every valid path in byte order.
func parkedName(id string) string { return "\x01" + id }

// parkedEnd is a path after every parked one and before every valid one.
const parkedEnd = "\x02"

// restoreBatchTx makes a library's tree the snapshot's, in three passes:
// items whose place (parent, name, path) differs from the snapshot's, and
// those it does not hold, are parked under the root with names no item can
// have and hidden, so that every place of the snapshot is free; the
// snapshot's items are then set back in path order (parents first), each
// parked one where it was, each deleted one made again with its id and
// the snapshot's head; what is still parked is deleted. Items in their
// place and unchanged are never written.
func (s *Service) restoreBatchTx(ctx context.Context, tx shelf.Tx, op *shelf.TreeOp, b *budget) (bool, error) {
	ws := op.WorkspaceID
	lib, err := tx.Library(ctx, ws, op.LibraryID)
	if err != nil {
		return false, err
	}
	for {
		lim := b.take()
		if lim == 0 {
			return false, nil
		}
		b.spend(lim)
		switch op.Phase {
		case restorePark:
			page, err := tx.Tree(ctx, ws, shelf.TreeQuery{LibraryID: lib.ID, After: max(op.Cursor, parkedEnd),
				Filter: shelf.ItemFilter{WithHidden: true, AllScopes: true}, Limit: lim})
			if err != nil {
				return false, err
			}
			paths := make([]string, len(page))
			for i, it := range page {
				paths[i] = it.Path
			}
			was, err := tx.SnapshotItemsAt(ctx, ws, op.SnapshotID, paths)
			if err != nil {
				return false, err
			}
			for _, it := range page {
				if old := was[it.Path]; old != nil && old.ID == it.ID && old.ParentID == it.ParentID && old.Name == it.Name {
					continue
				}
				it.ParentID, it.Name, it.Path, it.Hidden = lib.RootID, parkedName(it.ID), parkedName(it.ID), true
				if err := tx.UpdateItem(ctx, it); err != nil {
					return false, err
				}
			}
			if len(page) < lim {
				op.Phase, op.Cursor = restorePlace, ""
			} else {
				op.Cursor = page[len(page)-1].Path
			}
		case restorePlace:
			page, err := tx.SnapshotItems(ctx, ws, op.SnapshotID, op.Cursor, lim)
			if err != nil {
				return false, err
			}
			for _, old := range page {
				if err := s.placeTx(ctx, tx, lib, old); err != nil {
					return false, err
				}
			}
			op.Done += len(page)
			if len(page) < lim {
				op.Phase, op.Cursor = restoreDelete, ""
			} else {
				op.Cursor = page[len(page)-1].Path
			}
		default:
			before := op.Cursor
			if before == "" {
				before = parkedEnd
			}
			_, next, err := tx.DeleteBelow(ctx, ws, lib.ID, "", before, shelf.ItemFilter{AllScopes: true}, lim)
			if err != nil {
				return false, err
			}
			if next == "" {
				return true, nil
			}
			op.Cursor = next
		}
	}
}

// placeTx sets the item old of a snapshot back as it was: with its place,
// names and attributes, and its head's bytes (a new version, indexed
// again, when they differ); made again with its id when it is gone.
func (s *Service) placeTx(ctx context.Context, tx shelf.Tx, lib *shelf.Library, old *shelf.Item) error {
	cur, err := tx.Item(ctx, lib.WorkspaceID, old.ID)
	if shelf.ErrorCode(err) == shelf.ENOTFOUND {
		return s.recreateTx(ctx, tx, lib, old)
	} else if err != nil {
		return err
	}
	sameHead := cur.Type != shelf.TypeFile || cur.Hash == old.Hash
	if sameHead && cur.ParentID == old.ParentID && cur.Name == old.Name && cur.Path == old.Path &&
		maps.Equal(cur.XAttrs, old.XAttrs) && cur.ExternalID == old.ExternalID && cur.Title == old.Title &&
		cur.Scope == old.Scope && cur.Owner == old.Owner && bytes.Equal(cur.Metadata, old.Metadata) && cur.Hidden == old.Hidden {
		return nil
	}
	now := s.now()
	cur.ParentID, cur.Name, cur.Path, cur.XAttrs = old.ParentID, old.Name, old.Path, old.XAttrs
	cur.ExternalID, cur.Title, cur.Scope, cur.Owner = old.ExternalID, old.Title, old.Scope, old.Owner
	cur.Metadata, cur.Hidden, cur.UpdatedAt = old.Metadata, old.Hidden, now
	if sameHead {
		return tx.UpdateItem(ctx, cur)
	}
	v := &shelf.Version{ID: newID(), ItemID: cur.ID, WorkspaceID: cur.WorkspaceID, Number: cur.Head + 1,
		Hash: old.Hash, Size: old.Size, ContentType: old.ContentType, CreatedAt: now}
	if err := tx.CreateVersion(ctx, v); err != nil {
		return err
	}
	cur.Head, cur.Hash, cur.Size, cur.ContentType = v.Number, v.Hash, v.Size, v.ContentType
	return s.indexNewHeadTx(ctx, tx, lib, cur)
}
