package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/index/chunk"
	"github.com/shelfmem/shelf/index/extract"
	"github.com/shelfmem/shelf/internal/backoff"
)

// Tx is what the workers do in a store transaction: run the job queue
// and write the files' index status (of shelf.IndexJobStore), replace a
// file's chunks (of shelf.ChunkStore), and read the file and the version
// a job names (of shelf.TreeReader and shelf.VersionStore). Every shelf.Tx
// is one; the methods mean what they mean there.
type Tx interface {
	PutIndexJob(ctx context.Context, j *shelf.IndexJob) error
	IndexJob(ctx context.Context, workspaceID, itemID string) (*shelf.IndexJob, error)
	ClaimIndexJobs(ctx context.Context, now, leaseUntil time.Time, token string, n int) ([]*shelf.IndexJob, error)
	DeleteIndexJob(ctx context.Context, workspaceID, itemID string) error
	SetIndexStatus(ctx context.Context, workspaceID, id string, st shelf.IndexStatus) error
	ReplaceChunks(ctx context.Context, workspaceID, itemID string, chunks []shelf.Chunk) error
	Item(ctx context.Context, workspaceID, id string) (*shelf.Item, error)
	Version(ctx context.Context, workspaceID, itemID string, number int64) (*shelf.Version, error)
}

// Every shelf.Tx is a Tx.
var _ Tx = shelf.Tx(nil)

// Store runs the workers' transactions, as shelf.Store does: View in a
// read-only snapshot, Update in a read-write transaction whose writes
// commit together when fn returns nil (fn may run more than once).
type Store interface {
	View(ctx context.Context, fn func(Tx) error) error
	Update(ctx context.Context, fn func(Tx) error) error
}

// Deps is what the workers get from the core.
type Deps struct {
	// Store runs the workers' transactions. Required.
	Store Store
	// Open reads a version's bytes from the start. Required.
	Open func(ctx context.Context, v *shelf.Version) (io.ReadCloser, error)
	// Foreground is the gauge of client writes the workers give way to;
	// nil: one of their own, which nothing marks.
	Foreground *Foreground
	// SpaceWait returns how long background writers wait for room on
	// the disk; 0 when there is room. Nil: never wait.
	SpaceWait func() time.Duration
	// Stored is called after a batch's chunks were committed (the core
	// wakes its embedding loop). Nil: nothing.
	Stored func()
	// Hook is called at points tests stop at: "index-claimed", and
	// "index-extracting:" followed by the file's name. Nil: nothing.
	Hook func(point string)
	// Now returns the current time (the times written to jobs and index
	// status); default time.Now in UTC.
	Now func() time.Time
	// Logger receives the workers' logs; default slog.Default().
	Logger *slog.Logger
}

// Worker runs index jobs. It is safe for concurrent use.
type Worker struct {
	cfg  Config
	d    Deps
	log  *slog.Logger
	wake chan struct{} // nudges an idle worker
	// disk spaces the workers' tries while the disk is full.
	disk backoff.Shared
}

// New returns the workers over d.Store, tuned by cfg (its zero values
// take the defaults). They run once Run is called.
func New(cfg Config, d Deps) *Worker {
	if d.Foreground == nil {
		d.Foreground = NewForeground()
	}
	if d.SpaceWait == nil {
		d.SpaceWait = func() time.Duration { return 0 }
	}
	if d.Stored == nil {
		d.Stored = func() {}
	}
	if d.Hook == nil {
		d.Hook = func(string) {}
	}
	if d.Now == nil {
		d.Now = func() time.Time { return time.Now().UTC() }
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &Worker{cfg: cfg.WithDefaults(), d: d, log: d.Logger, wake: make(chan struct{}, 1),
		disk: backoff.Shared{Min: time.Second, Max: 5 * time.Minute}}
}

// Nudge wakes an idle worker: a job was queued. The job may not be
// committed yet; a worker that finds nothing waits for the next nudge or
// poll.
func (w *Worker) Nudge() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run runs Config.Workers workers until ctx ends; none when it is
// negative.
func (w *Worker) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range max(w.cfg.Workers, 0) {
		wg.Go(func() { w.loop(ctx) })
	}
	wg.Wait()
}

func (w *Worker) loop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		live, busy := w.d.Foreground.GiveWay(ctx, w.cfg.IdleGap, w.cfg.MaxDefer)
		if !live {
			return
		}
		wait := w.cfg.Poll
		if d := w.d.SpaceWait(); d > 0 {
			wait = d // the disk is short: indexing writes wait for room
		} else if d := w.disk.Wait(time.Now()); d > 0 {
			wait = d // woken by a new job during a back-off: it still holds
		} else {
			// Under a steady stream of client writes a worker runs a small
			// batch, so its commit holds the writer only briefly.
			n, err := w.once(ctx, busy)
			switch {
			case err != nil && ctx.Err() == nil && shelf.ErrorCode(err) == shelf.EINSUFFICIENT:
				// Out of space: every worker waits, doubling, and says so
				// once per wait rather than once per try.
				wait = w.disk.Fail(time.Now(), func(d time.Duration) {
					w.log.Warn("indexer: out of disk space; indexing waits", "retry_in", d.String())
				})
			case err != nil && ctx.Err() == nil:
				w.log.Error("indexer", "err", err)
			case n > 0 && err == nil:
				if w.disk.OK() {
					w.log.Info("indexer: indexing again")
				}
				continue
			}
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
		case <-w.wake:
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

// Once claims up to Batch ready jobs, runs them until their chunks or
// the time taken reach BatchChunks or BatchTime, commits their results
// and hands the jobs it did not start back to the queue; it returns how
// many it claimed. Results are kept only for jobs whose claim still holds:
// a file updated or deleted meanwhile, or a job claimed again after its
// lease ended, drops them.
func (w *Worker) Once(ctx context.Context) (int, error) { return w.once(ctx, false) }

// busyShare divides a batch's bounds while client writes are going on.
const busyShare = 16

func (w *Worker) once(ctx context.Context, busy bool) (int, error) {
	cfg := &w.cfg
	batch, maxChunks, maxTime := cfg.Batch, cfg.BatchChunks, cfg.BatchTime
	if busy {
		batch, maxChunks, maxTime = max(batch/busyShare, 1), max(maxChunks/busyShare, 1), maxTime/busyShare
	}
	token := randomHex(16)
	start := w.d.Now()
	leaseUntil := start.Add(cfg.Lease)
	var jobs []*shelf.IndexJob
	failed := 0
	err := w.d.Store.Update(ctx, func(tx Tx) error {
		var err error
		if jobs, err = tx.ClaimIndexJobs(ctx, start, leaseUntil, token, batch); err != nil {
			return err
		}
		failed = len(jobs)
		if jobs, err = w.settleClaimTx(ctx, tx, jobs, token, start); err != nil {
			return err
		}
		failed -= len(jobs)
		return nil
	})
	if err != nil || len(jobs) == 0 {
		return failed, err
	}
	w.d.Hook("index-claimed")
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
		r.chunks, r.err = w.runJob(runCtx, j)
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
		err := w.d.Store.Update(rctx, func(tx Tx) error {
			return releaseJobsTx(rctx, tx, jobs, token)
		})
		if err != nil {
			w.log.Warn("indexer: releasing jobs; their leases will free them", "err", err)
		}
		return len(jobs), ctx.Err()
	}
	if err := w.finishJobs(ctx, results, jobs[len(results):], token, start); err != nil {
		return len(jobs), err
	}
	w.d.Stored()
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
func (w *Worker) settleClaimTx(ctx context.Context, tx Tx, jobs []*shelf.IndexJob, token string, now time.Time) ([]*shelf.IndexJob, error) {
	cfg := &w.cfg
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
		w.log.Warn("indexer: giving up on a file the indexer stopped while reading", "item", it.ID, "stops", j.Stops, "attempts", j.Attempts-1)
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
func releaseJobsTx(ctx context.Context, tx Tx, jobs []*shelf.IndexJob, token string) error {
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
func setIndexState(ctx context.Context, tx Tx, ws, id string, edit func(*shelf.IndexStatus)) error {
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

// errNoText is a job's result when its version's type holds no text
// Shelf reads: the file is IndexSkipped, not failed.
var errNoText = errors.New("no text to extract from this type")

// finishJobs commits the results of one claim, and hands back the jobs
// of the claim that were not run, in one transaction.
func (w *Worker) finishJobs(ctx context.Context, results []jobResult, unrun []*shelf.IndexJob, token string, started time.Time) error {
	cfg := &w.cfg
	return w.d.Store.Update(ctx, func(tx Tx) error {
		if err := releaseJobsTx(ctx, tx, unrun, token); err != nil {
			return err
		}
		now := w.d.Now()
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
				w.logJobError(it, r.err)
				it.Index = shelf.IndexStatus{State: shelf.IndexFailed, StartedAt: started, ErroredAt: now,
					Error: errorText(r.err), IndexedAt: it.Index.IndexedAt}
			default:
				w.logJobError(it, r.err)
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
func (w *Worker) logJobError(it *shelf.Item, err error) {
	if c := shelf.ErrorCode(err); c == shelf.EINTERNAL {
		w.log.Error("indexer: job failed", "item", it.ID, "err", err)
	}
}

// MaxErrorText bounds the error message kept in a file's index status.
const MaxErrorText = 1000

func errorText(err error) string { return clip(shelf.ErrorMessage(err)) }

// clip bounds a kept message at MaxErrorText bytes.
func clip(msg string) string {
	if len(msg) > MaxErrorText {
		msg = msg[:MaxErrorText] + "…"
	}
	return msg
}

// runJob extracts and chunks the job's version. The chunks are stored
// without embeddings: the embedder never holds a file's keyword index
// back, nor fails it.
func (w *Worker) runJob(ctx context.Context, j *shelf.IndexJob) ([]shelf.Chunk, error) {
	var it *shelf.Item
	var v *shelf.Version
	err := w.d.Store.View(ctx, func(tx Tx) error {
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
	doc, err := w.extract(ctx, it, v)
	if err != nil {
		return nil, err
	}
	parts := chunk.Split(doc, w.cfg.Chunk)
	out := make([]shelf.Chunk, len(parts))
	for i, p := range parts {
		out[i] = shelf.Chunk{ItemID: it.ID, WorkspaceID: it.WorkspaceID, Version: v.Number, Index: p.Index,
			Text: p.Text, Heading: p.Heading, Start: p.Start, End: p.End, Page: p.Page}
	}
	return out, nil // embeddings follow (the core's embedding loop)
}

// extract reads a version's text with the configured Extractor.
func (w *Worker) extract(ctx context.Context, it *shelf.Item, v *shelf.Version) (*extract.Doc, error) {
	lim := w.cfg.Extract
	if !extract.Supported(v.ContentType, it.Name) {
		return nil, errNoText
	}
	if v.Size > lim.MaxInput {
		return nil, shelf.Errorf(shelf.ETOOLARGE, "the file is %d bytes; the most that is indexed is %d", v.Size, lim.MaxInput)
	}
	w.d.Hook("index-extracting:" + it.Name)
	open := func() (io.ReadCloser, error) { return w.d.Open(ctx, v) }
	doc, err := w.cfg.Extractor.Extract(ctx, open, v.Size, v.ContentType, it.Name, lim)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return nil, ctx.Err()
	}
	return doc, err
}

// randomHex returns n random bytes, hex-encoded: a claim's token.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
