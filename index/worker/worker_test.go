package worker_test

import (
	"context"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/index/extract"
	"github.com/shelfmem/shelf/index/worker"
)

// memStore is the narrow store the workers take, in memory: one lock
// serializes transactions, and an Update's writes are kept only when it
// returns nil.
type memStore struct {
	mu       sync.Mutex
	items    map[string]*shelf.Item
	versions map[string]*shelf.Version // by item id: its one version
	jobs     map[string]*shelf.IndexJob
	chunks   map[string][]shelf.Chunk
	content  map[string]string
}

func newMemStore() *memStore {
	return &memStore{items: map[string]*shelf.Item{}, versions: map[string]*shelf.Version{},
		jobs: map[string]*shelf.IndexJob{}, chunks: map[string][]shelf.Chunk{}, content: map[string]string{}}
}

// add puts a file with its one version and its queued job.
func (m *memStore) add(id, name, contentType, text string, now time.Time) {
	m.items[id] = &shelf.Item{ID: id, WorkspaceID: "ws", Name: name, Type: shelf.TypeFile, ContentType: contentType,
		Head: 1, Index: shelf.IndexStatus{State: shelf.IndexQueued}}
	m.versions[id] = &shelf.Version{ItemID: id, WorkspaceID: "ws", Number: 1, ContentType: contentType, Size: int64(len(text))}
	m.content[id] = text
	m.jobs[id] = &shelf.IndexJob{ItemID: id, WorkspaceID: "ws", Version: 1, State: shelf.IndexQueued, RunAfter: now}
}

func (m *memStore) View(ctx context.Context, fn func(worker.Tx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return fn(&memTx{m: m.clone()})
}

func (m *memStore) Update(ctx context.Context, fn func(worker.Tx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	tx := &memTx{m: m.clone()}
	if err := fn(tx); err != nil {
		return err
	}
	m.items, m.versions, m.jobs, m.chunks = tx.m.items, tx.m.versions, tx.m.jobs, tx.m.chunks
	return nil
}

func (m *memStore) clone() *memStore {
	c := &memStore{items: map[string]*shelf.Item{}, versions: maps.Clone(m.versions), jobs: map[string]*shelf.IndexJob{},
		chunks: maps.Clone(m.chunks), content: m.content}
	for k, v := range m.items {
		it := *v
		c.items[k] = &it
	}
	for k, v := range m.jobs {
		j := *v
		c.jobs[k] = &j
	}
	return c
}

func (m *memStore) item(id string) shelf.Item {
	m.mu.Lock()
	defer m.mu.Unlock()
	return *m.items[id]
}

type memTx struct{ m *memStore }

var errNotFound = shelf.Errorf(shelf.ENOTFOUND, "not found")

func (t *memTx) PutIndexJob(ctx context.Context, j *shelf.IndexJob) error {
	c := *j
	t.m.jobs[j.ItemID] = &c
	return nil
}

func (t *memTx) IndexJob(ctx context.Context, ws, id string) (*shelf.IndexJob, error) {
	j, ok := t.m.jobs[id]
	if !ok {
		return nil, errNotFound
	}
	c := *j
	return &c, nil
}

func (t *memTx) ClaimIndexJobs(ctx context.Context, now, leaseUntil time.Time, token string, n int) ([]*shelf.IndexJob, error) {
	var out []*shelf.IndexJob
	for _, id := range slices.Sorted(maps.Keys(t.m.jobs)) {
		j := t.m.jobs[id]
		ready := j.State == shelf.IndexQueued && !j.RunAfter.After(now)
		stopped := j.State == shelf.IndexRunning && j.LeaseUntil.Before(now)
		if len(out) == n || !(ready || stopped) {
			continue
		}
		if stopped {
			j.Stops++
		}
		j.State, j.LeaseUntil, j.Token, j.Attempts = shelf.IndexRunning, leaseUntil, token, j.Attempts+1
		t.m.items[id].Index.State, t.m.items[id].Index.StartedAt = shelf.IndexRunning, now
		c := *j
		out = append(out, &c)
	}
	return out, nil
}

func (t *memTx) DeleteIndexJob(ctx context.Context, ws, id string) error {
	delete(t.m.jobs, id)
	return nil
}

func (t *memTx) SetIndexStatus(ctx context.Context, ws, id string, st shelf.IndexStatus) error {
	it, ok := t.m.items[id]
	if !ok {
		return errNotFound
	}
	it.Index = st
	return nil
}

func (t *memTx) ReplaceChunks(ctx context.Context, ws, id string, chunks []shelf.Chunk) error {
	t.m.chunks[id] = chunks
	return nil
}

func (t *memTx) Item(ctx context.Context, ws, id string) (*shelf.Item, error) {
	it, ok := t.m.items[id]
	if !ok {
		return nil, errNotFound
	}
	c := *it
	return &c, nil
}

func (t *memTx) Version(ctx context.Context, ws, id string, n int64) (*shelf.Version, error) {
	v, ok := t.m.versions[id]
	if !ok || v.Number != n {
		return nil, errNotFound
	}
	return v, nil
}

// failing is an Extractor that fails with err.
type failing struct{ err error }

func (f failing) Extract(ctx context.Context, open func() (io.ReadCloser, error), size int64, contentType, name string,
	lim extract.Limits) (*extract.Doc, error) {
	return nil, f.err
}

func newWorker(m *memStore, cfg worker.Config, now *time.Time, hooks *[]string) *worker.Worker {
	return worker.New(cfg, worker.Deps{
		Store: m,
		Open: func(ctx context.Context, v *shelf.Version) (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(m.content[v.ItemID])), nil
		},
		Now: func() time.Time { return *now },
		Hook: func(p string) {
			if hooks != nil {
				*hooks = append(*hooks, p)
			}
		},
	})
}

// TestOnce runs one batch over the narrow store alone: a text file is
// indexed with its chunks, a type with no text is skipped, and the test
// hooks fire.
func TestOnce(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC() // the lease deadline is real time
	m := newMemStore()
	m.add("a", "a.txt", "text/plain", "hello world, this is a file to index", now)
	m.add("b", "b.bin", "application/octet-stream", "\x00\x01", now)
	var hooks []string
	w := newWorker(m, worker.Config{}, &now, &hooks)
	n, err := w.Once(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Once = %d, %v; want 2 jobs", n, err)
	}
	if st := m.item("a").Index; st.State != shelf.IndexIndexed || !st.IndexedAt.Equal(now) {
		t.Errorf("a: %+v; want indexed at %v", st, now)
	}
	if len(m.chunks["a"]) == 0 || !strings.Contains(m.chunks["a"][0].Text, "hello world") {
		t.Errorf("a's chunks: %+v", m.chunks["a"])
	}
	if st := m.item("b").Index; st.State != shelf.IndexSkipped {
		t.Errorf("b: %+v; want skipped", st)
	}
	if len(m.jobs) != 0 {
		t.Errorf("jobs left: %v", slices.Collect(maps.Keys(m.jobs)))
	}
	if !slices.Contains(hooks, "index-claimed") || !slices.Contains(hooks, "index-extracting:a.txt") {
		t.Errorf("hooks: %q", hooks)
	}
	if n, err := w.Once(ctx); n != 0 || err != nil {
		t.Errorf("Once with no jobs = %d, %v", n, err)
	}
}

// TestRetryThenFail retries an error that may pass, with the error kept
// on the file, and fails the file at MaxAttempts; an error that cannot
// pass fails at once.
func TestRetryThenFail(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC() // the lease deadline is real time
	m := newMemStore()
	m.add("a", "a.txt", "text/plain", "text", now)
	w := newWorker(m, worker.Config{MaxAttempts: 2, Backoff: time.Minute,
		Extractor: failing{errors.New("disk hiccup")}}, &now, nil)
	if _, err := w.Once(ctx); err != nil {
		t.Fatal(err)
	}
	st, j := m.item("a").Index, m.jobs["a"]
	if st.State != shelf.IndexQueued || st.Error == "" || j == nil || !j.RunAfter.Equal(now.Add(time.Minute)) {
		t.Fatalf("after a first failure: status %+v, job %+v; want queued, retried in a minute", st, j)
	}
	if n, _ := w.Once(ctx); n != 0 {
		t.Fatalf("claimed %d jobs before their back-off ended", n)
	}
	now = now.Add(time.Minute)
	if _, err := w.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if st := m.item("a").Index; st.State != shelf.IndexFailed || len(m.jobs) != 0 {
		t.Fatalf("after MaxAttempts: %+v, %d jobs; want failed, none", st, len(m.jobs))
	}

	m.add("b", "b.txt", "text/plain", "text", now)
	w = newWorker(m, worker.Config{Extractor: failing{shelf.Errorf(shelf.EINVALID, "malformed")}}, &now, nil)
	if _, err := w.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if st := m.item("b").Index; st.State != shelf.IndexFailed || st.Error != "malformed" {
		t.Fatalf("a permanent error: %+v; want failed at once", st)
	}
}

// TestStops runs a job taken back from a stopped worker alone, handing
// the rest of the claim back, and fails a job claimed past MaxAttempts
// with the number of stops.
func TestStops(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC() // the lease deadline is real time
	m := newMemStore()
	m.add("a", "a.txt", "text/plain", "text a", now)
	m.add("b", "b.txt", "text/plain", "text b", now)
	// b was running in a worker that stopped: its lease ended.
	m.jobs["b"].State, m.jobs["b"].LeaseUntil, m.jobs["b"].Attempts = shelf.IndexRunning, now.Add(-time.Second), 1
	w := newWorker(m, worker.Config{MaxAttempts: 2}, &now, nil)
	if n, err := w.Once(ctx); n != 1 || err != nil {
		t.Fatalf("Once = %d, %v; want the suspect alone", n, err)
	}
	if st := m.item("b").Index; st.State != shelf.IndexIndexed {
		t.Errorf("the suspect: %+v; want indexed", st)
	}
	if j := m.jobs["a"]; j == nil || j.State != shelf.IndexQueued || j.Attempts != 0 {
		t.Errorf("the other job: %+v; want handed back, its attempt not counted", j)
	}

	m.add("c", "c.txt", "text/plain", "text c", now)
	m.jobs["c"].State, m.jobs["c"].LeaseUntil, m.jobs["c"].Attempts, m.jobs["c"].Stops = shelf.IndexRunning, now.Add(-time.Second), 2, 1
	delete(m.jobs, "a")
	if _, err := w.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if st := m.item("c").Index; st.State != shelf.IndexFailed || !strings.Contains(st.Error, "stopped while reading this file 2 times") {
		t.Errorf("past MaxAttempts: %+v", st)
	}
}

// TestForeground gives way while a write runs, and not once it ended
// longer than the idle gap ago.
func TestForeground(t *testing.T) {
	ctx := context.Background()
	f := worker.NewForeground()
	if live, busy := f.GiveWay(ctx, time.Millisecond, time.Second); !live || busy {
		t.Fatalf("idle: live %v busy %v", live, busy)
	}
	done := f.Begin()
	start := time.Now()
	if _, busy := f.GiveWay(ctx, 10*time.Millisecond, 50*time.Millisecond); !busy || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("a write in progress: busy %v after %v; want busy after MaxDefer", busy, time.Since(start))
	}
	done()
	if _, busy := f.GiveWay(ctx, 10*time.Millisecond, time.Second); busy {
		t.Fatal("still busy after the write ended and the idle gap passed")
	}
}
