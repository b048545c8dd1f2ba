package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/shelfmem/shelf"
)

// nanos returns t as unix nanoseconds, the zero time as 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is the inverse of nanos; it returns UTC times.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// nullable returns nil for "", so that an absent reference is NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

func (t *tx) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := t.tx.QueryRowContext(ctx, "SELECT value FROM settings WHERE name = ?", name).Scan(&v)
	return v, classify(err, "setting")
}

func (t *tx) SetSetting(ctx context.Context, name, value string) error {
	_, err := t.tx.ExecContext(ctx,
		"INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
		name, value)
	return classify(err, "setting")
}

func (t *tx) CreateWorkspace(ctx context.Context, w *shelf.Workspace) error {
	_, err := t.tx.ExecContext(ctx,
		"INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)",
		w.ID, w.Name, nanos(w.CreatedAt))
	return classify(err, "workspace")
}

const workspaceCols = "id, name, created_at"

func scanWorkspace(s scanner) (*shelf.Workspace, error) {
	var w shelf.Workspace
	var created int64
	if err := s.Scan(&w.ID, &w.Name, &created); err != nil {
		return nil, err
	}
	w.CreatedAt = fromNanos(created)
	return &w, nil
}

func (t *tx) Workspace(ctx context.Context, id string) (*shelf.Workspace, error) {
	w, err := scanWorkspace(t.tx.QueryRowContext(ctx,
		"SELECT "+workspaceCols+" FROM workspaces WHERE id = ?", id))
	return w, classify(err, "workspace")
}

// Workspaces lists every workspace, oldest first.
func (t *tx) Workspaces(ctx context.Context) ([]*shelf.Workspace, error) {
	rows, err := t.tx.QueryContext(ctx, "SELECT "+workspaceCols+" FROM workspaces ORDER BY created_at, id")
	if err != nil {
		return nil, classify(err, "workspaces")
	}
	defer rows.Close()
	var ws []*shelf.Workspace
	for rows.Next() {
		w, err := scanWorkspace(rows)
		if err != nil {
			return nil, classify(err, "workspaces")
		}
		ws = append(ws, w)
	}
	return ws, classify(rows.Err(), "workspaces")
}

func (t *tx) CreateKey(ctx context.Context, k *shelf.Key) error {
	scopes := make([]string, len(k.Scopes))
	for i, s := range k.Scopes {
		scopes[i] = string(s)
	}
	hash := k.Hash
	if hash == nil {
		hash = []byte{} // the driver binds a nil slice as NULL
	}
	_, err := t.tx.ExecContext(ctx,
		"INSERT INTO keys ("+keyCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		k.ID, k.WorkspaceID, k.Name, strings.Join(scopes, ","), hash, nanos(k.CreatedAt),
		nanos(k.ExpiresAt), nanos(k.LastUsedAt), ratePerSecond(k.RateLimit), rateBurst(k.RateLimit))
	return classify(err, "key")
}

const keyCols = "id, workspace_id, name, scopes, hash, created_at, expires_at, last_used_at, rate_per_second, rate_burst"

// ratePerSecond and rateBurst bind a key's own rate limit: NULL and 0 for
// none.
func ratePerSecond(l *shelf.RateLimit) sql.NullFloat64 {
	if l == nil {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: l.PerSecond, Valid: true}
}

func rateBurst(l *shelf.RateLimit) int {
	if l == nil {
		return 0
	}
	return l.Burst
}

func scanKey(s scanner) (*shelf.Key, error) {
	var k shelf.Key
	var scopes string
	var created, expires, used int64
	var perSecond sql.NullFloat64
	var burst int
	if err := s.Scan(&k.ID, &k.WorkspaceID, &k.Name, &scopes, &k.Hash, &created, &expires, &used, &perSecond, &burst); err != nil {
		return nil, err
	}
	if perSecond.Valid {
		k.RateLimit = &shelf.RateLimit{PerSecond: perSecond.Float64, Burst: burst}
	}
	k.ExpiresAt, k.LastUsedAt = fromNanos(expires), fromNanos(used)
	if scopes != "" {
		for s := range strings.SplitSeq(scopes, ",") {
			k.Scopes = append(k.Scopes, shelf.Scope(s))
		}
	}
	k.CreatedAt = fromNanos(created)
	return &k, nil
}

func (t *tx) Key(ctx context.Context, id string) (*shelf.Key, error) {
	k, err := scanKey(t.tx.QueryRowContext(ctx, "SELECT "+keyCols+" FROM keys WHERE id = ?", id))
	return k, classify(err, "key")
}

func (t *tx) Keys(ctx context.Context, workspaceID string) ([]*shelf.Key, error) {
	rows, err := t.tx.QueryContext(ctx,
		"SELECT "+keyCols+" FROM keys WHERE workspace_id = ? ORDER BY created_at, id", workspaceID)
	if err != nil {
		return nil, classify(err, "keys")
	}
	defer rows.Close()
	var ks []*shelf.Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, classify(err, "keys")
		}
		ks = append(ks, k)
	}
	return ks, classify(rows.Err(), "keys")
}

func (t *tx) DeleteKey(ctx context.Context, workspaceID, id string) error {
	res, err := t.tx.ExecContext(ctx, "DELETE FROM keys WHERE id = ? AND workspace_id = ?", id, workspaceID)
	if err != nil {
		return classify(err, "key")
	}
	return ensureFound(res, "key")
}

func (t *tx) CreateLibrary(ctx context.Context, l *shelf.Library) error {
	xattrs, err := encodeXAttrs(l.XAttrs)
	if err != nil {
		return shelf.Wrap(err, "sqlite: encode x_attrs")
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO libraries (`+libraryCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		l.ID, l.WorkspaceID, l.Slug, l.Name, l.Kind, l.Embedded, l.Shared, l.RootID,
		nanos(l.CreatedAt), nanos(l.UpdatedAt), l.SourceType, l.Description, nullable(string(l.Metadata)), xattrs)
	return classify(err, "library")
}

const libraryCols = "id, workspace_id, slug, name, kind, embedded, shared, root_id, created_at, updated_at, source_type, " +
	"description, metadata, x_attrs"

func scanLibrary(s scanner) (*shelf.Library, error) {
	var l shelf.Library
	var created, updated int64
	var metadata sql.NullString
	var xattrs string
	if err := s.Scan(&l.ID, &l.WorkspaceID, &l.Slug, &l.Name, &l.Kind, &l.Embedded, &l.Shared,
		&l.RootID, &created, &updated, &l.SourceType, &l.Description, &metadata, &xattrs); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(xattrs), &l.XAttrs); err != nil {
		return nil, err
	}
	if l.XAttrs == nil {
		l.XAttrs = map[string]string{}
	}
	if metadata.Valid {
		l.Metadata = json.RawMessage(metadata.String)
	}
	l.CreatedAt, l.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &l, nil
}

func (t *tx) Library(ctx context.Context, workspaceID, id string) (*shelf.Library, error) {
	l, err := scanLibrary(t.tx.QueryRowContext(ctx,
		"SELECT "+libraryCols+" FROM libraries WHERE id = ? AND workspace_id = ?", id, workspaceID))
	return l, classify(err, "library")
}

func (t *tx) LibraryBySlug(ctx context.Context, workspaceID, slug string) (*shelf.Library, error) {
	l, err := scanLibrary(t.tx.QueryRowContext(ctx,
		"SELECT "+libraryCols+" FROM libraries WHERE workspace_id = ? AND slug = ?", workspaceID, slug))
	return l, classify(err, "library")
}

// UpdateLibrary writes every field but ID, WorkspaceID and CreatedAt.
func (t *tx) UpdateLibrary(ctx context.Context, l *shelf.Library) error {
	xattrs, err := encodeXAttrs(l.XAttrs)
	if err != nil {
		return shelf.Wrap(err, "sqlite: encode x_attrs")
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE libraries
		SET slug = ?, name = ?, kind = ?, embedded = ?, shared = ?, root_id = ?, updated_at = ?, source_type = ?,
			description = ?, metadata = ?, x_attrs = ?
		WHERE id = ? AND workspace_id = ?`,
		l.Slug, l.Name, l.Kind, l.Embedded, l.Shared, l.RootID, nanos(l.UpdatedAt), l.SourceType,
		l.Description, nullable(string(l.Metadata)), xattrs, l.ID, l.WorkspaceID)
	if err != nil {
		return classify(err, "library")
	}
	return ensureFound(res, "library")
}

// ListLibraries builds one SELECT; the index on (workspace_id, kind,
// created_at, id) serves a kind's pages.
func (t *tx) ListLibraries(ctx context.Context, workspaceID string, q shelf.LibraryQuery) ([]*shelf.Library, error) {
	if q.Limit <= 0 {
		return nil, invalid("limit %d is not positive", q.Limit)
	}
	var where strings.Builder
	args := []any{workspaceID}
	where.WriteString("workspace_id = ?")
	if q.Kind != "" {
		where.WriteString(" AND kind = ?")
		args = append(args, q.Kind)
	}
	order := "ASC"
	cmp := ">"
	if q.Desc {
		order, cmp = "DESC", "<"
	}
	if q.AfterID != "" {
		where.WriteString(" AND (created_at, id) " + cmp + " (?, ?)")
		args = append(args, nanos(q.AfterTime), q.AfterID)
	}
	if q.NameContains != "" {
		where.WriteString(` AND name LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscape(q.NameContains)+"%")
	}
	args = metadataEquals(&where, "metadata", q.Metadata, args)
	for _, k := range sortedKeys(q.XAttrs) {
		where.WriteString(" AND json_extract(x_attrs, ?) = ?")
		args = append(args, jsonPath(k), q.XAttrs[k])
	}
	args = append(args, q.Limit)
	return t.queryLibraries(ctx, "SELECT "+libraryCols+" FROM libraries WHERE "+where.String()+
		" ORDER BY created_at "+order+", id "+order+" LIMIT ?", args...)
}

// DeleteLibrary deletes the library's items (their versions go with them)
// and then the library.
func (t *tx) DeleteLibrary(ctx context.Context, workspaceID, id string) error {
	if _, err := t.tx.ExecContext(ctx, "DELETE FROM items WHERE library_id = ? AND workspace_id = ?", id, workspaceID); err != nil {
		return classify(err, "library")
	}
	res, err := t.tx.ExecContext(ctx, "DELETE FROM libraries WHERE id = ? AND workspace_id = ?", id, workspaceID)
	if err != nil {
		return classify(err, "library")
	}
	return ensureFound(res, "library")
}

// Libraries lists a workspace's libraries of a kind ("" for all), oldest first.
func (t *tx) Libraries(ctx context.Context, workspaceID, kind string) ([]*shelf.Library, error) {
	return t.queryLibraries(ctx, "SELECT "+libraryCols+` FROM libraries
		WHERE workspace_id = ? AND (? = '' OR kind = ?) ORDER BY created_at, id`, workspaceID, kind, kind)
}

func (t *tx) queryLibraries(ctx context.Context, q string, args ...any) ([]*shelf.Library, error) {
	rows, err := t.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, classify(err, "libraries")
	}
	defer rows.Close()
	var out []*shelf.Library
	for rows.Next() {
		l, err := scanLibrary(rows)
		if err != nil {
			return nil, classify(err, "libraries")
		}
		out = append(out, l)
	}
	return out, classify(rows.Err(), "libraries")
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// jsonPath is the SQLite JSON path of an object's key, quoted so that
// dots and brackets in the key are part of it. The core refuses keys with
// a quote or a backslash, which the path syntax cannot hold.
func jsonPath(key string) string { return `$."` + key + `"` }

// metadataEquals adds to where a condition per key of m that the JSON
// object in col holds the key with the value: a string equal to it, or a
// number or boolean whose JSON text is. It returns args with the
// condition's arguments.
func metadataEquals(where *strings.Builder, col string, m map[string]string, args []any) []any {
	for _, k := range sortedKeys(m) {
		p := jsonPath(k)
		where.WriteString(` AND json_valid(` + col + `) AND (CASE json_type(` + col + `, ?) WHEN 'text' THEN json_extract(` + col + `, ?)
			WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(json_extract(` + col + `, ?) AS TEXT) END) = ?`)
		args = append(args, p, p, p, m[k])
	}
	return args
}
