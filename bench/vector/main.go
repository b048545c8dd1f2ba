// Command vector measures index/vector against the target of
// docs/VECTOR.md: at 1,000,000 vectors of 384 dimensions, k=10 queries in
// under 10 ms at the median with recall@10 of at least 0.95.
//
// It builds an index of -n synthetic vectors (clustered Gaussian data: a
// few hundred random topic centres, each vector a centre plus noise, which
// crowds like real embeddings do), then reports the build time, p50/p99
// latency of Search for k=10 on the graph, recall@10 of those searches
// against the exact scan, the exact scan's own latency (the in-run
// ceiling: what every query would cost without the graph), the latency
// with a 1% and a 30% filter, and the time to save and reload the index.
// Queries are fresh points from the same distribution, not indexed ones.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shelfmem/shelf/bench/internal/harness"
	"github.com/shelfmem/shelf/index/vector"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench/vector:", err)
		os.Exit(1)
	}
}

const (
	targetP50    = 10 * time.Millisecond
	targetRecall = 0.95
)

type config struct {
	n, dims, clusters int
	queries, recallQ  int
	exactQ            int
	k                 int
	m, efc            int
	efs               []int // efSearch values to measure; 0: the index's default
	seed              uint64
	noise             float64
	dir               string
	persist           bool
	filters           bool
	save, load        string
	restart           string
}

// parseEfs reads a comma-separated list of efSearch values ("64,128,200");
// 0 or "default" stands for the index's default.
func parseEfs(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if f == "default" || f == "auto" {
			out = append(out, 0)
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("-ef: %q is not an efSearch (a non-negative integer, 0 or \"default\" for the default)", f)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		out = []int{0}
	}
	return out, nil
}

func efName(ef int) string {
	if ef == 0 {
		return "default"
	}
	return strconv.Itoa(ef)
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("vector", flag.ContinueOnError)
	var c config
	var efList string
	fs.IntVar(&c.n, "n", 1_000_000, "vectors in the index")
	fs.IntVar(&c.dims, "dims", 384, "dimensions")
	fs.IntVar(&c.clusters, "clusters", 500, "topic centres of the synthetic data")
	fs.Float64Var(&c.noise, "noise", 0.8, "noise around a centre, relative to the centres' spread")
	fs.IntVar(&c.queries, "queries", 2000, "queries timed on the graph")
	fs.IntVar(&c.recallQ, "recall-queries", 300, "of those, how many are checked against the exact scan")
	fs.IntVar(&c.exactQ, "exact-queries", 0, "exact-scan queries timed for the ceiling (default: recall-queries)")
	fs.IntVar(&c.k, "k", 10, "neighbours per query")
	fs.IntVar(&c.m, "m", 0, "HNSW M (0: the index's default)")
	fs.IntVar(&c.efc, "efc", 0, "HNSW efConstruction (0: default)")
	fs.StringVar(&efList, "ef", "0", "HNSW efSearch values, comma-separated (e.g. 64,128,200,300), each measured on the same index; 0 or \"default\": the index's default")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the data and of the level generator")
	fs.StringVar(&c.dir, "dir", "", "directory for the persistence round trip (default: $TMPDIR)")
	fs.BoolVar(&c.persist, "persist", true, "time WriteTo to a file and Read back (skipped with -save or -load, which time their own write or read)")
	fs.BoolVar(&c.filters, "filters", true, "also time searches with a 1% and a 30% filter (at the index's own efSearch)")
	fs.StringVar(&c.save, "save", "", "after building, write the index to this file (left alone if it already exists)")
	fs.StringVar(&c.load, "load", "", "read the index from this file (written by -save with the same -n, -dims, -clusters, -noise and -seed) instead of building it")
	fs.StringVar(&c.restart, "restart", "", "instead, measure a restart of the search engine (index/search) over a SQLite store of -n chunks with embeddings, made in (and kept for later runs in) this directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.n < 1 || c.dims < 1 || c.clusters < 1 || c.queries < 1 || c.k < 1 {
		return fmt.Errorf("-n, -dims, -clusters, -queries and -k must be positive")
	}
	if c.save != "" && c.load != "" {
		return fmt.Errorf("-save and -load are exclusive (a loaded index is already saved)")
	}
	var err error
	if c.efs, err = parseEfs(efList); err != nil {
		return err
	}
	c.recallQ = min(c.recallQ, c.queries)
	if c.exactQ == 0 {
		c.exactQ = c.recallQ
	}
	if c.dir == "" {
		c.dir = os.TempDir()
	}

	fmt.Printf("# bench/vector\n\n")
	fmt.Printf("command: %s\n\n", harness.Command("bench/vector", args))
	for _, line := range harness.Machine(c.dir) {
		fmt.Printf("- %s\n", line)
	}
	if root, err := harness.ModuleRoot(); err == nil {
		fmt.Printf("- shelf: %s\n", harness.Revision(root))
	}

	gen := newData(c)
	if c.restart != "" {
		return restartBench(ctx, c, gen, c.restart)
	}
	fmt.Printf("- data: %d vectors of %d dims around %d centres (noise %.2f), %d fresh query vectors; seed %d\n",
		c.n, c.dims, c.clusters, c.noise, c.queries, c.seed)
	var x *vector.Index
	if c.load != "" {
		if x, err = load(ctx, c, gen); err != nil {
			return err
		}
	} else {
		if x, err = build(ctx, c, gen); err != nil {
			return err
		}
		if c.save != "" {
			if err := save(x, c.save); err != nil {
				return err
			}
		}
	}
	o := x.Options()
	efDesc := fmt.Sprintf("%d (set explicitly)", o.EfSearch)
	if o.EfSearch == 0 {
		efDesc = fmt.Sprintf("%d (the default, EfSearchFor(%d))", x.EfSearch(), x.Len())
	}
	fmt.Printf("- index: M=%d, efConstruction=%d, efSearch=%s, ExactBelow=%d (below it Search scans exactly)\n",
		o.M, o.EfConstruction, efDesc, o.ExactBelow)

	// The queries are drawn after the n indexed vectors, so a loaded index
	// gets the same queries as the run that built it.
	queries := make([][]float32, c.queries)
	for i := range queries {
		queries[i] = gen.next()
	}

	fmt.Fprintln(os.Stderr, "timing exact searches …")
	exactLat, truth, err := timeSearch(ctx, queries[:max(c.exactQ, c.recallQ)], func(q []float32) ([]vector.Hit, error) {
		return x.SearchExact(q, c.k, nil)
	})
	if err != nil {
		return err
	}

	type efRow struct {
		ef, eff int // as asked, as applied
		lat     series
		rec     float64
		hits    [][]vector.Hit
	}
	var rows []efRow
	for _, ef := range c.efs {
		x.SetEfSearch(ef)
		eff := x.EfSearch()
		fmt.Fprintf(os.Stderr, "timing graph searches, efSearch %s (%d) …\n", efName(ef), eff)
		lat, hits, err := timeSearch(ctx, queries, func(q []float32) ([]vector.Hit, error) { return x.Search(q, c.k, nil) })
		if err != nil {
			return err
		}
		var sum float64
		for i := range c.recallQ {
			sum += recall(hits[i], truth[i])
		}
		rows = append(rows, efRow{ef, eff, lat, sum / float64(c.recallQ), hits})
	}
	x.SetEfSearch(o.EfSearch)
	defEf := x.EfSearch()

	// Filters: 1% (at 1M, 10,000 allowed ≤ ExactBelow: the exact scan over
	// the allowed set) and 30% (the graph with a widened beam).
	filtered := func(mod uint64, keep uint64) (series, float64, error) {
		allow := func(id uint64) bool { return id%mod < keep }
		lat, got, err := timeSearch(ctx, queries[:c.recallQ], func(q []float32) ([]vector.Hit, error) {
			return x.Search(q, c.k, allow)
		})
		if err != nil {
			return nil, 0, err
		}
		_, want, err := timeSearch(ctx, queries[:c.recallQ], func(q []float32) ([]vector.Hit, error) {
			return x.SearchExact(q, c.k, allow)
		})
		if err != nil {
			return nil, 0, err
		}
		var s float64
		for i := range got {
			s += recall(got[i], want[i])
		}
		return lat, s / float64(len(got)), nil
	}
	var f1, f30 series
	var r1, r30 float64
	if c.filters {
		fmt.Fprintln(os.Stderr, "timing filtered searches …")
		if f1, r1, err = filtered(100, 1); err != nil {
			return err
		}
		if f30, r30, err = filtered(10, 3); err != nil {
			return err
		}
	}

	fmt.Println()
	fmt.Printf("| k=%d, one query at a time | efSearch | p50 | p99 | recall@%d | queries |\n|---|---|---|---|---|---|\n", c.k, c.k)
	row := func(name, ef string, s series, r string) {
		fmt.Printf("| %s | %s | %s | %s | %s | %d |\n", name, ef, ms3(s.pct(50)), ms3(s.pct(99)), r, len(s))
	}
	for _, r := range rows {
		ef := strconv.Itoa(r.eff)
		if r.ef == 0 {
			ef += " (default)"
		}
		row("HNSW `Search`", ef, r.lat, fmt.Sprintf("%.4f (%d queries vs exact)", r.rec, c.recallQ))
	}
	row("exact scan `SearchExact` (ceiling)", "–", exactLat, "1 (reference)")
	if c.filters {
		row("`Search`, filter allowing 1%", strconv.Itoa(defEf)+" (index's)", f1, fmt.Sprintf("%.4f", r1))
		row("`Search`, filter allowing 30%", strconv.Itoa(defEf)+" (index's, widened)", f30, fmt.Sprintf("%.4f", r30))
	}
	fmt.Println()
	for _, r := range rows {
		p50 := r.lat.pct(50)
		verdict := "meets"
		if p50 > targetP50.Seconds() || r.rec < targetRecall {
			verdict = "MISSES"
		}
		fmt.Printf("target (p50 ≤ %s, recall@10 ≥ %.2f at 1,000,000 vectors): efSearch %d %s at n=%d — p50 %s, recall %.4f; speed-up over the exact scan %.0f×\n",
			targetP50, targetRecall, r.eff, verdict, c.n, ms3(p50), r.rec, exactLat.pct(50)/max(p50, 1e-9))
	}

	if c.persist && c.save == "" && c.load == "" {
		x.SetEfSearch(rows[0].ef)
		if err := persist(x, c.dir, queries[:c.recallQ], rows[0].hits); err != nil {
			return err
		}
	}
	return nil
}

// build adds c.n vectors from gen to a new index.
func build(ctx context.Context, c config, gen *data) (*vector.Index, error) {
	x, err := vector.New(c.dims, vector.Options{M: c.m, EfConstruction: c.efc, Seed: c.seed})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	last := start
	for i := range c.n {
		if err := x.Add(uint64(i), gen.next()); err != nil {
			return nil, err
		}
		if time.Since(last) > 30*time.Second {
			last = time.Now()
			el := time.Since(start)
			fmt.Fprintf(os.Stderr, "  %d/%d added in %s (%.0f/s now)\n", i+1, c.n, el.Round(time.Second), float64(i+1)/el.Seconds())
		}
		if i%4096 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	build := time.Since(start)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	fmt.Printf("- build: %s single-threaded (%.0f vectors/s); Go heap in use after build %s\n",
		build.Round(time.Millisecond), float64(c.n)/build.Seconds(), harness.MiB(int64(ms.HeapInuse)))
	return x, nil
}

// save writes x to path unless a file is already there; it writes a
// temporary file beside it and renames it, so an interrupted save leaves no
// half-written index under path.
func save(x *vector.Index, path string) error {
	if _, err := os.Stat(path); err == nil {
		fmt.Printf("- save: %s already exists, left alone\n", path)
		return nil
	}
	tmp := fmt.Sprintf("%s.tmp-%d", path, os.Getpid())
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // after the rename, a no-op
	t := time.Now()
	n, err := x.WriteTo(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return err
	}
	fmt.Printf("- save: WriteTo %s + fsync in %s to %s\n", harness.MiB(n), time.Since(t).Round(time.Millisecond), path)
	return nil
}

// load reads the index at c.load and checks it holds the data gen makes:
// it draws the c.n indexed vectors again (the queries come after them) and
// looks a sample of them up, each of which must be its own nearest
// neighbour under its own id.
func load(ctx context.Context, c config, gen *data) (*vector.Index, error) {
	f, err := os.Open(c.load)
	if err != nil {
		return nil, err
	}
	t := time.Now()
	x, err := vector.Read(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.load, err)
	}
	took := time.Since(t)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	fmt.Printf("- load: Read %s in %s (page cache as it was); Go heap in use after load %s\n",
		c.load, took.Round(time.Millisecond), harness.MiB(int64(ms.HeapInuse)))
	if x.Dims() != c.dims || x.Len() != c.n {
		return nil, fmt.Errorf("%s holds %d vectors of %d dims; -n %d -dims %d asks for another index", c.load, x.Len(), x.Dims(), c.n, c.dims)
	}
	const checks = 32
	step := max(c.n/checks, 1)
	checked := 0
	v := make([]float32, c.dims)
	for i := range c.n {
		gen.nextInto(v)
		if i%step != step/2 {
			continue
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		h, err := x.SearchExact(v, 1, nil)
		if err != nil {
			return nil, err
		}
		if len(h) == 0 || h[0].ID != uint64(i) || h[0].Score < 0.9999 {
			return nil, fmt.Errorf("%s does not hold the vectors of this run's data (vector %d: nearest %v); same -n, -dims, -clusters, -noise and -seed as the -save run?", c.load, i, h)
		}
		checked++
	}
	fmt.Printf("- load check: the data regenerated from seed %d; %d sampled vectors found under their own ids (score ≥ 0.9999)\n", c.seed, checked)
	return x, nil
}

// persist times WriteTo and Read and checks the reloaded index answers
// the same.
func persist(x *vector.Index, dir string, queries [][]float32, want [][]vector.Hit) error {
	path := filepath.Join(dir, fmt.Sprintf("shelf-bench-vector-%d.idx", os.Getpid()))
	defer os.Remove(path)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	t := time.Now()
	n, err := x.WriteTo(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	save := time.Since(t)
	t = time.Now()
	f, err = os.Open(path)
	if err != nil {
		return err
	}
	y, err := vector.Read(f)
	f.Close()
	if err != nil {
		return err
	}
	load := time.Since(t)
	same := 0
	for i, q := range queries {
		got, err := y.Search(q, len(want[i]), nil)
		if err != nil {
			return err
		}
		if slices.Equal(got, want[i]) {
			same++
		}
	}
	fmt.Printf("- persistence: WriteTo %s + fsync in %s; Read in %s (page cache warm); %d/%d queries answered identically after reload\n",
		harness.MiB(n), save.Round(time.Millisecond), load.Round(time.Millisecond), same, len(queries))
	return nil
}

// series is latencies in seconds.
type series []float64

func (s series) pct(p float64) float64 { return harness.Percentile(s, p) }

func ms3(sec float64) string { return fmt.Sprintf("%.3f ms", sec*1000) }

func timeSearch(ctx context.Context, qs [][]float32, f func([]float32) ([]vector.Hit, error)) (series, [][]vector.Hit, error) {
	lat := make(series, 0, len(qs))
	res := make([][]vector.Hit, 0, len(qs))
	for _, q := range qs {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		t := time.Now()
		h, err := f(q)
		lat = append(lat, time.Since(t).Seconds())
		if err != nil {
			return nil, nil, err
		}
		res = append(res, h)
	}
	return lat, res, nil
}

func recall(got, want []vector.Hit) float64 {
	if len(want) == 0 {
		return 1
	}
	n := 0
	for _, w := range want {
		if slices.ContainsFunc(got, func(h vector.Hit) bool { return h.ID == w.ID }) {
			n++
		}
	}
	return float64(n) / float64(len(want))
}

// data draws clustered vectors one at a time, so the bench holds only the
// index's copy.
type data struct {
	rng     *rand.Rand
	centres [][]float32
	noise   float64
}

func newData(c config) *data {
	d := &data{rng: rand.New(rand.NewPCG(c.seed, 0xda7a)), noise: c.noise}
	d.centres = make([][]float32, c.clusters)
	for i := range d.centres {
		v := make([]float32, c.dims)
		for j := range v {
			v[j] = float32(d.rng.NormFloat64())
		}
		d.centres[i] = v
	}
	return d
}

func (d *data) next() []float32 {
	v := make([]float32, len(d.centres[0]))
	d.nextInto(v)
	return v
}

// nextInto draws the next vector into v, which has the dims' length; it
// consumes the generator exactly as next does.
func (d *data) nextInto(v []float32) {
	c := d.centres[d.rng.IntN(len(d.centres))]
	for j := range v {
		v[j] = c[j] + float32(d.noise*d.rng.NormFloat64())
	}
}
