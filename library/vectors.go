package library

import (
	"context"
	"slices"
	"sync"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/index/vector"
)

// Vector search keeps one nearest-neighbour index per workspace in
// memory, built from the store's embeddings of the configured model on
// the workspace's first semantic search, and caught up before each search
// with the embeddings added since (their ids only grow). The store stays
// the truth: a hit is kept only when its id still names an embedding whose
// chunk passes the filters, so the embeddings of deleted or re-indexed
// files, which leave the store in the transaction that removes their
// chunks, are never returned, though their nodes linger in memory until
// the index is rebuilt (when they outnumber the live ones).

// vectorIndexes holds the workspaces' in-memory indexes.
type vectorIndexes struct {
	mu   sync.Mutex
	byWS map[string]*wsVectors
}

// wsVectors is one workspace's index. mu serialises catching up and
// searching; vector.Index is safe for concurrent use, but catch-up must
// not run twice at once.
type wsVectors struct {
	mu        sync.Mutex
	idx       *vector.Index
	last      int64 // the highest embedding id added
	checkedAt time.Time
}

// vectorBatch is how many embeddings are read from the store at once.
const vectorBatch = 5000

// maxFilteredIDs bounds the set of allowed embeddings a filtered search
// collects; a filter that lets more through searches the whole index and
// filters the hits.
const maxFilteredIDs = 200000

func (s *Service) workspaceVectors(ctx context.Context, ws string) (*wsVectors, error) {
	s.vecs.mu.Lock()
	if s.vecs.byWS == nil {
		s.vecs.byWS = map[string]*wsVectors{}
	}
	w := s.vecs.byWS[ws]
	if w == nil {
		w = &wsVectors{}
		s.vecs.byWS[ws] = w
	}
	s.vecs.mu.Unlock()

	w.mu.Lock()
	defer w.mu.Unlock()
	model := s.cfg.Embedder.Model()
	now := s.now()
	if w.idx != nil && now.Sub(w.checkedAt) > time.Minute {
		// Rebuild when dead nodes (re-indexed or deleted files) outnumber
		// live ones.
		w.checkedAt = now
		var live int
		err := s.store.View(ctx, func(tx shelf.Tx) (err error) {
			live, err = tx.CountVectors(ctx, ws, model)
			return err
		})
		if err != nil {
			return nil, err
		}
		if w.idx.Len() > 2*live+1000 {
			w.idx, w.last = nil, 0
		}
	}
	for {
		var rows []shelf.VectorRow
		err := s.store.View(ctx, func(tx shelf.Tx) (err error) {
			rows, err = tx.Vectors(ctx, ws, model, w.last, vectorBatch)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if w.idx == nil {
				if w.idx, err = vector.New(len(r.Vector), vector.Options{}); err != nil {
					return nil, err
				}
				w.checkedAt = now
			}
			if len(r.Vector) == w.idx.Dims() {
				if err := w.idx.Add(uint64(r.ID), r.Vector); err != nil {
					return nil, err
				}
			}
			w.last = r.ID
		}
		if len(rows) < vectorBatch {
			return w, nil
		}
	}
}

// semanticSearch ranks chunks by the cosine similarity of their
// embeddings to q, the query's.
func (s *Service) semanticSearch(ctx context.Context, p *shelf.Principal, q []float32, cq shelf.ChunkQuery) ([]SearchHit, error) {
	w, err := s.workspaceVectors(ctx, p.WorkspaceID)
	if err != nil {
		return nil, err
	}
	if w.idx == nil || w.idx.Len() == 0 {
		return nil, nil
	}
	if len(q) != w.idx.Dims() {
		return nil, shelf.Errorf(shelf.EUNAVAILABLE, "the embedder gave %d dimensions; the stored embeddings have %d", len(q), w.idx.Dims())
	}
	var filter func(uint64) bool
	if filtered(cq) {
		var ids []int64
		err := s.store.View(ctx, func(tx shelf.Tx) (err error) {
			ids, err = tx.VectorIDs(ctx, p.WorkspaceID, s.cfg.Embedder.Model(), cq, maxFilteredIDs+1)
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
	// Ask for more than needed: some hits may be dead nodes or filtered
	// out by the store; widen until enough survive or the index is spent.
	for want := cq.Limit * 2; ; want *= 4 {
		want = min(want, w.idx.Len(), maxVectorCandidates)
		hits, err := w.idx.Search(q, want, filter)
		if err != nil {
			return nil, err
		}
		out, err := s.resolveVectorHits(ctx, p, hits, cq)
		if err != nil {
			return nil, err
		}
		if len(out) >= cq.Limit || len(hits) < want || want >= min(w.idx.Len(), maxVectorCandidates) {
			return out[:min(len(out), cq.Limit)], nil
		}
	}
}

// maxVectorCandidates bounds the hits one semantic search resolves.
const maxVectorCandidates = 5000

// filtered reports whether cq narrows beyond the workspace and visibility.
func filtered(cq shelf.ChunkQuery) bool {
	return cq.LibraryIDs != nil || cq.PathPrefix != "" || len(cq.ContentTypes) > 0 || !cq.CreatedAfter.IsZero() ||
		!cq.CreatedBefore.IsZero() || len(cq.Metadata) > 0
}

// resolveVectorHits keeps the hits whose embeddings still exist and pass
// cq, in order, with their chunks and files.
func (s *Service) resolveVectorHits(ctx context.Context, p *shelf.Principal, hits []vector.Hit, cq shelf.ChunkQuery) ([]SearchHit, error) {
	out := make([]SearchHit, 0, len(hits))
	for batch := range slices.Chunk(hits, 1000) {
		ids := make([]int64, len(batch))
		for i, h := range batch {
			ids[i] = int64(h.ID)
		}
		var found map[int64]*shelf.ChunkHit
		err := s.store.View(ctx, func(tx shelf.Tx) (err error) {
			found, err = tx.VectorChunks(ctx, p.WorkspaceID, ids, cq)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, h := range batch {
			if c := found[int64(h.ID)]; c != nil {
				out = append(out, SearchHit{Item: c.Item, Chunk: c.Chunk, Score: float64(h.Score), Highlight: c.Chunk.Text})
			}
		}
	}
	return out, nil
}

// rrfK is reciprocal rank fusion's constant (Cormack et al. 2009).
const rrfK = 60

// hybridSearch fuses the keyword and semantic rankings by reciprocal rank:
// a chunk scores the sum of 1/(60+rank) over the rankings it is in. The
// query is embedded (embedQuery: within EmbedTimeout, through the
// breaker) while the keyword search runs; when the embedder fails, the
// keyword ranking is the answer, and notice says why.
func (s *Service) hybridSearch(ctx context.Context, p *shelf.Principal, text string, cq shelf.ChunkQuery) (hits []SearchHit, notice string, err error) {
	topK := cq.Limit
	cq.Limit = max(2*topK, 50)
	type embedded struct {
		vec []float32
		err error
	}
	qc := make(chan embedded, 1)
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		v, err := s.embedQuery(qctx, text)
		qc <- embedded{v, err}
	}()
	kw, err := s.keywordSearch(ctx, p, text, cq)
	if err != nil {
		return nil, "", err // the embedding is cancelled
	}
	q := <-qc
	if q.err != nil {
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		return kw[:min(len(kw), topK)], keywordNotice(q.err), nil
	}
	sem, err := s.semanticSearch(ctx, p, q.vec, cq)
	if err != nil {
		return nil, "", err
	}
	type key struct {
		item  string
		index int
	}
	fused := map[key]*SearchHit{}
	var order []key
	for _, list := range [][]SearchHit{kw, sem} {
		for rank, h := range list {
			k := key{h.Item.ID, h.Chunk.Index}
			f := fused[k]
			if f == nil {
				h := h
				h.Score = 0
				f = &h
				fused[k] = f
				order = append(order, k)
			}
			f.Score += 1 / float64(rrfK+rank+1)
		}
	}
	out := make([]SearchHit, len(order))
	for i, k := range order {
		out[i] = *fused[k]
	}
	slices.SortStableFunc(out, func(a, b SearchHit) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	return out[:min(len(out), topK)], "", nil
}

// keywordNotice says why a hybrid search answered by keyword alone.
func keywordNotice(err error) string {
	switch shelf.ErrorCode(err) {
	case shelf.EINVALID:
		return "the embedder refused the query: searched by keyword only"
	case shelf.ETIMEOUT:
		return shelf.ErrorMessage(err) + ": searched by keyword only"
	}
	return "the embedder is unavailable: searched by keyword only until it answers again"
}
