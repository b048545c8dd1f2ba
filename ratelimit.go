package shelf

import (
	"context"
	"time"
)

// RateLimit is a token bucket: PerSecond tokens are added each second and
// at most Burst are kept; each request takes one. PerSecond 0 is no limit.
type RateLimit struct {
	PerSecond float64 `json:"per_second"`
	Burst     int     `json:"burst"` // ≥ 1 when PerSecond > 0
}

// RateStatus is a bucket's state after a request took (or failed to take)
// its token: what the X-RateLimit-* headers say.
type RateStatus struct {
	Allowed    bool
	Limit      int           // the bucket's size (Burst)
	Remaining  int           // whole tokens left
	Reset      time.Time     // when the bucket is full again
	RetryAfter time.Duration // when not Allowed: until a token is there
}

// RateLimiter keeps token buckets by name. Safe for concurrent use. The
// limiter Shelf runs by default keeps its buckets in the memory of one
// process, so each replica of a scaled-out server limits on its own; a
// limiter shared by the replicas (kept in a store or a cache) can take its
// place behind this interface.
type RateLimiter interface {
	// Take takes one token from the bucket called name, made or resized to
	// limit (PerSecond > 0), and reports the bucket's state. A refused
	// request takes nothing. An error means the limiter could not decide.
	Take(ctx context.Context, name string, limit RateLimit) (RateStatus, error)
}
