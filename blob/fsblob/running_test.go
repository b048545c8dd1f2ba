package fsblob

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shelfmem/shelf"
)

// The running hash (running.go): these tests wait for its goroutine to
// reach a given offset, then check that SumStaging uses the cached state as
// far as it may and still answers as a full read would.

const testPart = 64<<10 + 7

// newStaging opens a store in dir and makes staging area id of size bytes.
func newStaging(t *testing.T, dir, id string, size int) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.CreateStaging(t.Context(), id, int64(size)); err != nil {
		t.Fatal(err)
	}
	return s
}

func testBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed)})
	_, _ = io.ReadFull(r, b)
	return b
}

// partsOf cuts b into parts of testPart bytes with their checksums.
func partsOf(b []byte) []shelf.StagedPart {
	var parts []shelf.StagedPart
	for off := 0; off < len(b); off += testPart {
		p := b[off:min(off+testPart, len(b))]
		parts = append(parts, shelf.StagedPart{Off: int64(off), Len: int64(len(p)), CRC32C: crc32.Checksum(p, castagnoli)})
	}
	return parts
}

func write(t testing.TB, s *Store, id string, b []byte, p shelf.StagedPart) {
	t.Helper()
	if _, err := s.WritePart(t.Context(), id, p.Off, bytes.NewReader(b[p.Off:p.Off+p.Len]), p.Len); err != nil {
		t.Error(err)
	}
}

// waitHashed waits until the running hash of id has hashed [0, to) and
// its goroutine is idle.
func waitHashed(t *testing.T, s *Store, id string, to int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.sumsMu.Lock()
		r := s.sums[id]
		s.sumsMu.Unlock()
		var got int64 = -1
		if r != nil {
			r.mu.Lock()
			if !r.busy && r.dirty == math.MaxInt64 {
				got = r.to
			}
			r.mu.Unlock()
		}
		if got == to {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("running hash of %s at %d, want %d", id, got, to)
		}
		time.Sleep(time.Millisecond)
	}
}

// cached returns the offset up to which SumStaging would take the running
// hash for parts.
func cached(s *Store, id string, parts []shelf.StagedPart) int64 {
	r := s.pausedSum(id)
	if r == nil {
		return 0
	}
	defer r.resume()
	to, _ := r.prefix(parts)
	return to
}

func wantSum(t *testing.T, s *Store, id string, parts []shelf.StagedPart, b []byte) {
	t.Helper()
	h := sha256.Sum256(b)
	want := shelf.BlobRef{Hash: hex.EncodeToString(h[:]), Size: int64(len(b))}
	got, bad, err := s.SumStaging(t.Context(), id, parts)
	if err != nil || bad != nil || got != want {
		t.Fatalf("SumStaging = %+v, %v, %v; want %+v", got, bad, err, want)
	}
}

func TestRunningHashInOrder(t *testing.T) {
	const id = "running-inorder"
	b := testBytes(1, 10*testPart+100)
	s := newStaging(t, t.TempDir(), id, len(b))
	parts := partsOf(b)
	for i, p := range parts {
		write(t, s, id, b, p)
		waitHashed(t, s, id, p.Off+p.Len)
		if got := cached(s, id, parts[:i+1]); got != p.Off+p.Len {
			t.Fatalf("after part %d SumStaging would take the cache to %d, want %d", i, got, p.Off+p.Len)
		}
	}
	wantSum(t, s, id, parts, b)
	// Parts that the cache does not know as they are named are read and
	// hashed: none, a subset, other ranges, other checksums.
	for name, ps := range map[string][]shelf.StagedPart{
		"none":       nil,
		"from 1":     parts[1:],
		"merged":     {{Off: 0, Len: 2 * testPart, CRC32C: crc32.Checksum(b[:2*testPart], castagnoli)}},
		"other CRCs": append([]shelf.StagedPart{{Off: 0, Len: testPart, CRC32C: parts[0].CRC32C ^ 1}}, parts[1:]...),
	} {
		if got := cached(s, id, ps); got != 0 {
			t.Errorf("parts %s: SumStaging would take the cache to %d, want 0", name, got)
		}
	}
	wantSum(t, s, id, nil, b)
}

func TestRunningHashOutOfOrder(t *testing.T) {
	const id = "running-outoforder"
	b := testBytes(2, 12*testPart)
	s := newStaging(t, t.TempDir(), id, len(b))
	parts := partsOf(b)
	order := []int{1, 2, 0, 5, 4, 3, 11, 7, 8, 9, 10, 6}
	for _, i := range order {
		write(t, s, id, b, parts[i])
	}
	waitHashed(t, s, id, int64(len(b)))
	if got := cached(s, id, parts); got != int64(len(b)) {
		t.Fatalf("SumStaging would take the cache to %d, want %d", got, len(b))
	}
	wantSum(t, s, id, parts, b)
}

// TestRunningHashRewrite: a part written again after it was hashed rewinds
// the state to the end of the part before it, and the hash follows the new
// bytes; so does a range across two parts.
func TestRunningHashRewrite(t *testing.T) {
	const id = "running-rewrite"
	b := testBytes(3, 8*testPart)
	s := newStaging(t, t.TempDir(), id, len(b))
	parts := partsOf(b)
	for _, p := range parts {
		write(t, s, id, b, p)
	}
	waitHashed(t, s, id, int64(len(b)))
	for i, k := range []int{5, 0, 7, 5} {
		p := parts[k]
		copy(b[p.Off:p.Off+p.Len], testBytes(uint64(10+i), int(p.Len)))
		parts[k].CRC32C = crc32.Checksum(b[p.Off:p.Off+p.Len], castagnoli)
		s.sumsMu.Lock()
		r := s.sums[id]
		s.sumsMu.Unlock()
		r.begin(p.Off, p.Len) // as WritePart does first
		r.mu.Lock()
		if r.dirty != p.Off {
			t.Fatalf("a write of part %d marked the state dirty from %d, want %d", k, r.dirty, p.Off)
		}
		r.mu.Unlock()
		r.end(p.Off, 0, 0) // nothing written by hand
		write(t, s, id, b, parts[k])
		waitHashed(t, s, id, int64(len(b)))
		if got := cached(s, id, parts); got != int64(len(b)) {
			t.Fatalf("after part %d was written again SumStaging would take the cache to %d, want %d", k, got, len(b))
		}
		wantSum(t, s, id, parts, b)
	}
	// A range across parts 2 and 3: neither is a part as written now, so
	// the cache holds up to part 2 only, and SumStaging reads the rest.
	d := testBytes(20, testPart)
	off := 2*testPart + testPart/2
	copy(b[off:], d)
	if _, err := s.WritePart(t.Context(), id, int64(off), bytes.NewReader(d), int64(len(d))); err != nil {
		t.Fatal(err)
	}
	waitHashed(t, s, id, 2*testPart)
	wantSum(t, s, id, nil, b)
}

// TestRunningHashRestart: the running hash is in memory only. A store
// opened again over the same directory (after a crash) has none, and
// SumStaging reads and hashes everything, finding parts lost meanwhile.
func TestRunningHashRestart(t *testing.T) {
	const id = "running-restart"
	dir := t.TempDir()
	b := testBytes(4, 6*testPart+1)
	s := newStaging(t, dir, id, len(b))
	parts := partsOf(b)
	for _, p := range parts {
		write(t, s, id, b, p)
	}
	waitHashed(t, s, id, int64(len(b)))

	// "Crash": the first store is dropped as it is, unsynced, and part 3's
	// bytes come back as zeros, as after a power cut.
	f, err := os.OpenFile(filepath.Join(dir, "staging", id), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 100), parts[3].Off+10); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := cached(s2, id, parts); got != 0 {
		t.Fatalf("a store opened again would take a cache to %d", got)
	}
	if _, bad, err := s2.SumStaging(t.Context(), id, parts); err != nil || !slices.Equal(bad, []int{3}) {
		t.Fatalf("SumStaging after the restart = %v, %v; want part 3 bad", bad, err)
	}
	write(t, s2, id, b, parts[3])
	wantSum(t, s2, id, parts, b)
}

// TestRunningHashDiskChange: bytes changed on disk behind the store after
// they were hashed are still found by SumStaging's check of every part,
// and never named by the hash.
func TestRunningHashDiskChange(t *testing.T) {
	const id = "running-diskchange"
	dir := t.TempDir()
	b := testBytes(5, 5*testPart)
	s := newStaging(t, dir, id, len(b))
	parts := partsOf(b)
	for _, p := range parts {
		write(t, s, id, b, p)
	}
	waitHashed(t, s, id, int64(len(b)))
	f, err := os.OpenFile(filepath.Join(dir, "staging", id), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{^b[parts[1].Off+5]}, parts[1].Off+5); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, bad, err := s.SumStaging(t.Context(), id, parts); err != nil || !slices.Equal(bad, []int{1}) {
		t.Fatalf("SumStaging = %v, %v; want part 1 bad", bad, err)
	}
	write(t, s, id, b, parts[1])
	waitHashed(t, s, id, int64(len(b)))
	wantSum(t, s, id, parts, b)
}

// TestRunningHashConcurrent: 4 streams take the next part in turn, as
// bench/upload's client does, some parts twice; the running hash ends
// covering the whole area and SumStaging agrees with a full read. Run
// with -race.
func TestRunningHashConcurrent(t *testing.T) {
	const id = "running-concurrent"
	b := testBytes(6, 64*testPart+3)
	s := newStaging(t, t.TempDir(), id, len(b))
	parts := partsOf(b)
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				next.Lock()
				k := i
				i++
				next.Unlock()
				if k >= len(parts) {
					return
				}
				if k%7 == 3 { // other bytes first
					p := parts[k]
					junk := testBytes(uint64(k), int(p.Len))
					if _, err := s.WritePart(t.Context(), id, p.Off, bytes.NewReader(junk), p.Len); err != nil {
						t.Error(err)
					}
				}
				write(t, s, id, b, parts[k])
			}
		})
	}
	wg.Wait()
	waitHashed(t, s, id, int64(len(b)))
	if got := cached(s, id, parts); got != int64(len(b)) {
		t.Fatalf("SumStaging would take the cache to %d, want %d", got, len(b))
	}
	wantSum(t, s, id, parts, b)
}

// TestRunningHashDropped: commit, delete and create again forget the
// running hash.
func TestRunningHashDropped(t *testing.T) {
	b := testBytes(7, 3*testPart)
	s := newStaging(t, t.TempDir(), "drop-1", len(b))
	for _, id := range []string{"drop-1", "drop-2", "drop-3"} {
		if err := s.CreateStaging(t.Context(), id, int64(len(b))); err != nil {
			t.Fatal(err)
		}
		for _, p := range partsOf(b) {
			write(t, s, id, b, p)
		}
		waitHashed(t, s, id, int64(len(b)))
	}
	h := sha256.Sum256(b)
	if err := s.CommitStaging(t.Context(), "drop-1", shelf.BlobRef{Hash: hex.EncodeToString(h[:]), Size: int64(len(b))}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStaging(t.Context(), "drop-2"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateStaging(t.Context(), "drop-3", int64(len(b))); err != nil {
		t.Fatal(err)
	}
	s.sumsMu.Lock()
	n := len(s.sums)
	s.sumsMu.Unlock()
	if n != 0 {
		t.Fatalf("%d running hashes left, want none", n)
	}
	wantSum(t, s, "drop-3", partsOf(b), b)
}
