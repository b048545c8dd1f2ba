package library_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/library"
)

// TestMemoryLimiter: a bucket gives its burst at once, then one token per
// 1/rate; the status says what the headers will; memory stays bounded
// whatever names arrive (new names past the cap share one bucket, and
// refilled buckets are dropped).
func TestMemoryLimiter(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	m := library.NewMemoryLimiter(3, func() time.Time { return now })
	lim := shelf.RateLimit{PerSecond: 2, Burst: 4}
	for i := 0; i < 4; i++ {
		st, err := m.Take(ctx, "a", lim)
		if err != nil || !st.Allowed || st.Limit != 4 || st.Remaining != 3-i {
			t.Fatalf("take %d: %+v, %v", i+1, st, err)
		}
	}
	st, _ := m.Take(ctx, "a", lim)
	if st.Allowed || st.Remaining != 0 || st.RetryAfter != 500*time.Millisecond || !st.Reset.Equal(now.Add(2*time.Second)) {
		t.Fatalf("fifth take: %+v", st)
	}
	if c := m.Check("a", lim); c.Allowed {
		t.Fatalf("Check of an empty bucket: %+v", c)
	}
	if c := m.Check("unknown", lim); !c.Allowed || c.Remaining != 4 {
		t.Fatalf("Check of a new name: %+v", c)
	}
	now = now.Add(500 * time.Millisecond)
	if st, _ := m.Take(ctx, "a", lim); !st.Allowed || st.Remaining != 0 {
		t.Fatalf("after 1/rate: %+v", st)
	}

	// Past three buckets, new names share the overflow bucket.
	for _, n := range []string{"b", "c"} {
		m.Take(ctx, n, lim)
	}
	for i := 0; i < 10; i++ {
		m.Take(ctx, fmt.Sprintf("flood-%d", i), lim)
	}
	if m.Len() != 3 {
		t.Fatalf("%d buckets, want the cap of 3", m.Len())
	}
	if st, _ := m.Take(ctx, "flood-x", lim); st.Allowed {
		t.Fatalf("the overflow bucket gave an 11th token at once: %+v", st)
	}
	// Once refilled, buckets are dropped and names get their own again.
	now = now.Add(time.Minute)
	if st, _ := m.Take(ctx, "fresh", lim); !st.Allowed || st.Remaining != 3 {
		t.Fatalf("a new name after the sweep: %+v", st)
	}
	if m.Len() != 1 {
		t.Fatalf("%d buckets after the sweep, want 1", m.Len())
	}
}

// TestAdmit: the server's limit applies to keys without their own; a
// key's own wins (0 exempts); the master key is not limited; a signed
// URL's request takes from its issuer's bucket.
func TestAdmit(t *testing.T) {
	e := newEnv(t, library.Config{RateLimit: shelf.RateLimit{PerSecond: 1, Burst: 2}})
	ctx := context.Background()
	key := &shelf.Principal{WorkspaceID: "w", KeyID: "k1", Scope: shelf.ScopeRead}
	for i := 0; i < 2; i++ {
		if st, err := e.svc.Admit(ctx, key); err != nil || st.Limit != 2 {
			t.Fatalf("admit %d: %+v, %v", i+1, st, err)
		}
	}
	signed := &shelf.Principal{WorkspaceID: "w", Scope: shelf.ScopeWrite, Signed: true, IssuedBy: "k1"}
	_, err := e.svc.Admit(ctx, signed)
	wantCode(t, err, shelf.ERATELIMIT)
	_, err = e.svc.Admit(ctx, key)
	wantCode(t, err, shelf.ERATELIMIT)
	for _, p := range []*shelf.Principal{
		{WorkspaceID: "w", Master: true, Scope: shelf.ScopeAdmin},
		{WorkspaceID: "w", Signed: true, IssuedBy: "master", Scope: shelf.ScopeRead},
		{WorkspaceID: "w", KeyID: "k2", RateLimit: &shelf.RateLimit{}},
	} {
		for i := 0; i < 5; i++ {
			if st, err := e.svc.Admit(ctx, p); err != nil || st.Limit != 0 {
				t.Fatalf("%+v: admit %d: %+v, %v", p, i+1, st, err)
			}
		}
	}
	own := &shelf.Principal{WorkspaceID: "w", KeyID: "k3", RateLimit: &shelf.RateLimit{PerSecond: 10, Burst: 5}}
	if st, err := e.svc.Admit(ctx, own); err != nil || st.Limit != 5 {
		t.Fatalf("own limit: %+v, %v", st, err)
	}
}
