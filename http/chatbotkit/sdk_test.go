package chatbotkit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/internal/shelftest"
	"github.com/shelfmem/shelf/library"
)

// requireClients makes a missing client runtime a failure rather than a
// skip; CI sets it (.ci/run), so the SDK test always runs there.
func requireClients() bool { return os.Getenv("SHELF_REQUIRE_CLIENTS") != "" }

// sdkDir returns the SDK test's directory with its npm packages
// installed (npm ci from the lock file when they are missing).
func sdkDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "sdk"))
	if err != nil {
		t.Fatal(err)
	}
	skip := t.Skipf
	if requireClients() {
		skip = t.Fatalf
	}
	if _, err := exec.LookPath("node"); err != nil {
		skip("node is not on PATH")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@chatbotkit", "sdk", "package.json")); err != nil {
		npm, err := exec.LookPath("npm")
		if err != nil {
			skip("npm is not on PATH to install @chatbotkit/sdk")
		}
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			skip("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	return dir
}

// TestSDK drives the official @chatbotkit/sdk, pinned in
// testdata/sdk/package-lock.json, through every space and storage call it
// has (testdata/sdk/sdk.mjs checks the answers, bytes and listings).
func TestSDK(t *testing.T) {
	dir := sdkDir(t)
	e := shelftest.New(t, library.Config{})
	_, key := e.Workspace(t, "sdk", shelf.ScopeWrite)
	_, otherKey := e.Workspace(t, "other", shelf.ScopeWrite)
	foreign := createSpace(t, e, otherKey, map[string]any{"name": "not yours"})

	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<h1>fetched</h1>"))
	}))
	defer files.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "sdk.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SHELF_URL="+e.URL, "SHELF_KEY="+key,
		"FILE_URL="+files.URL+"/page.html", "FOREIGN_SPACE="+foreign)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node sdk.mjs: %v\n%s", err, out)
	}
	if string(out) != "ok\n" {
		t.Fatalf("node sdk.mjs printed %q, want ok", out)
	}
}
