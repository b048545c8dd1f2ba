package worker

import (
	"context"
	"sync/atomic"
	"time"
)

// Foreground counts the client writes in progress and when the last one
// ended, so background work (the index workers, the core's embedding
// loop) can give way to them. It is safe for concurrent use.
type Foreground struct {
	active atomic.Int64
	last   atomic.Int64 // monotonic nanoseconds since start; 0: never
	start  time.Time
}

// NewForeground returns a gauge with no write in progress.
func NewForeground() *Foreground { return &Foreground{start: time.Now()} }

// Begin marks a client write in progress until the returned function is
// called.
func (f *Foreground) Begin() func() {
	f.active.Add(1)
	return func() {
		f.last.Store(int64(time.Since(f.start)) | 1)
		f.active.Add(-1)
	}
}

// GiveWay waits while client writes run or ran within idleGap, at most
// maxDefer, and reports whether ctx is still live and whether the writes
// were still going when it stopped waiting. A negative idleGap never
// waits.
func (f *Foreground) GiveWay(ctx context.Context, idleGap, maxDefer time.Duration) (live, busy bool) {
	if idleGap < 0 {
		return ctx.Err() == nil, false
	}
	deadline := time.Now().Add(maxDefer)
	for {
		last := f.last.Load()
		busy := f.active.Load() > 0 || (last != 0 && time.Since(f.start)-time.Duration(last) < idleGap)
		if !busy || time.Now().After(deadline) {
			return ctx.Err() == nil, busy
		}
		select {
		case <-ctx.Done():
			return false, busy
		case <-time.After(idleGap / 2):
		}
	}
}
