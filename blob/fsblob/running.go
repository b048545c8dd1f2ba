package fsblob

import (
	"cmp"
	"crypto/sha256"
	"encoding"
	"hash"
	"hash/crc32"
	"math"
	"os"
	"slices"
	"sync"

	"github.com/shelfmem/shelf"
)

// The running hash of a staging area, so that finalize does not read the
// whole file again for its SHA-256.
//
// Parts of a parallel upload arrive nearly in order. Each staging area has
// a running SHA-256 over its contiguous prefix of parts that WritePart
// finished: when a part ends, a goroutine of the area's (one at most) reads
// the newly contiguous bytes back, from the page cache that still holds
// them, and hashes them, off the part's request. It reads a copy buffer at
// a time and holds nothing else but, per part, its range, its CRC-32C and
// the hash state after it (about 150 bytes).
//
// It is a cache, never the truth. It lives in memory only, so a restart
// loses it and SumStaging hashes the whole file, as it always did. A part
// written again after it was hashed rewinds the state to the end of the
// last part before it. The goroutine checks the CRC-32C of every part it
// hashes against the one its WritePart returned, and SumStaging uses the
// cached state only up to the end of the parts the caller names with the
// same ranges and CRC-32C, whose bytes it still reads and checks as they
// are now: the bytes the cached hash covers and the bytes on disk then
// have the same CRC-32C, which is the check SumStaging always made of a
// part.

// running is the running hash of one staging area.
type running struct {
	s  *Store
	id string

	mu   sync.Mutex
	idle sync.Cond // signalled when busy turns false

	// parts are the parts WritePart finished and no write has touched
	// since, by offset, disjoint.
	parts []*written
	// h is the SHA-256 of [0, to); crc the CRC-32C of [p.off, to) for the
	// part p that holds to. While busy the goroutine owns them and writes
	// them outside mu; otherwise they are read and written under mu.
	h   hash.Hash
	crc uint32
	to  int64
	// dirty is the lowest offset written, since h was last settled, below
	// to or the end of the step being read (reading); math.MaxInt64 when
	// none. The owner of h rewinds it (settle).
	dirty   int64
	reading int64
	busy    bool // the goroutine runs
	hold    int  // SumStaging or a removal is using the state: no goroutine starts
	stuck   bool // a part read back did not match its CRC-32C: wait for a write
}

// written is one part WritePart finished.
type written struct {
	off, n int64
	crc    uint32 // as WritePart returned it
	state  []byte // the hash state at off+n once hashed through the part, else nil
}

func (w *written) end() int64 { return w.off + w.n }

func newRunning(s *Store, id string) *running {
	r := &running{s: s, id: id, h: sha256.New(), dirty: math.MaxInt64}
	r.idle.L = &r.mu
	return r
}

// runningSum returns the running hash of staging area id, creating it.
func (s *Store) runningSum(id string) *running {
	s.sumsMu.Lock()
	defer s.sumsMu.Unlock()
	r := s.sums[id]
	if r == nil {
		r = newRunning(s, id)
		s.sums[id] = r
	}
	return r
}

// pausedSum returns the running hash of staging area id with its goroutine
// stopped and h settled, or nil if it has none. The caller calls resume.
func (s *Store) pausedSum(id string) *running {
	s.sumsMu.Lock()
	r := s.sums[id]
	s.sumsMu.Unlock()
	if r == nil {
		return nil
	}
	r.mu.Lock()
	r.hold++
	for r.busy {
		r.idle.Wait()
	}
	r.settle()
	r.mu.Unlock()
	return r
}

// resume undoes pausedSum.
func (r *running) resume() {
	r.mu.Lock()
	r.hold--
	r.mu.Unlock()
}

// dropSum forgets the running hash of staging area id, once its goroutine
// has stopped (before the file is renamed, cut or removed).
func (s *Store) dropSum(id string) {
	s.sumsMu.Lock()
	r := s.sums[id]
	delete(s.sums, id)
	s.sumsMu.Unlock()
	if r == nil {
		return
	}
	r.mu.Lock()
	r.hold++ // for good: the state is no longer reachable
	for r.busy {
		r.idle.Wait()
	}
	r.mu.Unlock()
}

// begin is called before WritePart writes [off, off+n): the parts it
// overlaps are forgotten, and if one of them or the write starts below
// what is hashed or being read, the state is marked for rewinding.
func (r *running) begin(off, n int64) {
	if n == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	lo := off
	r.parts = slices.DeleteFunc(r.parts, func(w *written) bool {
		if w.off < off+n && off < w.end() {
			lo = min(lo, w.off)
			return true
		}
		return false
	})
	if lo < max(r.to, r.reading) {
		r.dirty = min(r.dirty, lo)
	}
	r.stuck = false
}

// end is called when WritePart has written [off, off+n) with checksum
// crc: the part is recorded, and the goroutine started if it is not
// running.
func (r *running) end(off, n int64, crc uint32) {
	if n == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i, _ := slices.BinarySearchFunc(r.parts, off, func(w *written, off int64) int { return cmp.Compare(w.off, off) })
	r.parts = slices.Insert(r.parts, i, &written{off: off, n: n, crc: crc})
	if !r.busy && r.hold == 0 && !r.stuck {
		r.busy = true
		go r.advance()
	}
}

// settle rewinds h to the end of the last part hashed before the lowest
// offset written since (dirty), or to 0. The caller owns h and holds mu.
func (r *running) settle() {
	if r.dirty == math.MaxInt64 {
		return
	}
	r.to, r.crc = 0, 0
	r.h.Reset()
	for _, w := range r.parts {
		if w.state == nil || w.end() > r.dirty {
			w.state = nil
			continue
		}
		if err := r.h.(encoding.BinaryUnmarshaler).UnmarshalBinary(w.state); err != nil {
			panic("fsblob: restore a SHA-256 state: " + err.Error()) // a state this process made
		}
		r.to = w.end()
	}
	r.dirty = math.MaxInt64
}

// holding returns the part that holds offset to, or nil.
func (r *running) holding() *written {
	i, found := slices.BinarySearchFunc(r.parts, r.to, func(w *written, off int64) int { return cmp.Compare(w.off, off) })
	if found {
		return r.parts[i]
	}
	if i > 0 && r.parts[i-1].end() > r.to {
		return r.parts[i-1]
	}
	return nil
}

// advance is the goroutine: it hashes the parts that continue the prefix,
// one buffer at a time, until none does, the state is held, or a read
// fails (SumStaging reads for itself then).
func (r *running) advance() {
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	var f *os.File
	defer func() {
		if f != nil {
			_ = f.Close()
		}
	}()
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.idle.Broadcast()
	defer func() { r.busy = false }()
	for {
		r.settle()
		w := r.holding()
		if r.hold > 0 || r.stuck || w == nil {
			return
		}
		from := r.to
		end := min(w.end(), from+int64(len(*buf)))
		r.reading = end
		r.mu.Unlock()

		var err error
		if f == nil {
			f, err = r.s.root.Open(stagingPath(r.id))
		}
		if err == nil {
			b := (*buf)[:end-from]
			if _, err = f.ReadAt(b, from); err == nil {
				r.h.Write(b)
				r.crc = crc32.Update(r.crc, castagnoli, b)
			}
		}

		r.mu.Lock()
		r.reading = 0
		if err != nil {
			r.dirty = min(r.dirty, from) // h may hold part of the step
			return
		}
		if r.dirty != math.MaxInt64 {
			continue // a write landed below end: settle rewinds
		}
		r.to = end
		if end < w.end() {
			continue
		}
		if r.crc != w.crc {
			// The bytes changed under the part (another writer of the
			// file). Drop what covers them and wait for a write.
			r.dirty, r.stuck = w.off, true
			continue
		}
		state, err := r.h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			panic("fsblob: save a SHA-256 state: " + err.Error())
		}
		w.state, r.crc = state, 0
	}
}

// prefix returns, for SumStaging, the offset up to which the cached hash
// may stand in for reading: the end of the longest run of parts, from the
// first of parts on, that were hashed with the same ranges and CRC-32C as
// parts names them (and that start at 0). It also returns the hash
// state there. The caller holds the state paused.
func (r *running) prefix(parts []shelf.StagedPart) (int64, []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var to int64
	var state []byte
	for i, w := range r.parts {
		if i >= len(parts) || w.state == nil || w.off != to {
			break
		}
		p := parts[i]
		if p.Off != w.off || p.Len != w.n || p.CRC32C != w.crc {
			break
		}
		to, state = w.end(), w.state
	}
	return to, state
}
