package library

import (
	"context"
	"errors"
	"strconv"
	"sync"

	shelf "github.com/shelfmem/shelf"
)

// MemoryLocker is the shelf.Locker Shelf runs by default: read-write
// locks in the memory of this process, made on demand and dropped when no
// one holds or waits for them. It serializes work on one upload within a
// process; replicas need a Locker they share. Its zero value is ready to
// use.
type MemoryLocker struct {
	mu sync.Mutex
	m  map[string]*memoryLockState
}

var _ shelf.Locker = (*MemoryLocker)(nil)

// NewMemoryLocker returns an empty MemoryLocker.
func NewMemoryLocker() *MemoryLocker { return &MemoryLocker{} }

// memoryLockState is one name's lock. Its fields are guarded by the
// locker's mu.
type memoryLockState struct {
	readers        int  // shared holds
	writer         bool // an exclusive hold
	writersWaiting int  // exclusive holds waited for: shared ones wait behind them
	refs           int  // holds and waits, for dropping the state
	// changed is closed, and replaced, whenever a hold or a wait ends:
	// the waiters look again.
	changed chan struct{}
}

// NewLock returns a hold of the lock called name; it never fails.
func (k *MemoryLocker) NewLock(name string) (shelf.Lock, error) {
	return &memoryLock{k: k, name: name}, nil
}

// len is how many names have state: held or waited for.
func (k *MemoryLocker) len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.m)
}

type memoryLock struct {
	k      *MemoryLocker
	name   string
	st     *memoryLockState
	shared bool
}

var errLockUsed = errors.New("lock: a Lock takes one hold")

func (l *memoryLock) Lock(ctx context.Context) error  { return l.take(ctx, false) }
func (l *memoryLock) RLock(ctx context.Context) error { return l.take(ctx, true) }

func (l *memoryLock) take(ctx context.Context, shared bool) error {
	if l.st != nil {
		return errLockUsed
	}
	k := l.k
	k.mu.Lock()
	if k.m == nil {
		k.m = make(map[string]*memoryLockState)
	}
	st := k.m[l.name]
	if st == nil {
		st = &memoryLockState{changed: make(chan struct{})}
		k.m[l.name] = st
	}
	st.refs++
	if !shared {
		st.writersWaiting++
	}
	for {
		if shared && !st.writer && st.writersWaiting == 0 {
			st.readers++
			break
		}
		if !shared && !st.writer && st.readers == 0 {
			st.writersWaiting--
			st.writer = true
			break
		}
		changed := st.changed
		k.mu.Unlock()
		select {
		case <-changed:
			k.mu.Lock()
		case <-ctx.Done():
			k.mu.Lock()
			if !shared {
				st.writersWaiting--
			}
			l.k.drop(l.name, st)
			k.mu.Unlock()
			return ctx.Err()
		}
	}
	k.mu.Unlock()
	l.st, l.shared = st, shared
	return nil
}

// Unlock gives back the hold; it never fails.
func (l *memoryLock) Unlock() error {
	st := l.st
	if st == nil {
		return errors.New("lock: Unlock of a lock not held")
	}
	l.st = nil
	k := l.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if l.shared {
		st.readers--
	} else {
		st.writer = false
	}
	k.drop(l.name, st)
	return nil
}

// drop ends a hold or a wait on st: waiters look again, and a state no one
// holds or waits for goes. k.mu is held.
func (k *MemoryLocker) drop(name string, st *memoryLockState) {
	close(st.changed)
	st.changed = make(chan struct{})
	if st.refs--; st.refs == 0 {
		delete(k.m, name)
	}
}

// lockNames: one lock per upload (parts share it; finalize, abort and the
// sweep take it alone) and one per part, so two PUTs of one part do not
// interleave.
func uploadLockName(id string) string      { return "upload:" + id }
func partLockName(id string, n int) string { return "part:" + id + "/" + strconv.Itoa(n) }

// lock takes the lock called name, shared or not, and returns its release.
// A failure to release is logged: the hold is over for the caller.
func (s *Service) lock(ctx context.Context, name string, shared bool) (func(), error) {
	l, err := s.cfg.Locker.NewLock(name)
	if err != nil {
		return nil, shelf.Wrap(err, "lock "+name)
	}
	if shared {
		err = l.RLock(ctx)
	} else {
		err = l.Lock(ctx)
	}
	if err != nil {
		return nil, err
	}
	return func() {
		if err := l.Unlock(); err != nil {
			s.log.Warn("unlock", "lock", name, "err", err)
		}
	}, nil
}
