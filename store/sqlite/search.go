package sqlite

import (
	"context"
	"strconv"
	"strings"

	"github.com/shelfmem/shelf"
)

// The store's side of the search engine (shelf.SearchTx): what the
// in-memory indexes of index/search follow. Catching up by id is exact
// because SQLite has one writer, so chunk ids are handed out in commit
// order and a reader's snapshot holds every id below its highest, and
// because an id is never handed out twice (ReplaceChunks takes them from a
// counter that only grows, migration 0015). Deleted chunks are logged by a
// trigger in chunk_deletes (migration 0013), which keeps the last 100,000.

func (t *tx) ChunksAfter(ctx context.Context, afterID int64, limit int) ([]shelf.ChunkText, error) {
	if limit <= 0 {
		return nil, invalid("limit %d is not positive", limit)
	}
	rows, err := t.tx.QueryContext(ctx, "SELECT id, workspace_id, text, heading FROM chunks WHERE id > ? ORDER BY id LIMIT ?", afterID, limit)
	if err != nil {
		return nil, classify(err, "chunks")
	}
	defer rows.Close()
	out := make([]shelf.ChunkText, 0, min(limit, 1024))
	for rows.Next() {
		var c shelf.ChunkText
		if err := rows.Scan(&c.ID, &c.WorkspaceID, &c.Text, &c.Heading); err != nil {
			return nil, classify(err, "chunks")
		}
		out = append(out, c)
	}
	return out, classify(rows.Err(), "chunks")
}

func (t *tx) ChunkDeletes(ctx context.Context, afterSeq int64, limit int) ([]shelf.ChunkDelete, error) {
	if limit <= 0 {
		return nil, invalid("limit %d is not positive", limit)
	}
	rows, err := t.tx.QueryContext(ctx, "SELECT seq, chunk_id, workspace_id FROM chunk_deletes WHERE seq > ? ORDER BY seq LIMIT ?", afterSeq, limit)
	if err != nil {
		return nil, classify(err, "chunk deletes")
	}
	defer rows.Close()
	var out []shelf.ChunkDelete
	for rows.Next() {
		var d shelf.ChunkDelete
		if err := rows.Scan(&d.Seq, &d.ChunkID, &d.WorkspaceID); err != nil {
			return nil, classify(err, "chunk deletes")
		}
		out = append(out, d)
	}
	return out, classify(rows.Err(), "chunk deletes")
}

func (t *tx) LastChunkDelete(ctx context.Context) (int64, error) {
	var seq int64
	err := t.tx.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM chunk_deletes").Scan(&seq)
	return seq, classify(err, "chunk deletes")
}

func (t *tx) CountChunks(ctx context.Context) (int, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, "SELECT count(*) FROM chunks").Scan(&n)
	return n, classify(err, "chunks")
}

// ChunkHits reads the chunks and their items in one statement, the ids as
// one JSON array whatever their number; the filters are a column, so a
// row filtered out is read and dropped here.
func (t *tx) ChunkHits(ctx context.Context, workspaceID string, ids []int64, q shelf.ChunkQuery) (map[int64]*shelf.ChunkHit, error) {
	out := make(map[int64]*shelf.ChunkHit, len(ids))
	if len(ids) == 0 || (q.LibraryIDs != nil && len(q.LibraryIDs) == 0) {
		return out, nil
	}
	var cond strings.Builder
	args := chunkFilter(&cond, nil, workspaceID, q)
	args = append(args, idList(ids))
	rows, err := t.tx.QueryContext(ctx, `SELECT `+hitCols+`, 0.0, '', coalesce((`+cond.String()+`), 0), `+itemColsOf("i")+`, c.id,
			coalesce((SELECT v.model FROM chunk_vectors v WHERE v.chunk_id = c.id AND v.dims > 0), '')
		FROM chunks c JOIN items i ON i.id = c.item_id
		WHERE c.id IN (SELECT value FROM json_each(?))`, args...)
	if err != nil {
		return nil, searchError(err)
	}
	defer rows.Close()
	for rows.Next() {
		h := hit{ChunkHit: &shelf.ChunkHit{}}
		c := &h.Chunk
		var itemRow itemScanner
		dest := []any{&c.Version, &c.Index, &c.Text, &c.Heading, &c.Start, &c.End, &c.Page, &h.Score, &h.Highlight, &h.ok}
		if err := rows.Scan(append(append(dest, itemRow.targets()...), &h.id, &c.Model)...); err != nil {
			return nil, searchError(err)
		}
		if !h.ok {
			continue
		}
		if h.Item, err = itemRow.item(); err != nil {
			return nil, searchError(err)
		}
		c.ItemID, c.WorkspaceID = h.Item.ID, h.Item.WorkspaceID
		out[h.id] = h.ChunkHit
	}
	if err := rows.Err(); err != nil {
		return nil, searchError(err)
	}
	return out, nil
}

func (t *tx) EmbeddedChunkIDs(ctx context.Context, workspaceID, model string, q shelf.ChunkQuery, limit int) ([]int64, error) {
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
	rows, err := t.tx.QueryContext(ctx, `SELECT c.id FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id JOIN items i ON i.id = c.item_id
		WHERE v.workspace_id = c.workspace_id AND v.dims > 0 AND `+where.String()+` LIMIT ?`, args...)
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

// idList is ids as a JSON array, for json_each.
func idList(ids []int64) string {
	b := []byte{'['}
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}
