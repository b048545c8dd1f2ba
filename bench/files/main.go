// Command files measures Informer's file listing (GET
// /api/libraries/{id}/files?dir=&start=&end=) over a folder of -files
// (100,000) files, against the targets of issue 6: at most 5 ms per page of
// 100 rows when paging through in order, at most 20 ms for a page at any
// offset up to 100,000.
//
// It builds the library in-process through the core (library.Service's
// WriteFile over store/sqlite, with many calls per store transaction), so
// the rows are the ones the server makes, then starts the real shelf
// binary on that data directory (with --index-workers 0, so indexing the
// new files does not run under the measurement) and times the pages over
// loopback HTTP. The same pages are timed in-process
// (library.Service.ListFolder, no HTTP): the ceiling the HTTP figures are
// held against.
//
//	go run -tags sqlite_fts5 ./bench/files [-files 100000] [-page 100] [-random 1000]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/bench/internal/harness"
	"github.com/shelfmem/shelf/blob/fsblob"
	"github.com/shelfmem/shelf/library"
	"github.com/shelfmem/shelf/store/sqlite"
)

const masterKey = "bench-files-master-key-0123456789abcdef"

// Targets of issue 6.
const (
	inOrderTarget = 5.0  // ms per page, paging in order
	anyTarget     = 20.0 // ms per page, at any offset
)

type config struct {
	files, page, random, batch int
	dir, shelf                 string
	keep                       bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "files:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("files", flag.ContinueOnError)
	var c config
	fs.IntVar(&c.files, "files", 100_000, "files in the listed folder")
	fs.IntVar(&c.page, "page", 100, "rows per page (end - start)")
	fs.IntVar(&c.random, "random", 1000, "pages fetched at random offsets")
	fs.IntVar(&c.batch, "batch", 10_000, "WriteFile calls per store transaction while building")
	fs.StringVar(&c.dir, "dir", "", "work directory (default: a new one under $TMPDIR)")
	fs.StringVar(&c.shelf, "shelf", "", "shelf binary (default: build ./cmd/shelf of this checkout)")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.files < c.page || c.page < 1 || c.random < 0 || c.batch < 1 {
		return fmt.Errorf("need -files >= -page >= 1, -random >= 0, -batch >= 1")
	}
	cleanup, err := harness.Setup("files", args, &c.dir, &c.shelf, c.keep)
	defer cleanup()
	if err != nil {
		return err
	}
	data := filepath.Join(c.dir, "data")

	fmt.Fprintf(os.Stderr, "building a folder of %d files …\n", c.files)
	start := time.Now()
	libID, core, err := populate(ctx, data, c)
	if err != nil {
		return err
	}
	fmt.Printf("- library: one folder `/big` of %d files (file-NNNNNN.md, written in random order) through the core's WriteFile, %d per store transaction, built in %s\n",
		c.files, c.batch, time.Since(start).Round(time.Second))
	web, err := measureHTTP(ctx, c, data, libID)
	if err != nil {
		return err
	}
	if lb, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("- load average at end: %s\n", strings.Join(strings.Fields(string(lb))[:3], " "))
	}
	fmt.Println()
	report(os.Stdout, c, append(web, core...))
	return nil
}

// series is the latencies of one way of fetching pages.
type series struct {
	name   string
	target float64
	ms     []float64
}

func (s *series) add(d time.Duration) { s.ms = append(s.ms, float64(d)/float64(time.Millisecond)) }

// offsets are the pages of a run: every page in order, then random ones.
func offsets(c config) (inOrder, random []int) {
	for o := 0; o < c.files; o += c.page {
		inOrder = append(inOrder, o)
	}
	r := rand.New(rand.NewPCG(7, 8))
	for range c.random {
		random = append(random, r.IntN(c.files-c.page+1))
	}
	return inOrder, random
}

// populate writes the files and times the pages in-process.
func populate(ctx context.Context, data string, c config) (string, []series, error) {
	if err := os.MkdirAll(data, 0o700); err != nil {
		return "", nil, err
	}
	st, err := sqlite.Open(filepath.Join(data, "shelf.db"))
	if err != nil {
		return "", nil, err
	}
	defer st.Close()
	blobs, err := fsblob.Open(filepath.Join(data, "blobs"))
	if err != nil {
		return "", nil, err
	}
	defer blobs.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := library.Config{Logger: quiet, Index: library.IndexConfig{Workers: -1}}
	svc, err := library.Open(ctx, st, blobs, cfg)
	if err != nil {
		return "", nil, err
	}
	if _, err := svc.EnsureMasterKey(ctx, masterKey); err != nil {
		return "", nil, err
	}
	admin, err := svc.AdminPrincipal(ctx)
	if err != nil {
		return "", nil, err
	}
	actx := shelf.NewContext(ctx, admin)
	lib, err := svc.CreateLibrary(actx, library.Spec{Kind: shelf.KindLibrary, Slug: "big", Name: "Big"})
	if err != nil {
		return "", nil, err
	}
	bs := harness.NewBatchStore(ctx, st, c.batch)
	bsvc, err := library.Open(ctx, bs, blobs, cfg)
	if err != nil {
		bs.Flush()
		return "", nil, err
	}
	order := rand.New(rand.NewPCG(1, 2)).Perm(c.files)
	for i, n := range order {
		body := fmt.Sprintf("# File %d\n\nSome text of file %d.\n", n, n)
		_, err = bsvc.WriteFile(actx, library.FileWrite{LibraryID: lib.ID, Path: fmt.Sprintf("big/file-%06d.md", n),
			Body: strings.NewReader(body), Size: int64(len(body))})
		if err != nil {
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
		return "", nil, err
	}
	inOrder, random := offsets(c)
	seq := series{name: "in-process `Service.ListFolder`, every page in order", target: inOrderTarget}
	rnd := series{name: fmt.Sprintf("in-process `Service.ListFolder`, %d pages at random offsets", c.random), target: anyTarget}
	for _, s := range []struct {
		offs []int
		into *series
	}{{inOrder, &seq}, {random, &rnd}} {
		for _, o := range s.offs {
			t := time.Now()
			items, _, err := svc.ListFolder(actx, library.FolderList{LibraryID: lib.ID, Dir: "big", Offset: o, Limit: c.page})
			s.into.add(time.Since(t))
			if err != nil {
				return "", nil, err
			}
			if want := min(c.page, c.files-o); len(items) != want || items[0].Name != fmt.Sprintf("file-%06d.md", o) {
				return "", nil, fmt.Errorf("page at %d: %d items from %q", o, len(items), items[0].Name)
			}
		}
	}
	// The remembered positions of a folder hold until it changes: the
	// worst case is a folder that changes between every two pages. A file
	// is written to /big, or deleted again, before each page (not timed).
	churn := series{name: fmt.Sprintf("in-process, %d pages at random offsets, a file added to or deleted from the folder before each", c.random), target: anyTarget}
	var churned string
	for _, o := range random {
		if churned == "" {
			body := "churn"
			up, err := svc.WriteFile(actx, library.FileWrite{LibraryID: lib.ID, Path: "big/zzz-churn.md", Body: strings.NewReader(body), Size: int64(len(body))})
			if err != nil {
				return "", nil, err
			}
			churned = up.Item.ID
		} else {
			if _, err := svc.Delete(actx, churned); err != nil {
				return "", nil, err
			}
			churned = ""
		}
		t := time.Now()
		items, _, err := svc.ListFolder(actx, library.FolderList{LibraryID: lib.ID, Dir: "big", Offset: o, Limit: c.page})
		churn.add(time.Since(t))
		if err != nil {
			return "", nil, err
		}
		if want := min(c.page, c.files-o); len(items) != want || items[0].Name != fmt.Sprintf("file-%06d.md", o) {
			return "", nil, fmt.Errorf("page at %d: %d items from %q", o, len(items), items[0].Name)
		}
	}
	if churned != "" {
		if _, err := svc.Delete(actx, churned); err != nil {
			return "", nil, err
		}
	}
	return lib.ID, []series{seq, rnd, churn}, nil
}

// measureHTTP starts the shelf binary on data and times the pages.
func measureHTTP(ctx context.Context, c config, data, libID string) ([]series, error) {
	p, err := harness.Start(ctx, "shelf", c.shelf, []string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--index-workers", "0"},
		[]string{"SHELF_MASTER_KEY=" + masterKey}, harness.ShelfURL)
	if err != nil {
		return nil, err
	}
	defer p.Stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2, DisableCompression: true}}
	defer client.CloseIdleConnections()
	get := func(offset int) (time.Duration, error) {
		u := fmt.Sprintf("%s/api/libraries/%s/files?dir=/big&start=%d&end=%d", p.URL, libID, offset, offset+c.page)
		req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+masterKey)
		t := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(t)
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, body)
		}
		var files []struct {
			Filename string `json:"filename"`
		}
		if err := json.Unmarshal(body, &files); err != nil {
			return 0, err
		}
		if want := min(c.page, c.files-offset); len(files) != want || files[0].Filename != fmt.Sprintf("file-%06d.md", offset) {
			return 0, fmt.Errorf("page at %d: %d files from %q", offset, len(files), files[0].Filename)
		}
		return d, nil
	}
	inOrder, random := offsets(c)
	var out []series
	for pass := 1; pass <= 2; pass++ {
		s := series{name: fmt.Sprintf("HTTP, every page in order (pass %d)", pass), target: inOrderTarget}
		for _, o := range inOrder {
			d, err := get(o)
			if err != nil {
				return nil, err
			}
			s.add(d)
		}
		out = append(out, s)
	}
	rnd := series{name: fmt.Sprintf("HTTP, %d pages at random offsets", c.random), target: anyTarget}
	for _, o := range random {
		d, err := get(o)
		if err != nil {
			return nil, err
		}
		rnd.add(d)
	}
	return append(out, rnd), nil
}

func report(w io.Writer, c config, all []series) {
	fmt.Fprintf(w, "## Latency per page of %d rows (HTTP: client-measured, request sent → body read)\n\n", c.page)
	fmt.Fprintf(w, "| pages fetched | n | p50 | p99 | max | target | p99 within |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, s := range all {
		p50, p99, mx := harness.Percentile(s.ms, 50), harness.Percentile(s.ms, 99), harness.Percentile(s.ms, 100)
		verdict := "**FAIL**"
		if p99 <= s.target {
			verdict = "**PASS**"
		}
		fmt.Fprintf(w, "| %s | %d | %.2f ms | %.2f ms | %.2f ms | %.0f ms | %s |\n", s.name, len(s.ms), p50, p99, mx, s.target, verdict)
	}
	fmt.Fprintln(w)
}
