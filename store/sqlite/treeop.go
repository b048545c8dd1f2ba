package sqlite

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/shelfmem/shelf"
)

// DeleteBelow reads the batch through the (library_id, path) index in
// descending order, then deletes row by row: a file at once, a folder only
// when the (parent_id, name) index holds no child of it, so an item the
// filter kept out keeps every folder above it. Versions, chunks and jobs go
// by ON DELETE CASCADE.
func (t *tx) DeleteBelow(ctx context.Context, workspaceID, libraryID, under, before string, f shelf.ItemFilter, limit int) (int, string, error) {
	if limit <= 0 {
		return 0, "", invalid("limit %d is not positive", limit)
	}
	lo, hi := subtree(under)
	if under == "" {
		lo, hi = "", "\xff"
	}
	if before != "" && before < hi {
		hi = before
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT id, type, path FROM items
		WHERE library_id = ? AND workspace_id = ? AND path > ? AND path < ? AND (scope <> 'private' OR owner = ? OR ?)
		ORDER BY path DESC LIMIT ?`, libraryID, workspaceID, lo, hi, f.Viewer, f.AllScopes, limit)
	if err != nil {
		return 0, "", classify(err, "items")
	}
	type row struct{ id, typ, path string }
	var batch []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.typ, &r.path); err != nil {
			rows.Close()
			return 0, "", classify(err, "items")
		}
		batch = append(batch, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, "", classify(err, "items")
	}
	deleted := 0
	for _, r := range batch {
		var n int
		if r.typ == string(shelf.TypeFolder) {
			n, err = affected(t.tx.ExecContext(ctx,
				"DELETE FROM items WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM items WHERE parent_id = ?1)", r.id))
		} else {
			n, err = affected(t.tx.ExecContext(ctx, "DELETE FROM items WHERE id = ?", r.id))
		}
		if err != nil {
			return 0, "", err
		}
		deleted += n
	}
	next := ""
	if len(batch) == limit {
		next = batch[len(batch)-1].path
	}
	return deleted, next, nil
}

// MoveBelow rewrites the least paths of the range first, as MovePaths
// does the whole range.
func (t *tx) MoveBelow(ctx context.Context, workspaceID, libraryID, oldPath, newPath string, limit int) (int, error) {
	if oldPath == "" || newPath == "" {
		return 0, invalid("a library root cannot be moved")
	}
	if limit <= 0 {
		return 0, invalid("limit %d is not positive", limit)
	}
	lo, hi := subtree(oldPath)
	return affected(t.tx.ExecContext(ctx, `UPDATE items
		SET path = ?1 || CAST(substr(CAST(path AS BLOB), ?2) AS TEXT)
		WHERE id IN (SELECT id FROM items WHERE library_id = ?3 AND workspace_id = ?4 AND path > ?5 AND path < ?6
			ORDER BY path LIMIT ?7)`,
		newPath, len(oldPath)+1, libraryID, workspaceID, lo, hi, limit))
}

func (t *tx) OthersBelow(ctx context.Context, workspaceID, libraryID, path, viewer string) (bool, error) {
	lo, hi := subtree(path)
	if path == "" {
		lo, hi = "", "\xff"
	}
	var found bool
	err := t.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM items
		WHERE library_id = ? AND workspace_id = ? AND path > ? AND path < ? AND scope = 'private' AND owner <> ?)`,
		libraryID, workspaceID, lo, hi, viewer).Scan(&found)
	return found, classify(err, "items")
}

const treeOpCols = "id, workspace_id, library_id, kind, item_id, path, new_path, viewer, snapshot_id, phase, cursor, done, " +
	"token, lease_until, created_at, updated_at"

func scanTreeOp(s scanner) (*shelf.TreeOp, error) {
	var op shelf.TreeOp
	var lease, created, updated int64
	if err := s.Scan(&op.ID, &op.WorkspaceID, &op.LibraryID, &op.Kind, &op.ItemID, &op.Path, &op.NewPath, &op.Viewer,
		&op.SnapshotID, &op.Phase, &op.Cursor, &op.Done, &op.Token, &lease, &created, &updated); err != nil {
		return nil, err
	}
	op.LeaseUntil, op.CreatedAt, op.UpdatedAt = fromNanos(lease), fromNanos(created), fromNanos(updated)
	return &op, nil
}

// CreateTreeOp inserts through a SELECT of the library, so that an op can
// only name a library of its own workspace.
func (t *tx) CreateTreeOp(ctx context.Context, op *shelf.TreeOp) error {
	res, err := t.tx.ExecContext(ctx, `INSERT INTO tree_ops (`+treeOpCols+`)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16
		FROM libraries WHERE id = ?3 AND workspace_id = ?2`,
		op.ID, op.WorkspaceID, op.LibraryID, op.Kind, op.ItemID, op.Path, op.NewPath, op.Viewer, op.SnapshotID,
		op.Phase, op.Cursor, op.Done, op.Token, nanos(op.LeaseUntil), nanos(op.CreatedAt), nanos(op.UpdatedAt))
	if err != nil {
		return classify(err, "tree op")
	}
	return ensureFound(res, "library")
}

func (t *tx) TreeOp(ctx context.Context, workspaceID, id string) (*shelf.TreeOp, error) {
	op, err := scanTreeOp(t.tx.QueryRowContext(ctx,
		"SELECT "+treeOpCols+" FROM tree_ops WHERE id = ? AND workspace_id = ?", id, workspaceID))
	return op, classify(err, "tree op")
}

func (t *tx) TreeOps(ctx context.Context, workspaceID, libraryID string) ([]*shelf.TreeOp, error) {
	return t.queryTreeOps(ctx, "SELECT "+treeOpCols+` FROM tree_ops WHERE library_id = ? AND workspace_id = ?
		ORDER BY created_at, id`, libraryID, workspaceID)
}

func (t *tx) queryTreeOps(ctx context.Context, q string, args ...any) ([]*shelf.TreeOp, error) {
	rows, err := t.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, classify(err, "tree ops")
	}
	defer rows.Close()
	var out []*shelf.TreeOp
	for rows.Next() {
		op, err := scanTreeOp(rows)
		if err != nil {
			return nil, classify(err, "tree ops")
		}
		out = append(out, op)
	}
	return out, classify(rows.Err(), "tree ops")
}

func (t *tx) UpdateTreeOp(ctx context.Context, op *shelf.TreeOp) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE tree_ops SET phase = ?, cursor = ?, done = ?, token = ?, lease_until = ?, updated_at = ?
		WHERE id = ? AND workspace_id = ?`,
		op.Phase, op.Cursor, op.Done, op.Token, nanos(op.LeaseUntil), nanos(op.UpdatedAt), op.ID, op.WorkspaceID)
	if err != nil {
		return classify(err, "tree op")
	}
	return ensureFound(res, "tree op")
}

func (t *tx) DeleteTreeOp(ctx context.Context, workspaceID, id string) error {
	res, err := t.tx.ExecContext(ctx, "DELETE FROM tree_ops WHERE id = ? AND workspace_id = ?", id, workspaceID)
	if err != nil {
		return classify(err, "tree op")
	}
	return ensureFound(res, "tree op")
}

func (t *tx) ClaimTreeOps(ctx context.Context, now, leaseUntil time.Time, token string, n int) ([]*shelf.TreeOp, error) {
	if n <= 0 {
		return nil, invalid("n %d is not positive", n)
	}
	ops, err := t.queryTreeOps(ctx, `UPDATE tree_ops SET token = ?, lease_until = ?, updated_at = ?
		WHERE id IN (SELECT id FROM tree_ops WHERE lease_until < ? ORDER BY created_at, id LIMIT ?)
		RETURNING `+treeOpCols, token, nanos(leaseUntil), nanos(now), nanos(now), n)
	slices.SortFunc(ops, func(a, b *shelf.TreeOp) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return ops, err
}

func (t *tx) ExpiredTreeOps(ctx context.Context, now time.Time) (bool, error) {
	var found bool
	err := t.tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM tree_ops WHERE lease_until < ?)", nanos(now)).Scan(&found)
	return found, classify(err, "tree ops")
}

// SnapshotItemsAt looks the paths up through the (snapshot_id, path) key,
// a chunk of them per statement.
func (t *tx) SnapshotItemsAt(ctx context.Context, workspaceID, snapshotID string, paths []string) (map[string]*shelf.Item, error) {
	out := make(map[string]*shelf.Item, len(paths))
	for chunk := range slices.Chunk(paths, takenPathsChunk) {
		args := []any{snapshotID, workspaceID}
		for _, p := range chunk {
			args = append(args, p)
		}
		items, err := t.queryItems(ctx, "snapshot items", snapshotItemSelect+`
			WHERE si.snapshot_id = ? AND s.workspace_id = ? AND si.path IN (`+
			strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")+")", args...)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			out[it.Path] = it
		}
	}
	return out, nil
}

func (t *tx) DeleteSnapshotItems(ctx context.Context, workspaceID, snapshotID string, limit int) (int, error) {
	if limit <= 0 {
		return 0, invalid("limit %d is not positive", limit)
	}
	return affected(t.tx.ExecContext(ctx, `DELETE FROM snapshot_items WHERE snapshot_id = ?1 AND path IN
		(SELECT path FROM snapshot_items WHERE snapshot_id = ?1
			AND EXISTS (SELECT 1 FROM snapshots WHERE id = ?1 AND workspace_id = ?2)
			ORDER BY path LIMIT ?3)`, snapshotID, workspaceID, limit))
}
