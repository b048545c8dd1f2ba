package search

import (
	"context"
	"slices"
	"sync"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/index/vector"
)

// Semantic search keeps one nearest-neighbour index per workspace, of the
// embeddings of the configured model, keyed by their chunks' ids: built on
// the workspace's first semantic search (or loaded from its saved form),
// and caught up before each search by its feed, with the embeddings added
// since (their ids only grow) and the chunks deleted since. The store
// stays the truth: a hit is kept only when its chunk still exists, has an
// embedding of the model and passes the filters. When the delete log no
// longer reaches back to an index, the deletes it missed are skipped
// rather than rebuilt for (a rebuild of a million vectors takes many
// minutes): their nodes linger, never returned, until the index is rebuilt
// because its nodes outnumber the store's embeddings two to one.

// vectorIndexes holds the workspaces' indexes.
type vectorIndexes struct {
	mu   sync.Mutex
	byWS map[string]*wsVectors
}

// wsVectors is one workspace's index. mu serialises catching up and
// searching; vector.Index is safe for concurrent use, but catch-up must
// not run twice at once.
type wsVectors struct {
	mu        sync.Mutex
	ws        string
	idx       *vector.Index
	feed      feed
	checkedAt time.Time
	changed   bool // since the last save
}

// maxFilteredIDs bounds the set of allowed chunks a filtered search
// collects; a filter that lets more through searches the whole index and
// filters the hits.
const maxFilteredIDs = 200000

// maxVectorCandidates bounds the hits one semantic search resolves.
const maxVectorCandidates = 5000

func (v *vectorIndexes) get(ws string) *wsVectors {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.byWS == nil {
		v.byWS = map[string]*wsVectors{}
	}
	w := v.byWS[ws]
	if w == nil {
		w = &wsVectors{ws: ws}
		v.byWS[ws] = w
	}
	return w
}

// vectors returns the workspace's index caught up with the store.
func (e *Engine) vectors(ctx context.Context, ws string) (*wsVectors, error) {
	w := e.vecs.get(ws)
	w.mu.Lock()
	defer w.mu.Unlock()
	now := e.cfg.Now()
	err := e.view(ctx, func(tx shelf.SearchTx) error {
		if w.idx != nil && now.Sub(w.checkedAt) > time.Minute {
			// Rebuild when dead nodes (deleted chunks the feed missed,
			// tombstones) outnumber live embeddings two to one.
			w.checkedAt = now
			live, err := tx.CountVectors(ctx, ws, e.cfg.Model)
			if err != nil {
				return err
			}
			if w.idx.Len()+w.idx.Tombstones() > 2*live+1000 {
				w.idx = nil
			}
		}
		if w.idx == nil {
			w.changed = true
			if err := w.feed.start(ctx, tx); err != nil {
				return err
			}
		}
		_, err := w.feed.catchUp(ctx, tx, &vectorFollower{w: w, model: e.cfg.Model, now: now}, true)
		return err
	})
	return w, err
}

// vectorFollower feeds one workspace's index.
type vectorFollower struct {
	w     *wsVectors
	model string
	now   time.Time
}

func (f *vectorFollower) more(ctx context.Context, tx shelf.SearchTx, after int64) (int64, int, error) {
	rows, err := tx.Vectors(ctx, f.w.ws, f.model, after, addBatch)
	if err != nil || len(rows) == 0 {
		return 0, 0, err
	}
	w := f.w
	for _, r := range rows {
		if w.idx == nil {
			if w.idx, err = vector.New(len(r.Vector), vector.Options{}); err != nil {
				return 0, 0, err
			}
			w.checkedAt = f.now
		}
		if len(r.Vector) == w.idx.Dims() && !w.idx.Has(uint64(r.ChunkID)) {
			if err := w.idx.Add(uint64(r.ChunkID), r.Vector); err != nil {
				return 0, 0, err
			}
		}
	}
	w.changed = true
	return rows[len(rows)-1].ID, len(rows), nil
}

func (f *vectorFollower) forget(d shelf.ChunkDelete) {
	if w := f.w; d.WorkspaceID == w.ws && w.idx != nil && w.idx.Has(uint64(d.ChunkID)) {
		w.idx.Delete(uint64(d.ChunkID))
		w.changed = true
	}
}

// Semantic ranks the workspace's chunks that pass q's filters by the
// cosine similarity of their embeddings to vec, the query's. Each hit's
// Score is the similarity and its Highlight the chunk's text.
// EUNAVAILABLE when vec's dimensions are not the stored embeddings'.
func (e *Engine) Semantic(ctx context.Context, workspaceID string, vec []float32, q shelf.ChunkQuery) ([]*shelf.ChunkHit, error) {
	if q.Limit <= 0 {
		return nil, shelf.Errorf(shelf.EINVALID, "limit %d is not positive", q.Limit)
	}
	if e.cfg.Model == "" {
		return nil, shelf.Errorf(shelf.EINVALID, "semantic search needs an embedding model")
	}
	e.vecLoaded.Do(e.loadVectors)
	w, err := e.vectors(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	idx := w.idx
	w.mu.Unlock()
	if idx == nil || idx.Len() == 0 {
		return nil, nil
	}
	if len(vec) != idx.Dims() {
		return nil, shelf.Errorf(shelf.EUNAVAILABLE, "the embedder gave %d dimensions; the stored embeddings have %d", len(vec), idx.Dims())
	}
	var filter func(uint64) bool
	if filtered(q) {
		var ids []int64
		err := e.view(ctx, func(tx shelf.SearchTx) (err error) {
			ids, err = tx.EmbeddedChunkIDs(ctx, workspaceID, e.cfg.Model, q, maxFilteredIDs+1)
			return err
		})
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			return nil, nil
		}
		if len(ids) <= maxFilteredIDs {
			allowed := make(map[uint64]struct{}, len(ids))
			for _, id := range ids {
				allowed[uint64(id)] = struct{}{}
			}
			filter = func(id uint64) bool { _, ok := allowed[id]; return ok }
		}
	}
	// Ask for more than needed: some hits may be filtered out by the
	// store; widen until enough survive or the index is spent.
	for want := q.Limit * 2; ; want *= 4 {
		want = min(want, idx.Len(), maxVectorCandidates)
		hits, err := idx.Search(vec, want, filter)
		if err != nil {
			return nil, err
		}
		out, err := e.resolveVectorHits(ctx, workspaceID, hits, q)
		if err != nil {
			return nil, err
		}
		if len(out) >= q.Limit || len(hits) < want || want >= min(idx.Len(), maxVectorCandidates) {
			return out[:min(len(out), q.Limit)], nil
		}
	}
}

// filtered reports whether q narrows beyond the workspace and visibility.
func filtered(q shelf.ChunkQuery) bool {
	return q.LibraryIDs != nil || q.PathPrefix != "" || len(q.ContentTypes) > 0 || !q.CreatedAfter.IsZero() ||
		!q.CreatedBefore.IsZero() || len(q.Metadata) > 0
}

// resolveVectorHits keeps the hits whose chunks still exist with an
// embedding of the model and pass q, in order, with their chunks and
// files.
func (e *Engine) resolveVectorHits(ctx context.Context, workspaceID string, hits []vector.Hit, q shelf.ChunkQuery) ([]*shelf.ChunkHit, error) {
	out := make([]*shelf.ChunkHit, 0, len(hits))
	for batch := range slices.Chunk(hits, 1000) {
		ids := make([]int64, len(batch))
		for i, h := range batch {
			ids[i] = int64(h.ID)
		}
		var found map[int64]*shelf.ChunkHit
		err := e.view(ctx, func(tx shelf.SearchTx) (err error) {
			found, err = tx.ChunkHits(ctx, workspaceID, ids, q)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, h := range batch {
			if c := found[int64(h.ID)]; c != nil && c.Chunk.Model == e.cfg.Model {
				c.Score, c.Highlight = float64(h.Score), c.Chunk.Text
				out = append(out, c)
			}
		}
	}
	return out, nil
}
