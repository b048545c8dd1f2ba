// Command upload measures Shelf's chunked upload in one run against
//
//	(a) the ceiling: a bare net/http handler (this program, re-executed as a
//	    child process) that writes each PUT body at its offset in one
//	    preallocated file and fsyncs it, with Shelf's part layout and
//	    parallelism, and again over one stream;
//	(b) Shelf: a file uploaded as parts over -streams parallel streams to
//	    their pre-signed URLs, then finalized;
//	(c) tusd v2.10.0, the nearest peer: the same file as -streams parallel
//	    partial uploads, PATCHed in chunks of Shelf's part size, then
//	    concatenated.
//
// Every server is a separate process, started fresh for each run on a new
// directory of the same disk, and its peak RSS is read from /proc. The
// report (Markdown) gives the medians of -runs runs, the ratios, the
// finalize time against one sha256 pass over the stored file, and PASS or
// FAIL for each target of docs/PERFORMANCE.md. scripts/bench.sh runs it.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/shelfmem/shelf/bench/internal/harness"
)

func main() {
	// The child mode: serve the ceiling handler (see ceiling.go).
	if len(os.Args) == 4 && os.Args[1] == ceilingFlag {
		if err := serveCeiling(os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "ceiling:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench/upload:", err)
		os.Exit(1)
	}
}

type config struct {
	size      int64
	streams   int
	runs      int
	dir       string
	shelf     string
	shelfArgs []string // -shelf-args
	tusd      string
	drop      bool
	ceiling   bool
	ceiling1  bool
	keep      bool
	variants  []string // -decompose
	wait      time.Duration
	idle      float64
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("upload", flag.ContinueOnError)
	var c config
	fs.Int64Var(&c.size, "size", 1<<30, "bytes in the uploaded file")
	fs.IntVar(&c.streams, "streams", 4, "parallel upload streams")
	fs.IntVar(&c.runs, "runs", 3, "runs of each server; the report gives the medians")
	fs.StringVar(&c.dir, "dir", "", "work directory, on the disk Shelf's data would live on (default: a new directory under $TMPDIR)")
	fs.StringVar(&c.shelf, "shelf", "", "shelf binary (default: build ./cmd/shelf of this checkout)")
	fs.StringVar(&c.tusd, "tusd", "", "tusd binary (default: tusd on $PATH, else $(go env GOPATH)/bin/tusd)")
	fs.BoolVar(&c.drop, "drop-caches", true, "drop the page cache before every phase (needs root; falls back to sync)")
	fs.BoolVar(&c.ceiling, "ceiling", true, "measure the ceiling (false: Shelf and tusd only, e.g. under a profiler)")
	fs.BoolVar(&c.ceiling1, "ceiling1", true, "also measure the ceiling over a single stream")
	shelfArgs := fs.String("shelf-args", "", "more flags for shelf serve, space-separated (e.g. --sync-parts)")
	skipTusd := fs.Bool("skip-tusd", false, "do not run tusd")
	decompose := fs.String("decompose", "", "also run bench-only variants of the ceiling handler, comma-separated, each a +-joined set of hash, db, crc, falloc, nosync (e.g. hash,hash+db,crc+db), to tell what the gap to Shelf is made of")
	profile := fs.String("profile", "", "instead of the benchmark, upload once to a Shelf served in-process and write CPU, block and mutex profiles and an execution trace to this directory")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory")
	fs.DurationVar(&c.wait, "quiet-wait", time.Minute, "before each phase, wait up to this long for a second in which the CPUs are less than -quiet busy")
	fs.Float64Var(&c.idle, "quiet", 0.15, "CPU use (0..1) under which the machine counts as quiet")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.size < 1 || c.streams < 1 || c.runs < 1 {
		return fmt.Errorf("-size, -streams and -runs must be positive")
	}
	c.ceiling1 = c.ceiling1 && c.ceiling
	c.shelfArgs = strings.Fields(*shelfArgs)
	if *decompose != "" {
		c.variants = strings.Split(*decompose, ",")
	}

	root, err := harness.ModuleRoot()
	if err != nil {
		return err
	}
	if c.dir == "" {
		if c.dir, err = os.MkdirTemp("", "shelf-bench-upload-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}
	if !c.keep {
		defer os.RemoveAll(c.dir)
	}
	if !harness.SameDisk(c.dir, root) {
		fmt.Fprintf(os.Stderr, "warning: %s is not on the file system of %s, where Shelf's default data dir would live\n", c.dir, root)
	}

	if c.shelf == "" && *profile == "" {
		fmt.Fprintln(os.Stderr, "building ./cmd/shelf …")
		if c.shelf, err = harness.BuildShelf(root, c.dir); err != nil {
			return err
		}
	}
	tusdNote := ""
	switch {
	case *skipTusd:
		c.tusd, tusdNote = "", "skipped (-skip-tusd)"
	case c.tusd == "":
		c.tusd, tusdNote = findTusd()
	}

	fmt.Fprintf(os.Stderr, "generating %d bytes of payload …\n", c.size)
	payload := makePayload(c.size)
	sum := sha256.Sum256(payload)
	want := hex.EncodeToString(sum[:])

	b := &bench{cfg: c, payload: payload, sha: want, drop: &harness.CacheDropper{Disabled: !c.drop}}
	if *profile != "" {
		return b.profileShelf(ctx, *profile)
	}
	// The part layout is Shelf's: the ceiling and tusd use its part size.
	if b.parts, err = b.shelfLayout(ctx); err != nil {
		return err
	}

	fmt.Printf("# bench/upload\n\n")
	fmt.Printf("command: %s\n\n", harness.Command("bench/upload", args))
	for _, line := range harness.Machine(c.dir) {
		fmt.Printf("- %s\n", line)
	}
	fmt.Printf("- shelf: %s (%s)\n", harness.Revision(root), c.shelf)
	if len(c.shelfArgs) > 0 {
		fmt.Printf("- shelf serve flags added: `%s`\n", strings.Join(c.shelfArgs, " "))
	}
	if c.tusd != "" {
		fmt.Printf("- tusd: %s\n", c.tusd)
	}
	fmt.Printf("- file: %d bytes (%s), sha256 %s…, %d parts of %s over %d streams, %d runs\n\n",
		c.size, harness.MiB(c.size), want[:16], len(b.parts), harness.MiB(b.parts[0].size), c.streams, c.runs)

	var runs []runResult
	for i := range c.runs {
		fmt.Fprintf(os.Stderr, "run %d/%d\n", i+1, c.runs)
		r, err := b.runOnce(ctx, i)
		if err != nil {
			return err
		}
		runs = append(runs, r)
		printRun(os.Stderr, i, r, c)
	}
	fmt.Printf("- page cache: %s\n", b.drop.Status())
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("- load average at end: %s\n", strings.Join(strings.Fields(string(b))[:3], " "))
	}
	fmt.Println()
	if c.tusd == "" {
		fmt.Printf("**tusd was not run**: %s\n\n", tusdNote)
	}
	report(os.Stdout, runs, c)
	return nil
}

// findTusd looks for tusd on $PATH and in $(go env GOPATH)/bin; if it is in
// neither it returns "" and how to install it.
func findTusd() (string, string) {
	if p, err := exec.LookPath("tusd"); err == nil {
		return p, ""
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for gp := range strings.SplitSeq(strings.TrimSpace(string(out)), string(os.PathListSeparator)) {
			p := filepath.Join(gp, "bin", "tusd")
			if _, err := os.Stat(p); err == nil {
				return p, ""
			}
		}
	}
	note := "tusd not found on $PATH or in $(go env GOPATH)/bin; install it with " +
		"`go install github.com/tus/tusd/v2/cmd/tusd@v2.10.0` (scripts/bench.sh does) or pass -tusd"
	fmt.Fprintln(os.Stderr, "note:", note, "— skipping (c)")
	return "", note
}

// makePayload returns n deterministic pseudo-random bytes (ChaCha8 with a
// fixed seed), incompressible and the same on every run.
func makePayload(n int64) []byte {
	b := make([]byte, n)
	var seed [32]byte
	copy(seed[:], "shelf bench/upload payload seed")
	_, _ = rand.NewChaCha8(seed).Read(b) // never fails
	return b
}

// part is one byte range of the file.
type part struct {
	number int
	off    int64
	size   int64
}

type bench struct {
	cfg     config
	payload []byte
	sha     string
	parts   []part
	drop    *harness.CacheDropper
}

// runResult is one run of every server.
type runResult struct {
	ceiling  phase // -streams streams
	ceiling1 phase // one stream (zero when not measured)
	shelf    shelfResult
	tusd     tusdResult // zero when tusd was not run
	sumHot   time.Duration
	sumCold  time.Duration // 0 when the cache could not be dropped
	variants []phase       // of the ceiling, as c.variants
	busy     float64       // the highest CPU use (0..1) seen just before a phase
}

// phase is the measure of a server's part phase.
type phase struct {
	parts     time.Duration // wall time of the part PUTs
	serverCPU time.Duration // CPU time (user + system) the server used in it
	clientCPU time.Duration // and this process, the client
	idle      int64         // RSS after start, before uploads
	peak      int64         // VmHWM after the run
}

// timePhase runs f, the part phase of server p, and records its wall time
// and the CPU time the server and the client used.
func (ph *phase) time(p server, f func() (time.Duration, error)) error {
	s0, err := harness.ReadCPU(p.PID())
	if err != nil {
		return err
	}
	c0 := selfCPU()
	if ph.parts, err = f(); err != nil {
		return err
	}
	ph.clientCPU = selfCPU() - c0
	s1, err := harness.ReadCPU(p.PID())
	ph.serverCPU = s1 - s0
	return err
}

// selfCPU returns the CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type shelfResult struct {
	phase
	create      time.Duration
	finalize    time.Duration
	finalizeCPU time.Duration // the server's CPU time in finalize
	total       time.Duration // create + parts + finalize
}

type tusdResult struct {
	phase  // parts = creating the partial uploads and PATCHing them
	concat time.Duration
	total  time.Duration // parts + concat
}

func (b *bench) runOnce(ctx context.Context, i int) (runResult, error) {
	var r runResult
	var err error
	dir := func(name string) string { return filepath.Join(b.cfg.dir, fmt.Sprintf("%s-%d", name, i)) }

	if b.cfg.ceiling {
		b.settle(ctx, &r)
		if r.ceiling, err = b.runCeiling(ctx, dir("ceiling"), b.cfg.streams); err != nil {
			return r, err
		}
	}
	if b.cfg.ceiling1 {
		b.settle(ctx, &r)
		if r.ceiling1, err = b.runCeiling(ctx, dir("ceiling1"), 1); err != nil {
			return r, err
		}
	}
	b.settle(ctx, &r)
	var blob string
	if r.shelf, blob, err = b.runShelf(ctx, dir("shelf"), i); err != nil {
		return r, err
	}
	// One read-and-hash pass over the stored file, right after finalize,
	// so the page cache is as finalize found it; then once more from disk.
	if r.sumHot, err = sumFile(blob, b.sha); err != nil {
		return r, err
	}
	b.settle(ctx, &r)
	if b.drop.Err == nil && !b.drop.Disabled {
		if r.sumCold, err = sumFile(blob, b.sha); err != nil {
			return r, err
		}
	}
	if err := os.RemoveAll(dir("shelf")); err != nil {
		return r, err
	}
	if b.cfg.tusd != "" {
		b.settle(ctx, &r)
		if r.tusd, err = b.runTusd(ctx, dir("tusd")); err != nil {
			return r, err
		}
	}
	for j, mode := range b.cfg.variants {
		b.settle(ctx, &r)
		ph, err := b.runCeilingVariant(ctx, dir(fmt.Sprintf("variant%d", j)), b.cfg.streams, mode)
		if err != nil {
			return r, err
		}
		r.variants = append(r.variants, ph)
	}
	debug.FreeOSMemory()
	return r, nil
}

// settle starts a phase from the same state: dirty pages written, the page
// cache dropped if it may be, and the machine quiet if it gets quiet.
func (b *bench) settle(ctx context.Context, r *runResult) {
	b.drop.Drop()
	r.busy = max(r.busy, harness.WaitQuiet(ctx, b.cfg.wait, b.cfg.idle))
}

// sumFile reads path once, hashing it, and checks the sum.
func sumFile(path, want string) (time.Duration, error) {
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, make([]byte, 1<<20)); err != nil {
		return 0, err
	}
	d := time.Since(start)
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return 0, fmt.Errorf("%s: sha256 %s, want %s", path, got, want)
	}
	return d, nil
}

// idleRSS reads a process's idle RSS when called before the uploads.
func idleRSS(p server) (int64, error) {
	runtime.Gosched()
	time.Sleep(300 * time.Millisecond) // let start-up work settle
	m, err := harness.ReadMemory(p.PID())
	return m.RSS, err
}

func peakRSS(p server) (int64, error) {
	m, err := harness.ReadMemory(p.PID())
	return m.Peak, err
}
