// Package harness is what the benchmarks under bench/ share: it starts the
// programs they measure as separate processes, reads their memory from
// /proc, builds the shelf binary, drops the page cache between phases and
// describes the machine a run was made on. It is for benchmarks only; the
// server never imports it.
package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is a server process started by Start.
type Proc struct {
	Name string
	URL  string // the base URL the process said it listens on
	cmd  *exec.Cmd
	log  *tail
	done chan struct{}
}

// Pid is the process's id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// ResidentBytes is the resident memory of process pid (VmRSS of
// /proc/pid/status), or 0 where that cannot be read.
func ResidentBytes(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// Start runs name with args and env (added to this process's environment)
// and waits until a line of its stdout or stderr gives its URL: urlOf
// returns it and true for that line. It fails if the process exits or says
// nothing usable within 30 seconds.
func Start(ctx context.Context, label, name string, args, env []string, urlOf func(line string) (string, bool)) (*Proc, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", label, err)
	}
	p := &Proc{Name: label, cmd: cmd, log: &tail{max: 64 << 10}, done: make(chan struct{})}
	urls := make(chan string, 2)
	var wg sync.WaitGroup
	for _, r := range []io.Reader{stdout, stderr} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			found := false
			for sc.Scan() {
				line := sc.Text()
				p.log.WriteLine(line)
				if !found {
					if u, ok := urlOf(line); ok {
						found = true
						urls <- u
					}
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		_ = cmd.Wait()
		close(p.done)
	}()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case p.URL = <-urls:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("%s exited before it listened:\n%s", label, p.log.String())
	case <-timer.C:
		p.Stop()
		return nil, fmt.Errorf("%s did not say where it listens within 30s:\n%s", label, p.log.String())
	case <-ctx.Done():
		p.Stop()
		return nil, ctx.Err()
	}
}

// PID returns the process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Log returns the last 64 KiB the process printed.
func (p *Proc) Log() string { return p.log.String() }

// Stop sends SIGTERM and, if the process has not exited after 10 seconds,
// SIGKILL; it returns when the process is gone.
func (p *Proc) Stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(10 * time.Second):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Memory is a process's resident set, in bytes.
type Memory struct {
	RSS  int64 // VmRSS: now
	Peak int64 // VmHWM: the high-water mark since the process started
}

// ReadMemory reads VmRSS and VmHWM from /proc/pid/status.
func ReadMemory(pid int) (Memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	var m Memory
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *int64
		switch k {
		case "VmRSS":
			dst = &m.RSS
		case "VmHWM":
			dst = &m.Peak
		default:
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return Memory{}, fmt.Errorf("/proc/%d/status: unexpected %s line %q", pid, k, line)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return Memory{}, err
		}
		*dst = n << 10
	}
	return m, nil
}

// tail keeps the last max bytes of a process's output.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) WriteLine(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(append(t.b, s...), '\n')
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// CacheDropper flushes dirty pages and, when it may, drops the page cache,
// so that each phase of a benchmark starts from the same state. It tries
// once; if /proc/sys/vm/drop_caches cannot be written it says why and from
// then on only syncs.
type CacheDropper struct {
	Disabled bool  // never try to drop (-drop-caches=false)
	Err      error // why dropping failed, if it did
	Dropped  int   // how many times the cache was dropped
}

// Drop syncs every file system and drops the page cache if it can.
func (c *CacheDropper) Drop() {
	syscall.Sync()
	if c.Disabled || c.Err != nil {
		return
	}
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0); err != nil {
		c.Err = err
		fmt.Fprintf(os.Stderr, "note: cannot drop the page cache (%v); phases start with a sync only\n", err)
		return
	}
	c.Dropped++
}

// Status says what Drop did, for the report.
func (c *CacheDropper) Status() string {
	switch {
	case c.Disabled:
		return "not dropped (-drop-caches=false); sync between phases"
	case c.Err != nil:
		return fmt.Sprintf("could not be dropped (%v); sync between phases", c.Err)
	case c.Dropped > 0:
		return "sync + drop_caches=3 before every phase"
	}
	return "sync between phases"
}

// ModuleRoot returns the directory of the main module (the repository).
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the shelf module: run from the repository")
	}
	return filepath.Dir(mod), nil
}

// BuildShelf builds ./cmd/shelf of the module at root into dir and returns
// the binary's path.
func BuildShelf(root, dir string) (string, error) {
	bin := filepath.Join(dir, "shelf")
	cmd := exec.Command("go", "build", "-tags", "sqlite_fts5", "-o", bin, "./cmd/shelf")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/shelf: %v\n%s", err, out)
	}
	return bin, nil
}

// ShelfURL reads the address from the first line `shelf serve` prints.
func ShelfURL(line string) (string, bool) {
	u, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	return u, ok
}

// Revision describes the source the shelf binary was built from: the
// commit, and whether tracked files had uncommitted changes.
func Revision(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown (not a git checkout)"
	}
	rev := strings.TrimSpace(string(out))
	st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output()
	if err == nil && len(bytes.TrimSpace(st)) > 0 {
		rev += " + uncommitted changes"
	}
	return rev
}

// Machine describes the host: CPUs, memory, kernel, Go, and the file system
// holding dir.
func Machine(dir string) []string {
	var lines []string
	model := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	lines = append(lines, fmt.Sprintf("CPU: %d × %s (runtime.NumCPU)", runtime.NumCPU(), model))
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if strings.HasPrefix(line, "MemTotal:") {
				lines = append(lines, "memory: "+strings.TrimSpace(strings.TrimPrefix(line, "MemTotal:")))
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		lines = append(lines, "kernel: Linux "+strings.TrimSpace(string(b)))
	}
	lines = append(lines, "Go: "+runtime.Version()+" (bench client); servers built with the same toolchain")
	lines = append(lines, "disk: "+Disk(dir))
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		lines = append(lines, "load average at start: "+strings.Join(strings.Fields(string(b))[:3], " "))
	}
	return lines
}

// Disk names the file system that holds dir: device, type, size and free
// space (what `df` shows).
func Disk(dir string) string {
	dev, fstype, mnt := mountOf(dir)
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Sprintf("%s (%s) on %s", dev, fstype, mnt)
	}
	size := float64(st.Blocks) * float64(st.Bsize) / (1 << 30)
	free := float64(st.Bavail) * float64(st.Bsize) / (1 << 30)
	rot := ""
	if b, err := os.ReadFile("/sys/block/" + filepath.Base(dev) + "/queue/rotational"); err == nil {
		rot = map[string]string{"0": ", non-rotational", "1": ", reported rotational (virtual disk)"}[strings.TrimSpace(string(b))]
	}
	return fmt.Sprintf("%s (%s) mounted on %s, %.0f GiB, %.0f GiB free%s; work dir %s", dev, fstype, mnt, size, free, rot, dir)
}

// SameDisk reports whether a and b are on the same file system.
func SameDisk(a, b string) bool {
	var sa, sb syscall.Stat_t
	if syscall.Stat(a, &sa) != nil || syscall.Stat(b, &sb) != nil {
		return false
	}
	return sa.Dev == sb.Dev
}

// mountOf returns the /proc/mounts entry with the longest mount point that
// contains dir.
func mountOf(dir string) (dev, fstype, mnt string) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return "?", "?", "?"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		m := f[1]
		if (abs == m || strings.HasPrefix(abs, strings.TrimSuffix(m, "/")+"/")) && len(m) > len(mnt) {
			dev, mnt, fstype = f[0], m, f[2]
		}
	}
	return dev, fstype, mnt
}

// Median returns the median of xs (the mean of the middle two for an even
// count); 0 for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Percentile returns the p-th percentile (0..100) of xs by the
// nearest-rank method; 0 for none.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(p/100*float64(len(s))+0.999999999) - 1
	return s[max(0, min(rank, len(s)-1))]
}

// MiB formats a byte count in MiB.
func MiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// clockTicks is USER_HZ, the unit of /proc/pid/stat times; 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// ReadCPU returns the CPU time (user + system) the process has used, from
// /proc/pid/stat.
func ReadCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// Command returns the command line that made a report: BENCH_COMMAND when
// scripts/bench.sh set it, else `go run ./pkg args`, and the flags given.
func Command(pkg string, args []string) string {
	run := "go run ./" + pkg
	if len(args) > 0 {
		run += " " + strings.Join(args, " ")
	}
	if c := os.Getenv("BENCH_COMMAND"); c != "" {
		return fmt.Sprintf("`%s` (ran `%s %s`)", c, pkg, strings.Join(args, " "))
	}
	return "`" + run + "`"
}

// busy returns the CPU time all processes have used and the wall time the
// CPUs have run (both in jiffies, summed over CPUs), from /proc/stat.
func busy() (used, total int64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, 0, errors.New("/proc/stat: unexpected first line")
	}
	for i, s := range f[1:] {
		if i >= 8 { // guest times are already in user and nice
			break
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, 0, err
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			used += n
		}
	}
	return used, total, nil
}

// WaitQuiet waits, up to limit, for a second in which the machine's CPUs
// are less than threshold (0..1) busy, so that a phase does not start while
// other work runs on a shared machine. It returns how busy the last second
// was; a result above threshold means it gave up waiting.
func WaitQuiet(ctx context.Context, limit time.Duration, threshold float64) float64 {
	deadline := time.Now().Add(limit)
	frac := 1.0
	for {
		u0, t0, err := busy()
		if err != nil {
			return 0
		}
		select {
		case <-ctx.Done():
			return frac
		case <-time.After(time.Second):
		}
		u1, t1, err := busy()
		if err != nil || t1 == t0 {
			return 0
		}
		frac = float64(u1-u0) / float64(t1-t0)
		if frac < threshold || time.Now().After(deadline) {
			return frac
		}
	}
}

// Setup does what every benchmark of the shelf binary does first: it
// makes the work directory *dir (a new one under $TMPDIR when ""),
// builds ./cmd/shelf into it when *shelf is "", and prints the report's
// header (the command, the machine, the revision and binary). The
// returned cleanup removes the work directory unless keep.
func Setup(name string, args []string, dir, shelf *string, keep bool) (cleanup func(), err error) {
	cleanup = func() {}
	root, err := ModuleRoot()
	if err != nil {
		return cleanup, err
	}
	if *dir == "" {
		if *dir, err = os.MkdirTemp("", "shelf-bench-"+name+"-"); err != nil {
			return cleanup, err
		}
	}
	if !keep {
		d := *dir
		cleanup = func() { os.RemoveAll(d) }
	}
	if *shelf == "" {
		fmt.Fprintln(os.Stderr, "building ./cmd/shelf …")
		if *shelf, err = BuildShelf(root, *dir); err != nil {
			return cleanup, err
		}
	}
	fmt.Printf("# bench/%s\n\ncommand: %s\n\n", name, Command("bench/"+name, args))
	for _, line := range Machine(*dir) {
		fmt.Printf("- %s\n", line)
	}
	fmt.Printf("- shelf: %s (%s)\n", Revision(root), *shelf)
	return cleanup, nil
}
