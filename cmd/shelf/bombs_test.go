package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shelfmem/shelf/internal/bombs"
)

// residentOf returns a process's VmRSS in bytes, or 0 once it is gone.
func residentOf(pid int) int64 {
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

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, c)
		}
	}
	return out
}

// memorySampler records the peak resident memory of a server and of its
// children while it runs.
type memorySampler struct {
	mu         sync.Mutex
	server     int64 // peak of the server alone
	total      int64 // peak of the server and its children together
	child      int64 // peak of any one child
	stop, done chan struct{}
}

func sampleMemory(pid int) *memorySampler {
	m := &memorySampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			s := residentOf(pid)
			total, child := s, int64(0)
			for _, c := range childrenOf(pid) {
				r := residentOf(c)
				total += r
				child = max(child, r)
			}
			m.mu.Lock()
			m.server, m.total, m.child = max(m.server, s), max(m.total, total), max(m.child, child)
			m.mu.Unlock()
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

func (m *memorySampler) peaks() (server, total, child int64) {
	close(m.stop)
	<-m.done
	return m.server, m.total, m.child
}

// putFile writes the file at local to path with contentType and returns
// the item's id.
func putFile(t *testing.T, p *proc, path, contentType, local string) string {
	t.Helper()
	f, err := os.Open(local)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	req, _ := http.NewRequest("PUT", p.url+"/v1/files/"+path, f)
	req.ContentLength = st.Size()
	req.Header.Set("Authorization", "Bearer "+crashMaster)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("PUT %s: %d %s", path, resp.StatusCode, body)
	}
	var out struct {
		Item struct {
			ID string `json:"id"`
		} `json:"item"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Item.ID == "" {
		t.Fatalf("PUT %s: %s", path, body)
	}
	return out.Item.ID
}

type indexState struct {
	State string `json:"state"`
	Error string `json:"indexing_error_message"`
}

func itemIndex(t *testing.T, p *proc, id string) indexState {
	t.Helper()
	var it struct {
		Index indexState `json:"index"`
	}
	if st := p.do(t, "GET", "/v1/items/"+url.PathEscape(id), nil, &it); st != 200 {
		t.Fatalf("GET item %s: %d", id, st)
	}
	return it.Index
}

// TestBombsOverHTTP is issue 16's target: with every file of the bomb
// corpus uploaded to the real server (extraction in child processes, two
// index workers), the server's resident memory stays below its idle
// figure plus 256 MiB per worker, its children's with it, each file ends
// failed with a reason (or, for the two a streaming reader reads without
// harm, indexed) in bounded time, and the server never restarts.
func TestBombsOverHTTP(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc to read resident memory")
	}
	opts := bombs.Options{} // 250 MiB fields, 1 GiB flate bombs: the sizes of the issue
	if testing.Short() {
		opts = bombs.Options{Big: 24 << 20, Flate: 256 << 20}
	}
	corpus := t.TempDir()
	paths, err := bombs.WriteAll(corpus, opts)
	if err != nil {
		t.Fatal(err)
	}
	const workers, perWorker = 2, 256 << 20
	p := startShelfArgs(t, t.TempDir(), "", "--index-workers", strconv.Itoa(workers))
	pid := p.cmd.Process.Pid
	// Warm up with an ordinary file, then take the idle figures.
	warm := filepath.Join(corpus, "warm.txt")
	os.WriteFile(warm, []byte("an ordinary file to warm the server up"), 0o600)
	id := putFile(t, p, "warm.txt", "text/plain", warm)
	waitIndex(t, p, id, 30*time.Second)
	time.Sleep(200 * time.Millisecond)
	idleServer, idleChildren := residentOf(pid), int64(0)
	for _, c := range childrenOf(pid) {
		idleChildren += residentOf(c)
	}
	mem := sampleMemory(pid)

	type upload struct {
		b     bombs.Bomb
		id    string
		start time.Time
	}
	var ups []upload
	for _, b := range bombs.All() {
		ups = append(ups, upload{b, putFile(t, p, "bombs/"+b.Name, b.ContentType, paths[b.Name]), time.Now()})
	}
	const bound = 3 * time.Minute
	for _, u := range ups {
		st := waitIndex(t, p, u.id, bound)
		t.Logf("%-22s %-8s after %6.1fs: %s", u.b.Name, st.State, time.Since(u.start).Seconds(), st.Error)
		switch {
		case u.b.Readable && st.State != "indexed":
			t.Errorf("%s: %s (%s), want indexed", u.b.Name, st.State, st.Error)
		case !u.b.Readable && (st.State != "failed" || st.Error == ""):
			t.Errorf("%s: %s (%q), want failed with a reason", u.b.Name, st.State, st.Error)
		}
	}
	server, total, child := mem.peaks()
	t.Logf("idle: server %d MiB, children %d MiB; peaks: server %d MiB, server and children %d MiB, one child %d MiB",
		idleServer>>20, idleChildren>>20, server>>20, total>>20, child>>20)
	if limit := idleServer + workers*perWorker; server > limit {
		t.Errorf("server peaked at %d MiB, over idle %d MiB + %d × 256 MiB", server>>20, idleServer>>20, workers)
	}
	if limit := idleServer + idleChildren + workers*perWorker; total > limit {
		t.Errorf("server and children peaked at %d MiB together, over idle %d MiB + %d × 256 MiB", total>>20, (idleServer+idleChildren)>>20, workers)
	}
	if child > perWorker {
		t.Errorf("a child peaked at %d MiB, over its 256 MiB cap", child>>20)
	}
	// The server never went down.
	if err := p.cmd.Process.Signal(syscall.Signal(0)); err != nil || p.cmd.ProcessState != nil {
		t.Fatalf("the server is gone: %v", err)
	}
	if resp, err := http.Get(p.url + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v", err)
	}
	// And it still indexes.
	id = putFile(t, p, "after.txt", "text/plain", warm)
	if st := waitIndex(t, p, id, 30*time.Second); st.State != "indexed" {
		t.Fatalf("a file after the bombs: %+v", st)
	}
}

// waitIndex polls a file's index state until it is indexed or failed.
func waitIndex(t *testing.T, p *proc, id string, bound time.Duration) indexState {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		st := itemIndex(t, p, id)
		if st.State == "indexed" || st.State == "failed" {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("item %s still %q after %v:\n%s", id, st.State, bound, p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A server killed with -9 while a child extracts takes the child with it.
func TestKillLeavesNoWorker(t *testing.T) {
	corpus := t.TempDir()
	var slow bombs.Bomb
	for _, b := range bombs.All() {
		if b.Name == "zip-overlap.xlsx" { // seconds of work for its child
			slow = b
		}
	}
	path, err := slow.Write(corpus, bombs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := startShelfArgs(t, t.TempDir(), "")
	pid := p.cmd.Process.Pid
	id := putFile(t, p, slow.Name, slow.ContentType, path)
	deadline := time.Now().Add(30 * time.Second)
	for itemIndex(t, p, id).State != "running" {
		if time.Now().After(deadline) {
			t.Fatal("never started indexing")
		}
		time.Sleep(5 * time.Millisecond)
	}
	kids := childrenOf(pid)
	if len(kids) == 0 {
		t.Fatal("no extraction child")
	}
	p.kill(t)
	// Its file takes the child seconds more; it must not get them.
	deadline = time.Now().Add(2 * time.Second)
	for _, c := range kids {
		for syscall.Kill(c, 0) == nil {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c)); bytes.Contains(b, []byte(") Z ")) {
				break // a zombie waiting for init: it is dead
			}
			if time.Now().After(deadline) {
				t.Fatalf("child %d outlived the server", c)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
