package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/index/search"
	"github.com/shelfmem/shelf/store/sqlite"
)

// restartBench measures what a restart costs the search engine
// (index/search): the first keyword and the first semantic search on a
// store of c.n chunks, each with an embedding of c.dims dimensions, with
// no saved indexes (a build from the store) and after a restart that
// loads the saved ones. The store is made once in dir and kept, so a
// second run measures the restart alone.
func restartBench(ctx context.Context, c config, gen *data, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	dbPath, idxDir := filepath.Join(dir, "shelf.db"), filepath.Join(dir, "index")
	st, err := sqlite.Open(dbPath)
	if err != nil {
		return err
	}
	start := time.Now()
	made, err := fillStore(ctx, st, c, gen)
	if err != nil {
		st.Close()
		return err
	}
	if made {
		fmt.Printf("- store: %d chunks with embeddings written in %s\n", c.n, time.Since(start).Round(time.Second))
	}
	const model = "bench"
	open := func(st *sqlite.Store) *search.Engine {
		return search.New(func(ctx context.Context, fn func(shelf.SearchTx) error) error {
			return st.View(ctx, func(tx shelf.Tx) error { return fn(tx.(shelf.SearchTx)) })
		}, search.Config{Model: model, Dir: idxDir})
	}
	q := shelf.ChunkQuery{Terms: []string{"w17", "w240", "w3001"}, Limit: 10}
	qv := gen.next()
	first := func(e *search.Engine) (kw, sem time.Duration, hits int, err error) {
		t := time.Now()
		h, err := e.Keyword(ctx, "ws", q)
		if err != nil {
			return 0, 0, 0, err
		}
		kw = time.Since(t)
		t = time.Now()
		s, err := e.Semantic(ctx, "ws", qv, shelf.ChunkQuery{Limit: 10})
		return kw, time.Since(t), len(h) + len(s), err
	}
	fmt.Printf("\n## Restart of the search engine, %d chunks and embeddings of %d dims\n\n", c.n, c.dims)
	fmt.Printf("| | first keyword search | first semantic search | save |\n| --- | --- | --- | --- |\n")
	if err := os.RemoveAll(idxDir); err != nil {
		return err
	}
	e := open(st)
	kw, sem, n, err := first(e)
	if err != nil {
		st.Close()
		return err
	}
	t := time.Now()
	if err := e.Save(); err != nil {
		st.Close()
		return err
	}
	saveTook := time.Since(t)
	fmt.Printf("| no saved index: built from the store | %s | %s | %s |\n", kw.Round(time.Millisecond), sem.Round(time.Millisecond), saveTook.Round(time.Millisecond))
	st.Close()
	// The restart: a new store and engine over the same files.
	if st, err = sqlite.Open(dbPath); err != nil {
		return err
	}
	defer st.Close()
	e = open(st)
	kw2, sem2, n2, err := first(e)
	if err != nil {
		return err
	}
	fmt.Printf("| restart: saved indexes loaded and caught up | %s | %s | |\n\n", kw2.Round(time.Millisecond), sem2.Round(time.Millisecond))
	if n2 != n {
		return fmt.Errorf("%d hits after the restart, %d before", n2, n)
	}
	for _, f := range []string{"keyword.idx", "vector.idx"} {
		if fi, err := os.Stat(filepath.Join(idxDir, f)); err == nil {
			fmt.Printf("- %s: %d MB\n", f, fi.Size()>>20)
		}
	}
	return nil
}

// fillStore writes c.n chunks (files of 10), each about 150 words of a
// Zipf vocabulary of 20,000 with an embedding, unless the store holds
// them already; it reports whether it wrote them.
func fillStore(ctx context.Context, st *sqlite.Store, c config, gen *data) (bool, error) {
	var have int
	if err := st.View(ctx, func(tx shelf.Tx) (err error) {
		have, err = tx.(shelf.SearchTx).CountChunks(ctx)
		return err
	}); err != nil {
		return false, err
	}
	if have == c.n {
		return false, nil
	}
	if have != 0 {
		return false, fmt.Errorf("the store holds %d chunks, not %d: use another directory", have, c.n)
	}
	now := time.Now().UTC()
	err := st.Update(ctx, func(tx shelf.Tx) error {
		if err := tx.CreateWorkspace(ctx, &shelf.Workspace{ID: "ws", Name: "ws", CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.CreateLibrary(ctx, &shelf.Library{ID: "lib", WorkspaceID: "ws", Slug: "l", Name: "l", Kind: shelf.KindLibrary, RootID: "root", CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		return tx.CreateItem(ctx, &shelf.Item{ID: "root", WorkspaceID: "ws", LibraryID: "lib", Type: shelf.TypeFolder, Name: "r", CreatedAt: now, UpdatedAt: now})
	})
	if err != nil {
		return false, err
	}
	rng := rand.New(rand.NewPCG(c.seed, 0x7e27))
	zipf := rand.NewZipf(rand.New(rand.NewPCG(c.seed, 0x21bf)), 1.07, 2, 19999)
	const perFile, filesPerTx = 10, 50
	files := (c.n + perFile - 1) / perFile
	var b strings.Builder
	for f0 := 0; f0 < files; f0 += filesPerTx {
		err := st.Update(ctx, func(tx shelf.Tx) error {
			for f := f0; f < min(f0+filesPerTx, files); f++ {
				id := fmt.Sprintf("f%07d", f)
				if err := tx.CreateItem(ctx, &shelf.Item{ID: id, WorkspaceID: "ws", LibraryID: "lib", ParentID: "root", Type: shelf.TypeFile,
					Name: id, Path: id, Scope: shelf.VisibleWorkspace, Head: 1, CreatedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
				var chunks []shelf.Chunk
				for i := 0; i < perFile && f*perFile+i < c.n; i++ {
					b.Reset()
					for range 120 + rng.IntN(60) {
						fmt.Fprintf(&b, "w%d ", zipf.Uint64())
					}
					chunks = append(chunks, shelf.Chunk{Version: 1, Index: i, Text: b.String(), Heading: "Part " + id,
						Model: "bench", Vector: gen.next()})
				}
				if err := tx.ReplaceChunks(ctx, "ws", id, chunks); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return false, err
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
	}
	return true, nil
}
