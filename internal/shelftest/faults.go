package shelftest

import (
	"context"
	"io"
	"sync"
	"sync/atomic"

	shelf "github.com/shelfmem/shelf"
)

// Disk injects a full disk under a store and a blob store, for tests that
// must run where no small file system can be mounted: while StoreFull,
// every store transaction fails with EINSUFFICIENT before it runs, as
// SQLite's does when its journal cannot grow; while BlobsFull, every blob
// write does (and writes nothing). Reads always work.
type Disk struct {
	StoreFull atomic.Bool
	BlobsFull atomic.Bool
	// BlobWrites counts the blob writes tried (Put, CreateStaging,
	// WritePart), full or not.
	BlobWrites atomic.Int64
	// AfterPut, when set, runs after a Put has stored its blob and before
	// it returns: a test widens the window between a blob's write and the
	// commit that references it.
	AfterPut func(shelf.BlobRef)
}

var errFull = shelf.Errorf(shelf.EINSUFFICIENT, "out of storage space")

// Wrap returns st and bs behind the injected faults (shelftest.Options.Wrap).
// The wrapped blob store has the staging capability when bs has it.
func (d *Disk) Wrap(st shelf.Store, bs shelf.BlobStore) (shelf.Store, shelf.BlobStore) {
	fb := fullBlobs{BlobStore: bs, d: d}
	if ss, ok := bs.(shelf.StagingStore); ok {
		return fullStore{Store: st, d: d}, fullStagingBlobs{fb, fullStaging{StagingStore: ss, d: d}}
	}
	return fullStore{Store: st, d: d}, fb
}

type fullStore struct {
	shelf.Store
	d *Disk
}

func (s fullStore) Update(ctx context.Context, fn func(shelf.Tx) error) error {
	if s.d.StoreFull.Load() {
		return errFull
	}
	return s.Store.Update(ctx, fn)
}

type fullBlobs struct {
	shelf.BlobStore
	d *Disk
}

func (b fullBlobs) Put(ctx context.Context, r io.Reader, size int64) (shelf.BlobRef, error) {
	b.d.BlobWrites.Add(1)
	if b.d.BlobsFull.Load() {
		return shelf.BlobRef{}, errFull
	}
	ref, err := b.BlobStore.Put(ctx, r, size)
	if err == nil && b.d.AfterPut != nil {
		b.d.AfterPut(ref)
	}
	return ref, err
}

// fullStagingBlobs is fullBlobs with the staging capability.
type fullStagingBlobs struct {
	fullBlobs
	fullStaging
}

type fullStaging struct {
	shelf.StagingStore
	d *Disk
}

func (b fullStaging) CreateStaging(ctx context.Context, id string, size int64) error {
	b.d.BlobWrites.Add(1)
	if b.d.BlobsFull.Load() {
		return errFull
	}
	return b.StagingStore.CreateStaging(ctx, id, size)
}

func (b fullStaging) WritePart(ctx context.Context, id string, off int64, r io.Reader, n int64) ([]byte, error) {
	b.d.BlobWrites.Add(1)
	if b.d.BlobsFull.Load() {
		return nil, errFull
	}
	return b.StagingStore.WritePart(ctx, id, off, r, n)
}

// Space is a library.Space whose free space the test sets. Releasing the
// reserve adds its size to the free space and, as on a real disk, makes
// room for the store: it clears the Disk's StoreFull.
type Space struct {
	Disk *Disk

	mu       sync.Mutex
	free     int64
	size     int64
	held     bool
	releases int
}

// NewSpace returns a Space with a held reserve of size bytes and free
// bytes free besides.
func NewSpace(d *Disk, size, free int64) *Space {
	return &Space{Disk: d, size: size, free: free, held: true}
}

// SetFree sets the free space.
func (s *Space) SetFree(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.free = n
}

// Releases counts the reserve's releases.
func (s *Space) Releases() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.releases
}

func (s *Space) Free() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.free, nil
}

func (s *Space) Reserve() (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size, s.held
}

func (s *Space) Release() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.held || s.size == 0 {
		return 0, nil
	}
	s.held, s.free, s.releases = false, s.free+s.size, s.releases+1
	if s.Disk != nil {
		s.Disk.StoreFull.Store(false)
	}
	return s.size, nil
}

func (s *Space) Restore() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held {
		return nil
	}
	if s.free < s.size {
		return shelf.Errorf(shelf.EINSUFFICIENT, "no room for the reserve")
	}
	s.held, s.free = true, s.free-s.size
	return nil
}
