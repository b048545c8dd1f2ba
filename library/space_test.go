package library_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/internal/shelftest"
	"github.com/shelfmem/shelf/library"
)

// bigText is content too large to be kept inline: it goes to the blob
// store.
func bigText(word string) string { return strings.Repeat(word+" ", 20<<10/(len(word)+1)) }

// While the disk is short, garbage collection reclaims the blobs of
// deleted files at once, without the 24 h grace, but never the blob of a
// write whose transaction has not committed yet: that is what the grace
// was for. Data is lost if this breaks, so it is tested in the core.
func TestPromptGCSparesWritesInFlight(t *testing.T) {
	disk := &shelftest.Disk{}
	space := shelftest.NewSpace(disk, 1<<20, 0) // short from the start
	e := newEnvWith(t, library.Config{Space: space, SpaceLow: 1 << 20}, disk.Wrap)
	ctx := context.Background()
	gone := e.write(t, e.ctx, fileWrite("gone.txt", bigText("gone"))) // written before the disk was seen short
	kept := e.write(t, e.ctx, fileWrite("kept.txt", bigText("kept")))
	if err := e.svc.CheckSpace(ctx); err != nil {
		t.Fatal(err)
	}
	if !e.svc.SpaceShort() {
		t.Fatal("the disk is not short with no free space")
	}
	if _, err := e.svc.Delete(e.ctx, gone.Item.ID); err != nil {
		t.Fatalf("delete on a short disk: %v", err)
	}
	// Both blobs were written a minute ago: well inside the 24 h grace.
	for _, h := range []string{gone.Version.Hash, kept.Version.Hash} {
		old := time.Now().Add(-time.Minute)
		if err := os.Chtimes(filepath.Join(e.dir, "blobs", "sha256", h[:2], h[2:4], h), old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.svc.CheckSpace(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.blobs.Stat(ctx, gone.Version.Hash); shelf.ErrorCode(err) != shelf.ENOTFOUND {
		t.Fatalf("the deleted file's blob after a check of a short disk: %v; want it reclaimed at once", err)
	}
	if _, err := e.blobs.Stat(ctx, kept.Version.Hash); err != nil {
		t.Fatalf("a referenced blob was reclaimed: %v", err)
	}

	// A write whose blob is stored but whose transaction has not run.
	space.SetFree(1 << 40)
	if err := e.svc.CheckSpace(ctx); err != nil || e.svc.SpaceShort() {
		t.Fatalf("CheckSpace with room = %v, short %v", err, e.svc.SpaceShort())
	}
	stored, release := make(chan shelf.BlobRef, 1), make(chan struct{})
	disk.AfterPut = func(ref shelf.BlobRef) { stored <- ref; <-release }
	done := make(chan error, 1)
	go func() {
		_, err := e.svc.WriteFile(e.ctx, fileWrite("inflight.txt", bigText("inflight")))
		done <- err
	}()
	ref := <-stored
	space.SetFree(0)
	e.clock.Add(time.Hour) // a cutoff of "now" would take the blob
	if err := e.svc.CheckSpace(ctx); err != nil || !e.svc.SpaceShort() {
		t.Fatalf("CheckSpace = %v, short %v", err, e.svc.SpaceShort())
	}
	if _, err := e.blobs.Stat(ctx, ref.Hash); err != nil {
		t.Fatalf("the blob of a write in flight was reclaimed: %v", err)
	}
	disk.AfterPut = nil
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Hour)
	if err := e.svc.CheckSpace(ctx); err != nil {
		t.Fatal(err)
	}
	it, err := e.svc.ItemAt(e.ctx, "", "inflight.txt")
	if err != nil {
		t.Fatal(err)
	}
	_, v, err := e.svc.Content(e.ctx, it.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := e.svc.Read(e.ctx, v, 0, -1)
	if err != nil {
		t.Fatalf("the file written while GC ran: %v", err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != bigText("inflight") {
		t.Fatalf("the file written while GC ran reads %d bytes", len(got))
	}
	e.fsckClean(t)
}

// lockedBuffer is a log sink for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// With the disk full, the index workers wait and say so once per wait,
// instead of trying (and logging) every poll; once space is back, the file
// is indexed.
func TestIndexerBacksOffWhenFull(t *testing.T) {
	disk := &shelftest.Disk{}
	space := shelftest.NewSpace(nil, 0, 1<<40) // no reserve: the store stays full until the test says
	var logs lockedBuffer
	cfg := library.Config{Space: space, SpaceLow: 1 << 20, SpaceCheck: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Index:  library.IndexConfig{Workers: 2, Poll: 5 * time.Millisecond, IdleGap: -1}}
	e := newEnvWith(t, cfg, disk.Wrap)
	it := e.write(t, e.ctx, fileWrite("a.txt", "patient words")).Item
	disk.StoreFull.Store(true)
	space.SetFree(0)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { e.svc.RunIndexer(ctx) })
	wg.Go(func() { e.svc.WatchSpace(ctx) })
	defer func() { cancel(); wg.Wait() }()
	time.Sleep(1500 * time.Millisecond)
	lines := 0
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
			lines++
		}
	}
	// Before: each worker logged every poll, hundreds of lines.
	if lines == 0 || lines > 4 {
		t.Fatalf("%d warnings and errors in 1.5 s of a full disk, want a few:\n%s", lines, logs.String())
	}
	wantState(t, e.item(t, it.ID), shelf.IndexQueued)
	disk.StoreFull.Store(false)
	space.SetFree(1 << 40)
	deadline := time.Now().Add(15 * time.Second)
	for e.item(t, it.ID).Index.State != shelf.IndexIndexed {
		if time.Now().After(deadline) {
			t.Fatalf("not indexed once space was back: %+v\n%s", e.item(t, it.ID).Index, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
