package informer_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	shelf "github.com/shelfmem/shelf"
)

// A bulk patch over 100,000 files reads the tree in pages (to check it,
// then to write it in batches): the server's heap grows by far less than
// the files' rows would take held at once.
func TestBulkPatch100k(t *testing.T) {
	const n = 100_000
	c := newClient(t)
	var my lib
	c.do("POST", "/api/libraries", map[string]any{"name": "Big", "slug": "big"}, http.StatusCreated, &my)
	var l *shelf.Library
	ctx := context.Background()
	start := time.Now()
	err := c.e.Store.Update(ctx, func(tx shelf.Tx) error {
		var err error
		if l, err = tx.Library(ctx, my.OwnerID, my.ID); err != nil {
			return err
		}
		now := time.Now().UTC()
		dirs := make([]*shelf.Item, 100)
		for i := range dirs {
			dirs[i] = &shelf.Item{ID: uuid.NewString(), WorkspaceID: l.WorkspaceID, LibraryID: l.ID, ParentID: l.RootID,
				Type: shelf.TypeFolder, Name: fmt.Sprintf("dir%03d", i), Path: fmt.Sprintf("dir%03d", i),
				Scope: shelf.VisibleWorkspace, XAttrs: map[string]string{}, CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateItem(ctx, dirs[i]); err != nil {
				return err
			}
		}
		for i := range n {
			d := dirs[i%len(dirs)]
			name := fmt.Sprintf("file%06d.md", i)
			it := &shelf.Item{ID: uuid.NewString(), WorkspaceID: l.WorkspaceID, LibraryID: l.ID, ParentID: d.ID,
				Type: shelf.TypeFile, Name: name, Path: d.Path + "/" + name, Scope: shelf.VisibleWorkspace,
				XAttrs: map[string]string{}, Head: 1, Size: 1, Hash: "h", ContentType: "text/markdown", CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateItem(ctx, it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("made %d files in %v", n, time.Since(start))
	start = time.Now()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
		}
	}()
	var out map[string]any
	c.do("PATCH", "/api/libraries/big/files", []map[string]any{
		{"op": "replace", "path": "/**/*.md/modifiedAt", "value": "2024-02-09T12:00:00Z"},
		{"op": "replace", "path": "/dir00*/*.md/remoteUrl", "value": "https://example.com/"},
	}, http.StatusOK, &out)
	close(done)
	t.Logf("patched in %v", time.Since(start))
	if out["updated"] != float64(n+n/10) {
		t.Fatalf("updated = %v, want %d", out["updated"], n+n/10)
	}
	grew := int64(peak.Load()) - int64(base.HeapAlloc)
	t.Logf("heap grew by %.1f MiB at most during the patch", float64(grew)/(1<<20))
	// 100,000 items held at once take well over 100 MiB as Go values.
	if grew > 48<<20 {
		t.Fatalf("the heap grew by %.1f MiB during a bulk patch: not bounded", float64(grew)/(1<<20))
	}
	var hal struct {
		Embedded struct {
			Files []file `json:"inf:file"`
		} `json:"_embedded"`
		Total int
	}
	c.do("GET", "/api/libraries/big/files-list?start=99999&limit=2", nil, http.StatusOK, &hal)
	if hal.Total != n+100 || len(hal.Embedded.Files) != 2 || hal.Embedded.Files[0].ModifiedAt != "2024-02-09T12:00:00.000Z" {
		t.Fatalf("after the patch: %+v", hal)
	}
}
