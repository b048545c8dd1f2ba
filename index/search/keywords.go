package search

import (
	"context"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/index/keyword"
)

// keywords is the engine's keyword index (index/keyword), one per
// workspace, all fed from the store's chunks by one feed.
type keywords struct {
	mu      sync.Mutex // held while catching up, and while saving takes a copy
	built   bool
	feed    feed
	byWS    map[string]*keyword.Index
	limit   int  // the most chunks indexed; 0: no index
	over    bool // the chunks outgrew limit: searches use the store's own
	grew    bool // the last catch-up added chunks: the limit is checked again
	changed bool // since the last save
	log     *slog.Logger
}

// DefaultKeywordLimit is the most chunks the keyword index holds unless
// Config.KeywordLimit says otherwise: about 3.5 GB of memory for chunks of
// 1,000 characters (docs/PERFORMANCE.md).
const DefaultKeywordLimit = 5000000

// index catches the index up with tx's snapshot and returns the
// workspace's, nil when the workspace has no chunks; ok is false when
// there is no index to search (the limit is 0 or was passed).
func (k *keywords) index(ctx context.Context, tx shelf.SearchTx, workspaceID string) (x *keyword.Index, ok bool, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.limit == 0 || k.over {
		return nil, false, nil
	}
	if err := k.catchUp(ctx, tx); err != nil {
		return nil, false, err
	}
	if k.over {
		return nil, false, nil
	}
	grew := k.grew
	k.grew = false
	if grew && k.len() > k.limit {
		k.log.Warn("keyword index dropped: more chunks than its limit; searches rank with the store's full-text search alone", "chunks", k.len(), "limit", k.limit)
		k.over, k.built, k.byWS = true, false, nil
		return nil, false, nil
	}
	return k.byWS[workspaceID], true, nil
}

func (k *keywords) catchUp(ctx context.Context, tx shelf.SearchTx) error {
	if !k.built {
		return k.build(ctx, tx)
	}
	lost, err := k.feed.catchUp(ctx, tx, k, false)
	if err != nil || !lost {
		return err
	}
	k.log.Info("keyword index: the store's delete log no longer reaches back to it; rebuilding")
	return k.build(ctx, tx)
}

// build indexes every chunk of tx's snapshot anew.
func (k *keywords) build(ctx context.Context, tx shelf.SearchTx) error {
	start := time.Now()
	k.built, k.byWS, k.changed = false, map[string]*keyword.Index{}, true
	if err := k.feed.start(ctx, tx); err != nil {
		return err
	}
	n, err := tx.CountChunks(ctx)
	if err != nil {
		return err
	}
	if n > k.limit {
		k.over = true
		k.log.Warn("keyword index not built: more chunks than its limit; searches rank with the store's full-text search alone", "chunks", n, "limit", k.limit)
		return nil
	}
	if _, err := k.feed.catchUp(ctx, tx, k, false); err != nil {
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
		k.log.Info("keyword index built", "chunks", n, "workspaces", len(k.byWS), "took", time.Since(start).Round(time.Millisecond), "bytes", k.bytes())
	}
	return nil
}

func (k *keywords) more(ctx context.Context, tx shelf.SearchTx, after int64) (int64, int, error) {
	rows, err := tx.ChunksAfter(ctx, after, addBatch)
	if err != nil || len(rows) == 0 {
		return 0, 0, err
	}
	for _, r := range rows {
		x := k.byWS[r.WorkspaceID]
		if x == nil {
			x = keyword.New()
			k.byWS[r.WorkspaceID] = x
		}
		if !x.Has(r.ID) { // ids are never reused: one held is this chunk
			x.Add(r.ID, r.Text, r.Heading)
		}
	}
	k.grew, k.changed = true, true
	return rows[len(rows)-1].ID, len(rows), nil
}

func (k *keywords) forget(d shelf.ChunkDelete) {
	if x := k.byWS[d.WorkspaceID]; x != nil {
		x.Delete(d.ChunkID)
		k.changed = true
	}
}

func (k *keywords) len() int {
	n := 0
	for _, x := range k.byWS {
		n += x.Len()
	}
	return n
}

func (k *keywords) bytes() int64 {
	var n int64
	for _, x := range k.byWS {
		n += x.Bytes()
	}
	return n
}

// wordsOnly reports whether every term is a single word: a phrase needs
// word positions, which only the store's full-text index keeps.
func wordsOnly(terms []string) bool {
	for _, t := range terms {
		if strings.ContainsRune(t, ' ') {
			return false
		}
	}
	return len(terms) > 0
}

// maxRankedCut bounds the ranked chunks read back while the filters leave
// fewer than the limit; past it the store's full-text search, whose join
// filters every match, answers.
const maxRankedCut = 20000

// searchMemory ranks q.Terms in the workspace's keyword index, then reads
// the best back from tx with the filters applied, widening the cut while
// the filters leave fewer than the limit. It reports false when there is
// no index, or when the filters keep too few of too many matches.
func (e *Engine) searchMemory(ctx context.Context, tx shelf.SearchTx, workspaceID string, q shelf.ChunkQuery) ([]*shelf.ChunkHit, bool, error) {
	x, ok, err := e.kw.index(ctx, tx, workspaceID)
	if err != nil || !ok || x == nil {
		return nil, ok, err
	}
	for cut := max(4*q.Limit, 40); cut <= maxRankedCut; cut *= 8 {
		ranked, matched := x.Search(q.Terms, cut)
		ids := make([]int64, len(ranked))
		for i, h := range ranked {
			ids[i] = h.ID
		}
		found, err := tx.ChunkHits(ctx, workspaceID, ids, q)
		if err != nil {
			return nil, false, err
		}
		var hits []*shelf.ChunkHit
		for _, r := range ranked {
			if h := found[r.ID]; h != nil && len(hits) < q.Limit {
				h.Score = r.Score
				hits = append(hits, h)
			}
		}
		if len(hits) >= q.Limit || matched <= cut {
			for _, h := range hits {
				h.Chunk.Model = "" // a keyword hit says nothing of embeddings
				h.Highlight = x.Mark(h.Chunk.Text, q.Terms, MarkOpen, MarkClose)
			}
			return hits, true, nil
		}
	}
	return nil, false, nil
}
