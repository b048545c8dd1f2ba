package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/shelfmem/shelf/bench/internal/harness"
	"github.com/shelfmem/shelf/index/chunk"
	"github.com/shelfmem/shelf/index/extract"
)

// shelfTokenizer is the tokenizer of Shelf's chunks_fts (store/sqlite migration 0005).
const shelfTokenizer = "porter unicode61 remove_diacritics 2"

// genPath is where generated file i is written.
func genPath(i int) string { return fmt.Sprintf("gen/%02d/%07d.txt", i%100, i) }

// fileSize is the length of a generated file: about chunksPerFile chunks
// of Shelf's default size (up to 1000 characters, 150 of them repeated from the
// previous chunk).
func (b *bench) fileSize() int { return b.chunksPerFile*680 + 150 }

// runThroughput measures keyword indexing throughput and the write path
// with indexing on and off.
func (b *bench) runThroughput(ctx context.Context) error {
	n := b.files
	texts := make([][]byte, n)
	var bytesTotal int64
	for i := range texts {
		texts[i] = b.corpus.Text(i, b.fileSize())
		bytesTotal += int64(len(texts[i]))
	}
	var rows []bareRow
	for i, t := range texts {
		doc, err := extract.Extract(ctx, bytes.NewReader(t), int64(len(t)), "text/plain; charset=utf-8", genPath(i), extract.Limits{})
		if err != nil {
			return fmt.Errorf("extract file %d: %w", i, err)
		}
		for _, c := range chunk.Split(doc, chunk.DefaultOptions()) {
			rows = append(rows, bareRow{doc: i, text: c.Text, heading: c.Heading})
		}
	}
	b.printf("## Indexing throughput (keyword only)\n\n")
	b.printf("%d generated text files (%s, %.0f characters each on average; words from a vocabulary of %d drawn by a Zipf law), "+
		"%d chunks as `index/chunk` splits them with Shelf's defaults; written with `PUT /v1/files/{path}` by %d concurrent clients.\n\n",
		n, harness.MiB(bytesTotal), float64(bytesTotal)/float64(n), len(b.corpus.Vocab), len(rows), b.clients)

	// The ceiling: the same chunks into FTS5 with Shelf's tokenizer, in
	// one process, batched.
	ceil, err := ftsCeiling(filepath.Join(b.dir, "ceiling.db"), rows, b.ceilingBatch, shelfTokenizer)
	if err != nil {
		return fmt.Errorf("ceiling: %w", err)
	}
	syncDisk()
	// The same without stemming, to tell the tokenizer's share.
	plain, err := ftsCeiling(filepath.Join(b.dir, "ceiling.db"), rows, b.ceilingBatch, "unicode61 remove_diacritics 2")
	if err != nil {
		return fmt.Errorf("ceiling: %w", err)
	}
	syncDisk()

	// Writes with indexing off: jobs are queued, no worker runs them.
	off := filepath.Join(b.dir, "writes-off")
	p, err := b.startShelf(ctx, off, "--index-workers", "0")
	if err != nil {
		return err
	}
	cl := newClient(p.URL, b.clients)
	offWrite, err := b.writeFiles(ctx, cl, n, func(i int) []byte { return texts[i] })
	p.Stop()
	if err != nil {
		return err
	}
	syncDisk()

	// The backlog those writes left, indexed by a server started on it.
	p, err = b.startShelf(ctx, off)
	if err != nil {
		return err
	}
	cl = newClient(p.URL, 1)
	t0 := time.Now()
	cpu0, _ := harness.ReadCPU(p.PID())
	st, err := cl.waitIndexed(ctx, n, 100*time.Millisecond, 2*time.Hour)
	backlog := time.Since(t0)
	cpu1, _ := harness.ReadCPU(p.PID())
	p.Stop()
	if err != nil {
		return err
	}
	if st.Failed > 0 {
		return fmt.Errorf("%d files failed to index", st.Failed)
	}
	backlogChunks, err := countChunks(filepath.Join(off, "shelf.db"))
	if err != nil {
		return err
	}
	syncDisk()

	// Writes with indexing on (the default workers), then until indexed.
	on := filepath.Join(b.dir, "writes-on")
	p, err = b.startShelf(ctx, on)
	if err != nil {
		return err
	}
	defer p.Stop()
	cl = newClient(p.URL, b.clients)
	onCPU0, _ := harness.ReadCPU(p.PID())
	onWrite, err := b.writeFiles(ctx, cl, n, func(i int) []byte { return texts[i] })
	if err != nil {
		return err
	}
	tAck := time.Now()
	atAck, err := cl.status(ctx)
	if err != nil {
		return err
	}
	ackCPU, _ := harness.ReadCPU(p.PID())
	if _, err := cl.waitIndexed(ctx, n, 100*time.Millisecond, 2*time.Hour); err != nil {
		return err
	}
	drain := time.Since(tAck)
	onCPU1, _ := harness.ReadCPU(p.PID())
	p.Stop()
	onChunks, err := countChunks(filepath.Join(on, "shelf.db"))
	if err != nil {
		return err
	}
	if onChunks != len(rows) || backlogChunks != len(rows) {
		b.printf("Note: Shelf made %d and %d chunks; `index/chunk` in the benchmark made %d.\n\n", backlogChunks, onChunks, len(rows))
	}
	perFile := float64(onChunks) / float64(n)
	leftAtAck := float64(n-atAck.Indexed) * perFile
	total := onWrite + drain

	rate := func(chunks float64, d time.Duration) string { return fmt.Sprintf("%.0f chunks/s", chunks/d.Seconds()) }
	b.printf("| phase | time | rate | server CPU |\n| --- | --- | --- | --- |\n")
	b.printf("| **ceiling**: bare FTS5 inserts (`%s`, WAL, synchronous=FULL, %d chunks a transaction) | %s | %s | (in the benchmark's process) |\n",
		shelfTokenizer, b.ceilingBatch, ceil.Round(time.Millisecond), rate(float64(len(rows)), ceil))
	b.printf("| the same without stemming (`unicode61 remove_diacritics 2`) | %s | %s | |\n", plain.Round(time.Millisecond), rate(float64(len(rows)), plain))
	b.printf("| writes, indexing off (`--index-workers 0`) | %s | %.0f files/s acknowledged | |\n", offWrite.Round(time.Millisecond), float64(n)/offWrite.Seconds())
	b.printf("| the backlog of those writes, indexed by a restarted server (2 workers) | %s | %s | %.1f s |\n",
		backlog.Round(time.Millisecond), rate(float64(backlogChunks), backlog), (cpu1 - cpu0).Seconds())
	b.printf("| writes, indexing on (2 workers) | %s | %.0f files/s acknowledged; %d of %d files indexed by then | %.1f s |\n",
		onWrite.Round(time.Millisecond), float64(n)/onWrite.Seconds(), atAck.Indexed, n, (ackCPU - onCPU0).Seconds())
	b.printf("| … from all writes acknowledged until indexed | %s | %s (the %.0f chunks left) | %.1f s |\n",
		drain.Round(time.Millisecond), rate(leftAtAck, drain), leftAtAck, (onCPU1 - ackCPU).Seconds())
	b.printf("| … first write until indexed | %s | %s | %.1f s |\n\n", total.Round(time.Millisecond), rate(float64(onChunks), total), (onCPU1 - onCPU0).Seconds())

	backlogRate := float64(backlogChunks) / backlog.Seconds()
	drainRate := leftAtAck / drain.Seconds()
	ceilRate := float64(len(rows)) / ceil.Seconds()
	b.printf("| target | measured | result |\n| --- | --- | --- |\n")
	b.printf("| ≥ 10,000 chunks/s indexed after the writes are acknowledged | %.0f chunks/s (a backlog alone: %.0f); %.2f× (%.2f×) the ceiling's %.0f | %s |\n",
		drainRate, backlogRate, drainRate/ceilRate, backlogRate/ceilRate, ceilRate, pass(drainRate >= 10000))
	ratio := offWrite.Seconds() / onWrite.Seconds()
	b.printf("| write path unchanged by indexing (files/s on ÷ off) | %.2f× (%.0f vs %.0f files/s) | %s |\n\n",
		ratio, float64(n)/onWrite.Seconds(), float64(n)/offWrite.Seconds(), pass(ratio >= 0.9))
	return nil
}

// writeFiles PUTs n generated files from b.clients goroutines and returns
// the time until the last was acknowledged.
func (b *bench) writeFiles(ctx context.Context, cl *client, n int, text func(i int) []byte) (time.Duration, error) {
	t0 := time.Now()
	err := concurrently(n, b.clients, func(i int) error { return cl.putFile(ctx, genPath(i), text(i)) })
	return time.Since(t0), err
}

// ftsCeiling inserts rows into a fresh FTS5 table with Shelf's tokenizer,
// batch rows a transaction, and returns the time it took.
func ftsCeiling(path string, rows []bareRow, batch int, tokenize string) (time.Duration, error) {
	os.Remove(path)
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=FULL")
	if err != nil {
		return 0, err
	}
	defer os.Remove(path)
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("CREATE VIRTUAL TABLE t USING fts5(text, heading, tokenize = '" + tokenize + "')"); err != nil {
		return 0, err
	}
	t0 := time.Now()
	for lo := 0; lo < len(rows); lo += batch {
		tx, err := db.Begin()
		if err != nil {
			return 0, err
		}
		st, err := tx.Prepare("INSERT INTO t (text, heading) VALUES (?, ?)")
		if err != nil {
			tx.Rollback()
			return 0, err
		}
		for _, r := range rows[lo:min(lo+batch, len(rows))] {
			if _, err := st.Exec(r.text, r.heading); err != nil {
				tx.Rollback()
				return 0, err
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			return 0, err
		}
	}
	return time.Since(t0), nil
}

// countChunks counts the chunks in a shelf database.
func countChunks(dbPath string) (int, error) {
	db, err := sql.Open("sqlite3", "file:"+dbPath+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	err = db.QueryRow("SELECT count(*) FROM chunks").Scan(&n)
	return n, err
}

func syncDisk() {
	var c harness.CacheDropper
	c.Disabled = true
	c.Drop()
}
