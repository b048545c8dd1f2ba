package library

import (
	"context"
	"math"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	shelf "github.com/shelfmem/shelf"
)

// Request rate limits are per key: a token bucket per key id, sized by the
// key's own limit or else the server's (Config.RateLimit), off when
// neither is set. The master key is not limited (it is the operator's),
// and a signed URL counts against the key that issued it. Admit is the
// one place that applies them; the HTTP middleware calls it for every
// authenticated request.

// MaxRate bounds a rate limit's tokens per second and burst.
const MaxRate = 1_000_000

// checkRateLimit checks a limit and fills in its burst: one second's
// tokens (at least 1) when PerSecond is set and Burst is not.
func checkRateLimit(l *shelf.RateLimit) error {
	if math.IsNaN(l.PerSecond) || l.PerSecond < 0 || l.PerSecond > MaxRate {
		return shelf.Errorf(shelf.EINVALID, "a rate limit's per_second must be between 0 and %d", MaxRate)
	}
	if l.Burst < 0 || l.Burst > MaxRate {
		return shelf.Errorf(shelf.EINVALID, "a rate limit's burst must be between 0 and %d", MaxRate)
	}
	if l.PerSecond == 0 {
		l.Burst = 0
	} else if l.Burst == 0 {
		l.Burst = max(1, int(math.Ceil(l.PerSecond)))
	}
	return nil
}

// rateOf names the bucket p's requests take from and its limit; a zero
// limit means p is not limited.
func (s *Service) rateOf(p *shelf.Principal) (string, shelf.RateLimit) {
	id := p.KeyID
	if p.Signed {
		id = p.IssuedBy
	}
	if p.Master || id == "" || id == issuerMaster {
		return "", shelf.RateLimit{}
	}
	lim := s.cfg.RateLimit
	if p.RateLimit != nil {
		lim = *p.RateLimit
	}
	if checkRateLimit(&lim) != nil {
		return "", shelf.RateLimit{}
	}
	return "key/" + id, lim
}

// Admit counts one request of p against its key's rate limit. It returns
// the bucket's state (Limit 0 when no limit applies) and ERATELIMIT when
// the bucket is empty: the request must not run. A limiter that fails lets
// the request through and logs why: limits protect the server, and their
// store being down must not stop it.
func (s *Service) Admit(ctx context.Context, p *shelf.Principal) (shelf.RateStatus, error) {
	if p == nil {
		return shelf.RateStatus{}, nil
	}
	name, lim := s.rateOf(p)
	if lim.PerSecond <= 0 {
		return shelf.RateStatus{}, nil
	}
	st, err := s.cfg.RateLimiter.Take(ctx, name, lim)
	if err != nil {
		s.log.Warn("rate limiter failed; the request is let through", "bucket", name, "err", err)
		return shelf.RateStatus{}, nil
	}
	if !st.Allowed {
		return st, shelf.Errorf(shelf.ERATELIMIT, "rate limit exceeded: this key may make %s requests a second, %d at once; retry in %s",
			strconv.FormatFloat(lim.PerSecond, 'g', -1, 64), lim.Burst, retrySeconds(st.RetryAfter))
	}
	return st, nil
}

// retrySeconds renders d as whole seconds, rounded up, at least 1.
func retrySeconds(d time.Duration) string {
	return strconv.FormatInt(RetryAfterSeconds(d), 10) + " s"
}

// RetryAfterSeconds is d in whole seconds, rounded up, at least 1: the
// value of a Retry-After header.
func RetryAfterSeconds(d time.Duration) int64 {
	return max(1, int64(math.Ceil(d.Seconds())))
}

// SetKeyRateLimit sets the own rate limit of key id, of any workspace
// (nil: the server's; a PerSecond of 0 exempts the key), and returns the
// key. Only the master key may: the server's limits are the operator's,
// and a workspace must not lift its own.
func (s *Service) SetKeyRateLimit(ctx context.Context, id string, l *shelf.RateLimit) (*shelf.Key, error) {
	p, err := need(ctx, shelf.ScopeAdmin)
	if err != nil {
		return nil, err
	}
	if !p.Master {
		return nil, shelf.Errorf(shelf.EFORBIDDEN, "only the master key may set a key's rate limit")
	}
	if l != nil {
		c := *l
		if err := checkRateLimit(&c); err != nil {
			return nil, err
		}
		l = &c
	}
	var k *shelf.Key
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		if k, err = tx.Key(ctx, id); shelf.ErrorCode(err) == shelf.ENOTFOUND {
			return errKeyNotFound
		} else if err != nil {
			return err
		}
		k.RateLimit = l
		return tx.UpdateKey(ctx, k)
	})
	if err != nil {
		return nil, err
	}
	s.keyUse.apply(k)
	return k, nil
}

// MemoryLimiter is the shelf.RateLimiter Shelf runs by default: token
// buckets (golang.org/x/time/rate) in this process's memory, so each
// replica of a scaled-out server limits on its own. A bucket that has
// refilled is the same as a new one, so buckets full for a sweep (a minute)
// are dropped; past max buckets, new names share one overflow bucket until
// a sweep frees room, so memory stays bounded whatever names arrive.
type MemoryLimiter struct {
	now      func() time.Time
	max      int
	mu       sync.Mutex
	buckets  map[string]*rate.Limiter
	overflow *rate.Limiter
	swept    time.Time
}

// NewMemoryLimiter returns a limiter of at most size buckets (at least 1)
// that reads the time from now (nil: time.Now).
func NewMemoryLimiter(size int, now func() time.Time) *MemoryLimiter {
	if now == nil {
		now = time.Now
	}
	return &MemoryLimiter{now: now, max: max(1, size), buckets: map[string]*rate.Limiter{}, swept: now()}
}

// Take implements shelf.RateLimiter.
func (m *MemoryLimiter) Take(_ context.Context, name string, limit shelf.RateLimit) (shelf.RateStatus, error) {
	if err := checkRateLimit(&limit); err != nil || limit.PerSecond == 0 {
		return shelf.RateStatus{Allowed: true}, err
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.bucket(name, limit, now)
	ok := b.AllowN(now, 1)
	return statusOf(b, now, ok), nil
}

// Check reports the state of the bucket called name without taking a
// token: Allowed says a token is there. A name without a bucket is full.
func (m *MemoryLimiter) Check(name string, limit shelf.RateLimit) shelf.RateStatus {
	if checkRateLimit(&limit) != nil || limit.PerSecond == 0 {
		return shelf.RateStatus{Allowed: true}
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.buckets[name]
	if !ok {
		if len(m.buckets) < m.max || m.overflow == nil {
			return shelf.RateStatus{Allowed: true, Limit: limit.Burst, Remaining: limit.Burst, Reset: now}
		}
		b = m.overflow
	}
	return statusOf(b, now, b.TokensAt(now) >= 1)
}

// Len is how many buckets are kept, for tests.
func (m *MemoryLimiter) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.buckets)
}

// bucket returns the bucket of name sized to limit, sweeping full buckets
// once a minute or when there is no room.
func (m *MemoryLimiter) bucket(name string, limit shelf.RateLimit, now time.Time) *rate.Limiter {
	if now.Sub(m.swept) >= time.Minute {
		m.sweep(now)
	}
	b, ok := m.buckets[name]
	if !ok {
		if len(m.buckets) >= m.max {
			m.sweep(now)
		}
		if len(m.buckets) >= m.max {
			if m.overflow == nil {
				m.overflow = rate.NewLimiter(rate.Limit(limit.PerSecond), limit.Burst)
			}
			b = m.overflow
		} else {
			b = rate.NewLimiter(rate.Limit(limit.PerSecond), limit.Burst)
			m.buckets[name] = b
		}
	}
	if b.Limit() != rate.Limit(limit.PerSecond) {
		b.SetLimitAt(now, rate.Limit(limit.PerSecond))
	}
	if b.Burst() != limit.Burst {
		b.SetBurstAt(now, limit.Burst)
	}
	return b
}

// sweep drops the buckets that have refilled.
func (m *MemoryLimiter) sweep(now time.Time) {
	m.swept = now
	for name, b := range m.buckets {
		if b.TokensAt(now) >= float64(b.Burst()) {
			delete(m.buckets, name)
		}
	}
	if m.overflow != nil && m.overflow.TokensAt(now) >= float64(m.overflow.Burst()) {
		m.overflow = nil
	}
}

// statusOf describes b at now; ok is whether the request got its token.
func statusOf(b *rate.Limiter, now time.Time, ok bool) shelf.RateStatus {
	tokens, r, burst := b.TokensAt(now), float64(b.Limit()), b.Burst()
	st := shelf.RateStatus{Allowed: ok, Limit: burst, Remaining: max(0, int(math.Floor(tokens)))}
	st.Reset = now.Add(time.Duration((float64(burst) - tokens) / r * float64(time.Second)))
	if !ok {
		st.RetryAfter = time.Duration((1 - tokens) / r * float64(time.Second))
	}
	return st
}
