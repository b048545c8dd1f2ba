package library

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/index/chunk"
	"github.com/shelfmem/shelf/index/extract"
)

// IndexConfig tunes the background indexer. Zero values take the defaults.
type IndexConfig struct {
	// Workers is how many jobs run at once. Default 2; negative runs no
	// workers (jobs are still queued, for another process to run).
	Workers int
	// Batch is how many jobs a worker claims at once; their results are
	// committed together, so many small files cost one commit (and one
	// full-text segment, which later merges cost). Default 128.
	Batch int
	// BatchChunks and BatchTime bound one commit: a worker stops starting
	// the jobs of its claim once those it ran gave BatchChunks chunks or
	// BatchTime passed, commits their results, and hands the rest back to
	// the queue in the same transaction. Defaults 2,000 chunks and 1 s.
	BatchChunks int
	BatchTime   time.Duration
	// Lease is how long a claim holds. A job still running at its lease's
	// end is given up by its worker and claimed again; a worker that died
	// leaves its jobs to be claimed when the lease ends. Extraction's time
	// limit is cut to 80% of it. Default 2 minutes.
	Lease time.Duration
	// MaxAttempts is how many times a job runs before it ends failed.
	// An attempt counts when the job is claimed, so a run cut short by a
	// crash counts too: a job claimed past the maximum fails at once, with
	// a reason naming how many times the indexer stopped while reading
	// the file. Errors that cannot pass by themselves (an unsupported
	// type, a malformed or oversized file) fail at once. Default 5.
	MaxAttempts int
	// Backoff is the delay before the first retry; it doubles with each
	// attempt up to 10 minutes. Default 5 seconds.
	Backoff time.Duration
	// Poll is how often an idle worker looks for work it was not told
	// about. Default 1 second.
	Poll time.Duration
	// Extract caps text extraction (input size, output size, entries,
	// depth, time).
	Extract extract.Limits
	// Extractor reads files' text. Nil: extract.Extract in this process,
	// with the file in memory up to MemoryMax, else in a temporary file.
	// The server sets one that runs extraction in child processes
	// (index/isolate).
	Extractor Extractor
	// Chunk sets the chunk size and overlap.
	Chunk chunk.Options
	// MemoryMax is the largest content read into memory for extraction;
	// larger content is spooled to a temporary file. Default 16 MiB.
	MemoryMax int64
	// IdleGap is how long after the last client write a worker waits
	// before it claims jobs: indexing gives way to the writes clients wait
	// on, so it never slows them. Default 50 ms; negative: never wait.
	IdleGap time.Duration
	// MaxDefer bounds how long a worker gives way under a steady stream
	// of writes before it runs one batch anyway, so indexing never stops.
	// Default 2 s.
	MaxDefer time.Duration
}

func (c *IndexConfig) setDefaults() {
	if c.Workers == 0 {
		c.Workers = 2
	}
	if c.Batch <= 0 {
		c.Batch = 128
	}
	if c.BatchChunks <= 0 {
		c.BatchChunks = 2000
	}
	if c.BatchTime <= 0 {
		c.BatchTime = time.Second
	}
	c.Extract = c.Extract.WithDefaults()
	if c.Lease <= 0 {
		c.Lease = 2 * time.Minute
	}
	// A job gives up at 90% of its lease; extraction must end before.
	c.Extract.Timeout = min(c.Extract.Timeout, c.Lease*8/10)
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.Backoff <= 0 {
		c.Backoff = 5 * time.Second
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.MemoryMax <= 0 {
		c.MemoryMax = 16 << 20
	}
	if c.Extractor == nil {
		c.Extractor = inProcess{memoryMax: c.MemoryMax}
	}
	if c.IdleGap == 0 {
		c.IdleGap = 50 * time.Millisecond
	}
	if c.MaxDefer <= 0 {
		c.MaxDefer = 2 * time.Second
	}
}

// Extractor reads the text of a file: size bytes, which open reads from
// the start (it may be called more than once). Errors carry the codes of
// extract.Extract; an error it cannot classify is retried later.
type Extractor interface {
	Extract(ctx context.Context, open func() (io.ReadCloser, error), size int64, contentType, name string,
		lim extract.Limits) (*extract.Doc, error)
}

// foreground counts the client writes in progress and when the last one
// ended, so background work can give way to them.
type foreground struct {
	active atomic.Int64
	last   atomic.Int64 // monotonic nanoseconds since start; 0: never
	start  time.Time
}

// Foreground marks a client write in progress until the returned function
// is called. The transports call it around every write request.
func (s *Service) Foreground() func() {
	s.fg.active.Add(1)
	return func() {
		s.fg.last.Store(int64(time.Since(s.fg.start)) | 1)
		s.fg.active.Add(-1)
	}
}

// giveWay waits while client writes run or ran within IdleGap, at most
// MaxDefer, and reports whether ctx is still live and whether the writes
// were still going when it stopped waiting.
func (s *Service) giveWay(ctx context.Context) (live, busy bool) {
	cfg := &s.cfg.Index
	if cfg.IdleGap < 0 {
		return ctx.Err() == nil, false
	}
	deadline := time.Now().Add(cfg.MaxDefer)
	for {
		last := s.fg.last.Load()
		busy := s.fg.active.Load() > 0 || (last != 0 && time.Since(s.fg.start)-time.Duration(last) < cfg.IdleGap)
		if !busy || time.Now().After(deadline) {
			return ctx.Err() == nil, busy
		}
		select {
		case <-ctx.Done():
			return false, busy
		case <-time.After(cfg.IdleGap / 2):
		}
	}
}

// maxBackoff caps the delay between attempts.
const maxBackoff = 10 * time.Minute

// backoff returns the delay after the attempt-th failed attempt.
func (c *IndexConfig) backoff(attempt int) time.Duration {
	d := c.Backoff
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// queueIndexTx makes the index follow a file's new head version, in the
// transaction that made it: the old version's chunks go at once, and a job
// for v is queued, replacing (and so cancelling) any job for an older
// version. Files of embedded libraries are never indexed. it is written by
// the caller after this returns (CreateItem or UpdateItem), but the job
// is put by the caller too, once the item row exists: see putIndexJobTx.
func (s *Service) queueIndexTx(ctx context.Context, tx shelf.Tx, lib *shelf.Library, it *shelf.Item) error {
	if lib.Embedded || it.Type != shelf.TypeFile {
		it.Index = shelf.IndexStatus{}
		return nil
	}
	if err := tx.ReplaceChunks(ctx, it.WorkspaceID, it.ID, nil); err != nil && shelf.ErrorCode(err) != shelf.ENOTFOUND {
		return err
	}
	if !Extractable(it) {
		// Nothing to index. A mark that indexing was asked for stays
		// with a file that was skipped already; one left by an
		// extractable version goes, since that version's chunks did.
		mark := it.Index.IndexedAt
		if it.Index.State != shelf.IndexSkipped {
			mark = time.Time{}
		}
		it.Index = shelf.IndexStatus{State: shelf.IndexSkipped, IndexedAt: mark}
		return nil
	}
	it.Index = shelf.IndexStatus{State: shelf.IndexQueued, IndexedAt: it.Index.IndexedAt}
	return nil
}

// Extractable reports whether Shelf reads text from a file of it's type
// and name; the others are IndexSkipped. A file of an embedded library is
// never indexed, whatever its type: see Library.Embedded.
func Extractable(it *shelf.Item) bool {
	return it.Type == shelf.TypeFile && extract.Supported(it.ContentType, it.Name)
}

// errNoText is a job's result when its version's type holds no text
// Shelf reads: the file is IndexSkipped, not failed.
var errNoText = errors.New("no text to extract from this type")

// putIndexJobTx queues the job for it's head if queueIndexTx marked it
// queued. The item row must exist.
func (s *Service) putIndexJobTx(ctx context.Context, tx shelf.Tx, it *shelf.Item) error {
	if it.Index.State != shelf.IndexQueued {
		return nil
	}
	now := s.now()
	err := tx.PutIndexJob(ctx, &shelf.IndexJob{ItemID: it.ID, WorkspaceID: it.WorkspaceID, Version: it.Head,
		State: shelf.IndexQueued, RunAfter: now, CreatedAt: now, UpdatedAt: now})
	if err == nil {
		s.nudge()
	}
	return err
}

// indexNewHeadTx is queueIndexTx, UpdateItem and putIndexJobTx for an
// existing file that has a new head.
func (s *Service) indexNewHeadTx(ctx context.Context, tx shelf.Tx, lib *shelf.Library, it *shelf.Item) error {
	if err := s.queueIndexTx(ctx, tx, lib, it); err != nil {
		return err
	}
	if err := tx.UpdateItem(ctx, it); err != nil {
		return err
	}
	return s.putIndexJobTx(ctx, tx, it)
}

// nudge wakes an idle worker: a job was queued. The job may not be
// committed yet; a worker that finds nothing waits for the next nudge or
// poll.
func (s *Service) nudge() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// RunIndexer runs the index workers, and the embedding loop when an
// embedder is configured, until ctx ends. When the embedder's model is not
// the one the stored embeddings are of, it first drops those, so their
// chunks are embedded again (keyword search finds them meanwhile).
func (s *Service) RunIndexer(ctx context.Context) {
	if s.cfg.Index.Workers < 0 {
		return
	}
	if err := s.dropOtherEmbeddings(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("indexer: dropping the embeddings of another model", "err", err)
	}
	var wg sync.WaitGroup
	for range s.cfg.Index.Workers {
		wg.Go(func() { s.indexLoop(ctx) })
	}
	if s.cfg.Embedder != nil {
		wg.Go(func() { s.embedLoop(ctx) })
	}
	wg.Wait()
}

func (s *Service) indexLoop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		live, busy := s.giveWay(ctx)
		if !live {
			return
		}
		wait := s.cfg.Index.Poll
		if d := s.spaceWait(); d > 0 {
			wait = d // the disk is short: indexing writes wait for room
		} else if d := s.diskBackoff.Wait(time.Now()); d > 0 {
			wait = d // woken by a new job during a back-off: it still holds
		} else {
			// Under a steady stream of client writes a worker runs a small
			// batch, so its commit holds the writer only briefly.
			n, err := s.indexOnce(ctx, busy)
			switch {
			case err != nil && ctx.Err() == nil && shelf.ErrorCode(err) == shelf.EINSUFFICIENT:
				// Out of space: every worker waits, doubling, and says so
				// once per wait rather than once per try.
				wait = s.diskBackoff.Fail(time.Now(), func(d time.Duration) {
					s.log.Warn("indexer: out of disk space; indexing waits", "retry_in", d.String())
				})
			case err != nil && ctx.Err() == nil:
				s.log.Error("indexer", "err", err)
			case n > 0 && err == nil:
				if s.diskBackoff.OK() {
					s.log.Info("indexer: indexing again")
				}
				continue
			}
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-t.C:
		}
	}
}

// jobResult is what running a job gave.
type jobResult struct {
	job    *shelf.IndexJob
	chunks []shelf.Chunk
	err    error
}

// IndexOnce claims up to Batch ready jobs, runs them until their chunks
// or the time taken reach BatchChunks or BatchTime, commits their results
// and hands the jobs it did not start back to the queue; it returns how
// many it claimed. Results are kept only for jobs whose claim still holds:
// a file updated or deleted meanwhile, or a job claimed again after its
// lease ended, drops them.
func (s *Service) IndexOnce(ctx context.Context) (int, error) { return s.indexOnce(ctx, false) }

// busyShare divides a batch's bounds while client writes are going on.
const busyShare = 16

func (s *Service) indexOnce(ctx context.Context, busy bool) (int, error) {
	cfg := &s.cfg.Index
	batch, maxChunks, maxTime := cfg.Batch, cfg.BatchChunks, cfg.BatchTime
	if busy {
		batch, maxChunks, maxTime = max(batch/busyShare, 1), max(maxChunks/busyShare, 1), maxTime/busyShare
	}
	token := randomHex(16)
	start := s.now()
	leaseUntil := start.Add(cfg.Lease)
	var jobs []*shelf.IndexJob
	failed := 0
	err := s.store.Update(ctx, func(tx shelf.Tx) error {
		var err error
		if jobs, err = tx.ClaimIndexJobs(ctx, start, leaseUntil, token, batch); err != nil {
			return err
		}
		failed = len(jobs)
		if jobs, err = s.settleClaimTx(ctx, tx, jobs, token, start); err != nil {
			return err
		}
		failed -= len(jobs)
		return nil
	})
	if err != nil || len(jobs) == 0 {
		return failed, err
	}
	s.hook("index-claimed")
	// Give up a little before the lease ends, so no result is written
	// after another worker may have claimed the job.
	runCtx, cancel := context.WithDeadline(ctx, leaseUntil.Add(-cfg.Lease/10))
	defer cancel()
	results := make([]jobResult, 0, len(jobs))
	began, chunks := time.Now(), 0
	for _, j := range jobs {
		if len(results) > 0 && (chunks >= maxChunks || time.Since(began) >= maxTime || runCtx.Err() != nil) {
			break
		}
		r := jobResult{job: j}
		r.chunks, r.err = s.runIndexJob(runCtx, j)
		if runCtx.Err() != nil && ctx.Err() == nil {
			r.err = shelf.Errorf(shelf.ETIMEOUT, "indexing took longer than the %s lease", cfg.Lease)
		}
		chunks += len(r.chunks)
		results = append(results, r)
	}
	if ctx.Err() != nil {
		// Shutting down: hand the jobs back rather than leave them to
		// their leases, so the next start takes them at once.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err := s.store.Update(rctx, func(tx shelf.Tx) error {
			return releaseJobsTx(rctx, tx, jobs, token)
		})
		if err != nil {
			s.log.Warn("indexer: releasing jobs; their leases will free them", "err", err)
		}
		return len(jobs), ctx.Err()
	}
	if err := s.finishJobs(ctx, results, jobs[len(results):], token, start); err != nil {
		return len(jobs), err
	}
	s.nudgeEmbed()
	return len(jobs), nil
}

// settleClaimTx looks at the jobs just claimed, in the claim's
// transaction. A job past MaxAttempts was cut short (a job whose run ends,
// however it ends, never gets there), so it fails for good, with the
// number of times the indexer stopped while reading it. A job that was
// taken back from a worker that stopped is a suspect: whatever stopped
// that worker may be its file or another of the batch, so it runs alone,
// and the others of this claim go back to the queue, so a file that
// kills the process is charged alone for its next deaths. It returns the
// jobs to run.
func (s *Service) settleClaimTx(ctx context.Context, tx shelf.Tx, jobs []*shelf.IndexJob, token string, now time.Time) ([]*shelf.IndexJob, error) {
	cfg := &s.cfg.Index
	run := jobs[:0]
	var suspect *shelf.IndexJob
	for _, j := range jobs {
		if j.Attempts <= cfg.MaxAttempts {
			if j.Stops > 0 && suspect == nil {
				suspect = j
			}
			run = append(run, j)
			continue
		}
		it, err := tx.Item(ctx, j.WorkspaceID, j.ItemID)
		if err != nil {
			return nil, err
		}
		if err := tx.DeleteIndexJob(ctx, j.WorkspaceID, j.ItemID); err != nil {
			return nil, err
		}
		msg := stoppedText(j, cfg.Lease)
		s.log.Warn("indexer: giving up on a file the indexer stopped while reading", "item", it.ID, "stops", j.Stops, "attempts", j.Attempts-1)
		it.Index = shelf.IndexStatus{State: shelf.IndexFailed, StartedAt: now, ErroredAt: now, Error: msg, IndexedAt: it.Index.IndexedAt}
		if err := tx.SetIndexStatus(ctx, it.WorkspaceID, it.ID, it.Index); err != nil {
			return nil, err
		}
	}
	if suspect == nil || len(run) == 1 {
		return run, nil
	}
	var others []*shelf.IndexJob
	for _, j := range run {
		if j != suspect {
			others = append(others, j)
		}
	}
	if err := releaseJobsTx(ctx, tx, others, token); err != nil {
		return nil, err
	}
	return []*shelf.IndexJob{suspect}, nil
}

// stoppedText says why a job cut short too often failed.
func stoppedText(j *shelf.IndexJob, lease time.Duration) string {
	var msg string
	switch j.Stops {
	case 0:
		msg = fmt.Sprintf("indexing this file was started %d times and never finished; it is not tried again", j.Attempts-1)
	case 1:
		msg = fmt.Sprintf("the indexer stopped while reading this file once (killed, out of memory, or stuck past its %s lease), "+
			"and it is not tried again", lease)
	default:
		msg = fmt.Sprintf("the indexer stopped while reading this file %d times (killed, out of memory, or stuck past its %s lease); "+
			"it is not tried again", j.Stops, lease)
	}
	if j.Error != "" {
		msg += "; the error before: " + j.Error
	}
	return clip(msg)
}

// releaseJobsTx queues claimed jobs again, not counting the attempt.
func releaseJobsTx(ctx context.Context, tx shelf.Tx, jobs []*shelf.IndexJob, token string) error {
	for _, j := range jobs {
		cur, err := tx.IndexJob(ctx, j.WorkspaceID, j.ItemID)
		if shelf.ErrorCode(err) == shelf.ENOTFOUND {
			continue
		} else if err != nil {
			return err
		}
		if cur.Token != token {
			continue
		}
		cur.State, cur.Token, cur.LeaseUntil, cur.Attempts = shelf.IndexQueued, "", time.Time{}, max(cur.Attempts-1, 0)
		if err := tx.PutIndexJob(ctx, cur); err != nil {
			return err
		}
		if err := setIndexState(ctx, tx, cur.WorkspaceID, cur.ItemID, func(st *shelf.IndexStatus) {
			st.State = shelf.IndexQueued
		}); err != nil {
			return err
		}
	}
	return nil
}

// setIndexState edits a file's index status.
func setIndexState(ctx context.Context, tx shelf.Tx, ws, id string, edit func(*shelf.IndexStatus)) error {
	it, err := tx.Item(ctx, ws, id)
	if err != nil {
		return err
	}
	edit(&it.Index)
	return tx.SetIndexStatus(ctx, ws, id, it.Index)
}

// permanent reports whether err will come again however often the job
// runs: the file is unsupported, malformed, too large or too slow to read.
func permanent(err error) bool {
	switch shelf.ErrorCode(err) {
	case shelf.ENOTIMPL, shelf.EINVALID, shelf.ETOOLARGE, shelf.ETIMEOUT:
		return true
	}
	return false
}

// finishJobs commits the results of one claim, and hands back the jobs
// of the claim that were not run, in one transaction.
func (s *Service) finishJobs(ctx context.Context, results []jobResult, unrun []*shelf.IndexJob, token string, started time.Time) error {
	cfg := &s.cfg.Index
	return s.store.Update(ctx, func(tx shelf.Tx) error {
		if err := releaseJobsTx(ctx, tx, unrun, token); err != nil {
			return err
		}
		now := s.now()
		for _, r := range results {
			j := r.job
			cur, err := tx.IndexJob(ctx, j.WorkspaceID, j.ItemID)
			if shelf.ErrorCode(err) == shelf.ENOTFOUND {
				continue // the file is gone, or its index was cleared
			} else if err != nil {
				return err
			}
			if cur.Token != token {
				continue // replaced by a newer version's job, or claimed again
			}
			if r.err == nil { // the file's whole index status is new
				if err := tx.ReplaceChunks(ctx, j.WorkspaceID, j.ItemID, r.chunks); err != nil {
					return err
				}
				if err := tx.DeleteIndexJob(ctx, j.WorkspaceID, j.ItemID); err != nil {
					return err
				}
				st := shelf.IndexStatus{State: shelf.IndexIndexed, IndexedAt: now, StartedAt: started}
				if err := tx.SetIndexStatus(ctx, j.WorkspaceID, j.ItemID, st); err != nil {
					return err
				}
				continue
			}
			it, err := tx.Item(ctx, j.WorkspaceID, j.ItemID)
			if err != nil {
				return err
			}
			switch {
			case errors.Is(r.err, errNoText):
				if err := tx.DeleteIndexJob(ctx, it.WorkspaceID, it.ID); err != nil {
					return err
				}
				if err := tx.ReplaceChunks(ctx, it.WorkspaceID, it.ID, nil); err != nil {
					return err
				}
				it.Index = shelf.IndexStatus{State: shelf.IndexSkipped}
			case permanent(r.err) || cur.Attempts >= cfg.MaxAttempts:
				if err := tx.DeleteIndexJob(ctx, it.WorkspaceID, it.ID); err != nil {
					return err
				}
				s.logJobError(it, r.err)
				it.Index = shelf.IndexStatus{State: shelf.IndexFailed, StartedAt: started, ErroredAt: now,
					Error: errorText(r.err), IndexedAt: it.Index.IndexedAt}
			default:
				s.logJobError(it, r.err)
				cur.State, cur.Token, cur.LeaseUntil = shelf.IndexQueued, "", time.Time{}
				cur.RunAfter, cur.Error, cur.UpdatedAt = now.Add(cfg.backoff(cur.Attempts)), errorText(r.err), now
				if err := tx.PutIndexJob(ctx, cur); err != nil {
					return err
				}
				it.Index.State, it.Index.ErroredAt, it.Index.Error = shelf.IndexQueued, now, errorText(r.err)
			}
			if err := tx.SetIndexStatus(ctx, it.WorkspaceID, it.ID, it.Index); err != nil {
				return err
			}
		}
		return nil
	})
}

// logJobError logs an error that carries no client-safe message, which
// the file's status shows only as "internal error".
func (s *Service) logJobError(it *shelf.Item, err error) {
	if c := shelf.ErrorCode(err); c == shelf.EINTERNAL {
		s.log.Error("indexer: job failed", "item", it.ID, "err", err)
	}
}

// maxErrorText bounds a kept error message.
const maxErrorText = 1000

func errorText(err error) string { return clip(shelf.ErrorMessage(err)) }

// clip bounds a kept message at maxErrorText bytes.
func clip(msg string) string {
	if len(msg) > maxErrorText {
		msg = msg[:maxErrorText] + "…"
	}
	return msg
}

// runIndexJob extracts and chunks the job's version. The chunks are
// stored without embeddings: the embedder never holds a file's keyword
// index back, nor fails it.
func (s *Service) runIndexJob(ctx context.Context, j *shelf.IndexJob) ([]shelf.Chunk, error) {
	var it *shelf.Item
	var v *shelf.Version
	err := s.store.View(ctx, func(tx shelf.Tx) error {
		var err error
		if it, err = tx.Item(ctx, j.WorkspaceID, j.ItemID); err != nil {
			return err
		}
		v, err = tx.Version(ctx, j.WorkspaceID, j.ItemID, j.Version)
		return err
	})
	if err != nil {
		return nil, err
	}
	doc, err := s.extract(ctx, it, v)
	if err != nil {
		return nil, err
	}
	parts := chunk.Split(doc, s.cfg.Index.Chunk)
	out := make([]shelf.Chunk, len(parts))
	for i, p := range parts {
		out[i] = shelf.Chunk{ItemID: it.ID, WorkspaceID: it.WorkspaceID, Version: v.Number, Index: p.Index,
			Text: p.Text, Heading: p.Heading, Start: p.Start, End: p.End, Page: p.Page}
	}
	return out, nil // embeddings follow (embedLoop)
}

// extract reads a version's text with the configured Extractor.
func (s *Service) extract(ctx context.Context, it *shelf.Item, v *shelf.Version) (*extract.Doc, error) {
	lim := s.cfg.Index.Extract
	if !extract.Supported(v.ContentType, it.Name) {
		return nil, errNoText
	}
	if v.Size > lim.MaxInput {
		return nil, shelf.Errorf(shelf.ETOOLARGE, "the file is %d bytes; the most that is indexed is %d", v.Size, lim.MaxInput)
	}
	s.hook("index-extracting:" + it.Name)
	open := func() (io.ReadCloser, error) { return s.Read(ctx, v, 0, -1) }
	doc, err := s.cfg.Index.Extractor.Extract(ctx, open, v.Size, v.ContentType, it.Name, lim)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return nil, ctx.Err()
	}
	return doc, err
}

// inProcess is the Extractor that runs extract.Extract in this process:
// from memory when the file is small, else from a temporary copy, since
// the formats in zip containers and PDFs need random access.
type inProcess struct {
	memoryMax int64
}

func (p inProcess) Extract(ctx context.Context, open func() (io.ReadCloser, error), size int64, contentType, name string,
	lim extract.Limits) (*extract.Doc, error) {
	rc, err := open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var ra io.ReaderAt
	if size <= p.memoryMax {
		data := make([]byte, size)
		if _, err := io.ReadFull(rc, data); err != nil {
			return nil, fmt.Errorf("read content: %w", err)
		}
		ra = bytes.NewReader(data)
	} else {
		f, err := os.CreateTemp("", "shelf-extract-*")
		if err != nil {
			return nil, err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		if n, err := io.Copy(f, rc); err != nil {
			return nil, fmt.Errorf("spool content: %w", err)
		} else if n != size {
			return nil, fmt.Errorf("spool content: read %d of %d bytes", n, size)
		}
		ra = f
	}
	return extract.Extract(ctx, ra, size, contentType, name, lim)
}
