package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/shelfmem/shelf"
)

func (t *tx) CreateUpload(ctx context.Context, u *shelf.Upload) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO uploads
		(id, workspace_id, size, part_size, state, hash, item_id, version, expires_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.WorkspaceID, u.Size, u.PartSize, u.State, nullable(u.Hash), nullable(u.ItemID), u.Version,
		nanos(u.ExpiresAt), nanos(u.CreatedAt))
	return classify(err, "upload")
}

const uploadCols = "id, workspace_id, size, part_size, state, hash, item_id, version, expires_at, created_at"

func scanUpload(s scanner) (*shelf.Upload, error) {
	var u shelf.Upload
	var hash, itemID sql.NullString
	var expires, created int64
	if err := s.Scan(&u.ID, &u.WorkspaceID, &u.Size, &u.PartSize, &u.State, &hash, &itemID, &u.Version,
		&expires, &created); err != nil {
		return nil, err
	}
	u.Hash, u.ItemID = hash.String, itemID.String
	u.ExpiresAt, u.CreatedAt = fromNanos(expires), fromNanos(created)
	return &u, nil
}

func (t *tx) Upload(ctx context.Context, workspaceID, id string) (*shelf.Upload, error) {
	u, err := scanUpload(t.tx.QueryRowContext(ctx,
		"SELECT "+uploadCols+" FROM uploads WHERE id = ? AND workspace_id = ?", id, workspaceID))
	return u, classify(err, "upload")
}

func (t *tx) UpdateUpload(ctx context.Context, u *shelf.Upload) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE uploads
		SET state = ?, hash = ?, item_id = ?, version = ?, expires_at = ?
		WHERE id = ? AND workspace_id = ?`,
		u.State, nullable(u.Hash), nullable(u.ItemID), u.Version, nanos(u.ExpiresAt), u.ID, u.WorkspaceID)
	if err != nil {
		return classify(err, "upload")
	}
	return ensureFound(res, "upload")
}

// UploadExists looks the id up in every workspace.
func (t *tx) UploadExists(ctx context.Context, id string) (bool, error) {
	var found bool
	err := t.tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM uploads WHERE id = ?)", id).Scan(&found)
	return found, classify(err, "upload")
}

// DeleteUpload deletes the upload; its parts go by ON DELETE CASCADE.
func (t *tx) DeleteUpload(ctx context.Context, id string) error {
	res, err := t.tx.ExecContext(ctx, "DELETE FROM uploads WHERE id = ?", id)
	if err != nil {
		return classify(err, "upload")
	}
	return ensureFound(res, "upload")
}

// ExpiredUploads lists the uploads, of any workspace, that expire before
// t, soonest expiry first, at most limit (which must be positive).
func (t *tx) ExpiredUploads(ctx context.Context, before time.Time, limit int) ([]*shelf.Upload, error) {
	if limit <= 0 {
		return nil, invalid("limit %d is not positive", limit)
	}
	rows, err := t.tx.QueryContext(ctx,
		"SELECT "+uploadCols+" FROM uploads WHERE expires_at < ? ORDER BY expires_at LIMIT ?",
		nanos(before), limit)
	if err != nil {
		return nil, classify(err, "uploads")
	}
	defer rows.Close()
	var us []*shelf.Upload
	for rows.Next() {
		u, err := scanUpload(rows)
		if err != nil {
			return nil, classify(err, "uploads")
		}
		us = append(us, u)
	}
	return us, classify(rows.Err(), "uploads")
}

// PutPart inserts p, or replaces the part with its number; ENOTFOUND if
// the upload does not exist.
func (t *tx) PutPart(ctx context.Context, p *shelf.Part) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO parts (upload_id, number, size, etag, received_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (upload_id, number) DO UPDATE
		SET size = excluded.size, etag = excluded.etag, received_at = excluded.received_at`,
		p.UploadID, p.Number, p.Size, p.ETag, nanos(p.ReceivedAt))
	return classify(err, "part")
}

func (t *tx) DeletePart(ctx context.Context, uploadID string, number int) error {
	res, err := t.tx.ExecContext(ctx, "DELETE FROM parts WHERE upload_id = ? AND number = ?", uploadID, number)
	if err != nil {
		return classify(err, "part")
	}
	return ensureFound(res, "part")
}

func (t *tx) Parts(ctx context.Context, uploadID string) ([]*shelf.Part, error) {
	rows, err := t.tx.QueryContext(ctx,
		"SELECT upload_id, number, size, etag, received_at FROM parts WHERE upload_id = ? ORDER BY number",
		uploadID)
	if err != nil {
		return nil, classify(err, "parts")
	}
	defer rows.Close()
	var ps []*shelf.Part
	for rows.Next() {
		var p shelf.Part
		var received int64
		if err := rows.Scan(&p.UploadID, &p.Number, &p.Size, &p.ETag, &received); err != nil {
			return nil, classify(err, "parts")
		}
		p.ReceivedAt = fromNanos(received)
		ps = append(ps, &p)
	}
	return ps, classify(rows.Err(), "parts")
}

// BlobReferenced probes the hash indexes of versions and uploads.
func (t *tx) BlobReferenced(ctx context.Context, hash string) (bool, error) {
	var found bool
	err := t.tx.QueryRowContext(ctx, `SELECT
		EXISTS (SELECT 1 FROM versions WHERE hash = ?1) OR EXISTS (SELECT 1 FROM uploads WHERE hash = ?1)
		OR EXISTS (SELECT 1 FROM snapshot_items WHERE hash = ?1 AND hash <> '')`,
		hash).Scan(&found)
	return found, classify(err, "blob references")
}

const walkBlobRefsQuery = `SELECT hash FROM versions
	UNION SELECT hash FROM uploads WHERE hash IS NOT NULL
	UNION SELECT hash FROM snapshot_items WHERE hash <> ''
	ORDER BY 1`

// WalkBlobRefs streams the distinct hashes in byte order: SQLite merges the
// hash indexes of versions, uploads and snapshots (a compound SELECT with ORDER BY), so no set of hashes is
// built in memory. fn's error stops the walk and is returned unchanged.
func (t *tx) WalkBlobRefs(ctx context.Context, fn func(hash string) error) error {
	rows, err := t.tx.QueryContext(ctx, walkBlobRefsQuery)
	if err != nil {
		return classify(err, "blob references")
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return classify(err, "blob references")
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	return classify(rows.Err(), "blob references")
}

func (t *tx) PutInlineBlob(ctx context.Context, hash string, data []byte) error {
	if data == nil {
		data = []byte{}
	}
	_, err := t.tx.ExecContext(ctx, "INSERT INTO inline_blobs (hash, data) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING", hash, data)
	return classify(err, "inline blob")
}

func (t *tx) InlineBlob(ctx context.Context, hash string) ([]byte, error) {
	var data []byte
	err := t.tx.QueryRowContext(ctx, "SELECT data FROM inline_blobs WHERE hash = ?", hash).Scan(&data)
	if err == nil && data == nil {
		data = []byte{}
	}
	return data, classify(err, "inline blob")
}

// DeleteUnreferencedInlineBlobs finds the unreferenced rows through the
// versions(hash) index.
func (t *tx) DeleteUnreferencedInlineBlobs(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		return 0, invalid("limit %d is not positive", limit)
	}
	res, err := t.tx.ExecContext(ctx, `DELETE FROM inline_blobs WHERE hash IN (
		SELECT b.hash FROM inline_blobs b WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.hash = b.hash)
			AND NOT EXISTS (SELECT 1 FROM snapshot_items si WHERE si.hash = b.hash AND si.hash <> '') LIMIT ?)`, limit)
	if err != nil {
		return 0, classify(err, "inline blob")
	}
	n, err := res.RowsAffected()
	return int(n), classify(err, "inline blob")
}

func (t *tx) WalkInlineBlobs(ctx context.Context, fn func(hash string, data []byte) error) error {
	rows, err := t.tx.QueryContext(ctx, "SELECT hash, data FROM inline_blobs ORDER BY hash")
	if err != nil {
		return classify(err, "inline blobs")
	}
	defer rows.Close()
	for rows.Next() {
		var hash string
		var data []byte
		if err := rows.Scan(&hash, &data); err != nil {
			return classify(err, "inline blobs")
		}
		if err := fn(hash, data); err != nil {
			return err
		}
	}
	return classify(rows.Err(), "inline blobs")
}
