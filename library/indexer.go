package library

import (
	"context"
	"io"
	"sync"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/index/extract"
	"github.com/shelfmem/shelf/index/worker"
)

// IndexConfig tunes the background indexer (index/worker). Zero values
// take the defaults.
type IndexConfig = worker.Config

// Extractor reads the text of a file for the indexer: see worker.Extractor.
type Extractor = worker.Extractor

// maxErrorText bounds a kept indexing error message.
const maxErrorText = worker.MaxErrorText

// Foreground marks a client write in progress until the returned function
// is called. The transports call it around every write request; the index
// workers and the embedding loop give way to those writes.
func (s *Service) Foreground() func() { return s.fg.Begin() }

// giveWay waits while client writes run or ran within IdleGap, at most
// MaxDefer, and reports whether ctx is still live and whether the writes
// were still going when it stopped waiting.
func (s *Service) giveWay(ctx context.Context) (live, busy bool) {
	return s.fg.GiveWay(ctx, s.cfg.Index.IdleGap, s.cfg.Index.MaxDefer)
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
func (s *Service) nudge() { s.indexer.Nudge() }

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
	wg.Go(func() { s.indexer.Run(ctx) })
	if s.cfg.Embedder != nil {
		wg.Go(func() { s.embedLoop(ctx) })
	}
	wg.Wait()
}

// IndexOnce claims up to Batch ready jobs, runs them until their chunks
// or the time taken reach BatchChunks or BatchTime, commits their results
// and hands the jobs it did not start back to the queue; it returns how
// many it claimed. Results are kept only for jobs whose claim still holds:
// a file updated or deleted meanwhile, or a job claimed again after its
// lease ended, drops them.
func (s *Service) IndexOnce(ctx context.Context) (int, error) { return s.indexer.Once(ctx) }

// newIndexer returns the index workers over the core's store (with its
// space watch): they read versions through Read, give way to the
// transports' writes, wait for the disk reserve, and wake the embedding
// loop when they stored chunks.
func (s *Service) newIndexer() *worker.Worker {
	return worker.New(s.cfg.Index, worker.Deps{
		Store:      indexStore{s.store},
		Open:       func(ctx context.Context, v *shelf.Version) (io.ReadCloser, error) { return s.Read(ctx, v, 0, -1) },
		Foreground: s.fg,
		SpaceWait:  s.spaceWait,
		Stored:     s.nudgeEmbed,
		Hook:       s.hook,
		Now:        s.now,
		Logger:     s.log,
	})
}

// indexStore gives the index workers the store's transactions, seen
// through the narrow worker.Tx.
type indexStore struct{ shelf.Store }

func (st indexStore) View(ctx context.Context, fn func(worker.Tx) error) error {
	return st.Store.View(ctx, func(tx shelf.Tx) error { return fn(tx) })
}

func (st indexStore) Update(ctx context.Context, fn func(worker.Tx) error) error {
	return st.Store.Update(ctx, func(tx shelf.Tx) error { return fn(tx) })
}
