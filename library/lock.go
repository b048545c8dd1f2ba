package library

import "sync"

// keyedRW is a set of read-write locks named by string, made on demand and
// dropped when no one holds or waits for them. It serializes work on one
// upload within this process; the store's transactions are what keep
// replicas consistent.
type keyedRW struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	rw   sync.RWMutex
	refs int
}

func (k *keyedRW) acquire(key string) *keyedEntry {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = make(map[string]*keyedEntry)
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.refs++
	return e
}

func (k *keyedRW) release(key string, e *keyedEntry) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e.refs--
	if e.refs == 0 {
		delete(k.m, key)
	}
}

// Lock takes key exclusively and returns its unlock function.
func (k *keyedRW) Lock(key string) func() {
	e := k.acquire(key)
	e.rw.Lock()
	return func() { e.rw.Unlock(); k.release(key, e) }
}

// RLock takes key shared and returns its unlock function.
func (k *keyedRW) RLock(key string) func() {
	e := k.acquire(key)
	e.rw.RLock()
	return func() { e.rw.RUnlock(); k.release(key, e) }
}
