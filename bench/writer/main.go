// Command writer measures what bulk work does to everyone else's writes,
// against issue 16's target: while any bulk operation runs on a library of
// -files (50,000) files, single writes from another workspace keep p99 ≤
// 100 ms.
//
// It builds the library in-process through the core (library.Service's
// WriteFile over store/sqlite, many calls per store transaction, so the
// rows are the ones the server makes), indexes it (every file one chunk),
// and times that apart. It then starts the real shelf binary on the data
// directory and, for each bulk operation in turn, sends one Informer or
// native request for it while another workspace PUTs one-line files
// (/v1/files) at a steady -rate, each PUT timed from the moment it was due
// (open loop: a PUT that waits is counted as long as it waited, and those
// due meanwhile are sent anyway). The same PUTs with no bulk work running
// are the ceiling. The operations, in this order, on the same library:
// bulk JSON Patch of every file, bulk index (clear, then queue), a
// snapshot, the move of the folder holding every file, the restore of the
// snapshot (which moves them all back), the recursive delete of the
// folder, the restore again (which makes them all again), the deletion of
// the library.
//
//	go run -tags sqlite_fts5 ./bench/writer [-files 50000] [-rate 50]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/bench/internal/harness"
	"github.com/shelfmem/shelf/blob/fsblob"
	"github.com/shelfmem/shelf/library"
	"github.com/shelfmem/shelf/store/sqlite"
)

const (
	masterKey = "bench-writer-master-key-0123456789abcdef"
	targetMS  = 100.0 // issue 16: p99 of other writes under bulk work
)

type config struct {
	files, dirs, batch int
	rate               float64
	ceiling            time.Duration
	dir, shelf, cache  string
	keep, noIndex      bool
	serveArgs          string
	phases             string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench/writer:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("writer", flag.ContinueOnError)
	var c config
	fs.IntVar(&c.files, "files", 50_000, "files in the library")
	fs.IntVar(&c.dirs, "dirs", 100, "folders they are spread over, all below one folder /big")
	fs.IntVar(&c.batch, "batch", 10_000, "WriteFile calls per store transaction while building")
	fs.Float64Var(&c.rate, "rate", 50, "single PUTs per second from another workspace")
	fs.DurationVar(&c.ceiling, "ceiling", 10*time.Second, "how long the PUTs run alone, for the ceiling")
	fs.StringVar(&c.dir, "dir", "", "work directory (default: a new one under $TMPDIR)")
	fs.StringVar(&c.shelf, "shelf", "", "shelf binary (default: build ./cmd/shelf of this checkout)")
	fs.StringVar(&c.cache, "cache", "", "keep the built and indexed library here and start from a copy of it next time")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory")
	fs.BoolVar(&c.noIndex, "no-index", false, "do not index the files before the measurement")
	fs.StringVar(&c.serveArgs, "serve-args", "", "extra flags for shelf serve, space-separated")
	fs.StringVar(&c.phases, "phases", "patch,clear,queue,snapshot,move,restore,delete,restore2,purge",
		"the bulk operations to run, in this order (restore and restore2 need snapshot)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.files < c.dirs || c.dirs < 1 || c.rate <= 0 || c.batch < 1 {
		return fmt.Errorf("need -files >= -dirs >= 1, -rate > 0, -batch >= 1")
	}
	cleanup, err := harness.Setup("writer", args, &c.dir, &c.shelf, c.keep)
	defer cleanup()
	if err != nil {
		return err
	}
	data := filepath.Join(c.dir, "data")
	if err := prepare(ctx, c, data); err != nil {
		return err
	}
	phases, err := measure(ctx, c, data)
	if lb, lerr := os.ReadFile("/proc/loadavg"); lerr == nil {
		fmt.Printf("- load average at end: %s\n", strings.Join(strings.Fields(string(lb))[:3], " "))
	}
	fmt.Println()
	report(os.Stdout, c, phases)
	return err
}

// prepare builds and indexes the library in data, or copies it from the
// cache.
func prepare(ctx context.Context, c config, data string) error {
	if c.cache != "" {
		if _, err := os.Stat(filepath.Join(c.cache, "shelf.db")); err == nil {
			fmt.Printf("- library: copied from %s (built by an earlier run)\n", c.cache)
			return copyDir(c.cache, data)
		}
	}
	fmt.Fprintf(os.Stderr, "building a library of %d files …\n", c.files)
	built, indexed, err := populate(ctx, c, data)
	if err != nil {
		return err
	}
	fmt.Printf("- library: Informer library `big`, %d files (`/big/dNNN/file-NNNNNN.md`, one line of text each) in %d folders, written through the core's WriteFile, %d per store transaction, in %s",
		c.files, c.dirs, c.batch, built.Round(time.Second))
	if c.noIndex {
		fmt.Printf("; not indexed\n")
	} else {
		fmt.Printf("; indexed in-process (2 workers, one chunk a file) in %s\n", indexed.Round(time.Second))
	}
	if c.cache != "" {
		return copyDir(data, c.cache)
	}
	return nil
}

func copyDir(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return err
	}
	os.RemoveAll(to)
	out, err := exec.Command("cp", "-a", from, to).CombinedOutput()
	if err != nil {
		return fmt.Errorf("cp -a %s %s: %v: %s", from, to, err, out)
	}
	return nil
}

func populate(ctx context.Context, c config, data string) (built, indexed time.Duration, err error) {
	start := time.Now()
	if err := os.MkdirAll(data, 0o700); err != nil {
		return 0, 0, err
	}
	st, err := sqlite.Open(filepath.Join(data, "shelf.db"))
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	blobs, err := fsblob.Open(filepath.Join(data, "blobs"))
	if err != nil {
		return 0, 0, err
	}
	defer blobs.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := library.Config{Logger: quiet, Index: library.IndexConfig{Workers: -1}}
	svc, err := library.Open(ctx, st, blobs, cfg)
	if err != nil {
		return 0, 0, err
	}
	if _, err := svc.EnsureMasterKey(ctx, masterKey); err != nil {
		return 0, 0, err
	}
	admin, err := svc.AdminPrincipal(ctx)
	if err != nil {
		return 0, 0, err
	}
	actx := shelf.NewContext(ctx, admin)
	lib, err := svc.CreateLibrary(actx, library.Spec{Kind: shelf.KindLibrary, Slug: "big", Name: "Big"})
	if err != nil {
		return 0, 0, err
	}
	bs := harness.NewBatchStore(ctx, st, c.batch)
	bsvc, err := library.Open(ctx, bs, blobs, cfg)
	if err != nil {
		bs.Flush()
		return 0, 0, err
	}
	for i := range c.files {
		body := fmt.Sprintf("File %d of the bench library, about topic %d.\n", i, i%97)
		_, err = bsvc.WriteFile(actx, library.FileWrite{LibraryID: lib.ID, Path: fmt.Sprintf("big/d%03d/file-%06d.md", i%c.dirs, i),
			Body: strings.NewReader(body), Size: int64(len(body))})
		if err != nil {
			break
		}
		if i%10000 == 0 {
			fmt.Fprintf(os.Stderr, "  %d …\n", i)
		}
	}
	if ferr := bs.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return 0, 0, err
	}
	built = time.Since(start)
	if c.noIndex {
		return built, 0, nil
	}
	start = time.Now()
	fmt.Fprintln(os.Stderr, "indexing …")
	icfg := cfg
	icfg.Index.Workers = 2
	isvc, err := library.Open(ctx, st, blobs, icfg)
	if err != nil {
		return 0, 0, err
	}
	ictx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { isvc.RunIndexer(ictx); close(done) }()
	defer func() { stop(); <-done }()
	for {
		n, err := isvc.IndexCounts(actx)
		if err != nil {
			return 0, 0, err
		}
		if n[shelf.IndexQueued]+n[shelf.IndexRunning] == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return built, time.Since(start), nil
}

// phase is one bulk operation and the PUTs timed while it ran.
type phase struct {
	name   string
	took   time.Duration // the bulk request, sent to answered
	status int
	ms     []float64
	failed int
}

type client struct {
	url  string
	http *http.Client
}

// do sends a JSON request and decodes a JSON answer into out.
func (cl *client) do(ctx context.Context, method, path, key string, body, out any) (int, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, cl.url+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if _, ok := body.(string); !ok && body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := cl.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return resp.StatusCode, json.Unmarshal(b, out)
	}
	return resp.StatusCode, nil
}

// load PUTs one-line files as key at rate until stop is closed, each
// timed from when it was due; it returns the latencies and the failures.
func load(ctx context.Context, cl *client, key string, rate float64, seq *int, stop <-chan struct{}) ([]float64, int) {
	var mu sync.Mutex
	var ms []float64
	failed := 0
	var wg sync.WaitGroup
	every := time.Duration(float64(time.Second) / rate)
	next := time.Now()
	for {
		select {
		case <-stop:
			wg.Wait()
			return ms, failed
		case <-ctx.Done():
			wg.Wait()
			return ms, failed
		case <-time.After(time.Until(next)):
		}
		due := next
		next = next.Add(every)
		*seq++
		path := fmt.Sprintf("/v1/files/load/%07d.txt", *seq)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := cl.do(ctx, "PUT", path, key, "one line from another workspace\n", nil)
			d := time.Since(due)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				return
			}
			ms = append(ms, float64(d)/float64(time.Millisecond))
		}()
	}
}

func measure(ctx context.Context, c config, data string) ([]phase, error) {
	args := []string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--index-workers", "0"}
	if c.serveArgs != "" {
		args = append(args, strings.Fields(c.serveArgs)...)
	}
	p, err := harness.Start(ctx, "shelf", c.shelf, args, []string{"SHELF_MASTER_KEY=" + masterKey}, harness.ShelfURL)
	if err != nil {
		return nil, err
	}
	defer p.Stop()
	fmt.Printf("- server: `shelf serve --index-workers 0 %s` (no indexing runs under the measurement)\n", c.serveArgs)
	cl := &client{url: p.URL, http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128, DisableCompression: true}}}
	defer cl.http.CloseIdleConnections()
	var ws struct {
		ID string `json:"id"`
	}
	if _, err := cl.do(ctx, "POST", "/v1/workspaces", masterKey, map[string]any{"name": "other"}, &ws); err != nil {
		return nil, err
	}
	var key struct {
		Key string `json:"key"`
	}
	if _, err := cl.do(ctx, "POST", "/v1/keys", masterKey, map[string]any{"workspace_id": ws.ID, "name": "load", "scopes": []string{"write"}}, &key); err != nil {
		return nil, err
	}
	seq := 0
	var out []phase
	// timed runs fn (the bulk request) under the load.
	timed := func(name string, fn func() (int, error)) error {
		fmt.Fprintf(os.Stderr, "%s …\n", name)
		harness.WaitQuiet(ctx, 20*time.Second, 0.5)
		stop := make(chan struct{})
		res := make(chan phase, 1)
		go func() {
			ms, failed := load(ctx, cl, key.Key, c.rate, &seq, stop)
			res <- phase{ms: ms, failed: failed}
		}()
		time.Sleep(200 * time.Millisecond) // the load is going
		start := time.Now()
		status, err := fn()
		took := time.Since(start)
		close(stop)
		ph := <-res
		ph.name, ph.took, ph.status = name, took, status
		out = append(out, ph)
		fmt.Fprintf(os.Stderr, "  %s in %s, %d PUTs\n", name, took.Round(time.Millisecond), len(ph.ms))
		return err
	}
	// The ceiling: the PUTs alone.
	if err := timed("no bulk work (ceiling)", func() (int, error) {
		time.Sleep(c.ceiling)
		return 0, nil
	}); err != nil {
		return out, err
	}
	var big struct {
		ID string `json:"id"`
	}
	find := func() error {
		var files []struct {
			ID       string `json:"id"`
			Filename string `json:"filename"`
		}
		if _, err := cl.do(ctx, "GET", "/api/libraries/big/files", masterKey, nil, &files); err != nil {
			return err
		}
		for _, f := range files {
			if f.Filename == "big" || f.Filename == "moved" {
				big.ID = f.ID
				return nil
			}
		}
		return fmt.Errorf("no folder big in %v", files)
	}
	if err := find(); err != nil {
		return out, err
	}
	var snap struct {
		ID        string `json:"id"`
		FileCount int    `json:"fileCount"`
	}
	steps := []struct {
		key, name string
		fn        func() (int, error)
	}{
		{"patch", fmt.Sprintf("bulk JSON Patch of %d files (`PATCH /api/libraries/big/files`, `/**/*.md/modifiedAt`)", c.files), func() (int, error) {
			return cl.do(ctx, "PATCH", "/api/libraries/big/files", masterKey,
				[]map[string]any{{"op": "replace", "path": "/**/*.md/modifiedAt", "value": "2024-02-09T12:00:00Z"}}, nil)
		}},
		{"clear", fmt.Sprintf("bulk index: clear %d files (`_bulk-index`, `value: false`)", c.files), func() (int, error) {
			return cl.do(ctx, "POST", "/api/libraries/big/files/_bulk-index", masterKey, map[string]any{"files": []string{"/**"}, "value": false}, nil)
		}},
		{"queue", fmt.Sprintf("bulk index: queue %d files (`_bulk-index`, `value: true`)", c.files), func() (int, error) {
			return cl.do(ctx, "POST", "/api/libraries/big/files/_bulk-index", masterKey, map[string]any{"files": []string{"/**"}, "value": true}, nil)
		}},
		{"snapshot", "snapshot (`POST /api/libraries/big/snapshots`)", func() (int, error) {
			return cl.do(ctx, "POST", "/api/libraries/big/snapshots", masterKey, map[string]any{}, &snap)
		}},
		{"move", fmt.Sprintf("move (rename) the folder of %d files (`PATCH …/files/{id}` `filename`)", c.files), func() (int, error) {
			return cl.do(ctx, "PATCH", "/api/libraries/big/files/"+big.ID, masterKey,
				[]map[string]any{{"op": "replace", "path": "/filename", "value": "moved"}}, nil)
		}},
		{"restore", "restore the snapshot (moves them all back)", func() (int, error) {
			return cl.do(ctx, "POST", "/api/libraries/big/snapshots/"+snap.ID+"/_restore", masterKey, map[string]any{}, nil)
		}},
		{"delete", fmt.Sprintf("recursive delete of the folder of %d files (`DELETE …/files/{id}`)", c.files), func() (int, error) {
			return cl.do(ctx, "DELETE", "/api/libraries/big/files/"+big.ID, masterKey, nil, nil)
		}},
		{"restore2", fmt.Sprintf("restore the snapshot again (makes the %d files again)", c.files), func() (int, error) {
			return cl.do(ctx, "POST", "/api/libraries/big/snapshots/"+snap.ID+"/_restore", masterKey, map[string]any{}, nil)
		}},
		{"purge", fmt.Sprintf("delete the library of %d files and its snapshot (`DELETE /api/libraries/big`)", c.files), func() (int, error) {
			return cl.do(ctx, "DELETE", "/api/libraries/big", masterKey, nil, nil)
		}},
	}
	for _, key := range strings.Split(c.phases, ",") {
		i := slices.IndexFunc(steps, func(s struct {
			key, name string
			fn        func() (int, error)
		}) bool {
			return s.key == key
		})
		if i < 0 {
			return out, fmt.Errorf("no phase %q", key)
		}
		if err := timed(steps[i].name, steps[i].fn); err != nil {
			return out, err
		}
	}
	return out, nil
}

func report(w io.Writer, c config, phases []phase) {
	fmt.Fprintf(w, "## Another workspace's single PUTs (%.0f/s, open loop) while each bulk operation runs\n\n", c.rate)
	fmt.Fprintf(w, "| bulk operation | its request took | PUTs | failed | p50 | p99 | max | p99 ≤ %.0f ms |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n", targetMS)
	for _, ph := range phases {
		p50, p99, mx := harness.Percentile(ph.ms, 50), harness.Percentile(ph.ms, 99), harness.Percentile(ph.ms, 100)
		verdict := "**FAIL**"
		if p99 <= targetMS && ph.failed == 0 {
			verdict = "**PASS**"
		}
		took := ph.took.Round(10 * time.Millisecond).String()
		if ph.status == 0 {
			took = "—"
		}
		fmt.Fprintf(w, "| %s | %s | %d | %d | %.1f ms | %.1f ms | %.1f ms | %s |\n", ph.name, took, len(ph.ms), ph.failed, p50, p99, mx, verdict)
	}
	fmt.Fprintln(w)
}
