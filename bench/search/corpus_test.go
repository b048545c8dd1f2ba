package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/shelfmem/shelf/index/chunk"
	"github.com/shelfmem/shelf/index/extract"
)

func TestCorpusDeterministic(t *testing.T) {
	a, b := NewCorpus(5000, 1.1, 2), NewCorpus(5000, 1.1, 2)
	if !bytes.Equal(a.Text(7, 9000), b.Text(7, 9000)) || bytes.Equal(a.Text(7, 9000), a.Text(8, 9000)) {
		t.Fatal("texts are not a function of the document number")
	}
	if qa, qb := a.Queries(20, 1), b.Queries(20, 1); qa[3] != qb[3] {
		t.Fatal("queries are not deterministic")
	}
}

// TestChunksPerFile reports how many chunks Shelf's defaults make of a
// generated file; the benchmark's -chunks-per-file relies on it.
func TestChunksPerFile(t *testing.T) {
	b := &bench{corpus: NewCorpus(50000, 1.1, 2), chunksPerFile: 10}
	total := 0
	const files = 50
	for i := range files {
		txt := b.corpus.Text(i, b.fileSize())
		doc, err := extract.Extract(context.Background(), bytes.NewReader(txt), int64(len(txt)), "text/plain", "a.txt", extract.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		total += len(chunk.Split(doc, chunk.DefaultOptions()))
	}
	got := float64(total) / files
	t.Logf("%.2f chunks per file", got)
	if got < 9 || got > 11 {
		t.Errorf("%.2f chunks per file, want about 10", got)
	}
}
