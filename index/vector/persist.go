package vector

import (
	"bufio"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"math/rand/v2"
	"slices"

	shelf "github.com/shelfmem/shelf"
)

// The file format, all integers little-endian:
//
//	magic "SHELFVEC", version uint32 (2)
//	dims, M, EfConstruction, EfSearch uint32; ExactBelow int64; Seed uint64
//	  (EfSearch 0: the default, scaled with the size. Version 1, which
//	  Read still loads, wrote the default as 64, so Read takes a version 1
//	  EfSearch of 64 as the default and rejects 0.)
//	level generator state: length uint32, bytes
//	nodes uint64, entry int32, top uint32
//	ids       nodes × uint64
//	deleted   nodes × uint8 (0 or 1)
//	levels    nodes × uint8
//	vectors   nodes × dims × float32 (IEEE 754 bits)
//	layer 0   nodes × (2M+1) × int32: a count, then the links, zero-padded
//	upper     for each node with level L > 0: L × (M+1) × int32
//	CRC-32C (Castagnoli) of everything before it, uint32
const (
	magic         = "SHELFVEC"
	formatVersion = 2
	// oldestVersion is the oldest format Read loads. Version 1 differs only
	// in how it stores the default EfSearch (64, not 0).
	oldestVersion = 1
	chunk         = 1 << 16 // elements read or converted at a time
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// WriteTo writes the whole index to w, in a form Read loads back into an
// index that answers every search identically. It holds the read lock, so
// searches continue meanwhile and writers wait.
func (x *Index) WriteTo(w io.Writer) (int64, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	cw := &countWriter{w: w}
	sum := crc32.New(castagnoli)
	bw := bufio.NewWriterSize(io.MultiWriter(cw, sum), 1<<16)
	e := &encoder{w: bw}

	e.bytes([]byte(magic))
	e.u32(formatVersion)
	e.u32(uint32(x.dims))
	e.u32(uint32(x.opts.M))
	e.u32(uint32(x.opts.EfConstruction))
	e.u32(uint32(x.opts.EfSearch))
	e.u64(uint64(int64(x.opts.ExactBelow)))
	e.u64(x.opts.Seed)
	state, err := x.pcg.MarshalBinary()
	if err != nil {
		return cw.n, shelf.Wrap(err, "vector index: save level generator")
	}
	e.u32(uint32(len(state)))
	e.bytes(state)
	e.u64(uint64(len(x.ids)))
	e.u32(uint32(x.entry))
	e.u32(uint32(x.top))
	for _, id := range x.ids {
		e.u64(id)
	}
	for _, d := range x.deleted {
		e.u8(b2u(d))
	}
	e.bytes(x.levels)
	e.f32s(x.vecs)
	e.i32s(x.links0)
	for _, up := range x.upper {
		e.i32s(up)
	}
	if e.err == nil {
		e.err = bw.Flush()
	}
	if e.err == nil {
		var crc [4]byte
		binary.LittleEndian.PutUint32(crc[:], sum.Sum32())
		_, e.err = cw.Write(crc[:])
	}
	return cw.n, e.err
}

// Read loads an index written by WriteTo. A file that is truncated,
// corrupt (checksum or structure) or of another version gives EINVALID;
// an I/O error is returned wrapped.
func Read(r io.Reader) (*Index, error) {
	sum := crc32.New(castagnoli)
	d := &decoder{r: io.TeeReader(bufio.NewReaderSize(r, 1<<16), sum)}
	x, err := d.index()
	if err != nil {
		return nil, err
	}
	want := sum.Sum32()
	var crc [4]byte
	if _, err := io.ReadFull(d.r, crc[:]); err != nil {
		return nil, d.fail(err)
	}
	if binary.LittleEndian.Uint32(crc[:]) != want {
		return nil, corrupt("checksum mismatch")
	}
	return x, nil
}

func corrupt(why string) error {
	return shelf.Errorf(shelf.EINVALID, "vector index file: %s", why)
}

// index decodes everything but the checksum, validating as it goes.
func (d *decoder) index() (*Index, error) {
	if string(d.bytes(len(magic))) != magic {
		return nil, d.or(corrupt("not a vector index"))
	}
	version := d.u32()
	if version < oldestVersion || version > formatVersion {
		return nil, d.or(corrupt("unsupported format version"))
	}
	dims := int(d.u32())
	var o Options
	o.M, o.EfConstruction, o.EfSearch = int(d.u32()), int(d.u32()), int(d.u32())
	o.ExactBelow = int(int64(d.u64()))
	o.Seed = d.u64()
	if d.err != nil {
		return nil, d.fail(d.err)
	}
	if dims < 1 || dims > maxDims || o.M < 2 || o.M > maxM || o.EfConstruction < 1 || o.EfConstruction > maxEf ||
		o.EfSearch < 0 || (o.EfSearch == 0 && version < 2) || o.EfSearch > maxEf || o.ExactBelow == 0 || o.ExactBelow > math.MaxInt32 || o.ExactBelow < math.MinInt32 {
		return nil, corrupt("bad header")
	}
	if version == 1 && o.EfSearch == DefaultEfSearch {
		o.EfSearch = 0 // version 1 wrote its fixed default; today's scales
	}
	x, err := New(dims, o)
	if err != nil || x.opts != o {
		return nil, corrupt("bad header")
	}
	stateLen := d.u32()
	if stateLen > 64 {
		return nil, d.or(corrupt("bad level generator state"))
	}
	x.pcg = &rand.PCG{}
	if err := x.pcg.UnmarshalBinary(d.bytes(int(stateLen))); err != nil {
		return nil, d.or(corrupt("bad level generator state"))
	}
	x.rng = rand.New(x.pcg)
	nodes := d.u64()
	entry, top := int32(d.u32()), int(d.u32())
	if d.err != nil {
		return nil, d.fail(d.err)
	}
	if nodes > math.MaxInt32 || entry < -1 || int64(entry) >= int64(nodes) || (nodes > 0) != (entry >= 0) || top > maxLevel {
		return nil, corrupt("bad node count or entry point")
	}
	n := int(nodes)
	x.entry, x.top = entry, top
	x.ids = readBulk(d, n, 8, leU64)
	x.deleted = readBulk(d, n, 1, leBool)
	x.levels = readBulk(d, n, 1, leU8)
	x.vecs = readBulk(d, n*dims, 4, leF32)
	x.links0 = readBulk(d, n*x.stride0(), 4, leI32)
	if d.err != nil {
		return nil, d.fail(d.err)
	}
	x.upper = make([][]int32, n)
	for i, l := range x.levels {
		if int(l) > maxLevel {
			return nil, corrupt("bad level")
		}
		if l > 0 {
			x.upper[i] = readBulk(d, int(l)*x.strideUp(), 4, leI32)
		}
	}
	if d.err != nil {
		return nil, d.fail(d.err)
	}
	if err := x.validate(); err != nil {
		return nil, err
	}
	return x, nil
}

// validate checks what the decoder cannot: ids, links and vectors.
func (x *Index) validate() error {
	n := len(x.ids)
	if n > 0 && int(x.levels[x.entry]) != x.top {
		return corrupt("entry point is not on the top layer")
	}
	for i, id := range x.ids {
		if x.deleted[i] {
			continue
		}
		if _, dup := x.byID[id]; dup {
			return corrupt("an id appears twice")
		}
		x.byID[id] = int32(i)
		x.live++
	}
	for _, f := range x.vecs {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return corrupt("a vector holds NaN or Inf")
		}
	}
	for i := range n {
		for l := 0; l <= int(x.levels[i]); l++ {
			r := x.record(int32(i), l)
			if r[0] < 0 || int(r[0]) > x.capAt(l) {
				return corrupt("bad link count")
			}
			for _, m := range r[1 : 1+r[0]] {
				if m < 0 || int(m) >= n || int(x.levels[m]) < l {
					return corrupt("bad link")
				}
			}
		}
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// encoder writes little-endian values, keeping the first error.
type encoder struct {
	w   io.Writer
	err error
	buf []byte
}

func (e *encoder) bytes(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *encoder) u8(v uint8) { e.bytes([]byte{v}) }

func (e *encoder) u32(v uint32) { e.bytes(binary.LittleEndian.AppendUint32(nil, v)) }

func (e *encoder) u64(v uint64) { e.bytes(binary.LittleEndian.AppendUint64(nil, v)) }

func (e *encoder) f32s(vs []float32) {
	for len(vs) > 0 && e.err == nil {
		n := min(len(vs), chunk)
		e.buf = e.buf[:0]
		for _, f := range vs[:n] {
			e.buf = binary.LittleEndian.AppendUint32(e.buf, math.Float32bits(f))
		}
		e.bytes(e.buf)
		vs = vs[n:]
	}
}

func (e *encoder) i32s(vs []int32) {
	for len(vs) > 0 && e.err == nil {
		n := min(len(vs), chunk)
		e.buf = e.buf[:0]
		for _, v := range vs[:n] {
			e.buf = binary.LittleEndian.AppendUint32(e.buf, uint32(v))
		}
		e.bytes(e.buf)
		vs = vs[n:]
	}
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// decoder reads little-endian values, keeping the first error; after an
// error every read returns zero.
type decoder struct {
	r   io.Reader
	err error
	buf [8]byte
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return make([]byte, n)
	}
	b := make([]byte, n)
	_, d.err = io.ReadFull(d.r, b)
	return b
}

func (d *decoder) fixed(n int) []byte {
	if d.err == nil {
		_, d.err = io.ReadFull(d.r, d.buf[:n])
	}
	if d.err != nil {
		clear(d.buf[:])
	}
	return d.buf[:n]
}

func (d *decoder) u32() uint32 { return binary.LittleEndian.Uint32(d.fixed(4)) }
func (d *decoder) u64() uint64 { return binary.LittleEndian.Uint64(d.fixed(8)) }

// or returns the read error if there was one, else err.
func (d *decoder) or(err error) error {
	if d.err != nil {
		return d.fail(d.err)
	}
	return err
}

// fail classifies a read error: a short file is corrupt, anything else is
// the reader's own failure.
func (d *decoder) fail(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return corrupt("truncated")
	}
	return shelf.Wrap(err, "vector index file: read")
}

// readBulk reads n values of size bytes each, converting a chunk at a
// time with conv (which fills dst from b): the slice grows as data
// actually arrives, so a lying count in a short file cannot make it
// allocate gigabytes. Nil after an error.
func readBulk[T any](d *decoder, n, size int, conv func(dst []T, b []byte)) []T {
	out := make([]T, 0, min(n, chunk))
	buf := make([]byte, min(n, chunk)*size)
	for n > 0 && d.err == nil {
		m := min(n, chunk)
		b := buf[:m*size]
		if _, d.err = io.ReadFull(d.r, b); d.err != nil {
			break
		}
		out = slices.Grow(out, m)
		conv(out[len(out):len(out)+m], b)
		out = out[:len(out)+m]
		n -= m
	}
	if d.err != nil {
		return nil
	}
	return out
}

func leU8(dst []uint8, b []byte) { copy(dst, b) }

func leBool(dst []bool, b []byte) {
	for i := range dst {
		dst[i] = b[i] != 0
	}
}

func leU64(dst []uint64, b []byte) {
	for i := range dst {
		dst[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
}

func leI32(dst []int32, b []byte) {
	for i := range dst {
		dst[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
}

func leF32(dst []float32, b []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
}
