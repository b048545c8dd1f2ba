package library

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	shelf "github.com/shelfmem/shelf"
)

// Key limits and states.
const (
	// MaxKeyPage is the most keys ListKeys answers at once.
	MaxKeyPage = 100
	// MaxKeyLifetime bounds how far ahead a key's expiry may be set.
	MaxKeyLifetime = 100 * 365 * 24 * time.Hour
	// KeyEnabled and KeyExpired are a key's states. Shelf has no disabled
	// state: a revoked key is deleted.
	KeyEnabled = "enabled"
	KeyExpired = "expired"
)

// errKeyNotFound is the answer for a key id that is unknown or another
// workspace's: the two cannot be told apart.
var errKeyNotFound = shelf.Errorf(shelf.ENOTFOUND, "api key not found")

// KeySpec describes a key to make.
type KeySpec struct {
	Name string
	// Scopes the key gets; none of them may rank above the caller's. Nil
	// gives the caller's own (its highest scope, which implies the rest).
	Scopes []shelf.Scope
	// ExpiresAt is when the key stops working; zero for never. It must be
	// in the future and at most MaxKeyLifetime ahead.
	ExpiresAt time.Time
	// RateLimit is the key's own request rate limit; nil: the server's.
	// Only the master key may set one (see SetKeyRateLimit).
	RateLimit *shelf.RateLimit
}

// KeyPage is one page of a workspace's keys.
type KeyPage struct {
	Keys  []*shelf.Key
	Total int    // keys the filter keeps, in all pages
	Next  string // the token of the next page; "" on the last
}

// keyExpired reports whether k no longer works at now.
func keyExpired(k *shelf.Key, now time.Time) bool {
	return !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt)
}

// KeyStatus is k's state now: KeyEnabled or KeyExpired.
func (s *Service) KeyStatus(k *shelf.Key) string {
	if keyExpired(k, s.now()) {
		return KeyExpired
	}
	return KeyEnabled
}

// KeyPrefix is the leading part of k's tokens that names the key: the
// prefix and the key id, which is not secret. It stays the same when the
// key is rotated and is never enough to authenticate.
func KeyPrefix(k *shelf.Key) string { return keyPrefix + k.ID }

// IssueKey makes a key in a workspace ("" for the caller's; another one
// for the master key only) and returns it with its token, which is never
// shown again.
func (s *Service) IssueKey(ctx context.Context, wsID string, spec KeySpec) (*shelf.Key, string, error) {
	p, wsID, err := s.keyWorkspace(ctx, wsID)
	if err != nil {
		return nil, "", err
	}
	if err := checkLabel("key name", spec.Name); err != nil {
		return nil, "", err
	}
	scopes := spec.Scopes
	if scopes == nil {
		scopes = []shelf.Scope{p.Scope}
	}
	if len(scopes) == 0 {
		return nil, "", shelf.Errorf(shelf.EINVALID, "scopes must name at least one of read, write, admin")
	}
	seen := map[shelf.Scope]bool{}
	var clean []shelf.Scope
	for _, sc := range scopes {
		if sc.Rank() == 0 {
			return nil, "", shelf.Errorf(shelf.EINVALID, "unknown scope %q (want read, write or admin)", sc)
		}
		if sc.Rank() > p.Scope.Rank() {
			return nil, "", shelf.Errorf(shelf.EFORBIDDEN, "a key cannot grant the %q scope, which it does not hold", sc)
		}
		if !seen[sc] {
			seen[sc] = true
			clean = append(clean, sc)
		}
	}
	now := s.now()
	exp := spec.ExpiresAt
	if !exp.IsZero() {
		exp = exp.UTC()
		if !exp.After(now) {
			return nil, "", shelf.Errorf(shelf.EINVALID, "expires_at must be in the future")
		}
		if exp.After(now.Add(MaxKeyLifetime)) {
			return nil, "", shelf.Errorf(shelf.EINVALID, "expires_at must be at most 100 years ahead")
		}
	}
	var own *shelf.RateLimit
	if spec.RateLimit != nil {
		if !p.Master {
			return nil, "", shelf.Errorf(shelf.EFORBIDDEN, "only the master key may set a key's rate limit")
		}
		c := *spec.RateLimit
		if err := checkRateLimit(&c); err != nil {
			return nil, "", err
		}
		own = &c
	}
	id, secret, token := newKeyToken()
	sum := sha256.Sum256([]byte(secret))
	k := &shelf.Key{ID: id, WorkspaceID: wsID, Name: spec.Name, Scopes: clean, Hash: sum[:], CreatedAt: now, ExpiresAt: exp, RateLimit: own}
	if err := s.store.Update(ctx, func(tx shelf.Tx) error { return tx.CreateKey(ctx, k) }); err != nil {
		return nil, "", err
	}
	return k, token, nil
}

// keyIn returns the key id of workspace wsID, or errKeyNotFound.
func keyIn(ctx context.Context, tx shelf.Tx, wsID, id string) (*shelf.Key, error) {
	k, err := tx.Key(ctx, id)
	if shelf.ErrorCode(err) == shelf.ENOTFOUND || (err == nil && k.WorkspaceID != wsID) {
		return nil, errKeyNotFound
	}
	return k, err
}

// Key returns a key of a workspace ("" for the caller's) without its
// secret; a key of another workspace is ENOTFOUND.
func (s *Service) Key(ctx context.Context, wsID, id string) (*shelf.Key, error) {
	_, wsID, err := s.keyWorkspace(ctx, wsID)
	if err != nil {
		return nil, err
	}
	var k *shelf.Key
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		k, err = keyIn(ctx, tx, wsID, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.keyUse.apply(k)
	return k, nil
}

// ListKeys returns a page of a workspace's keys ("" for the caller's),
// oldest first: those whose name contains nameContains (ASCII letters
// compared without case; "" for all), from the page token ("" for the
// first), at most limit (1 to MaxKeyPage).
func (s *Service) ListKeys(ctx context.Context, wsID, nameContains, token string, limit int) (*KeyPage, error) {
	_, wsID, err := s.keyWorkspace(ctx, wsID)
	if err != nil {
		return nil, err
	}
	if limit < 1 || limit > MaxKeyPage {
		return nil, shelf.Errorf(shelf.EINVALID, "page size must be between 1 and %d", MaxKeyPage)
	}
	if len(nameContains) > maxLabel || !utf8.ValidString(nameContains) {
		return nil, shelf.Errorf(shelf.EINVALID, "the name filter must be at most %d bytes of UTF-8", maxLabel)
	}
	q := shelf.KeyQuery{NameContains: nameContains, Limit: limit + 1}
	if q.AfterTime, q.AfterID, err = decodeKeyCursor(token); err != nil {
		return nil, err
	}
	page := &KeyPage{}
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		page.Keys, page.Total, err = tx.ListKeys(ctx, wsID, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(page.Keys) > limit {
		page.Keys = page.Keys[:limit]
		last := page.Keys[limit-1]
		page.Next = encodeKeyCursor(last.CreatedAt, last.ID)
	}
	for _, k := range page.Keys {
		s.keyUse.apply(k)
	}
	return page, nil
}

// RotateKey gives a key of a workspace ("" for the caller's) a new secret
// and returns the key with its new token. The id stays; the old secret is
// refused from the next request on. An expired key is not rotated
// (ECONFLICT): rotation does not extend a key's life.
func (s *Service) RotateKey(ctx context.Context, wsID, id string) (*shelf.Key, string, error) {
	_, wsID, err := s.keyWorkspace(ctx, wsID)
	if err != nil {
		return nil, "", err
	}
	var k *shelf.Key
	var token string
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		if k, err = keyIn(ctx, tx, wsID, id); err != nil {
			return err
		}
		if keyExpired(k, s.now()) {
			return shelf.Errorf(shelf.ECONFLICT, "api key has expired and cannot be rotated; create a new one")
		}
		var secret string
		secret, token = newKeySecret(k.ID)
		sum := sha256.Sum256([]byte(secret))
		k.Hash = sum[:]
		return tx.UpdateKey(ctx, k)
	})
	if err != nil {
		return nil, "", err
	}
	s.keyUse.apply(k)
	return k, token, nil
}

// RevokeKeyIn deletes a key of a workspace ("" for the caller's); it fails
// on its next request. A key of another workspace is ENOTFOUND, and the key
// that authenticated the call cannot revoke itself (ECONFLICT).
func (s *Service) RevokeKeyIn(ctx context.Context, wsID, id string) error {
	p, wsID, err := s.keyWorkspace(ctx, wsID)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx shelf.Tx) error {
		k, err := keyIn(ctx, tx, wsID, id)
		if err != nil {
			return err
		}
		return s.deleteKeyTx(ctx, tx, p, k)
	})
}

// deleteKeyTx deletes k unless it is the caller's own key.
func (s *Service) deleteKeyTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, k *shelf.Key) error {
	if !p.Master && !p.Signed && p.KeyID == k.ID {
		return shelf.Errorf(shelf.ECONFLICT, "cannot revoke the key used for this request")
	}
	return tx.DeleteKey(ctx, k.WorkspaceID, k.ID)
}

// A key page token is "k1." and the base64url of the last key's
// created_at (unix nanoseconds) and id: "<nanos>.<id>".
const keyCursorPrefix = "k1."

func encodeKeyCursor(t time.Time, id string) string {
	return keyCursorPrefix + base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixNano(), 10)+"."+id))
}

// decodeKeyCursor reads a page token; "" is the first page.
func decodeKeyCursor(token string) (time.Time, string, error) {
	if token == "" {
		return time.Time{}, "", nil
	}
	bad := shelf.Errorf(shelf.EINVALID, "invalid continuation token")
	rest, ok := strings.CutPrefix(token, keyCursorPrefix)
	if !ok || len(rest) > 64 {
		return time.Time{}, "", bad
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	if err != nil {
		return time.Time{}, "", bad
	}
	ns, id, ok := strings.Cut(string(b), ".")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || n <= 0 || ns != strconv.FormatInt(n, 10) || len(id) != keyIDLen || !isHex(id) {
		return time.Time{}, "", bad
	}
	return time.Unix(0, n).UTC(), id, nil
}

// keyUse remembers when keys were last used, in memory: authentication
// must not write a row on every request. FlushKeyUse writes it to the
// store; reads of keys merge what is not written yet.
type keyUse struct {
	mu   sync.Mutex
	used map[string]time.Time // key id → last use not yet written
}

func (u *keyUse) touch(id string, t time.Time) {
	u.mu.Lock()
	if u.used == nil {
		u.used = map[string]time.Time{}
	}
	if t.After(u.used[id]) {
		u.used[id] = t
	}
	u.mu.Unlock()
}

// take returns the uses not yet written and forgets them.
func (u *keyUse) take() map[string]time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	m := u.used
	u.used = nil
	return m
}

// restore puts back uses whose write failed.
func (u *keyUse) restore(m map[string]time.Time) {
	for id, t := range m {
		u.touch(id, t)
	}
}

// apply sets k.LastUsedAt to the later of its stored value and a use not
// yet written.
func (u *keyUse) apply(k *shelf.Key) {
	u.mu.Lock()
	t, ok := u.used[k.ID]
	u.mu.Unlock()
	if ok && t.After(k.LastUsedAt) {
		k.LastUsedAt = t
	}
}

// FlushKeyUse writes the keys' last uses that this process saw since the
// last flush, in one transaction: a key's row is written at most once per
// flush, however many requests it made. `shelf serve` flushes every sweep
// interval (a minute by default) and when it stops.
func (s *Service) FlushKeyUse(ctx context.Context) error {
	used := s.keyUse.take()
	if len(used) == 0 {
		return nil
	}
	err := s.store.Update(ctx, func(tx shelf.Tx) error { return tx.TouchKeys(ctx, used) })
	if err != nil {
		s.keyUse.restore(used)
	}
	return err
}

// CreateKey makes a key in a workspace ("" for the caller's) with the
// scopes given (at least one) and returns it with its token, which is never
// shown again.
func (s *Service) CreateKey(ctx context.Context, wsID, name string, scopes []shelf.Scope) (*shelf.Key, string, error) {
	if len(scopes) == 0 {
		if _, _, err := s.keyWorkspace(ctx, wsID); err != nil {
			return nil, "", err
		}
		return nil, "", shelf.Errorf(shelf.EINVALID, "scopes must name at least one of read, write, admin")
	}
	return s.IssueKey(ctx, wsID, KeySpec{Name: name, Scopes: scopes})
}

// Keys lists a workspace's keys ("" for the caller's).
func (s *Service) Keys(ctx context.Context, wsID string) ([]*shelf.Key, error) {
	_, wsID, err := s.keyWorkspace(ctx, wsID)
	if err != nil {
		return nil, err
	}
	var keys []*shelf.Key
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		keys, err = tx.Keys(ctx, wsID)
		return err
	})
	for _, k := range keys {
		s.keyUse.apply(k)
	}
	return keys, err
}

// RevokeKey deletes a key; it fails on its next request. A workspace admin
// revokes keys of its own workspace; the master key any key. The key that
// authenticated the call cannot revoke itself (ECONFLICT).
func (s *Service) RevokeKey(ctx context.Context, id string) error {
	p, err := need(ctx, shelf.ScopeAdmin)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx shelf.Tx) error {
		k, err := tx.Key(ctx, id)
		if err != nil || (!p.Master && k.WorkspaceID != p.WorkspaceID) {
			return errKeyNotFound
		}
		return s.deleteKeyTx(ctx, tx, p, k)
	})
}
