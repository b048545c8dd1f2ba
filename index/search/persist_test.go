package search

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shelfmem/shelf"
)

const testModel = "m1"

// replaceVec replaces a file's chunks with texts, each with an embedding
// of testModel made from its words.
func (f *kwFixture) replaceVec(ws, item string, texts ...string) {
	f.t.Helper()
	chunks := make([]shelf.Chunk, len(texts))
	for i, s := range texts {
		v := make([]float32, 8)
		for _, w := range strings.Fields(s) {
			v[int(w[0])%8] += float32(len(w))
		}
		v[7] += 0.5
		chunks[i] = shelf.Chunk{Version: 1, Index: i, Text: s, End: len(s), Model: testModel, Vector: v}
	}
	if err := f.w.Update(f.ctx, func(tx shelf.Tx) error { return tx.ReplaceChunks(f.ctx, ws, item, chunks) }); err != nil {
		f.t.Fatal(err)
	}
}

// answers is what an engine answers to a set of queries, keyword and
// semantic, in both workspaces: ids, order and scores.
func (f *kwFixture) answers(e *Engine) []string {
	f.t.Helper()
	var out []string
	for _, ws := range []string{"ws", "other"} {
		for _, q := range [][]string{{"alpha"}, {"bravo", "charlie"}, {"delta", "echo", "alpha"}, {"golf"}} {
			hits, err := e.Keyword(f.ctx, ws, shelf.ChunkQuery{Terms: q, Limit: 20})
			if err != nil {
				f.t.Fatal(err)
			}
			for _, h := range hits {
				out = append(out, fmt.Sprintf("k|%s|%q|%s#%d|%s|%.6f", ws, q, h.Item.ID, h.Chunk.Index, h.Highlight, h.Score))
			}
		}
		for _, q := range [][]float32{{1, 0, 0, 0, 0, 0, 0, 1}, {0, 3, 1, 0, 0, 2, 0, 1}} {
			hits, err := e.Semantic(f.ctx, ws, q, shelf.ChunkQuery{Limit: 10})
			if err != nil {
				f.t.Fatal(err)
			}
			for _, h := range hits {
				out = append(out, fmt.Sprintf("s|%s|%v|%s#%d|%.6f", ws, q, h.Item.ID, h.Chunk.Index, h.Score))
			}
		}
	}
	return out
}

func (f *kwFixture) fill(rng *rand.Rand, n int) {
	vocab := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"}
	for range n {
		ws := []string{"ws", "other"}[rng.IntN(2)]
		var texts []string
		for range rng.IntN(4) {
			var w []string
			for range 1 + rng.IntN(6) {
				w = append(w, vocab[rng.IntN(len(vocab))])
			}
			texts = append(texts, strings.Join(w, " "))
		}
		f.replaceVec(ws, fmt.Sprintf("%s-f%02d", ws, rng.IntN(12)), texts...)
	}
}

// A restart loads the saved indexes, catches them up with the chunks
// added and deleted since the save, and answers exactly as the engine
// that saved them would have, and as one built from the store.
func TestRestartCatchesUp(t *testing.T) {
	f := newKWFixture(t, 12)
	rng := rand.New(rand.NewPCG(7, 8))
	f.fill(rng, 40)
	dir := filepath.Join(t.TempDir(), "index")
	st := mustOpen(t, f.path)
	cfg := Config{Dir: dir, Model: testModel}
	first := engineOver(st, cfg)
	before := f.answers(first)
	if len(before) == 0 {
		t.Fatal("nothing found")
	}
	if err := first.Save(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{keywordFile, vectorFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	// A restart with nothing changed answers the same, and reads no chunk:
	// its indexes are the saved ones.
	second := engineOver(st, cfg)
	if err := second.Warm(f.ctx); err != nil {
		t.Fatal(err)
	}
	if !second.kw.built || second.vecs.byWS["ws"] == nil {
		t.Fatal("nothing loaded")
	}
	if got := f.answers(second); !reflect.DeepEqual(got, before) {
		t.Fatalf("after the restart:\n%q\nbefore:\n%q", got, before)
	}
	// Chunks added, replaced and deleted after the save.
	f.fill(rng, 30)
	f.replaceVec("ws", "ws-f00")
	third := engineOver(st, cfg)
	if err := third.Warm(f.ctx); err != nil {
		t.Fatal(err)
	}
	got, still := f.answers(third), f.answers(first)
	fresh := f.answers(engineOver(st, Config{Model: testModel}))
	if !reflect.DeepEqual(got, still) {
		t.Fatalf("restarted and caught up:\n%q\nthe engine that ran on:\n%q", got, still)
	}
	if !sameHits(got, fresh) {
		t.Fatalf("restarted and caught up:\n%q\nbuilt from the store:\n%q", got, fresh)
	}
}

// sameHits compares answers without their scores, which deleted
// documents still counted in the keyword index sway until it compacts
// (and so their order among equals).
func sameHits(a, b []string) bool {
	strip := func(xs []string) []string {
		var out []string
		for _, x := range xs {
			out = append(out, x[:strings.LastIndexByte(x, '|')])
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(strip(a), strip(b))
}

// A damaged, cut, foreign or other model's file is not loaded: the engine
// builds from the store and answers the same; the next save replaces it.
func TestDamagedFileRebuilds(t *testing.T) {
	f := newKWFixture(t, 12)
	f.fill(rand.New(rand.NewPCG(1, 2)), 30)
	dir := filepath.Join(t.TempDir(), "index")
	st := mustOpen(t, f.path)
	saved := engineOver(st, Config{Dir: dir, Model: testModel})
	want := f.answers(saved)
	if err := saved.Save(); err != nil {
		t.Fatal(err)
	}
	good := map[string][]byte{}
	for _, name := range []string{keywordFile, vectorFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		good[name] = b
	}
	damage := map[string]func([]byte) []byte{
		"flipped header": func(b []byte) []byte { b[10] ^= 1; return b },
		"flipped body":   func(b []byte) []byte { b[len(b)/2] ^= 0x10; return b },
		"cut":            func(b []byte) []byte { return b[:len(b)*2/3] },
		"empty":          func(b []byte) []byte { return nil },
		"trailing":       func(b []byte) []byte { return append(b, 0) },
	}
	for what, spoil := range damage {
		for _, name := range []string{keywordFile, vectorFile} {
			t.Run(what+" "+name, func(t *testing.T) {
				if err := os.WriteFile(filepath.Join(dir, name), spoil(append([]byte(nil), good[name]...)), 0o600); err != nil {
					t.Fatal(err)
				}
				e := engineOver(st, Config{Dir: dir, Model: testModel})
				if err := e.Warm(f.ctx); err != nil {
					t.Fatal(err)
				}
				if got := f.answers(e); !reflect.DeepEqual(got, want) {
					t.Fatalf("got\n%q\nwant\n%q", got, want)
				}
				if err := e.Save(); err != nil {
					t.Fatal(err)
				}
				e2 := engineOver(st, Config{Dir: dir, Model: testModel})
				e2.load()
				if !e2.kw.built || e2.vecs.byWS["ws"] == nil {
					t.Fatal("the next save was not loaded")
				}
				if !reflect.DeepEqual(f.answers(e2), want) {
					t.Fatal("after the next save")
				}
			})
		}
	}
	// Another model's vectors are not loaded.
	other := engineOver(st, Config{Dir: dir, Model: "m2"})
	other.load()
	if len(other.vecs.byWS) != 0 {
		t.Fatal("another model's index loaded")
	}
}

// Run follows the store between searches, and the file it saves when it
// stops is current: the next start has nothing to catch up.
func TestRunFollowsAndSavesCurrent(t *testing.T) {
	f := newKWFixture(t, 12)
	rng := rand.New(rand.NewPCG(9, 10))
	dir := filepath.Join(t.TempDir(), "index")
	st := mustOpen(t, f.path)
	cfg := Config{Dir: dir, Model: testModel, FollowEvery: 10 * time.Millisecond, SaveEvery: time.Hour}
	e := engineOver(st, cfg)
	if err := e.Warm(f.ctx); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	// Written after the index was built, and never searched for.
	f.fill(rng, 30)
	var last int64
	if err := st.View(f.ctx, func(tx shelf.Tx) error {
		rows, err := tx.(shelf.SearchTx).ChunksAfter(f.ctx, 0, 1<<20)
		if len(rows) > 0 {
			last = rows[len(rows)-1].ID
		}
		return err
	}); err != nil || last == 0 {
		t.Fatalf("chunks in the store: last id %d, %v", last, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.kw.mu.Lock()
		at := e.kw.feed.Last
		e.kw.mu.Unlock()
		if at >= last {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the keyword index is at chunk %d after 10 s of following; the store's last is %d", at, last)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// More chunks, then the stop: the save takes them in.
	f.fill(rng, 5)
	cancel()
	<-done
	second := engineOver(st, cfg)
	second.kwLoaded.Do(second.loadKeywords)
	var now int64
	if err := st.View(f.ctx, func(tx shelf.Tx) error {
		rows, err := tx.(shelf.SearchTx).ChunksAfter(f.ctx, 0, 1<<20)
		if len(rows) > 0 {
			now = rows[len(rows)-1].ID
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got := second.kw.feed.Last; got < now {
		t.Fatalf("the saved keyword index reaches chunk %d; the store's last at the stop was %d", got, now)
	}
	if got, want := f.answers(second), f.answers(engineOver(st, Config{Model: testModel})); !sameHits(got, want) {
		t.Fatalf("after the restart:\n%q\nbuilt from the store:\n%q", got, want)
	}
}
