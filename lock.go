package shelf

import "context"

// Locker hands out named locks that keep two requests from working on one
// upload at once: the parts of an upload share its lock while finalize,
// abort and the sweep take it alone, and two writes of one part take the
// part's lock in turn. The store's transactions keep the data consistent
// whatever the locks do; the locks keep work from being wasted or torn
// (a part's bytes written over while finalize hashes them).
//
// The Locker Shelf runs by default (library.MemoryLocker) holds its locks
// in the memory of one process, which is enough while one process serves
// a data directory; replicas need a Locker they share (PostgreSQL advisory
// locks, say) behind this interface. Safe for concurrent use. Modelled on
// tusd's handler.Locker, with shared holds added and no request to
// release: a part that is streaming in is waited for, not interrupted.
type Locker interface {
	// NewLock returns the lock called name (names are made by the core:
	// "upload:<id>", "part:<id>/<n>"). It takes nothing yet; each hold
	// asks for a new Lock, used by one goroutine.
	NewLock(name string) (Lock, error)
}

// Lock is one hold of a named lock: Lock or RLock once, then Unlock once.
type Lock interface {
	// Lock takes the lock exclusively, waiting while anyone holds it.
	// If ctx ends first it takes nothing and returns ctx.Err() (or an
	// error that wraps it).
	Lock(ctx context.Context) error
	// RLock takes the lock shared: any number of shared holds at once,
	// none while it is held exclusively. A shared hold waits while an
	// exclusive one is waiting, so a steady stream of shared holds cannot
	// keep an exclusive one out. ctx as for Lock.
	RLock(ctx context.Context) error
	// Unlock gives back what Lock or RLock took. An error says the lock
	// may still be held (a lost connection to a shared locker); the hold
	// is over for the caller either way.
	Unlock() error
}
