package search

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/store/sqlite"
)

// kwFixture is a database with two workspaces of files whose chunks the
// tests replace, a writer Store, and the database's own connection for
// what no Store method does.
type kwFixture struct {
	t    *testing.T
	ctx  context.Context
	path string
	w    *sqlite.Store
	db   *sql.DB
}

func mustOpen(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// engineOver returns an engine over s with cfg.
func engineOver(s shelf.Store, cfg Config) *Engine {
	return New(func(ctx context.Context, fn func(shelf.SearchTx) error) error {
		return s.View(ctx, func(tx shelf.Tx) error { return fn(tx.(shelf.SearchTx)) })
	}, cfg)
}

func newKWFixture(t *testing.T, files int) *kwFixture {
	f := &kwFixture{t: t, ctx: context.Background(), path: filepath.Join(t.TempDir(), "shelf.db")}
	f.w = mustOpen(t, f.path)
	db, err := sql.Open("sqlite3", "file:"+f.path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.db = db
	now := time.Now().UTC()
	err = f.w.Update(f.ctx, func(tx shelf.Tx) error {
		for _, ws := range []string{"ws", "other"} {
			if err := tx.CreateWorkspace(f.ctx, &shelf.Workspace{ID: ws, Name: ws, CreatedAt: now}); err != nil {
				return err
			}
			lib, root := ws+"-lib", ws+"-root"
			if err := tx.CreateLibrary(f.ctx, &shelf.Library{ID: lib, WorkspaceID: ws, Slug: "l", Name: "l", Kind: shelf.KindLibrary, RootID: root, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
			if err := tx.CreateItem(f.ctx, &shelf.Item{ID: root, WorkspaceID: ws, LibraryID: lib, Type: shelf.TypeFolder, Name: "r", CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
			for i := range files {
				id := fmt.Sprintf("%s-f%02d", ws, i)
				if err := tx.CreateItem(f.ctx, &shelf.Item{ID: id, WorkspaceID: ws, LibraryID: lib, ParentID: root, Type: shelf.TypeFile,
					Name: id, Path: id, Scope: shelf.VisibleWorkspace, Head: 1, CreatedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *kwFixture) replace(ws, item string, texts ...string) {
	f.t.Helper()
	chunks := make([]shelf.Chunk, len(texts))
	for i, s := range texts {
		chunks[i] = shelf.Chunk{Version: 1, Index: i, Text: s, End: len(s)}
	}
	if err := f.w.Update(f.ctx, func(tx shelf.Tx) error { return tx.ReplaceChunks(f.ctx, ws, item, chunks) }); err != nil {
		f.t.Fatal(err)
	}
}

// found returns "item#idx text" of every chunk e finds for terms.
func (f *kwFixture) found(e *Engine, ws string, terms ...string) []string {
	f.t.Helper()
	var out []string
	hits, err := e.Keyword(f.ctx, ws, shelf.ChunkQuery{Terms: terms, Limit: 1000})
	for _, h := range hits {
		out = append(out, fmt.Sprintf("%s#%d %s", h.Item.ID, h.Chunk.Index, h.Chunk.Text))
	}
	if err != nil {
		f.t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// A long-lived engine's keyword index, caught up across another Store's
// inserts, replacements (of the highest chunks among them) and deletes,
// finds what a freshly built index finds and what FTS5 finds.
func TestKeywordIndexCatchesUp(t *testing.T) {
	f := newKWFixture(t, 12)
	searcher := engineOver(mustOpen(t, f.path), Config{})
	fts := engineOver(mustOpen(t, f.path), Config{KeywordLimit: -1})
	rng := rand.New(rand.NewPCG(3, 4))
	vocab := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"}
	text := func() string {
		ws := make([]string, 1+rng.IntN(5))
		for i := range ws {
			ws[i] = vocab[rng.IntN(len(vocab))]
		}
		return strings.Join(ws, " ")
	}
	var highest string // the item holding the highest chunk ids
	for step := range 150 {
		ws := []string{"ws", "other"}[rng.IntN(2)]
		item := fmt.Sprintf("%s-f%02d", ws, rng.IntN(12))
		if step%5 == 4 && highest != "" {
			item, ws = highest, strings.SplitN(highest, "-", 2)[0] // its ids come back
		}
		var texts []string
		for range rng.IntN(4) { // none: the file's chunks go
			texts = append(texts, text())
		}
		f.replace(ws, item, texts...)
		if len(texts) > 0 {
			highest = item
		}
		if step%3 != 0 {
			continue
		}
		freshStore, err := sqlite.Open(f.path)
		if err != nil {
			t.Fatal(err)
		}
		fresh := engineOver(freshStore, Config{})
		for _, ws := range []string{"ws", "other"} {
			q := []string{vocab[rng.IntN(len(vocab))], vocab[rng.IntN(len(vocab))]}
			got, want, viaFTS := f.found(searcher, ws, q...), f.found(fresh, ws, q...), f.found(fts, ws, q...)
			if !slices.Equal(got, want) || !slices.Equal(got, viaFTS) {
				t.Fatalf("step %d, %s %q:\ncaught up %q\nfresh     %q\nFTS5      %q", step, ws, q, got, want, viaFTS)
			}
		}
		freshStore.Close()
	}
	// The highest chunks were replaced, which once handed their ids out
	// again; no id deleted exists again.
	var deleted, reused int
	if err := f.db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE chunk_id IN (SELECT id FROM chunks)) FROM chunk_deletes`).Scan(&deleted, &reused); err != nil || deleted == 0 || reused != 0 {
		t.Fatalf("%d chunk ids deleted, %d of them came back (%v); want some, and none", deleted, reused, err)
	}
}

// An index whose last applied delete the log no longer holds rebuilds.
func TestKeywordIndexRebuildsPastThePrunedLog(t *testing.T) {
	f := newKWFixture(t, 3)
	f.replace("ws", "ws-f00", "alpha bravo")
	f.replace("ws", "ws-f01", "alpha charlie")
	searcher := engineOver(mustOpen(t, f.path), Config{})
	if got := f.found(searcher, "ws", "alpha"); len(got) != 2 {
		t.Fatalf("found %q", got)
	}
	f.replace("ws", "ws-f00")                  // seq 1
	f.replace("ws", "ws-f01", "delta")         // seq 2
	f.replace("ws", "ws-f02", "alpha", "echo") // ids 3 and 4... nothing deleted
	// Prune what the searcher has not applied, as the trigger would.
	if _, err := f.db.Exec(`DELETE FROM chunk_deletes WHERE seq <= 1`); err != nil {
		t.Fatal(err)
	}
	if got, want := f.found(searcher, "ws", "alpha"), []string{"ws-f02#0 alpha"}; !slices.Equal(got, want) {
		t.Fatalf("after the pruned log: %q, want %q", got, want)
	}
	if got := f.found(searcher, "ws", "delta"); len(got) != 1 {
		t.Fatalf("delta: %q", got)
	}
}

// Filters apply to what the index ranks: a page the filter thins is
// filled from further down, and another workspace's chunks never count.
func TestKeywordIndexFilters(t *testing.T) {
	f := newKWFixture(t, 100)
	for i := range 100 {
		f.replace("ws", fmt.Sprintf("ws-f%02d", i), "alpha "+strings.Repeat("bravo ", i))
		f.replace("other", fmt.Sprintf("other-f%02d", i), "alpha") // shorter: better, were it counted
	}
	// Hide the 95 best (shortest) files: the first cut (40) holds none
	// that pass, so the search widens to find the 5 left.
	if _, err := f.db.Exec(`UPDATE items SET hidden = 1 WHERE workspace_id = 'ws' AND id < 'ws-f95'`); err != nil {
		t.Fatal(err)
	}
	s := engineOver(mustOpen(t, f.path), Config{})
	hits, err := s.Keyword(f.ctx, "ws", shelf.ChunkQuery{Terms: []string{"alpha"}, Limit: 10})
	var ids []string
	for _, h := range hits {
		ids = append(ids, h.Item.ID)
	}
	if err != nil || !slices.Equal(ids, []string{"ws-f95", "ws-f96", "ws-f97", "ws-f98", "ws-f99"}) {
		t.Fatalf("hits %v, %v", ids, err)
	}
	for i := 1; i < len(hits); i++ {
		if hits[i].Score > hits[i-1].Score {
			t.Fatalf("scores out of order: %v then %v", hits[i-1].Score, hits[i].Score)
		}
	}
	if !strings.HasPrefix(hits[0].Highlight, "\x02alpha\x03 bravo") {
		t.Errorf("highlight %q", hits[0].Highlight)
	}
}

// Past its limit the index is dropped (or never built) and searches rank
// with FTS5, finding the same chunks.
func TestKeywordIndexLimit(t *testing.T) {
	f := newKWFixture(t, 5)
	for i := range 3 {
		f.replace("ws", fmt.Sprintf("ws-f%02d", i), "alpha one", "alpha two")
	}
	for _, c := range []struct {
		limit int
		built bool
	}{{6, true}, {5, false}, {0, false}} {
		limit := c.limit
		if limit == 0 {
			limit = -1
		}
		s := engineOver(mustOpen(t, f.path), Config{KeywordLimit: limit})
		if got := f.found(s, "ws", "alpha"); len(got) != 6 {
			t.Fatalf("limit %d: found %q", c.limit, got)
		}
		if built := s.kw.byWS != nil && s.kw.byWS["ws"] != nil; built != c.built {
			t.Fatalf("limit %d: built %v", c.limit, built)
		}
		if c.limit == 6 {
			// Growing past the limit drops the index.
			f.replace("ws", "ws-f03", "alpha three")
			if got := f.found(s, "ws", "alpha"); len(got) != 7 || s.kw.byWS != nil || !s.kw.over {
				t.Fatalf("past the limit: found %q, index %v", got, s.kw.byWS)
			}
			f.replace("ws", "ws-f03")
		}
	}
	s := engineOver(mustOpen(t, f.path), Config{})
	if err := s.Warm(f.ctx); err != nil || s.kw.byWS["ws"].Len() != 6 {
		t.Fatalf("Warm: %v", err)
	}
}

// TestKeywordIndexIDsNotReused replays a sequence that once hid a chunk
// from a long-lived index: the two highest chunks deleted one search
// apart, then a chunk inserted into the emptied table. Its id must not be
// one the index has already seen go (ReplaceChunks hands out ids above
// every id ever given), or the catch-up by id would never read it.
func TestKeywordIndexIDsNotReused(t *testing.T) {
	f := newKWFixture(t, 2)
	f.replace("ws", "ws-f00", "an okapi in the forest")
	f.replace("ws", "ws-f01", "another okapi")
	e := engineOver(f.w, Config{})
	if got := f.found(e, "ws", "okapi"); len(got) != 2 {
		t.Fatalf("found %q", got)
	}
	f.replace("ws", "ws-f00")
	if got := f.found(e, "ws", "okapi"); len(got) != 1 {
		t.Fatalf("after the first delete: %q", got)
	}
	f.replace("ws", "ws-f01")
	f.replace("ws", "ws-f01", "the okapi is back")
	if got, want := f.found(e, "ws", "okapi"), []string{"ws-f01#0 the okapi is back"}; !slices.Equal(got, want) {
		t.Fatalf("after the chunk came back: %q, want %q", got, want)
	}
	// An engine started later agrees.
	fresh := engineOver(mustOpen(t, f.path), Config{})
	if got := f.found(fresh, "ws", "okapi"); len(got) != 1 {
		t.Fatalf("a fresh store finds %q", got)
	}
}
