package fsblob

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/shelfmem/shelf"
)

const helloHash = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

var (
	hashRE = regexp.MustCompile(`\A[0-9a-f]{64}\z`)
	idRE   = regexp.MustCompile(`\A[A-Za-z0-9_-]{1,64}\z`)
)

func TestValidHash(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{helloHash, true},
		{strings.Repeat("0", 64), true},
		{strings.Repeat("f", 64), true},
		{"", false},
		{"../../etc/passwd", false},
		{"AB..", false},
		{strings.ToUpper(helloHash), false},
		{helloHash[:63], false},
		{helloHash + "0", false},
		{helloHash[:63] + "g", false},
		{helloHash[:63] + "/", false},
		{helloHash[:63] + ".", false},
		{helloHash[:63] + "\x00", false},
		{" " + helloHash[1:], false},
		{strings.Repeat("é", 32), false},
	}
	for _, tc := range tests {
		if got := shelf.ValidBlobHash(tc.s); got != tc.want {
			t.Errorf("shelf.ValidBlobHash(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestValidID(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"a", true},
		{"-", true},
		{"upload_1-A", true},
		{"0198d6f2-7c1e-7a3b-9f00-1234567890ab", true},
		{strings.Repeat("z", 64), true},
		{"", false},
		{strings.Repeat("z", 65), false},
		{".", false},
		{"..", false},
		{"../x", false},
		{"a/b", false},
		{`a\b`, false},
		{"a.b", false},
		{"a b", false},
		{"a\x00", false},
		{"a\n", false},
		{"é", false},
	}
	for _, tc := range tests {
		if got := shelf.ValidStagingID(tc.s); got != tc.want {
			t.Errorf("shelf.ValidStagingID(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestPaths(t *testing.T) {
	if got, want := blobPath(helloHash), "sha256/2c/f2/"+helloHash; got != want {
		t.Errorf("blobPath = %s, want %s", got, want)
	}
	if got, want := stagingPath("up-1"), "staging/up-1"; got != want {
		t.Errorf("stagingPath = %s, want %s", got, want)
	}
}

func TestLockStripes(t *testing.T) {
	var s Store
	a := s.lock("00" + helloHash[2:])
	b := s.lock("00" + strings.Repeat("f", 62))
	c := s.lock("ff" + helloHash[2:])
	if a != b || a == c || c != &s.locks[255] || a != &s.locks[0] {
		t.Error("lock does not pick the mutex by the hash's first byte")
	}
	if s.lock(helloHash) != &s.locks[0x2c] {
		t.Errorf("lock(%.2s…) is not locks[0x2c]", helloHash)
	}
}

func TestIOError(t *testing.T) {
	tests := []struct {
		err  error
		code string
	}{
		{syscall.ENOSPC, shelf.EINSUFFICIENT},
		{&fs.PathError{Op: "write", Path: "tmp/x", Err: syscall.ENOSPC}, shelf.EINSUFFICIENT},
		{&fs.PathError{Op: "write", Path: "tmp/x", Err: syscall.EDQUOT}, shelf.EINSUFFICIENT},
		{&fs.PathError{Op: "fsync", Path: "tmp/x", Err: syscall.EIO}, shelf.EINTERNAL},
		{errors.New("no space left on device"), shelf.EINTERNAL}, // classified by cause, never by text
	}
	for _, tc := range tests {
		err := ioError("write", tc.err)
		if got := shelf.ErrorCode(err); got != tc.code {
			t.Errorf("ioError(%v): code %q, want %q", tc.err, got, tc.code)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("ioError(%v) does not wrap its cause", tc.err)
		}
	}
}

func FuzzValidHash(f *testing.F) {
	for _, s := range []string{helloHash, "../../etc/passwd", "AB..", strings.ToUpper(helloHash), "", helloHash + "\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ok := shelf.ValidBlobHash(s)
		if ok != hashRE.MatchString(s) {
			t.Fatalf("shelf.ValidBlobHash(%q) = %v, want %v", s, ok, !ok)
		}
		if ok {
			wantLocal(t, blobPath(s), 3)
		}
	})
}

func FuzzValidID(f *testing.F) {
	for _, s := range []string{"up-1", "..", "../x", "a/b", "", strings.Repeat("a", 65), "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ok := shelf.ValidStagingID(s)
		if ok != idRE.MatchString(s) {
			t.Fatalf("shelf.ValidStagingID(%q) = %v, want %v", s, ok, !ok)
		}
		if ok {
			wantLocal(t, stagingPath(s), 1)
		}
	})
}

// wantLocal fails unless p is a clean relative path of depth+1 elements
// that stays inside the directory it is relative to.
func wantLocal(t *testing.T, p string, depth int) {
	t.Helper()
	if !filepath.IsLocal(p) || path.Clean(p) != p || strings.Count(p, "/") != depth {
		t.Fatalf("path %q escapes or is not clean", p)
	}
}

// TestIOErrorCodes checks how a failed system call reaches a client: a
// full disk or quota is EINSUFFICIENT (507), a read-only file system
// EUNAVAILABLE (503), anything else EINTERNAL.
func TestIOErrorCodes(t *testing.T) {
	for err, want := range map[error]string{
		&os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}: shelf.EINSUFFICIENT,
		&os.PathError{Op: "write", Path: "x", Err: syscall.EDQUOT}: shelf.EINSUFFICIENT,
		&os.PathError{Op: "open", Path: "x", Err: syscall.EROFS}:   shelf.EUNAVAILABLE,
		&os.PathError{Op: "write", Path: "x", Err: syscall.EIO}:    shelf.EINTERNAL,
	} {
		if got := shelf.ErrorCode(ioError("op", err)); got != want {
			t.Errorf("ioError(%v) = %q, want %q", err, got, want)
		}
	}
}
