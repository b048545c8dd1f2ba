// Package memblob implements shelf.BlobStore and its staging capability
// (shelf.StagingStore) in memory, for tests: a second, independent
// implementation that keeps the conformance suite (blob/blobtest) honest
// about what is the contract and what is fsblob's habit, and a store the
// core's tests can use without a disk.
//
// What it must not do: be used where bytes must outlive the process (it
// keeps everything in the heap, and forgets it with the Store), or share
// its byte slices with callers (every read and write copies).
package memblob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"sync"
	"time"

	"github.com/shelfmem/shelf"
)

var (
	_ shelf.BlobStore    = (*Store)(nil)
	_ shelf.StagingStore = (*Store)(nil)
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Store is an in-memory blob store with staging areas. The zero value is
// not usable; call New. It is safe for concurrent use.
type Store struct {
	mu      sync.Mutex
	blobs   map[string]*entry // by hash
	staging map[string]*entry // by upload id
	now     func() time.Time
}

// entry is a blob or a staging area. A blob's data never changes; a
// staging area's is written in place under the Store's lock.
type entry struct {
	data    []byte
	modTime time.Time
}

// New returns an empty store.
func New() *Store {
	return &Store{blobs: map[string]*entry{}, staging: map[string]*entry{}, now: time.Now}
}

// Put reads r whole (checking ctx between reads), then stores a copy.
func (s *Store) Put(ctx context.Context, r io.Reader, size int64) (shelf.BlobRef, error) {
	if err := ctx.Err(); err != nil {
		return shelf.BlobRef{}, shelf.Wrap(err, "put blob")
	}
	var buf bytes.Buffer
	if _, err := copyExact(ctx, &buf, r, size); err != nil {
		return shelf.BlobRef{}, err
	}
	sum := sha256.Sum256(buf.Bytes())
	ref := shelf.BlobRef{Hash: hex.EncodeToString(sum[:]), Size: int64(buf.Len())}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.blobs[ref.Hash]; ok {
		e.modTime = s.now()
		return ref, nil
	}
	s.blobs[ref.Hash] = &entry{data: buf.Bytes(), modTime: s.now()}
	return ref, nil
}

// Open returns a reader over a copy-free view of the blob, which never
// changes; it implements io.ReaderAt and io.Seeker.
func (s *Store) Open(ctx context.Context, hash string, off, n int64) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, shelf.Wrap(err, "open blob")
	}
	if !shelf.ValidBlobHash(hash) {
		return nil, errBadHash
	}
	if off < 0 {
		return nil, shelf.Errorf(shelf.EINVALID, "negative offset %d", off)
	}
	s.mu.Lock()
	e, ok := s.blobs[hash]
	s.mu.Unlock()
	if !ok {
		return nil, errNoBlob
	}
	size := int64(len(e.data))
	if off > size {
		return nil, shelf.Errorf(shelf.EINVALID, "offset %d is past the end of the %d-byte blob", off, size)
	}
	if n < 0 || n > size-off {
		n = size - off
	}
	return reader{bytes.NewReader(e.data[off : off+n])}, nil
}

type reader struct{ *bytes.Reader }

func (reader) Close() error { return nil }

// Stat returns the blob's ref.
func (s *Store) Stat(ctx context.Context, hash string) (shelf.BlobRef, error) {
	if err := ctx.Err(); err != nil {
		return shelf.BlobRef{}, shelf.Wrap(err, "stat blob")
	}
	if !shelf.ValidBlobHash(hash) {
		return shelf.BlobRef{}, errBadHash
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.blobs[hash]
	if !ok {
		return shelf.BlobRef{}, errNoBlob
	}
	return shelf.BlobRef{Hash: hash, Size: int64(len(e.data))}, nil
}

// Delete removes the blob if its ModTime is before olderThan, under the
// same lock as Put.
func (s *Store) Delete(ctx context.Context, hash string, olderThan time.Time) error {
	if err := ctx.Err(); err != nil {
		return shelf.Wrap(err, "delete blob")
	}
	if !shelf.ValidBlobHash(hash) {
		return errBadHash
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.blobs[hash]; ok && e.modTime.Before(olderThan) {
		delete(s.blobs, hash)
	}
	return nil
}

// Walk calls fn for a snapshot of the blobs, without holding the lock.
func (s *Store) Walk(ctx context.Context, fn func(shelf.BlobInfo) error) error {
	return s.walk(ctx, s.blobs, fn)
}

func (s *Store) walk(ctx context.Context, m map[string]*entry, fn func(shelf.BlobInfo) error) error {
	if err := ctx.Err(); err != nil {
		return shelf.Wrap(err, "walk")
	}
	s.mu.Lock()
	infos := make([]shelf.BlobInfo, 0, len(m))
	for k, e := range m {
		infos = append(infos, shelf.BlobInfo{Hash: k, Size: int64(len(e.data)), ModTime: e.modTime})
	}
	s.mu.Unlock()
	for _, info := range infos {
		if err := ctx.Err(); err != nil {
			return shelf.Wrap(err, "walk")
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// CreateStaging makes a zeroed staging area, or cuts or extends an
// existing one to size.
func (s *Store) CreateStaging(ctx context.Context, id string, size int64) error {
	if err := ctx.Err(); err != nil {
		return shelf.Wrap(err, "create staging")
	}
	if !shelf.ValidStagingID(id) {
		return errBadID
	}
	if size < 0 {
		return shelf.Errorf(shelf.EINVALID, "negative upload size %d", size)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.staging[id]
	if !ok {
		s.staging[id] = &entry{data: make([]byte, size), modTime: s.now()}
		return nil
	}
	if int64(len(e.data)) != size {
		data := make([]byte, size)
		copy(data, e.data)
		e.data = data
	}
	e.modTime = s.now()
	return nil
}

// WritePart reads the part whole, then copies it into the staging area:
// a failed part changes nothing.
func (s *Store) WritePart(ctx context.Context, id string, off int64, r io.Reader, n int64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, shelf.Wrap(err, "write part")
	}
	if !shelf.ValidStagingID(id) {
		return nil, errBadID
	}
	if off < 0 || n < 0 {
		return nil, shelf.Errorf(shelf.EINVALID, "negative part offset or length")
	}
	if _, err := s.stagingSize(id, off, n); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := copyExact(ctx, &buf, r, n); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.staging[id]
	if !ok {
		return nil, errNoStaging
	}
	if size := int64(len(e.data)); off > size || n > size-off {
		return nil, errPastEnd(off, n, size)
	}
	copy(e.data[off:], buf.Bytes())
	e.modTime = s.now()
	return binary.BigEndian.AppendUint32(nil, crc32.Checksum(buf.Bytes(), castagnoli)), nil
}

// stagingSize checks that the staging area exists and holds [off, off+n).
func (s *Store) stagingSize(id string, off, n int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.staging[id]
	if !ok {
		return 0, errNoStaging
	}
	size := int64(len(e.data))
	if off > size || n > size-off {
		return 0, errPastEnd(off, n, size)
	}
	return size, nil
}

func errPastEnd(off, n, size int64) error {
	return shelf.Errorf(shelf.EINVALID, "part of %d bytes at offset %d is past the end of the %d-byte upload", n, off, size)
}

// SumStaging hashes a copy of the staging area and checks the parts in it.
func (s *Store) SumStaging(ctx context.Context, id string, parts []shelf.StagedPart) (shelf.BlobRef, []int, error) {
	if err := ctx.Err(); err != nil {
		return shelf.BlobRef{}, nil, shelf.Wrap(err, "sum staging")
	}
	if !shelf.ValidStagingID(id) {
		return shelf.BlobRef{}, nil, errBadID
	}
	s.mu.Lock()
	e, ok := s.staging[id]
	var data []byte
	if ok {
		data = bytes.Clone(e.data)
	}
	s.mu.Unlock()
	if !ok {
		return shelf.BlobRef{}, nil, errNoStaging
	}
	var end int64
	for _, p := range parts {
		if p.Off < end || p.Len < 0 || p.Len > int64(len(data))-p.Off {
			return shelf.BlobRef{}, nil, shelf.Errorf(shelf.EINVALID, "staged parts out of order, overlapping or past the end")
		}
		end = p.Off + p.Len
	}
	var bad []int
	for i, p := range parts {
		if crc32.Checksum(data[p.Off:p.Off+p.Len], castagnoli) != p.CRC32C {
			bad = append(bad, i)
		}
	}
	if len(bad) > 0 {
		return shelf.BlobRef{}, bad, nil
	}
	sum := sha256.Sum256(data)
	return shelf.BlobRef{Hash: hex.EncodeToString(sum[:]), Size: int64(len(data))}, nil, nil
}

// CommitStaging moves the staging area's bytes into the blob ref.
func (s *Store) CommitStaging(ctx context.Context, id string, ref shelf.BlobRef) error {
	if err := ctx.Err(); err != nil {
		return shelf.Wrap(err, "commit staging")
	}
	if !shelf.ValidStagingID(id) {
		return errBadID
	}
	if !shelf.ValidBlobHash(ref.Hash) {
		return errBadHash
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.staging[id]
	b, exists := s.blobs[ref.Hash]
	switch {
	case !ok && !exists:
		return errNoStaging
	case !ok:
		if int64(len(b.data)) != ref.Size {
			return shelf.Errorf(shelf.EINVALID, "blob has %d bytes, not %d", len(b.data), ref.Size)
		}
		return nil
	case int64(len(st.data)) != ref.Size:
		return shelf.Errorf(shelf.EINVALID, "upload has %d bytes, not %d", len(st.data), ref.Size)
	}
	delete(s.staging, id)
	if exists {
		b.modTime = s.now()
		return nil
	}
	s.blobs[ref.Hash] = &entry{data: st.data, modTime: s.now()}
	return nil
}

// DeleteStaging removes a staging area.
func (s *Store) DeleteStaging(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return shelf.Wrap(err, "delete staging")
	}
	if !shelf.ValidStagingID(id) {
		return errBadID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.staging, id)
	return nil
}

// WalkStaging calls fn for a snapshot of the staging areas.
func (s *Store) WalkStaging(ctx context.Context, fn func(shelf.BlobInfo) error) error {
	return s.walk(ctx, s.staging, fn)
}

// copyExact copies r to w, checking ctx before every read. With n >= 0, r
// must yield exactly n bytes (EINVALID otherwise; at most n+1 are read).
// A reader's error is wrapped, keeping its shelf code.
func copyExact(ctx context.Context, w io.Writer, r io.Reader, n int64) (int64, error) {
	if n >= 0 {
		r = io.LimitReader(r, n+1)
	}
	buf := make([]byte, 32<<10)
	var done int64
	for {
		if err := ctx.Err(); err != nil {
			return done, shelf.Wrap(err, "copy interrupted")
		}
		m, rerr := r.Read(buf)
		if n >= 0 && done+int64(m) > n {
			return done, shelf.Errorf(shelf.EINVALID, "body is longer than %d bytes", n)
		}
		w.Write(buf[:m])
		done += int64(m)
		switch {
		case rerr == io.EOF && (n < 0 || done == n):
			return done, nil
		case rerr == io.EOF || errors.Is(rerr, io.ErrUnexpectedEOF):
			return done, shelf.Errorf(shelf.EINVALID, "body ended after %d bytes, before its end", done)
		case rerr != nil:
			return done, shelf.Wrap(rerr, "read body")
		}
	}
}

var (
	errBadHash   = shelf.Errorf(shelf.EINVALID, "malformed blob hash: want 64 lowercase hex digits")
	errBadID     = shelf.Errorf(shelf.EINVALID, "malformed upload id: want 1 to 64 of A-Z a-z 0-9 _ -")
	errNoBlob    = shelf.Errorf(shelf.ENOTFOUND, "blob not found")
	errNoStaging = shelf.Errorf(shelf.ENOTFOUND, "upload staging area not found")
)
