package sqlite

import (
	"context"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/store/sqlite/keyword"
)

// keywords is the Store's in-memory keyword index (store/sqlite/keyword), one per
// workspace, which SearchChunks ranks word queries with in a read
// transaction; FTS5 stays for phrases, for explicit match expressions and
// for write transactions. The chunks table is the truth: the index is
// built from it at the first search, caught up with it at the start of
// every search (the chunks with an id above the last one seen, and the
// deletes logged in chunk_deletes since the last one applied, migration
// 0013), and every hit it ranks is read back from the chunks and items of
// the search's own snapshot, filters applied, so a chunk deleted or not
// yet visible there is never returned.
//
// Why catching up by id is exact: SQLite has one writer, so chunk ids are
// handed out in commit order, and a reader's snapshot holds every id below
// its highest; and an id is never handed out twice (ReplaceChunks takes
// them from a counter that only grows, migration 0015), so a chunk above
// the highest id indexed is new and one at or below it is indexed or
// deleted.
type keywords struct {
	mu      sync.Mutex // held while catching up
	built   bool
	lastID  int64 // the highest chunk id indexed
	lastDel int64 // the last chunk_deletes seq applied
	byWS    map[string]*keyword.Index
	limit   int  // the most chunks indexed; 0: no index
	over    bool // the chunks outgrew limit: searches use FTS5
	grew    bool // the last catch-up added chunks: the limit is checked again
}

// DefaultKeywordIndexLimit is the most chunks the keyword index holds
// unless SetKeywordIndexLimit says otherwise: about 3.5 GB of memory for
// chunks of 1,000 characters (docs/PERFORMANCE.md).
const DefaultKeywordIndexLimit = 5000000

// SetKeywordIndexLimit bounds the chunks of the in-memory keyword index
// (all workspaces together); past it, or with n = 0, searches rank with
// FTS5 alone, which needs no memory but costs about 4 µs a matching chunk.
// Call it before the first search.
func (s *Store) SetKeywordIndexLimit(n int) {
	s.keywords.mu.Lock()
	defer s.keywords.mu.Unlock()
	s.keywords.limit = max(n, 0)
}

// WarmKeywordIndex builds the keyword index now, so that the first search
// does not wait for it (seconds at a million chunks).
func (s *Store) WarmKeywordIndex(ctx context.Context) error {
	return s.View(ctx, func(stx shelf.Tx) error {
		t := stx.(*tx)
		_, _, err := t.kw.index(ctx, t, "")
		return err
	})
}

// index catches the index up with t's snapshot and returns the
// workspace's, nil when the workspace has no chunks; ok is false when
// there is no index to search (the limit is 0 or was passed).
func (k *keywords) index(ctx context.Context, t *tx, workspaceID string) (x *keyword.Index, ok bool, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.limit == 0 || k.over {
		return nil, false, nil
	}
	if err := k.catchUp(ctx, t); err != nil {
		return nil, false, err
	}
	if k.over {
		return nil, false, nil
	}
	grew := k.grew
	k.grew = false
	if grew && k.len() > k.limit {
		slog.Warn("keyword index dropped: more chunks than its limit; searches rank with FTS5 alone", "chunks", k.len(), "limit", k.limit)
		k.over, k.built, k.byWS = true, false, nil
		return nil, false, nil
	}
	return k.byWS[workspaceID], true, nil
}

func (k *keywords) catchUp(ctx context.Context, t *tx) error {
	if k.built {
		fresh, err := k.applyDeletes(ctx, t)
		if err != nil || fresh {
			return err
		}
		return k.addFrom(ctx, t, "WHERE id > ?", k.lastID)
	}
	return k.build(ctx, t)
}

// build indexes every chunk of t's snapshot anew.
func (k *keywords) build(ctx context.Context, t *tx) error {
	start := time.Now()
	k.built, k.byWS, k.lastID = false, map[string]*keyword.Index{}, 0
	if err := t.tx.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM chunk_deletes").Scan(&k.lastDel); err != nil {
		return classify(err, "search")
	}
	var n int
	if err := t.tx.QueryRowContext(ctx, "SELECT count(*) FROM chunks").Scan(&n); err != nil {
		return classify(err, "search")
	}
	if n > k.limit {
		k.over = true
		slog.Warn("keyword index not built: more chunks than its limit; searches rank with FTS5 alone", "chunks", n, "limit", k.limit)
		return nil
	}
	if err := k.addFrom(ctx, t, "WHERE id > ?", 0); err != nil {
		return err
	}
	for _, x := range k.byWS {
		x.Trim()
	}
	k.built = true
	if n > 100000 {
		// The build read every chunk's text: give the garbage back to
		// the system now rather than keep it as heap to grow into.
		debug.FreeOSMemory()
	}
	if n := k.len(); n > 10000 {
		var bytes int64
		for _, x := range k.byWS {
			bytes += x.Bytes()
		}
		slog.Info("keyword index built", "chunks", n, "workspaces", len(k.byWS), "took", time.Since(start).Round(time.Millisecond), "bytes", bytes)
	}
	return nil
}

func (k *keywords) len() int {
	n := 0
	for _, x := range k.byWS {
		n += x.Len()
	}
	return n
}

// applyDeletes removes the chunks deleted since the last catch-up. It
// rebuilds the index (and reports fresh) when the log no longer reaches
// back to the last delete applied.
func (k *keywords) applyDeletes(ctx context.Context, t *tx) (fresh bool, err error) {
	rows, err := t.tx.QueryContext(ctx, "SELECT seq, chunk_id, workspace_id FROM chunk_deletes WHERE seq > ? ORDER BY seq", k.lastDel)
	if err != nil {
		return false, classify(err, "search")
	}
	defer rows.Close()
	first := true
	for rows.Next() {
		var seq, id int64
		var ws string
		if err := rows.Scan(&seq, &id, &ws); err != nil {
			return false, classify(err, "search")
		}
		if first && seq > k.lastDel+1 {
			rows.Close()
			return true, k.build(ctx, t) // pruned past us
		}
		first = false
		if x := k.byWS[ws]; x != nil {
			x.Delete(id)
		}
		k.lastDel = seq
	}
	return false, classify(rows.Err(), "search")
}

// addFrom indexes the chunks that where selects.
func (k *keywords) addFrom(ctx context.Context, t *tx, where string, arg any) error {
	rows, err := t.tx.QueryContext(ctx, "SELECT id, workspace_id, text, heading FROM chunks "+where+" ORDER BY id", arg)
	if err != nil {
		return classify(err, "search")
	}
	defer rows.Close()
	var id int64
	var ws, text, heading string
	for n := 0; rows.Next(); n++ {
		if n%1024 == 1023 && ctx.Err() != nil {
			return ctx.Err() // a build the server's shutdown cuts short
		}
		if err := rows.Scan(&id, &ws, &text, &heading); err != nil {
			return classify(err, "search")
		}
		x := k.byWS[ws]
		if x == nil {
			x = keyword.New()
			k.byWS[ws] = x
		}
		x.Add(id, text, heading)
		k.lastID, k.grew = max(k.lastID, id), true
	}
	return classify(rows.Err(), "search")
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

// wordsOnly reports whether every term is a single word: a phrase needs
// word positions, which only FTS5 keeps.
func wordsOnly(terms []string) bool {
	for _, t := range terms {
		if strings.ContainsRune(t, ' ') {
			return false
		}
	}
	return len(terms) > 0
}

// searchMemory ranks q.Terms in the workspace's keyword index, then reads
// the best back from the store with the filters applied, widening the cut
// while the filters leave fewer than the limit. It reports false when the
// filters keep too few of too many matches; the caller then searches with
// FTS5, whose join filters every match.
func (t *tx) searchMemory(ctx context.Context, workspaceID string, q shelf.ChunkQuery) ([]*shelf.ChunkHit, bool, error) {
	x, ok, err := t.kw.index(ctx, t, workspaceID)
	if err != nil || !ok || x == nil {
		return nil, ok, err
	}
	for cut := max(4*q.Limit, 40); cut <= maxRankedCut; cut *= 8 {
		ranked, matched := x.Search(q.Terms, cut)
		hits, err := t.readHits(ctx, workspaceID, q, ranked)
		if err != nil {
			return nil, false, err
		}
		if len(hits) >= q.Limit || matched <= cut {
			for _, h := range hits {
				h.Highlight = x.Mark(h.Chunk.Text, q.Terms, "\x02", "\x03")
			}
			return hits, true, nil
		}
	}
	return nil, false, nil
}

// readHits reads the chunks of ranked and their items, and returns, in
// rank order, at most q.Limit of them that exist in the snapshot and pass
// the filters.
func (t *tx) readHits(ctx context.Context, workspaceID string, q shelf.ChunkQuery, ranked []keyword.Hit) ([]*shelf.ChunkHit, error) {
	if len(ranked) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(ranked))
	for i, h := range ranked {
		ids[i] = h.ID
	}
	var cond strings.Builder
	args := chunkFilter(&cond, nil, workspaceID, q)
	args = append(args, idList(ids))
	rows, err := t.tx.QueryContext(ctx, `SELECT `+hitCols+`, 0.0, '', coalesce((`+cond.String()+`), 0), `+itemColsOf("i")+`, c.id
		FROM chunks c JOIN items i ON i.id = c.item_id
		WHERE c.id IN (SELECT value FROM json_each(?))`, args...)
	if err != nil {
		return nil, searchError(err)
	}
	all, err := scanHits(rows)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*shelf.ChunkHit, len(all))
	for _, h := range all {
		if h.ok {
			byID[h.id] = h.ChunkHit
		}
	}
	var out []*shelf.ChunkHit
	for _, r := range ranked {
		if h := byID[r.ID]; h != nil && len(out) < q.Limit {
			h.Score = r.Score
			out = append(out, h)
		}
	}
	return out, nil
}
