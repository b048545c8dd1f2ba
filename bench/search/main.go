// Command search measures Shelf's search: its quality on the CISI test
// collection against a bare SQLite FTS5 baseline, the indexer's keyword
// throughput against bare FTS5 inserts of the same chunks, the cost of
// indexing on the write path, and keyword query latency over a large
// index. Each part starts the real `shelf serve` binary on a fresh data
// directory and talks to it over loopback HTTP; every ceiling or baseline
// is measured in the same run. It prints a Markdown report.
//
//	go run ./bench/search [-parts quality,throughput,latency] [-files 20000] [-chunks 1000000]
//
// scripts/bench.sh search runs it (flags through SEARCH_FLAGS).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/shelfmem/shelf/bench/internal/harness"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench/search:", err)
		os.Exit(1)
	}
}

// bench holds a run's settings and where it writes.
type bench struct {
	out io.Writer
	bin string // the shelf binary
	dir string // work directory

	cisi                 string
	embedURL, embedModel string
	embedDims            int

	corpus        *Corpus
	files         int // throughput: files written
	chunksPerFile int
	clients       int
	ceilingBatch  int

	chunks       int    // latency: chunks in the index
	latencyDir   string // latency: a data directory kept between runs
	queries      int
	topK         int
	buildLimit   int // minutes the latency index may take to build
	profile      string
	inProcess    bool
	shapeQueries int
	shapesOnly   bool
}

func (b *bench) printf(format string, args ...any) { fmt.Fprintf(b.out, format, args...) }

// startShelf runs `shelf serve` on data with the master key.
func (b *bench) startShelf(ctx context.Context, data string, extra ...string) (*harness.Proc, error) {
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data}, extra...)
	return harness.Start(ctx, "shelf", b.bin, args, []string{"SHELF_MASTER_KEY=" + masterKey}, harness.ShelfURL)
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	parts := fs.String("parts", "quality,throughput,latency", "parts to run, comma-separated: quality, throughput, latency")
	b := &bench{out: stdout}
	fs.StringVar(&b.bin, "shelf", "", "shelf binary (default: build ./cmd/shelf into the work directory)")
	dir := fs.String("dir", "", "work directory (default: a temporary one, removed at the end)")
	fs.StringVar(&b.cisi, "cisi", "/work/shared/data/ir/cisi", "directory of CISI.ALL, CISI.QRY and CISI.REL")
	fs.StringVar(&b.embedURL, "embed-url", "", "passed to shelf serve --embed-url; also runs the semantic and hybrid modes")
	fs.StringVar(&b.embedModel, "embed-model", "", "passed to shelf serve --embed-model")
	fs.IntVar(&b.embedDims, "embed-dims", 0, "passed to shelf serve --embed-dims")
	fs.IntVar(&b.files, "files", 20000, "throughput: files written")
	fs.IntVar(&b.chunksPerFile, "chunks-per-file", 10, "chunks of ~1000 characters in each generated file")
	fs.IntVar(&b.clients, "clients", 8, "concurrent writers")
	fs.IntVar(&b.ceilingBatch, "ceiling-batch", 1000, "throughput: chunks per transaction of the bare FTS5 ceiling")
	vocab := fs.Int("vocab", 50000, "words in the generated vocabulary")
	fs.IntVar(&b.chunks, "chunks", 1000000, "latency: chunks in the index (files of -chunks-per-file chunks)")
	fs.StringVar(&b.latencyDir, "latency-data", "", "latency: data directory to build the index in and keep; reused when it already holds the index")
	fs.IntVar(&b.queries, "queries", 200, "latency: queries timed")
	fs.IntVar(&b.topK, "top-k", 10, "latency: top_k of each query")
	fs.IntVar(&b.buildLimit, "build-limit", 60, "latency: minutes the index may take to build before the run gives up")
	fs.StringVar(&b.profile, "profile", "", "latency: directory for a CPU profile of the server taken while queries run (via --debug-addr)")
	fs.BoolVar(&b.inProcess, "in-process", true, "latency: also time Shelf's search SQL and alternative query shapes in-process on the same database")
	fs.IntVar(&b.shapeQueries, "shape-queries", 100, "latency: how many of the queries the in-process comparison of SQL shapes times")
	fs.BoolVar(&b.shapesOnly, "shapes-only", false, "latency: time only the in-process SQL shapes (no server, no HTTP queries)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	want := map[string]bool{}
	for p := range strings.SplitSeq(*parts, ",") {
		switch p = strings.TrimSpace(p); p {
		case "quality", "throughput", "latency":
			want[p] = true
		case "":
		default:
			return fmt.Errorf("unknown part %q", p)
		}
	}
	if b.embedURL != "" && b.embedModel == "" {
		return errors.New("-embed-url needs -embed-model")
	}
	b.corpus = NewCorpus(*vocab, 1.1, 2)
	root, err := harness.ModuleRoot()
	if err != nil {
		return err
	}
	b.dir = *dir
	if b.dir == "" {
		if b.dir, err = os.MkdirTemp("", "shelf-bench-search-"); err != nil {
			return err
		}
		defer os.RemoveAll(b.dir)
	} else if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return err
	}
	if b.bin == "" {
		if b.bin, err = harness.BuildShelf(root, b.dir); err != nil {
			return err
		}
	} else if b.bin, err = filepath.Abs(b.bin); err != nil {
		return err
	}
	b.printf("# bench/search\n\ncommand: %s\n\n", harness.Command("bench/search", args))
	for _, l := range harness.Machine(b.dir) {
		b.printf("- %s\n", l)
	}
	b.printf("- shelf: %s\n\n", harness.Revision(root))
	for _, p := range []struct {
		name string
		run  func(context.Context) error
	}{{"quality", b.runQuality}, {"throughput", b.runThroughput}, {"latency", b.runLatency}} {
		if want[p.name] {
			if err := p.run(ctx); err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
		}
	}
	return nil
}

func pass(ok bool) string {
	if ok {
		return "**PASS**"
	}
	return "**FAIL**"
}
