package library_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/index/extract"
	"github.com/shelfmem/shelf/library"
)

// processDeath is panicked through IndexOnce to stand for the process
// dying in the middle of a batch: nothing after the claim is written.
type processDeath struct{}

// indexOnceOrDie runs IndexOnce and reports whether the "process" died.
func (e *env) indexOnceOrDie(t *testing.T) (died bool) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(processDeath); !ok {
				panic(p)
			}
			died = true
		}
	}()
	if _, err := e.svc.IndexOnce(context.Background()); err != nil {
		t.Fatalf("IndexOnce: %v", err)
	}
	return false
}

// A file whose reading kills the process is claimed again after each
// death, counting an attempt each time; once past MaxAttempts it fails
// for good with a reason, and the files that shared its batch are not
// charged for its deaths.
func TestIndexStoppedFileFails(t *testing.T) {
	const lease = time.Minute
	e := newEnv(t, library.Config{
		Hook: func(point string) {
			if point == "index-extracting:bomb.txt" {
				panic(processDeath{})
			}
		},
		Index: library.IndexConfig{MaxAttempts: 2, Lease: lease},
	})
	good1 := e.write(t, e.ctx, fileWrite("good1.txt", "first good file")).Item
	bomb := e.write(t, e.ctx, fileWrite("bomb.txt", "kills the indexer")).Item
	good2 := e.write(t, e.ctx, fileWrite("good2.txt", "second good file")).Item

	// The three are claimed in one batch; the process dies on the bomb.
	deaths := 0
	for round := 0; round < 20; round++ {
		if e.indexOnceOrDie(t) {
			deaths++
			e.clock.Add(lease + time.Second) // the next start finds its lease ended
			continue
		}
		if st := e.item(t, bomb.ID).Index.State; st == shelf.IndexFailed {
			break
		}
		e.clock.Add(lease + time.Second)
	}
	b := e.item(t, bomb.ID)
	wantState(t, b, shelf.IndexFailed)
	if !strings.Contains(b.Index.Error, "the indexer stopped while reading this file 2 times") {
		t.Fatalf("bomb's error = %q", b.Index.Error)
	}
	if deaths != 2 {
		t.Fatalf("the process died %d times, want 2 (MaxAttempts)", deaths)
	}
	for _, it := range []*shelf.Item{good1, good2} {
		wantState(t, e.item(t, it.ID), shelf.IndexIndexed)
	}
	if got := e.search(t, e.ctx, library.SearchQuery{Query: "good"}); len(got) != 2 {
		t.Fatalf("search good = %v", got)
	}
	// No job is left, and a new version starts afresh.
	if n, err := e.svc.IndexOnce(context.Background()); err != nil || n != 0 {
		t.Fatalf("IndexOnce after = %d, %v", n, err)
	}
	e.write(t, e.ctx, fileWrite("bomb.txt", "a new version"))
	if st := e.item(t, bomb.ID).Index.State; st != shelf.IndexQueued {
		t.Fatalf("new version: state %q", st)
	}
}

// countingExtractor reads a file as one paragraph and counts its calls.
type countingExtractor struct{ calls int }

func (c *countingExtractor) Extract(ctx context.Context, open func() (io.ReadCloser, error), size int64, contentType, name string,
	lim extract.Limits) (*extract.Doc, error) {
	c.calls++
	rc, err := open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return &extract.Doc{Text: string(b), Blocks: []extract.Block{{Kind: extract.Paragraph, Text: string(b), End: len(b)}}}, nil
}

// The configured Extractor reads the files.
func TestIndexUsesExtractor(t *testing.T) {
	ex := &countingExtractor{}
	e := newEnv(t, library.Config{Index: library.IndexConfig{Extractor: ex}})
	e.write(t, e.ctx, fileWrite("a.txt", "through the extractor"))
	e.drain(t)
	if ex.calls != 1 {
		t.Fatalf("extractor called %d times", ex.calls)
	}
	if got := e.search(t, e.ctx, library.SearchQuery{Query: "extractor"}); len(got) != 1 {
		t.Fatalf("search = %v", got)
	}
}
