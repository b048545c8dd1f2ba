package sqlite

import (
	"context"

	"github.com/shelfmem/shelf"
)

const snapshotCols = "id, workspace_id, library_id, trigger, file_count, created_at"

func scanSnapshot(s scanner) (*shelf.Snapshot, error) {
	var sn shelf.Snapshot
	var created int64
	if err := s.Scan(&sn.ID, &sn.WorkspaceID, &sn.LibraryID, &sn.Trigger, &sn.FileCount, &created); err != nil {
		return nil, err
	}
	sn.CreatedAt = fromNanos(created)
	return &sn, nil
}

// CreateSnapshot copies the tree in one INSERT … SELECT: no row passes
// through Go.
func (t *tx) CreateSnapshot(ctx context.Context, sn *shelf.Snapshot) error {
	res, err := t.tx.ExecContext(ctx, `INSERT INTO snapshots (`+snapshotCols+`)
		SELECT ?, ?, ?, ?, 0, ? FROM libraries WHERE id = ? AND workspace_id = ?`,
		sn.ID, sn.WorkspaceID, sn.LibraryID, sn.Trigger, nanos(sn.CreatedAt), sn.LibraryID, sn.WorkspaceID)
	if err != nil {
		return classify(err, "snapshot")
	}
	if err := ensureFound(res, "library"); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO snapshot_items (snapshot_id, item_id, parent_id, type, name, path,
			x_attrs, head, size, hash, content_type, created_at, updated_at, external_id, title, scope, owner, metadata, hidden)
		SELECT ?, id, parent_id, type, name, path, x_attrs, head, size, hash, content_type, created_at, updated_at,
			external_id, title, scope, owner, metadata, hidden
		FROM items WHERE library_id = ? AND workspace_id = ? AND parent_id IS NOT NULL`,
		sn.ID, sn.LibraryID, sn.WorkspaceID); err != nil {
		return classify(err, "snapshot items")
	}
	if err := t.tx.QueryRowContext(ctx, `UPDATE snapshots SET file_count =
			(SELECT count(*) FROM snapshot_items WHERE snapshot_id = ?1 AND type = 'file')
		WHERE id = ?1 RETURNING file_count`, sn.ID).Scan(&sn.FileCount); err != nil {
		return classify(err, "snapshot")
	}
	return nil
}

func (t *tx) Snapshots(ctx context.Context, workspaceID, libraryID string) ([]*shelf.Snapshot, error) {
	rows, err := t.tx.QueryContext(ctx, "SELECT "+snapshotCols+` FROM snapshots
		WHERE library_id = ? AND workspace_id = ? ORDER BY created_at DESC, id DESC`, libraryID, workspaceID)
	if err != nil {
		return nil, classify(err, "snapshots")
	}
	defer rows.Close()
	out := []*shelf.Snapshot{}
	for rows.Next() {
		sn, err := scanSnapshot(rows)
		if err != nil {
			return nil, classify(err, "snapshots")
		}
		out = append(out, sn)
	}
	return out, classify(rows.Err(), "snapshots")
}

func (t *tx) Snapshot(ctx context.Context, workspaceID, libraryID, id string) (*shelf.Snapshot, error) {
	sn, err := scanSnapshot(t.tx.QueryRowContext(ctx, "SELECT "+snapshotCols+` FROM snapshots
		WHERE id = ? AND library_id = ? AND workspace_id = ?`, id, libraryID, workspaceID))
	return sn, classify(err, "snapshot")
}

func (t *tx) DeleteSnapshot(ctx context.Context, workspaceID, libraryID, id string) error {
	res, err := t.tx.ExecContext(ctx, "DELETE FROM snapshots WHERE id = ? AND library_id = ? AND workspace_id = ?",
		id, libraryID, workspaceID)
	if err != nil {
		return classify(err, "snapshot")
	}
	return ensureFound(res, "snapshot")
}

// SnapshotItems reads a page through the (snapshot_id, path) key. The
// index columns read as empty: a snapshot keeps no index state.
func (t *tx) SnapshotItems(ctx context.Context, workspaceID, snapshotID, after string, limit int) ([]*shelf.Item, error) {
	if limit <= 0 {
		return nil, invalid("limit %d is not positive", limit)
	}
	return t.queryItems(ctx, "snapshot items", snapshotItemSelect+`
		WHERE si.snapshot_id = ? AND s.workspace_id = ? AND si.path > ?
		ORDER BY si.path LIMIT ?`, snapshotID, workspaceID, after, limit)
}

// snapshotItemSelect reads snapshot rows si as items (of snapshot s).
const snapshotItemSelect = `SELECT si.item_id, s.workspace_id, s.library_id, si.parent_id, si.type,
			si.name, si.path, si.x_attrs, si.head, si.size, si.hash, si.content_type, si.created_at, si.updated_at,
			si.external_id, si.title, si.scope, si.owner, si.metadata, si.hidden, '', 0, 0, 0, ''
		FROM snapshot_items si JOIN snapshots s ON s.id = si.snapshot_id`

func (t *tx) PutSnapshot(ctx context.Context, sn *shelf.Snapshot) error {
	res, err := t.tx.ExecContext(ctx, `INSERT INTO snapshots (`+snapshotCols+`)
		SELECT ?, ?, ?, ?, ?, ? FROM libraries WHERE id = ? AND workspace_id = ?`,
		sn.ID, sn.WorkspaceID, sn.LibraryID, sn.Trigger, sn.FileCount, nanos(sn.CreatedAt), sn.LibraryID, sn.WorkspaceID)
	if err != nil {
		return classify(err, "snapshot")
	}
	return ensureFound(res, "library")
}

// AddSnapshotItems inserts row by row through a cached statement, each
// through a SELECT of the snapshot, so that rows only go into a snapshot
// of their own workspace.
func (t *tx) AddSnapshotItems(ctx context.Context, workspaceID, snapshotID string, items []*shelf.Item) error {
	files := 0
	for _, it := range items {
		xattrs, err := encodeXAttrs(it.XAttrs)
		if err != nil {
			return shelf.Wrap(err, "sqlite: encode x_attrs")
		}
		res, err := t.tx.ExecContext(ctx, `INSERT INTO snapshot_items (snapshot_id, item_id, parent_id, type, name, path,
				x_attrs, head, size, hash, content_type, created_at, updated_at, external_id, title, scope, owner, metadata, hidden)
			SELECT id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM snapshots WHERE id = ? AND workspace_id = ?`,
			it.ID, it.ParentID, string(it.Type), it.Name, it.Path, xattrs, it.Head, it.Size, it.Hash, it.ContentType,
			nanos(it.CreatedAt), nanos(it.UpdatedAt), nullable(it.ExternalID), it.Title, it.Scope, it.Owner,
			nullable(string(it.Metadata)), it.Hidden, snapshotID, workspaceID)
		if err != nil {
			return classify(err, "snapshot item")
		}
		if err := ensureFound(res, "snapshot"); err != nil {
			return err
		}
		if it.Type == shelf.TypeFile {
			files++
		}
	}
	if files == 0 {
		return nil
	}
	res, err := t.tx.ExecContext(ctx, "UPDATE snapshots SET file_count = file_count + ? WHERE id = ? AND workspace_id = ?",
		files, snapshotID, workspaceID)
	if err != nil {
		return classify(err, "snapshot")
	}
	return ensureFound(res, "snapshot")
}
