package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"

	"github.com/shelfmem/shelf"
)

// takenPathsChunk bounds the number of paths bound into one IN list.
const takenPathsChunk = 500

const itemCols = "id, workspace_id, library_id, parent_id, type, name, path, x_attrs, head, size, hash, content_type, created_at, updated_at, " +
	"external_id, title, scope, owner, metadata, hidden, " +
	"index_state, indexed_at, indexing_started_at, indexing_errored_at, indexing_error"

// itemScanner holds the scan targets of itemCols and makes the item.
type itemScanner struct {
	it                                          shelf.Item
	parent, external, metadata                  sql.NullString
	xattrs                                      string
	created, updated, indexed, started, errored int64
}

func (s *itemScanner) targets() []any {
	it := &s.it
	return []any{&it.ID, &it.WorkspaceID, &it.LibraryID, &s.parent, &it.Type, &it.Name, &it.Path,
		&s.xattrs, &it.Head, &it.Size, &it.Hash, &it.ContentType, &s.created, &s.updated,
		&s.external, &it.Title, &it.Scope, &it.Owner, &s.metadata, &it.Hidden,
		&it.Index.State, &s.indexed, &s.started, &s.errored, &it.Index.Error}
}

func (s *itemScanner) item() (*shelf.Item, error) {
	it := s.it
	if s.xattrs == "{}" { // most items: skip the JSON decoder
		it.XAttrs = map[string]string{}
	} else if err := json.Unmarshal([]byte(s.xattrs), &it.XAttrs); err != nil {
		return nil, err
	}
	if s.metadata.Valid {
		it.Metadata = json.RawMessage(s.metadata.String)
	}
	it.ParentID, it.ExternalID = s.parent.String, s.external.String
	it.CreatedAt, it.UpdatedAt = fromNanos(s.created), fromNanos(s.updated)
	it.Index.IndexedAt, it.Index.StartedAt, it.Index.ErroredAt = fromNanos(s.indexed), fromNanos(s.started), fromNanos(s.errored)
	return &it, nil
}

func scanItem(sc scanner) (*shelf.Item, error) {
	var s itemScanner
	if err := sc.Scan(s.targets()...); err != nil {
		return nil, err
	}
	return s.item()
}

// encodeXAttrs returns it.XAttrs as a JSON object; nil gives "{}".
func encodeXAttrs(x map[string]string) (string, error) {
	if x == nil {
		return "{}", nil
	}
	b, err := json.Marshal(x)
	return string(b), err
}

// CreateItem inserts it. The library must exist in it.WorkspaceID, or it
// fails with ENOTFOUND.
func (t *tx) CreateItem(ctx context.Context, it *shelf.Item) error {
	xattrs, err := encodeXAttrs(it.XAttrs)
	if err != nil {
		return shelf.Wrap(err, "sqlite: encode x_attrs")
	}
	// Insert through a SELECT of the library, so that an item can only go
	// into a library of its own workspace.
	res, err := t.tx.ExecContext(ctx, `INSERT INTO items (`+itemCols+`)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
			?21, ?22, ?23, ?24, ?25
		FROM libraries WHERE id = ?3 AND workspace_id = ?2`,
		it.ID, it.WorkspaceID, it.LibraryID, nullable(it.ParentID), string(it.Type), it.Name, it.Path,
		xattrs, it.Head, it.Size, it.Hash, it.ContentType, nanos(it.CreatedAt), nanos(it.UpdatedAt),
		nullable(it.ExternalID), it.Title, it.Scope, it.Owner, nullable(string(it.Metadata)), it.Hidden,
		it.Index.State, nanos(it.Index.IndexedAt), nanos(it.Index.StartedAt), nanos(it.Index.ErroredAt), it.Index.Error)
	if err != nil {
		return classify(err, "item")
	}
	return ensureFound(res, "library")
}

func (t *tx) Item(ctx context.Context, workspaceID, id string) (*shelf.Item, error) {
	it, err := scanItem(t.tx.QueryRowContext(ctx,
		"SELECT "+itemCols+" FROM items WHERE id = ? AND workspace_id = ?", id, workspaceID))
	return it, classify(err, "item")
}

func (t *tx) ItemByExternalID(ctx context.Context, workspaceID, libraryID, externalID string) (*shelf.Item, error) {
	it, err := scanItem(t.tx.QueryRowContext(ctx,
		"SELECT "+itemCols+" FROM items WHERE library_id = ? AND external_id = ? AND workspace_id = ?",
		libraryID, externalID, workspaceID))
	return it, classify(err, "item")
}

func (t *tx) ItemByPath(ctx context.Context, workspaceID, libraryID, path string) (*shelf.Item, error) {
	it, err := scanItem(t.tx.QueryRowContext(ctx,
		"SELECT "+itemCols+" FROM items WHERE library_id = ? AND path = ? AND workspace_id = ?",
		libraryID, path, workspaceID))
	return it, classify(err, "item")
}

// childrenQuery takes parent_id, workspace_id, after, the viewer, whether
// hidden items count, and limit.
const childrenQuery = "SELECT " + itemCols + ` FROM items
	WHERE parent_id = ? AND workspace_id = ? AND name > ?
		AND (scope <> 'private' OR owner = ?) AND (hidden = 0 OR ?)
	ORDER BY name LIMIT ?`

// Children pages through the index on (parent_id, name), so a page costs
// the same whatever the folder's size. A parent that does not exist, or is
// in another workspace, has no children. limit must be positive.
func (t *tx) Children(ctx context.Context, workspaceID, parentID, after string, limit int, f shelf.ItemFilter) ([]*shelf.Item, error) {
	if limit <= 0 {
		return nil, invalid("page size %d is not positive", limit)
	}
	return t.queryItems(ctx, "children", childrenQuery, parentID, workspaceID, after, f.Viewer, f.WithHidden, limit)
}

// QueryItems builds one SELECT from the query's set fields; the items
// index on (workspace_id, created_at, id) gives the order.
func (t *tx) QueryItems(ctx context.Context, workspaceID string, q shelf.ItemQuery) ([]*shelf.Item, error) {
	if q.Limit <= 0 {
		return nil, invalid("limit %d is not positive", q.Limit)
	}
	if q.LibraryIDs != nil && len(q.LibraryIDs) == 0 {
		return nil, nil
	}
	query, args := itemQuerySQL(workspaceID, q)
	return t.queryItems(ctx, "items", query, args...)
}

// itemQuerySQL returns QueryItems' SELECT and its arguments.
func itemQuerySQL(workspaceID string, q shelf.ItemQuery) (string, []any) {
	var where strings.Builder
	args := []any{workspaceID, q.Viewer}
	where.WriteString("workspace_id = ? AND parent_id IS NOT NULL AND (scope <> 'private' OR owner = ?)")
	in := func(col string, vals []string) {
		where.WriteString(" AND " + col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ") + ")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	if q.LibraryIDs != nil {
		in("library_id", q.LibraryIDs)
	}
	if len(q.IDs) > 0 {
		in("id", q.IDs)
	}
	if len(q.ExternalIDs) > 0 {
		in("external_id", q.ExternalIDs)
	}
	if q.ExternalIDPrefix != "" {
		// A range of the (library_id, external_id) index; TEXT compares
		// bytewise (BINARY).
		where.WriteString(" AND external_id >= ?")
		args = append(args, q.ExternalIDPrefix)
		if hi, ok := prefixEnd(q.ExternalIDPrefix); ok {
			where.WriteString(" AND external_id < ?")
			args = append(args, hi)
		}
	}
	if q.Type != "" {
		where.WriteString(" AND type = ?")
		args = append(args, string(q.Type))
	}
	if !q.CreatedAfter.IsZero() {
		where.WriteString(" AND created_at >= ?")
		args = append(args, nanos(q.CreatedAfter))
	}
	if !q.CreatedBefore.IsZero() {
		where.WriteString(" AND created_at < ?")
		args = append(args, nanos(q.CreatedBefore))
	}
	if q.Hidden != nil {
		where.WriteString(" AND hidden = ?")
		args = append(args, *q.Hidden)
	}
	args = append(args, q.Limit)
	return "SELECT " + itemCols + " FROM items WHERE " + where.String() + " ORDER BY created_at, id LIMIT ?", args
}

// prefixEnd returns the least string above every string that starts with
// p, or ok=false when there is none (p is all 0xff bytes).
func prefixEnd(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// queryItems runs a SELECT of itemCols and scans every row.
func (t *tx) queryItems(ctx context.Context, what, q string, args ...any) ([]*shelf.Item, error) {
	rows, err := t.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, classify(err, what)
	}
	defer rows.Close()
	var items []*shelf.Item
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, classify(err, what)
		}
		items = append(items, it)
	}
	return items, classify(rows.Err(), what)
}

func (t *tx) TakenPaths(ctx context.Context, workspaceID, libraryID string, paths []string) (map[string]bool, error) {
	taken := make(map[string]bool)
	for chunk := range slices.Chunk(paths, takenPathsChunk) {
		args := make([]any, 0, len(chunk)+2)
		args = append(args, libraryID, workspaceID)
		for _, p := range chunk {
			args = append(args, p)
		}
		q := "SELECT path FROM items WHERE library_id = ? AND workspace_id = ? AND path IN (?" +
			strings.Repeat(", ?", len(chunk)-1) + ")"
		if err := t.collectStrings(ctx, q, args, taken); err != nil {
			return nil, err
		}
	}
	return taken, nil
}

// collectStrings runs q and sets taken[s] for every string s it returns.
func (t *tx) collectStrings(ctx context.Context, q string, args []any, taken map[string]bool) error {
	rows, err := t.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return classify(err, "taken paths")
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return classify(err, "taken paths")
		}
		taken[n] = true
	}
	return classify(rows.Err(), "taken paths")
}

func (t *tx) UpdateItem(ctx context.Context, it *shelf.Item) error {
	xattrs, err := encodeXAttrs(it.XAttrs)
	if err != nil {
		return shelf.Wrap(err, "sqlite: encode x_attrs")
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE items
		SET parent_id = ?, name = ?, path = ?, x_attrs = ?, head = ?, size = ?, hash = ?,
			content_type = ?, updated_at = ?, external_id = ?, title = ?, scope = ?, owner = ?,
			metadata = ?, hidden = ?, index_state = ?, indexed_at = ?, indexing_started_at = ?,
			indexing_errored_at = ?, indexing_error = ?
		WHERE id = ? AND workspace_id = ?`,
		nullable(it.ParentID), it.Name, it.Path, xattrs, it.Head, it.Size, it.Hash,
		it.ContentType, nanos(it.UpdatedAt), nullable(it.ExternalID), it.Title, it.Scope, it.Owner,
		nullable(string(it.Metadata)), it.Hidden, it.Index.State, nanos(it.Index.IndexedAt), nanos(it.Index.StartedAt),
		nanos(it.Index.ErroredAt), it.Index.Error, it.ID, it.WorkspaceID)
	if err != nil {
		return classify(err, "item")
	}
	return ensureFound(res, "item")
}

// Tree pages through the (library_id, path) index: the paths strictly
// below q.Under are one range of it.
func (t *tx) Tree(ctx context.Context, workspaceID string, q shelf.TreeQuery) ([]*shelf.Item, error) {
	if q.Limit <= 0 {
		return nil, invalid("limit %d is not positive", q.Limit)
	}
	lo, hi := subtree(q.Under)
	if q.Under == "" {
		lo, hi = "", "\xff" // every path but the root's, which is ""; no valid UTF-8 path starts with 0xff
	}
	if q.After > lo {
		lo = q.After
	}
	typ := string(q.Type)
	return t.queryItems(ctx, "tree", "SELECT "+itemCols+` FROM items
		WHERE library_id = ? AND workspace_id = ? AND path > ? AND path < ?
			AND (? = '' OR type = ?) AND (scope <> 'private' OR owner = ? OR ?) AND (hidden = 0 OR ?)
		ORDER BY path LIMIT ?`,
		q.LibraryID, workspaceID, lo, hi, typ, typ, q.Filter.Viewer, q.Filter.AllScopes, q.Filter.WithHidden, q.Limit)
}

// subtree returns the bounds of the paths strictly below p: every such
// path starts with p+"/", and '0' is the byte after '/', so under bytewise
// comparison they are exactly the paths in (p+"/", p+"0").
func subtree(p string) (lo, hi string) { return p + "/", p + "0" }

// MovePaths rewrites the paths strictly below oldPath. The prefix is cut
// by bytes (substr over a BLOB), since substr and length over TEXT count
// characters. The root ("") has no path to move from or to: EINVALID.
func (t *tx) MovePaths(ctx context.Context, workspaceID, libraryID, oldPath, newPath string) error {
	if oldPath == "" || newPath == "" {
		return invalid("a library root cannot be moved")
	}
	lo, hi := subtree(oldPath)
	_, err := t.tx.ExecContext(ctx, `UPDATE items
		SET path = ?1 || CAST(substr(CAST(path AS BLOB), ?2) AS TEXT)
		WHERE library_id = ?3 AND workspace_id = ?4 AND path > ?5 AND path < ?6`,
		newPath, len(oldPath)+1, libraryID, workspaceID, lo, hi)
	return classify(err, "item")
}

// deleteBelowQuery takes library_id, workspace_id and the bounds of a
// subtree.
const deleteBelowQuery = "DELETE FROM items WHERE library_id = ? AND workspace_id = ? AND path > ? AND path < ?"

// DeleteTree deletes by a range scan of the (library_id, path) index, and
// the versions go by ON DELETE CASCADE through the (item_id, number) index.
func (t *tx) DeleteTree(ctx context.Context, workspaceID, id string) (int, error) {
	var libraryID, path string
	err := t.tx.QueryRowContext(ctx, "SELECT library_id, path FROM items WHERE id = ? AND workspace_id = ?",
		id, workspaceID).Scan(&libraryID, &path)
	if err != nil {
		return 0, classify(err, "item")
	}
	if path == "" {
		res, err := t.tx.ExecContext(ctx, "DELETE FROM items WHERE library_id = ? AND workspace_id = ?",
			libraryID, workspaceID)
		return affected(res, err)
	}
	lo, hi := subtree(path)
	below, err := affected(t.tx.ExecContext(ctx, deleteBelowQuery, libraryID, workspaceID, lo, hi))
	if err != nil {
		return 0, err
	}
	self, err := affected(t.tx.ExecContext(ctx, "DELETE FROM items WHERE id = ?", id))
	return below + self, err
}

// affected returns the number of rows a delete removed.
func affected(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, classify(err, "item")
	}
	n, err := res.RowsAffected()
	return int(n), classify(err, "item")
}

// CreateVersion inserts v. The item must exist in v.WorkspaceID, or it
// fails with ENOTFOUND.
func (t *tx) CreateVersion(ctx context.Context, v *shelf.Version) error {
	res, err := t.tx.ExecContext(ctx, `INSERT INTO versions
		(id, item_id, workspace_id, number, hash, size, content_type, created_at)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 FROM items WHERE id = ?2 AND workspace_id = ?3`,
		v.ID, v.ItemID, v.WorkspaceID, v.Number, v.Hash, v.Size, v.ContentType, nanos(v.CreatedAt))
	if err != nil {
		return classify(err, "version")
	}
	return ensureFound(res, "item")
}

const versionCols = "id, item_id, workspace_id, number, hash, size, content_type, created_at"

func scanVersion(s scanner) (*shelf.Version, error) {
	var v shelf.Version
	var created int64
	if err := s.Scan(&v.ID, &v.ItemID, &v.WorkspaceID, &v.Number, &v.Hash, &v.Size, &v.ContentType, &created); err != nil {
		return nil, err
	}
	v.CreatedAt = fromNanos(created)
	return &v, nil
}

func (t *tx) Version(ctx context.Context, workspaceID, itemID string, number int64) (*shelf.Version, error) {
	v, err := scanVersion(t.tx.QueryRowContext(ctx,
		"SELECT "+versionCols+" FROM versions WHERE item_id = ? AND number = ? AND workspace_id = ?",
		itemID, number, workspaceID))
	return v, classify(err, "version")
}

// Versions lists an item's versions, newest first; an item that does not
// exist, or is in another workspace, has none.
func (t *tx) Versions(ctx context.Context, workspaceID, itemID string) ([]*shelf.Version, error) {
	rows, err := t.tx.QueryContext(ctx,
		"SELECT "+versionCols+" FROM versions WHERE item_id = ? AND workspace_id = ? ORDER BY number DESC",
		itemID, workspaceID)
	if err != nil {
		return nil, classify(err, "versions")
	}
	defer rows.Close()
	var vs []*shelf.Version
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, classify(err, "versions")
		}
		vs = append(vs, v)
	}
	return vs, classify(rows.Err(), "versions")
}
