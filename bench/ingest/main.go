// Command ingest measures document ingest through the memory.inc API
// (POST /sources/api/ingest) against a ceiling measured in the same run:
// the same number of rows committed to SQLite, one transaction per
// document, with Shelf's durability settings (WAL, synchronous=FULL, one
// writer), by a bare Go program. It also checks that a 1 GiB raw-body
// upload keeps the server's memory flat.
//
//	go run ./bench/ingest [-docs 20000] [-clients 16] [-size 1024] [-stream 1GiB]
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/shelfmem/shelf/bench/internal/harness"
)

const master = "bench-master-key-0123456789abcdef0123"

func main() {
	docs := flag.Int("docs", 20000, "documents to ingest")
	clients := flag.Int("clients", 16, "concurrent clients")
	size := flag.Int("size", 1024, "bytes of content per document")
	stream := flag.Int64("stream", 1<<30, "bytes of the raw-body upload for the memory check (0 skips it)")
	dir := flag.String("dir", "", "work directory (default: a temporary one)")
	flag.Parse()
	if err := run(*docs, *clients, *size, *stream, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "ingest:", err)
		os.Exit(1)
	}
}

func run(docs, clients, size int, stream int64, dir string) error {
	ctx := context.Background()
	root, err := harness.ModuleRoot()
	if err != nil {
		return err
	}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "shelf-bench-ingest-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	bin, err := harness.BuildShelf(root, dir)
	if err != nil {
		return err
	}
	fmt.Println("# bench/ingest")
	fmt.Println()
	fmt.Println("command:", harness.Command("bench/ingest", os.Args[1:]))
	fmt.Println()
	for _, l := range harness.Machine(dir) {
		fmt.Println("-", l)
	}
	fmt.Printf("- shelf: %s\n- %d documents of %d bytes from %d concurrent clients\n\n", harness.Revision(root), docs, size, clients)

	ceil, err := ceiling(filepath.Join(dir, "ceiling.db"), docs, clients, size)
	if err != nil {
		return fmt.Errorf("ceiling: %w", err)
	}
	data := filepath.Join(dir, "data")
	p, err := harness.Start(ctx, "shelf", bin, []string{"serve", "--addr", "127.0.0.1:0", "--data", data},
		[]string{"SHELF_MASTER_KEY=" + master}, harness.ShelfURL)
	if err != nil {
		return err
	}
	defer p.Stop()
	lat, wall, err := ingest(p.URL, docs, clients, size)
	if err != nil {
		return err
	}
	rate := float64(docs) / wall.Seconds()
	slices.Sort(lat)
	ms := func(d float64) string { return fmt.Sprintf("%.2f ms", d) }
	fmt.Println("| | documents/s | p50 | p99 | max |")
	fmt.Println("| --- | --- | --- | --- | --- |")
	fmt.Printf("| ceiling: bare SQLite, one commit per row | %.0f | %s | %s | %s |\n", ceil.rate,
		ms(harness.Percentile(ceil.lat, 50)), ms(harness.Percentile(ceil.lat, 99)), ms(ceil.lat[len(ceil.lat)-1]))
	fmt.Printf("| Shelf, POST /sources/api/ingest | %.0f | %s | %s | %s |\n\n", rate,
		ms(harness.Percentile(lat, 50)), ms(harness.Percentile(lat, 99)), ms(lat[len(lat)-1]))
	fmt.Println("| target | measured | result |")
	fmt.Println("| --- | --- | --- |")
	fmt.Printf("| ≥ 2,000 documents/s | %.0f | %s |\n", rate, pass(rate >= 2000))
	fmt.Printf("| ≥ 0.5× the ceiling | %.2f× | %s |\n", rate/ceil.rate, pass(rate >= ceil.rate/2))
	if stream > 0 {
		// A fresh server, so its high-water mark is the upload's alone.
		p.Stop()
		p, err = harness.Start(ctx, "shelf", bin, []string{"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "stream")},
			[]string{"SHELF_MASTER_KEY=" + master}, harness.ShelfURL)
		if err != nil {
			return err
		}
		defer p.Stop()
		time.Sleep(time.Second)
		idle, err := harness.ReadMemory(p.PID())
		if err != nil {
			return err
		}
		took, err := upload(p.URL, stream)
		if err != nil {
			return err
		}
		m, err := harness.ReadMemory(p.PID())
		if err != nil {
			return err
		}
		over := m.Peak - idle.RSS
		fmt.Printf("| raw-body upload of %s (%.0f MB/s): peak RSS − idle ≤ 64 MiB | %s (idle %s, peak %s) | %s |\n",
			harness.MiB(stream), float64(stream)/took.Seconds()/1e6, harness.MiB(over), harness.MiB(idle.RSS), harness.MiB(m.Peak), pass(over <= 64<<20))
	}
	return nil
}

func pass(ok bool) string {
	if ok {
		return "**PASS**"
	}
	return "**FAIL**"
}

// content returns size bytes of text unique to document i.
func content(i, size int) []byte {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	b := make([]byte, size)
	const letters = "abcdefghijklmnopqrstuvwxyz      \n"
	for j := range b {
		b[j] = letters[r.IntN(len(letters))]
	}
	return b
}

// ingest sends docs documents from clients goroutines and returns each
// request's latency in ms and the wall time.
func ingest(base string, docs, clients, size int) ([]float64, time.Duration, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	c := &http.Client{Transport: tr}
	bodies := make([][]byte, docs)
	for i := range bodies {
		b, _ := json.Marshal(map[string]any{"external_id": fmt.Sprintf("doc-%d", i), "title": fmt.Sprintf("Document %d", i),
			"content": string(content(i, size)), "metadata": map[string]any{"n": i}})
		bodies[i] = b
	}
	return concurrently(docs, clients, func(i int) error {
		req, _ := http.NewRequest("POST", base+"/sources/api/ingest", bytes.NewReader(bodies[i]))
		req.Header.Set("Authorization", "Bearer "+master)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var out struct {
			Status string `json:"status"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		if err == nil && (resp.StatusCode != 200 || out.Status != "indexed") {
			err = fmt.Errorf("document %d: HTTP %d, status %q", i, resp.StatusCode, out.Status)
		}
		return err
	})
}

// concurrently runs do(0) … do(n-1) from clients goroutines and returns
// each call's latency in ms and the wall time; the first error stops it.
func concurrently(n, clients int, do func(i int) error) ([]float64, time.Duration, error) {
	lat := make([]float64, n)
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || firstErr.Load() != nil {
					return
				}
				t0 := time.Now()
				if err := do(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				lat[i] = float64(time.Since(t0).Microseconds()) / 1000
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	if err, _ := firstErr.Load().(error); err != nil {
		return nil, 0, err
	}
	return lat, wall, nil
}

type result struct {
	rate float64
	lat  []float64
}

// ceiling commits docs rows of size bytes, one transaction each, from
// clients goroutines through one writer connection with Shelf's settings.
func ceiling(path string, docs, clients, size int) (result, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=5000&_txlock=immediate")
	if err != nil {
		return result{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("CREATE TABLE docs (id TEXT PRIMARY KEY, body BLOB NOT NULL, created_at INTEGER NOT NULL)"); err != nil {
		return result{}, err
	}
	lat, wall, err := concurrently(docs, clients, func(i int) error {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		if _, err := tx.Exec("INSERT INTO docs VALUES (?, ?, ?)", fmt.Sprintf("doc-%d", i), content(i, size), time.Now().UnixNano()); err != nil {
			tx.Rollback()
			return err
		}
		return tx.Commit()
	})
	if err != nil {
		return result{}, err
	}
	slices.Sort(lat)
	return result{rate: float64(docs) / wall.Seconds(), lat: lat}, nil
}

// upload PUTs n generated bytes as one raw body to /v1/files/.
func upload(base string, n int64) (time.Duration, error) {
	r := io.LimitReader(&pattern{}, n)
	req, err := http.NewRequest("PUT", base+"/v1/files/bench/stream.bin", r)
	if err != nil {
		return 0, err
	}
	req.ContentLength = n
	req.Header.Set("Authorization", "Bearer "+master)
	req.Header.Set("Content-Type", "application/octet-stream")
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return 0, fmt.Errorf("raw upload: HTTP %d: %s", resp.StatusCode, msg)
	}
	return time.Since(t0), nil
}

// pattern yields a fast, non-repeating byte stream.
type pattern struct{ x uint64 }

func (p *pattern) Read(b []byte) (int, error) {
	for i := range b {
		p.x = p.x*6364136223846793005 + 1442695040888963407
		b[i] = byte(p.x >> 56)
	}
	return len(b), nil
}
