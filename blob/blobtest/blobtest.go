// Package blobtest is the conformance suite of shelf.BlobStore and of its
// capabilities. Every blob store runs it from its own tests, so that the
// core can rely on one contract whatever the backend:
//
//	func TestStore(t *testing.T) {
//		blobtest.Run(t, func(t *testing.T) shelf.BlobStore { return mustOpen(t) })
//	}
//
// It holds tests only. It must not depend on any implementation, look at a
// store's files or objects directly, or assume a ModTime resolution finer
// than the store gives (tests that need time to pass wait until the store's
// ModTime moves).
//
// Beyond the letter of shelf.BlobStore, the suite holds stores to these
// readings of it: upload ids are 1 to 64 of [A-Za-z0-9_-] and anything else
// is EINVALID; a malformed hash never opens (EINVALID or ENOTFOUND); a
// negative offset is EINVALID; a reader's error is wrapped, keeping its
// shelf code; a done context stops Put, WritePart and the walks with an
// error that wraps ctx.Err(), and a canceled Put stores nothing; a long
// reader in WritePart never writes past its range; CreateStaging on an
// existing staging area of the same size keeps its bytes.
//
// The tests of a capability run only when the store has it (a type
// assertion, as the core makes): a store with the core alone passes the
// core's tests and skips the rest, naming the capability it lacks.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/shelfmem/shelf"
)

// Run runs the suite. open must return a new, empty store, isolated from
// every other store it returns, and register its own cleanup; it is called
// once per subtest, and subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) shelf.BlobStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, shelf.BlobStore)
	}{
		{"OpenMissing", testOpenMissing},
		{"PutOpen", testPutOpen},
		{"PutEmpty", testPutEmpty},
		{"PutSizeMismatch", testPutSizeMismatch},
		{"PutUnknownSize", testPutUnknownSize},
		{"PutReaderError", testPutReaderError},
		{"PutSameBytesTwice", testPutSameBytesTwice},
		{"RangeRead", testRangeRead},
		{"Stat", testStat},
		{"BadHash", testBadHash},
		{"DeleteIdempotent", testDeleteIdempotent},
		{"DeleteRespectsOlderThan", testDeleteRespectsOlderThan},
		{"DeleteThenPutAgain", testDeleteThenPutAgain},
		{"ConcurrentPut", testConcurrentPut},
		{"ConcurrentPutDifferent", testConcurrentPutDifferent},
		{"LargeBlob", testLargeBlob},
		{"WalkStopsOnError", testWalkStopsOnError},
		{"StagingRoundTrip", staging(testStagingRoundTrip)},
		{"StagingCreateTwice", staging(testStagingCreateTwice)},
		{"StagingRewritePart", staging(testStagingRewritePart)},
		{"StagingShortLongReader", staging(testStagingShortLongReader)},
		{"StagingPastEnd", staging(testStagingPastEnd)},
		{"StagingPartCheck", staging(testStagingPartCheck)},
		{"StagingMissing", staging(testStagingMissing)},
		{"StagingEmpty", staging(testStagingEmpty)},
		{"StagingBadID", staging(testStagingBadID)},
		{"CommitStagingDedup", staging(testCommitStagingDedup)},
		{"CommitStagingWrongSize", staging(testCommitStagingWrongSize)},
		{"DeleteStaging", staging(testDeleteStaging)},
		{"StagingOutOfOrder", staging(testStagingOutOfOrder)},
		{"StagingRewriteAfterSum", staging(testStagingRewriteAfterSum)},
		{"StagingConcurrentRewrites", staging(testStagingConcurrentRewrites)},
		{"Context", testContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// stager is a store with the staging capability.
type stager interface {
	shelf.BlobStore
	shelf.StagingStore
}

// staging makes a test of the staging capability a test of the suite,
// skipped for a store without it.
func staging(fn func(*testing.T, stager)) func(*testing.T, shelf.BlobStore) {
	return func(t *testing.T, s shelf.BlobStore) {
		ss, ok := s.(stager)
		if !ok {
			t.Skipf("%T has no staging capability (shelf.StagingStore)", s)
		}
		fn(t, ss)
	}
}

func testOpenMissing(t *testing.T, s shelf.BlobStore) {
	hash := sum([]byte("never stored"))
	_, err := s.Open(t.Context(), hash, 0, -1)
	wantCode(t, err, shelf.ENOTFOUND, "Open of a missing blob")
	_, err = s.Stat(t.Context(), hash)
	wantCode(t, err, shelf.ENOTFOUND, "Stat of a missing blob")
}

func testPutOpen(t *testing.T, s shelf.BlobStore) {
	// A known vector, so that the hash is checked against more than this
	// suite's own sha256 helper.
	ref := put(t, s, []byte("hello"))
	if want := "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"; ref.Hash != want {
		t.Fatalf("Put(hello).Hash = %s, want %s", ref.Hash, want)
	}
	if got := read(t, s, ref.Hash, 0, -1); string(got) != "hello" {
		t.Fatalf("read back %q, want %q", got, "hello")
	}

	b := randBytes(1, 300_001)
	ref = put(t, s, b)
	if got := read(t, s, ref.Hash, 0, -1); !bytes.Equal(got, b) {
		t.Fatalf("read back %d bytes that differ from the %d put", len(got), len(b))
	}
}

func testPutEmpty(t *testing.T, s shelf.BlobStore) {
	const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	want := shelf.BlobRef{Hash: emptyHash, Size: 0}
	if got := put(t, s, nil); got != want {
		t.Fatalf("Put(empty) = %+v, want %+v", got, want)
	}
	got, err := s.Put(t.Context(), strings.NewReader(""), -1)
	if err != nil || got != want {
		t.Fatalf("Put(empty, -1) = %+v, %v; want %+v", got, err, want)
	}
	if b := read(t, s, emptyHash, 0, -1); len(b) != 0 {
		t.Fatalf("read %d bytes of the empty blob", len(b))
	}
	if ref, err := s.Stat(t.Context(), emptyHash); err != nil || ref != want {
		t.Fatalf("Stat = %+v, %v; want %+v", ref, err, want)
	}
	blobs := walk(t, s)
	if len(blobs) != 1 || blobs[emptyHash].Size != 0 {
		t.Fatalf("Walk = %+v, want the one empty blob", blobs)
	}
}

func testPutSizeMismatch(t *testing.T, s shelf.BlobStore) {
	tests := []struct {
		name string
		len  int
		size int64
	}{
		{"ShortByOne", 1000, 1001},
		{"LongByOne", 1001, 1000},
		{"LongByMuch", 3 << 20, 10},
		{"ShortByMuch", 10, 3 << 20},
		{"NotEmpty", 5, 0},
		{"Empty", 0, 5},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := randBytes(byte(i), tc.len)
			_, err := s.Put(t.Context(), bytes.NewReader(b), tc.size)
			wantCode(t, err, shelf.EINVALID, "Put with the wrong size")
			_, err = s.Stat(t.Context(), sum(b))
			wantCode(t, err, shelf.ENOTFOUND, "Stat of the whole body")
			if int64(len(b)) > tc.size {
				_, err = s.Stat(t.Context(), sum(b[:tc.size]))
				wantCode(t, err, shelf.ENOTFOUND, "Stat of the body cut to size")
			}
			if blobs := walk(t, s); len(blobs) != 0 {
				t.Fatalf("Walk = %+v, want nothing stored", blobs)
			}
		})
	}
}

func testPutUnknownSize(t *testing.T, s shelf.BlobStore) {
	b := randBytes(2, 700_000)
	// HalfReader hides the length and returns short reads.
	ref, err := s.Put(t.Context(), iotest.HalfReader(bytes.NewReader(b)), -1)
	if err != nil {
		t.Fatal(err)
	}
	if want := (shelf.BlobRef{Hash: sum(b), Size: int64(len(b))}); ref != want {
		t.Fatalf("Put = %+v, want %+v", ref, want)
	}
	if got := read(t, s, ref.Hash, 0, -1); !bytes.Equal(got, b) {
		t.Fatal("read back bytes that differ from those put")
	}
}

func testPutReaderError(t *testing.T, s shelf.BlobStore) {
	errBoom := errors.New("boom")
	coded := shelf.Errorf(shelf.ETOOLARGE, "body too large")
	b := randBytes(3, 100_000)
	for _, size := range []int64{200_000, -1} {
		r := io.MultiReader(bytes.NewReader(b), iotest.ErrReader(errBoom))
		_, err := s.Put(t.Context(), r, size)
		if !errors.Is(err, errBoom) {
			t.Errorf("Put(size %d) with a failing reader: err = %v, want one wrapping %v", size, err, errBoom)
		}
		r = io.MultiReader(bytes.NewReader(b), iotest.ErrReader(coded))
		_, err = s.Put(t.Context(), r, size)
		wantCode(t, err, shelf.ETOOLARGE, "Put with a reader failing with a coded error")
	}
	if blobs := walk(t, s); len(blobs) != 0 {
		t.Fatalf("Walk = %+v, want nothing stored", blobs)
	}
}

func testPutSameBytesTwice(t *testing.T, s shelf.BlobStore) {
	b := randBytes(4, 5000)
	ref := put(t, s, b)
	first := modTime(t, s, ref.Hash)
	second := first
	for wait := 10 * time.Millisecond; !second.After(first); wait *= 2 {
		if wait > 4*time.Second {
			t.Fatalf("ModTime %v was not refreshed by Putting the same bytes again", first)
		}
		time.Sleep(wait)
		if again := put(t, s, b); again != ref {
			t.Fatalf("second Put = %+v, want %+v", again, ref)
		}
		second = modTime(t, s, ref.Hash)
	}
	if blobs := walk(t, s); len(blobs) != 1 {
		t.Fatalf("Walk found %d blobs, want 1", len(blobs))
	}
	// A collector that took its cutoff just after the first Put must now
	// keep the blob.
	if err := s.Delete(t.Context(), ref.Hash, first.Add(time.Nanosecond)); err != nil {
		t.Fatal(err)
	}
	if got := read(t, s, ref.Hash, 0, -1); !bytes.Equal(got, b) {
		t.Fatal("the refreshed blob was deleted or changed")
	}
}

func testRangeRead(t *testing.T, s shelf.BlobStore) {
	b := randBytes(5, 1000)
	ref := put(t, s, b)
	empty := put(t, s, nil)
	tests := []struct {
		hash   string
		off, n int64
		want   []byte // nil: EINVALID
	}{
		{ref.Hash, 0, -1, b},
		{ref.Hash, 0, 1000, b},
		{ref.Hash, 0, 2000, b},
		{ref.Hash, 0, 0, []byte{}},
		{ref.Hash, 0, 1, b[:1]},
		{ref.Hash, 10, 20, b[10:30]},
		{ref.Hash, 500, 0, []byte{}},
		{ref.Hash, 990, 100, b[990:]},
		{ref.Hash, 999, -1, b[999:]},
		{ref.Hash, 1000, -1, []byte{}},
		{ref.Hash, 1000, 5, []byte{}},
		{ref.Hash, 1001, -1, nil},
		{ref.Hash, 5000, 1, nil},
		{ref.Hash, -1, 10, nil},
		{empty.Hash, 0, -1, []byte{}},
		{empty.Hash, 0, 10, []byte{}},
		{empty.Hash, 1, -1, nil},
	}
	for _, tc := range tests {
		rc, err := s.Open(t.Context(), tc.hash, tc.off, tc.n)
		if tc.want == nil {
			if err == nil {
				rc.Close()
			}
			wantCode(t, err, shelf.EINVALID, "Open past the end")
			continue
		}
		if err != nil {
			t.Fatalf("Open(%.8s, %d, %d): %v", tc.hash, tc.off, tc.n, err)
		}
		// TestReader also checks ReadAt and Seek when rc implements them.
		if err := iotest.TestReader(rc, tc.want); err != nil {
			t.Errorf("Open(%.8s, %d, %d): %v", tc.hash, tc.off, tc.n, err)
		}
		if err := rc.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

func testStat(t *testing.T, s shelf.BlobStore) {
	b := randBytes(6, 12345)
	ref := put(t, s, b)
	got, err := s.Stat(t.Context(), ref.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if want := (shelf.BlobRef{Hash: sum(b), Size: 12345}); got != want {
		t.Fatalf("Stat = %+v, want %+v", got, want)
	}
	_, err = s.Stat(t.Context(), sum(b[1:]))
	wantCode(t, err, shelf.ENOTFOUND, "Stat of a missing blob")
}

func testBadHash(t *testing.T, s shelf.BlobStore) {
	ref := put(t, s, []byte("bad hash"))
	for _, hash := range []string{
		"",
		"../../etc/passwd",
		strings.ToUpper(ref.Hash),
		ref.Hash + "0",
		ref.Hash[:63],
		ref.Hash[:2] + "/" + ref.Hash[3:],
		"../" + ref.Hash[3:],
	} {
		_, err := s.Open(t.Context(), hash, 0, -1)
		if c := shelf.ErrorCode(err); c != shelf.EINVALID && c != shelf.ENOTFOUND {
			t.Errorf("Open(%q): code %q (err %v), want %q or %q", hash, c, err, shelf.EINVALID, shelf.ENOTFOUND)
		}
		_, err = s.Stat(t.Context(), hash)
		if c := shelf.ErrorCode(err); c != shelf.EINVALID && c != shelf.ENOTFOUND {
			t.Errorf("Stat(%q): code %q (err %v), want %q or %q", hash, c, err, shelf.EINVALID, shelf.ENOTFOUND)
		}
	}
}

func testDeleteIdempotent(t *testing.T, s shelf.BlobStore) {
	ref := put(t, s, []byte("delete me"))
	future := time.Now().Add(time.Hour)
	for range 2 {
		if err := s.Delete(t.Context(), ref.Hash, future); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		_, err := s.Open(t.Context(), ref.Hash, 0, -1)
		wantCode(t, err, shelf.ENOTFOUND, "Open after Delete")
		_, err = s.Stat(t.Context(), ref.Hash)
		wantCode(t, err, shelf.ENOTFOUND, "Stat after Delete")
	}
	if err := s.Delete(t.Context(), sum([]byte("never stored")), future); err != nil {
		t.Fatalf("Delete of a blob never stored: %v", err)
	}
	if blobs := walk(t, s); len(blobs) != 0 {
		t.Fatalf("Walk = %+v, want nothing", blobs)
	}
}

func testDeleteRespectsOlderThan(t *testing.T, s shelf.BlobStore) {
	a := put(t, s, []byte("a"))
	b := put(t, s, []byte("b"))
	m := modTime(t, s, a.Hash)
	for _, cutoff := range []time.Time{{}, m.Add(-time.Hour), m.Add(-time.Nanosecond), m} {
		if err := s.Delete(t.Context(), a.Hash, cutoff); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stat(t.Context(), a.Hash); err != nil {
			t.Fatalf("after Delete with cutoff %v of a blob from %v: %v", cutoff, m, err)
		}
	}
	if err := s.Delete(t.Context(), a.Hash, m.Add(time.Nanosecond)); err != nil {
		t.Fatal(err)
	}
	_, err := s.Stat(t.Context(), a.Hash)
	wantCode(t, err, shelf.ENOTFOUND, "Stat after Delete with a cutoff just past its ModTime")
	if _, err := s.Stat(t.Context(), b.Hash); err != nil {
		t.Fatalf("the other blob: %v", err)
	}
}

func testDeleteThenPutAgain(t *testing.T, s shelf.BlobStore) {
	b := randBytes(7, 4096)
	ref := put(t, s, b)
	if err := s.Delete(t.Context(), ref.Hash, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if again := put(t, s, b); again != ref {
		t.Fatalf("Put after Delete = %+v, want %+v", again, ref)
	}
	if got := read(t, s, ref.Hash, 0, -1); !bytes.Equal(got, b) {
		t.Fatal("read back bytes that differ from those put")
	}
	if blobs := walk(t, s); len(blobs) != 1 {
		t.Fatalf("Walk = %+v, want 1 blob", blobs)
	}
}

func testConcurrentPut(t *testing.T, s shelf.BlobStore) {
	b := randBytes(8, 1<<20)
	want := shelf.BlobRef{Hash: sum(b), Size: int64(len(b))}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			ref, err := s.Put(t.Context(), bytes.NewReader(b), int64(len(b)))
			if err != nil || ref != want {
				t.Errorf("Put = %+v, %v; want %+v", ref, err, want)
			}
		})
	}
	wg.Wait()
	if blobs := walk(t, s); len(blobs) != 1 || blobs[want.Hash].Size != want.Size {
		t.Fatalf("Walk = %+v, want the one blob %+v", blobs, want)
	}
	if got := read(t, s, want.Hash, 0, -1); !bytes.Equal(got, b) {
		t.Fatal("read back bytes that differ from those put")
	}
}

func testConcurrentPutDifferent(t *testing.T, s shelf.BlobStore) {
	contents := make([][]byte, 16)
	for i := range contents {
		contents[i] = randBytes(byte(i), 1000*i+1)
	}
	var wg sync.WaitGroup
	for _, b := range contents {
		wg.Go(func() {
			ref, err := s.Put(t.Context(), bytes.NewReader(b), int64(len(b)))
			if want := (shelf.BlobRef{Hash: sum(b), Size: int64(len(b))}); err != nil || ref != want {
				t.Errorf("Put = %+v, %v; want %+v", ref, err, want)
			}
		})
	}
	wg.Wait()
	blobs := walk(t, s)
	if len(blobs) != len(contents) {
		t.Fatalf("Walk found %d blobs, want %d", len(blobs), len(contents))
	}
	for _, b := range contents {
		if info := blobs[sum(b)]; info.Size != int64(len(b)) || info.ModTime.IsZero() {
			t.Errorf("Walk gave %+v for the %d-byte blob %.8s", info, len(b), sum(b))
		}
		if got := read(t, s, sum(b), 0, -1); !bytes.Equal(got, b) {
			t.Errorf("blob %.8s read back differs", sum(b))
		}
	}
}

func testLargeBlob(t *testing.T, s shelf.BlobStore) {
	const size = 20 << 20
	h := sha256.New()
	if _, err := io.CopyN(h, stream(9), size); err != nil {
		t.Fatal(err)
	}
	want := shelf.BlobRef{Hash: hex.EncodeToString(h.Sum(nil)), Size: size}

	ref, err := s.Put(t.Context(), io.LimitReader(stream(9), size), size)
	if err != nil || ref != want {
		t.Fatalf("Put = %+v, %v; want %+v", ref, err, want)
	}

	rc, err := s.Open(t.Context(), ref.Hash, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	h.Reset()
	n, err := io.Copy(h, rc)
	rc.Close()
	if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != want.Hash {
		t.Fatalf("read back %d bytes (err %v) whose hash differs, want %d", n, err, size)
	}

	const off, n2 = size/2 + 17, 1 << 20
	g := stream(9)
	if _, err := io.CopyN(io.Discard, g, off); err != nil {
		t.Fatal(err)
	}
	wantPart := make([]byte, n2)
	if _, err := io.ReadFull(g, wantPart); err != nil {
		t.Fatal(err)
	}
	if got := read(t, s, ref.Hash, off, n2); !bytes.Equal(got, wantPart) {
		t.Fatalf("range [%d, +%d) differs", off, n2)
	}
}

func testWalkStopsOnError(t *testing.T, s shelf.BlobStore) {
	errStop := errors.New("stop")
	put(t, s, []byte("one"))
	put(t, s, []byte("two"))
	walks := map[string]func(context.Context, func(shelf.BlobInfo) error) error{"Walk": s.Walk}
	if ss, ok := s.(shelf.StagingStore); ok {
		for _, id := range []string{"walk-1", "walk-2"} {
			if err := ss.CreateStaging(t.Context(), id, 1); err != nil {
				t.Fatal(err)
			}
		}
		walks["WalkStaging"] = ss.WalkStaging
	}
	for name, walk := range walks {
		calls := 0
		err := walk(t.Context(), func(shelf.BlobInfo) error {
			calls++
			return errStop
		})
		if !errors.Is(err, errStop) || calls != 1 {
			t.Errorf("%s: err %v after %d calls, want %v after 1", name, err, calls, errStop)
		}
	}
}

func testStagingRoundTrip(t *testing.T, s stager) {
	const id = "upload-roundtrip"
	b := randBytes(10, 3<<20+123)
	if err := s.CreateStaging(t.Context(), id, int64(len(b))); err != nil {
		t.Fatal(err)
	}
	if info, ok := walkStaging(t, s)[id]; !ok || info.Size != int64(len(b)) || info.ModTime.IsZero() {
		t.Fatalf("WalkStaging gave %+v (found %v), want size %d", info, ok, len(b))
	}

	// Parts of an odd size, written concurrently, the last one first.
	const partSize = 512<<10 + 1
	var wg sync.WaitGroup
	for off := (len(b) - 1) / partSize * partSize; off >= 0; off -= partSize {
		part := b[off:min(off+partSize, len(b))]
		wg.Go(func() {
			got, err := s.WritePart(t.Context(), id, int64(off), bytes.NewReader(part), int64(len(part)))
			if want := crc32c(part); err != nil || !bytes.Equal(got, want) {
				t.Errorf("WritePart(%d, %d) = %x, %v; want %x", off, len(part), got, err, want)
			}
		})
	}
	wg.Wait()

	want := shelf.BlobRef{Hash: sum(b), Size: int64(len(b))}
	if got, bad, err := s.SumStaging(t.Context(), id, stagedParts(b, partSize)); err != nil || got != want || bad != nil {
		t.Fatalf("SumStaging = %+v, %v, %v; want %+v", got, bad, err, want)
	}
	for range 2 { // the second commit is a retry
		if err := s.CommitStaging(t.Context(), id, want); err != nil {
			t.Fatalf("CommitStaging: %v", err)
		}
		if got := read(t, s, want.Hash, 0, -1); !bytes.Equal(got, b) {
			t.Fatal("the committed blob differs from the parts written")
		}
		if _, ok := walkStaging(t, s)[id]; ok {
			t.Fatal("WalkStaging still lists the committed upload")
		}
	}
	_, _, err := s.SumStaging(t.Context(), id, nil)
	wantCode(t, err, shelf.ENOTFOUND, "SumStaging after CommitStaging")
	if blobs := walk(t, s); len(blobs) != 1 || blobs[want.Hash].Size != want.Size {
		t.Fatalf("Walk = %+v, want the one blob %+v", blobs, want)
	}
}

func testStagingCreateTwice(t *testing.T, s stager) {
	const id = "upload-twice"
	b := randBytes(11, 200)
	if err := s.CreateStaging(t.Context(), id, 200); err != nil {
		t.Fatal(err)
	}
	writePart(t, s, id, 0, b)
	if err := s.CreateStaging(t.Context(), id, 200); err != nil {
		t.Fatalf("CreateStaging again: %v", err)
	}
	want := shelf.BlobRef{Hash: sum(b), Size: 200}
	if got, bad, err := s.SumStaging(t.Context(), id, nil); err != nil || got != want || bad != nil {
		t.Fatalf("SumStaging = %+v, %v, %v; want %+v, the bytes written before", got, bad, err, want)
	}
	if n := len(walkStaging(t, s)); n != 1 {
		t.Fatalf("WalkStaging found %d staging areas, want 1", n)
	}
}

func testStagingRewritePart(t *testing.T, s stager) {
	const id = "upload-rewrite"
	b := randBytes(12, 300)
	if err := s.CreateStaging(t.Context(), id, 300); err != nil {
		t.Fatal(err)
	}
	writePart(t, s, id, 0, b)
	d := randBytes(13, 100)
	writePart(t, s, id, 100, d)
	copy(b[100:], d)
	want := shelf.BlobRef{Hash: sum(b), Size: 300}
	if got, bad, err := s.SumStaging(t.Context(), id, nil); err != nil || got != want || bad != nil {
		t.Fatalf("SumStaging = %+v, %v, %v; want %+v", got, bad, err, want)
	}
}

func testStagingShortLongReader(t *testing.T, s stager) {
	const id = "upload-shortlong"
	b := randBytes(14, 300)
	if err := s.CreateStaging(t.Context(), id, 300); err != nil {
		t.Fatal(err)
	}
	// The part after the one written badly goes first: a long reader must
	// not spill into it.
	writePart(t, s, id, 200, b[200:])
	long := append(bytes.Clone(b[100:200]), ^b[200], ^b[201])
	readers := map[string]io.Reader{
		"long":           bytes.NewReader(long),
		"long by one":    bytes.NewReader(long[:101]),
		"short":          bytes.NewReader(b[100:199]),
		"empty":          strings.NewReader(""),
		"unexpected EOF": io.MultiReader(bytes.NewReader(b[100:150]), iotest.ErrReader(io.ErrUnexpectedEOF)),
	}
	for name, r := range readers {
		_, err := s.WritePart(t.Context(), id, 100, r, 100)
		wantCode(t, err, shelf.EINVALID, "WritePart with a "+name+" reader")
	}
	writePart(t, s, id, 0, b[:100])
	writePart(t, s, id, 100, b[100:200])
	want := shelf.BlobRef{Hash: sum(b), Size: 300}
	if got, bad, err := s.SumStaging(t.Context(), id, nil); err != nil || got != want || bad != nil {
		t.Fatalf("SumStaging = %+v, %v, %v; want %+v", got, bad, err, want)
	}
}

func testStagingPastEnd(t *testing.T, s stager) {
	const id = "upload-pastend"
	b := randBytes(15, 100)
	if err := s.CreateStaging(t.Context(), id, 100); err != nil {
		t.Fatal(err)
	}
	writePart(t, s, id, 0, b)
	for _, tc := range []struct{ off, n int64 }{
		{0, 101}, {50, 51}, {99, 2}, {100, 1}, {200, 0}, {-1, 10}, {0, -1},
	} {
		r := bytes.NewReader(make([]byte, max(tc.n, 0)))
		_, err := s.WritePart(t.Context(), id, tc.off, r, tc.n)
		wantCode(t, err, shelf.EINVALID, "WritePart outside the upload")
	}
	// An empty part at the very end is in range.
	got, err := s.WritePart(t.Context(), id, 100, strings.NewReader(""), 0)
	if want := crc32c(nil); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("WritePart(100, 0) = %x, %v; want %x", got, err, want)
	}
	want := shelf.BlobRef{Hash: sum(b), Size: 100}
	if got, bad, err := s.SumStaging(t.Context(), id, nil); err != nil || got != want || bad != nil {
		t.Fatalf("SumStaging = %+v, %v, %v; want %+v, unchanged", got, bad, err, want)
	}
}

// testStagingPartCheck: SumStaging names the parts whose bytes do not
// match their CRC-32C (as after a power cut lost some), changes nothing
// then, and refuses a part list that is out of order or past the end.
func testStagingPartCheck(t *testing.T, s stager) {
	const id = "upload-partcheck"
	const partSize = 1000
	b := randBytes(16, 4*partSize+10)
	if err := s.CreateStaging(t.Context(), id, int64(len(b))); err != nil {
		t.Fatal(err)
	}
	parts := stagedParts(b, partSize)
	for _, p := range parts {
		writePart(t, s, id, p.Off, b[p.Off:p.Off+p.Len])
	}
	// Part 1 was rewritten after its checksum was taken; part 4 (the
	// last, 10 bytes) is checked against the checksum of other bytes.
	stale := slices.Clone(parts)
	writePart(t, s, id, parts[1].Off, make([]byte, partSize))
	stale[4].CRC32C++
	got, bad, err := s.SumStaging(t.Context(), id, stale)
	if err != nil || !slices.Equal(bad, []int{1, 4}) || got != (shelf.BlobRef{}) {
		t.Fatalf("SumStaging with stale checksums = %+v, %v, %v; want bad parts [1 4] and no ref", got, bad, err)
	}
	// Nothing changed: the right bytes and checksums pass.
	writePart(t, s, id, parts[1].Off, b[parts[1].Off:parts[1].Off+partSize])
	want := shelf.BlobRef{Hash: sum(b), Size: int64(len(b))}
	if got, bad, err := s.SumStaging(t.Context(), id, parts); err != nil || got != want || bad != nil {
		t.Fatalf("SumStaging = %+v, %v, %v; want %+v", got, bad, err, want)
	}
	// A subset of the parts, with gaps between them, is checked too.
	sub := []shelf.StagedPart{parts[1], parts[3]}
	sub[1].CRC32C ^= 1
	if _, bad, err := s.SumStaging(t.Context(), id, sub); err != nil || !slices.Equal(bad, []int{1}) {
		t.Fatalf("SumStaging of parts 1 and 3 = %v, %v; want bad [1]", bad, err)
	}
	for name, ps := range map[string][]shelf.StagedPart{
		"out of order": {parts[1], parts[0]},
		"overlapping":  {{Off: 0, Len: 10}, {Off: 5, Len: 10}},
		"past the end": {{Off: int64(len(b)) - 5, Len: 10}},
		"negative":     {{Off: -1, Len: 10}},
	} {
		_, _, err := s.SumStaging(t.Context(), id, ps)
		wantCode(t, err, shelf.EINVALID, "SumStaging with parts "+name)
	}
}

// stagedParts cuts b into parts of partSize and gives each its range
// and checksum, as the core passes them to SumStaging.
func stagedParts(b []byte, partSize int) []shelf.StagedPart {
	var parts []shelf.StagedPart
	for off := 0; off < len(b); off += partSize {
		p := b[off:min(off+partSize, len(b))]
		parts = append(parts, shelf.StagedPart{Off: int64(off), Len: int64(len(p)), CRC32C: binary.BigEndian.Uint32(crc32c(p))})
	}
	return parts
}

func testStagingMissing(t *testing.T, s stager) {
	const id = "upload-missing"
	_, err := s.WritePart(t.Context(), id, 0, strings.NewReader("x"), 1)
	wantCode(t, err, shelf.ENOTFOUND, "WritePart to a missing staging area")
	_, _, err = s.SumStaging(t.Context(), id, nil)
	wantCode(t, err, shelf.ENOTFOUND, "SumStaging of a missing staging area")
	err = s.CommitStaging(t.Context(), id, shelf.BlobRef{Hash: sum([]byte("x")), Size: 1})
	wantCode(t, err, shelf.ENOTFOUND, "CommitStaging of a missing staging area and blob")
	if err := s.DeleteStaging(t.Context(), id); err != nil {
		t.Fatalf("DeleteStaging of a missing staging area: %v", err)
	}
	if blobs := walk(t, s); len(blobs) != 0 {
		t.Fatalf("Walk = %+v, want nothing", blobs)
	}
}

func testStagingEmpty(t *testing.T, s stager) {
	const id = "upload-empty"
	if err := s.CreateStaging(t.Context(), id, 0); err != nil {
		t.Fatal(err)
	}
	want := shelf.BlobRef{Hash: sum(nil), Size: 0}
	if got, bad, err := s.SumStaging(t.Context(), id, nil); err != nil || got != want || bad != nil {
		t.Fatalf("SumStaging = %+v, %v, %v; want %+v", got, bad, err, want)
	}
	if err := s.CommitStaging(t.Context(), id, want); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Stat(t.Context(), want.Hash); err != nil || got != want {
		t.Fatalf("Stat = %+v, %v; want %+v", got, err, want)
	}
}

func testStagingBadID(t *testing.T, s stager) {
	ref := shelf.BlobRef{Hash: sum([]byte("x")), Size: 1}
	for _, id := range []string{"", "../escape", "a/b", "a.b", "a b", "é", strings.Repeat("a", 65)} {
		wantCode(t, s.CreateStaging(t.Context(), id, 1), shelf.EINVALID, "CreateStaging("+id+")")
		_, err := s.WritePart(t.Context(), id, 0, strings.NewReader("x"), 1)
		wantCode(t, err, shelf.EINVALID, "WritePart("+id+")")
		_, _, err = s.SumStaging(t.Context(), id, nil)
		wantCode(t, err, shelf.EINVALID, "SumStaging("+id+")")
		wantCode(t, s.CommitStaging(t.Context(), id, ref), shelf.EINVALID, "CommitStaging("+id+")")
		wantCode(t, s.DeleteStaging(t.Context(), id), shelf.EINVALID, "DeleteStaging("+id+")")
	}
	if n := len(walkStaging(t, s)); n != 0 {
		t.Fatalf("WalkStaging found %d staging areas, want none", n)
	}

	// The longest id, and a ref whose hash is not one.
	id := strings.Repeat("A-z_9", 12) + "abcd"
	if err := s.CreateStaging(t.Context(), id, 1); err != nil {
		t.Fatalf("CreateStaging of a 64-character id: %v", err)
	}
	writePart(t, s, id, 0, []byte("x"))
	for _, hash := range []string{"../../x", strings.ToUpper(ref.Hash), ""} {
		err := s.CommitStaging(t.Context(), id, shelf.BlobRef{Hash: hash, Size: 1})
		wantCode(t, err, shelf.EINVALID, "CommitStaging to the hash "+hash)
	}
	if blobs := walk(t, s); len(blobs) != 0 {
		t.Fatalf("Walk = %+v, want nothing", blobs)
	}
}

func testCommitStagingDedup(t *testing.T, s stager) {
	const id = "upload-dedup"
	b := randBytes(16, 10_000)
	ref := put(t, s, b)
	if err := s.CreateStaging(t.Context(), id, int64(len(b))); err != nil {
		t.Fatal(err)
	}
	writePart(t, s, id, 0, b)
	if err := s.CommitStaging(t.Context(), id, ref); err != nil {
		t.Fatal(err)
	}
	if blobs := walk(t, s); len(blobs) != 1 {
		t.Fatalf("Walk = %+v, want the one blob", blobs)
	}
	if n := len(walkStaging(t, s)); n != 0 {
		t.Fatalf("WalkStaging found %d staging areas, want none", n)
	}
	if got := read(t, s, ref.Hash, 0, -1); !bytes.Equal(got, b) {
		t.Fatal("read back bytes that differ from those put")
	}
}

func testCommitStagingWrongSize(t *testing.T, s stager) {
	const id = "upload-wrongsize"
	b := randBytes(17, 100)
	if err := s.CreateStaging(t.Context(), id, 100); err != nil {
		t.Fatal(err)
	}
	writePart(t, s, id, 0, b)
	for _, size := range []int64{99, 101, 0} {
		err := s.CommitStaging(t.Context(), id, shelf.BlobRef{Hash: sum(b), Size: size})
		wantCode(t, err, shelf.EINVALID, "CommitStaging with the wrong size")
	}
	if _, ok := walkStaging(t, s)[id]; !ok {
		t.Fatal("a failed CommitStaging removed the staging area")
	}
	_, err := s.Stat(t.Context(), sum(b))
	wantCode(t, err, shelf.ENOTFOUND, "Stat after a failed CommitStaging")
	if err := s.CommitStaging(t.Context(), id, shelf.BlobRef{Hash: sum(b), Size: 100}); err != nil {
		t.Fatalf("CommitStaging with the right size after failed ones: %v", err)
	}
}

func testDeleteStaging(t *testing.T, s stager) {
	const id = "upload-delete"
	if err := s.CreateStaging(t.Context(), id, 10); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.DeleteStaging(t.Context(), id); err != nil {
			t.Fatalf("DeleteStaging: %v", err)
		}
		if n := len(walkStaging(t, s)); n != 0 {
			t.Fatalf("WalkStaging found %d staging areas, want none", n)
		}
		_, err := s.WritePart(t.Context(), id, 0, strings.NewReader("x"), 1)
		wantCode(t, err, shelf.ENOTFOUND, "WritePart after DeleteStaging")
	}
}

func testContext(t *testing.T, s shelf.BlobStore) {
	done, cancel := context.WithCancel(t.Context())
	cancel()
	b := randBytes(18, 4<<20)

	_, err := s.Put(done, bytes.NewReader(b), int64(len(b)))
	wantCanceled(t, err, "Put with a done context")

	// Canceled while the body streams.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r := &cancelAfter{r: bytes.NewReader(b), n: 1 << 20, cancel: cancel}
	_, err = s.Put(ctx, r, int64(len(b)))
	wantCanceled(t, err, "Put canceled midway")
	if blobs := walk(t, s); len(blobs) != 0 {
		t.Fatalf("Walk = %+v, want nothing stored by canceled Puts", blobs)
	}

	put(t, s, []byte("walked"))
	wantCanceled(t, s.Walk(done, func(shelf.BlobInfo) error { return nil }), "Walk with a done context")
	ss, ok := s.(shelf.StagingStore)
	if !ok {
		return
	}
	const id = "upload-context"
	if err := ss.CreateStaging(t.Context(), id, 1); err != nil {
		t.Fatal(err)
	}
	_, err = ss.WritePart(done, id, 0, strings.NewReader("x"), 1)
	wantCanceled(t, err, "WritePart with a done context")
	wantCanceled(t, ss.WalkStaging(done, func(shelf.BlobInfo) error { return nil }), "WalkStaging with a done context")
}

// testStagingOutOfOrder: parts written in any order, with gaps filled
// last, give the hash of the whole; SumStaging before the last part
// arrives hashes the hole as zeros and names no bad part.
func testStagingOutOfOrder(t *testing.T, s stager) {
	const id = "upload-outoforder"
	const partSize = 64<<10 + 3
	b := randBytes(19, 20*partSize+17)
	if err := s.CreateStaging(t.Context(), id, int64(len(b))); err != nil {
		t.Fatal(err)
	}
	parts := stagedParts(b, partSize)
	order := rand.New(rand.NewPCG(19, 0)).Perm(len(parts))
	for _, i := range order[1:] {
		p := parts[i]
		writePart(t, s, id, p.Off, b[p.Off:p.Off+p.Len])
	}
	missing := parts[order[0]]
	holed := bytes.Clone(b)
	clear(holed[missing.Off : missing.Off+missing.Len])
	others := slices.Delete(slices.Clone(parts), order[0], order[0]+1)
	want := shelf.BlobRef{Hash: sum(holed), Size: int64(len(b))}
	if got, bad, err := s.SumStaging(t.Context(), id, others); err != nil || got != want || bad != nil {
		t.Fatalf("SumStaging with part %d missing = %+v, %v, %v; want %+v", order[0], got, bad, err, want)
	}
	writePart(t, s, id, missing.Off, b[missing.Off:missing.Off+missing.Len])
	want = shelf.BlobRef{Hash: sum(b), Size: int64(len(b))}
	for range 2 {
		if got, bad, err := s.SumStaging(t.Context(), id, parts); err != nil || got != want || bad != nil {
			t.Fatalf("SumStaging = %+v, %v, %v; want %+v", got, bad, err, want)
		}
	}
}

// testStagingRewriteAfterSum: a part written again after SumStaging (which
// has read, and may have hashed, it) changes the next SumStaging's hash,
// whether it is the first, a middle or the last part, with the same
// bytes or others.
func testStagingRewriteAfterSum(t *testing.T, s stager) {
	const id = "upload-rewriteaftersum"
	const partSize = 100<<10 + 1
	b := randBytes(20, 6*partSize+99)
	if err := s.CreateStaging(t.Context(), id, int64(len(b))); err != nil {
		t.Fatal(err)
	}
	for _, p := range stagedParts(b, partSize) {
		writePart(t, s, id, p.Off, b[p.Off:p.Off+p.Len])
	}
	check := func(what string) {
		t.Helper()
		want := shelf.BlobRef{Hash: sum(b), Size: int64(len(b))}
		if got, bad, err := s.SumStaging(t.Context(), id, stagedParts(b, partSize)); err != nil || got != want || bad != nil {
			t.Fatalf("SumStaging %s = %+v, %v, %v; want %+v", what, got, bad, err, want)
		}
	}
	check("after the parts")
	for i, n := range []int{3, 0, 6, 3, 2} {
		p := stagedParts(b, partSize)[n]
		if i != 3 { // the fourth rewrite sends the same bytes again
			copy(b[p.Off:p.Off+p.Len], randBytes(byte(21+i), int(p.Len)))
		}
		writePart(t, s, id, p.Off, b[p.Off:p.Off+p.Len])
		check(fmt.Sprintf("after part %d was written again", n))
	}
	// A range that is not a part, across two of them.
	d := randBytes(30, partSize)
	copy(b[partSize/2:], d)
	writePart(t, s, id, partSize/2, d)
	check("after a range across parts 0 and 1 was written")
}

// testStagingConcurrentRewrites: parts written concurrently, some of them
// again (each part's writes in turn, as the contract asks), with
// SumStagings in between, give the hash of the last bytes of each part.
func testStagingConcurrentRewrites(t *testing.T, s stager) {
	const id = "upload-concurrent"
	const partSize = 32<<10 + 5
	b := randBytes(31, 48*partSize)
	if err := s.CreateStaging(t.Context(), id, int64(len(b))); err != nil {
		t.Fatal(err)
	}
	parts := stagedParts(b, partSize)
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := w; i < len(parts); i += 6 {
				p := parts[i]
				if i%5 == 0 { // first other bytes, then the right ones
					junk := randBytes(byte(i), int(p.Len))
					if _, err := s.WritePart(t.Context(), id, p.Off, bytes.NewReader(junk), p.Len); err != nil {
						t.Error(err)
					}
				}
				if _, err := s.WritePart(t.Context(), id, p.Off, bytes.NewReader(b[p.Off:p.Off+p.Len]), p.Len); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if _, _, err := s.SumStaging(t.Context(), id, nil); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	want := shelf.BlobRef{Hash: sum(b), Size: int64(len(b))}
	if got, bad, err := s.SumStaging(t.Context(), id, parts); err != nil || got != want || bad != nil {
		t.Fatalf("SumStaging = %+v, %v, %v; want %+v", got, bad, err, want)
	}
}

// cancelAfter yields r, calling cancel once n bytes have been read.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= n; c.n <= 0 {
		c.cancel()
	}
	return n, err
}

// put stores b with its size and checks the ref it gets.
func put(t *testing.T, s shelf.BlobStore, b []byte) shelf.BlobRef {
	t.Helper()
	ref, err := s.Put(t.Context(), bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if want := (shelf.BlobRef{Hash: sum(b), Size: int64(len(b))}); ref != want {
		t.Fatalf("Put = %+v, want %+v", ref, want)
	}
	return ref
}

// read returns the bytes of Open(hash, off, n).
func read(t *testing.T, s shelf.BlobStore, hash string, off, n int64) []byte {
	t.Helper()
	rc, err := s.Open(t.Context(), hash, off, n)
	if err != nil {
		t.Fatalf("Open(%.8s, %d, %d): %v", hash, off, n, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %.8s: %v", hash, err)
	}
	return b
}

// writePart writes b at off and checks the sum it gets.
func writePart(t *testing.T, s shelf.StagingStore, id string, off int64, b []byte) {
	t.Helper()
	got, err := s.WritePart(t.Context(), id, off, bytes.NewReader(b), int64(len(b)))
	if want := crc32c(b); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("WritePart(%s, %d, %d) = %x, %v; want %x", id, off, len(b), got, err, want)
	}
}

// walk returns the blobs Walk reports, by hash, failing on duplicates.
func walk(t *testing.T, s shelf.BlobStore) map[string]shelf.BlobInfo {
	t.Helper()
	return collect(t, "Walk", s.Walk)
}

// walkStaging returns the staging areas WalkStaging reports, by id.
func walkStaging(t *testing.T, s shelf.StagingStore) map[string]shelf.BlobInfo {
	t.Helper()
	return collect(t, "WalkStaging", s.WalkStaging)
}

func collect(t *testing.T, name string, walk func(context.Context, func(shelf.BlobInfo) error) error) map[string]shelf.BlobInfo {
	t.Helper()
	found := map[string]shelf.BlobInfo{}
	err := walk(t.Context(), func(info shelf.BlobInfo) error {
		if _, dup := found[info.Hash]; dup {
			t.Errorf("%s reported %s twice", name, info.Hash)
		}
		found[info.Hash] = info
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return found
}

// modTime returns the ModTime that Walk reports for hash.
func modTime(t *testing.T, s shelf.BlobStore, hash string) time.Time {
	t.Helper()
	info, ok := walk(t, s)[hash]
	if !ok {
		t.Fatalf("Walk does not report %.8s", hash)
	}
	if info.ModTime.IsZero() {
		t.Fatalf("Walk reports a zero ModTime for %.8s", hash)
	}
	return info.ModTime
}

func wantCode(t *testing.T, err error, code, what string) {
	t.Helper()
	if got := shelf.ErrorCode(err); got != code {
		t.Errorf("%s: code %q (err %v), want %q", what, got, err, code)
	}
}

func wantCanceled(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%s: err %v, want one wrapping %v", what, err, context.Canceled)
	}
}

// sum returns the lowercase hex SHA-256 of b.
func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// stream returns an endless deterministic stream of bytes for seed.
func stream(seed byte) io.Reader {
	return rand.NewChaCha8([32]byte{seed})
}

// randBytes returns n bytes of stream(seed).
func randBytes(seed byte, n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(stream(seed), b); err != nil {
		panic(err)
	}
	return b
}

// crc32c is the checksum WritePart returns: CRC-32C, big-endian.
func crc32c(b []byte) []byte {
	return binary.BigEndian.AppendUint32(nil, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}
