package shelf

import "time"

// TreeOp kinds.
const (
	// TreeOpDelete deletes the items below ItemID that Viewer may see
	// (the folders that hold anything else stay), then ItemID itself when
	// nothing is left in it.
	TreeOpDelete = "delete"
	// TreeOpMove rewrites the paths below Path to start with NewPath:
	// the rest of a folder's move, whose own row already moved.
	TreeOpMove = "move"
	// TreeOpPurge deletes a library (of kind KindDeleted) with everything
	// in it: its items, then its snapshots, then the library.
	TreeOpPurge = "purge"
	// TreeOpRestore makes a library's tree that of the snapshot
	// SnapshotID, in three passes (Phase 0, 1, 2): park the items whose
	// place differs from the snapshot's, place the snapshot's items,
	// delete what is still parked.
	TreeOpRestore = "restore"
	// TreeOpIndex makes the index of every file of the library follow
	// its Embedded flag: cleared when set, queued when not. It guards no
	// path.
	TreeOpIndex = "index"
	// TreeOpSnapshot is the snapshot SnapshotID being made: its rows are
	// copied in batches from one read transaction, and it is listed and
	// found only once complete. Its process alone can go on with it; an
	// op claimed after its process died deletes the snapshot instead (as
	// TreeOpDropSnapshot). It guards no path.
	TreeOpSnapshot = "snapshot"
	// TreeOpDropSnapshot deletes the snapshot SnapshotID: its rows in
	// batches, then it. It is no longer listed or found meanwhile. It
	// guards no path.
	TreeOpDropSnapshot = "drop-snapshot"
)

// KindDeleted is the kind of a library being deleted (TreeOpPurge): no
// lookup by kind or natural id finds it, no search reaches its files, and
// its slug is freed at once.
const KindDeleted = "deleted"

// TreeOp is a change of a library's tree too large for one short
// transaction: a recursive delete, a folder move, a library's deletion, a
// snapshot restore. It runs in batches, each its own transaction. Its row
// is written in the transaction of the first batch and deleted in that of
// the last, so whatever happens between, the change is either finished or
// still recorded, and any process finishes it: the process that runs it
// holds a lease (Token, LeaseUntil), renewed by every batch, and another
// process claims the op once the lease has ended.
//
// While an op exists, nothing may be created at, or moved or renamed to, a
// path strictly below its Path or NewPath ("" is the whole library); the
// core refuses such writes (ECONFLICT), and two ops whose paths nest
// never run at once.
type TreeOp struct {
	ID          string
	WorkspaceID string
	LibraryID   string
	Kind        string // one of the TreeOp* kinds
	ItemID      string // delete, move: the subtree's root item
	Path        string // the subtree's path ("" for the library); a move's old path
	NewPath     string // a move's new path; "" otherwise
	Viewer      string // delete: the Principal.Owner whose items it deletes
	SnapshotID  string // restore: the snapshot restored
	Phase       int    // restore: the pass it is in
	Cursor      string // where the next batch starts: a path
	Done        int    // items deleted, moved or placed so far
	Token       string // the claim of the process running it
	LeaseUntil  time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Ranges returns the paths below which the op guards the tree.
func (op *TreeOp) Ranges() []string {
	switch op.Kind {
	case TreeOpMove:
		return []string{op.Path, op.NewPath}
	case TreeOpIndex, TreeOpSnapshot, TreeOpDropSnapshot:
		return nil
	}
	return []string{op.Path}
}
