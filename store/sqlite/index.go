package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/shelfmem/shelf"
)

const jobCols = "item_id, workspace_id, version, state, attempts, run_after, lease_until, token, error, created_at, updated_at, stops"

func scanJob(s scanner) (*shelf.IndexJob, error) {
	var j shelf.IndexJob
	var runAfter, lease, created, updated int64
	if err := s.Scan(&j.ItemID, &j.WorkspaceID, &j.Version, &j.State, &j.Attempts, &runAfter, &lease,
		&j.Token, &j.Error, &created, &updated, &j.Stops); err != nil {
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
		SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12 FROM items WHERE id = ?1 AND workspace_id = ?2`,
		j.ItemID, j.WorkspaceID, j.Version, j.State, j.Attempts, nanos(j.RunAfter), nanos(j.LeaseUntil),
		j.Token, j.Error, nanos(j.CreatedAt), nanos(j.UpdatedAt), j.Stops)
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
// claimers never take the same job. A job still running (its lease ended)
// counts a stop; the SET sees the row as it was.
func (t *tx) ClaimIndexJobs(ctx context.Context, now, leaseUntil time.Time, token string, n int) ([]*shelf.IndexJob, error) {
	if n <= 0 {
		return nil, invalid("claim count %d is not positive", n)
	}
	rows, err := t.tx.QueryContext(ctx, `UPDATE index_jobs
		SET state = 'running', attempts = attempts + 1, stops = stops + (state = 'running'),
			lease_until = ?2, token = ?3, updated_at = ?1
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
	ids := make([]string, 0, n)
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, classify(err, "index jobs")
		}
		out = append(out, j)
		ids = append(ids, j.ItemID)
	}
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, classify(err, "index jobs")
	}
	rows.Close()
	// One statement for the claim's files, whatever their number: the ids
	// go as one JSON array, so the statement's text (and its cached
	// preparation) is always the same.
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE items SET index_state = ?3, indexing_started_at = ?1
		WHERE id IN (SELECT value FROM json_each(?2))`, nanos(now), string(list), shelf.IndexRunning); err != nil {
		return nil, classify(err, "items")
	}
	return out, nil
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
	if err := t.setEmbedPending(ctx, workspaceID, itemID, 0); err != nil {
		return err
	}
	if len(chunks) == 0 {
		return nil
	}
	// The chunks may only name a file of the workspace.
	var one int
	if err := t.tx.QueryRowContext(ctx, "SELECT 1 FROM items WHERE id = ? AND workspace_id = ?", itemID, workspaceID).Scan(&one); err != nil {
		return classify(err, "item")
	}
	// Ids come from chunk_seq, which only grows (migration 0015): an id
	// is never handed out twice, so the keyword index catches up by id.
	var last int64
	if err := t.tx.QueryRowContext(ctx, "UPDATE chunk_seq SET seq = seq + ? WHERE one = 1 RETURNING seq", len(chunks)).Scan(&last); err != nil {
		return classify(err, "chunks")
	}
	next := last - int64(len(chunks)) + 1
	const insert = `INSERT INTO chunks (id, item_id, workspace_id, version, idx, text, heading, start_off, end_off, page)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// The full-text rows are copied from the chunks in one statement once
	// they are in: the texts are not bound (copied) a second time, and a
	// file costs one statement for them rather than one per chunk.
	const insertFTS = `INSERT INTO chunks_fts (rowid, text, heading)
		SELECT id, text, heading FROM chunks WHERE item_id = ? AND workspace_id = ?`
	const insertVec = `INSERT INTO chunk_vectors (chunk_id, workspace_id, model, dims, vec) VALUES (?, ?, ?, ?, ?)`
	pending := 0
	for _, c := range chunks {
		if c.Vector != nil && (c.Model == "" || len(c.Vector) == 0) {
			return invalid("chunk %d has a vector without a model", c.Index)
		}
		id := next
		next++
		if _, err := t.tx.ExecContext(ctx, insert, id, itemID, workspaceID, c.Version, c.Index, c.Text, c.Heading, c.Start, c.End, c.Page); err != nil {
			return classify(err, "chunks")
		}
		if c.Vector == nil {
			pending++
			continue
		}
		if _, err := t.tx.ExecContext(ctx, insertVec, id, workspaceID, c.Model, len(c.Vector), encodeVector(c.Vector)); err != nil {
			return classify(err, "chunk vector")
		}
	}
	if _, err := t.tx.ExecContext(ctx, insertFTS, itemID, workspaceID); err != nil {
		return classify(err, "chunks")
	}
	return t.setEmbedPending(ctx, workspaceID, itemID, pending)
}

// setEmbedPending records how many of a file's chunks wait for an
// embedding: a row of embed_pending while any does, none otherwise.
func (t *tx) setEmbedPending(ctx context.Context, workspaceID, itemID string, n int) error {
	var err error
	if n > 0 {
		_, err = t.tx.ExecContext(ctx, `INSERT INTO embed_pending (item_id, workspace_id, chunks) VALUES (?, ?, ?)
			ON CONFLICT (item_id) DO UPDATE SET chunks = excluded.chunks`, itemID, workspaceID, n)
	} else {
		_, err = t.tx.ExecContext(ctx, "DELETE FROM embed_pending WHERE item_id = ? AND workspace_id = ?", itemID, workspaceID)
	}
	return classify(err, "pending embeddings")
}

// recountEmbedPending sets embed_pending for the files itemIDs (a JSON
// array) from their chunks: those without an embedding.
func (t *tx) recountEmbedPending(ctx context.Context, itemIDs string) error {
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM embed_pending WHERE item_id IN (SELECT value FROM json_each(?))`, itemIDs); err != nil {
		return classify(err, "pending embeddings")
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO embed_pending (item_id, workspace_id, chunks)
		SELECT c.item_id, min(c.workspace_id), count(*) FROM chunks c
		WHERE c.item_id IN (SELECT value FROM json_each(?))
			AND NOT EXISTS (SELECT 1 FROM chunk_vectors v WHERE v.chunk_id = c.id)
		GROUP BY c.item_id`, itemIDs)
	return classify(err, "pending embeddings")
}

// CopyChunks copies in four statements, whatever the number of chunks:
// ids from chunk_seq for the count, the chunks numbered in idx order, their
// full-text rows from the copies, their embeddings matched by idx.
func (t *tx) CopyChunks(ctx context.Context, workspaceID, fromItemID, toItemID string, version int64) (int, error) {
	if fromItemID == toItemID {
		return 0, invalid("a file's chunks cannot be copied onto themselves")
	}
	var items, n int
	err := t.tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM items WHERE id IN (?1, ?2) AND workspace_id = ?3),
		(SELECT count(*) FROM chunks WHERE item_id = ?1 AND workspace_id = ?3)`, fromItemID, toItemID, workspaceID).Scan(&items, &n)
	if err != nil {
		return 0, classify(err, "chunks")
	}
	if items != 2 {
		return 0, notFound("item")
	}
	if _, err := t.tx.ExecContext(ctx, "DELETE FROM chunks WHERE item_id = ? AND workspace_id = ?", toItemID, workspaceID); err != nil {
		return 0, classify(err, "chunks")
	}
	if n == 0 {
		return 0, t.setEmbedPending(ctx, workspaceID, toItemID, 0)
	}
	var last int64
	if err := t.tx.QueryRowContext(ctx, "UPDATE chunk_seq SET seq = seq + ? WHERE one = 1 RETURNING seq", n).Scan(&last); err != nil {
		return 0, classify(err, "chunks")
	}
	first := last - int64(n) + 1
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO chunks (id, item_id, workspace_id, version, idx, text, heading, start_off, end_off, page)
		SELECT ?1 + row_number() OVER (ORDER BY idx) - 1, ?2, workspace_id, ?3, idx, text, heading, start_off, end_off, page
		FROM chunks WHERE item_id = ?4 AND workspace_id = ?5`, first, toItemID, version, fromItemID, workspaceID); err != nil {
		return 0, classify(err, "chunks")
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO chunks_fts (rowid, text, heading)
		SELECT id, text, heading FROM chunks WHERE item_id = ? AND workspace_id = ?`, toItemID, workspaceID); err != nil {
		return 0, classify(err, "chunks")
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO chunk_vectors (chunk_id, workspace_id, model, dims, vec)
		SELECT c.id, v.workspace_id, v.model, v.dims, v.vec
		FROM chunks o JOIN chunk_vectors v ON v.chunk_id = o.id JOIN chunks c ON c.item_id = ?1 AND c.idx = o.idx
		WHERE o.item_id = ?2 AND o.workspace_id = ?3 AND c.workspace_id = ?3
		ORDER BY c.id`, toItemID, fromItemID, workspaceID); err != nil {
		return 0, classify(err, "chunk vector")
	}
	list, err := json.Marshal([]string{toItemID})
	if err != nil {
		return 0, err
	}
	return n, t.recountEmbedPending(ctx, string(list))
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
	if len(q.Terms) == 0 {
		return nil, nil
	}
	if err := shelf.CheckTerms(q.Terms); err != nil {
		return nil, err
	}
	terms, cost, err := t.affordableTerms(ctx, q.Terms)
	if err != nil {
		return nil, err
	}
	sample := 0
	if cost > sampleOver {
		sample = sampleSize
	}
	if len(terms) < len(q.Terms) || sample > 0 {
		// Fewer terms or a sample, fewer matches: should they not fill
		// the page, every term and every match count after all.
		hits, err := t.searchMatch(ctx, workspaceID, q, orTerms(terms), sample)
		if err != nil || len(hits) >= q.Limit {
			return hits, err
		}
	}
	return t.searchMatch(ctx, workspaceID, q, orTerms(q.Terms), 0)
}

// When even the terms kept hold more than sampleOver chunks, none of them
// tells chunks apart much, and ranking every match would take a second on
// a million chunks: the newest sampleSize matches are ranked instead. BM25
// still needs each term's document count, a pass over its postings, so
// such a query costs tens of milliseconds rather than a second.
var (
	sampleOver int64 = 200000 // variables for tests
	sampleSize       = 10000
)

// searchMatch runs the FTS5 expression match: ranked in FTS5 (the newest
// sample matches only, when sample > 0) and cut, widening the cut while
// the filters leave fewer than the limit, then joined whole.
func (t *tx) searchMatch(ctx context.Context, workspaceID string, q shelf.ChunkQuery, match string, sample int) ([]*shelf.ChunkHit, error) {
	for cut := max(4*q.Limit, 40); ; cut *= 8 {
		if sample > 0 {
			cut = min(cut, sample)
		} else if cut > maxRankedCut {
			return t.searchJoined(ctx, workspaceID, q, match)
		}
		hits, matched, err := t.searchRanked(ctx, workspaceID, q, match, cut, sample)
		if err != nil || len(hits) >= q.Limit || matched < cut || cut == sample {
			return hits, err // a sample that cannot fill the page is the caller's to widen
		}
	}
}

// orTerms is an FTS5 expression matching any of terms, each quoted so
// that nothing in it is query syntax.
func orTerms(terms []string) string {
	q := make([]string, len(terms))
	for i, t := range terms {
		q[i] = `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
	}
	return strings.Join(q, " OR ")
}

// FTS5 scores every chunk that holds a query's terms, so a query's cost is
// the sum of its terms' document frequencies: about a microsecond per
// chunk here. Over a large index a term most chunks hold (the common
// words of the collection, beyond the English stop words the core drops)
// makes a query cost hundreds of milliseconds while it barely moves the
// ranking (BM25 gives it almost no weight). So when the terms' chunks sum
// past termBudget, the most common terms are left out, most common first,
// while another remains. Below that budget nothing changes, so small
// collections rank with every term.
var termBudget int64 = 30000 // a variable for tests

// affordableTerms returns terms, less the most common ones when they
// together cost more than termBudget, and how many chunks the terms kept
// hold (summed; -1 when the index is too small to have counted).
func (t *tx) affordableTerms(ctx context.Context, terms []string) ([]string, int64, error) {
	var size int64
	if err := t.tx.QueryRowContext(ctx, "SELECT coalesce(max(id), 0) FROM chunks").Scan(&size); err != nil {
		return nil, 0, classify(err, "search")
	}
	if size <= termBudget {
		return terms, -1, nil
	}
	type term struct {
		text string
		df   int64
	}
	ts := make([]term, len(terms))
	var sum int64
	for i, x := range terms {
		df, err := t.docFreq(ctx, x)
		if err != nil {
			return nil, 0, err
		}
		ts[i], sum = term{x, df}, sum+df
	}
	if sum <= termBudget {
		return terms, sum, nil
	}
	order := make([]int, len(ts))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(ts[b].df, ts[a].df) })
	// Drop the commonest while the rest cost too much and still match
	// something: a term the index lacks cannot stand in for the others.
	drop := map[int]bool{}
	for _, i := range order[:len(order)-1] {
		if sum <= termBudget || sum-ts[i].df == 0 {
			break
		}
		drop[i], sum = true, sum-ts[i].df
	}
	var out []string
	for i, x := range ts {
		if !drop[i] {
			out = append(out, x.text)
		}
	}
	return out, sum, nil
}

// docFreq estimates how many chunks hold a term, from the index's
// vocabulary: the index holds words folded and stemmed (porter), and the
// stem of a word is nearly always a prefix of its folded form, so the
// longest prefix in the vocabulary stands for it. A phrase counts as its
// rarest word; a word with no prefix in the vocabulary counts as rare.
func (t *tx) docFreq(ctx context.Context, term string) (int64, error) {
	var best int64 = -1
	for _, w := range strings.Fields(term) {
		f := foldWord(w)
		var prefixes []any
		for n := len(f); n >= 2 && len(prefixes) < 12; n-- {
			if n == len(f) || utf8.RuneStart(f[n]) {
				prefixes = append(prefixes, f[:n])
			}
		}
		if len(prefixes) == 0 {
			continue
		}
		var df int64
		err := t.tx.QueryRowContext(ctx, `SELECT doc FROM chunks_vocab WHERE term IN (`+
			strings.TrimSuffix(strings.Repeat("?, ", len(prefixes)), ", ")+`) ORDER BY length(term) DESC LIMIT 1`, prefixes...).Scan(&df)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil // a word the index does not hold: rare
		} else if err != nil {
			return 0, classify(err, "search")
		}
		if best < 0 || df < best {
			best = df
		}
	}
	return max(best, 0), nil
}

// foldWord lowercases a word and removes its diacritics, as the index's
// tokenizer (unicode61 remove_diacritics 2) does.
func foldWord(w string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(w)) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// maxRankedCut bounds the matches ranked before the filters apply.
const maxRankedCut = 20000

const hitCols = `c.version, c.idx, c.text, c.heading, c.start_off, c.end_off, c.page`

// searchRanked ranks the best cut matches in FTS5, then joins them and
// keeps those that pass the filters (evaluated per row, as a column, so
// the rows the cut held are counted too). It returns the hits and how
// many matches the cut held.
func (t *tx) searchRanked(ctx context.Context, workspaceID string, q shelf.ChunkQuery, match string, cut, sample int) ([]*shelf.ChunkHit, int, error) {
	var cond strings.Builder
	args := chunkFilter(&cond, nil, workspaceID, q)
	args = append(args, match)
	ranked := `SELECT rowid AS id, rank, highlight(chunks_fts, 0, char(2), char(3)) AS hl
			FROM chunks_fts WHERE chunks_fts MATCH ? AND rank MATCH 'bm25(1.0, 0.5)' ORDER BY rank LIMIT ?`
	if sample > 0 {
		// highlight() cannot follow the sample out of FTS5's own query:
		// it is computed for the page afterwards (highlightHits).
		ranked = `SELECT id, rank, '' AS hl FROM (SELECT rowid AS id, rank FROM chunks_fts
				WHERE chunks_fts MATCH ? AND rank MATCH 'bm25(1.0, 0.5)' ORDER BY rowid DESC LIMIT ?)
			ORDER BY rank LIMIT ?`
		args = append(args, sample)
	}
	args = append(args, cut)
	rows, err := t.tx.QueryContext(ctx, `SELECT `+hitCols+`, -f.rank, f.hl, coalesce((`+cond.String()+`), 0), `+itemColsOf("i")+`, c.id
		FROM (`+ranked+`) AS f
		JOIN chunks c ON c.id = f.id JOIN items i ON i.id = c.item_id
		ORDER BY f.rank`, args...)
	if err != nil {
		return nil, 0, searchError(err)
	}
	all, err := scanHits(rows)
	if err != nil {
		return nil, 0, err
	}
	var out []hit
	for _, h := range all {
		if h.ok && len(out) < q.Limit {
			out = append(out, h)
		}
	}
	if sample > 0 {
		if err := t.highlightHits(ctx, match, out); err != nil {
			return nil, 0, err
		}
	}
	hits := make([]*shelf.ChunkHit, len(out))
	for i, h := range out {
		hits[i] = h.ChunkHit
	}
	return hits, len(all), nil
}

// highlightHits marks the matches in the text of a page of hits.
func (t *tx) highlightHits(ctx context.Context, match string, hits []hit) error {
	if len(hits) == 0 {
		return nil
	}
	args := []any{match}
	byID := map[int64]*shelf.ChunkHit{}
	for _, h := range hits {
		args = append(args, h.id)
		byID[h.id] = h.ChunkHit
		h.Highlight = h.Chunk.Text
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT rowid, highlight(chunks_fts, 0, char(2), char(3)) FROM chunks_fts
		WHERE chunks_fts MATCH ? AND rowid IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(hits)), ", ")+`)`, args...)
	if err != nil {
		return searchError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var hl string
		if err := rows.Scan(&id, &hl); err != nil {
			return searchError(err)
		}
		if h := byID[id]; h != nil {
			h.Highlight = hl
		}
	}
	if err := rows.Err(); err != nil {
		return searchError(err)
	}
	return nil
}

// searchJoined joins every match to its chunk and item, filters, then
// sorts: the way for filters that keep few of many matches.
func (t *tx) searchJoined(ctx context.Context, workspaceID string, q shelf.ChunkQuery, match string) ([]*shelf.ChunkHit, error) {
	var where strings.Builder
	where.WriteString(`chunks_fts MATCH ? AND `)
	args := chunkFilter(&where, []any{match}, workspaceID, q)
	args = append(args, q.Limit)
	rows, err := t.tx.QueryContext(ctx, `SELECT `+hitCols+`,
			-bm25(chunks_fts, 1.0, 0.5), highlight(chunks_fts, 0, char(2), char(3)), 1, `+itemColsOf("i")+`, c.id
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

// hit is a search's row: a hit, whether it passed the filters, and its
// chunk's id.
type hit struct {
	*shelf.ChunkHit
	ok bool
	id int64
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
		if err := rows.Scan(append(append(dest, itemRow.targets()...), &h.id)...); err != nil {
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
	} else {
		// Every library but the internal ones, which a search reaches
		// only by naming them.
		where.WriteString(" AND i.library_id NOT IN (SELECT id FROM libraries WHERE workspace_id = ? AND kind IN (?, ?))")
		args = append(args, workspaceID, shelf.KindProject, shelf.KindDeleted)
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

func (t *tx) SetIndexStatus(ctx context.Context, workspaceID, id string, st shelf.IndexStatus) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE items SET index_state = ?, indexed_at = ?, indexing_started_at = ?,
		indexing_errored_at = ?, indexing_error = ? WHERE id = ? AND workspace_id = ?`,
		st.State, nanos(st.IndexedAt), nanos(st.StartedAt), nanos(st.ErroredAt), st.Error, id, workspaceID)
	if err != nil {
		return classify(err, "item")
	}
	return ensureFound(res, "item")
}
