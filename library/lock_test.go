package library

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
)

func hold(t *testing.T, k shelf.Locker, name string, shared bool, ctx context.Context) (shelf.Lock, error) {
	t.Helper()
	l, err := k.NewLock(name)
	if err != nil {
		t.Fatal(err)
	}
	if shared {
		return l, l.RLock(ctx)
	}
	return l, l.Lock(ctx)
}

func mustHold(t *testing.T, k shelf.Locker, name string, shared bool) shelf.Lock {
	t.Helper()
	l, err := hold(t, k, name, shared, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// waits reports whether a hold of name waits for at least d.
func waits(t *testing.T, k shelf.Locker, name string, shared bool, d time.Duration) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	l, err := hold(t, k, name, shared, ctx)
	if err == nil {
		l.Unlock()
		return false
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hold(%q) = %v, want the context's error", name, err)
	}
	return true
}

// The rules of a read-write lock, name by name.
func TestMemoryLockerSharedAndExclusive(t *testing.T) {
	k := NewMemoryLocker()
	const short = 20 * time.Millisecond

	r1, r2 := mustHold(t, k, "a", true), mustHold(t, k, "a", true) // shared holds go together
	if !waits(t, k, "a", false, short) {
		t.Fatal("an exclusive hold did not wait for shared ones")
	}
	if waits(t, k, "b", false, short) {
		t.Fatal("another name waited")
	}
	r1.Unlock()
	r2.Unlock()

	w := mustHold(t, k, "a", false)
	if !waits(t, k, "a", true, short) || !waits(t, k, "a", false, short) {
		t.Fatal("a hold did not wait for an exclusive one")
	}
	w.Unlock()
	if k.len() != 0 {
		t.Fatalf("%d names kept after every hold ended", k.len())
	}
}

// A waiting exclusive hold keeps new shared ones out, as sync.RWMutex
// does: a stream of part writes cannot starve a finalize.
func TestMemoryLockerExclusiveFirst(t *testing.T) {
	k := NewMemoryLocker()
	r := mustHold(t, k, "u", true)
	got := make(chan shelf.Lock)
	go func() {
		l, err := hold(t, k, "u", false, context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- l
	}()
	for { // wait until the exclusive hold is waiting
		k.mu.Lock()
		n := k.m["u"].writersWaiting
		k.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if !waits(t, k, "u", true, 20*time.Millisecond) {
		t.Fatal("a shared hold went ahead of a waiting exclusive one")
	}
	r.Unlock()
	w := <-got
	w.Unlock()
	mustHold(t, k, "u", true).Unlock()
	if k.len() != 0 {
		t.Fatalf("%d names kept", k.len())
	}
}

// A wait ends with its context, takes nothing, and lets the others go on.
func TestMemoryLockerContext(t *testing.T) {
	k := NewMemoryLocker()
	w := mustHold(t, k, "x", false)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := hold(t, k, "x", false, ctx)
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait = %v", err)
	}
	// The cancelled exclusive wait no longer keeps shared holds out.
	w.Unlock()
	mustHold(t, k, "x", true).Unlock()
	if k.len() != 0 {
		t.Fatalf("%d names kept", k.len())
	}
	// A free lock is taken even with an ended context: only a wait ends
	// with it.
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	l, err := hold(t, k, "free", false, done)
	if err != nil {
		t.Fatalf("free lock with an ended context: %v", err)
	}
	l.Unlock()
}

// Under contention an exclusive hold is alone and shared holds overlap
// only with each other.
func TestMemoryLockerContention(t *testing.T) {
	k := NewMemoryLocker()
	var readers, writers atomic.Int32
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				shared := (g+i)%4 != 0
				l := mustHold(t, k, "c", shared)
				if shared {
					readers.Add(1)
					if writers.Load() != 0 {
						t.Error("a shared hold overlaps an exclusive one")
					}
					readers.Add(-1)
				} else {
					if writers.Add(1) != 1 || readers.Load() != 0 {
						t.Error("an exclusive hold is not alone")
					}
					writers.Add(-1)
				}
				l.Unlock()
			}
		})
	}
	wg.Wait()
	if k.len() != 0 {
		t.Fatalf("%d names kept", k.len())
	}
}

// A Lock is one hold.
func TestMemoryLockMisuse(t *testing.T) {
	k := NewMemoryLocker()
	l := mustHold(t, k, "m", false)
	if err := l.Lock(context.Background()); err == nil {
		t.Fatal("a second Lock on one hold worked")
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err == nil {
		t.Fatal("a second Unlock worked")
	}
}
