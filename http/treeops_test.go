package http_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/http/memoryinc"
	"github.com/shelfmem/shelf/internal/shelftest"
	"github.com/shelfmem/shelf/library"
)

// pauser is a Config.Hook that stops the first time a point is reached
// until released.
type pauser struct {
	point   string
	once    sync.Once
	reached chan struct{}
	release chan struct{}
}

func newPauser(point string) *pauser {
	return &pauser{point: point, reached: make(chan struct{}), release: make(chan struct{})}
}

func (p *pauser) hook(point string) {
	if point != p.point {
		return
	}
	first := false
	p.once.Do(func() { first = true })
	if first {
		close(p.reached)
		// A test that fails before it releases the point must not hang
		// the server's shutdown: the point lets go on its own in time.
		select {
		case <-p.release:
		case <-time.After(2 * time.Minute):
		}
	}
}

func (p *pauser) wait(t *testing.T) {
	t.Helper()
	select {
	case <-p.reached:
	case <-time.After(30 * time.Second):
		t.Fatalf("the hook %q was never reached: the request did not work in batches", p.point)
	}
}

// keyOf makes a key of the default workspace and returns its token.
func keyOf(t *testing.T, e *shelftest.Env, name string, scopes ...shelf.Scope) string {
	t.Helper()
	ws := shelf.PrincipalFrom(e.Context(t)).WorkspaceID
	_, token, err := e.Service.CreateKey(e.Context(t), ws, name, scopes)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// otherWorkspaceKey makes a workspace and a write key of it.
func otherWorkspaceKey(t *testing.T, e *shelftest.Env) string {
	t.Helper()
	ws, err := e.Service.CreateWorkspace(e.Context(t), "other")
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := e.Service.CreateKey(e.Context(t), ws.ID, "w", []shelf.Scope{shelf.ScopeWrite})
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func ingestAt(t *testing.T, e *shelftest.Env, key, path, scope string) string {
	t.Helper()
	r := e.Do(t, "POST", memoryinc.IngestPath, key, map[string]any{"path": path, "content": "content of " + path, "scope": scope})
	var out struct {
		ItemID string `json:"source_item_id"`
	}
	r.JSON(t, &out)
	if r.Status != 200 || out.ItemID == "" {
		t.Fatalf("ingest %s: %d %s", path, r.Status, r.Body)
	}
	return out.ItemID
}

func itemOf(t *testing.T, e *shelftest.Env, key, id string) (int, map[string]any) {
	t.Helper()
	r := e.Do(t, "GET", "/v1/items/"+id, key, nil)
	var it map[string]any
	if r.Status == 200 {
		r.JSON(t, &it)
	}
	return r.Status, it
}

// Issue 16, point 4: the workspace's admin deleting a folder takes only
// what it may see. Another key's private files stay where they are, with
// the folders that hold them; the count is the admin's items only; and a
// folder that holds them is not moved (409). In one transaction and in
// batches of one row.
func TestRecursiveDeleteTakesOnlyWhatTheCallerSees(t *testing.T) {
	for _, rows := range []int{0, 1} {
		t.Run(fmt.Sprintf("BulkRows=%d", rows), func(t *testing.T) {
			e := shelftest.New(t, library.Config{BulkRows: rows})
			admin, bob := keyOf(t, e, "admin", shelf.ScopeAdmin), keyOf(t, e, "bob", shelf.ScopeWrite)
			theirs := ingestAt(t, e, bob, "team/a/bob.md", "private")
			mine := []string{ingestAt(t, e, admin, "team/a/shared.md", "workspace"), ingestAt(t, e, admin, "team/c.md", "workspace")}
			_, it := itemOf(t, e, admin, mine[0])
			teamA := it["parent_id"].(string)
			_, it = itemOf(t, e, admin, teamA)
			team := it["parent_id"].(string)
			_, it = itemOf(t, e, admin, team)
			root := it["parent_id"].(string)

			// Moving a folder that holds bob's file would carry it along.
			if r := e.Do(t, "PATCH", "/v1/items/"+teamA, admin, map[string]any{"parent_id": root}); r.Status != http.StatusConflict {
				t.Fatalf("moving a folder holding another key's file: %d %s, want 409", r.Status, r.Body)
			}
			if r := e.Do(t, "PATCH", "/v1/items/"+team, admin, map[string]any{"name": "renamed"}); r.Status != http.StatusConflict {
				t.Fatalf("renaming a folder holding another key's file: %d %s, want 409", r.Status, r.Body)
			}

			r := e.Do(t, "DELETE", "/v1/items/"+team, admin, nil)
			var out struct {
				Deleted int `json:"deleted"`
			}
			r.JSON(t, &out)
			if r.Status != 200 || out.Deleted != 2 {
				t.Fatalf("DELETE team: %d %s, want 200 and 2 deleted (the admin's two files)", r.Status, r.Body)
			}
			for _, id := range mine {
				if st, _ := itemOf(t, e, admin, id); st != 404 {
					t.Fatalf("the admin's file %s: %d after the delete", id, st)
				}
			}
			st, got := itemOf(t, e, bob, theirs)
			if st != 200 || got["path"] != "team/a/bob.md" {
				t.Fatalf("bob's private file after the admin's delete: %d %v", st, got)
			}
			for _, id := range []string{team, teamA} {
				if st, _ := itemOf(t, e, admin, id); st != 200 {
					t.Fatalf("a folder holding bob's file: %d after the delete", st)
				}
			}
		})
	}
}

// Issue 16, point 2: a request that writes many rows does not hold the
// writer. A recursive delete of a folder of 200 files works in batches of
// 5 rows; stopped between two of them, another workspace's write goes
// through at once, and the folder is partly deleted.
func TestRecursiveDeleteLetsOtherWritesIn(t *testing.T) {
	p := newPauser("tree-op-batch")
	e := shelftest.New(t, library.Config{BulkRows: 5, Hook: p.hook, Index: library.IndexConfig{Workers: -1}})
	for i := range 200 {
		if r := e.Do(t, "PUT", fmt.Sprintf("/v1/files/big/d%d/f%03d.txt", i%4, i), master, strings.NewReader("x")); r.Status != 201 {
			t.Fatalf("PUT: %d %s", r.Status, r.Body)
		}
	}
	var kids struct {
		Items []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"items"`
	}
	e.Do(t, "GET", "/v1/items/root/children", master, nil).JSON(t, &kids)
	big := kids.Items[0].ID
	done := make(chan *shelftest.Response, 1)
	go func() { done <- e.Do(t, "DELETE", "/v1/items/"+big, master, nil) }()
	p.wait(t)

	other := otherWorkspaceKey(t, e)
	start := time.Now()
	if r := e.Do(t, "PUT", "/v1/files/notes.txt", other, strings.NewReader("a one-line write")); r.Status != 201 {
		t.Fatalf("another workspace's PUT during the delete: %d %s", r.Status, r.Body)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("another workspace's PUT waited %v", took)
	}
	select {
	case r := <-done:
		t.Fatalf("the delete answered (%d) while stopped between batches", r.Status)
	default:
	}
	// The first batch took the greatest paths: five files of big/d3.
	var dirs, d3 struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	e.Do(t, "GET", "/v1/items/"+big+"/children?limit=10", master, nil).JSON(t, &dirs)
	if len(dirs.Items) != 4 {
		t.Fatalf("big holds %d folders between two batches, want 4", len(dirs.Items))
	}
	e.Do(t, "GET", "/v1/items/"+dirs.Items[3].ID+"/children?limit=100", master, nil).JSON(t, &d3)
	if len(d3.Items) != 45 {
		t.Fatalf("big/d3 holds %d files after the first batch, want 45", len(d3.Items))
	}
	close(p.release)
	r := <-done
	var out struct {
		Deleted int `json:"deleted"`
	}
	r.JSON(t, &out)
	if r.Status != 200 || out.Deleted != 205 {
		t.Fatalf("DELETE: %d %s, want 205 deleted", r.Status, r.Body)
	}
	if st, _ := itemOf(t, e, master, big); st != 404 {
		t.Fatalf("the folder after the delete: %d", st)
	}
}

// Issue 16, point 2, for the Informer bulk patch: a JSON Patch over 60
// files is written in batches; stopped after the first, another
// workspace's write goes through and some files are patched already; in
// the end all are.
func TestBulkPatchLetsOtherWritesIn(t *testing.T) {
	p := newPauser("bulk-batch")
	e := shelftest.New(t, library.Config{BulkRows: 10, Hook: p.hook, Index: library.IndexConfig{Workers: -1}})
	if r := e.Do(t, "POST", "/api/libraries", master, map[string]any{"name": "Docs", "slug": "docs"}); r.Status != 201 {
		t.Fatalf("create library: %d %s", r.Status, r.Body)
	}
	for i := range 60 {
		if r := e.Do(t, "PUT", fmt.Sprintf("/api/libraries/docs/contents/d/f%02d.md", i), master, strings.NewReader("x")); r.Status != 201 {
			t.Fatalf("PUT: %d %s", r.Status, r.Body)
		}
	}
	done := make(chan *shelftest.Response, 1)
	go func() {
		done <- e.Do(t, "PATCH", "/api/libraries/docs/files", master, []map[string]any{
			{"op": "replace", "path": "/**/*.md/modifiedAt", "value": "2024-02-09T12:00:00.000Z"}})
	}()
	p.wait(t)
	other := otherWorkspaceKey(t, e)
	if r := e.Do(t, "PUT", "/v1/files/notes.txt", other, strings.NewReader("a one-line write")); r.Status != 201 {
		t.Fatalf("another workspace's PUT during the patch: %d %s", r.Status, r.Body)
	}
	patched := func() int {
		var files []struct {
			ModifiedAt string `json:"modifiedAt"`
		}
		e.Do(t, "GET", "/api/libraries/docs/files?dir=/d&end=100", master, nil).JSON(t, &files)
		n := 0
		for _, f := range files {
			if f.ModifiedAt == "2024-02-09T12:00:00.000Z" {
				n++
			}
		}
		return n
	}
	if n := patched(); n == 0 || n == 60 {
		t.Fatalf("%d files patched between two batches, want some", n)
	}
	close(p.release)
	r := <-done
	if r.Status != 200 || !strings.Contains(string(r.Body), `"updated":60`) {
		t.Fatalf("PATCH: %d %s", r.Status, r.Body)
	}
	if n := patched(); n != 60 {
		t.Fatalf("%d files patched, want 60", n)
	}
}
