// Command list measures how long Shelf takes to list one page of 50
// children of a folder of -children (100,000) items, against the target
// of docs/PERFORMANCE.md: any page in under 5 ms.
//
// It builds the folder in-process through the core (library.Service over
// store/sqlite and blob/fsblob, as `shelf serve` wires them), so the rows
// are exactly those the server makes. It then starts the real shelf binary
// on that data directory and times GET /v1/items/{id}/children?limit=50
// over loopback HTTP: every page in order following next_cursor (from a
// dropped page cache, then again warm), and pages at random offsets (the
// cursor tokens recorded while paging). The same pages are also timed
// in-process (library.Service.Children, no HTTP), to tell the store's share
// from the transport's. scripts/bench.sh runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/bench/internal/harness"
	"github.com/shelfmem/shelf/blob/fsblob"
	"github.com/shelfmem/shelf/library"
	"github.com/shelfmem/shelf/store/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench/list:", err)
		os.Exit(1)
	}
}

const (
	masterKey = "bench-master-key-0123456789abcdef0123"
	target    = 5 * time.Millisecond
)

type config struct {
	children int
	limit    int
	random   int
	batch    int
	dir      string
	shelf    string
	drop     bool
	keep     bool
	profile  string
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	var c config
	fs.IntVar(&c.children, "children", 100_000, "children in the listed folder")
	fs.IntVar(&c.limit, "limit", 50, "page size")
	fs.IntVar(&c.random, "random", 2000, "pages fetched at random offsets")
	fs.IntVar(&c.batch, "batch", 10_000, "build the folder with this many of the core's CreateFolder calls per store transaction (1: one transaction each, as over HTTP)")
	fs.StringVar(&c.dir, "dir", "", "work directory, on the disk Shelf's data would live on (default: a new directory under $TMPDIR)")
	fs.StringVar(&c.shelf, "shelf", "", "shelf binary (default: build ./cmd/shelf of this checkout)")
	fs.BoolVar(&c.drop, "drop-caches", true, "drop the page cache before the first pass (needs root; falls back to sync)")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory")
	fs.StringVar(&c.profile, "cpuprofile", "", "write a CPU profile of the in-process paging (Service.Children) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.children < 1 || c.limit < 1 || c.batch < 1 {
		return fmt.Errorf("-children, -limit and -batch must be positive")
	}
	root, err := harness.ModuleRoot()
	if err != nil {
		return err
	}
	if c.dir == "" {
		if c.dir, err = os.MkdirTemp("", "shelf-bench-list-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}
	if !c.keep {
		defer os.RemoveAll(c.dir)
	}
	if c.shelf == "" {
		fmt.Fprintln(os.Stderr, "building ./cmd/shelf …")
		if c.shelf, err = harness.BuildShelf(root, c.dir); err != nil {
			return err
		}
	}
	data := filepath.Join(c.dir, "data")

	fmt.Printf("# bench/list\n\n")
	fmt.Printf("command: %s\n\n", harness.Command("bench/list", args))
	for _, line := range harness.Machine(c.dir) {
		fmt.Printf("- %s\n", line)
	}
	fmt.Printf("- shelf: %s (%s)\n", harness.Revision(root), c.shelf)

	fmt.Fprintf(os.Stderr, "building a folder of %d children …\n", c.children)
	b, err := populate(ctx, data, c)
	if err != nil {
		return err
	}
	fmt.Printf("- folder: %d children (folders named note-NNNNNN, created in random order) built in %s through the core's CreateFolder, %d calls per store transaction (%.0f items/s)\n",
		c.children, b.took.Round(time.Millisecond), c.batch, float64(c.children)/b.took.Seconds())
	if b.singleRate > 0 {
		fmt.Printf("- for scale: one transaction per CreateFolder (what POST /v1/items does) ran at %.0f items/s over the first %d\n", b.singleRate, b.singleN)
	}
	fi, _ := os.Stat(filepath.Join(data, "shelf.db"))
	if fi != nil {
		fmt.Printf("- shelf.db: %s\n", harness.MiB(fi.Size()))
	}

	drop := &harness.CacheDropper{Disabled: !c.drop}
	m, err := measureHTTP(ctx, c, data, b.folderID, b.tokens, drop)
	if err != nil {
		return err
	}
	fmt.Printf("- page cache: %s\n", drop.Status())
	if lb, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("- load average at end: %s\n", strings.Join(strings.Fields(string(lb))[:3], " "))
	}
	fmt.Println()
	report(os.Stdout, c, append(m, b.core...))
	return nil
}

// built is the folder populate made.
type built struct {
	folderID   string
	tokens     []string // tokens[i] is the cursor of page i ("" for the first)
	took       time.Duration
	singleRate float64 // items/s with one transaction per CreateFolder
	singleN    int
	core       []series // in-process timings
}

// populate makes the folder of c.children children in a new data dir and
// pages through it in-process, recording every page's cursor token.
func populate(ctx context.Context, data string, c config) (*built, error) {
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	st, err := sqlite.Open(filepath.Join(data, "shelf.db"))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	blobs, err := fsblob.Open(filepath.Join(data, "blobs"))
	if err != nil {
		return nil, err
	}
	defer blobs.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := library.Open(ctx, st, blobs, library.Config{Logger: quiet})
	if err != nil {
		return nil, err
	}
	if _, err := svc.EnsureMasterKey(ctx, masterKey); err != nil {
		return nil, err
	}
	admin, err := svc.AdminPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	actx := shelf.NewContext(ctx, admin)
	top, err := svc.Root(actx)
	if err != nil {
		return nil, err
	}
	folder, err := svc.CreateFolder(actx, top.ID, "bench-100k", "", nil)
	if err != nil {
		return nil, err
	}

	// Names in a fixed random order, so the index is built as by real use.
	rng := rand.New(rand.NewPCG(1, 2))
	order := rng.Perm(c.children)
	name := func(i int) string { return fmt.Sprintf("note-%06d", order[i]) }

	b := &built{folderID: folder.ID}
	start := time.Now()
	i := 0
	if c.batch > 1 {
		// A short sample the way the server does it, for scale.
		b.singleN = min(1000, c.children)
		for ; i < b.singleN; i++ {
			if _, err := svc.CreateFolder(actx, folder.ID, name(i), "", nil); err != nil {
				return nil, err
			}
		}
		b.singleRate = float64(b.singleN) / time.Since(start).Seconds()
		bs := harness.NewBatchStore(ctx, st, c.batch)
		bsvc, err := library.Open(ctx, bs, blobs, library.Config{Logger: quiet})
		if err != nil {
			bs.Flush()
			return nil, err
		}
		for ; i < c.children; i++ {
			if _, err = bsvc.CreateFolder(actx, folder.ID, name(i), "", nil); err != nil {
				break
			}
			if i%20000 == 0 {
				fmt.Fprintf(os.Stderr, "  %d …\n", i)
			}
		}
		if ferr := bs.Flush(); err == nil {
			err = ferr
		}
		if err != nil {
			return nil, err
		}
	} else {
		for ; i < c.children; i++ {
			if _, err := svc.CreateFolder(actx, folder.ID, name(i), "", nil); err != nil {
				return nil, err
			}
		}
	}
	b.took = time.Since(start)

	// Page through once in-process: the cursor tokens, and the core's own
	// time per page for comparison with HTTP.
	if c.profile != "" {
		f, err := os.Create(c.profile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	seq := series{name: "in-process `Service.Children`, every page in order"}
	token := ""
	seen := 0
	for {
		t := time.Now()
		items, next, err := svc.Children(actx, folder.ID, token, c.limit)
		seq.add(time.Since(t))
		if err != nil {
			return nil, err
		}
		b.tokens = append(b.tokens, token)
		seen += len(items)
		if next == "" {
			break
		}
		token = next
	}
	if seen != c.children {
		return nil, fmt.Errorf("in-process paging saw %d children, want %d", seen, c.children)
	}
	rnd := series{name: fmt.Sprintf("in-process `Service.Children`, %d pages at random offsets", c.random)}
	r := rand.New(rand.NewPCG(3, 4))
	for range c.random {
		tok := b.tokens[r.IntN(len(b.tokens))]
		t := time.Now()
		if _, _, err := svc.Children(actx, folder.ID, tok, c.limit); err != nil {
			return nil, err
		}
		rnd.add(time.Since(t))
	}
	b.core = []series{seq, rnd}
	return b, nil
}
