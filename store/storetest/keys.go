package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/shelfmem/shelf"
)

// testKeyFields checks that a key's expiry and last use round-trip, and
// UpdateKey.
func testKeyFields(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	k := newKey(w.a, "ci", at(time.Second), shelf.ScopeRead, shelf.ScopeWrite)
	k.ExpiresAt, k.LastUsedAt = at(time.Hour), at(time.Minute)
	never := newKey(w.a, "forever", at(2*time.Second), shelf.ScopeAdmin)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if err := tx.CreateKey(ctx, k); err != nil {
			return err
		}
		return tx.CreateKey(ctx, never)
	})
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, want := range []*shelf.Key{k, never} {
			got, err := tx.Key(ctx, want.ID)
			if err != nil {
				t.Fatalf("Key: %v", err)
			}
			same(t, "Key", got, want)
		}
		return nil
	})

	changed := *k
	changed.Name, changed.Scopes, changed.Hash = "ci-2", []shelf.Scope{shelf.ScopeAdmin}, []byte("another hash of 32 bytes........")
	changed.ExpiresAt = time.Time{}
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateKey(ctx, &changed) })
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.Key(ctx, k.ID)
		if err != nil {
			t.Fatalf("Key: %v", err)
		}
		same(t, "Key after UpdateKey", got, &changed) // LastUsedAt and CreatedAt kept
		return nil
	})

	foreign := changed
	foreign.WorkspaceID, foreign.Name = w.b.ID, "stolen"
	err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateKey(ctx, &foreign) })
	wantCode(t, "UpdateKey(other workspace)", err, shelf.ENOTFOUND)
	missing := changed
	missing.ID = newID()
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateKey(ctx, &missing) })
	wantCode(t, "UpdateKey(missing)", err, shelf.ENOTFOUND)
	unknown := newKey(&shelf.Workspace{ID: newID()}, "orphan", at(0), shelf.ScopeRead)
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateKey(ctx, unknown) })
	wantCode(t, "CreateKey(unknown workspace)", err, shelf.ENOTFOUND)
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.Key(ctx, k.ID)
		if err != nil {
			t.Fatalf("Key: %v", err)
		}
		same(t, "Key after refused updates", got, &changed)
		return nil
	})
}

// testKeyRateLimits checks that a key's own rate limit round-trips through
// CreateKey, Key, Keys, ListKeys and UpdateKey, with none (nil) and an
// exemption (PerSecond 0) kept apart.
func testKeyRateLimits(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	limited := newKey(w.a, "limited", at(time.Second), shelf.ScopeRead)
	limited.RateLimit = &shelf.RateLimit{PerSecond: 2.5, Burst: 7}
	exempt := newKey(w.a, "exempt", at(2*time.Second), shelf.ScopeRead)
	exempt.RateLimit = &shelf.RateLimit{}
	plain := newKey(w.a, "plain", at(3*time.Second), shelf.ScopeRead)
	all := []*shelf.Key{limited, exempt, plain}
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, k := range all {
			if err := tx.CreateKey(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	check := func(what string, want []*shelf.Key) {
		t.Helper()
		view(t, s, func(ctx context.Context, tx shelf.Tx) error {
			for _, k := range want {
				got, err := tx.Key(ctx, k.ID)
				if err != nil {
					t.Fatalf("%s: Key: %v", what, err)
				}
				same(t, what+": Key", got, k)
			}
			keys, err := tx.Keys(ctx, w.a.ID)
			if err != nil {
				t.Fatalf("%s: Keys: %v", what, err)
			}
			sameKeys(t, what+": Keys", keys, want)
			page, _, err := tx.ListKeys(ctx, w.a.ID, shelf.KeyQuery{Limit: 10})
			if err != nil {
				t.Fatalf("%s: ListKeys: %v", what, err)
			}
			sameKeys(t, what+": ListKeys", page, want)
			return nil
		})
	}
	check("created", all)

	// Set, changed and cleared by UpdateKey.
	l2, e2, p2 := *limited, *exempt, *plain
	l2.RateLimit, e2.RateLimit, p2.RateLimit = nil, &shelf.RateLimit{PerSecond: 100, Burst: 1}, &shelf.RateLimit{}
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, k := range []*shelf.Key{&l2, &e2, &p2} {
			if err := tx.UpdateKey(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	check("updated", []*shelf.Key{&l2, &e2, &p2})
}

func sameKeys(t *testing.T, what string, got, want []*shelf.Key) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d keys, want %d", what, len(got), len(want))
	}
	for i := range got {
		same(t, what, got[i], want[i])
	}
}

func testTouchKeys(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	a := newKey(w.a, "a", at(0), shelf.ScopeRead)
	b := newKey(w.b, "b", at(0), shelf.ScopeRead)
	b.LastUsedAt = at(time.Hour)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if err := tx.CreateKey(ctx, a); err != nil {
			return err
		}
		return tx.CreateKey(ctx, b)
	})
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		return tx.TouchKeys(ctx, map[string]time.Time{
			a.ID:    at(time.Minute),
			b.ID:    at(time.Minute), // before its last use: kept
			newID(): at(time.Minute), // no such key: ignored
		})
	})
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for id, want := range map[string]time.Time{a.ID: at(time.Minute), b.ID: at(time.Hour)} {
			got, err := tx.Key(ctx, id)
			if err != nil {
				t.Fatalf("Key: %v", err)
			}
			if !got.LastUsedAt.Equal(want) {
				t.Errorf("LastUsedAt = %v, want %v", got.LastUsedAt, want)
			}
		}
		return nil
	})
}

func testListKeys(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	var keys []*shelf.Key
	for i, name := range []string{"Alpha", "beta", "ALPHABET", "al%pha", "al_pha", "x\\y"} {
		keys = append(keys, newKey(w.a, name, at(time.Duration(i/2)*time.Second), shelf.ScopeRead))
	}
	// Two keys per instant: the id breaks the tie.
	slices.SortFunc(keys, func(x, y *shelf.Key) int {
		if c := x.CreatedAt.Compare(y.CreatedAt); c != 0 {
			return c
		}
		if x.ID < y.ID {
			return -1
		}
		return 1
	})
	other := newKey(w.b, "alpha of B", at(0), shelf.ScopeRead)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, k := range append([]*shelf.Key{other}, keys...) {
			if err := tx.CreateKey(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	list := func(q shelf.KeyQuery) ([]*shelf.Key, int) {
		t.Helper()
		var got []*shelf.Key
		var total int
		view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
			got, total, err = tx.ListKeys(ctx, w.a.ID, q)
			return err
		})
		return got, total
	}
	// Page by two, keyset.
	var all []*shelf.Key
	q := shelf.KeyQuery{Limit: 2}
	for range 10 {
		page, total := list(q)
		if total != len(keys) {
			t.Fatalf("total = %d, want %d", total, len(keys))
		}
		all = append(all, page...)
		if len(page) < 2 {
			break
		}
		last := page[len(page)-1]
		q.AfterTime, q.AfterID = last.CreatedAt, last.ID
	}
	sameList(t, "ListKeys pages", all, keys)

	byName := func(names ...string) []*shelf.Key {
		var out []*shelf.Key
		for _, k := range keys {
			if slices.Contains(names, k.Name) {
				out = append(out, k)
			}
		}
		return out
	}
	for filter, want := range map[string][]*shelf.Key{
		"alpha": byName("Alpha", "ALPHABET"),
		"%":     byName("al%pha"),
		"_":     byName("al_pha"),
		"\\":    byName("x\\y"),
		"none":  nil,
	} {
		got, total := list(shelf.KeyQuery{NameContains: filter, Limit: 100})
		sameList(t, "ListKeys("+filter+")", got, want)
		if total != len(want) {
			t.Errorf("ListKeys(%q) total = %d, want %d", filter, total, len(want))
		}
	}
	alphas := byName("Alpha", "ALPHABET")
	got, total := list(shelf.KeyQuery{NameContains: "alpha", AfterTime: alphas[0].CreatedAt, AfterID: alphas[0].ID, Limit: 100})
	if total != 2 {
		t.Errorf("total with a page start = %d, want 2 (the filter's, all pages)", total)
	}
	sameList(t, "ListKeys(alpha, after the first)", got, alphas[1:])
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, total, err := tx.ListKeys(ctx, newID(), shelf.KeyQuery{Limit: 10})
		if err != nil || len(got) != 0 || total != 0 {
			t.Fatalf("ListKeys(unknown workspace) = %d keys, total %d, %v", len(got), total, err)
		}
		return nil
	})
}

func testIdempotencyRecords(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	r := &shelf.IdempotencyRecord{WorkspaceID: w.a.ID, Caller: "key-1", Key: "req-1", Fingerprint: []byte{1, 2, 3},
		Token: "t1", ContentType: "", Body: nil, CreatedAt: at(0)}
	sameKeyOtherCaller := *r
	sameKeyOtherCaller.Caller = "master"
	sameKeyOtherWS := *r
	sameKeyOtherWS.WorkspaceID = w.b.ID
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, x := range []*shelf.IdempotencyRecord{r, &sameKeyOtherCaller, &sameKeyOtherWS} {
			if err := tx.CreateIdempotencyRecord(ctx, x); err != nil {
				return err
			}
		}
		return nil
	})
	get := func(ws, caller, key string) (*shelf.IdempotencyRecord, error) {
		var got *shelf.IdempotencyRecord
		err := viewErr(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
			got, err = tx.IdempotencyRecord(ctx, ws, caller, key)
			return err
		})
		return got, err
	}
	got, err := get(w.a.ID, "key-1", "req-1")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "IdempotencyRecord", got, r)

	dup := *r
	dup.Token = "t2"
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateIdempotencyRecord(ctx, &dup) })
	wantCode(t, "CreateIdempotencyRecord(taken)", err, shelf.ECONFLICT)
	orphan := *r
	orphan.WorkspaceID = newID()
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateIdempotencyRecord(ctx, &orphan) })
	wantCode(t, "CreateIdempotencyRecord(unknown workspace)", err, shelf.ENOTFOUND)

	done := *r
	done.Token, done.Done, done.Status, done.ContentType = "", true, 201, "application/json"
	done.Body, done.Fingerprint, done.CreatedAt = []byte{0, 0xff, 'x'}, []byte{9}, at(time.Minute)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateIdempotencyRecord(ctx, &done) })
	got, err = get(w.a.ID, "key-1", "req-1")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "IdempotencyRecord after update", got, &done)
	for _, other := range []*shelf.IdempotencyRecord{&sameKeyOtherCaller, &sameKeyOtherWS} {
		got, err := get(other.WorkspaceID, other.Caller, other.Key)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "IdempotencyRecord of another caller or workspace", got, other)
	}
	missing := done
	missing.Key = "nope"
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateIdempotencyRecord(ctx, &missing) })
	wantCode(t, "UpdateIdempotencyRecord(missing)", err, shelf.ENOTFOUND)
	_, err = get(w.a.ID, "key-2", "req-1")
	wantCode(t, "IdempotencyRecord(missing)", err, shelf.ENOTFOUND)

	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		return tx.DeleteIdempotencyRecord(ctx, w.a.ID, "master", "req-1")
	})
	_, err = get(w.a.ID, "master", "req-1")
	wantCode(t, "IdempotencyRecord(deleted)", err, shelf.ENOTFOUND)
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		return tx.DeleteIdempotencyRecord(ctx, w.a.ID, "master", "req-1")
	})
	wantCode(t, "DeleteIdempotencyRecord(deleted)", err, shelf.ENOTFOUND)

	// Pruning: records of any workspace created before the time, in
	// batches of at most limit.
	var n int
	update(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		n, err = tx.DeleteIdempotencyRecordsBefore(ctx, at(time.Second), 10)
		return err
	})
	if n != 1 {
		t.Fatalf("deleted %d records before at(1s), want 1 (B's; A's is at(1m))", n)
	}
	_, err = get(w.b.ID, "key-1", "req-1")
	wantCode(t, "IdempotencyRecord(pruned)", err, shelf.ENOTFOUND)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for i := range 5 {
			x := *r
			x.Key = string(rune('a' + i))
			if err := tx.CreateIdempotencyRecord(ctx, &x); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		n, err = tx.DeleteIdempotencyRecordsBefore(ctx, at(time.Hour), 3)
		return err
	})
	if n != 3 {
		t.Fatalf("deleted %d with limit 3, want 3", n)
	}
	update(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		n, err = tx.DeleteIdempotencyRecordsBefore(ctx, at(time.Hour), 100)
		return err
	})
	if n != 3 {
		t.Fatalf("deleted %d of the rest, want 3 (two made at t0, and done at 1m)", n)
	}
}
