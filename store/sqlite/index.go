package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/shelfmem/shelf"
)

const jobCols = "item_id, workspace_id, version, state, attempts, run_after, lease_until, token, error, created_at, updated_at"

func scanJob(s scanner) (*shelf.IndexJob, error) {
	var j shelf.IndexJob
	var runAfter, lease, created, updated int64
	if err := s.Scan(&j.ItemID, &j.WorkspaceID, &j.Version, &j.State, &j.Attempts, &runAfter, &lease,
		&j.Token, &j.Error, &created, &updated); err != nil {
		return nil, err
	}
	j.RunAfter, j.LeaseUntil = fromNanos(runAfter), fromNanos(lease)
	j.CreatedAt, j.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &j, nil
}

// PutIndexJob inserts through a SELECT of the item, so a job can only name
// a file of its own workspace.
func (t *tx) PutIndexJob(ctx context.Context, j *shelf.IndexJob) error {
	res, err := t.tx.ExecContext(ctx, `INSERT OR REPLACE INTO index_jobs (`+jobCols+`)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 FROM items WHERE id = ?1 AND workspace_id = ?2`,
		j.ItemID, j.WorkspaceID, j.Version, j.State, j.Attempts, nanos(j.RunAfter), nanos(j.LeaseUntil),
		j.Token, j.Error, nanos(j.CreatedAt), nanos(j.UpdatedAt))
	if err != nil {
		return classify(err, "index job")
	}
	return ensureFound(res, "item")
}

func (t *tx) IndexJob(ctx context.Context, workspaceID, itemID string) (*shelf.IndexJob, error) {
	j, err := scanJob(t.tx.QueryRowContext(ctx, "SELECT "+jobCols+" FROM index_jobs WHERE item_id = ? AND workspace_id = ?",
		itemID, workspaceID))
	return j, classify(err, "index job")
}

// ClaimIndexJobs takes the ready jobs in one UPDATE … RETURNING, so two
// claimers never take the same job.
func (t *tx) ClaimIndexJobs(ctx context.Context, now, leaseUntil time.Time, token string, n int) ([]*shelf.IndexJob, error) {
	if n <= 0 {
		return nil, invalid("claim count %d is not positive", n)
	}
	rows, err := t.tx.QueryContext(ctx, `UPDATE index_jobs
		SET state = 'running', attempts = attempts + 1, lease_until = ?2, token = ?3, updated_at = ?1
		WHERE item_id IN (
			SELECT item_id FROM index_jobs WHERE state = 'queued' AND run_after <= ?1
			UNION ALL
			SELECT item_id FROM index_jobs WHERE state = 'running' AND lease_until < ?1
			ORDER BY 1 LIMIT ?4)
		RETURNING `+jobCols, nanos(now), nanos(leaseUntil), token, n)
	if err != nil {
		return nil, classify(err, "index jobs")
	}
	defer rows.Close()
	var out []*shelf.IndexJob
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, classify(err, "index jobs")
		}
		out = append(out, j)
	}
	return out, classify(rows.Err(), "index jobs")
}

func (t *tx) DeleteIndexJob(ctx context.Context, workspaceID, itemID string) error {
	_, err := t.tx.ExecContext(ctx, "DELETE FROM index_jobs WHERE item_id = ? AND workspace_id = ?", itemID, workspaceID)
	return classify(err, "index job")
}

// ReplaceChunks deletes the file's chunks (the delete trigger removes
// their full-text rows) and inserts the new ones with their full-text rows.
func (t *tx) ReplaceChunks(ctx context.Context, workspaceID, itemID string, chunks []shelf.Chunk) error {
	if _, err := t.tx.ExecContext(ctx, "DELETE FROM chunks WHERE item_id = ? AND workspace_id = ?", itemID, workspaceID); err != nil {
		return classify(err, "chunks")
	}
	if len(chunks) == 0 {
		return nil
	}
	// The chunks may only name a file of the workspace.
	var one int
	if err := t.tx.QueryRowContext(ctx, "SELECT 1 FROM items WHERE id = ? AND workspace_id = ?", itemID, workspaceID).Scan(&one); err != nil {
		return classify(err, "item")
	}
	const insert = `INSERT INTO chunks (item_id, workspace_id, version, idx, text, heading, start_off, end_off, page)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	const insertFTS = `INSERT INTO chunks_fts (rowid, text, heading) VALUES (?, ?, ?)`
	const insertVec = `INSERT INTO chunk_vectors (chunk_id, workspace_id, model, dims, vec) VALUES (?, ?, ?, ?, ?)`
	for _, c := range chunks {
		if c.Vector != nil && (c.Model == "" || len(c.Vector) == 0) {
			return invalid("chunk %d has a vector without a model", c.Index)
		}
		res, err := t.tx.ExecContext(ctx, insert, itemID, workspaceID, c.Version, c.Index, c.Text, c.Heading, c.Start, c.End, c.Page)
		if err != nil {
			return classify(err, "chunks")
		}
		id, err := res.LastInsertId()
		if err != nil {
			return classify(err, "chunks")
		}
		if _, err := t.tx.ExecContext(ctx, insertFTS, id, c.Text, c.Heading); err != nil {
			return classify(err, "chunks")
		}
		if c.Vector == nil {
			continue
		}
		if _, err := t.tx.ExecContext(ctx, insertVec, id, workspaceID, c.Model, len(c.Vector), encodeVector(c.Vector)); err != nil {
			return classify(err, "chunk vector")
		}
	}
	return nil
}

func encodeVector(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

func decodeVector(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("sqlite: vector of %d bytes", len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

func (t *tx) Chunks(ctx context.Context, workspaceID, itemID string) ([]shelf.Chunk, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT version, idx, text, heading, start_off, end_off, page FROM chunks
		WHERE item_id = ? AND workspace_id = ? ORDER BY idx`, itemID, workspaceID)
	if err != nil {
		return nil, classify(err, "chunks")
	}
	defer rows.Close()
	var out []shelf.Chunk
	for rows.Next() {
		c := shelf.Chunk{ItemID: itemID, WorkspaceID: workspaceID}
		if err := rows.Scan(&c.Version, &c.Index, &c.Text, &c.Heading, &c.Start, &c.End, &c.Page); err != nil {
			return nil, classify(err, "chunks")
		}
		out = append(out, c)
	}
	return out, classify(rows.Err(), "chunks")
}

// itemColsOf qualifies itemCols with a table alias.
func itemColsOf(alias string) string {
	cols := strings.Split(itemCols, ", ")
	for i, c := range cols {
		cols[i] = alias + "." + c
	}
	return strings.Join(cols, ", ")
}

// SearchChunks ranks with FTS5's bm25() (lower is better there; the score
// returned is its negation), the text column weighted over the heading.
// FTS5 ranks and cuts the matches first — a subquery that orders by rank
// inside the full-text index and computes highlight() only for the rows
// it keeps — and only those rows are joined to their chunks and items and
// filtered: joining every match before sorting costs a lookup per match.
// When the filters (another workspace's chunks among them) leave fewer
// than the limit, the cut widens, and past maxRankedCut the whole match
// set is joined and sorted, so no hit is ever lost to the cut.
func (t *tx) SearchChunks(ctx context.Context, workspaceID string, q shelf.ChunkQuery) ([]*shelf.ChunkHit, error) {
	if q.Limit <= 0 {
		return nil, invalid("limit %d is not positive", q.Limit)
	}
	if q.LibraryIDs != nil && len(q.LibraryIDs) == 0 {
		return nil, nil
	}
	for cut := max(4*q.Limit, 40); ; cut *= 8 {
		if cut > maxRankedCut {
			return t.searchJoined(ctx, workspaceID, q)
		}
		hits, matched, err := t.searchRanked(ctx, workspaceID, q, cut)
		if err != nil || len(hits) >= q.Limit || matched < cut {
			return hits, err
		}
	}
}

// maxRankedCut bounds the matches ranked before the filters apply.
const maxRankedCut = 20000

const hitCols = `c.version, c.idx, c.text, c.heading, c.start_off, c.end_off, c.page`

// searchRanked ranks the best cut matches in FTS5, then joins them and
// keeps those that pass the filters (evaluated per row, as a column, so
// the rows the cut held are counted too). It returns the hits and how
// many matches the cut held.
func (t *tx) searchRanked(ctx context.Context, workspaceID string, q shelf.ChunkQuery, cut int) ([]*shelf.ChunkHit, int, error) {
	var cond strings.Builder
	args := chunkFilter(&cond, nil, workspaceID, q)
	args = append(args, q.Match, cut)
	rows, err := t.tx.QueryContext(ctx, `SELECT `+hitCols+`, -f.rank, f.hl, coalesce((`+cond.String()+`), 0), `+itemColsOf("i")+`
		FROM (SELECT rowid AS id, rank, highlight(chunks_fts, 0, char(2), char(3)) AS hl
			FROM chunks_fts WHERE chunks_fts MATCH ? AND rank MATCH 'bm25(1.0, 0.5)' ORDER BY rank LIMIT ?) AS f
		JOIN chunks c ON c.id = f.id JOIN items i ON i.id = c.item_id
		ORDER BY f.rank`, args...)
	if err != nil {
		return nil, 0, searchError(err)
	}
	all, err := scanHits(rows)
	if err != nil {
		return nil, 0, err
	}
	var out []*shelf.ChunkHit
	for _, h := range all {
		if h.ok && len(out) < q.Limit {
			out = append(out, h.ChunkHit)
		}
	}
	return out, len(all), nil
}

// searchJoined joins every match to its chunk and item, filters, then
// sorts: the way for filters that keep few of many matches.
func (t *tx) searchJoined(ctx context.Context, workspaceID string, q shelf.ChunkQuery) ([]*shelf.ChunkHit, error) {
	var where strings.Builder
	where.WriteString(`chunks_fts MATCH ? AND `)
	args := chunkFilter(&where, []any{q.Match}, workspaceID, q)
	args = append(args, q.Limit)
	rows, err := t.tx.QueryContext(ctx, `SELECT `+hitCols+`,
			-bm25(chunks_fts, 1.0, 0.5), highlight(chunks_fts, 0, char(2), char(3)), 1, `+itemColsOf("i")+`
		FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid JOIN items i ON i.id = c.item_id
		WHERE `+where.String()+`
		ORDER BY bm25(chunks_fts, 1.0, 0.5) LIMIT ?`, args...)
	if err != nil {
		return nil, searchError(err)
	}
	all, err := scanHits(rows)
	if err != nil {
		return nil, err
	}
	out := make([]*shelf.ChunkHit, len(all))
	for i, h := range all {
		out[i] = h.ChunkHit
	}
	return out, nil
}

// hit is a search's row: a hit and whether it passed the filters.
type hit struct {
	*shelf.ChunkHit
	ok bool
}

// scanHits reads the rows of a search.
func scanHits(rows *sql.Rows) ([]hit, error) {
	defer rows.Close()
	var out []hit
	for rows.Next() {
		h := hit{ChunkHit: &shelf.ChunkHit{}}
		c := &h.Chunk
		var itemRow itemScanner
		dest := []any{&c.Version, &c.Index, &c.Text, &c.Heading, &c.Start, &c.End, &c.Page, &h.Score, &h.Highlight, &h.ok}
		if err := rows.Scan(append(dest, itemRow.targets()...)...); err != nil {
			return nil, searchError(err)
		}
		var err error
		if h.Item, err = itemRow.item(); err != nil {
			return nil, searchError(err)
		}
		c.ItemID, c.WorkspaceID = h.Item.ID, h.Item.WorkspaceID
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, searchError(err)
	}
	return out, nil
}

// chunkFilter writes the conditions of q's filters on chunks c of items i
// to where, appending their arguments to args: the workspace, hidden and
// private items, and every set filter field.
func chunkFilter(where *strings.Builder, args []any, workspaceID string, q shelf.ChunkQuery) []any {
	args = append(args, workspaceID, q.Viewer)
	where.WriteString(`c.workspace_id = ? AND i.hidden = 0 AND (i.scope <> 'private' OR i.owner = ?)`)
	in := func(col string, vals []string) {
		where.WriteString(" AND " + col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ") + ")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	if q.LibraryIDs != nil {
		in("i.library_id", q.LibraryIDs)
	}
	if q.PathPrefix != "" {
		lo, hi := subtree(q.PathPrefix)
		where.WriteString(" AND i.path > ? AND i.path < ?")
		args = append(args, lo, hi)
	}
	if len(q.ContentTypes) > 0 {
		// The stored type may carry parameters ("text/plain; charset=utf-8").
		where.WriteString(" AND (")
		for i, ct := range q.ContentTypes {
			if i > 0 {
				where.WriteString(" OR ")
			}
			where.WriteString("i.content_type = ? OR i.content_type LIKE ? ESCAPE '\\'")
			args = append(args, ct, likeEscape(ct)+";%")
		}
		where.WriteString(")")
	}
	if !q.CreatedAfter.IsZero() {
		where.WriteString(" AND i.created_at >= ?")
		args = append(args, nanos(q.CreatedAfter))
	}
	if !q.CreatedBefore.IsZero() {
		where.WriteString(" AND i.created_at < ?")
		args = append(args, nanos(q.CreatedBefore))
	}
	if q.ProjectID != "" {
		where.WriteString(" AND i.id IN (SELECT item_id FROM project_documents WHERE project_id = ? AND workspace_id = c.workspace_id)")
		args = append(args, q.ProjectID)
	}
	return metadataEquals(where, "i.metadata", q.Metadata, args)
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func (t *tx) IndexCounts(ctx context.Context, workspaceID string) (map[string]int, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT index_state, count(*) FROM items
		WHERE workspace_id = ? AND index_state <> '' GROUP BY index_state`, workspaceID)
	if err != nil {
		return nil, classify(err, "index counts")
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, classify(err, "index counts")
		}
		out[state] = n
	}
	return out, classify(rows.Err(), "index counts")
}

func (t *tx) IndexingBelow(ctx context.Context, workspaceID, libraryID, path string) (int, error) {
	lo, hi := subtree(path)
	if path == "" {
		lo, hi = "", "\xff"
	}
	var n int
	err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM items
		WHERE library_id = ? AND workspace_id = ? AND path > ? AND path < ? AND index_state IN ('queued', 'running')`,
		libraryID, workspaceID, lo, hi).Scan(&n)
	return n, classify(err, "index counts")
}

// searchError classifies an error of a search: FTS5's errors for a
// malformed MATCH expression (which it reports while stepping) are the
// query's fault.
func searchError(err error) error {
	msg := err.Error()
	for _, m := range []string{"fts5:", "unterminated string", "syntax error", "no such column", "unknown special query"} {
		if strings.Contains(msg, m) {
			return invalid("malformed full-text query")
		}
	}
	return classify(err, "search")
}
