// Command bombs measures issue 16's first target and what meeting it
// costs.
//
// Memory under bombs: it starts the real shelf binary (-workers index
// workers) in each extraction mode (-modes: process, none), uploads every
// file of the bomb corpus (internal/bombs, written to the work directory
// at the sizes) one at a time, then two large ones at once, and
// samples the resident memory of the server and of its children every 5
// ms until the file is settled. The target: the server's peak stays below
// its idle figure plus 256 MiB per worker, and every file ends failed with
// a reason in bounded time (two the corpus marks readable end indexed).
//
// Cost: the per-file time of extraction alone over an ordinary corpus of
// -files small files (text, Markdown, CSV, JSON, HTML, DOCX, PDF), in
// this process (extract.Extract) against children (index/isolate) reused
// for many files and started for each file; and the end-to-end rate at
// which the server indexes a backlog of those files in each mode.
//
//	go run -tags sqlite_fts5 ./bench/bombs [-workers 2] [-modes process,none] [-files 2000] [-parts bombs,cost]
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shelfmem/shelf/bench/internal/harness"
	"github.com/shelfmem/shelf/index/extract"
	"github.com/shelfmem/shelf/index/isolate"
	"github.com/shelfmem/shelf/internal/bombs"
)

const masterKey = "bench-bombs-master-key-0123456789abcdef"

// perWorker is the target's memory per index worker.
const perWorker = 256 << 20

type config struct {
	workers, files int
	modes, parts   []string
	dir, shelf     string
	big, flate     int64
	keep           bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bombs:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bombs", flag.ContinueOnError)
	var c config
	var modes, parts string
	fs.IntVar(&c.workers, "workers", 2, "index workers of the server")
	fs.IntVar(&c.files, "files", 2000, "files of the ordinary corpus (cost)")
	fs.StringVar(&modes, "modes", "process,none", "extraction modes to run the bombs in (--extract-isolation); legacy passes no flag, for a binary from before it")
	fs.StringVar(&parts, "parts", "bombs,cost", "what to measure: bombs, cost")
	fs.Int64Var(&c.big, "big", 250<<20, "size of the corpus' big files (one CSV field, one JSON string, …)")
	fs.Int64Var(&c.flate, "flate", 1<<30, "bytes the corpus' compressed bombs inflate to")
	fs.StringVar(&c.dir, "dir", "", "work directory (default: a new one under $TMPDIR)")
	fs.StringVar(&c.shelf, "shelf", "", "shelf binary (default: build ./cmd/shelf of this checkout)")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c.modes, c.parts = strings.Split(modes, ","), strings.Split(parts, ",")
	cleanup, err := harness.Setup("bombs", args, &c.dir, &c.shelf, c.keep)
	defer cleanup()
	if err != nil {
		return err
	}
	if slices.Contains(c.parts, "bombs") {
		corpus := filepath.Join(c.dir, "corpus")
		os.MkdirAll(corpus, 0o700)
		fmt.Fprintln(os.Stderr, "writing the bomb corpus …")
		paths, err := bombs.WriteAll(corpus, bombs.Options{Big: c.big, Flate: c.flate})
		if err != nil {
			return err
		}
		for _, mode := range c.modes {
			if err := runBombs(ctx, c, mode, paths); err != nil {
				return fmt.Errorf("bombs, %s: %w", mode, err)
			}
		}
		os.RemoveAll(corpus)
	}
	if slices.Contains(c.parts, "cost") {
		if err := runCost(ctx, c); err != nil {
			return fmt.Errorf("cost: %w", err)
		}
	}
	if lb, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("\nload average at end: %s\n", strings.Join(strings.Fields(string(lb))[:3], " "))
	}
	return nil
}

// ---- a server and its client ----

type server struct {
	p   *harness.Proc
	url string
}

func startServer(ctx context.Context, c config, data string, extra ...string) (*server, error) {
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data}, extra...)
	p, err := harness.Start(ctx, "shelf", c.shelf, args, []string{"SHELF_MASTER_KEY=" + masterKey}, harness.ShelfURL)
	if err != nil {
		return nil, err
	}
	return &server{p: p, url: p.URL}, nil
}

// alive reports whether the server still runs (a zombie does not).
func (s *server) alive() bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.p.PID()))
	return err == nil && !strings.Contains(string(b), ") Z ")
}

func (s *server) do(method, path, contentType string, body io.Reader, size int64, out any) error {
	req, err := http.NewRequest(method, s.url+path, body)
	if err != nil {
		return err
	}
	if size >= 0 {
		req.ContentLength = size
	}
	req.Header.Set("Authorization", "Bearer "+masterKey)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// put writes a file and returns its id.
func (s *server) put(path, contentType string, body io.Reader, size int64) (string, error) {
	var out struct {
		Item struct {
			ID string `json:"id"`
		} `json:"item"`
	}
	err := s.do("PUT", "/v1/files/"+path, contentType, body, size, &out)
	return out.Item.ID, err
}

type indexState struct {
	State string `json:"state"`
	Error string `json:"indexing_error_message"`
}

func (s *server) index(id string) (indexState, error) {
	var it struct {
		Index indexState `json:"index"`
	}
	err := s.do("GET", "/v1/items/"+id, "", nil, -1, &it)
	return it.Index, err
}

// settle waits until the file is indexed or failed.
func (s *server) settle(id string, bound time.Duration) (indexState, error) {
	deadline := time.Now().Add(bound)
	for {
		st, err := s.index(id)
		if err != nil {
			return st, err
		}
		if st.State == "indexed" || st.State == "failed" {
			return st, nil
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("still %s after %v", st.State, bound)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ---- memory ----

func residentOf(pid int) int64 {
	m, err := harness.ReadMemory(pid)
	if err != nil {
		return 0
	}
	return m.RSS
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
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, c)
		}
	}
	return out
}

// peaks are the resident-memory peaks seen while sampling.
type peaks struct{ server, child, total int64 }

type sampler struct {
	mu         sync.Mutex
	p          peaks
	stop, done chan struct{}
}

func sample(pid int) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			srv := residentOf(pid)
			total, child := srv, int64(0)
			for _, c := range childrenOf(pid) {
				r := residentOf(c)
				total += r
				child = max(child, r)
			}
			s.mu.Lock()
			s.p = peaks{max(s.p.server, srv), max(s.p.child, child), max(s.p.total, total)}
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *sampler) end() peaks {
	close(s.stop)
	<-s.done
	return s.p
}

// lastLine is the first line of a crash in a process's output, or its
// last line.
func lastLine(log string) string {
	lines := strings.Split(strings.TrimSpace(log), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "fatal error:") || strings.HasPrefix(l, "panic:") {
			return l
		}
	}
	return lines[len(lines)-1]
}

func mib(n int64) string { return fmt.Sprintf("%.0f", float64(n)/(1<<20)) }

// ---- bombs ----

type bombRow struct {
	name, state, reason string
	idle, idleKids      int64
	took                time.Duration
	p                   peaks
	died                bool
}

func runBombs(ctx context.Context, c config, mode string, paths map[string]string) error {
	var rows []bombRow
	// A fresh server for each case, so each peak is that case's alone (a
	// Go process gives memory back to the system slowly).
	one := func(label string, bs ...bombs.Bomb) error {
		fmt.Fprintf(os.Stderr, "  %s: %s …\n", mode, label)
		data := filepath.Join(c.dir, "data-"+mode)
		os.RemoveAll(data)
		defer os.RemoveAll(data)
		args := []string{"--index-workers", strconv.Itoa(c.workers)}
		if mode != "legacy" {
			args = append(args, "--extract-isolation", mode)
		}
		srv, err := startServer(ctx, c, data, args...)
		if err != nil {
			return err
		}
		defer srv.p.Stop()
		warm := "an ordinary file to warm the server up"
		id, err := srv.put("warm.txt", "text/plain", strings.NewReader(warm), int64(len(warm)))
		if err != nil {
			return err
		}
		if _, err := srv.settle(id, time.Minute); err != nil {
			return err
		}
		time.Sleep(300 * time.Millisecond)
		row := bombRow{name: label, idle: residentOf(srv.p.PID())}
		for _, k := range childrenOf(srv.p.PID()) {
			row.idleKids += residentOf(k)
		}
		s := sample(srv.p.PID())
		start := time.Now()
		var ids []string
		var wg sync.WaitGroup
		var mu sync.Mutex
		var perr error
		for _, b := range bs {
			wg.Go(func() {
				f, err := os.Open(paths[b.Name])
				if err != nil {
					mu.Lock()
					perr = err
					mu.Unlock()
					return
				}
				defer f.Close()
				st, _ := f.Stat()
				id, err := srv.put("bombs/"+b.Name, b.ContentType, f, st.Size())
				mu.Lock()
				ids, perr = append(ids, id), errors.Join(perr, err)
				mu.Unlock()
			})
		}
		wg.Wait()
		if perr != nil {
			row.state, row.reason = "upload failed", perr.Error()
		}
		for _, id := range ids {
			if perr != nil || !srv.alive() {
				break
			}
			st, err := srv.settle(id, 5*time.Minute)
			if err != nil {
				row.state, row.reason = "unsettled", err.Error()
				break
			}
			row.state, row.reason = st.State, st.Error
		}
		if row.state == "unsettled" {
			time.Sleep(time.Second) // a server that just died may not be gone yet
		}
		row.took, row.p, row.died = time.Since(start), s.end(), !srv.alive()
		if row.died {
			row.state, row.reason = "server died", lastLine(srv.p.Log())
		}
		rows = append(rows, row)
		return nil
	}
	all := bombs.All()
	for _, b := range all {
		if err := one(b.Name, b); err != nil {
			return err
		}
	}
	var pair []bombs.Bomb
	for _, b := range all {
		if b.Name == "one-field.csv" || b.Name == "one-string.json" {
			pair = append(pair, b)
		}
	}
	if err := one("one-field.csv + one-string.json at once", pair...); err != nil {
		return err
	}

	if mode == "legacy" {
		fmt.Printf("\n## Bombs, a binary from before `--extract-isolation`, %d index workers\n\n", c.workers)
	} else {
		fmt.Printf("\n## Bombs, `--extract-isolation=%s`, %d index workers\n\n", mode, c.workers)
	}
	fmt.Printf("A fresh server for each row, warmed up with one ordinary file; idle is its resident memory then (and its extraction "+
		"children's). Target: the server's peak below idle + %d × 256 MiB. Peaks sampled every 5 ms from the upload until the file "+
		"settled (the time includes the upload).\n\n", c.workers)
	fmt.Println("| file | ends | after | idle MiB (children) | server peak MiB | one child's peak MiB | server + children MiB | reason |")
	fmt.Println("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
	worst, missed := peaks{}, 0
	for _, r := range rows {
		reason := r.reason
		if len(reason) > 110 {
			reason = reason[:110] + "…"
		}
		fmt.Printf("| %s | %s | %.1f s | %s (%s) | %s | %s | %s | %s |\n", r.name, r.state, r.took.Seconds(), mib(r.idle), mib(r.idleKids),
			mib(r.p.server), mib(r.p.child), mib(r.p.total), strings.ReplaceAll(reason, "|", "\\|"))
		worst = peaks{max(worst.server, r.p.server), max(worst.child, r.p.child), max(worst.total, r.p.total)}
		if r.p.server > r.idle+int64(c.workers)*perWorker {
			missed++
		}
	}
	verdict := "met for every file"
	if missed > 0 {
		verdict = fmt.Sprintf("MISSED for %d", missed)
	}
	fmt.Printf("\nHighest: server %s MiB (target: %s), one child %s MiB, server and children together %s MiB.\n",
		mib(worst.server), verdict, mib(worst.child), mib(worst.total))
	return nil
}

// ---- cost ----

// ordinary returns n small files of the formats Shelf reads, a few KiB
// each, deterministic.
func ordinary(n int) []file {
	r := rand.New(rand.NewPCG(3, 4))
	words := strings.Fields("the shelf keeps files and finds them again by the words they hold and what they mean " +
		"memory library index search chunk vector keyword page sheet slide table row column heading paragraph")
	text := func(k int) string {
		var b strings.Builder
		for i := range k {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[r.IntN(len(words))])
		}
		return b.String()
	}
	var out []file
	for i := range n {
		var f file
		switch i % 7 {
		case 0:
			f = file{"a.txt", "text/plain", []byte(text(400) + "\n\n" + text(300))}
		case 1:
			f = file{"a.md", "text/markdown", []byte("# " + text(4) + "\n\n" + text(300) + "\n\n## " + text(3) + "\n\n- " + text(20) + "\n- " + text(20) + "\n")}
		case 2:
			var b strings.Builder
			b.WriteString("name,size,note\n")
			for j := range 60 {
				fmt.Fprintf(&b, "file%d.txt,%d,%s\n", j, r.IntN(10000), text(6))
			}
			f = file{"a.csv", "text/csv", []byte(b.String())}
		case 3:
			f = file{"a.json", "application/json", fmt.Appendf(nil, `{"title":%q,"body":%q,"tags":["a","b"],"n":%d}`, text(5), text(300), i)}
		case 4:
			f = file{"a.html", "text/html", []byte("<html><body><h1>" + text(4) + "</h1><p>" + text(200) + "</p><ul><li>" + text(10) + "</li></ul><script>x()</script></body></html>")}
		case 5:
			f = file{"a.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", docx(text(5), text(250))}
		default:
			f = file{"a.pdf", "application/pdf", pdf(text(60), text(60))}
		}
		f.name = fmt.Sprintf("f%05d%s", i, filepath.Ext(f.name))
		out = append(out, f)
	}
	return out
}

type file struct {
	name, contentType string
	data              []byte
}

func docx(title, body string) []byte {
	const w = `xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"`
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range [][2]string{
		{"[Content_Types].xml", `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`},
		{"word/document.xml", `<?xml version="1.0"?><w:document ` + w + `><w:body><w:p><w:pPr><w:pStyle w:val="Title"/></w:pPr><w:r><w:t>` + title +
			`</w:t></w:r></w:p><w:p><w:r><w:t>` + body + `</w:t></w:r></w:p></w:body></w:document>`},
	} {
		fw, _ := zw.Create(p[0])
		fw.Write([]byte(p[1]))
	}
	zw.Close()
	return buf.Bytes()
}

func pdf(lines ...string) []byte {
	var cs strings.Builder
	cs.WriteString("BT /F1 12 Tf 72 720 Td\n")
	for _, l := range lines {
		fmt.Fprintf(&cs, "(%s) Tj 0 -14 Td\n", l)
	}
	cs.WriteString("ET\n")
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 /Resources << /Font << /F1 5 0 R >> >> >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", cs.Len(), cs.String()),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, x)
	return b.Bytes()
}

func runCost(ctx context.Context, c config) error {
	files := ordinary(c.files)
	var total int64
	for _, f := range files {
		total += int64(len(f.data))
	}
	fmt.Printf("\n## Cost of isolation per file\n\n%d ordinary files (text, Markdown, CSV, JSON, HTML, DOCX, PDF in turn; %s in all, %.1f KiB on average).\n\n",
		len(files), harness.MiB(total), float64(total)/float64(len(files))/1024)

	// Extraction alone, one file at a time.
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	type way struct {
		name string
		ext  func(f file) error
		done func()
	}
	inProc := way{name: "in this process (`extract.Extract`)", ext: func(f file) error {
		_, err := extract.Extract(ctx, bytes.NewReader(f.data), int64(len(f.data)), f.contentType, f.name, extract.Limits{})
		return err
	}}
	child := func(name string, uses int) (way, error) {
		e, err := isolate.New(isolate.Config{Command: []string{c.shelf, "extract-worker"}, Uses: uses, Logger: quiet})
		if err != nil {
			return way{}, err
		}
		return way{name: name, done: func() { e.Close() }, ext: func(f file) error {
			_, err := e.Extract(ctx, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(f.data)), nil },
				int64(len(f.data)), f.contentType, f.name, extract.Limits{})
			return err
		}}, nil
	}
	pooled, err := child("a child reused for 1,000 files (the default)", 1000)
	if err != nil {
		return err
	}
	fresh, err := child("a fresh child for every file (`--extract-child-files 1`)", 1)
	if err != nil {
		return err
	}
	fmt.Println("Extraction alone, one file at a time (the median of 3 passes over the corpus):")
	fmt.Println()
	fmt.Println("| where | µs per file | × in-process |")
	fmt.Println("| --- | ---: | ---: |")
	var base float64
	for _, w := range []way{inProc, pooled, fresh} {
		var passes []float64
		for range 3 {
			start := time.Now()
			for _, f := range files {
				if err := w.ext(f); err != nil {
					return fmt.Errorf("%s: %s: %w", w.name, f.name, err)
				}
			}
			passes = append(passes, float64(time.Since(start).Microseconds())/float64(len(files)))
		}
		us := harness.Median(passes)
		if base == 0 {
			base = us
		}
		fmt.Printf("| %s | %.0f | %.2f |\n", w.name, us, us/base)
		if w.done != nil {
			w.done()
		}
	}

	// End to end: the server indexes a backlog of the files.
	fmt.Printf("\nEnd to end: the files written with `--index-workers 0`, then a server with %d workers started on the data "+
		"and timed until `GET /v1/index/status` shows none queued or running:\n\n", c.workers)
	fmt.Println("| extraction | files/s | × in-process |")
	fmt.Println("| --- | ---: | ---: |")
	base = 0
	for _, m := range []struct {
		name string
		args []string
	}{
		{"in the server (`--extract-isolation=none`)", []string{"--extract-isolation", "none"}},
		{"children, reused (the default)", nil},
		{"a fresh child per file (`--extract-child-files 1`)", []string{"--extract-child-files", "1"}},
	} {
		rate, err := backlog(ctx, c, files, m.args)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		if base == 0 {
			base = rate
		}
		fmt.Printf("| %s | %.0f | %.2f |\n", m.name, rate, rate/base)
	}
	return nil
}

// backlog writes the files to a new data directory with indexing off,
// then times a server with the given flags indexing them.
func backlog(ctx context.Context, c config, files []file, flags []string) (float64, error) {
	data := filepath.Join(c.dir, "data-cost")
	os.RemoveAll(data)
	defer os.RemoveAll(data)
	srv, err := startServer(ctx, c, data, "--index-workers", "0")
	if err != nil {
		return 0, err
	}
	for _, f := range files {
		if _, err := srv.put("docs/"+f.name, f.contentType, bytes.NewReader(f.data), int64(len(f.data))); err != nil {
			srv.p.Stop()
			return 0, err
		}
	}
	srv.p.Stop()
	srv, err = startServer(ctx, c, data, append([]string{"--index-workers", strconv.Itoa(c.workers)}, flags...)...)
	if err != nil {
		return 0, err
	}
	defer srv.p.Stop()
	start := time.Now()
	for {
		var st map[string]any
		if err := srv.do("GET", "/v1/index/status", "", nil, -1, &st); err != nil {
			return 0, err
		}
		if st["queued"] == 0.0 && st["running"] == 0.0 {
			if st["indexed"] != float64(len(files)) {
				return 0, fmt.Errorf("status %v", st)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return float64(len(files)) / time.Since(start).Seconds(), nil
}
