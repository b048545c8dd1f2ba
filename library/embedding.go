package library

import (
	"context"
	"fmt"
	"sync"
	"time"

	shelf "github.com/shelfmem/shelf"
)

// Embeddings follow indexing. A job stores a file's chunks as soon as
// they are extracted, so the file is indexed and found by keyword search
// whatever the embedder does; the store counts the chunks that still lack
// an embedding (ChunksToEmbed). One loop per server (embedLoop) embeds
// them in batches, oldest file first, and stores the vectors; while the
// embedder fails it backs off, doubling from 1 s to 5 minutes, with one
// log line per back-off. A chunk whose text the embedder refuses records
// the refusal and is not tried again; the file keeps its keyword index.
//
// Searches embed their query through a circuit breaker (breaker): after
// EmbedFailures failures in a row, of searches or of the loop, searches
// skip the embedder for EmbedCooldown and answer by keyword at once, then
// one search probes it.

// embedChunkBatch is how many pending chunks one EmbedOnce embeds and
// stores in one transaction.
const embedChunkBatch = 256

// Bounds of the embedding loop's back-off.
const (
	embedBackoffMin = time.Second
	embedBackoffMax = 5 * time.Minute
)

// EmbedOnce embeds up to a batch of the chunks waiting for an embedding of
// the configured model and stores the vectors. It returns how many chunks
// it took; 0 with no error when none waits or no embedder is configured.
// An embedder failure (EUNAVAILABLE, ETIMEOUT) stores nothing and is
// returned: the chunks wait for the next try.
func (s *Service) EmbedOnce(ctx context.Context) (int, error) {
	e := s.cfg.Embedder
	if e == nil {
		return 0, nil
	}
	var todo []shelf.ChunkToEmbed
	err := s.store.View(ctx, func(tx shelf.Tx) (err error) {
		todo, err = tx.ChunksToEmbed(ctx, embedChunkBatch)
		return err
	})
	if err != nil || len(todo) == 0 {
		return 0, err
	}
	embs, err := s.embedChunks(ctx, todo)
	if err != nil {
		if code := shelf.ErrorCode(err); code == shelf.EUNAVAILABLE || code == shelf.ETIMEOUT {
			s.embedFailed(err)
		}
		return 0, err
	}
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		_, err := tx.PutEmbeddings(ctx, embs)
		return err
	})
	if err != nil {
		return 0, err
	}
	return len(todo), nil
}

// embedChunks embeds chunks: the heading path goes before a chunk's text,
// as it says what the text is about. When the embedder refuses a batch
// (EINVALID: a text too long for the model), the batch is halved until
// the texts it refuses are found; each gets a refusal (an empty vector).
func (s *Service) embedChunks(ctx context.Context, chunks []shelf.ChunkToEmbed) ([]shelf.Embedding, error) {
	e := s.cfg.Embedder
	texts := make([]string, len(chunks))
	for i, c := range chunks {
		texts[i] = c.Text
		if c.Heading != "" {
			texts[i] = c.Heading + "\n\n" + c.Text
		}
	}
	model := e.Model()
	vecs, err := e.Embed(ctx, texts)
	switch {
	case err == nil && len(vecs) != len(chunks):
		return nil, shelf.Errorf(shelf.EUNAVAILABLE, "embedding: %d vectors for %d texts", len(vecs), len(chunks))
	case err == nil:
		out := make([]shelf.Embedding, len(chunks))
		for i, c := range chunks {
			out[i] = shelf.Embedding{ChunkID: c.ID, Model: model, Vector: vecs[i]}
		}
		return out, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case shelf.ErrorCode(err) != shelf.EINVALID:
		return nil, shelf.Errorf(shelf.ErrorCode(err), "embedding: %s", shelf.ErrorMessage(err))
	case len(chunks) == 1:
		s.log.Warn("embedding: the embedder refused a chunk; it is found by keyword only",
			"item", chunks[0].ItemID, "chunk", chunks[0].ID, "err", shelf.ErrorMessage(err))
		return []shelf.Embedding{{ChunkID: chunks[0].ID, Model: model}}, nil
	}
	half := len(chunks) / 2
	left, err := s.embedChunks(ctx, chunks[:half])
	if err != nil {
		return nil, err
	}
	right, err := s.embedChunks(ctx, chunks[half:])
	if err != nil {
		return nil, err
	}
	return append(left, right...), nil
}

// embedLoop embeds pending chunks until ctx ends: at once when told of new
// chunks (embedWake), else every Poll; after a failure, once its back-off
// has passed.
func (s *Service) embedLoop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		live, _ := s.giveWay(ctx)
		if !live {
			return
		}
		wait := s.cfg.Index.Poll
		if d := s.spaceWait(); d > 0 {
			wait = d // the disk is short: embeddings are writes too
		} else if d := s.embedBackoff.Wait(time.Now()); d > 0 {
			wait = d // woken by new chunks during a back-off: it still holds
		} else {
			n, err := s.EmbedOnce(ctx)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				wait = s.embedBackoff.Fail(time.Now(), func(d time.Duration) {
					s.log.Warn("embedding failed; the chunks wait, found by keyword meanwhile",
						"retry_in", d.String(), "err", shelf.ErrorMessage(err))
				})
			case n > 0:
				if s.embedBackoff.OK() {
					s.log.Info("embedding again")
				}
				continue
			}
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-s.embedWake:
		case <-t.C:
		}
	}
}

// nudgeEmbed wakes the embedding loop: chunks were stored.
func (s *Service) nudgeEmbed() {
	select {
	case s.embedWake <- struct{}{}:
	default:
	}
}

// embeddingModelSetting names the setting that remembers the model the
// stored embeddings are of.
const embeddingModelSetting = "embedding_model"

// dropOtherEmbeddings deletes the embeddings of models other than the
// configured one, when the model changed since the last start (or an
// embedder is configured for the first time): their chunks wait for new
// ones, while keyword search finds them. A setting remembers the model, so
// an unchanged one costs one read.
func (s *Service) dropOtherEmbeddings(ctx context.Context) error {
	if s.cfg.Embedder == nil {
		return nil
	}
	model := s.cfg.Embedder.Model()
	var was string
	err := s.store.View(ctx, func(tx shelf.Tx) (err error) {
		was, err = tx.Setting(ctx, embeddingModelSetting)
		return err
	})
	if err != nil && shelf.ErrorCode(err) != shelf.ENOTFOUND {
		return err
	}
	if was == model {
		return nil
	}
	total := 0
	for {
		var n int
		err := s.store.Update(ctx, func(tx shelf.Tx) (err error) {
			n, err = tx.DropEmbeddings(ctx, model, 5000)
			return err
		})
		if err != nil {
			return err
		}
		total += n
		if n == 0 {
			break
		}
	}
	if total > 0 {
		s.log.Info("embedding: the model changed; chunks wait to be embedded again", "dropped", total, "model", model)
	}
	return s.store.Update(ctx, func(tx shelf.Tx) error { return tx.SetSetting(ctx, embeddingModelSetting, model) })
}

// EmbeddingStatus is what the index status says of embeddings.
type EmbeddingStatus struct {
	// PendingFiles and PendingChunks count the caller's workspace's files
	// (indexed, found by keyword) with chunks still waiting for an
	// embedding, and those chunks.
	PendingFiles, PendingChunks int
	// State is "ok", or "failing" while the embedder fails (searches then
	// answer by keyword, and embedding waits out its back-off).
	State string
	// Error is the embedder's last error while it fails.
	Error string
}

// EmbeddingStatus reports the embeddings of the caller's workspace. Nil
// when no embedder is configured.
func (s *Service) EmbeddingStatus(ctx context.Context) (*EmbeddingStatus, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	if s.cfg.Embedder == nil {
		return nil, nil
	}
	st := &EmbeddingStatus{State: "ok"}
	err = s.store.View(ctx, func(tx shelf.Tx) (err error) {
		st.PendingFiles, st.PendingChunks, err = tx.EmbeddingsPending(ctx, p.WorkspaceID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if failing, msg := s.breaker.failing(); failing {
		st.State, st.Error = "failing", msg
	}
	return st, nil
}

// breaker is the search path's circuit breaker over the embedder. Closed,
// every search calls it. After failures failures in a row it opens:
// searches skip it for cooldown. Then it lets one search probe it (others
// still skip); the probe's success closes it, its failure opens it again.
type breaker struct {
	failures int
	cooldown time.Duration

	mu        sync.Mutex
	count     int       // failures in a row
	openUntil time.Time // zero while closed
	probing   time.Time // when the current probe started; zero if none
	lastErr   string
}

// allow reports whether a search may call the embedder at now.
func (b *breaker) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.openUntil.IsZero():
		return true
	case now.Before(b.openUntil):
		return false
	case !b.probing.IsZero() && now.Sub(b.probing) < b.cooldown:
		return false // a probe is out
	}
	b.probing = now
	return true
}

// success closes the breaker; it reports whether it was open.
func (b *breaker) success() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	was := !b.openUntil.IsZero()
	b.count, b.openUntil, b.probing, b.lastErr = 0, time.Time{}, time.Time{}, ""
	return was
}

// failure counts a failure at now; it reports whether the breaker opened
// (it was closed).
func (b *breaker) failure(now time.Time, err error) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.count++
	b.lastErr = shelf.ErrorMessage(err)
	if b.count < b.failures && b.openUntil.IsZero() {
		return false
	}
	opened := b.openUntil.IsZero()
	b.openUntil, b.probing = now.Add(b.cooldown), time.Time{}
	return opened
}

// failing reports whether the breaker is open or half-open, with the last
// error.
func (b *breaker) failing() (bool, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.openUntil.IsZero(), b.lastErr
}

// retryIn is how long until the breaker lets a probe through.
func (b *breaker) retryIn(now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(b.openUntil.Sub(now), 0)
}

// embedQuery embeds a search's query within EmbedTimeout, through the
// breaker: EUNAVAILABLE at once while it is open, ETIMEOUT when the
// embedder does not answer in time, the embedder's error otherwise. A
// query the embedder refuses (EINVALID) does not count against it.
func (s *Service) embedQuery(ctx context.Context, text string) ([]float32, error) {
	now := time.Now() // the breaker and the back-offs time operations, on the wall clock
	if !s.breaker.allow(now) {
		_, msg := s.breaker.failing()
		return nil, &shelf.Error{Code: shelf.EUNAVAILABLE, Message: fmt.Sprintf(
			"the embedder is failing (%s); it is tried again within %s", msg, s.breaker.retryIn(now).Round(time.Second))}
	}
	qe := s.cfg.QueryEmbedder
	if qe == nil {
		qe = s.cfg.Embedder
	}
	dctx, cancel := context.WithTimeout(ctx, s.cfg.EmbedTimeout)
	defer cancel()
	vecs, err := qe.Embed(dctx, []string{text})
	switch {
	case err == nil && len(vecs) == 1:
		if s.breaker.success() {
			s.log.Info("search: the embedder answers again; hybrid and semantic searches use it")
		}
		return vecs[0], nil
	case err == nil:
		err = shelf.Errorf(shelf.EUNAVAILABLE, "the embedder gave %d vectors for one query", len(vecs))
	case ctx.Err() != nil:
		return nil, ctx.Err() // the caller left
	case dctx.Err() != nil:
		err = shelf.Errorf(shelf.ETIMEOUT, "the embedder did not answer within %s", s.cfg.EmbedTimeout)
	case shelf.ErrorCode(err) == shelf.EINVALID:
		s.breaker.success() // it answered
		return nil, shelf.Errorf(shelf.EINVALID, "the embedder refused the query: %s", shelf.ErrorMessage(err))
	case shelf.ErrorCode(err) != shelf.ETIMEOUT:
		err = &shelf.Error{Code: shelf.EUNAVAILABLE, Message: shelf.ErrorMessage(err), Err: err}
	}
	s.embedFailed(err)
	return nil, err
}

// embedFailed counts an embedder failure against the breaker, and says
// so when it opens.
func (s *Service) embedFailed(err error) {
	if s.breaker.failure(time.Now(), err) {
		s.log.Warn("search: the embedder keeps failing; searches answer by keyword without it, and try it again after the cool-down",
			"cooldown", s.cfg.EmbedCooldown.String(), "err", shelf.ErrorMessage(err))
	}
}
