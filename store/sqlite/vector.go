package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/shelfmem/shelf"
)

func (t *tx) Vectors(ctx context.Context, workspaceID, model string, afterID int64, limit int) ([]shelf.VectorRow, error) {
	if limit <= 0 {
		return nil, invalid("limit %d is not positive", limit)
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT id, chunk_id, vec FROM chunk_vectors
		WHERE workspace_id = ? AND model = ? AND id > ? AND dims > 0 ORDER BY id LIMIT ?`, workspaceID, model, afterID, limit)
	if err != nil {
		return nil, classify(err, "vectors")
	}
	defer rows.Close()
	var out []shelf.VectorRow
	for rows.Next() {
		var r shelf.VectorRow
		var b []byte
		if err := rows.Scan(&r.ID, &r.ChunkID, &b); err != nil {
			return nil, classify(err, "vectors")
		}
		if r.Vector, err = decodeVector(b); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, classify(rows.Err(), "vectors")
}

func (t *tx) CountVectors(ctx context.Context, workspaceID, model string) (int, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, "SELECT count(*) FROM chunk_vectors WHERE workspace_id = ? AND model = ?",
		workspaceID, model).Scan(&n)
	return n, classify(err, "vectors")
}

// chunksToEmbedQuery walks embed_pending in item id order and each file's
// chunks by the chunks_item index, so it reads only as far as its limit
// (the CROSS JOIN keeps SQLite from scanning every chunk instead).
const chunksToEmbedQuery = `SELECT c.id, c.workspace_id, c.item_id, c.text, c.heading
	FROM embed_pending q CROSS JOIN chunks c ON c.item_id = q.item_id
	WHERE NOT EXISTS (SELECT 1 FROM chunk_vectors v WHERE v.chunk_id = c.id)
	ORDER BY q.item_id, c.idx LIMIT ?`

func (t *tx) ChunksToEmbed(ctx context.Context, limit int) ([]shelf.ChunkToEmbed, error) {
	if limit <= 0 {
		return nil, invalid("limit %d is not positive", limit)
	}
	rows, err := t.tx.QueryContext(ctx, chunksToEmbedQuery, limit)
	if err != nil {
		return nil, classify(err, "chunks to embed")
	}
	defer rows.Close()
	var out []shelf.ChunkToEmbed
	for rows.Next() {
		var c shelf.ChunkToEmbed
		if err := rows.Scan(&c.ID, &c.WorkspaceID, &c.ItemID, &c.Text, &c.Heading); err != nil {
			return nil, classify(err, "chunks to embed")
		}
		out = append(out, c)
	}
	return out, classify(rows.Err(), "chunks to embed")
}

// PutEmbeddings inserts through a SELECT of the chunk, so an embedding of
// a chunk that is gone, or that has one, inserts nothing; then it counts
// the pending chunks of the files it touched again.
func (t *tx) PutEmbeddings(ctx context.Context, embs []shelf.Embedding) (int, error) {
	stored := 0
	var items []string
	seen := map[string]bool{}
	for _, e := range embs {
		if e.Model == "" {
			return 0, invalid("embedding of chunk %d has no model", e.ChunkID)
		}
		var itemID string
		err := t.tx.QueryRowContext(ctx, `INSERT INTO chunk_vectors (chunk_id, workspace_id, model, dims, vec)
			SELECT c.id, c.workspace_id, ?2, ?3, ?4 FROM chunks c
			WHERE c.id = ?1 AND NOT EXISTS (SELECT 1 FROM chunk_vectors v WHERE v.chunk_id = c.id)
			RETURNING (SELECT item_id FROM chunks WHERE id = ?1)`,
			e.ChunkID, e.Model, len(e.Vector), encodeVector(e.Vector)).Scan(&itemID)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return 0, classify(err, "chunk vector")
		}
		stored++
		if !seen[itemID] {
			seen[itemID] = true
			items = append(items, itemID)
		}
	}
	if len(items) == 0 {
		return 0, nil
	}
	list, err := json.Marshal(items)
	if err != nil {
		return 0, err
	}
	return stored, t.recountEmbedPending(ctx, string(list))
}

// dropEmbeddingsQuery finds a batch of embeddings of other models in the
// covering index chunk_vectors_model, never reading the vectors.
const dropEmbeddingsQuery = `SELECT id FROM chunk_vectors WHERE model <> ? LIMIT ?`

// DropEmbeddings reads a batch of ids first (SQLite's DELETE cannot be
// limited), then their files, deletes them in one statement, and counts
// the pending chunks of their files again.
func (t *tx) DropEmbeddings(ctx context.Context, keepModel string, limit int) (int, error) {
	if limit <= 0 {
		return 0, invalid("limit %d is not positive", limit)
	}
	rows, err := t.tx.QueryContext(ctx, dropEmbeddingsQuery, keepModel, limit)
	if err != nil {
		return 0, classify(err, "chunk vectors")
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, classify(err, "chunk vectors")
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return 0, classify(err, "chunk vectors")
	}
	idList, err := json.Marshal(ids)
	if err != nil {
		return 0, err
	}
	var items string
	if err := t.tx.QueryRowContext(ctx, `SELECT coalesce(json_group_array(DISTINCT c.item_id), '[]')
		FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id WHERE v.id IN (SELECT value FROM json_each(?))`,
		string(idList)).Scan(&items); err != nil {
		return 0, classify(err, "chunk vectors")
	}
	if _, err := t.tx.ExecContext(ctx, "DELETE FROM chunk_vectors WHERE id IN (SELECT value FROM json_each(?))", string(idList)); err != nil {
		return 0, classify(err, "chunk vectors")
	}
	return len(ids), t.recountEmbedPending(ctx, items)
}

func (t *tx) EmbeddingsPending(ctx context.Context, workspaceID string) (int, int, error) {
	var files, chunks int
	err := t.tx.QueryRowContext(ctx, "SELECT count(*), coalesce(sum(chunks), 0) FROM embed_pending WHERE workspace_id = ?",
		workspaceID).Scan(&files, &chunks)
	return files, chunks, classify(err, "pending embeddings")
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
