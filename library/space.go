package library

import (
	"cmp"
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"

	shelf "github.com/shelfmem/shelf"
)

// A full disk must not stop the server from freeing space. Three things
// keep it recoverable through the API:
//
//   - A reserve (Space): a file of a few MiB on the data's file system,
//     given back the first time a write fails for lack of space, so the
//     store's journal has room for the deletes that follow. The write that
//     failed is retried once on the room the reserve left only when it is
//     a store transaction (it may run again by contract); content is not.
//   - While the disk is short (the reserve given back, or less free space
//     than SpaceLow), writes that add content (uploads, parts, ingests,
//     memories) are refused at once with EINSUFFICIENT, indexing and
//     embedding wait, and garbage collection runs every SpaceCheck without
//     the BlobGrace wait (promptGC). Deletes, moves, renames and metadata
//     edits go on.
//   - Once the free space is back above SpaceLow plus the reserve, the
//     reserve is made again and the disk is no longer short.
//
// BlobGrace protects a blob that was just written and whose version has
// not committed yet: garbage collection cannot tell it from garbage by
// the store alone. Those blobs are written by requests the core is
// running now, so the core pins them (pinWrites) from before their Put to
// after their transaction; promptGC spares every blob touched since the
// oldest pin began (less pinMargin), which is what the grace is for,
// and collects the rest of the unreferenced blobs, the deleted files'
// among them.

// Space is the free space of the file system that holds the server's
// data, with a reserve of it that the server holds back and gives up when
// a write fails for lack of space. internal/diskspace implements it for a
// data directory. Safe for concurrent use.
type Space interface {
	// Free returns the bytes free for the server's writes, not counting
	// the reserve.
	Free() (int64, error)
	// Reserve returns the reserve's size (0: none is kept) and whether it
	// is held.
	Reserve() (size int64, held bool)
	// Release deletes the reserve, giving its space back to the file
	// system, and returns the bytes freed: 0 when it was not held.
	Release() (int64, error)
	// Restore makes the reserve again when it is not held: all of it, or
	// nothing (EINSUFFICIENT when the room is not there).
	Restore() error
}

// pinMargin is how far before the oldest pin promptGC's cutoff falls: a
// file system dates a write with a clock that may lag the one pins read by
// a tick.
const pinMargin = 2 * time.Second

// quietAfterFull is how long after the last failed write a server
// without a Space counts the disk as short.
const quietAfterFull = 30 * time.Second

// spaceState is what the core knows of the disk.
type spaceState struct {
	short    atomic.Bool
	lastFull atomic.Int64 // unix nanoseconds of the last write that failed for lack of space
	wake     chan struct{}
	pins     pinSet
	gcMu     sync.Mutex // one promptGC at a time
}

// pinSet holds the start times of the writes that may have put blobs
// their transactions have not referenced yet.
type pinSet struct {
	mu   sync.Mutex
	next uint64
	at   map[uint64]time.Time
}

// pin records a write starting at now until the returned function is
// called.
func (p *pinSet) pin(now time.Time) func() {
	p.mu.Lock()
	if p.at == nil {
		p.at = map[uint64]time.Time{}
	}
	id := p.next
	p.next++
	p.at[id] = now
	p.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			delete(p.at, id)
			p.mu.Unlock()
		})
	}
}

// oldest returns the start of the oldest write pinned, or now.
func (p *pinSet) oldest(now time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range p.at {
		if t.Before(now) {
			now = t
		}
	}
	return now
}

// pinWrites pins the blobs a write is about to put until the returned
// function is called: call it before the first Put (putBlob) and release
// it once the transaction that references them has committed or failed.
func (s *Service) pinWrites() func() { return s.space.pins.pin(s.now()) }

// refuseContent returns EINSUFFICIENT while the disk is short, so new
// content does not eat the room deletes need. It refuses only when the
// core can tell space has come back (a Space is configured).
func (s *Service) refuseContent() error {
	if s.cfg.Space != nil && s.space.short.Load() {
		return shelf.Errorf(shelf.EINSUFFICIENT,
			"the server is out of disk space: new content is refused until space is freed (deleting files frees it)")
	}
	return nil
}

// spaceWait returns how long background writers (indexing, embedding)
// wait before they look again, while the disk is short; 0 when it is not.
func (s *Service) spaceWait() time.Duration {
	if !s.space.short.Load() {
		return 0
	}
	return s.cfg.SpaceCheck
}

// SpaceShort reports whether the disk is short: new content is refused
// and unreferenced blobs are reclaimed without waiting for BlobGrace.
func (s *Service) SpaceShort() bool { return s.space.short.Load() }

// outOfSpace is told of every write that failed for lack of space. It
// gives the reserve back (reporting whether that freed room, so a store
// transaction can run again), marks the disk short and wakes WatchSpace.
func (s *Service) outOfSpace(err error) (freed bool) {
	s.space.lastFull.Store(time.Now().UnixNano())
	var n int64
	if sp := s.cfg.Space; sp != nil {
		var rerr error
		if n, rerr = sp.Release(); rerr != nil {
			s.log.Error("disk: releasing the reserve failed", "err", rerr)
		}
	}
	was := s.space.short.Swap(true)
	switch {
	case n > 0:
		s.log.Warn("disk: out of space; the reserve is released so deletes can commit, and new content is refused until space returns",
			"released_bytes", n, "err", err)
	case !was:
		s.log.Warn("disk: out of space; new content is refused and unreferenced blobs are reclaimed until space returns", "err", err)
	}
	select {
	case s.space.wake <- struct{}{}:
	default:
	}
	return n > 0
}

// WatchSpace keeps the disk's state until ctx ends: every SpaceCheck, and
// soon after a write failed for lack of space (at most once a second), it
// runs CheckSpace.
func (s *Service) WatchSpace(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	gap := min(s.cfg.SpaceCheck, time.Second)
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.space.wake:
		case <-t.C:
		}
		err := s.CheckSpace(ctx)
		if err != nil && ctx.Err() == nil && shelf.ErrorCode(err) != shelf.EINSUFFICIENT {
			s.log.Error("disk: checking free space", "err", err)
		}
		// Its own writes (collecting inline blobs) may fail for lack of
		// space and wake it again: not before the gap.
		select {
		case <-ctx.Done():
			return
		case <-time.After(gap):
		}
		t.Reset(s.cfg.SpaceCheck - gap)
	}
}

// CheckSpace looks at the free space once: it makes the reserve again when
// the room is back, decides whether the disk is short, and while it is,
// collects unreferenced blobs at once (promptGC). It is server
// housekeeping and needs no principal.
func (s *Service) CheckSpace(ctx context.Context) error {
	short, err := s.measureSpace()
	if err != nil {
		return err
	}
	was := s.space.short.Swap(short)
	if !short {
		if was {
			s.log.Info("disk: space is back; new content is accepted again")
		}
		return nil
	}
	if !was {
		s.log.Warn("disk: free space is short; new content is refused and unreferenced blobs are reclaimed until it is back")
	}
	n, gcErr := s.promptGC(ctx)
	if n == 0 {
		return gcErr
	}
	s.log.Info("disk: reclaimed unreferenced blobs", "deleted", n)
	// What was reclaimed may be enough.
	short, err = s.measureSpace()
	if err == nil && !short && s.space.short.Swap(false) {
		s.log.Info("disk: space is back; new content is accepted again")
	}
	return cmp.Or(gcErr, err)
}

// measureSpace restores the reserve when there is room for it and reports
// whether the disk is short.
func (s *Service) measureSpace() (bool, error) {
	sp := s.cfg.Space
	if sp == nil {
		last := s.space.lastFull.Load()
		return last != 0 && time.Since(time.Unix(0, last)) < quietAfterFull, nil
	}
	free, err := sp.Free()
	if err != nil {
		return false, err
	}
	size, held := sp.Reserve()
	if !held && free >= s.cfg.SpaceLow+size {
		if err := sp.Restore(); err == nil {
			held, free = true, free-size
			s.log.Info("disk: the reserve is made again", "bytes", size)
		} else if shelf.ErrorCode(err) != shelf.EINSUFFICIENT {
			return false, err
		}
	}
	return !held || free < s.cfg.SpaceLow, nil
}

// promptGC is GC for a short disk: the cutoff is the start of the oldest
// write in progress (pinWrites), not BlobGrace ago, so the blobs of
// deleted files go at once and those of writes about to commit stay.
func (s *Service) promptGC(ctx context.Context) (int, error) {
	s.space.gcMu.Lock()
	defer s.space.gcMu.Unlock()
	now := s.now()
	cutoff := s.space.pins.oldest(now).Add(-pinMargin)
	if grace := now.Add(-s.cfg.BlobGrace); cutoff.Before(grace) {
		cutoff = grace
	}
	return s.collect(ctx, cutoff)
}

// spaceStore tells the core of every store transaction that failed for
// lack of space, and runs it once more when giving the reserve back made
// room: a delete commits on a full disk.
type spaceStore struct {
	shelf.Store
	s *Service
}

func (st spaceStore) Update(ctx context.Context, fn func(shelf.Tx) error) error {
	err := st.Store.Update(ctx, fn)
	if shelf.ErrorCode(err) == shelf.EINSUFFICIENT && st.s.outOfSpace(err) {
		err = st.Store.Update(ctx, fn)
		if shelf.ErrorCode(err) == shelf.EINSUFFICIENT {
			st.s.outOfSpace(err)
		}
	}
	return err
}

// spaceBlobs tells the core of every blob write that failed for lack of
// space. Content is never retried: its reader is spent.
type spaceBlobs struct {
	shelf.BlobStore
	s *Service
}

func (b spaceBlobs) seen(err error) error {
	if shelf.ErrorCode(err) == shelf.EINSUFFICIENT {
		b.s.outOfSpace(err)
	}
	return err
}

func (b spaceBlobs) Put(ctx context.Context, r io.Reader, size int64) (shelf.BlobRef, error) {
	ref, err := b.BlobStore.Put(ctx, r, size)
	return ref, b.seen(err)
}

// spaceStaging does the same for the writes of the staging capability.
type spaceStaging struct {
	shelf.StagingStore
	s *Service
}

func (b spaceStaging) seen(err error) error {
	if shelf.ErrorCode(err) == shelf.EINSUFFICIENT {
		b.s.outOfSpace(err)
	}
	return err
}

func (b spaceStaging) CreateStaging(ctx context.Context, id string, size int64) error {
	return b.seen(b.StagingStore.CreateStaging(ctx, id, size))
}

func (b spaceStaging) WritePart(ctx context.Context, id string, off int64, r io.Reader, n int64) ([]byte, error) {
	sum, err := b.StagingStore.WritePart(ctx, id, off, r, n)
	return sum, b.seen(err)
}

func (b spaceStaging) SumStaging(ctx context.Context, id string, parts []shelf.StagedPart) (shelf.BlobRef, []int, error) {
	ref, bad, err := b.StagingStore.SumStaging(ctx, id, parts)
	return ref, bad, b.seen(err)
}

func (b spaceStaging) CommitStaging(ctx context.Context, id string, ref shelf.BlobRef) error {
	return b.seen(b.StagingStore.CommitStaging(ctx, id, ref))
}
