package library_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/library"
)

// BenchmarkIndexBacklog indexes a backlog of text files of about ten
// chunks each with the default two workers, in-process, for profiling the
// indexer (bench/search -parts throughput measures it over HTTP against a
// ceiling):
//
//	go test -tags sqlite_fts5 -run - -bench IndexBacklog -benchtime 1x -cpuprofile cpu.out ./library
//
// It reports chunks/s; each iteration writes its files with indexing
// off, then times the workers from start to an empty queue.
// BENCH_FILES (default 2000) and BENCH_BATCH (jobs a claim takes; default
// the indexer's) vary it.
func BenchmarkIndexBacklog(b *testing.B) {
	files := envInt(b, "BENCH_FILES", 2000)
	cfg := library.Config{}
	cfg.Index.Batch = envInt(b, "BENCH_BATCH", 0)
	r := rand.New(rand.NewPCG(1, 2))
	words := vocabulary(r, 50000)
	texts := make([]string, files)
	for i := range texts {
		texts[i] = pseudoText(r, words, 7000)
	}
	var chunks, took float64
	for b.Loop() {
		b.StopTimer()
		e := newEnv(b, cfg)
		ids := make([]string, len(texts))
		for i, text := range texts {
			w := library.FileWrite{Path: fmt.Sprintf("docs/%04d.txt", i), Body: strings.NewReader(text), Size: int64(len(text)), ContentType: "text/plain"}
			u, err := e.svc.WriteFile(e.ctx, w)
			if err != nil {
				b.Fatal(err)
			}
			ids[i] = u.Item.ID
		}
		b.StartTimer()
		start := time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { e.svc.RunIndexer(ctx); close(done) }()
		for {
			n, err := e.svc.IndexCounts(e.ctx)
			if err != nil {
				b.Fatal(err)
			}
			if n["queued"]+n["running"] == 0 {
				if n["indexed"] != files {
					b.Fatalf("counts %v, want %d indexed", n, files)
				}
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		took += time.Since(start).Seconds()
		cancel()
		<-done
		b.StopTimer()
		if err := e.store.View(context.Background(), func(tx shelf.Tx) error {
			for _, id := range ids {
				cs, err := tx.Chunks(context.Background(), e.item(b, id).WorkspaceID, id)
				if err != nil {
					return err
				}
				chunks += float64(len(cs))
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(chunks/took, "chunks/s")
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	return n
}

// pseudoText is n bytes of words drawn by a Zipf law from a vocabulary of
// vocab words, in sentences and paragraphs: text that chunks and stems like
// prose.
func pseudoText(r *rand.Rand, words []string, n int) string {
	var sb strings.Builder
	z := rand.NewZipf(r, 1.1, 1, uint64(len(words)-1))
	for sb.Len() < n {
		for s := 5 + r.IntN(20); s > 0; s-- {
			sb.WriteString(words[z.Uint64()])
			sb.WriteByte(' ')
		}
		sb.WriteString(". ")
		if r.IntN(6) == 0 {
			sb.WriteString("\n\n")
		}
	}
	return sb.String()
}

func vocabulary(r *rand.Rand, n int) []string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	out := make([]string, n)
	for i := range out {
		b := make([]byte, 3+r.IntN(8))
		for j := range b {
			b[j] = letters[r.IntN(len(letters))]
		}
		out[i] = string(b)
	}
	return out
}
