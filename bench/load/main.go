// Command load runs a mixed load of many concurrent clients against the
// real `shelf serve`, each holding its own keep-alive connection, and
// reports p50/p99 latency per kind of request and every error (any answer
// that is not the expected 2xx, any transport error). It runs the load
// twice on the same data: with the server's defaults (rate limits off, the
// connection cap at its default), then with a per-key rate limit set high
// enough never to refuse, so that the limiter runs on every request and its
// cost shows. The ceiling, measured in the same run, is the same clients
// asking GET /healthz: the HTTP stack and the loopback, no key, no store.
//
//	go run ./bench/load [-clients 256] [-duration 20s] [-workspaces 8] [-files 200]
//	                    [-shelf BIN -limiter=false]
//
// -shelf runs a shelf binary built elsewhere (an older commit, to compare);
// -limiter=false skips the second phase, for a binary without --rate-limit.
//
// The mix per client: 40% GET a file's content (2 KiB), 20% list a folder
// (50 entries), 10% GET an item, 15% keyword search, 15% PUT a file (a new
// file or a new version of one, 2 KiB).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shelfmem/shelf/bench/internal/harness"
)

const master = "bench-load-master-key-0123456789abcdef"

func main() {
	clients := flag.Int("clients", 256, "concurrent clients, one connection each")
	duration := flag.Duration("duration", 20*time.Second, "how long each phase runs")
	workspaces := flag.Int("workspaces", 8, "workspaces (one key each); client i uses key i mod this")
	files := flag.Int("files", 200, "files written in each workspace before the load")
	dir := flag.String("dir", "", "work directory (default: a temporary one)")
	shelfBin := flag.String("shelf", "", "shelf binary to run (default: built from this checkout)")
	limiter := flag.Bool("limiter", true, "run the second phase, with --rate-limit")
	flag.Parse()
	if err := run(*clients, *duration, *workspaces, *files, *dir, *shelfBin, *limiter); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// tenant is one workspace: its key, its root and the files made before
// the load.
type tenant struct {
	key   string
	root  string
	files []string // item ids
}

func run(clients int, duration time.Duration, workspaces, files int, dir, bin string, limiter bool) error {
	ctx := context.Background()
	root, err := harness.ModuleRoot()
	if err != nil {
		return err
	}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "shelf-bench-load-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	rev := harness.Revision(root)
	if bin == "" {
		if bin, err = harness.BuildShelf(root, dir); err != nil {
			return err
		}
	} else {
		rev = "the binary " + bin
	}
	fmt.Println("# bench/load")
	fmt.Println()
	fmt.Println("command:", harness.Command("bench/load", os.Args[1:]))
	fmt.Println()
	for _, l := range harness.Machine(dir) {
		fmt.Println("-", l)
	}
	fmt.Printf("- shelf: %s\n- %d clients (one keep-alive connection each), %s per phase, %d workspaces of %d files\n\n",
		rev, clients, duration, workspaces, files)

	data := filepath.Join(dir, "data")
	phases := []struct {
		name  string
		flags []string
	}{
		{"defaults (rate limits off, --max-connections 4096)", nil},
		{"--rate-limit 1000000 (the limiter on every request, never refusing)", []string{"--rate-limit", "1000000"}},
	}
	if !limiter {
		phases = phases[:1]
	}
	fmt.Println("| phase | requests | requests/s | errors | p50 | p99 | max |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	var perKind []string
	var tenants []tenant
	for i, ph := range phases {
		p, err := harness.Start(ctx, "shelf", bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data}, ph.flags...),
			[]string{"SHELF_MASTER_KEY=" + master}, harness.ShelfURL)
		if err != nil {
			return err
		}
		c := newClient(clients)
		if i == 0 {
			if tenants, err = setup(c, p.URL, workspaces, files); err != nil {
				p.Stop()
				return fmt.Errorf("setup: %w", err)
			}
			ceil := load(c, clients, duration, func(_ int, _ *rand.Rand) (string, error) {
				return "healthz", expect(c.Get(p.URL + "/healthz"))(200)
			})
			fmt.Println(ceil.row("ceiling: GET /healthz, same clients"))
		}
		res := load(c, clients, duration, func(n int, r *rand.Rand) (string, error) {
			return mixed(c, p.URL, tenants[n%len(tenants)], n, r)
		})
		fmt.Println(res.row("Shelf, mixed: " + ph.name))
		perKind = append(perKind, res.kinds(ph.name)...)
		if res.errors > 0 {
			fmt.Fprintf(os.Stderr, "first errors (%s):\n%s\n", ph.name, strings.Join(res.firstErrors, "\n"))
		}
		c.CloseIdleConnections()
		p.Stop()
	}
	fmt.Println()
	fmt.Println("| phase | request | count | p50 | p99 |")
	fmt.Println("| --- | --- | --- | --- | --- |")
	for _, l := range perKind {
		fmt.Println(l)
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("\nload average at the end: %s\n", strings.Join(strings.Fields(string(b))[:3], " "))
	}
	return nil
}

func newClient(clients int) *http.Client {
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		MaxIdleConns: 2 * clients, MaxIdleConnsPerHost: 2 * clients, IdleConnTimeout: time.Minute,
	}}
}

// expect returns a check that the answer has one of the given statuses,
// reading and closing its body.
func expect(resp *http.Response, err error) func(statuses ...int) error {
	return func(statuses ...int) error {
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, rerr := io.ReadAll(resp.Body)
		if rerr != nil {
			return rerr
		}
		if !slices.Contains(statuses, resp.StatusCode) {
			return fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, b)
		}
		return nil
	}
}

func do(c *http.Client, method, url, key, ct string, body []byte) (*http.Response, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	return c.Do(req)
}

// text returns n bytes of words for file i.
func text(i, n int) []byte {
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"}
	r := rand.New(rand.NewPCG(uint64(i), 11))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
		b.WriteByte(' ')
	}
	return b.Bytes()[:n]
}

// setup makes the workspaces, their keys and files.
func setup(c *http.Client, base string, workspaces, files int) ([]tenant, error) {
	var out []tenant
	for w := 0; w < workspaces; w++ {
		resp, err := do(c, "POST", base+"/v1/workspaces", master, "application/json", fmt.Appendf(nil, `{"name":"load-%d"}`, w))
		var ws struct{ ID string }
		if err := decode(resp, err, 201, &ws); err != nil {
			return nil, err
		}
		resp, err = do(c, "POST", base+"/v1/keys", master, "application/json",
			fmt.Appendf(nil, `{"workspace_id":%q,"name":"load","scopes":["write"]}`, ws.ID))
		var k struct{ Key string }
		if err := decode(resp, err, 201, &k); err != nil {
			return nil, err
		}
		t := tenant{key: k.Key}
		resp, err = do(c, "GET", base+"/v1/libraries/default", t.key, "", nil)
		var lib struct {
			RootID string `json:"root_id"`
		}
		if err := decode(resp, err, 200, &lib); err != nil {
			return nil, err
		}
		t.root = lib.RootID
		for i := 0; i < files; i++ {
			resp, err := do(c, "PUT", fmt.Sprintf("%s/v1/files/f%04d.txt", base, i), t.key, "text/plain", text(w*files+i, 2048))
			var wr struct {
				Item struct{ ID string }
			}
			if err := decode(resp, err, 201, &wr); err != nil {
				return nil, err
			}
			t.files = append(t.files, wr.Item.ID)
		}
		out = append(out, t)
	}
	return out, nil
}

func decode(resp *http.Response, err error, status int, v any) error {
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != status {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("HTTP %d, want %d: %.200s", resp.StatusCode, status, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// mixed makes one request of the mix for client n and names its kind.
func mixed(c *http.Client, base string, t tenant, n int, r *rand.Rand) (string, error) {
	id := t.files[r.IntN(len(t.files))]
	switch x := r.IntN(100); {
	case x < 40:
		return "GET content", expect(do(c, "GET", base+"/v1/items/"+id+"/content", t.key, "", nil))(200)
	case x < 60:
		return "list 50 children", expect(do(c, "GET", base+"/v1/items/"+t.root+"/children?limit=50", t.key, "", nil))(200)
	case x < 70:
		return "GET item", expect(do(c, "GET", base+"/v1/items/"+id, t.key, "", nil))(200)
	case x < 85:
		q := []string{"alpha bravo", "delta", "hotel india", "kilo lima echo"}[r.IntN(4)]
		return "keyword search", expect(do(c, "POST", base+"/v1/search", t.key, "application/json",
			fmt.Appendf(nil, `{"query":%q,"mode":"keyword","top_k":10}`, q)))(200)
	default:
		// Half new files, half new versions of this client's own.
		path := fmt.Sprintf("%s/v1/files/c%03d/w%d.txt", base, n, r.IntN(20))
		return "PUT file", expect(do(c, "PUT", path, t.key, "text/plain", text(r.IntN(1<<30), 2048)))(200, 201)
	}
}

type result struct {
	requests    int
	errors      int
	firstErrors []string
	wall        time.Duration
	lat         []float64            // ms
	byKind      map[string][]float64 // ms
}

// load runs one(client, rng) from clients goroutines for d and gathers the
// latencies; a request that fails counts as an error, not a latency.
func load(c *http.Client, clients int, d time.Duration, one func(n int, r *rand.Rand) (string, error)) *result {
	res := &result{byKind: map[string][]float64{}}
	var mu sync.Mutex
	var stop atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()
	for n := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(n), 3))
			var lat []float64
			kinds := map[string][]float64{}
			var errs []string
			for !stop.Load() {
				t0 := time.Now()
				kind, err := one(n, r)
				ms := float64(time.Since(t0).Microseconds()) / 1000
				if err != nil {
					errs = append(errs, kind+": "+err.Error())
					continue
				}
				lat = append(lat, ms)
				kinds[kind] = append(kinds[kind], ms)
			}
			mu.Lock()
			defer mu.Unlock()
			res.requests += len(lat) + len(errs)
			res.errors += len(errs)
			res.lat = append(res.lat, lat...)
			for k, v := range kinds {
				res.byKind[k] = append(res.byKind[k], v...)
			}
			if len(res.firstErrors) < 5 {
				res.firstErrors = append(res.firstErrors, errs[:min(len(errs), 5-len(res.firstErrors))]...)
			}
		}()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	res.wall = time.Since(start)
	return res
}

func ms(x float64) string { return fmt.Sprintf("%.1f ms", x) }

func (r *result) row(name string) string {
	return fmt.Sprintf("| %s | %d | %.0f | %d | %s | %s | %s |", name, r.requests, float64(r.requests)/r.wall.Seconds(), r.errors,
		ms(harness.Percentile(r.lat, 50)), ms(harness.Percentile(r.lat, 99)), ms(harness.Percentile(r.lat, 100)))
}

func (r *result) kinds(phase string) []string {
	var names []string
	for k := range r.byKind {
		names = append(names, k)
	}
	slices.Sort(names)
	var out []string
	for _, k := range names {
		v := r.byKind[k]
		out = append(out, fmt.Sprintf("| %s | %s | %d | %s | %s |", strings.SplitN(phase, " ", 2)[0], k, len(v),
			ms(harness.Percentile(v, 50)), ms(harness.Percentile(v, 99))))
	}
	return out
}
