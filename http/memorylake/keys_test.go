package memorylake_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/http/memorylake"
	"github.com/shelfmem/shelf/internal/shelftest"
	"github.com/shelfmem/shelf/library"
)

// wireKey is a key as K1 and K3 show it.
type wireKey struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	KeyPrefix  string   `json:"key_prefix"`
	Status     string   `json:"status"`
	CreatedAt  *int64   `json:"created_at"`
	ExpiresAt  *int64   `json:"expires_at"`
	LastUsedAt *int64   `json:"last_used_at"`
	Scopes     []string `json:"scopes"`
	Key        *string  `json:"key"` // must never be there
}

// issued is K2's and K5's data.
type issued struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	KeyPrefix string `json:"key_prefix"`
	Key       string `json:"key"`
}

type keyList struct {
	Items             []wireKey `json:"items"`
	Total             *int      `json:"total"`
	ContinuationToken *string   `json:"continuation_token"`
}

// kc is a test of the Management API: a workspace and its admin key.
type kc struct {
	t     *testing.T
	env   *shelftest.Env
	ws    string
	admin string
}

func newKC(t *testing.T, cfg library.Config) *kc {
	t.Helper()
	env := shelftest.New(t, cfg)
	ws, admin := env.Workspace(t, "main", shelf.ScopeAdmin)
	return &kc{t: t, env: env, ws: ws, admin: admin}
}

// do sends a request under the admin prefix, with an Idempotency-Key when
// idem is not "".
func (c *kc) do(method, path, key, idem string, body any) *shelftest.Response {
	c.t.Helper()
	var h http.Header
	if idem != "" {
		h = http.Header{"Idempotency-Key": {idem}}
	}
	return c.env.DoWith(c.t, method, memorylake.AdminPrefix+"/api-keys"+path, key, h, body)
}

func (c *kc) create(key string, body any) issued {
	c.t.Helper()
	r := c.do("POST", "", key, "", body)
	var got issued
	isCreated(c.t, r, &got)
	return got
}

// isCreated checks a 201 success envelope.
func isCreated(t *testing.T, r *shelftest.Response, v any) {
	t.Helper()
	if r.Status != http.StatusCreated {
		t.Fatalf("status = %d, want 201: %s", r.Status, r.Body)
	}
	e := decode(t, r)
	if !*e.Success {
		t.Fatalf("not a success envelope: %s", r.Body)
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		t.Fatalf("data: %v: %s", err, r.Body)
	}
}

func (c *kc) get(key, id string) wireKey {
	c.t.Helper()
	var k wireKey
	ok(c.t, c.do("GET", "/"+id, key, "", nil), &k)
	if k.Key != nil {
		c.t.Fatalf("Get shows the key itself")
	}
	return k
}

func (c *kc) list(key, query string) keyList {
	c.t.Helper()
	var l keyList
	r := c.do("GET", query, key, "", nil)
	ok(c.t, r, &l)
	if l.Total == nil {
		c.t.Fatalf("list without total: %s", r.Body)
	}
	for _, k := range l.Items {
		if k.Key != nil {
			c.t.Fatalf("List shows a key itself: %s", r.Body)
		}
	}
	return l
}

func (c *kc) names(key string) []string {
	c.t.Helper()
	var names []string
	for _, k := range c.list(key, "?page_size=100").Items {
		names = append(names, k.Name)
	}
	return names
}

// works reports whether key is accepted on routes other than the
// Management API's: a Library read, and the native API.
func (c *kc) works(key string) bool {
	c.t.Helper()
	lib := c.env.Do(c.t, "GET", memorylake.Prefix+"/drives/items/MY_SPACE", key, nil)
	native := c.env.Do(c.t, "GET", "/v1/libraries/default", key, nil)
	switch {
	case lib.Status == 200 && native.Status == 200:
		return true
	case lib.Status == 401 && native.Status == 401:
		fails(c.t, lib, 401, "UNAUTHORIZED", "Invalid or missing API key")
		return false
	}
	c.t.Fatalf("key answered %d on the Library and %d on the native API", lib.Status, native.Status)
	return false
}

// TestAPIKeys walks K1–K5 over HTTP.
func TestAPIKeys(t *testing.T) {
	c := newKC(t, library.Config{})
	before := time.Now().Unix()
	exp := time.Now().Add(time.Hour).Unix()
	k := c.create(c.admin, map[string]any{"name": "ci runner", "expires_at": exp})
	if k.ID == "" || k.Name != "ci runner" || !strings.HasPrefix(k.Key, k.KeyPrefix) || k.KeyPrefix == "" || len(k.KeyPrefix) >= len(k.Key)-20 {
		t.Fatalf("created %+v", k)
	}
	if !c.works(k.Key) {
		t.Fatal("a new key does not work")
	}
	// A key prefix is not a key.
	if c.works(k.KeyPrefix) {
		t.Fatal("the key prefix authenticates")
	}

	// K3 Get.
	got := c.get(c.admin, k.ID)
	if got.ID != k.ID || got.Name != "ci runner" || got.KeyPrefix != k.KeyPrefix || got.Status != "enabled" ||
		got.CreatedAt == nil || *got.CreatedAt < before || *got.CreatedAt > time.Now().Unix() ||
		got.ExpiresAt == nil || *got.ExpiresAt != exp || !slices.Equal(got.Scopes, []string{"admin"}) {
		t.Fatalf("Get = %+v", got)
	}
	if got.LastUsedAt == nil || *got.LastUsedAt < *got.CreatedAt {
		t.Fatalf("last_used_at = %v after the key was used", got.LastUsedAt)
	}
	raw := c.do("GET", "/"+k.ID, c.admin, "", nil)
	if bytes.Contains(raw.Body, []byte(k.Key)) {
		t.Fatal("Get answers the key itself")
	}

	// K1 List: both keys, oldest first, never a secret.
	l := c.list(c.admin, "")
	if *l.Total != 2 || len(l.Items) != 2 || l.Items[0].Name != "main-key" || l.Items[1].ID != k.ID || l.ContinuationToken != nil {
		t.Fatalf("List = %+v", l)
	}
	if l.Items[0].ExpiresAt != nil {
		t.Fatalf("a key that never expires shows expires_at %d", *l.Items[0].ExpiresAt)
	}

	// K5 Rotate: a new key, the same id; the old secret stops at once.
	var rot issued
	ok(t, c.do("POST", "/"+k.ID+"/rotate", c.admin, "", nil), &rot)
	if rot.ID != k.ID || rot.Key == k.Key || rot.KeyPrefix != k.KeyPrefix || rot.Name != k.Name {
		t.Fatalf("rotated %+v from %+v", rot, k)
	}
	if c.works(k.Key) {
		t.Fatal("the rotated-away key still works")
	}
	if !c.works(rot.Key) {
		t.Fatal("the rotated key does not work")
	}

	// K4 Revoke: data {}; the key fails on its next request.
	r := c.do("DELETE", "/"+k.ID, c.admin, "", nil)
	if r.Status != 200 || strings.TrimSpace(string(r.Body)) != `{"success":true,"data":{}}` {
		t.Fatalf("revoke = %d %s", r.Status, r.Body)
	}
	if c.works(rot.Key) {
		t.Fatal("a revoked key still works")
	}
	for _, path := range []string{"/" + k.ID, "/" + k.ID + "/rotate"} {
		method := map[bool]string{true: "POST", false: "GET"}[strings.HasSuffix(path, "rotate")]
		r := c.do(method, path, c.admin, "", nil)
		if r.Status != 404 || strings.TrimSpace(string(r.Body)) != `{"success":false,"message":"api key not found","error_code":"NOT_FOUND"}` {
			t.Fatalf("%s %s of a revoked key = %d %s", method, path, r.Status, r.Body)
		}
	}
	fails(t, c.do("DELETE", "/"+k.ID, c.admin, "", nil), 404, "NOT_FOUND", "api key not found")

	// Revoking the calling key is refused, and it keeps working.
	admin := c.list(c.admin, "").Items[0]
	fails(t, c.do("DELETE", "/"+admin.ID, c.admin, "", nil), 409, "STATE_NOT_READY", "cannot revoke the key used for this request")
	if !c.works(c.admin) {
		t.Fatal("a refused self-revoke stopped the key")
	}
	// Rotating the calling key is allowed: the answer is its new secret.
	ok(t, c.do("POST", "/"+admin.ID+"/rotate", c.admin, "", nil), &rot)
	if c.works(c.admin) || !c.works(rot.Key) {
		t.Fatal("self-rotation: the old secret works or the new one does not")
	}
}

func TestAPIKeyExpiry(t *testing.T) {
	clk := &clock{t: time.Now()}
	c := newKC(t, library.Config{Now: clk.Now})
	exp := clk.Now().Add(time.Minute).Unix() + 1
	k := c.create(c.admin, map[string]any{"name": "short", "expires_at": exp})
	never := c.create(c.admin, map[string]any{"name": "never", "expires_at": 0})
	if !c.works(k.Key) {
		t.Fatal("a key before its expiry does not work")
	}
	clk.Add(time.Until(time.Unix(exp, 0)) + time.Second)
	if c.works(k.Key) {
		t.Fatal("an expired key still works")
	}
	// Refused on the Management API itself too.
	fails(t, c.do("GET", "", k.Key, "", nil), 401, "UNAUTHORIZED")
	if got := c.get(c.admin, k.ID); got.Status != "expired" || got.ExpiresAt == nil || *got.ExpiresAt != exp {
		t.Fatalf("expired key = %+v", got)
	}
	if got := c.get(c.admin, never.ID); got.Status != "enabled" || got.ExpiresAt != nil || !c.works(never.Key) {
		t.Fatalf("never-expiring key = %+v", got)
	}
	statuses := map[string]string{}
	for _, it := range c.list(c.admin, "").Items {
		statuses[it.Name] = it.Status
	}
	if statuses["short"] != "expired" || statuses["never"] != "enabled" {
		t.Fatalf("statuses = %v", statuses)
	}
	// An expired key is not rotated back to life.
	fails(t, c.do("POST", "/"+k.ID+"/rotate", c.admin, "", nil), 409, "STATE_NOT_READY", "expired")
	// An expiry that has passed is refused, and makes nothing.
	before := c.names(c.admin)
	fails(t, c.do("POST", "", c.admin, "", map[string]any{"name": "late", "expires_at": clk.Now().Unix() - 1}), 400, "INVALID_ARGUMENT", "expires_at")
	if after := c.names(c.admin); !slices.Equal(before, after) {
		t.Fatalf("keys after a refused create = %v, want %v", after, before)
	}
}

func TestAPIKeysOfOtherWorkspaces(t *testing.T) {
	c := newKC(t, library.Config{})
	_, theirs := c.env.Workspace(t, "other", shelf.ScopeAdmin)
	tk := c.create(theirs, map[string]any{"name": "theirs"})
	const notFound = `{"success":false,"message":"api key not found","error_code":"NOT_FOUND"}`
	for _, id := range []string{tk.ID, "0123456789abcdef", "nope"} {
		for _, m := range []struct{ method, path string }{{"GET", "/" + id}, {"DELETE", "/" + id}, {"POST", "/" + id + "/rotate"}} {
			r := c.do(m.method, m.path, c.admin, "", nil)
			if r.Status != 404 || strings.TrimSpace(string(r.Body)) != notFound {
				t.Fatalf("%s %s = %d %s", m.method, m.path, r.Status, r.Body)
			}
		}
	}
	if !c.works(tk.Key) {
		t.Fatal("another workspace's key was changed")
	}
	if names := c.names(c.admin); !slices.Equal(names, []string{"main-key"}) {
		t.Fatalf("list shows %v", names)
	}
	// The master key acts in the default workspace.
	mk := c.create(shelftest.MasterKey, map[string]any{"name": "default's"})
	if names := c.names(shelftest.MasterKey); !slices.Equal(names, []string{"default's"}) {
		t.Fatalf("master's list = %v", names)
	}
	fails(t, c.do("GET", "/"+tk.ID, shelftest.MasterKey, "", nil), 404, "NOT_FOUND")
	fails(t, c.do("DELETE", "/"+tk.ID, shelftest.MasterKey, "", nil), 404, "NOT_FOUND")
	if !c.works(mk.Key) {
		t.Fatal("a key the master made does not work")
	}
}

func TestAPIKeysPaging(t *testing.T) {
	c := newKC(t, library.Config{})
	for _, n := range []string{"Deploy A", "deploy b", "backup", "DEPLOY C", "100%_literal"} {
		c.create(c.admin, map[string]any{"name": n})
	}
	var names []string
	query := "?page_size=2"
	for range 10 {
		l := c.list(c.admin, query)
		if *l.Total != 6 || len(l.Items) > 2 {
			t.Fatalf("page %q = %+v", query, l)
		}
		for _, k := range l.Items {
			names = append(names, k.Name)
		}
		if l.ContinuationToken == nil {
			break
		}
		query = "?page_size=2&continuation_token=" + *l.ContinuationToken
	}
	if want := []string{"main-key", "Deploy A", "deploy b", "backup", "DEPLOY C", "100%_literal"}; !slices.Equal(names, want) {
		t.Fatalf("paged names = %v, want %v", names, want)
	}
	l := c.list(c.admin, "?name_fuzzy=deploy&page_size=1")
	if *l.Total != 3 || len(l.Items) != 1 || l.Items[0].Name != "Deploy A" || l.ContinuationToken == nil {
		t.Fatalf("name_fuzzy page = %+v", l)
	}
	if l := c.list(c.admin, "?name_fuzzy=%25_"); *l.Total != 1 || l.Items[0].Name != "100%_literal" {
		t.Fatalf("name_fuzzy %%_ = %+v", l)
	}
	if l := c.list(c.admin, "?page_size=100"); len(l.Items) != 6 {
		t.Fatalf("page_size=100 gave %d", len(l.Items))
	}
	for _, q := range []string{"?page_size=0", "?page_size=101", "?page_size=x", "?continuation_token=bogus",
		"?continuation_token=n1.YWJj", "?name_fuzzy=" + strings.Repeat("x", 201)} {
		fails(t, c.do("GET", q, c.admin, "", nil), 400, "INVALID_ARGUMENT")
	}
}

func TestAPIKeysBadInput(t *testing.T) {
	c := newKC(t, library.Config{})
	future := time.Now().Add(time.Hour).Unix()
	for _, b := range []struct {
		body any
		msg  string
	}{
		{`{}`, "name"},
		{`{"name":""}`, "name"},
		{map[string]any{"name": strings.Repeat("é", 101)}, "name"},
		{`{"name":"a\u0000b"}`, "control"},
		{`{"name":42}`, "name"},
		{`{"name":"x","expires_at":-1}`, "expires_at"},
		{`{"name":"x","expires_at":"tomorrow"}`, "expires_at"},
		{`{"name":"x","expires_at":1.5}`, "expires_at"},
		{fmt.Sprintf(`{"name":"x","expires_at":%d}`, time.Now().Add(200*365*24*time.Hour).Unix()), "expires_at"},
		{`{"name":"x","expire_at":` + fmt.Sprint(future) + `}`, "expire_at"},
		{`{"name":"x","scopes":["root"]}`, "scope"},
		{`{"name":"x","scopes":[]}`, "scopes"},
		{`{"name":"x"`, ""},
		{`[]`, ""},
		{`{"name":"x","member_principal_id":7}`, "member_principal_id"},
	} {
		fails(t, c.do("POST", "", c.admin, "", b.body), 400, "INVALID_ARGUMENT", b.msg)
	}
	// A member: Shelf has none.
	fails(t, c.do("POST", "", c.admin, "", map[string]any{"name": "x", "member_principal_id": "mem-1"}), 404, "NOT_FOUND", "member")
	if names := c.names(c.admin); !slices.Equal(names, []string{"main-key"}) {
		t.Fatalf("refused creates made keys: %v", names)
	}
	// The longest name, an empty member and scopes narrowed to read.
	long := strings.Repeat("é", 100)
	k := c.create(c.admin, map[string]any{"name": long, "member_principal_id": "", "scopes": []string{"read"}})
	if g := c.get(c.admin, k.ID); g.Name != long || !slices.Equal(g.Scopes, []string{"read"}) {
		t.Fatalf("created %+v", g)
	}
	if !c.works(k.Key) {
		t.Fatal("the read key does not read")
	}
	// A key that is not an admin has no access to the Management API.
	for _, m := range []struct{ method, path string }{{"GET", ""}, {"POST", ""}, {"GET", "/" + k.ID}, {"DELETE", "/" + k.ID}, {"POST", "/" + k.ID + "/rotate"}} {
		fails(t, c.do(m.method, m.path, k.Key, "", `{"name":"x"}`), 403, "ACCESS_DENIED")
	}
	_, write := c.env.Workspace(t, "w", shelf.ScopeWrite)
	fails(t, c.do("POST", "", write, "", `{"name":"x"}`), 403, "ACCESS_DENIED")
	// Unknown paths under the prefix are the envelope's 404.
	fails(t, c.env.Do(t, "GET", memorylake.AdminPrefix+"/members", c.admin, nil), 404, "NOT_FOUND")
}

// TestAPIKeysIdempotency checks Idempotency-Key on the writes: a retry
// gets the first answer with Idempotency-Replayed: true and runs nothing;
// the same key for another request, or while the first runs, is 409.
func TestAPIKeysIdempotency(t *testing.T) {
	c := newKC(t, library.Config{})
	body := map[string]any{"name": "ci"}
	first := c.do("POST", "", c.admin, "create-ci-1", body)
	var k issued
	isCreated(t, first, &k)
	if first.Header.Get("Idempotency-Replayed") != "" {
		t.Fatal("a first answer says it is replayed")
	}
	again := c.do("POST", "", c.admin, "create-ci-1", body)
	if again.Status != 201 || !bytes.Equal(again.Body, first.Body) || again.Header.Get("Idempotency-Replayed") != "true" ||
		!strings.HasPrefix(again.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("replay = %d %v %s", again.Status, again.Header, again.Body)
	}
	if names := c.names(c.admin); !slices.Equal(names, []string{"main-key", "ci"}) {
		t.Fatalf("keys after a replayed create = %v", names)
	}
	// Shelf keeps no secret in plaintext, replays included.
	checkNoSecretOnDisk(t, c.env.Dir, k.Key)
	// The same Idempotency-Key for another request.
	fails(t, c.do("POST", "", c.admin, "create-ci-1", map[string]any{"name": "other"}), 409, "STATE_NOT_READY", "different request")
	fails(t, c.do("DELETE", "/"+k.ID, c.admin, "create-ci-1", nil), 409, "STATE_NOT_READY", "different request")
	if names := c.names(c.admin); !slices.Equal(names, []string{"main-key", "ci"}) {
		t.Fatalf("keys after refused reuses = %v", names)
	}
	// Another calling key has its own Idempotency-Keys.
	second := c.create(c.admin, map[string]any{"name": "second"})
	var other issued
	isCreated(t, c.do("POST", "", second.Key, "create-ci-1", body), &other)
	if other.ID == k.ID {
		t.Fatal("another caller got the first caller's answer")
	}

	// Rotate once, however many retries.
	var rot, rot2 issued
	ok(t, c.do("POST", "/"+k.ID+"/rotate", c.admin, "rotate-1", nil), &rot)
	r := c.do("POST", "/"+k.ID+"/rotate", c.admin, "rotate-1", nil)
	ok(t, r, &rot2)
	if r.Header.Get("Idempotency-Replayed") != "true" || rot2.Key != rot.Key || !c.works(rot.Key) {
		t.Fatalf("replayed rotate = %+v (new key works: %v)", rot2, c.works(rot.Key))
	}
	// A revoke's retry answers as the first did, not 404.
	ok(t, c.do("DELETE", "/"+k.ID, c.admin, "revoke-1", nil), nil)
	r = c.do("DELETE", "/"+k.ID, c.admin, "revoke-1", nil)
	if r.Status != 200 || r.Header.Get("Idempotency-Replayed") != "true" {
		t.Fatalf("replayed revoke = %d %v %s", r.Status, r.Header, r.Body)
	}
	// Errors are kept too (the request is the same, so is its answer).
	fails(t, c.do("DELETE", "/"+k.ID, c.admin, "revoke-2", nil), 404, "NOT_FOUND")
	r = c.do("DELETE", "/"+k.ID, c.admin, "revoke-2", nil)
	if r.Status != 404 || r.Header.Get("Idempotency-Replayed") != "true" {
		t.Fatalf("replayed 404 = %d %v", r.Status, r.Header)
	}

	// Bad Idempotency-Keys: nothing runs.
	before := c.names(c.admin)
	fails(t, c.do("POST", "", c.admin, strings.Repeat("k", library.MaxIdempotencyKey+1), body), 400, "INVALID_ARGUMENT", "Idempotency-Key")
	h := http.Header{"Idempotency-Key": {"a", "b"}}
	fails(t, c.env.DoWith(t, "POST", memorylake.AdminPrefix+"/api-keys", c.admin, h, body), 400, "INVALID_ARGUMENT", "Idempotency-Key")
	if after := c.names(c.admin); !slices.Equal(before, after) {
		t.Fatalf("keys after refused Idempotency-Keys = %v, want %v", after, before)
	}
}

// TestAPIKeysIdempotentRace sends one create with one Idempotency-Key
// many times at once: one key is made, and every answer is that create's
// (or "in progress").
func TestAPIKeysIdempotentRace(t *testing.T) {
	c := newKC(t, library.Config{})
	const n = 12
	var wg sync.WaitGroup
	answers := make([]*shelftest.Response, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			answers[i] = c.do("POST", "", c.admin, "race", map[string]any{"name": "raced"})
		}()
	}
	close(start)
	wg.Wait()
	keys := map[string]bool{}
	for _, r := range answers {
		switch r.Status {
		case 201:
			var k issued
			isCreated(t, r, &k)
			keys[k.Key] = true
		case 409:
			fails(t, r, 409, "STATE_NOT_READY", "still being processed")
		default:
			t.Fatalf("racing create = %d %s", r.Status, r.Body)
		}
	}
	if len(keys) != 1 {
		t.Fatalf("racing creates answered %d different keys", len(keys))
	}
	if names := c.names(c.admin); !slices.Equal(names, []string{"main-key", "raced"}) {
		t.Fatalf("keys after the race = %v", names)
	}
}

// checkNoSecretOnDisk fails t if any file under dir holds secret.
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
			t.Errorf("%s holds a key's secret in plaintext", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
