package keyword

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

// The file format, all fixed-size integers little-endian, counts and
// lengths as uvarints:
//
//	magic "SHELFKWI", version uint32 (1)
//	words     count, then each: length, the folded word, its term
//	stems     count, then each: length, the stem, its term
//	postings  count (the number of terms), then each: n, last, length, data
//	documents count, then ids (count × int64), lengths (count × uint16),
//	          deleted (⌈count/64⌉ × uint64 bits)
//	gone      count, then each document number (uvarint)
//	total     uint64: tokens in the live documents
//	CRC-32C (Castagnoli) of everything before it, uint32
//
// Read checks the checksum and every count, term and document number
// against the others, so a damaged or forged file is an error, never an
// index that panics.
const (
	magic         = "SHELFKWI"
	formatVersion = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrFormat is the error Read returns for a file it does not read: damaged,
// cut short, or of another format or version.
var ErrFormat = errors.New("keyword index: not a saved index of this version")

// WriteTo writes the whole index to w, in a form Read loads back into an
// index that answers every search identically. It holds the read lock, so
// searches continue meanwhile and writers wait.
func (x *Index) WriteTo(w io.Writer) (int64, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	cw := &countWriter{w: w}
	sum := crc32.New(castagnoli)
	bw := bufio.NewWriterSize(io.MultiWriter(cw, sum), 1<<16)
	var scratch [binary.MaxVarintLen64]byte
	uv := func(v uint64) { bw.Write(binary.AppendUvarint(scratch[:0], v)) }
	str := func(s string) { uv(uint64(len(s))); bw.WriteString(s) }
	bw.WriteString(magic)
	bw.Write(binary.LittleEndian.AppendUint32(scratch[:0], formatVersion))
	for _, m := range []map[string]uint32{x.words, x.terms} {
		uv(uint64(len(m)))
		for s, t := range m {
			str(s)
			uv(uint64(t))
		}
	}
	uv(uint64(len(x.post)))
	for _, p := range x.post {
		uv(uint64(p.n))
		uv(uint64(p.last))
		uv(uint64(len(p.data)))
		bw.Write(p.data)
	}
	uv(uint64(len(x.ids)))
	b := make([]byte, 0, 8<<10)
	flush := func(force bool) {
		if len(b) >= 8<<10-8 || force {
			bw.Write(b)
			b = b[:0]
		}
	}
	for _, id := range x.ids {
		b = binary.LittleEndian.AppendUint64(b, uint64(id))
		flush(false)
	}
	for _, l := range x.lens {
		b = binary.LittleEndian.AppendUint16(b, l)
		flush(false)
	}
	for _, d := range x.dead[:(len(x.ids)+63)/64] {
		b = binary.LittleEndian.AppendUint64(b, d)
		flush(false)
	}
	flush(true)
	uv(uint64(len(x.gone)))
	for _, d := range x.gone {
		uv(uint64(d))
	}
	bw.Write(binary.LittleEndian.AppendUint64(scratch[:0], uint64(x.total)))
	if err := bw.Flush(); err != nil {
		return cw.n, err
	}
	if _, err := cw.Write(binary.LittleEndian.AppendUint32(nil, sum.Sum32())); err != nil {
		return cw.n, err
	}
	return cw.n, nil
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

// Read loads an index WriteTo wrote. It reads r to its end: the index is
// the whole of it. ErrFormat (wrapped with the reason) for anything else.
func Read(r io.Reader) (*Index, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	if len(data) < len(magic)+8 {
		return nil, corrupt("too short")
	}
	body, tail := data[:len(data)-4], data[len(data)-4:]
	if string(body[:len(magic)]) != magic {
		return nil, corrupt("no magic")
	}
	if v := binary.LittleEndian.Uint32(body[len(magic):]); v != formatVersion {
		return nil, corrupt(fmt.Sprintf("version %d", v))
	}
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(tail) {
		return nil, corrupt("checksum")
	}
	d := &decoder{b: body[len(magic)+4:]}
	x, err := d.index()
	if err != nil {
		return nil, err
	}
	if len(d.b) != 0 {
		return nil, corrupt("trailing bytes")
	}
	return x, nil
}

// readAll reads r to its end. A reader that says how much it holds (an
// io.LimitedReader over the saved file, whose caller bounded N by the
// file's size) is read into one buffer of that size, not one that doubles
// as it fills: a million chunks' index is a quarter of a gigabyte.
func readAll(r io.Reader) ([]byte, error) {
	lr, ok := r.(*io.LimitedReader)
	if !ok || lr.N <= 0 || lr.N > 1<<40 {
		return io.ReadAll(r)
	}
	data := make([]byte, lr.N)
	n, err := io.ReadFull(lr, data)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return data[:n], nil // shorter than said: the checks refuse it
	}
	return data, err
}

func corrupt(why string) error { return fmt.Errorf("%w: %s", ErrFormat, why) }

// decoder reads from b, failing on the first short or bad field.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uv() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = corrupt("bad count")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a count of items of at least size bytes each, bounded by
// what is left to read.
func (d *decoder) count(size int) int {
	v := d.uv()
	if d.err == nil && v > uint64(len(d.b)/max(size, 1)) {
		d.err = corrupt("count beyond the file")
		return 0
	}
	return int(v)
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.err = corrupt("cut short")
		return nil
	}
	b := d.b[:n:n]
	d.b = d.b[n:]
	return b
}

func (d *decoder) index() (*Index, error) {
	x := New()
	var maps [2]map[string]uint32
	for i := range maps {
		n := d.count(2)
		m := make(map[string]uint32, n)
		for range n {
			s := string(d.bytes(d.count(1)))
			t := d.uv()
			if d.err != nil {
				return nil, d.err
			}
			if t > math.MaxUint32 {
				return nil, corrupt("term out of range")
			}
			m[s] = uint32(t)
		}
		maps[i] = m
	}
	x.words, x.terms = maps[0], maps[1]
	nterms := d.count(3)
	x.post = make([]postings, nterms)
	for t := range x.post {
		p := &x.post[t]
		n, last := d.uv(), d.uv()
		p.data = d.bytes(d.count(1))
		if d.err != nil {
			return nil, d.err
		}
		if n > uint64(len(p.data)) || last > math.MaxUint32 {
			return nil, corrupt("postings count")
		}
		p.n, p.last = int(n), uint32(last)
	}
	for _, m := range maps {
		for _, t := range m {
			if int(t) >= nterms {
				return nil, corrupt("term out of range")
			}
		}
	}
	ndocs := d.count(10)
	if d.err != nil {
		return nil, d.err
	}
	if ndocs > math.MaxUint32 {
		return nil, corrupt("too many documents")
	}
	ids, lens, dead := d.bytes(8*ndocs), d.bytes(2*ndocs), d.bytes(8*((ndocs+63)/64))
	ngone := d.count(1)
	if d.err != nil {
		return nil, d.err
	}
	x.ids, x.lens, x.dead = make([]int64, ndocs), make([]uint16, ndocs), make([]uint64, (ndocs+63)/64)
	for i := range x.ids {
		x.ids[i] = int64(binary.LittleEndian.Uint64(ids[8*i:]))
		x.lens[i] = binary.LittleEndian.Uint16(lens[2*i:])
	}
	ndead := 0
	for i := range x.dead {
		x.dead[i] = binary.LittleEndian.Uint64(dead[8*i:])
		ndead += bits.OnesCount64(x.dead[i])
	}
	if r := ndocs % 64; r != 0 && x.dead[len(x.dead)-1]>>r != 0 {
		return nil, corrupt("deleted bit beyond the documents")
	}
	x.gone = make([]uint32, ngone)
	for i := range x.gone {
		g := d.uv()
		if d.err != nil {
			return nil, d.err
		}
		if g >= uint64(ndocs) || !x.isDead(uint32(g)) {
			return nil, corrupt("gone document")
		}
		x.gone[i] = uint32(g)
	}
	if ngone != ndead {
		return nil, corrupt("deleted documents")
	}
	tb := d.bytes(8)
	if d.err != nil {
		return nil, d.err
	}
	total := binary.LittleEndian.Uint64(tb)
	x.byID = make(map[int64]uint32, ndocs-ndead)
	var sum int64
	for i, id := range x.ids {
		if x.isDead(uint32(i)) {
			continue
		}
		if _, dup := x.byID[id]; dup {
			return nil, corrupt("duplicate id")
		}
		x.byID[id] = uint32(i)
		sum += int64(x.lens[i])
	}
	if sum != int64(total) {
		return nil, corrupt("token total")
	}
	x.live, x.ndead, x.total = ndocs-ndead, ndead, sum
	// Every posting must name a document, in ascending order, as Search
	// and compact read them without checks: the longest part of a load,
	// so it runs on every core.
	if !allValid(x.post, uint32(ndocs)) {
		return nil, corrupt("postings")
	}
	return x, nil
}

// allValid reports whether every postings list of post is valid, checking
// them on as many goroutines as there are cores.
func allValid(post []postings, ndocs uint32) bool {
	workers := min(runtime.GOMAXPROCS(0), max(len(post)/1024, 1))
	var bad atomic.Bool
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for t := w; t < len(post) && !bad.Load(); t += workers {
				if !validPostings(&post[t], ndocs) {
					bad.Store(true)
				}
			}
		})
	}
	wg.Wait()
	return !bad.Load()
}

// validPostings reports whether p decodes to p.n postings of ascending
// document numbers below ndocs, the last p.last.
func validPostings(p *postings, ndocs uint32) bool {
	data := p.data
	var doc uint64
	n := 0
	for i := 0; i < len(data); {
		g, k := binary.Uvarint(data[i:])
		if k <= 0 || i+k >= len(data) || (n > 0 && g == 0) {
			return false
		}
		i += k + 1 // the gap, then the frequency byte
		doc += g
		if doc >= uint64(ndocs) {
			return false
		}
		n++
	}
	return n == p.n && (n == 0 || uint32(doc) == p.last)
}
