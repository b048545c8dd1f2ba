package fsblob

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"path"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/shelfmem/shelf"
)

var (
	_ shelf.BlobStore    = (*Store)(nil)
	_ shelf.StagingStore = (*Store)(nil)
)

// castagnoli is the CRC-32C table of part checksums (hardware-accelerated).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Buffers for streaming copies (Put, WritePart) and for the single read pass
// of SumStaging. Pooled so that concurrent uploads do not churn the heap.
var (
	copyBufs = newBufPool(256 << 10)
	sumBufs  = newBufPool(1 << 20)
)

func newBufPool(size int) *sync.Pool {
	return &sync.Pool{New: func() any {
		b := make([]byte, size)
		return &b
	}}
}

// Store is a shelf.BlobStore with the shelf.StagingStore capability, on a
// local directory. It is safe for concurrent use. See the package documentation for the layout and guarantees.
type Store struct {
	// SyncParts makes WritePart fdatasync each part before it returns, so
	// a part's answer means its bytes are on disk, as with S3. Off (the
	// default), a part is synced with the rest of the file when the upload
	// is finalized, and a part lost to a power cut before that is caught by
	// its CRC-32C in SumStaging. Set it before the store is used.
	SyncParts bool

	root *os.Root

	// locks serialize, per hash, the check and the change of a blob: Delete's
	// ModTime check and removal against the touch or rename of Put and
	// CommitStaging. The lock is chosen by the hash's first byte, which is
	// also the name of its top directory, so the creation of sha256/ab and
	// sha256/ab/cd (and the fsync of their parents) is serialized too.
	locks [256]sync.Mutex

	// sums are the running hashes of the staging areas written since
	// Open (running.go), by upload id.
	sumsMu sync.Mutex
	sums   map[string]*running
}

// Open opens the store in dir, creating dir and its layout if needed, and
// removes the files that interrupted Puts left in tmp/. Staging files are
// kept: the uploads they belong to may still be live. Only one Store may use
// dir at a time.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, ioError("create blob directory", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, ioError("open blob directory", err)
	}
	s := &Store{root: root, sums: map[string]*running{}}
	if err := s.init(); err != nil {
		_ = root.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) init() error {
	for _, dir := range []string{"sha256", "staging", "tmp"} {
		if err := s.root.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return ioError("create blob directory", err)
		}
	}
	if err := s.syncDir("."); err != nil {
		return err
	}
	// A crash between making a fan-out directory and syncing its parent
	// leaves an entry the next Put finds and never syncs again; syncing the
	// fan-out levels at start makes whatever the last run left durable.
	if err := s.syncFanout(); err != nil {
		return err
	}
	entries, err := s.readDir("tmp")
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := s.root.RemoveAll("tmp/" + e.Name()); err != nil {
			return ioError("remove temp file", err)
		}
	}
	return nil
}

// syncFanout syncs sha256/ and each sha256/ab/, which hold the entries of
// the fan-out directories Put makes.
func (s *Store) syncFanout() error {
	if err := s.syncDir("sha256"); err != nil {
		return err
	}
	entries, err := s.readDir("sha256")
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() && isHexPair(e.Name()) {
			if err := s.syncDir("sha256/" + e.Name()); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close stops the running hashes and releases the directory. The store
// must not be used afterwards.
func (s *Store) Close() error {
	s.sumsMu.Lock()
	ids := slices.Collect(maps.Keys(s.sums))
	s.sumsMu.Unlock()
	for _, id := range ids {
		s.dropSum(id)
	}
	return s.root.Close()
}

// Put stores the bytes of r. It streams them into a file in tmp/ while
// hashing, fsyncs it and renames it to its blob path, then fsyncs that
// directory. If the blob already exists, the new file is dropped and the
// existing blob's ModTime is set to now. A size < 0 means unknown. On any
// error the temp file is removed; a reader error keeps its shelf code if it
// has one, and a done ctx gives an error that wraps ctx.Err().
func (s *Store) Put(ctx context.Context, r io.Reader, size int64) (shelf.BlobRef, error) {
	if err := ctx.Err(); err != nil {
		return shelf.BlobRef{}, shelf.Wrap(err, "put blob")
	}
	tmp, ref, err := s.writeTemp(ctx, r, size)
	if err != nil {
		return shelf.BlobRef{}, err
	}
	if err := s.install(tmp, ref.Hash); err != nil {
		_ = s.root.Remove(tmp)
		return shelf.BlobRef{}, err
	}
	return ref, nil
}

// writeTemp streams r into a new read-only file in tmp/ while hashing it,
// fsyncs the file and returns its name. On error the file is removed.
func (s *Store) writeTemp(ctx context.Context, r io.Reader, size int64) (_ string, ref shelf.BlobRef, err error) {
	name := "tmp/" + rand.Text()
	f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", ref, ioError("create temp file", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = ioError("close temp file", cerr)
		}
		if err != nil {
			_ = s.root.Remove(name)
		}
	}()

	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	h := sha256.New()
	n, err := copyExact(ctx, f, h, r, size, *buf)
	if err != nil {
		return "", ref, err
	}
	if err := f.Chmod(0o444); err != nil {
		return "", ref, ioError("chmod temp file", err)
	}
	if err := f.Sync(); err != nil {
		return "", ref, ioError("sync temp file", err)
	}
	return name, shelf.BlobRef{Hash: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

// install makes the durable file src the blob hash: under the hash's lock,
// it touches an existing blob and removes src, or renames src into place.
func (s *Store) install(src, hash string) error {
	mu := s.lock(hash)
	mu.Lock()
	defer mu.Unlock()
	exists, err := s.touchIfExists(hash)
	if err != nil {
		return err
	}
	if exists {
		return s.remove(src)
	}
	return s.moveIn(src, hash)
}

// touchIfExists sets the blob's ModTime to now, so garbage collection grants
// it a new grace period, and reports whether it exists. The touch is not
// fsynced: losing it in a crash is harmless, as a blob that the caller went
// on to reference is kept by GC whatever its ModTime, and one it did not
// is garbage. The caller holds the hash's lock.
func (s *Store) touchIfExists(hash string) (bool, error) {
	now := time.Now()
	err := s.root.Chtimes(blobPath(hash), now, now)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, ioError("touch blob", err)
}

// moveIn renames the durable file src to the blob path of hash, creating
// (and fsyncing the parents of) its directories as needed, then fsyncs the
// blob's directory. The caller holds the hash's lock.
func (s *Store) moveIn(src, hash string) error {
	dst := blobPath(hash)
	dir := path.Dir(dst)
	for _, d := range []string{path.Dir(dir), dir} {
		err := s.root.Mkdir(d, 0o755)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return ioError("create blob directory", err)
		}
		if err := s.syncDir(path.Dir(d)); err != nil {
			return err
		}
	}
	if err := s.root.Rename(src, dst); err != nil {
		return ioError("rename blob into place", err)
	}
	return s.syncDir(dir)
}

// Open reads n bytes of the blob from offset off (n < 0: to the end; an n
// past the end is clamped). off == size gives an empty reader; off > size or
// off < 0 gives EINVALID, a malformed hash EINVALID, a missing blob
// ENOTFOUND. Besides io.ReadCloser, the returned value implements
// io.ReaderAt and io.Seeker over the range (offsets relative to off) and
// Size() int64, the length of the range; it reads through its own file
// descriptor and is not safe for concurrent Read and Seek.
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
	f, err := s.root.Open(blobPath(hash))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoBlob
	}
	if err != nil {
		return nil, ioError("open blob", err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, ioError("stat blob", err)
	}
	size := fi.Size()
	if off > size {
		_ = f.Close()
		return nil, shelf.Errorf(shelf.EINVALID, "offset %d is past the end of the %d-byte blob", off, size)
	}
	if n < 0 || n > size-off {
		n = size - off
	}
	return &section{SectionReader: io.NewSectionReader(f, off, n), f: f}, nil
}

// section is the reader Open returns: a range of a blob file.
type section struct {
	*io.SectionReader
	f *os.File
}

func (r *section) Close() error { return r.f.Close() }

// Stat returns the blob's ref. EINVALID for a malformed hash, ENOTFOUND if
// the blob is missing.
func (s *Store) Stat(ctx context.Context, hash string) (shelf.BlobRef, error) {
	if err := ctx.Err(); err != nil {
		return shelf.BlobRef{}, shelf.Wrap(err, "stat blob")
	}
	if !shelf.ValidBlobHash(hash) {
		return shelf.BlobRef{}, errBadHash
	}
	fi, err := s.root.Stat(blobPath(hash))
	if errors.Is(err, fs.ErrNotExist) {
		return shelf.BlobRef{}, errNoBlob
	}
	if err != nil {
		return shelf.BlobRef{}, ioError("stat blob", err)
	}
	return shelf.BlobRef{Hash: hash, Size: fi.Size()}, nil
}

// Delete removes the blob if its ModTime is before olderThan. The check and
// the removal hold the hash's lock, so a concurrent Put of the same bytes
// either recreates the blob after the removal or touches it before the
// check and keeps it. A missing blob is not an error; a malformed hash is
// EINVALID.
func (s *Store) Delete(ctx context.Context, hash string, olderThan time.Time) error {
	if err := ctx.Err(); err != nil {
		return shelf.Wrap(err, "delete blob")
	}
	if !shelf.ValidBlobHash(hash) {
		return errBadHash
	}
	mu := s.lock(hash)
	mu.Lock()
	defer mu.Unlock()
	name := blobPath(hash)
	fi, err := s.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return ioError("stat blob", err)
	}
	if !fi.ModTime().Before(olderThan) {
		return nil
	}
	return s.remove(name)
}

// Walk calls fn for every blob under sha256/, in no particular order,
// skipping any file or directory whose name does not fit the layout and
// any blob deleted during the walk. An error from fn stops the walk and is
// returned as is.
func (s *Store) Walk(ctx context.Context, fn func(shelf.BlobInfo) error) error {
	if err := ctx.Err(); err != nil {
		return shelf.Wrap(err, "walk blobs")
	}
	tops, err := s.readDir("sha256")
	if err != nil {
		return err
	}
	for _, top := range tops {
		if !top.IsDir() || !isHexPair(top.Name()) {
			continue
		}
		subs, err := s.readDir("sha256/" + top.Name())
		if err != nil {
			return err
		}
		for _, sub := range subs {
			if !sub.IsDir() || !isHexPair(sub.Name()) {
				continue
			}
			dir := "sha256/" + top.Name() + "/" + sub.Name()
			err := s.eachFile(ctx, dir, func(name string, fi fs.FileInfo) error {
				if !shelf.ValidBlobHash(name) || blobPath(name) != dir+"/"+name {
					return nil
				}
				return fn(shelf.BlobInfo{Hash: name, Size: fi.Size(), ModTime: fi.ModTime()})
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// CreateStaging creates staging/<id> with size bytes, sparse, and fsyncs it
// and its directory. An existing staging file keeps its bytes and is cut or
// extended to size. A malformed id or a negative size is EINVALID.
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
	name := stagingPath(id)
	s.dropSum(id) // an existing area may be cut
	created := true
	f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		created = false
		f, err = s.root.OpenFile(name, os.O_WRONLY, 0o600)
	}
	if err != nil {
		return ioError("create staging file", err)
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.syncDir("staging")
	}
	if err != nil && created {
		_ = s.root.Remove(name) // a full disk leaves no staging file behind
	}
	if err != nil {
		return ioError("create staging file", err)
	}
	return nil
}

// WritePart writes exactly n bytes of r at offset off of staging/<id>,
// computing their CRC-32C as they stream, and returns the CRC-32C once it
// has started the writeback of all of them (every 8 MiB and at the end, so
// that finalize's fdatasync finds little left); with SyncParts it
// fdatasyncs instead. It
// never writes outside [off, off+n): a reader that runs long or ends early
// gives EINVALID, and any failure (a full disk among them) punches the
// bytes written so far out of the file, giving their blocks back. A range past the end of
// the staging file, a negative off or n, or a malformed id is EINVALID; a
// missing staging file ENOTFOUND. Each call uses its own file descriptor, so
// calls on disjoint ranges may run concurrently. A part that completes is
// handed to the staging area's running hash (running.go), which reads it
// back and hashes it off this call's path when it continues the hashed
// prefix; a write over hashed bytes rewinds that hash.
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
	f, err := s.root.OpenFile(stagingPath(id), os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoStaging
	}
	if err != nil {
		return nil, ioError("open staging file", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, ioError("stat staging file", err)
	}
	if size := fi.Size(); off > size || n > size-off {
		return nil, shelf.Errorf(shelf.EINVALID, "part of %d bytes at offset %d is past the end of the %d-byte upload", n, off, size)
	}

	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	h := crc32.New(castagnoli)
	w := &writebackWriter{f: f, off: off, start: off, chunk: writebackChunk}
	if s.SyncParts {
		w.chunk = syncedWritebackChunk
	}
	sum := s.runningSum(id)
	sum.begin(off, n)
	if _, err := copyExact(ctx, w, h, r, n, *buf); err != nil {
		// The part is lost anyway: its bytes so far are given back, so a
		// disk that filled up mid-part gets that room again.
		if derr := dropRange(f, off, w.off-off); derr != nil {
			err = errors.Join(err, ioError("drop partial part", derr))
		}
		return nil, err
	}
	if s.SyncParts {
		if err := syncData(f); err != nil {
			return nil, ioError("sync staging file", err)
		}
	} else {
		w.flush()
	}
	sum.end(off, n, h.Sum32())
	return h.Sum(nil), nil
}

// writebackWriter writes at increasing offsets of a file and starts the
// writeback of every writebackChunk it has written, and flush that of the
// rest, so a part reaches the disk while the upload goes on rather than at
// finalize's fdatasync.
type writebackWriter struct {
	f          *os.File
	off, start int64 // the next offset; the start of what is not yet handed to writeback
	chunk      int64
}

// writebackChunk is more than a part of the usual 5 MiB, whose writeback
// then starts in one piece when it ends: on the development machine's
// virtual disk, one request per part kept the disk busier than a 4 MiB
// piece and a 1 MiB tail per part (docs/PERFORMANCE.md).
const writebackChunk = 8 << 20

// syncedWritebackChunk is the piece with SyncParts, whose fdatasync ends
// each part: the first 4 MiB go to disk while the rest streams in.
const syncedWritebackChunk = 4 << 20

func (w *writebackWriter) Write(p []byte) (int, error) {
	n, err := w.f.WriteAt(p, w.off)
	w.off += int64(n)
	if w.off-w.start >= w.chunk {
		startWriteback(w.f, w.start, w.off-w.start)
		w.start = w.off
	}
	return n, err
}

// flush starts the writeback of what Write has not handed to it yet.
func (w *writebackWriter) flush() {
	if w.off > w.start {
		startWriteback(w.f, w.start, w.off-w.start)
		w.start = w.off
	}
}

// SumStaging returns the SHA-256 and size of staging/<id>, checking the
// CRC-32C of each of parts on the way, and fdatasyncs the file while it
// reads; it answers the hash only when all match and the fdatasync
// succeeded, so the bytes the hash names are the bytes on disk. It reads the
// whole file once to check the parts as they are now, but hashes only
// what the running hash (running.go) has not: it takes that hash's state
// at the end of the longest run of parts, from offset 0, that it hashed
// with the same ranges and CRC-32C as parts gives them, and hashes from
// there. With no running hash (after a restart), or none that fits
// parts, it hashes everything. ENOTFOUND if it is missing, EINVALID for a
// malformed id or parts out of order, overlapping or past the end.
func (s *Store) SumStaging(ctx context.Context, id string, parts []shelf.StagedPart) (shelf.BlobRef, []int, error) {
	if err := ctx.Err(); err != nil {
		return shelf.BlobRef{}, nil, shelf.Wrap(err, "sum staging")
	}
	if !shelf.ValidStagingID(id) {
		return shelf.BlobRef{}, nil, errBadID
	}
	f, err := s.root.Open(stagingPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return shelf.BlobRef{}, nil, errNoStaging
	}
	if err != nil {
		return shelf.BlobRef{}, nil, ioError("open staging file", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return shelf.BlobRef{}, nil, ioError("stat staging file", err)
	}
	var end int64
	for _, p := range parts {
		if p.Off < end || p.Len < 0 || p.Len > fi.Size()-p.Off {
			return shelf.BlobRef{}, nil, shelf.Errorf(shelf.EINVALID, "staged parts out of order, overlapping or past the end")
		}
		end = p.Off + p.Len
	}
	h := sha256.New()
	var hashed int64
	if sum := s.pausedSum(id); sum != nil {
		defer sum.resume()
		var state []byte
		if hashed, state = sum.prefix(parts); state != nil {
			if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
				return shelf.BlobRef{}, nil, shelf.Wrap(err, "restore running hash")
			}
		}
	}
	// The fdatasync waits for the disk and the pass for the CPU, so they
	// overlap: both see the same pages, and nothing is acknowledged before
	// both are done.
	synced := make(chan error, 1)
	go func() { synced <- syncData(f) }()
	n, bad, err := sumPass(ctx, f, parts, hashed, h)
	serr := <-synced
	if err != nil {
		return shelf.BlobRef{}, nil, err
	}
	if len(bad) > 0 {
		return shelf.BlobRef{}, bad, nil
	}
	if serr != nil {
		return shelf.BlobRef{}, nil, ioError("sync staging file", serr)
	}
	return shelf.BlobRef{Hash: hex.EncodeToString(h.Sum(nil)), Size: n}, nil, nil
}

// sumPass reads f once for SumStaging: it hashes [from, end) into h,
// which holds the hash of [0, from), and checks the CRC-32C of every part.
// The parts before from (they tile [0, from)) need only their check, so
// they are split among up to GOMAXPROCS goroutines while one more hashes
// the rest: the check of what the running hash covered costs a fraction
// of a hash pass. It returns the file's size and the indexes of the parts
// that do not match.
func sumPass(ctx context.Context, f *os.File, parts []shelf.StagedPart, from int64, h io.Writer) (int64, []int, error) {
	k := 0
	for k < len(parts) && parts[k].Off+parts[k].Len <= from {
		k++
	}
	workers := min(runtime.GOMAXPROCS(0), k)
	bads := make([][]int, workers+1)
	errs := make([]error, workers+1)
	var size int64
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := sumBufs.Get().(*[]byte)
		defer sumBufs.Put(buf)
		pc := &partChecker{parts: parts[k:], off: from}
		m, err := copyExact(ctx, pc, h, io.NewSectionReader(f, from, math.MaxInt64-from), -1, *buf)
		size, errs[workers] = from+m, err
		for _, i := range pc.finish() {
			bads[workers] = append(bads[workers], k+i)
		}
	})
	for w := range workers {
		wg.Go(func() {
			buf := sumBufs.Get().(*[]byte)
			defer sumBufs.Put(buf)
			for i := k * w / workers; i < k*(w+1)/workers; i++ {
				crc, err := crcOf(ctx, f, parts[i], *buf)
				if err != nil {
					errs[w] = err
					return
				}
				if crc != parts[i].CRC32C {
					bads[w] = append(bads[w], i)
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, nil, err
	}
	return size, slices.Concat(bads...), nil
}

// crcOf returns the CRC-32C of part p of f, read in chunks of buf.
func crcOf(ctx context.Context, f *os.File, p shelf.StagedPart, buf []byte) (uint32, error) {
	var crc uint32
	for off, end := p.Off, p.Off+p.Len; off < end; {
		if err := ctx.Err(); err != nil {
			return 0, shelf.Wrap(err, "check parts interrupted")
		}
		b := buf[:min(int64(len(buf)), end-off)]
		m, err := f.ReadAt(b, off)
		if m < len(b) {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, ioError("read staging file", err)
		}
		crc = crc32.Update(crc, castagnoli, b)
		off += int64(m)
	}
	return crc, nil
}

// partChecker is the writer end of SumStaging's pass: fed the staging
// file from offset 0, it computes the CRC-32C of each part's range.
type partChecker struct {
	parts []shelf.StagedPart
	off   int64 // of the next byte written (set to where the pass starts)
	i     int   // the part being summed or next
	crc   uint32
	bad   []int
}

func (c *partChecker) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && c.i < len(c.parts) {
		pt := c.parts[c.i]
		if c.off < pt.Off { // a gap before the part
			skip := min(int64(len(p)), pt.Off-c.off)
			p, c.off = p[skip:], c.off+skip
			continue
		}
		take := min(int64(len(p)), pt.Off+pt.Len-c.off)
		c.crc = crc32.Update(c.crc, castagnoli, p[:take])
		p, c.off = p[take:], c.off+take
		if c.off == pt.Off+pt.Len {
			c.next()
		}
	}
	c.off += int64(len(p))
	return n, nil
}

// next closes the current part.
func (c *partChecker) next() {
	if c.crc != c.parts[c.i].CRC32C {
		c.bad = append(c.bad, c.i)
	}
	c.i, c.crc = c.i+1, 0
}

// finish closes the zero-length parts left at the end and returns the
// indexes of the parts that did not match.
func (c *partChecker) finish() []int {
	for c.i < len(c.parts) && c.off == c.parts[c.i].Off+c.parts[c.i].Len {
		c.next()
	}
	return c.bad
}

// CommitStaging renames staging/<id> to the blob ref, never copying its
// bytes. It trusts ref.Hash, which the caller takes from SumStaging; it
// checks only the size (a mismatch is EINVALID and keeps the staging file).
// If the blob already exists, it is touched and the staging file removed.
// The new blob is made read-only, its ModTime set to now (so garbage
// collection does not date it from its first part), and the file and both
// directories are fsynced. When the staging file is gone, it returns nil if
// the blob exists with ref.Size bytes (a retried commit), else ENOTFOUND.
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
	name := stagingPath(id)
	s.dropSum(id)
	f, err := s.root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		got, err := s.Stat(ctx, ref.Hash)
		if shelf.ErrorCode(err) == shelf.ENOTFOUND {
			return errNoStaging
		}
		if err != nil {
			return err
		}
		if got.Size != ref.Size {
			return shelf.Errorf(shelf.EINVALID, "blob has %d bytes, not %d", got.Size, ref.Size)
		}
		return nil
	}
	if err != nil {
		return ioError("open staging file", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ioError("stat staging file", err)
	}
	if fi.Size() != ref.Size {
		return shelf.Errorf(shelf.EINVALID, "upload has %d bytes, not %d", fi.Size(), ref.Size)
	}

	mu := s.lock(ref.Hash)
	mu.Lock()
	defer mu.Unlock()
	exists, err := s.touchIfExists(ref.Hash)
	if err != nil {
		return err
	}
	if exists {
		return s.remove(name)
	}
	now := time.Now()
	if err := f.Chmod(0o444); err != nil {
		return ioError("chmod staging file", err)
	}
	if err := s.root.Chtimes(name, now, now); err != nil {
		return ioError("touch staging file", err)
	}
	if err := f.Sync(); err != nil {
		return ioError("sync staging file", err)
	}
	if err := s.moveIn(name, ref.Hash); err != nil {
		_ = f.Chmod(0o600) // so that a rewritten part can open it again
		return err
	}
	return s.syncDir("staging")
}

// DeleteStaging removes staging/<id>. A missing one is not an error; a
// malformed id is EINVALID.
func (s *Store) DeleteStaging(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return shelf.Wrap(err, "delete staging")
	}
	if !shelf.ValidStagingID(id) {
		return errBadID
	}
	s.dropSum(id)
	return s.remove(stagingPath(id))
}

// WalkStaging calls fn for every staging file, with the upload id in
// BlobInfo.Hash, skipping names that are not valid ids. An error from fn
// stops the walk and is returned as is.
func (s *Store) WalkStaging(ctx context.Context, fn func(shelf.BlobInfo) error) error {
	if err := ctx.Err(); err != nil {
		return shelf.Wrap(err, "walk staging")
	}
	return s.eachFile(ctx, "staging", func(name string, fi fs.FileInfo) error {
		if !shelf.ValidStagingID(name) {
			return nil
		}
		return fn(shelf.BlobInfo{Hash: name, Size: fi.Size(), ModTime: fi.ModTime()})
	})
}

// eachFile calls fn for every regular file in dir, skipping files removed
// while it runs, and checks ctx before each.
func (s *Store) eachFile(ctx context.Context, dir string, fn func(name string, fi fs.FileInfo) error) error {
	entries, err := s.readDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return shelf.Wrap(err, "walk")
		}
		if !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return ioError("stat file", err)
		}
		if err := fn(e.Name(), fi); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) readDir(dir string) ([]fs.DirEntry, error) {
	f, err := s.root.Open(dir)
	if err != nil {
		return nil, ioError("open directory", err)
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, ioError("read directory", err)
	}
	return entries, nil
}

// syncDir fsyncs a directory, making the entries created, renamed or
// removed in it durable.
func (s *Store) syncDir(dir string) error {
	f, err := s.root.Open(dir)
	if err != nil {
		return ioError("open directory", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return ioError("sync directory", err)
	}
	return nil
}

// remove removes a file; a missing one is not an error.
func (s *Store) remove(name string) error {
	if err := s.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return ioError("remove file", err)
	}
	return nil
}

// lock returns the mutex of a valid hash: the one of its first byte.
func (s *Store) lock(hash string) *sync.Mutex {
	return &s.locks[unhex(hash[0])<<4|unhex(hash[1])]
}

// copyExact copies r to w in chunks of buf, writing every chunk into h as
// well, and returns the number of bytes copied. With n >= 0, r must yield
// exactly n bytes: at most n are written, and a reader that ends early or
// runs long gives EINVALID (it reads at most n+1 bytes to tell). With n < 0
// it copies until r ends. A reader returning io.ErrUnexpectedEOF has ended
// early. ctx is checked before every read.
func copyExact(ctx context.Context, w, h io.Writer, r io.Reader, n int64, buf []byte) (int64, error) {
	if n >= 0 && n < math.MaxInt64 {
		r = io.LimitReader(r, n+1)
	}
	var done int64
	for {
		if err := ctx.Err(); err != nil {
			return done, shelf.Wrap(err, "copy interrupted")
		}
		m, rerr := r.Read(buf)
		chunk := buf[:m]
		long := n >= 0 && int64(m) > n-done
		if long {
			chunk = chunk[:n-done]
		}
		if len(chunk) > 0 {
			h.Write(chunk)
			if _, err := w.Write(chunk); err != nil {
				return done, ioError("write", err)
			}
			done += int64(len(chunk))
		}
		switch {
		case long:
			return done, shelf.Errorf(shelf.EINVALID, "body is longer than %d bytes", n)
		case rerr == io.EOF && (n < 0 || done == n):
			return done, nil
		case rerr == io.EOF || errors.Is(rerr, io.ErrUnexpectedEOF):
			return done, shelf.Errorf(shelf.EINVALID, "body ended after %d bytes, before its end", done)
		case rerr != nil:
			return done, shelf.Wrap(rerr, "read body")
		}
	}
}

// ioError classifies an I/O failure by its cause: a full disk or an
// exhausted quota is EINSUFFICIENT, a file system mounted read-only
// EUNAVAILABLE (nothing the client sent is wrong; it may pass), anything
// else EINTERNAL.
func ioError(msg string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return &shelf.Error{Code: shelf.EINSUFFICIENT, Message: "out of storage space", Err: err}
	}
	if errors.Is(err, syscall.EROFS) {
		return &shelf.Error{Code: shelf.EUNAVAILABLE, Message: "storage is read-only", Err: err}
	}
	return &shelf.Error{Code: shelf.EINTERNAL, Message: msg, Err: err}
}

var (
	errBadHash   = shelf.Errorf(shelf.EINVALID, "malformed blob hash: want 64 lowercase hex digits")
	errBadID     = shelf.Errorf(shelf.EINVALID, "malformed upload id: want 1 to 64 of A-Z a-z 0-9 _ -")
	errNoBlob    = shelf.Errorf(shelf.ENOTFOUND, "blob not found")
	errNoStaging = shelf.Errorf(shelf.ENOTFOUND, "upload staging area not found")
)

// blobPath returns sha256/ab/cd/abcd… for a valid hash.
func blobPath(hash string) string {
	return "sha256/" + hash[:2] + "/" + hash[2:4] + "/" + hash
}

// stagingPath returns staging/<id> for a valid id.
func stagingPath(id string) string {
	return "staging/" + id
}

func isHexPair(s string) bool { return len(s) == 2 && isHex(s[0]) && isHex(s[1]) }

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// unhex returns the value of a lowercase hex digit.
func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}
