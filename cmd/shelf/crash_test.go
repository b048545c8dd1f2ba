package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests run the real binary, kill it with SIGKILL in the middle of
// writes, restart it over the same data directory, and check DESIGN §4:
// every acknowledged write is readable byte for byte, nothing is
// duplicated, retries finish what was cut, and fsck finds nothing wrong.

const crashMaster = "crash-test-master-key-0123456789abcdef"

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// shelfBinary builds the shelf command once per test run.
func shelfBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "shelf-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "shelf")
		out, err := exec.Command("go", "build", "-tags", "sqlite_fts5", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// proc is a running shelf server.
type proc struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startShelf(t *testing.T, dir, failpoint string) *proc {
	t.Helper()
	return startShelfArgs(t, dir, failpoint)
}

func startShelfArgs(t *testing.T, dir, failpoint string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(shelfBinary(t), append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dir}, args...)...)
	cmd.Env = append(os.Environ(), "SHELF_MASTER_KEY="+crashMaster, "SHELF_FAILPOINT="+failpoint)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: &syncBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("server did not start: %v\n%s", err, p.stderr.String())
	}
	p.url = strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	return p
}

func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

// waitFor waits until the server's stderr holds s.
func (p *proc) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.stderr.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("server never printed %q:\n%s", s, p.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *proc) do(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+crashMaster)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

type partURL struct {
	Number int    `json:"number"`
	Size   int64  `json:"size"`
	URL    string `json:"upload_url"`
}

type uploadResp struct {
	Upload struct {
		ID string `json:"id"`
	} `json:"upload"`
	Parts []partURL `json:"parts"`
}

type itemResp struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Hash string `json:"sha256"`
	Size int64  `json:"size"`
}

// putPart PUTs a part's bytes to its signed URL and returns the ETag.
func putPart(t *testing.T, url string, b []byte) string {
	t.Helper()
	req, _ := http.NewRequest("PUT", url, bytes.NewReader(b))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("PUT part: %d %s", resp.StatusCode, msg)
	}
	return resp.Header.Get("ETag")
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// uploadParts creates an upload of data and PUTs all its parts.
func uploadParts(t *testing.T, p *proc, data []byte) (string, []map[string]any) {
	t.Helper()
	var up uploadResp
	if st := p.do(t, "POST", "/v1/uploads", map[string]any{"size": len(data)}, &up); st != 201 {
		t.Fatalf("create upload: %d", st)
	}
	var etags []map[string]any
	off := int64(0)
	for _, pt := range up.Parts {
		etags = append(etags, map[string]any{"number": pt.Number, "etag": putPart(t, pt.URL, data[off:off+pt.Size])})
		off += pt.Size
	}
	return up.Upload.ID, etags
}

// children lists the root's children by name.
func children(t *testing.T, p *proc) map[string]itemResp {
	t.Helper()
	var out struct {
		Items []itemResp `json:"items"`
	}
	if st := p.do(t, "GET", "/v1/items/root/children?limit=1000", nil, &out); st != 200 {
		t.Fatalf("list: %d", st)
	}
	m := map[string]itemResp{}
	for _, it := range out.Items {
		m[it.Name] = it
	}
	return m
}

func content(t *testing.T, p *proc, id string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", p.url+"/v1/items/"+id+"/content", nil)
	req.Header.Set("Authorization", "Bearer "+crashMaster)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("content %s: %d %v", id, resp.StatusCode, err)
	}
	return b
}

func TestCrashDuringPartUpload(t *testing.T) {
	dir := t.TempDir()
	p := startShelf(t, dir, "")
	// An acknowledged file from before the crash.
	before := randomBytes(1<<20, 1)
	id, etags := uploadParts(t, p, before)
	var kept itemResp
	if st := p.do(t, "POST", "/v1/uploads/"+id+"/finalize", map[string]any{"parent_id": "root", "name": "kept.bin", "parts": etags}, &kept); st != 200 {
		t.Fatalf("finalize: %d", st)
	}

	data := randomBytes(12<<20, 2) // parts of 5, 5 and 2 MiB
	var up uploadResp
	if st := p.do(t, "POST", "/v1/uploads", map[string]any{"size": len(data)}, &up); st != 201 {
		t.Fatalf("create upload: %d", st)
	}
	etag1 := putPart(t, up.Parts[0].URL, data[:up.Parts[0].Size])

	// Part 2 is cut halfway: the server is killed while it streams in.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("PUT", up.Parts[1].URL, pr)
	req.ContentLength = up.Parts[1].Size
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("PUT answered %d", resp.StatusCode)
		}
		done <- err
	}()
	off := up.Parts[0].Size
	if _, err := pw.Write(data[off : off+up.Parts[1].Size/2]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	p.kill(t)
	pw.CloseWithError(io.ErrClosedPipe)
	if err := <-done; err == nil {
		t.Fatal("the cut PUT was acknowledged")
	}

	p = startShelf(t, dir, "")
	var st struct {
		Received []struct {
			Number int    `json:"number"`
			ETag   string `json:"etag"`
		} `json:"received"`
		Missing []partURL `json:"missing"`
	}
	if code := p.do(t, "GET", "/v1/uploads/"+up.Upload.ID, nil, &st); code != 200 {
		t.Fatalf("get upload after restart: %d", code)
	}
	if len(st.Received) != 1 || st.Received[0].Number != 1 || `"`+st.Received[0].ETag+`"` != etag1 {
		t.Fatalf("received after restart = %+v, want only part 1 with ETag %s", st.Received, etag1)
	}
	if len(st.Missing) != 2 || st.Missing[0].Number != 2 || st.Missing[1].Number != 3 {
		t.Fatalf("missing after restart = %+v, want parts 2 and 3", st.Missing)
	}
	// Resume with the fresh URLs.
	etags = []map[string]any{{"number": 1, "etag": etag1}}
	for _, m := range st.Missing {
		o := int64(m.Number-1) * up.Parts[0].Size
		etags = append(etags, map[string]any{"number": m.Number, "etag": putPart(t, m.URL, data[o:o+m.Size])})
	}
	var it itemResp
	if code := p.do(t, "POST", "/v1/uploads/"+up.Upload.ID+"/finalize", map[string]any{"parent_id": "root", "name": "resumed.bin", "parts": etags}, &it); code != 200 {
		t.Fatalf("finalize after resume: %d", code)
	}
	if got := content(t, p, it.ID); !bytes.Equal(got, data) {
		t.Fatal("resumed file differs from what was uploaded")
	}
	if got := content(t, p, kept.ID); !bytes.Equal(got, before) {
		t.Fatal("file acknowledged before the crash differs")
	}
	p.kill(t)
	runFsck(t, dir)
}

func TestCrashAtWritePoints(t *testing.T) {
	dir := t.TempDir()
	acked := map[string][]byte{} // name → bytes of every acknowledged file
	// A part whose bytes are durable but whose row never committed is
	// missing after the restart, and can be sent again.
	t.Run("part-written", func(t *testing.T) {
		p := startShelf(t, dir, "part-written")
		data := randomBytes(3<<20, 3)
		var up uploadResp
		p.do(t, "POST", "/v1/uploads", map[string]any{"size": len(data)}, &up)
		go func() {
			req, _ := http.NewRequest("PUT", up.Parts[0].URL, bytes.NewReader(data))
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		p.waitFor(t, "FAILPOINT part-written")
		p.kill(t)
		p = startShelf(t, dir, "")
		var st struct {
			Received []any     `json:"received"`
			Missing  []partURL `json:"missing"`
		}
		p.do(t, "GET", "/v1/uploads/"+up.Upload.ID, nil, &st)
		if len(st.Received) != 0 || len(st.Missing) != 1 {
			t.Fatalf("after a crash before the part's commit: received %v, missing %v", st.Received, st.Missing)
		}
		etag := putPart(t, st.Missing[0].URL, data)
		var it itemResp
		if code := p.do(t, "POST", "/v1/uploads/"+up.Upload.ID+"/finalize", map[string]any{"parent_id": "root", "name": "part.bin",
			"parts": []map[string]any{{"number": 1, "etag": etag}}}, &it); code != 200 {
			t.Fatalf("finalize: %d", code)
		}
		acked["part.bin"] = data
		p.kill(t)
	})
	// Finalize is cut after hashing, after the blob is in place, and after
	// the commit but before the answer: each time, finalizing again makes
	// the file exactly once.
	for i, point := range []string{"finalize-hashed", "finalize-blob", "finalize-done"} {
		t.Run(point, func(t *testing.T) {
			p := startShelf(t, dir, point)
			data := randomBytes(6<<20+i, uint64(10+i))
			id, etags := uploadParts(t, p, data)
			name := point + ".bin"
			body := map[string]any{"parent_id": "root", "name": name, "parts": etags}
			go func() { // cut by the kill; its error is expected
				b, _ := json.Marshal(body)
				req, _ := http.NewRequest("POST", p.url+"/v1/uploads/"+id+"/finalize", bytes.NewReader(b))
				req.Header.Set("Authorization", "Bearer "+crashMaster)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}()
			p.waitFor(t, "FAILPOINT "+point)
			p.kill(t)

			p = startShelf(t, dir, "")
			var it itemResp
			if code := p.do(t, "POST", "/v1/uploads/"+id+"/finalize", body, &it); code != 200 {
				t.Fatalf("finalize after restart: %d", code)
			}
			var again itemResp
			p.do(t, "POST", "/v1/uploads/"+id+"/finalize", body, &again)
			if again.ID != it.ID {
				t.Fatalf("finalizing again made %s, want the same item %s", again.ID, it.ID)
			}
			acked[name] = data
			kids := children(t, p)
			for n, want := range acked {
				got, ok := kids[n]
				if !ok {
					t.Fatalf("acknowledged file %s is gone", n)
				}
				if !bytes.Equal(content(t, p, got.ID), want) {
					t.Fatalf("acknowledged file %s differs", n)
				}
				sum := sha256.Sum256(want)
				if got.Hash != fmt.Sprintf("%x", sum) {
					t.Fatalf("%s: sha256 %s, want %x", n, got.Hash, sum)
				}
			}
			if len(kids) != len(acked) {
				t.Fatalf("root holds %d files, want %d (a duplicate?): %v", len(kids), len(acked), kids)
			}
			p.kill(t)
		})
	}
	runFsck(t, dir)
}

func runFsck(t *testing.T, dir string) {
	t.Helper()
	out, err := exec.Command(shelfBinary(t), "fsck", "--deep", "--data", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "no problems") {
		t.Fatalf("fsck: %v\n%s", err, out)
	}
}

// A server killed while indexing leaves its claimed job to the lease; the
// restarted server indexes the file once the lease ends, and fsck finds
// nothing wrong with the index.
func TestCrashDuringIndexing(t *testing.T) {
	dir := t.TempDir()
	start := func(failpoint string) *proc {
		return startShelfArgs(t, dir, failpoint, "--index-lease", "3s")
	}
	put := func(p *proc, path, body string) {
		t.Helper()
		req, _ := http.NewRequest("PUT", p.url+"/v1/files/"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+crashMaster)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("PUT %s: %d", path, resp.StatusCode)
		}
	}
	p := start("index-claimed")
	put(p, "notes/a.txt", "the first file mentions aardvarks")
	p.waitFor(t, "FAILPOINT index-claimed")
	p.kill(t)

	p = start("")
	put(p, "notes/b.txt", "a second file about badgers")
	var st map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for {
		st = nil
		p.do(t, "GET", "/v1/index/status", nil, &st)
		if st["indexed"] == 2.0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("index status after the restart: %v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var res struct {
		Hits []struct {
			Path string `json:"path"`
		} `json:"hits"`
	}
	p.do(t, "POST", "/v1/search", map[string]any{"query": "aardvarks"}, &res)
	if len(res.Hits) != 1 || res.Hits[0].Path != "notes/a.txt" {
		t.Fatalf("search after the restart: %+v", res)
	}
	p.kill(t)
	runFsck(t, dir)
}

// A server killed in the middle of a recursive delete, between two of its
// batches, leaves the delete recorded; the restarted server finishes it
// once the lease has ended: the folder and everything in it are gone, the
// files beside it are intact, and fsck finds nothing wrong.
func TestCrashDuringRecursiveDelete(t *testing.T) {
	dir := t.TempDir()
	start := func(failpoint string) *proc {
		return startShelfArgs(t, dir, failpoint, "--bulk-batch-rows", "10", "--op-lease", "1s", "--index-workers", "0")
	}
	put := func(p *proc, path, body string) {
		t.Helper()
		req, _ := http.NewRequest("PUT", p.url+"/v1/files/"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+crashMaster)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("PUT %s: %d", path, resp.StatusCode)
		}
	}
	p := start("tree-op-batch")
	for d := range 4 {
		for f := range 15 {
			put(p, fmt.Sprintf("big/d%d/f%02d.txt", d, f), fmt.Sprintf("file %d of folder %d", f, d))
		}
	}
	put(p, "keep.txt", "beside the folder")
	big := children(t, p)["big"]
	deleted := make(chan int, 1)
	go func() { // cut by the kill
		req, _ := http.NewRequest("DELETE", p.url+"/v1/items/"+big.ID, nil)
		req.Header.Set("Authorization", "Bearer "+crashMaster)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			deleted <- resp.StatusCode
			resp.Body.Close()
		}
	}()
	p.waitFor(t, "FAILPOINT tree-op-batch")
	p.kill(t)
	select {
	case st := <-deleted:
		t.Fatalf("the delete was answered (%d) before the kill", st)
	default:
	}

	p = start("")
	// The first batch (10 items) had committed: the folder is still
	// there, partly deleted, until the restarted server finishes.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st := p.do(t, "GET", "/v1/items/"+big.ID, nil, nil); st == http.StatusNotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the restarted server never finished the delete")
		}
		time.Sleep(50 * time.Millisecond)
	}
	kids := children(t, p)
	if len(kids) != 1 || string(content(t, p, kids["keep.txt"].ID)) != "beside the folder" {
		t.Fatalf("the root after the delete: %v", kids)
	}
	if !strings.Contains(p.stderr.String(), "finished a bulk change cut short") {
		t.Fatalf("the server did not say it finished the delete:\n%s", p.stderr.String())
	}
	p.kill(t)
	runFsck(t, dir)
}
