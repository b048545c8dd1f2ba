package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errb)
	return out.String() + errb.String(), err
}

func TestKeysCommands(t *testing.T) {
	dir := t.TempDir()
	out, err := runCLI(t, nil, "workspaces", "create", "--data", dir, "acme")
	if err != nil {
		t.Fatalf("workspaces create: %v\n%s", err, out)
	}
	ws := regexp.MustCompile(`id:\s+(\S+)`).FindStringSubmatch(out)[1]
	out, err = runCLI(t, nil, "keys", "create", "--data", dir, "--workspace", ws, "--name", "ci", "--scopes", "read,write")
	if err != nil {
		t.Fatalf("keys create: %v\n%s", err, out)
	}
	id := regexp.MustCompile(`id:\s+(\S+)`).FindStringSubmatch(out)[1]
	key := regexp.MustCompile(`key:\s+(shelf_\S+)`).FindStringSubmatch(out)[1]
	if !strings.Contains(out, "workspace: "+ws) || !strings.Contains(out, "scopes:    read,write") {
		t.Fatalf("keys create printed:\n%s", out)
	}
	out, err = runCLI(t, nil, "keys", "list", "--data", dir, "--workspace", ws)
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "ci") || strings.Contains(out, key) {
		t.Fatalf("keys list: %v\n%s", err, out)
	}
	// The key works against a server on the same data, until revoked.
	srv := startShelf(t, dir, "")
	get := func() int {
		req, _ := http.NewRequest("GET", srv.url+"/v1/items/root", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := get(); st != 200 {
		t.Fatalf("new key = %d", st)
	}
	// Rotated: the old key stops, the new one works.
	out, err = runCLI(t, nil, "keys", "rotate", "--data", dir, "--workspace", ws, id)
	if err != nil {
		t.Fatalf("keys rotate: %v\n%s", err, out)
	}
	old := key
	key = regexp.MustCompile(`key:\s+(shelf_\S+)`).FindStringSubmatch(out)[1]
	if key == old || !strings.Contains(out, "id:        "+id) {
		t.Fatalf("keys rotate printed:\n%s", out)
	}
	if st := get(); st != 200 {
		t.Fatalf("rotated key = %d", st)
	}
	key, old = old, key
	if st := get(); st != 401 {
		t.Fatalf("the key before rotation = %d, want 401", st)
	}
	key = old
	if out, err := runCLI(t, nil, "keys", "revoke", "--data", dir, id); err != nil {
		t.Fatalf("keys revoke: %v\n%s", err, out)
	}
	if st := get(); st != 401 {
		t.Fatalf("revoked key = %d, want 401", st)
	}
	// Expiry: in the past is refused; a key made to expire lists when.
	if out, err := runCLI(t, nil, "keys", "create", "--data", dir, "--workspace", ws, "--name", "late", "--expires-at", "2001-01-01T00:00:00Z"); err == nil {
		t.Fatalf("a key expiring in the past was made:\n%s", out)
	}
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	if out, err := runCLI(t, nil, "keys", "create", "--data", dir, "--workspace", ws, "--name", "soon", "--expires-at", exp); err != nil {
		t.Fatalf("keys create --expires-at: %v\n%s", err, out)
	}
	if out, err := runCLI(t, nil, "keys", "list", "--data", dir, "--workspace", ws); err != nil || !strings.Contains(out, exp) || strings.Contains(out, "late") {
		t.Fatalf("keys list: %v\n%s", err, out)
	}
	if _, err := runCLI(t, nil, "keys", "revoke", "--data", dir, id); err == nil {
		t.Fatal("revoking twice succeeded")
	}
	if _, err := runCLI(t, nil, "keys", "create", "--data", dir, "--name", "x", "--scopes", "root"); err == nil {
		t.Fatal("a bad scope was accepted")
	}
}

func TestServeGeneratesMasterKeyOnce(t *testing.T) {
	dir := t.TempDir()
	serveOnce := func() string {
		ctx, cancel := context.WithCancel(context.Background())
		pr, pw := io.Pipe()
		var errb bytes.Buffer
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", dir}, func(string) string { return "" }, pw, &errb)
			pw.Close()
		}()
		line := make([]byte, 256)
		n, _ := pr.Read(line)
		if !strings.HasPrefix(string(line[:n]), "listening on http://") {
			t.Fatalf("serve printed %q", line[:n])
		}
		go io.Copy(io.Discard, pr)
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("serve did not stop")
		}
		return errb.String()
	}
	first := serveOnce()
	m := regexp.MustCompile(`shelf_master_[0-9a-f]{64}`).FindString(first)
	if m == "" {
		t.Fatalf("first start printed no master key:\n%s", first)
	}
	if second := serveOnce(); strings.Contains(second, "shelf_master_") {
		t.Fatalf("second start printed a key again:\n%s", second)
	}
}

// TestServeRefusesShortMasterKey: a SHELF_MASTER_KEY shorter than 32
// characters stops serve before it listens, saying why.
func TestServeRefusesShortMasterKey(t *testing.T) {
	dir := t.TempDir()
	for _, key := range []string{"x", "hunter2", strings.Repeat("k", 31), strings.Repeat("é", 31)} {
		out, err := runCLI(t, map[string]string{"SHELF_MASTER_KEY": key}, "serve", "--addr", "127.0.0.1:0", "--data", dir)
		if err == nil || !strings.Contains(err.Error(), "SHELF_MASTER_KEY") || !strings.Contains(err.Error(), "at least 32") {
			t.Fatalf("a %d-character master key: err = %v", len([]rune(key)), err)
		}
		if strings.Contains(out, "listening on") {
			t.Fatalf("serve listened with a short master key:\n%s", out)
		}
	}
	// crashMaster (38 characters) is what the other serve tests run with.
	srv := startShelf(t, dir, "")
	req, _ := http.NewRequest("GET", srv.url+"/v1/items/root", nil)
	req.Header.Set("Authorization", "Bearer "+crashMaster)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("a long enough master key: GET = %d", resp.StatusCode)
	}
}

// TestServeEdgeFlags: --rate-limit and --rate-burst limit every key but
// those given their own limit (keys limit), and --max-connections answers
// a connection over the cap 503 at once.
func TestServeEdgeFlags(t *testing.T) {
	dir := t.TempDir()
	out, err := runCLI(t, nil, "keys", "create", "--data", dir, "--name", "app", "--scopes", "read")
	if err != nil {
		t.Fatalf("keys create: %v\n%s", err, out)
	}
	key := regexp.MustCompile(`key:\s+(shelf_\S+)`).FindStringSubmatch(out)[1]
	out, err = runCLI(t, nil, "keys", "create", "--data", dir, "--name", "batch", "--scopes", "read", "--rate-limit", "5")
	if err != nil {
		t.Fatalf("keys create --rate-limit: %v\n%s", err, out)
	}
	batchID := regexp.MustCompile(`id:\s+(\S+)`).FindStringSubmatch(out)[1]
	batch := regexp.MustCompile(`key:\s+(shelf_\S+)`).FindStringSubmatch(out)[1]
	if out, err := runCLI(t, nil, "keys", "limit", "--data", dir, "--rate-limit", "0", batchID); err != nil || !strings.Contains(out, "rate limit: none") {
		t.Fatalf("keys limit: %v\n%s", err, out)
	}
	if out, err := runCLI(t, nil, "keys", "list", "--data", dir); err != nil || !strings.Contains(out, "server's") || !strings.Contains(out, "none") {
		t.Fatalf("keys list: %v\n%s", err, out)
	}
	if _, err := runCLI(t, nil, "keys", "limit", "--data", dir, "--rate-limit", "fast", batchID); err == nil {
		t.Fatal("keys limit took --rate-limit fast")
	}
	srv := startShelfArgs(t, dir, "", "--rate-limit", "1", "--rate-burst", "2", "--max-connections", "3")
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(key string) *http.Response {
		req, _ := http.NewRequest("GET", srv.url+"/v1/libraries/default", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := 0; i < 2; i++ {
		if r := get(key); r.StatusCode != 200 || r.Header.Get("X-RateLimit-Limit") != "2" {
			t.Fatalf("request %d: %d %v", i+1, r.StatusCode, r.Header)
		}
	}
	if r := get(key); r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("third request: %d %v", r.StatusCode, r.Header)
	}
	for i := 0; i < 5; i++ {
		if r := get(batch); r.StatusCode != 200 || r.Header.Get("X-RateLimit-Limit") != "" {
			t.Fatalf("exempt key, request %d: %d %v", i+1, r.StatusCode, r.Header)
		}
	}
	// Three idle connections fill the cap.
	addr := strings.TrimPrefix(srv.url, "http://")
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
	start := time.Now()
	if r := get(batch); r.StatusCode != 503 || r.Header.Get("Retry-After") != "1" || time.Since(start) > 2*time.Second {
		t.Fatalf("over the connection cap: %d %v after %v", r.StatusCode, r.Header, time.Since(start))
	}
}

func TestFsckCleanDataDir(t *testing.T) {
	out, err := runCLI(t, nil, "fsck", "--data", t.TempDir(), "--deep")
	if err != nil || !strings.Contains(out, "no problems") {
		t.Fatalf("fsck: %v\n%s", err, out)
	}
}

func TestUnknownCommand(t *testing.T) {
	if _, err := runCLI(t, nil, "frobnicate"); err == nil {
		t.Fatal("unknown command accepted")
	}
	if _, err := runCLI(t, nil); err == nil {
		t.Fatal("no command accepted")
	}
}
