// Package diskspace keeps a reserve of disk space in the server's data
// directory and reports the free space of its file system: the
// library.Space that `shelf serve` runs with. The reserve is a file whose
// blocks are allocated (not a sparse file), so deleting it gives the file
// system real room back, at the moment a write has failed for lack of it.
// It must not hold anything but the reserve file.
package diskspace

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	shelf "github.com/shelfmem/shelf"
)

// FileName is the reserve's name in the data directory.
const FileName = "space-reserve"

// Reserve is a reserve of size bytes in a directory. Safe for concurrent
// use.
type Reserve struct {
	dir  string
	size int64

	mu   sync.Mutex
	held bool
}

// Open keeps a reserve of size bytes in dir: it makes the file, or keeps
// one a previous run made if it has the size. A size of 0 keeps none (and
// removes an old file). When the file system has no room for it, the
// reserve starts released, which is no error: the server starts with the
// disk short. Other failures (dir missing, a file system whose free
// space cannot be read) are errors.
func Open(dir string, size int64) (*Reserve, error) {
	if size < 0 {
		return nil, fmt.Errorf("diskspace: negative reserve %d", size)
	}
	r := &Reserve{dir: dir, size: size}
	if _, err := r.Free(); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	_ = os.Remove(path + ".tmp") // a Restore cut short
	if size == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		return r, nil
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() == size && allocated(fi) >= size {
		r.held = true
		return r, nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := r.Restore(); err != nil && shelf.ErrorCode(err) != shelf.EINSUFFICIENT {
		return nil, err
	}
	return r, nil
}

// Free returns the bytes an unprivileged writer may still use on the
// directory's file system (the reserve, being a file, is not counted).
func (r *Reserve) Free() (int64, error) {
	return free(r.dir)
}

// Reserve returns the reserve's size and whether it is held.
func (r *Reserve) Reserve() (int64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.size, r.held || r.size == 0
}

// Release deletes the reserve and returns the bytes it gave back, 0 when
// it was not held.
func (r *Reserve) Release() (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.held {
		return 0, nil
	}
	if err := os.Remove(filepath.Join(r.dir, FileName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}
	r.held = false
	return r.size, nil
}

// Restore makes the reserve when it is not held: the whole size is
// allocated in a temporary file, synced, and renamed into place, so the
// reserve is either all there or not at all. EINSUFFICIENT when the room
// is not there (and nothing is left behind).
func (r *Reserve) Restore() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.held || r.size == 0 {
		return nil
	}
	path := filepath.Join(r.dir, FileName)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return classify("create the disk reserve", err)
	}
	err = allocate(f, r.size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(r.dir)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return classify("make the disk reserve", err)
	}
	r.held = true
	return nil
}

// writeZeros allocates by writing, for file systems without fallocate.
func writeZeros(f *os.File, size int64) error {
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		if _, err := f.Write(buf[:n]); err != nil {
			return err
		}
		left -= n
	}
	_, err := f.Seek(0, io.SeekStart)
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// classify makes a full disk EINSUFFICIENT.
func classify(op string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return &shelf.Error{Code: shelf.EINSUFFICIENT, Message: "out of storage space", Err: err}
	}
	return &shelf.Error{Code: shelf.EINTERNAL, Message: op, Err: err}
}
