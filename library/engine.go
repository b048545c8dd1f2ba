package library

import (
	"context"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/index/search"
)

// Ranking — keyword, semantic and hybrid — is the search engine's
// (index/search), which keeps the keyword and vector indexes in memory and
// follows the store. The core resolves what the caller may see into the
// engine's query, embeds the query (through the breaker), and turns the
// engine's hits into SearchHits.

// newEngine returns the search engine over the core's store.
func (s *Service) newEngine() *search.Engine {
	model := ""
	if s.cfg.Embedder != nil {
		model = s.cfg.Embedder.Model()
	}
	return search.New(s.searchView, search.Config{Model: model, KeywordLimit: s.cfg.KeywordIndexLimit,
		Dir: s.cfg.SearchDir, Now: s.cfg.Now, Logger: s.log})
}

// searchView is the engine's read transaction.
func (s *Service) searchView(ctx context.Context, fn func(shelf.SearchTx) error) error {
	return s.store.View(ctx, func(tx shelf.Tx) error { return fn(tx) })
}

// WarmSearch loads the saved search indexes and catches them up with the
// store (or builds the keyword index), so that the first search does not
// wait for it.
func (s *Service) WarmSearch(ctx context.Context) error { return s.search.Warm(ctx) }

// RunSearchSaver keeps the keyword index following the store between
// searches, saves the search indexes at intervals while they change, and
// once more, caught up, when ctx ends; it returns after that save.
func (s *Service) RunSearchSaver(ctx context.Context) { s.search.Run(ctx) }

// toHits turns the engine's hits into SearchHits, their marks into « ».
func toHits(hits []*shelf.ChunkHit) []SearchHit {
	out := make([]SearchHit, len(hits))
	for i, h := range hits {
		out[i] = SearchHit{Item: h.Item, Chunk: h.Chunk, Score: h.Score, Highlight: highlight(h.Highlight)}
	}
	return out
}

// keywordSearch ranks chunks by BM25 over the words of text.
func (s *Service) keywordSearch(ctx context.Context, p *shelf.Principal, text string, cq shelf.ChunkQuery) ([]SearchHit, error) {
	cq.Terms = MatchTerms(text)
	if len(cq.Terms) == 0 {
		return nil, nil // only punctuation: nothing to look for
	}
	hits, err := s.search.Keyword(ctx, p.WorkspaceID, cq)
	if err != nil {
		return nil, err
	}
	return toHits(hits), nil
}

// semanticSearch ranks chunks by the cosine similarity of their
// embeddings to q, the query's.
func (s *Service) semanticSearch(ctx context.Context, p *shelf.Principal, q []float32, cq shelf.ChunkQuery) ([]SearchHit, error) {
	hits, err := s.search.Semantic(ctx, p.WorkspaceID, q, cq)
	if err != nil {
		return nil, err
	}
	// A semantic hit's text is its highlight, with nothing marked.
	out := make([]SearchHit, len(hits))
	for i, h := range hits {
		out[i] = SearchHit{Item: h.Item, Chunk: h.Chunk, Score: h.Score, Highlight: h.Highlight}
	}
	return out, nil
}

// hybridSearch fuses the keyword and semantic rankings by reciprocal rank
// (search.Engine.Hybrid). The query is embedded (embedQuery: within
// EmbedTimeout, through the breaker) while the keyword search runs; when
// the embedder fails, the keyword ranking is the answer, and notice says
// why.
func (s *Service) hybridSearch(ctx context.Context, p *shelf.Principal, text string, cq shelf.ChunkQuery) (hits []SearchHit, notice string, err error) {
	cq.Terms = MatchTerms(text)
	found, embedErr, err := s.search.Hybrid(ctx, p.WorkspaceID, cq, func(ctx context.Context) ([]float32, error) {
		return s.embedQuery(ctx, text)
	})
	if err != nil {
		return nil, "", err
	}
	if embedErr != nil {
		notice = keywordNotice(embedErr)
	}
	return toHits(found), notice, nil
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
