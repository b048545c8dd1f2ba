package library_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/library"
)

// keyEnv is a workspace with an admin key, and the context it acts in.
type keyEnv struct {
	*env
	ws    string
	token string // the admin key
	key   *shelf.Key
	actx  context.Context
}

func newKeyEnv(t *testing.T) *keyEnv {
	t.Helper()
	e := newEnv(t, library.Config{})
	ws, err := e.svc.CreateWorkspace(e.ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	k, token, err := e.svc.CreateKey(e.ctx, ws.ID, "admin", []shelf.Scope{shelf.ScopeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	return &keyEnv{env: e, ws: ws.ID, token: token, key: k, actx: e.as(t, token)}
}

// as returns a context acting as token.
func (e *env) as(t *testing.T, token string) context.Context {
	t.Helper()
	p, err := e.svc.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return shelf.NewContext(context.Background(), p)
}

func (e *keyEnv) keyNames(t *testing.T) []string {
	t.Helper()
	keys, err := e.svc.Keys(e.actx, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, k := range keys {
		names = append(names, k.Name)
	}
	return names
}

func TestKeyExpiry(t *testing.T) {
	e := newKeyEnv(t)
	now := e.clock.Now()
	k, token, err := e.svc.IssueKey(e.actx, "", library.KeySpec{Name: "ci", ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if !k.ExpiresAt.Equal(now.Add(time.Hour)) || e.svc.KeyStatus(k) != library.KeyEnabled {
		t.Fatalf("key = %+v, status %s", k, e.svc.KeyStatus(k))
	}
	if _, err := e.svc.Authenticate(context.Background(), token); err != nil {
		t.Fatalf("a key before its expiry: %v", err)
	}
	e.clock.Add(time.Hour - time.Nanosecond)
	if _, err := e.svc.Authenticate(context.Background(), token); err != nil {
		t.Fatalf("a key a nanosecond before its expiry: %v", err)
	}
	e.clock.Add(time.Nanosecond)
	_, err = e.svc.Authenticate(context.Background(), token)
	wantCode(t, err, shelf.EUNAUTHORIZED)
	got, err := e.svc.Key(e.actx, "", k.ID)
	if err != nil || e.svc.KeyStatus(got) != library.KeyExpired {
		t.Fatalf("Key = %+v, %v; want status expired", got, err)
	}
	// Rotation does not bring an expired key back.
	_, _, err = e.svc.RotateKey(e.actx, "", k.ID)
	wantCode(t, err, shelf.ECONFLICT)
	_, err = e.svc.Authenticate(context.Background(), token)
	wantCode(t, err, shelf.EUNAUTHORIZED)
	// An expired key can be revoked.
	if err := e.svc.RevokeKeyIn(e.actx, "", k.ID); err != nil {
		t.Fatal(err)
	}

	// Expiry in the past, now, or too far ahead makes no key.
	before := e.keyNames(t)
	for _, exp := range []time.Time{e.clock.Now().Add(-time.Second), e.clock.Now(), e.clock.Now().Add(library.MaxKeyLifetime + time.Second)} {
		_, _, err := e.svc.IssueKey(e.actx, "", library.KeySpec{Name: "bad", ExpiresAt: exp})
		wantCode(t, err, shelf.EINVALID)
	}
	if after := e.keyNames(t); !slices.Equal(before, after) {
		t.Fatalf("keys after refused creates = %v, want %v", after, before)
	}
}

func TestKeyRotation(t *testing.T) {
	e := newKeyEnv(t)
	k, old, err := e.svc.IssueKey(e.actx, "", library.KeySpec{Name: "ci", Scopes: []shelf.Scope{shelf.ScopeWrite}})
	if err != nil {
		t.Fatal(err)
	}
	rk, fresh, err := e.svc.RotateKey(e.actx, "", k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rk.ID != k.ID || fresh == old || library.KeyPrefix(rk) != library.KeyPrefix(k) || !strings.HasPrefix(fresh, library.KeyPrefix(k)) {
		t.Fatalf("rotated %+v %q from %+v %q", rk, fresh, k, old)
	}
	_, err = e.svc.Authenticate(context.Background(), old)
	wantCode(t, err, shelf.EUNAUTHORIZED)
	p, err := e.svc.Authenticate(context.Background(), fresh)
	if err != nil || p.KeyID != k.ID || p.Scope != shelf.ScopeWrite {
		t.Fatalf("new secret: %+v, %v", p, err)
	}
	// The calling key may rotate itself: its old secret stops at once.
	_, self, err := e.svc.RotateKey(e.actx, "", e.key.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Authenticate(context.Background(), e.token)
	wantCode(t, err, shelf.EUNAUTHORIZED)
	actx := e.as(t, self)
	// Another workspace's key, and an unknown id, are not found.
	other, err := e.svc.CreateWorkspace(e.ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	ok, otherToken, err := e.svc.CreateKey(e.ctx, other.ID, "theirs", []shelf.Scope{shelf.ScopeRead})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{ok.ID, "0123456789abcdef", ""} {
		_, _, err = e.svc.RotateKey(actx, "", id)
		wantCode(t, err, shelf.ENOTFOUND)
		_, err = e.svc.Key(actx, "", id)
		wantCode(t, err, shelf.ENOTFOUND)
	}
	if _, err := e.svc.Authenticate(context.Background(), otherToken); err != nil {
		t.Fatalf("the other workspace's key after a refused rotation: %v", err)
	}
	// A read key cannot manage keys.
	_, _, err = e.svc.RotateKey(e.as(t, otherToken), "", ok.ID)
	wantCode(t, err, shelf.EFORBIDDEN)
}

func TestRevokeSelf(t *testing.T) {
	e := newKeyEnv(t)
	err := e.svc.RevokeKeyIn(e.actx, "", e.key.ID)
	wantCode(t, err, shelf.ECONFLICT)
	err = e.svc.RevokeKey(e.actx, e.key.ID)
	wantCode(t, err, shelf.ECONFLICT)
	if _, err := e.svc.Authenticate(context.Background(), e.token); err != nil {
		t.Fatalf("a key that may not revoke itself stopped working: %v", err)
	}
	// Another admin key of the workspace may revoke it.
	_, second, err := e.svc.IssueKey(e.actx, "", library.KeySpec{Name: "second"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RevokeKeyIn(e.as(t, second), "", e.key.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Authenticate(context.Background(), e.token)
	wantCode(t, err, shelf.EUNAUTHORIZED)
	// The master key acts in the default workspace: a key of another
	// workspace is not found there, though RevokeKey reaches it.
	k, _, err := e.svc.CreateKey(e.ctx, e.ws, "x", []shelf.Scope{shelf.ScopeRead})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.svc.RevokeKeyIn(e.ctx, "", k.ID), shelf.ENOTFOUND)
	if err := e.svc.RevokeKey(e.ctx, k.ID); err != nil {
		t.Fatal(err)
	}
}

func TestIssueKeyScopes(t *testing.T) {
	e := newKeyEnv(t)
	k, _, err := e.svc.IssueKey(e.actx, "", library.KeySpec{Name: "default"})
	if err != nil || !slices.Equal(k.Scopes, []shelf.Scope{shelf.ScopeAdmin}) {
		t.Fatalf("default scopes = %v, %v; want the caller's (admin)", k, err)
	}
	k, token, err := e.svc.IssueKey(e.actx, "", library.KeySpec{Name: "narrow", Scopes: []shelf.Scope{shelf.ScopeRead, shelf.ScopeRead}})
	if err != nil || !slices.Equal(k.Scopes, []shelf.Scope{shelf.ScopeRead}) {
		t.Fatalf("narrowed scopes = %v, %v", k, err)
	}
	_, _, err = e.svc.IssueKey(e.as(t, token), "", library.KeySpec{Name: "x"})
	wantCode(t, err, shelf.EFORBIDDEN)
	for _, spec := range []library.KeySpec{
		{Name: "x", Scopes: []shelf.Scope{"root"}},
		{Name: "x", Scopes: []shelf.Scope{}},
		{Name: ""},
		{Name: strings.Repeat("n", 201)},
		{Name: "a\x00b"},
	} {
		_, _, err := e.svc.IssueKey(e.actx, "", spec)
		wantCode(t, err, shelf.EINVALID)
	}
}

func TestListKeysPaging(t *testing.T) {
	e := newKeyEnv(t)
	for _, name := range []string{"Alpha", "beta", "ALPHABET", "gamma", "al%pha", "al_pha", "delta"} {
		e.clock.Add(time.Millisecond)
		if _, _, err := e.svc.IssueKey(e.actx, "", library.KeySpec{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	all := func(filter string, limit int) ([]string, int) {
		t.Helper()
		var names []string
		token, total := "", -1
		for range 20 {
			page, err := e.svc.ListKeys(e.actx, "", filter, token, limit)
			if err != nil {
				t.Fatal(err)
			}
			if total >= 0 && page.Total != total {
				t.Fatalf("total changed from %d to %d", total, page.Total)
			}
			total = page.Total
			if len(page.Keys) > limit {
				t.Fatalf("page of %d keys, limit %d", len(page.Keys), limit)
			}
			for _, k := range page.Keys {
				names = append(names, k.Name)
			}
			if page.Next == "" {
				return names, total
			}
			token = page.Next
		}
		t.Fatal("paging does not end")
		return nil, 0
	}
	want := []string{"admin", "Alpha", "beta", "ALPHABET", "gamma", "al%pha", "al_pha", "delta"}
	for _, limit := range []int{1, 3, 8, 100} {
		if got, total := all("", limit); !slices.Equal(got, want) || total != 8 {
			t.Fatalf("limit %d: %v (total %d), want %v", limit, got, total, want)
		}
	}
	for filter, want := range map[string][]string{
		"alpha": {"Alpha", "ALPHABET"},
		"%":     {"al%pha"},
		"_":     {"al_pha"},
		"zzz":   nil,
	} {
		if got, total := all(filter, 1); !slices.Equal(got, want) || total != len(want) {
			t.Errorf("filter %q: %v (total %d), want %v", filter, got, total, want)
		}
	}
	// Keyset paging: a key revoked between pages shifts nothing.
	page, err := e.svc.ListKeys(e.actx, "", "", "", 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RevokeKeyIn(e.actx, "", page.Keys[1].ID); err != nil {
		t.Fatal(err)
	}
	next, err := e.svc.ListKeys(e.actx, "", "", page.Next, 3)
	if err != nil || next.Keys[0].Name != "ALPHABET" {
		t.Fatalf("next page after a revoke = %v, %v", next, err)
	}
	// Bad input.
	for _, c := range []struct {
		filter, token string
		limit         int
	}{
		{"", "", 0}, {"", "", library.MaxKeyPage + 1}, {"", "garbage", 10}, {"", "k1.!!", 10},
		{"", "n1.YWJj", 10}, {strings.Repeat("x", 201), "", 10}, {"\xff", "", 10},
	} {
		_, err := e.svc.ListKeys(e.actx, "", c.filter, c.token, c.limit)
		wantCode(t, err, shelf.EINVALID)
	}
}

func TestKeyLastUsed(t *testing.T) {
	e := newKeyEnv(t)
	k, token, err := e.svc.IssueKey(e.actx, "", library.KeySpec{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := e.svc.Key(e.actx, "", k.ID); !got.LastUsedAt.IsZero() {
		t.Fatalf("a new key was used at %v", got.LastUsedAt)
	}
	e.clock.Add(time.Minute)
	used := e.clock.Now()
	if _, err := e.svc.Authenticate(context.Background(), token); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.svc.Key(e.actx, "", k.ID); !got.LastUsedAt.Equal(used) {
		t.Fatalf("last used %v, want %v (not written yet, but seen)", got.LastUsedAt, used)
	}
	stored := func() time.Time {
		var sk *shelf.Key
		if err := e.store.View(context.Background(), func(tx shelf.Tx) (err error) {
			sk, err = tx.Key(context.Background(), k.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return sk.LastUsedAt
	}
	if !stored().IsZero() {
		t.Fatal("authentication wrote the key's row")
	}
	if err := e.svc.FlushKeyUse(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !stored().Equal(used) {
		t.Fatalf("stored last use %v, want %v", stored(), used)
	}
	// A flush never moves a use back (another replica's may be later).
	if err := e.store.Update(context.Background(), func(tx shelf.Tx) error {
		return tx.TouchKeys(context.Background(), map[string]time.Time{k.ID: used.Add(-time.Hour)})
	}); err != nil {
		t.Fatal(err)
	}
	if !stored().Equal(used) {
		t.Fatalf("last use moved back to %v", stored())
	}
}

// idem is one caller of the idempotency facility.
type idem struct {
	t     *testing.T
	e     *keyEnv
	ctx   context.Context
	token string
}

func (e *keyEnv) idem(t *testing.T, token string) *idem {
	return &idem{t: t, e: e, ctx: e.as(t, token), token: token}
}

func fp(s string) []byte { b := make([]byte, 32); copy(b, s); return b }

func (c *idem) begin(key, f string) (*library.IdempotentAnswer, *library.IdempotentCall, error) {
	return c.e.svc.BeginIdempotent(c.ctx, c.token, key, fp(f))
}

func (c *idem) mustCall(key, f string) *library.IdempotentCall {
	c.t.Helper()
	a, call, err := c.begin(key, f)
	if err != nil || a != nil || call == nil {
		c.t.Fatalf("Begin(%q) = %v, %v, %v; want a call", key, a, call, err)
	}
	return call
}

func TestIdempotentReplay(t *testing.T) {
	e := newKeyEnv(t)
	c := e.idem(t, e.token)
	call := c.mustCall("k1", "create")
	answer := library.IdempotentAnswer{Status: 201, ContentType: "application/json", Body: []byte(`{"key":"shelf_secret"}`)}
	if err := e.svc.FinishIdempotent(c.ctx, call, answer); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		a, call, err := c.begin("k1", "create")
		if err != nil || call != nil || a == nil || a.Status != 201 || a.ContentType != answer.ContentType || string(a.Body) != string(answer.Body) {
			t.Fatalf("replay = %+v, %v, %v", a, call, err)
		}
	}
	// The same key for another request.
	_, _, err := c.begin("k1", "revoke")
	wantCode(t, err, shelf.ECONFLICT)
	// Another calling key has its own records.
	_, second, err := e.svc.IssueKey(e.actx, "", library.KeySpec{Name: "second"})
	if err != nil {
		t.Fatal(err)
	}
	e.idem(t, second).mustCall("k1", "revoke")
	// Bad keys.
	for _, key := range []string{"", strings.Repeat("k", library.MaxIdempotencyKey+1), "a\nb", "é"} {
		_, _, err := c.begin(key, "create")
		wantCode(t, err, shelf.EINVALID)
	}
	if _, _, err := c.begin(strings.Repeat("k", library.MaxIdempotencyKey), "x"); err != nil {
		t.Fatalf("a key of the longest length: %v", err)
	}
}

// TestIdempotentAnswerSealed checks that a kept answer carrying a key's
// secret is never written in plaintext: not in the record, not anywhere in
// the database's files; and that another secret of the calling key (after
// a rotation) cannot open it.
func TestIdempotentAnswerSealed(t *testing.T) {
	e := newKeyEnv(t)
	c := e.idem(t, e.token)
	call := c.mustCall("create-1", "create")
	_, secret, err := e.svc.IssueKey(c.ctx, "", library.KeySpec{Name: "made"})
	if err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"success":true,"data":{"key":%q}}`, secret)
	if err := e.svc.FinishIdempotent(c.ctx, call, library.IdempotentAnswer{Status: 201, ContentType: "application/json", Body: []byte(body)}); err != nil {
		t.Fatal(err)
	}
	var rec *shelf.IdempotencyRecord
	if err := e.store.View(context.Background(), func(tx shelf.Tx) (err error) {
		p, _ := e.svc.Authenticate(context.Background(), e.token)
		rec, err = tx.IdempotencyRecord(context.Background(), e.ws, p.Owner(), "create-1")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !rec.Done || rec.Status != 201 || len(rec.Body) == 0 {
		t.Fatalf("record = %+v", rec)
	}
	for _, s := range []string{secret, secret[len(secret)-20:], "success", body} {
		if strings.Contains(string(rec.Body), s) {
			t.Fatalf("the kept body holds %q in plaintext", s)
		}
	}
	checkNoSecretOnDisk(t, e.dir, secret)
	// The replay opens it.
	a, _, err := c.begin("create-1", "create")
	if err != nil || string(a.Body) != body {
		t.Fatalf("replay = %+v, %v", a, err)
	}
	// After the calling key is rotated, its new secret cannot.
	_, fresh, err := e.svc.RotateKey(c.ctx, "", e.key.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.idem(t, fresh).begin("create-1", "create")
	wantCode(t, err, shelf.ECONFLICT)
}

func TestIdempotentConcurrentFirstAttempts(t *testing.T) {
	e := newKeyEnv(t)
	c := e.idem(t, e.token)
	const n = 16
	type result struct {
		call *library.IdempotentCall
		err  error
	}
	results := make(chan result, n)
	start := make(chan struct{})
	for range n {
		go func() {
			<-start
			_, call, err := c.begin("race", "create")
			results <- result{call, err}
		}()
	}
	close(start)
	calls := 0
	for range n {
		r := <-results
		switch {
		case r.call != nil:
			calls++
		case shelf.ErrorCode(r.err) != shelf.ECONFLICT:
			t.Fatalf("a racing attempt got %v, want ECONFLICT (in progress)", r.err)
		}
	}
	if calls != 1 {
		t.Fatalf("%d racing first attempts ran, want 1", calls)
	}
}

func TestIdempotentAnswersNotKept(t *testing.T) {
	e := newKeyEnv(t)
	c := e.idem(t, e.token)
	for _, status := range []int{500, 503, 429, 408} {
		key := fmt.Sprint("s", status)
		call := c.mustCall(key, "x")
		if err := e.svc.FinishIdempotent(c.ctx, call, library.IdempotentAnswer{Status: status, Body: []byte("busy")}); err != nil {
			t.Fatal(err)
		}
		c.mustCall(key, "x") // runs again
	}
	call := c.mustCall("big", "x")
	big := make([]byte, library.MaxIdempotentAnswer+1)
	if err := e.svc.FinishIdempotent(c.ctx, call, library.IdempotentAnswer{Status: 200, Body: big}); err != nil {
		t.Fatal(err)
	}
	c.mustCall("big", "x")
	// A client error is kept: the same request gets the same answer.
	call = c.mustCall("bad", "x")
	if err := e.svc.FinishIdempotent(c.ctx, call, library.IdempotentAnswer{Status: 400, Body: []byte("no")}); err != nil {
		t.Fatal(err)
	}
	if a, _, err := c.begin("bad", "x"); err != nil || a == nil || a.Status != 400 {
		t.Fatalf("a kept 400 = %+v, %v", a, err)
	}
	// An abandoned call leaves nothing.
	call = c.mustCall("gone", "x")
	if err := e.svc.AbandonIdempotent(c.ctx, call); err != nil {
		t.Fatal(err)
	}
	c.mustCall("gone", "x")
}

func TestIdempotentLeaseAndRetention(t *testing.T) {
	e := newKeyEnv(t)
	c := e.idem(t, e.token)
	first := c.mustCall("k", "x")
	_, _, err := c.begin("k", "x")
	wantCode(t, err, shelf.ECONFLICT) // in progress
	// The first attempt died: past the lease, a retry takes over, and the
	// first one can no longer keep its answer.
	e.clock.Add(library.IdempotencyLease + time.Second)
	second := c.mustCall("k", "x")
	err = e.svc.FinishIdempotent(c.ctx, first, library.IdempotentAnswer{Status: 200, Body: []byte("first")})
	wantCode(t, err, shelf.ECONFLICT)
	if err := e.svc.FinishIdempotent(c.ctx, second, library.IdempotentAnswer{Status: 200, Body: []byte("second")}); err != nil {
		t.Fatal(err)
	}
	if a, _, err := c.begin("k", "x"); err != nil || string(a.Body) != "second" {
		t.Fatalf("replay = %+v, %v", a, err)
	}
	// Past the retention the key is new again, even for another request,
	// and pruning removes what is that old.
	e.clock.Add(library.IdempotencyRetention - time.Second)
	if a, _, err := c.begin("k", "x"); err != nil || a == nil {
		t.Fatalf("replay just inside the retention = %+v, %v", a, err)
	}
	done := c.mustCall("old", "y")
	if err := e.svc.FinishIdempotent(c.ctx, done, library.IdempotentAnswer{Status: 200}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(2 * time.Second)
	if n, err := e.svc.PruneIdempotency(context.Background()); err != nil || n != 1 {
		t.Fatalf("pruned %d, %v; want 1 (k, not old)", n, err)
	}
	c.mustCall("k", "another request")
	if a, _, err := c.begin("old", "y"); err != nil || a == nil {
		t.Fatalf("a record inside the retention: %+v, %v", a, err)
	}
}

// checkNoSecretOnDisk fails t if any file under dir (the database, its
// WAL, the blobs) holds secret.
func checkNoSecretOnDisk(t *testing.T, dir, secret string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the secret in plaintext", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
