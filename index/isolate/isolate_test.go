package isolate

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/index/extract"
)

// The test binary is its own child: with ISOLATE_TEST_CHILD set it serves
// requests, and files named for it misbehave on cue.
func TestMain(m *testing.M) {
	if os.Getenv("ISOLATE_TEST_CHILD") == "1" {
		fs := flag.NewFlagSet("child", flag.ExitOnError)
		memory := fs.Int64("memory", 0, "")
		fs.Parse(os.Args[1:])
		testHook = misbehave
		if err := Serve(os.Stdin, os.Stdout, *memory); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var sink [][]byte

// misbehave acts on the file names the tests use.
func misbehave(req *request, served int) {
	switch req.Name {
	case "hog.txt": // takes memory until there is none
		for {
			b := make([]byte, 16<<20)
			for i := range b {
				b[i] = byte(i)
			}
			sink = append(sink, b)
		}
	case "crash.txt":
		var m map[string]int
		go func() { m["x"] = 1 }() // a panic outside any recover
		time.Sleep(time.Minute)
	case "crash-if-used.txt":
		if served > 0 {
			go func() { panic("the files before broke me") }()
			time.Sleep(time.Minute)
		}
	case "recurse.txt":
		var f func(int) int
		f = func(n int) int { var pad [256]byte; return f(n+1) + int(pad[n%256]) }
		f(0)
	case "spin.txt": // ignores every deadline
		for {
		}
	}
}

func newExtractor(t *testing.T, cfg Config) *Extractor {
	t.Helper()
	cfg.Command, cfg.Env = []string{os.Args[0]}, []string{"ISOLATE_TEST_CHILD=1"}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		if os.Getenv("ISOLATE_TEST_LOG") != "" {
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func bytesOpener(data []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}

func extractIn(t *testing.T, e *Extractor, data []byte, contentType, name string, lim extract.Limits) (*extract.Doc, error) {
	t.Helper()
	return e.Extract(context.Background(), bytesOpener(data), int64(len(data)), contentType, name, lim)
}

func wantCode(t *testing.T, err error, code, msg string) {
	t.Helper()
	if shelf.ErrorCode(err) != code || !strings.Contains(shelf.ErrorMessage(err), msg) {
		t.Fatalf("err = %v, want %s containing %q", err, code, msg)
	}
}

// A child gives the document Extract gives in this process, block for
// block, and the same errors.
func TestSameAsInProcess(t *testing.T) {
	e := newExtractor(t, Config{})
	big := strings.Repeat("A paragraph of some words.\n\n", 200_000) // 5.4 MB: spooled, not in memory
	for _, c := range []struct {
		data              string
		contentType, name string
		lim               extract.Limits
	}{
		{"# Title\n\nSome text.\n\n- item\n\n```\ncode\n```\n", "text/markdown", "a.md", extract.Limits{}},
		{"name,size\na.txt,12\nb.txt,7\n", "text/csv", "a.csv", extract.Limits{}},
		{`{"a":{"b":[1,2]},"c":"d"}`, "application/json", "a.json", extract.Limits{}},
		{big, "text/plain", "big.txt", extract.Limits{}},
		{"", "text/plain", "empty.txt", extract.Limits{}},
		{"\x00\x01binary", "application/octet-stream", "a.bin", extract.Limits{}},
		{"text\n\"" + strings.Repeat("x", 3<<20) + "\"\n", "text/csv", "field.csv", extract.Limits{MaxToken: 1 << 20}},
	} {
		want, wantErr := extract.Extract(context.Background(), strings.NewReader(c.data), int64(len(c.data)), c.contentType, c.name, c.lim)
		got, err := extractIn(t, e, []byte(c.data), c.contentType, c.name, c.lim)
		if shelf.ErrorCode(err) != shelf.ErrorCode(wantErr) || shelf.ErrorMessage(err) != shelf.ErrorMessage(wantErr) {
			t.Fatalf("%s: err = %v, want %v", c.name, err, wantErr)
		}
		if wantErr != nil {
			continue
		}
		if got.Text != want.Text || got.Pages != want.Pages || len(got.Blocks) != len(want.Blocks) {
			t.Fatalf("%s: %d bytes in %d blocks, want %d in %d", c.name, len(got.Text), len(got.Blocks), len(want.Text), len(want.Blocks))
		}
		for i := range got.Blocks {
			if got.Blocks[i] != want.Blocks[i] {
				t.Fatalf("%s: block %d = %+v, want %+v", c.name, i, got.Blocks[i], want.Blocks[i])
			}
		}
	}
	if n := e.Started(); n != 1 {
		t.Fatalf("%d children started for the files, want 1 reused", n)
	}
}

// A file that takes all the memory it can kills its child under the
// kernel's cap, not this process; the next file gets a fresh child.
func TestMemoryCap(t *testing.T) {
	if !MemoryCapped {
		t.Skip("no kernel memory cap on " + runtime.GOOS)
	}
	e := newExtractor(t, Config{Memory: 64 << 20})
	start := time.Now()
	_, err := extractIn(t, e, []byte("x"), "text/plain", "hog.txt", extract.Limits{})
	wantCode(t, err, shelf.ETOOLARGE, "needs more memory than the 64 MiB")
	if el := time.Since(start); el > 20*time.Second {
		t.Fatalf("took %v", el)
	}
	d, err := extractIn(t, e, []byte("still fine"), "text/plain", "ok.txt", extract.Limits{})
	if err != nil || d.Text != "still fine" {
		t.Fatalf("after the death: %v", err)
	}
}

// Crashes and runaway recursion are the file's failure, with a reason.
func TestCrash(t *testing.T) {
	e := newExtractor(t, Config{})
	_, err := extractIn(t, e, []byte("x"), "text/plain", "crash.txt", extract.Limits{})
	wantCode(t, err, shelf.EINVALID, "crashed reading this file (panic: assignment to entry in nil map)")
	_, err = extractIn(t, e, []byte("x"), "text/plain", "recurse.txt", extract.Limits{})
	wantCode(t, err, shelf.EINVALID, "nested too deeply")
}

// A child that ignores every deadline is killed at the time limit plus
// the grace.
func TestTimeout(t *testing.T) {
	e := newExtractor(t, Config{Grace: 200 * time.Millisecond})
	start := time.Now()
	_, err := extractIn(t, e, []byte("x"), "text/plain", "spin.txt", extract.Limits{Timeout: 300 * time.Millisecond})
	wantCode(t, err, shelf.ETIMEOUT, "took longer than 500ms")
	if el := time.Since(start); el > 10*time.Second {
		t.Fatalf("took %v", el)
	}
	// A cancelled context kills the child and says so.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = e.Extract(ctx, bytesOpener([]byte("x")), 1, "text/plain", "spin.txt", extract.Limits{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's", err)
	}
}

// A child that dies after it has read other files may have been brought
// down by them: the file is tried once more in a fresh child, and only a
// death there is held against it.
func TestRetryInFreshChild(t *testing.T) {
	e := newExtractor(t, Config{})
	// The probe used the first child: it dies on this file, a fresh one
	// reads it.
	d, err := extractIn(t, e, []byte("read at last"), "text/plain", "crash-if-used.txt", extract.Limits{})
	if err != nil || d.Text != "read at last" {
		t.Fatalf("retry: %v", err)
	}
	if n := e.Started(); n != 2 {
		t.Fatalf("%d children started, want 2", n)
	}
	// A file that crashes a fresh child is not tried again.
	e.Close()
	e = newExtractor(t, Config{Uses: 1}) // a child per file: every child is fresh
	before := e.Started()
	_, err = extractIn(t, e, []byte("x"), "text/plain", "crash.txt", extract.Limits{})
	wantCode(t, err, shelf.EINVALID, "crashed")
	if n := e.Started() - before; n != 1 {
		t.Fatalf("%d children for a crash in a fresh child, want 1", n)
	}
}

// Children are reused up to Uses files each.
func TestPool(t *testing.T) {
	e := newExtractor(t, Config{Uses: 3})
	for i := range 10 {
		s := "file " + strconv.Itoa(i)
		if d, err := extractIn(t, e, []byte(s), "text/plain", "a.txt", extract.Limits{}); err != nil || d.Text != s {
			t.Fatalf("file %d: %v", i, err)
		}
	}
	// The probe and 10 files, three to a child.
	if n := e.Started(); n != 4 {
		t.Fatalf("%d children started, want 4", n)
	}
}

// Content that cannot be read is not the file's fault: the error says
// so, and the child waiting for the rest is not reused.
func TestShortContent(t *testing.T) {
	e := newExtractor(t, Config{})
	_, err := e.Extract(context.Background(), bytesOpener([]byte("short")), 100, "text/plain", "a.txt", extract.Limits{})
	if err == nil || shelf.ErrorCode(err) != shelf.EINTERNAL {
		t.Fatalf("err = %v, want an internal error", err)
	}
	if d, err := extractIn(t, e, []byte("next"), "text/plain", "b.txt", extract.Limits{}); err != nil || d.Text != "next" {
		t.Fatalf("the next file: %v", err)
	}
}

// An answer that breaks the protocol is refused, never trusted.
func TestReadDocChecks(t *testing.T) {
	lim := extract.DefaultLimits()
	good := &extract.Doc{Text: "ab\n\ncd", Blocks: []extract.Block{{Kind: extract.Paragraph, Text: "ab", Start: 0, End: 2},
		{Kind: extract.Heading, Level: 2, Text: "cd", Start: 4, End: 6}}}
	for name, d := range map[string]*extract.Doc{
		"overlap":   {Text: good.Text, Blocks: []extract.Block{{Start: 0, End: 4}, {Start: 2, End: 6}}},
		"past-end":  {Text: good.Text, Blocks: []extract.Block{{Start: 4, End: 9}}},
		"bad-kind":  {Text: good.Text, Blocks: []extract.Block{{Kind: 9, Start: 0, End: 2}}},
		"bad-level": {Text: good.Text, Blocks: []extract.Block{{Level: 7, Start: 0, End: 2}}},
		"too-big":   {Text: strings.Repeat("x", lim.MaxOutput+1)},
	} {
		var buf bytes.Buffer
		w := newBufWriter(&buf)
		if err := writeDoc(w, d); err != nil {
			t.Fatal(err)
		}
		r := newBufReader(&buf)
		var a answer
		if err := readHeader(r, &a); err != nil {
			t.Fatal(err)
		}
		if _, err := readDoc(r, a, lim); !errors.Is(err, errBadAnswer) {
			t.Fatalf("%s: err = %v", name, err)
		}
	}
	var buf bytes.Buffer
	w := newBufWriter(&buf)
	writeDoc(w, good)
	r := newBufReader(&buf)
	var a answer
	readHeader(r, &a)
	d, err := readDoc(r, a, lim)
	if err != nil || d.Blocks[1] != good.Blocks[1] || d.Text != good.Text {
		t.Fatalf("good doc: %+v, %v", d, err)
	}
}

func newBufWriter(w io.Writer) *bufio.Writer { return bufio.NewWriter(w) }
func newBufReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }
