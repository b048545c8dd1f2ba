package search

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	shelf "github.com/shelfmem/shelf"
)

// Highlight marks: a hit's Highlight has each matched word between them,
// as the store's SearchChunks marks its own.
const (
	MarkOpen  = "\x02"
	MarkClose = "\x03"
)

// View runs fn in a read transaction of the store that sees one snapshot.
type View func(ctx context.Context, fn func(shelf.SearchTx) error) error

// Config tunes an Engine. Zero values take the defaults.
type Config struct {
	// Model is the embedding model whose embeddings semantic search
	// ranks; "" for none (keyword search only).
	Model string
	// KeywordLimit bounds the chunks of the keyword index (all
	// workspaces together); past it searches rank with the store's own
	// full-text search alone. 0: DefaultKeywordLimit; negative: no index.
	KeywordLimit int
	// Dir is where the indexes are saved: a directory of the server's
	// own (the data directory's index/). "": they are not saved.
	Dir string
	// SaveEvery is how often Run saves the indexes that changed. Default
	// 5 minutes.
	SaveEvery time.Duration
	// FollowEvery is how often Run catches the keyword index up with the
	// store between searches. Default 15 seconds.
	FollowEvery time.Duration
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// Logger receives the engine's logs; default slog.Default().
	Logger *slog.Logger
}

// Engine is the search engine. It is safe for concurrent use.
type Engine struct {
	view View
	cfg  Config
	log  *slog.Logger
	kw   keywords
	vecs vectorIndexes
	// The saved indexes were read (by Warm or the first search that
	// needs them).
	kwLoaded, vecLoaded sync.Once
}

// New returns an engine over the store that view reads. Its indexes are
// empty until Warm or the first search.
func New(view View, cfg Config) *Engine {
	switch {
	case cfg.KeywordLimit == 0:
		cfg.KeywordLimit = DefaultKeywordLimit
	case cfg.KeywordLimit < 0:
		cfg.KeywordLimit = 0
	}
	if cfg.SaveEvery <= 0 {
		cfg.SaveEvery = 5 * time.Minute
	}
	if cfg.FollowEvery <= 0 {
		cfg.FollowEvery = 15 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	e := &Engine{view: view, cfg: cfg, log: cfg.Logger}
	e.kw.limit, e.kw.log = cfg.KeywordLimit, cfg.Logger
	return e
}

// Keyword ranks the workspace's chunks that hold any of q.Terms and pass
// q's filters by BM25, best first, at most q.Limit. Word queries rank in
// the keyword index; phrases, and every query when the index is off or
// past its limit, in the store's full-text search (SearchChunks). EINVALID
// for a malformed term.
func (e *Engine) Keyword(ctx context.Context, workspaceID string, q shelf.ChunkQuery) ([]*shelf.ChunkHit, error) {
	if q.Limit <= 0 {
		return nil, shelf.Errorf(shelf.EINVALID, "limit %d is not positive", q.Limit)
	}
	if len(q.Terms) == 0 || (q.LibraryIDs != nil && len(q.LibraryIDs) == 0) {
		return nil, nil
	}
	if err := shelf.CheckTerms(q.Terms); err != nil {
		return nil, err
	}
	e.kwLoaded.Do(e.loadKeywords)
	var hits []*shelf.ChunkHit
	err := e.view(ctx, func(tx shelf.SearchTx) error {
		if wordsOnly(q.Terms) {
			h, ok, err := e.searchMemory(ctx, tx, workspaceID, q)
			if err != nil || ok {
				hits = h
				return err
			}
		}
		var err error
		hits, err = tx.SearchChunks(ctx, workspaceID, q)
		return err
	})
	return hits, err
}

// rrfK is reciprocal rank fusion's constant (Cormack et al. 2009).
const rrfK = 60

// Hybrid fuses the keyword ranking of q.Terms and the semantic ranking of
// the query's embedding by reciprocal rank: a chunk scores the sum of
// 1/(60+rank) over the rankings it is in, each ranking max(2·q.Limit, 50)
// long. embed embeds the query, while the keyword search runs; when it
// fails, the answer is the keyword ranking and embedErr says why.
func (e *Engine) Hybrid(ctx context.Context, workspaceID string, q shelf.ChunkQuery, embed func(context.Context) ([]float32, error)) (hits []*shelf.ChunkHit, embedErr, err error) {
	topK := q.Limit
	q.Limit = max(2*topK, 50)
	type embedded struct {
		vec []float32
		err error
	}
	qc := make(chan embedded, 1)
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		v, err := embed(qctx)
		qc <- embedded{v, err}
	}()
	kw, err := e.Keyword(ctx, workspaceID, q)
	if err != nil {
		return nil, nil, err // the embedding is cancelled
	}
	qv := <-qc
	if qv.err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return kw[:min(len(kw), topK)], qv.err, nil
	}
	sem, err := e.Semantic(ctx, workspaceID, qv.vec, q)
	if err != nil {
		return nil, nil, err
	}
	return fuse(topK, kw, sem), nil, nil
}

// fuse merges rankings by reciprocal rank, keeping the first topK.
func fuse(topK int, rankings ...[]*shelf.ChunkHit) []*shelf.ChunkHit {
	type key struct {
		item  string
		index int
	}
	fused := map[key]*shelf.ChunkHit{}
	var order []key
	for _, list := range rankings {
		for rank, h := range list {
			k := key{h.Item.ID, h.Chunk.Index}
			f := fused[k]
			if f == nil {
				c := *h
				c.Score = 0
				f = &c
				fused[k] = f
				order = append(order, k)
			}
			f.Score += 1 / float64(rrfK+rank+1)
		}
	}
	out := make([]*shelf.ChunkHit, len(order))
	for i, k := range order {
		out[i] = fused[k]
	}
	slices.SortStableFunc(out, func(a, b *shelf.ChunkHit) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	return out[:min(len(out), topK)]
}

// Warm loads the saved indexes and catches them up with the store, or
// builds the keyword index, so that the first search does not wait for it.
func (e *Engine) Warm(ctx context.Context) error {
	e.kwLoaded.Do(e.loadKeywords)
	err := e.view(ctx, func(tx shelf.SearchTx) error {
		_, _, err := e.kw.index(ctx, tx, "")
		return err
	})
	if err != nil || e.cfg.Model == "" {
		return err
	}
	e.vecLoaded.Do(e.loadVectors)
	e.vecs.mu.Lock()
	var wss []string
	for ws := range e.vecs.byWS {
		wss = append(wss, ws)
	}
	e.vecs.mu.Unlock()
	for _, ws := range wss {
		if _, err := e.vectors(ctx, ws); err != nil {
			return err
		}
	}
	return nil
}
