package fsblob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/blob/blobtest"
	"github.com/shelfmem/shelf/blob/fsblob"
	"github.com/shelfmem/shelf/internal/tmpfs"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) shelf.BlobStore { return mustOpen(t, t.TempDir()) })
}

// TestConformanceSyncParts runs the suite with a sync per part
// (shelf serve --sync-parts).
func TestConformanceSyncParts(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) shelf.BlobStore {
		s := mustOpen(t, t.TempDir())
		s.SyncParts = true
		return s
	})
}

// mustOpen opens a store in dir and closes it when the test ends.
func mustOpen(t *testing.T, dir string) *fsblob.Store {
	t.Helper()
	s, err := fsblob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestLayout(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	ctx := t.Context()

	ref, err := s.Put(ctx, strings.NewReader("hello"), 5)
	if err != nil {
		t.Fatal(err)
	}
	const hash = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	blob := filepath.Join(dir, "sha256", "2c", "f2", hash)
	if ref.Hash != hash {
		t.Fatalf("hash %s, want %s", ref.Hash, hash)
	}
	if b, err := os.ReadFile(blob); err != nil || string(b) != "hello" {
		t.Fatalf("ReadFile(%s) = %q, %v; want hello", blob, b, err)
	}
	wantMode(t, blob, 0o444)
	if _, err := s.Put(ctx, strings.NewReader("hello"), 5); err != nil {
		t.Fatal(err)
	}
	wantEmptyTmp(t, dir) // the duplicate's temp file is gone

	// A committed upload is the staging file itself, renamed, not a copy.
	const id = "up-1"
	b := []byte("staged bytes")
	if err := s.CreateStaging(ctx, id, int64(len(b))); err != nil {
		t.Fatal(err)
	}
	staging := filepath.Join(dir, "staging", id)
	before, err := os.Stat(staging)
	if err != nil || before.Size() != int64(len(b)) {
		t.Fatalf("Stat(%s) = %v, %v; want %d bytes", staging, before, err, len(b))
	}
	if _, err := s.WritePart(ctx, id, 0, bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
	ref = shelf.BlobRef{Hash: sum(b), Size: int64(len(b))}
	if err := s.CommitStaging(ctx, id, ref); err != nil {
		t.Fatal(err)
	}
	blob = filepath.Join(dir, "sha256", ref.Hash[:2], ref.Hash[2:4], ref.Hash)
	after, err := os.Stat(blob)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("the committed blob is not the staging file")
	}
	wantMode(t, blob, 0o444)
	if _, err := os.Stat(staging); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staging file after commit: %v, want it gone", err)
	}
	wantEmptyTmp(t, dir)
}

func TestOpenRemovesTmp(t *testing.T) {
	dir := t.TempDir()
	s, err := fsblob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"tmp/leftover":    "half a blob",
		"tmp/dir/nested":  "x",
		"staging/live-up": "an upload in progress",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s = mustOpen(t, dir)
	wantEmptyTmp(t, dir)
	var ids []string
	err = s.WalkStaging(t.Context(), func(info shelf.BlobInfo) error {
		ids = append(ids, info.Hash)
		return nil
	})
	if err != nil || len(ids) != 1 || ids[0] != "live-up" {
		t.Fatalf("WalkStaging found %v (err %v), want the staging file kept", ids, err)
	}
}

func TestFailedPutLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	canceled, cancel := context.WithCancel(t.Context())
	defer cancel()
	b := bytes.Repeat([]byte("x"), 600_000)
	tests := []struct {
		name string
		ctx  context.Context
		r    io.Reader
		size int64
		code string
	}{
		{"Short", t.Context(), bytes.NewReader(b), 600_001, shelf.EINVALID},
		{"Long", t.Context(), bytes.NewReader(b), 599_999, shelf.EINVALID},
		{"ReaderError", t.Context(), io.MultiReader(bytes.NewReader(b), errReader{}), -1, shelf.EINTERNAL},
		{"Canceled", canceled, io.MultiReader(bytes.NewReader(b[:1000]), cancelReader(cancel), bytes.NewReader(b[1000:])), 600_000, shelf.EINTERNAL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Put(tc.ctx, tc.r, tc.size)
			if got := shelf.ErrorCode(err); got != tc.code {
				t.Fatalf("code %q (err %v), want %q", got, err, tc.code)
			}
			wantEmptyTmp(t, dir)
		})
	}
}

// cancelReader calls its func when read, and yields nothing.
type cancelReader func()

func (c cancelReader) Read([]byte) (int, error) {
	c()
	return 0, io.EOF
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestBadNames(t *testing.T) {
	parent := t.TempDir()
	s := mustOpen(t, filepath.Join(parent, "blobs"))
	ctx := t.Context()
	valid := sum([]byte("x"))

	for _, hash := range []string{
		"",
		"../../etc/passwd",
		"AB..",
		strings.ToUpper(valid),
		valid[:63],
		valid + "0",
		valid[:63] + "g",
		valid[:2] + "/" + valid[3:],
		"../" + valid[3:],
		valid[:63] + "\x00",
	} {
		_, err := s.Open(ctx, hash, 0, -1)
		wantCode(t, err, shelf.EINVALID, "Open "+hash)
		_, err = s.Stat(ctx, hash)
		wantCode(t, err, shelf.EINVALID, "Stat "+hash)
		wantCode(t, s.Delete(ctx, hash, time.Now()), shelf.EINVALID, "Delete "+hash)
		err = s.CommitStaging(ctx, "up", shelf.BlobRef{Hash: hash, Size: 1})
		wantCode(t, err, shelf.EINVALID, "CommitStaging to "+hash)
	}
	for _, id := range []string{
		"", ".", "..", "../x", "a/b", "/abs", "a.b", "a b", "a\x00", "é", strings.Repeat("a", 65),
	} {
		wantCode(t, s.CreateStaging(ctx, id, 1), shelf.EINVALID, "CreateStaging "+id)
		_, err := s.WritePart(ctx, id, 0, strings.NewReader("x"), 1)
		wantCode(t, err, shelf.EINVALID, "WritePart "+id)
		_, _, err = s.SumStaging(ctx, id, nil)
		wantCode(t, err, shelf.EINVALID, "SumStaging "+id)
		err = s.CommitStaging(ctx, id, shelf.BlobRef{Hash: valid, Size: 1})
		wantCode(t, err, shelf.EINVALID, "CommitStaging "+id)
		wantCode(t, s.DeleteStaging(ctx, id), shelf.EINVALID, "DeleteStaging "+id)
	}
	entries, err := os.ReadDir(parent)
	if err != nil || len(entries) != 1 || entries[0].Name() != "blobs" {
		t.Fatalf("the store's parent holds %v (err %v), want only blobs/", entries, err)
	}
}

func TestWalkSkipsStrays(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	ref, err := s.Put(t.Context(), strings.NewReader("real"), 4)
	if err != nil {
		t.Fatal(err)
	}
	other := sum([]byte("other"))
	for _, name := range []string{
		"sha256/README",
		"sha256/zz/zz/" + other,
		"sha256/AB/CD/" + other,
		"sha256/" + ref.Hash[:2] + "/" + ref.Hash[2:4] + "/" + other, // in the wrong directory
		"sha256/" + ref.Hash[:2] + "/" + ref.Hash[2:4] + "/" + ref.Hash + ".tmp",
		"sha256/" + ref.Hash[:2] + "/stray",
		"staging/bad.name",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("other"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "staging", "a-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	var found []string
	err = s.Walk(t.Context(), func(info shelf.BlobInfo) error {
		found = append(found, info.Hash)
		return nil
	})
	if err != nil || len(found) != 1 || found[0] != ref.Hash {
		t.Fatalf("Walk found %v (err %v), want only %s", found, err, ref.Hash)
	}
	err = s.WalkStaging(t.Context(), func(info shelf.BlobInfo) error {
		t.Errorf("WalkStaging reported %q", info.Hash)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSymlinkCannotEscape(t *testing.T) {
	parent := t.TempDir()
	secret := filepath.Join(parent, "secret")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "blobs")
	s := mustOpen(t, dir)
	hash := sum([]byte("secret"))
	blobDir := filepath.Join(dir, "sha256", hash[:2], hash[2:4])
	if err := os.MkdirAll(blobDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{secret, "../../../../secret"} {
		link := filepath.Join(blobDir, hash)
		_ = os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if rc, err := s.Open(t.Context(), hash, 0, -1); err == nil {
			b, _ := io.ReadAll(rc)
			rc.Close()
			t.Fatalf("Open through a symlink to %s read %q, want an error", target, b)
		}
		if ref, err := s.Stat(t.Context(), hash); err == nil {
			t.Fatalf("Stat through a symlink to %s = %+v, want an error", target, ref)
		}
	}
}

func TestReaderInterfaces(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	b := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	ref, err := s.Put(t.Context(), bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.Open(t.Context(), ref.Hash, 10, 20)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	r, ok := rc.(interface {
		io.ReadSeeker
		io.ReaderAt
		Size() int64
	})
	if !ok {
		t.Fatalf("Open returned %T, which lacks Seek, ReadAt or Size", rc)
	}
	if r.Size() != 20 {
		t.Errorf("Size() = %d, want 20", r.Size())
	}
	p := make([]byte, 5)
	if n, err := r.ReadAt(p, 3); err != nil || string(p[:n]) != string(b[13:18]) {
		t.Errorf("ReadAt(5, 3) = %q, %v; want %q", p[:n], err, b[13:18])
	}
	if pos, err := r.Seek(-5, io.SeekEnd); err != nil || pos != 15 {
		t.Fatalf("Seek(-5, end) = %d, %v; want 15", pos, err)
	}
	if rest, err := io.ReadAll(r); err != nil || string(rest) != string(b[25:30]) {
		t.Errorf("read after Seek = %q, %v; want %q", rest, err, b[25:30])
	}
}

// TestCrashDuringPut runs itself as a child that Puts one blob, then kills
// itself with SIGKILL halfway through a second Put. The reopened store must
// hold the first blob intact, nothing of the second, and an empty tmp/.
func TestCrashDuringPut(t *testing.T) {
	const env = "FSBLOB_CRASH_DIR"
	const size, half = 2 << 20, 1 << 20
	first := bytes.Repeat([]byte("acknowledged "), 10_000)
	second := func() io.Reader { return io.LimitReader(rand.NewChaCha8([32]byte{42}), size) }

	if dir := os.Getenv(env); dir != "" {
		s, err := fsblob.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Put(t.Context(), bytes.NewReader(first), int64(len(first))); err != nil {
			t.Fatal(err)
		}
		_, err = s.Put(t.Context(), &killAfter{r: second(), n: half}, size)
		t.Fatalf("Put returned %v instead of dying", err)
	}
	if runtime.GOOS == "windows" {
		t.Skip("the child kills itself with SIGKILL")
	}

	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDuringPut$")
	cmd.Env = append(os.Environ(), env+"="+dir)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("child: %v, want it killed; output:\n%s", err, out)
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child: %v, want it killed by SIGKILL; output:\n%s", err, out)
	}
	tmps, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil || len(tmps) != 1 {
		t.Fatalf("tmp/ holds %v (err %v), want the one half-written file", tmps, err)
	}
	if info, err := tmps[0].Info(); err != nil || info.Size() != half {
		t.Fatalf("the temp file: %v, %v; want %d bytes", info, err, half)
	}

	s := mustOpen(t, dir)
	wantEmptyTmp(t, dir)
	rc, err := s.Open(t.Context(), sum(first), 0, -1)
	if err != nil {
		t.Fatalf("the first blob: %v", err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(b, first) {
		t.Fatalf("the first blob reads %d bytes (err %v), want %d intact", len(b), err, len(first))
	}
	h := sha256.New()
	if _, err := io.Copy(h, second()); err != nil {
		t.Fatal(err)
	}
	_, err = s.Stat(t.Context(), hex.EncodeToString(h.Sum(nil)))
	wantCode(t, err, shelf.ENOTFOUND, "Stat of the blob whose Put was killed")
	var found []string
	err = s.Walk(t.Context(), func(info shelf.BlobInfo) error {
		found = append(found, info.Hash)
		return nil
	})
	if err != nil || len(found) != 1 || found[0] != sum(first) {
		t.Fatalf("Walk found %v (err %v), want only the first blob", found, err)
	}
}

// killAfter yields n bytes of r, then kills the process on the next Read.
type killAfter struct {
	r io.Reader
	n int64
}

func (k *killAfter) Read(p []byte) (int, error) {
	if k.n <= 0 {
		self, err := os.FindProcess(os.Getpid())
		if err == nil {
			err = self.Kill()
		}
		if err != nil {
			return 0, err
		}
		time.Sleep(time.Minute) // SIGKILL lands first
	}
	p = p[:min(int64(len(p)), k.n)]
	n, err := k.r.Read(p)
	k.n -= int64(n)
	return n, err
}

func wantMode(t *testing.T, name string, mode fs.FileMode) {
	t.Helper()
	info, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != mode {
		t.Errorf("mode of %s = %v, want %v", name, got, mode)
	}
}

func wantEmptyTmp(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil || len(entries) != 0 {
		t.Fatalf("tmp/ holds %v (err %v), want nothing", entries, err)
	}
}

func wantCode(t *testing.T, err error, code, what string) {
	t.Helper()
	if got := shelf.ErrorCode(err); got != code {
		t.Errorf("%s: code %q (err %v), want %q", what, got, err, code)
	}
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// failingReader yields n bytes, then fails with err (io.EOF if nil).
type failingReader struct {
	n   int64
	err error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		if r.err == nil {
			return 0, io.EOF
		}
		return 0, r.err
	}
	m := min(int64(len(p)), r.n)
	clear(p[:m])
	p[0] = 1 // not all zeros, so no file system could skip the blocks
	r.n -= m
	return int(m), nil
}

// allocated returns the bytes of blocks a file holds.
func allocated(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		t.Skip("no block counts on this system")
	}
	return st.Blocks * 512
}

// A part that fails part-way gives back the blocks it had written: a part
// cut by a full disk does not keep the room it took. (The reader's failure
// stands in for the disk's; TestPartOnFullDisk fills a real one.)
func TestFailedPartDropsItsBytes(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("holes are punched on Linux")
	}
	dir := t.TempDir()
	s := mustOpen(t, dir)
	ctx := t.Context()
	const size = 16 << 20
	if err := s.CreateStaging(ctx, "up1", size); err != nil {
		t.Fatal(err)
	}
	staging := filepath.Join(dir, "staging", "up1")
	// A whole part first, which must stay.
	if _, err := s.WritePart(ctx, "up1", 0, &failingReader{n: 4 << 20}, 4<<20); err != nil {
		t.Fatal(err)
	}
	before := allocated(t, staging)
	if before < 4<<20 {
		t.Skipf("the file system allocated %d bytes for a 4 MiB part", before)
	}
	_, err := s.WritePart(ctx, "up1", 4<<20, &failingReader{n: 6 << 20, err: syscall.ENOSPC}, 8<<20)
	if err == nil {
		t.Fatal("a part whose reader failed was written")
	}
	if after := allocated(t, staging); after > before+64<<10 {
		t.Fatalf("after a failed part the staging file holds %d bytes of blocks, %d before it: the partial part was kept", after, before)
	}
	// The whole part is still there.
	ref, bad, err := s.SumStaging(ctx, "up1", nil)
	if err != nil || len(bad) != 0 || ref.Size != size {
		t.Fatalf("SumStaging = %+v, %v, %v", ref, bad, err)
	}
}

// On a file system that fills up for real, a part that does not fit is
// EINSUFFICIENT and leaves no bytes behind, a Put that does not fit leaves
// no temp file, and both work again once there is room.
func TestPartOnFullDisk(t *testing.T) {
	dir := tmpfs.Mount(t, 8<<20)
	s := mustOpen(t, dir)
	ctx := t.Context()
	free0 := tmpfs.Free(t, dir)
	if err := s.CreateStaging(ctx, "big", 32<<20); err != nil {
		t.Fatal(err)
	}
	_, err := s.WritePart(ctx, "big", 0, &failingReader{n: 16 << 20}, 16<<20)
	if shelf.ErrorCode(err) != shelf.EINSUFFICIENT {
		t.Fatalf("a part larger than the disk = %v, want EINSUFFICIENT", err)
	}
	if free := tmpfs.Free(t, dir); free < free0-(256<<10) {
		t.Fatalf("%d bytes free after the failed part, %d before: its bytes were kept", free, free0)
	}
	_, err = s.Put(ctx, &failingReader{n: 12 << 20}, 12<<20)
	if shelf.ErrorCode(err) != shelf.EINSUFFICIENT {
		t.Fatalf("a Put larger than the disk = %v, want EINSUFFICIENT", err)
	}
	if entries, err := os.ReadDir(filepath.Join(dir, "tmp")); err != nil || len(entries) != 0 {
		t.Fatalf("temp files after a failed Put: %v, %v", entries, err)
	}
	if free := tmpfs.Free(t, dir); free < free0-(256<<10) {
		t.Fatalf("%d bytes free after the failed Put, %d before", free, free0)
	}
	if _, err := s.WritePart(ctx, "big", 0, &failingReader{n: 1 << 20}, 1<<20); err != nil {
		t.Fatalf("a part that fits, after: %v", err)
	}
	if _, err := s.Put(ctx, strings.NewReader("fits"), 4); err != nil {
		t.Fatalf("a Put that fits, after: %v", err)
	}
}
