package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/shelfmem/shelf"
)

// ListKeys counts and pages with the same name filter; the index on
// (workspace_id, created_at) gives the order. The filter is a LIKE with
// its own wildcards escaped, which SQLite compares without case for ASCII
// letters.
func (t *tx) ListKeys(ctx context.Context, workspaceID string, q shelf.KeyQuery) ([]*shelf.Key, int, error) {
	if q.Limit <= 0 {
		return nil, 0, invalid("page limit %d out of range", q.Limit)
	}
	where := "workspace_id = ?"
	args := []any{workspaceID}
	if q.NameContains != "" {
		where += ` AND name LIKE ? ESCAPE '\'`
		args = append(args, "%"+likeEscape(q.NameContains)+"%")
	}
	var total int
	if err := t.tx.QueryRowContext(ctx, "SELECT count(*) FROM keys WHERE "+where, args...).Scan(&total); err != nil {
		return nil, 0, classify(err, "keys")
	}
	page := where
	if !q.AfterTime.IsZero() || q.AfterID != "" {
		page += " AND (created_at, id) > (?, ?)"
		args = append(args, nanos(q.AfterTime), q.AfterID)
	}
	rows, err := t.tx.QueryContext(ctx, "SELECT "+keyCols+" FROM keys WHERE "+page+
		" ORDER BY created_at, id LIMIT ?", append(args, q.Limit)...)
	if err != nil {
		return nil, 0, classify(err, "keys")
	}
	defer rows.Close()
	var out []*shelf.Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, 0, classify(err, "keys")
		}
		out = append(out, k)
	}
	return out, total, classify(rows.Err(), "keys")
}

func (t *tx) UpdateKey(ctx context.Context, k *shelf.Key) error {
	scopes := make([]string, len(k.Scopes))
	for i, s := range k.Scopes {
		scopes[i] = string(s)
	}
	hash := k.Hash
	if hash == nil {
		hash = []byte{}
	}
	res, err := t.tx.ExecContext(ctx,
		"UPDATE keys SET name = ?, scopes = ?, hash = ?, expires_at = ?, rate_per_second = ?, rate_burst = ? WHERE id = ? AND workspace_id = ?",
		k.Name, strings.Join(scopes, ","), hash, nanos(k.ExpiresAt), ratePerSecond(k.RateLimit), rateBurst(k.RateLimit), k.ID, k.WorkspaceID)
	if err != nil {
		return classify(err, "key")
	}
	return ensureFound(res, "key")
}

func (t *tx) TouchKeys(ctx context.Context, used map[string]time.Time) error {
	for id, at := range used {
		if _, err := t.tx.ExecContext(ctx,
			"UPDATE keys SET last_used_at = max(last_used_at, ?) WHERE id = ?", nanos(at), id); err != nil {
			return classify(err, "key")
		}
	}
	return nil
}

const idempotencyCols = "workspace_id, caller, key, fingerprint, token, done, status, content_type, body, created_at"

func (t *tx) IdempotencyRecord(ctx context.Context, workspaceID, caller, key string) (*shelf.IdempotencyRecord, error) {
	var r shelf.IdempotencyRecord
	var created int64
	err := t.tx.QueryRowContext(ctx, "SELECT "+idempotencyCols+
		" FROM idempotency WHERE workspace_id = ? AND caller = ? AND key = ?", workspaceID, caller, key).
		Scan(&r.WorkspaceID, &r.Caller, &r.Key, &r.Fingerprint, &r.Token, &r.Done, &r.Status, &r.ContentType, &r.Body, &created)
	if err != nil {
		return nil, classify(err, "idempotency record")
	}
	r.CreatedAt = fromNanos(created)
	return &r, nil
}

// blob returns b, or an empty slice for nil: the driver binds a nil slice
// as NULL.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func (t *tx) CreateIdempotencyRecord(ctx context.Context, r *shelf.IdempotencyRecord) error {
	_, err := t.tx.ExecContext(ctx, "INSERT INTO idempotency ("+idempotencyCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		r.WorkspaceID, r.Caller, r.Key, blob(r.Fingerprint), r.Token, r.Done, r.Status, r.ContentType, blob(r.Body), nanos(r.CreatedAt))
	return classify(err, "idempotency record")
}

func (t *tx) UpdateIdempotencyRecord(ctx context.Context, r *shelf.IdempotencyRecord) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE idempotency SET fingerprint = ?, token = ?, done = ?, status = ?,
		content_type = ?, body = ?, created_at = ? WHERE workspace_id = ? AND caller = ? AND key = ?`,
		blob(r.Fingerprint), r.Token, r.Done, r.Status, r.ContentType, blob(r.Body), nanos(r.CreatedAt),
		r.WorkspaceID, r.Caller, r.Key)
	if err != nil {
		return classify(err, "idempotency record")
	}
	return ensureFound(res, "idempotency record")
}

func (t *tx) DeleteIdempotencyRecord(ctx context.Context, workspaceID, caller, key string) error {
	res, err := t.tx.ExecContext(ctx, "DELETE FROM idempotency WHERE workspace_id = ? AND caller = ? AND key = ?",
		workspaceID, caller, key)
	if err != nil {
		return classify(err, "idempotency record")
	}
	return ensureFound(res, "idempotency record")
}

func (t *tx) DeleteIdempotencyRecordsBefore(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, invalid("limit %d out of range", limit)
	}
	res, err := t.tx.ExecContext(ctx, `DELETE FROM idempotency WHERE (workspace_id, caller, key) IN (
		SELECT workspace_id, caller, key FROM idempotency WHERE created_at < ? LIMIT ?)`, nanos(before), limit)
	if err != nil {
		return 0, classify(err, "idempotency records")
	}
	n, err := res.RowsAffected()
	return int(n), classify(err, "idempotency records")
}
