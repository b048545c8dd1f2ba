package sqlite

import (
	"context"
	"strings"

	"github.com/shelfmem/shelf"
)

func (t *tx) Vectors(ctx context.Context, workspaceID, model string, afterID int64, limit int) ([]shelf.VectorRow, error) {
	if limit <= 0 {
		return nil, invalid("limit %d is not positive", limit)
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT id, vec FROM chunk_vectors
		WHERE workspace_id = ? AND model = ? AND id > ? ORDER BY id LIMIT ?`, workspaceID, model, afterID, limit)
	if err != nil {
		return nil, classify(err, "vectors")
	}
	defer rows.Close()
	var out []shelf.VectorRow
	for rows.Next() {
		var r shelf.VectorRow
		var b []byte
		if err := rows.Scan(&r.ID, &b); err != nil {
			return nil, classify(err, "vectors")
		}
		if r.Vector, err = decodeVector(b); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, classify(rows.Err(), "vectors")
}

// maxVectorLookup bounds the ids of one VectorChunks call (SQLite's
// default limit of host parameters is 32766).
const maxVectorLookup = 10000

func (t *tx) VectorChunks(ctx context.Context, workspaceID string, ids []int64, q shelf.ChunkQuery) (map[int64]*shelf.ChunkHit, error) {
	if len(ids) > maxVectorLookup {
		return nil, invalid("at most %d vector ids", maxVectorLookup)
	}
	out := make(map[int64]*shelf.ChunkHit, len(ids))
	if len(ids) == 0 || (q.LibraryIDs != nil && len(q.LibraryIDs) == 0) {
		return out, nil
	}
	var where strings.Builder
	args := make([]any, 0, len(ids)+8)
	where.WriteString("v.id IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") + ") AND ")
	for _, id := range ids {
		args = append(args, id)
	}
	args = chunkFilter(&where, args, workspaceID, q)
	rows, err := t.tx.QueryContext(ctx, `SELECT v.id, c.version, c.idx, c.text, c.heading, c.start_off, c.end_off, c.page, v.model, `+
		itemColsOf("i")+`
		FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id JOIN items i ON i.id = c.item_id
		WHERE v.workspace_id = c.workspace_id AND `+where.String(), args...)
	if err != nil {
		return nil, classify(err, "vector chunks")
	}
	defer rows.Close()
	for rows.Next() {
		h := &shelf.ChunkHit{}
		c := &h.Chunk
		var id int64
		var itemRow itemScanner
		dest := []any{&id, &c.Version, &c.Index, &c.Text, &c.Heading, &c.Start, &c.End, &c.Page, &c.Model}
		if err := rows.Scan(append(dest, itemRow.targets()...)...); err != nil {
			return nil, classify(err, "vector chunks")
		}
		if h.Item, err = itemRow.item(); err != nil {
			return nil, classify(err, "vector chunks")
		}
		c.ItemID, c.WorkspaceID = h.Item.ID, h.Item.WorkspaceID
		out[id] = h
	}
	return out, classify(rows.Err(), "vector chunks")
}

func (t *tx) VectorIDs(ctx context.Context, workspaceID, model string, q shelf.ChunkQuery, limit int) ([]int64, error) {
	if limit <= 0 {
		return nil, invalid("limit %d is not positive", limit)
	}
	if q.LibraryIDs != nil && len(q.LibraryIDs) == 0 {
		return nil, nil
	}
	var where strings.Builder
	where.WriteString("v.model = ? AND ")
	args := chunkFilter(&where, []any{model}, workspaceID, q)
	args = append(args, limit)
	rows, err := t.tx.QueryContext(ctx, `SELECT v.id FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id JOIN items i ON i.id = c.item_id
		WHERE v.workspace_id = c.workspace_id AND `+where.String()+` LIMIT ?`, args...)
	if err != nil {
		return nil, classify(err, "vector ids")
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, classify(err, "vector ids")
		}
		out = append(out, id)
	}
	return out, classify(rows.Err(), "vector ids")
}

func (t *tx) CountVectors(ctx context.Context, workspaceID, model string) (int, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, "SELECT count(*) FROM chunk_vectors WHERE workspace_id = ? AND model = ?",
		workspaceID, model).Scan(&n)
	return n, classify(err, "vectors")
}

func (t *tx) StaleEmbeddings(ctx context.Context, model, afterID string, limit int) ([]shelf.ItemRef, error) {
	if limit <= 0 {
		return nil, invalid("limit %d is not positive", limit)
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT i.workspace_id, i.id FROM items i
		WHERE i.id > ? AND i.index_state = 'indexed' AND EXISTS (
			SELECT 1 FROM chunks c LEFT JOIN chunk_vectors v ON v.chunk_id = c.id
			WHERE c.item_id = i.id AND (v.id IS NULL OR v.model <> ?))
		ORDER BY i.id LIMIT ?`, afterID, model, limit)
	if err != nil {
		return nil, classify(err, "stale embeddings")
	}
	defer rows.Close()
	var out []shelf.ItemRef
	for rows.Next() {
		var r shelf.ItemRef
		if err := rows.Scan(&r.WorkspaceID, &r.ItemID); err != nil {
			return nil, classify(err, "stale embeddings")
		}
		out = append(out, r)
	}
	return out, classify(rows.Err(), "stale embeddings")
}

// CheckIndex runs one query per invariant, and FTS5's own integrity check,
// which compares the full-text index with the chunks table it indexes.
func (t *tx) CheckIndex(ctx context.Context, limit int) ([]shelf.IndexProblem, error) {
	if limit <= 0 {
		return nil, invalid("limit %d is not positive", limit)
	}
	var out []shelf.IndexProblem
	checks := []struct{ kind, query string }{
		{"orphan_chunk", `SELECT 'chunk ' || c.id || ' names item ' || c.item_id || ', which does not exist'
			FROM chunks c LEFT JOIN items i ON i.id = c.item_id WHERE i.id IS NULL LIMIT ?`},
		{"orphan_vector", `SELECT 'embedding ' || v.id || ' names chunk ' || v.chunk_id || ', which does not exist'
			FROM chunk_vectors v LEFT JOIN chunks c ON c.id = v.chunk_id WHERE c.id IS NULL LIMIT ?`},
		{"stale_chunk", `SELECT 'item ' || i.id || ' (' || i.path || ') has chunks of version ' || c.version || ' but its head is ' || i.head
			FROM chunks c JOIN items i ON i.id = c.item_id WHERE c.version <> i.head GROUP BY i.id, c.version LIMIT ?`},
	}
	for _, c := range checks {
		rows, err := t.tx.QueryContext(ctx, c.query, limit)
		if err != nil {
			return nil, classify(err, "index check")
		}
		for rows.Next() {
			var detail string
			if err := rows.Scan(&detail); err != nil {
				rows.Close()
				return nil, classify(err, "index check")
			}
			out = append(out, shelf.IndexProblem{Kind: c.kind, Detail: detail})
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, classify(err, "index check")
		}
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('integrity-check', 1)`); err != nil {
		if strings.Contains(err.Error(), "corrupt") || strings.Contains(err.Error(), "malformed") {
			out = append(out, shelf.IndexProblem{Kind: "fts_mismatch", Detail: "the full-text index does not match the chunks: " + err.Error()})
		} else {
			return nil, classify(err, "index check")
		}
	}
	return out, nil
}
