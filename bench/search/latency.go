package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shelfmem/shelf/bench/internal/harness"
	"github.com/shelfmem/shelf/library"
)

// runLatency builds (or reuses) an index of b.chunks chunks and times
// keyword queries against it, over HTTP and, in-process, Shelf's SQL
// beside other query shapes.
func (b *bench) runLatency(ctx context.Context) error {
	data := b.latencyDir
	if data == "" {
		data = filepath.Join(b.dir, "latency")
	}
	files := (b.chunks + b.chunksPerFile - 1) / b.chunksPerFile
	b.printf("## Keyword query latency\n\n")
	have, _ := countChunks(filepath.Join(data, "shelf.db"))
	if have > 0 {
		b.printf("Reused the index in `%s`: %d chunks.\n\n", data, have)
	} else {
		var err error
		if have, err = b.buildIndex(ctx, data, files); err != nil {
			return err
		}
	}
	syncDisk()

	args := []string{"--index-workers", "0"}
	var debug string
	if b.profile != "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		debug = ln.Addr().String()
		ln.Close()
		args = append(args, "--debug-addr", debug)
	}
	if b.shapesOnly {
		return b.queryShapes(ctx, filepath.Join(data, "shelf.db"), b.corpus.Queries(b.queries, 1))
	}
	p, err := b.startShelf(ctx, data, args...)
	if err != nil {
		return err
	}
	defer p.Stop()
	cl := newClient(p.URL, 1)
	qs := b.corpus.Queries(b.queries, 1)
	warm := b.corpus.Queries(20, 2)
	// The server builds its keyword index as it starts; the first query
	// waits for it.
	first := time.Now()
	if _, _, err := cl.search(ctx, warm[0].Text, library.ModeKeyword, b.topK); err != nil {
		return err
	}
	firstTook := time.Since(first)
	for _, q := range warm[1:] {
		if _, _, err := cl.search(ctx, q.Text, library.ModeKeyword, b.topK); err != nil {
			return err
		}
	}
	client, server, hits, err := b.timeQueries(ctx, cl, qs)
	if err != nil {
		return err
	}
	rss := harness.ResidentBytes(p.Pid())
	b.printf("%d keyword queries of 1–4 words (each word from the %d most frequent words, ranks 101–2,000, or the rarer rest, picked at random), "+
		"`top_k` %d, one at a time over one keep-alive connection, after %d warm-up queries; the server runs no index workers. "+
		"%.1f hits per query on average. The first query after the server started took %s (it waits for the in-memory keyword index, "+
		"which the server builds as it starts); the server's resident memory after the queries: %d MB.\n\n",
		len(qs), b.corpus.bands()[0].hi, b.topK, len(warm), float64(hits)/float64(len(qs)), firstTook.Round(time.Millisecond), rss>>20)
	ms := func(v float64) string { return fmt.Sprintf("%.2f ms", v) }
	b.printf("| queries | n | client p50 | client p99 | server took_ms p50 | server took_ms p99 | max |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	row := func(name string, keep func(Query) bool) {
		var c, s []float64
		for i, q := range qs {
			if keep(q) {
				c, s = append(c, client[i]), append(s, server[i])
			}
		}
		if len(c) == 0 {
			return
		}
		b.printf("| %s | %d | %s | %s | %s | %s | %s |\n", name, len(c), ms(harness.Percentile(c, 50)), ms(harness.Percentile(c, 99)),
			ms(harness.Percentile(s, 50)), ms(harness.Percentile(s, 99)), ms(slices.Max(c)))
	}
	row("**all**", func(Query) bool { return true })
	row("without a frequent word", func(q Query) bool { return !q.Frequent })
	row("with a frequent word", func(q Query) bool { return q.Frequent })
	for w := 1; w <= 4; w++ {
		row(fmt.Sprintf("%d word(s)", w), func(q Query) bool { return q.Words == w })
	}
	p50, p99 := harness.Percentile(client, 50), harness.Percentile(client, 99)
	b.printf("\n| target (%d chunks) | measured | result |\n| --- | --- | --- |\n", have)
	b.printf("| p50 ≤ 10 ms | %s | %s |\n", ms(p50), pass(p50 <= 10))
	b.printf("| p99 ≤ 50 ms | %s | %s |\n\n", ms(p99), pass(p99 <= 50))

	if b.profile != "" {
		if err := b.profileQueries(ctx, cl, debug, qs); err != nil {
			return err
		}
	}
	p.Stop()
	if err := b.ftsPeer(ctx, data, qs, p50, p99); err != nil {
		return err
	}
	if b.inProcess {
		return b.queryShapes(ctx, filepath.Join(data, "shelf.db"), qs)
	}
	return nil
}

// timeQueries runs qs one at a time and returns each one's time seen by
// the client and the server's took_ms, in milliseconds, and the hits.
func (b *bench) timeQueries(ctx context.Context, cl *client, qs []Query) (client, server []float64, hits int, err error) {
	client, server = make([]float64, len(qs)), make([]float64, len(qs))
	for i, q := range qs {
		res, d, err := cl.search(ctx, q.Text, library.ModeKeyword, b.topK)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("query %q: %w", q.Text, err)
		}
		client[i], server[i] = float64(d.Microseconds())/1000, res.TookMS
		hits += len(res.Hits)
	}
	return client, server, hits, nil
}

// ftsPeer runs the same queries on a server without the keyword index
// (--keyword-index-max-chunks 0: FTS5 ranks), side by side with the
// figures of the server with it.
func (b *bench) ftsPeer(ctx context.Context, data string, qs []Query, p50, p99 float64) error {
	p, err := b.startShelf(ctx, data, "--index-workers", "0", "--keyword-index-max-chunks", "0")
	if err != nil {
		return err
	}
	defer p.Stop()
	cl := newClient(p.URL, 1)
	for _, q := range b.corpus.Queries(20, 2) {
		if _, _, err := cl.search(ctx, q.Text, library.ModeKeyword, b.topK); err != nil {
			return err
		}
	}
	client, _, _, err := b.timeQueries(ctx, cl, qs)
	if err != nil {
		return err
	}
	rss := harness.ResidentBytes(p.Pid())
	f50, f99 := harness.Percentile(client, 50), harness.Percentile(client, 99)
	b.printf("The same queries on a server ranking with SQLite FTS5 alone (`--keyword-index-max-chunks 0`, resident memory %d MB after them):\n\n", rss>>20)
	b.printf("| ranking | client p50 | client p99 |\n| --- | --- | --- |\n")
	b.printf("| Shelf's keyword index | %.2f ms | %.2f ms |\n", p50, p99)
	b.printf("| FTS5 alone | %.2f ms (%.1f× the index) | %.2f ms (%.1f×) |\n\n", f50, f50/p50, f99, f99/p99)
	return nil
}

// buildIndex writes files through HTTP with indexing off, then starts a
// server with the default workers on the backlog and waits, at most
// b.buildLimit minutes, for it; it returns the chunks indexed.
func (b *bench) buildIndex(ctx context.Context, data string, files int) (int, error) {
	p, err := b.startShelf(ctx, data, "--index-workers", "0")
	if err != nil {
		return 0, err
	}
	cl := newClient(p.URL, b.clients)
	size := b.fileSize()
	w, err := b.writeFiles(ctx, cl, files, func(i int) []byte { return b.corpus.Text(i, size) })
	p.Stop()
	if err != nil {
		return 0, err
	}
	syncDisk()
	p, err = b.startShelf(ctx, data)
	if err != nil {
		return 0, err
	}
	cl = newClient(p.URL, 1)
	t0 := time.Now()
	limit := time.Duration(b.buildLimit) * time.Minute
	st, err := cl.waitIndexed(ctx, files, time.Second, limit)
	took := time.Since(t0)
	p.Stop() // hands claimed jobs back if it timed out
	done := err == nil
	if err != nil && ctx.Err() != nil {
		return 0, err
	}
	n, cerr := countChunks(filepath.Join(data, "shelf.db"))
	if cerr != nil {
		return 0, cerr
	}
	b.printf("Built in `%s`: %d files written through HTTP with indexing off in %s (%.0f files/s); ", data, files, w.Round(time.Second), float64(files)/w.Seconds())
	if done {
		b.printf("a server with the default 2 workers indexed the backlog, %d chunks, in %s (%.0f chunks/s).\n\n", n, took.Round(time.Second), float64(n)/took.Seconds())
	} else {
		b.printf("a server with the default 2 workers indexed %d chunks (%d files; %d still queued) in the %s allowed (%.0f chunks/s), "+
			"so the queries below run over those %d chunks.\n\n", n, st.Indexed, st.Queued+st.Running, limit, float64(n)/took.Seconds(), n)
	}
	return n, nil
}

// profileQueries runs qs again while the server takes a CPU profile, and
// saves it in b.profile.
func (b *bench) profileQueries(ctx context.Context, cl *client, debug string, qs []Query) error {
	if err := os.MkdirAll(b.profile, 0o755); err != nil {
		return err
	}
	const secs = 20
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + debug + "/debug/pprof/profile?seconds=" + strconv.Itoa(secs))
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		done <- result{body, err}
	}()
	end := time.Now().Add(secs * time.Second)
	for i := 0; time.Now().Before(end); i++ {
		if _, _, err := cl.search(ctx, qs[i%len(qs)].Text, library.ModeKeyword, b.topK); err != nil {
			return err
		}
	}
	r := <-done
	if r.err != nil {
		return r.err
	}
	path := filepath.Join(b.profile, "search-cpu.pprof")
	if err := os.WriteFile(path, r.b, 0o644); err != nil {
		return err
	}
	b.printf("CPU profile of the server over %d s of these queries: `%s` (`go tool pprof -top %s %s`).\n\n", secs, path, b.bin, path)
	return nil
}

// queryShapes times, in-process on the same database (read-only), the
// SQL of Shelf's keyword search and alternative shapes of it, for the same
// queries built by matchExpr (library.MatchTerms, quoted and ORed).
func (b *bench) queryShapes(ctx context.Context, dbPath string, qs []Query) error {
	qs = qs[:min(len(qs), b.shapeQueries)]
	db, err := sql.Open("sqlite3", "file:"+dbPath+"?mode=ro&_query_only=1")
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var ws string
	if err := conn.QueryRowContext(ctx, "SELECT workspace_id FROM items LIMIT 1").Scan(&ws); err != nil {
		return err
	}
	const filter = "c.workspace_id = ?2 AND i.hidden = 0 AND (i.scope <> 'private' OR i.owner = ?3)"
	const shelfSQL = `SELECT c.version, c.idx, c.text, c.heading, c.start_off, c.end_off, c.page,
				-bm25(chunks_fts, 1.0, 0.5), highlight(chunks_fts, 0, char(2), char(3)), i.*
			FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid JOIN items i ON i.id = c.item_id
			WHERE chunks_fts MATCH ?1 AND ` + filter + `
			ORDER BY bm25(chunks_fts, 1.0, 0.5) LIMIT ?4`
	const rankedSQL = `SELECT c.version, c.idx, c.text, c.heading, c.start_off, c.end_off, c.page, -f.rank, f.hl, i.*
			FROM (SELECT rowid, rank, highlight(chunks_fts, 0, char(2), char(3)) AS hl FROM chunks_fts
				WHERE chunks_fts MATCH ?1 AND rank MATCH 'bm25(1.0, 0.5)' ORDER BY rank LIMIT 4 * ?4) f
			JOIN chunks c ON c.id = f.rowid JOIN items i ON i.id = c.item_id
			WHERE ` + filter + `
			ORDER BY f.rank LIMIT ?4`
	// Shapes after the first with mmap run with PRAGMA mmap_size set.
	shapes := []struct {
		name, sql string
		mmap      bool
	}{
		{"Shelf's query (store/sqlite SearchChunks): MATCH joined to chunks and items, `ORDER BY bm25(…) LIMIT k`, highlight() and every column in the select list",
			shelfSQL, false},
		{"the same without highlight()",
			`SELECT c.version, c.idx, c.text, c.heading, c.start_off, c.end_off, c.page,
				-bm25(chunks_fts, 1.0, 0.5), i.*
			FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid JOIN items i ON i.id = c.item_id
			WHERE chunks_fts MATCH ?1 AND ` + filter + `
			ORDER BY bm25(chunks_fts, 1.0, 0.5) LIMIT ?4`, false},
		{"ranked inside FTS5: `(SELECT rowid, rank, highlight(…) FROM chunks_fts WHERE MATCH AND rank MATCH 'bm25(1.0, 0.5)' ORDER BY rank LIMIT 4k)` joined to chunks and items, filtered, `LIMIT k`",
			rankedSQL, false},
		{"FTS5 alone: `SELECT rowid FROM chunks_fts WHERE MATCH ORDER BY rank LIMIT k`",
			`SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?1 AND rank MATCH 'bm25(1.0, 0.5)' AND ?2 <> '' AND ?3 = ?3 ORDER BY rank LIMIT ?4`, false},
		{"Shelf's query, with `PRAGMA mmap_size = 8 GiB` (pages read from the mapped file, not by pread)", shelfSQL, true},
		{"ranked inside FTS5, with `PRAGMA mmap_size = 8 GiB`", rankedSQL, true},
	}
	b.printf("In-process, the first %d of these queries (built from `library.MatchTerms`, `top_k` %d) on the same database, read-only, one connection, after 10 warm-up queries per shape:\n\n", len(qs), b.topK)
	b.printf("| SQL shape | p50 | p99 | max | same top-k as Shelf's |\n| --- | --- | --- | --- | --- |\n")
	var ref [][]int64
	for si, sh := range shapes {
		if sh.mmap {
			if _, err := conn.ExecContext(ctx, "PRAGMA mmap_size = 8589934592"); err != nil {
				return err
			}
		}
		st, err := conn.PrepareContext(ctx, sh.sql)
		if err != nil {
			return fmt.Errorf("%s: %w", sh.name, err)
		}
		var lat []float64
		same := 0
		for pass := range 2 {
			batch := qs
			if pass == 0 {
				batch = qs[:min(10, len(qs))] // warm-up
			}
			for qi, q := range batch {
				t0 := time.Now()
				rows, err := st.QueryContext(context.WithoutCancel(ctx), matchExpr(q.Text), ws, "", b.topK)
				if err != nil {
					st.Close()
					return fmt.Errorf("%s: %w", sh.name, err)
				}
				cols, _ := rows.Columns()
				var ids []int64
				vals := make([]any, len(cols))
				for i := range vals {
					vals[i] = new(any)
				}
				for rows.Next() {
					if err := rows.Scan(vals...); err != nil {
						rows.Close()
						st.Close()
						return err
					}
					// Identify a hit by its text's length and chunk index; rowid alone for the FTS-only shape.
					if len(cols) == 1 {
						ids = append(ids, (*vals[0].(*any)).(int64))
					} else {
						ids = append(ids, (*vals[1].(*any)).(int64)<<32|int64(len((*vals[2].(*any)).(string))))
					}
				}
				rows.Close()
				if pass == 1 {
					lat = append(lat, float64(time.Since(t0).Microseconds())/1000)
					if si == 0 {
						ref = append(ref, ids)
					} else if len(ids) == len(ref[qi]) && (len(cols) == 1 || slices.Equal(ids, ref[qi])) {
						same++
					}
				}
			}
		}
		st.Close()
		sameText := "—"
		if si > 0 {
			sameText = fmt.Sprintf("%d of %d", same, len(qs))
			if strings.HasPrefix(sh.sql, "SELECT rowid FROM") {
				sameText += " (count only)"
			}
		}
		b.printf("| %s | %.2f ms | %.2f ms | %.2f ms | %s |\n", sh.name, harness.Percentile(lat, 50), harness.Percentile(lat, 99), slices.Max(lat), sameText)
	}
	b.printf("\n")
	return nil
}
