package http_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/internal/shelftest"
	"github.com/shelfmem/shelf/library"
)

// TestNativeKeyExpiry makes a key with expires_at through the native API:
// it works until then, and from that instant every route refuses it.
func TestNativeKeyExpiry(t *testing.T) {
	var mu sync.Mutex
	now := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := shelftest.New(t, library.Config{Now: clock})
	_, admin := e.Workspace(t, "acme", shelf.ScopeAdmin)
	exp := now.Add(time.Hour)
	r := e.Do(t, "POST", "/v1/keys", admin, map[string]any{"name": "ci", "scopes": []string{"write"}, "expires_at": exp.Format(time.RFC3339)})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var k struct {
		ID        string    `json:"id"`
		Key       string    `json:"key"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	r.JSON(t, &k)
	if !k.ExpiresAt.Equal(exp) {
		t.Fatalf("expires_at = %v, want %v", k.ExpiresAt, exp)
	}
	routes := []string{"/v1/libraries/default", "/openapi/memorylake/api/v1/drives/items/MY_SPACE", "/sources/api/items"}
	for _, path := range routes {
		if r := e.Do(t, "GET", path, k.Key, nil); r.Status != 200 {
			t.Fatalf("GET %s before expiry = %d %s", path, r.Status, r.Body)
		}
	}
	var list struct {
		Keys []struct {
			ID         string    `json:"id"`
			ExpiresAt  time.Time `json:"expires_at"`
			LastUsedAt time.Time `json:"last_used_at"`
		} `json:"keys"`
	}
	e.Do(t, "GET", "/v1/keys", admin, nil).JSON(t, &list)
	found := false
	for _, lk := range list.Keys {
		if lk.ID == k.ID {
			found = lk.ExpiresAt.Equal(exp) && lk.LastUsedAt.Equal(now)
		}
	}
	if len(list.Keys) != 2 || !found {
		t.Fatalf("keys = %+v", list.Keys)
	}
	mu.Lock()
	now = exp
	mu.Unlock()
	for _, path := range routes {
		if r := e.Do(t, "GET", path, k.Key, nil); r.Status != 401 {
			t.Fatalf("GET %s at expiry = %d %s", path, r.Status, r.Body)
		}
	}
	// An expiry that has passed, or is not a time, makes nothing.
	for _, bad := range []any{now.Add(-time.Second).Format(time.RFC3339), "tomorrow", 12} {
		r := e.Do(t, "POST", "/v1/keys", admin, map[string]any{"name": "late", "scopes": []string{"read"}, "expires_at": bad})
		if r.Status != 400 || errCode(t, r) != "invalid" {
			t.Fatalf("expires_at %v = %d %s", bad, r.Status, r.Body)
		}
	}
	e.Do(t, "GET", "/v1/keys", admin, nil).JSON(t, &list)
	if len(list.Keys) != 2 {
		t.Fatalf("refused creates made keys: %+v", list.Keys)
	}
}

// TestNativeRevokeSelf: a key cannot revoke itself (409); the master key
// and other admin keys can revoke it.
func TestNativeRevokeSelf(t *testing.T) {
	e := shelftest.New(t, library.Config{})
	_, admin := e.Workspace(t, "acme", shelf.ScopeAdmin)
	var list struct {
		Keys []struct {
			ID string `json:"id"`
		} `json:"keys"`
	}
	e.Do(t, "GET", "/v1/keys", admin, nil).JSON(t, &list)
	id := list.Keys[0].ID
	r := e.Do(t, "DELETE", "/v1/keys/"+id, admin, nil)
	if r.Status != 409 || errCode(t, r) != "conflict" || !strings.Contains(string(r.Body), "cannot revoke the key used for this request") {
		t.Fatalf("self-revoke = %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "GET", "/v1/keys", admin, nil); r.Status != 200 {
		t.Fatalf("the key after a refused self-revoke = %d", r.Status)
	}
	if r := e.Do(t, "DELETE", "/v1/keys/"+id, master, nil); r.Status != 204 {
		t.Fatalf("master revoking = %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, "GET", "/v1/keys", admin, nil); r.Status != 401 {
		t.Fatalf("a revoked key = %d", r.Status)
	}
}
