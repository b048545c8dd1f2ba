// Package backoff is a delay shared by workers that hit the same failure
// (the index workers on a full disk, the embedding loop on a failing
// embedder): it doubles from Min to Max with each failure reported after
// the last delay ended, and resets on success. It says when it starts a
// new delay, so the workers log one line per back-off, not one per
// failure. It is safe for concurrent use.
package backoff

import (
	"sync"
	"time"
)

// Shared is a delay shared by workers. Set Min and Max before use.
type Shared struct {
	Min, Max time.Duration

	mu    sync.Mutex
	next  time.Duration // the delay the next failure starts; 0 before any
	until time.Time     // the current delay's end
}

// Fail reports a failure at now and returns how long to wait. When it
// starts a new delay it calls started with it (under no lock the caller
// holds), once.
func (b *Shared) Fail(now time.Time, started func(time.Duration)) time.Duration {
	b.mu.Lock()
	if now.Before(b.until) {
		d := b.until.Sub(now)
		b.mu.Unlock()
		return d
	}
	d := b.next
	if d == 0 {
		d = b.Min
	}
	b.next, b.until = min(2*d, b.Max), now.Add(d)
	b.mu.Unlock()
	if started != nil {
		started(d)
	}
	return d
}

// Wait is how long the current delay still runs at now; 0 if none.
func (b *Shared) Wait(now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(b.until.Sub(now), 0)
}

// OK resets the delay after a success and reports whether one had been
// running (so the caller can say the failure is over).
func (b *Shared) OK() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	was := b.next != 0
	b.next, b.until = 0, time.Time{}
	return was
}
