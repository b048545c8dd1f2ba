package keyword

import (
	"encoding/binary"
	"math"
	"slices"
	"sort"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
	"golang.org/x/text/unicode/norm"
)

// MaxWord is the longest word kept, in bytes of its folded form; a longer
// word is cut to it (at a character boundary), in documents and queries
// alike.
const MaxWord = 100

// BM25's constants, as FTS5's bm25() has them.
const (
	k1 = 1.2
	b  = 0.75
)

// Weights of a chunk's columns, doubled so that a frequency is a whole
// number: the text counts 1, the heading 0.5.
const (
	textWeight    = 2
	headingWeight = 1
)

// Hit is a document that matched a query and its BM25 score (higher is
// better).
type Hit struct {
	ID    int64
	Score float64
}

// Index is an inverted index of documents, each a text and a heading. The
// zero value is not usable; call New.
type Index struct {
	mu sync.RWMutex

	words map[string]uint32 // folded word → term (a cache of stemming)
	terms map[string]uint32 // stem → term
	post  []postings        // by term

	ids   []int64  // by document number: the caller's id
	lens  []uint16 // by document number: tokens in text and heading
	dead  []uint64 // a bit by document number: deleted
	gone  []uint32 // the deleted documents, since the last Compact
	byID  map[int64]uint32
	live  int   // documents not deleted
	ndead int   // documents deleted since the last Compact
	total int64 // tokens in the live documents

	tf   []int32   // Add's scratch, by term: a document's frequencies
	tfOf []uint32  // Add's scratch: the terms set in tf
	accs sync.Pool // *[]float32 accumulators for Search
}

// postings are a term's documents, in ascending document number, each
// with the term's weighted frequency there (2 × in the text + in the
// heading, at most 255): for each, the gap from the previous document
// number (from 0 for the first) as a uvarint, then the frequency as a
// byte. Most postings are of common terms, whose gaps take one byte, so a
// posting costs about 2.5 bytes rather than the 5 of a uint32 and a byte.
type postings struct {
	data []byte
	n    int    // postings in data
	last uint32 // the last document number in data
}

func (p *postings) add(doc uint32, tf uint8) {
	gap := doc - p.last
	if p.n == 0 {
		gap = doc
	}
	p.data = binary.AppendUvarint(p.data, uint64(gap))
	p.data = append(p.data, tf)
	p.n++
	p.last = doc
}

// each calls fn with every document of p and its frequency.
func (p *postings) each(fn func(doc uint32, tf uint8)) {
	data := p.data
	var d uint32
	for i := 0; i < len(data); {
		g := uint32(data[i])
		i++
		if g >= 0x80 {
			v, n := binary.Uvarint(data[i-1:])
			g, i = uint32(v), i-1+n
		}
		d += g
		fn(d, data[i])
		i++
	}
}

// New returns an empty index.
func New() *Index {
	return &Index{
		words: map[string]uint32{},
		terms: map[string]uint32{},
		byID:  map[int64]uint32{},
	}
}

// Len is the number of documents in the index.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.live
}

// Has reports whether the index holds the document id.
func (x *Index) Has(id int64) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	_, ok := x.byID[id]
	return ok
}

// Add indexes a document under id, replacing any document already there.
func (x *Index) Add(id int64, text, heading string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.byID[id]; ok {
		x.delete(id)
	}
	n := 0
	count := func(weight int32) func(w []byte, _, _ int) {
		return func(w []byte, _, _ int) {
			t := x.termOf(w)
			if int(t) >= len(x.tf) {
				x.tf = append(x.tf, make([]int32, int(t)+1-len(x.tf))...)
			}
			if x.tf[t] == 0 {
				x.tfOf = append(x.tfOf, t)
			}
			x.tf[t] += weight
			n++
		}
	}
	eachWord(text, count(textWeight))
	eachWord(heading, count(headingWeight))
	if len(x.ids) == math.MaxUint32 {
		panic("keyword: index full") // 4 billion chunks: not this index's scale
	}
	doc := uint32(len(x.ids))
	x.ids = append(x.ids, id)
	x.lens = append(x.lens, uint16(min(n, math.MaxUint16)))
	if int(doc)/64 >= len(x.dead) {
		x.dead = append(x.dead, 0)
	}
	x.byID[id] = doc
	x.live++
	x.total += int64(x.lens[doc])
	for _, t := range x.tfOf {
		x.post[t].add(doc, uint8(min(x.tf[t], math.MaxUint8)))
		x.tf[t] = 0
	}
	x.tfOf = x.tfOf[:0]
}

// Trim gives back the room the postings grew into, for an index that will
// take few more documents (after a bulk load).
func (x *Index) Trim() {
	x.mu.Lock()
	defer x.mu.Unlock()
	for t := range x.post {
		if p := &x.post[t]; cap(p.data) > len(p.data) {
			p.data = slices.Clip(append([]byte(nil), p.data...))
		}
	}
	x.tf = nil
}

// Delete removes the document id, if the index holds it.
func (x *Index) Delete(id int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.delete(id)
}

func (x *Index) delete(id int64) {
	doc, ok := x.byID[id]
	if !ok {
		return
	}
	delete(x.byID, id)
	x.dead[doc/64] |= 1 << (doc % 64)
	x.gone = append(x.gone, doc)
	x.live--
	x.ndead++
	x.total -= int64(x.lens[doc])
	if x.ndead > 1000 && 4*x.ndead > len(x.ids) {
		x.compact()
	}
}

// Compact drops the postings of deleted documents and renumbers the rest.
func (x *Index) Compact() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.compact()
}

func (x *Index) compact() {
	if x.ndead == 0 {
		return
	}
	remap := make([]uint32, len(x.ids))
	n := uint32(0)
	for d := range x.ids {
		if x.isDead(uint32(d)) {
			remap[d] = math.MaxUint32
			continue
		}
		remap[d] = n
		x.ids[n], x.lens[n] = x.ids[d], x.lens[d]
		x.byID[x.ids[n]] = n
		n++
	}
	x.ids, x.lens = x.ids[:n], x.lens[:n]
	x.dead = make([]uint64, (n+63)/64)
	for t := range x.post {
		old := x.post[t]
		var p postings
		p.data = make([]byte, 0, len(old.data))
		old.each(func(d uint32, tf uint8) {
			if nd := remap[d]; nd != math.MaxUint32 {
				p.add(nd, tf)
			}
		})
		if cap(p.data) > 2*len(p.data)+16 { // give back what a large delete freed
			p.data = append([]byte(nil), p.data...)
		}
		x.post[t] = p
	}
	x.ndead, x.gone = 0, x.gone[:0]
}

func (x *Index) isDead(doc uint32) bool { return x.dead[doc/64]&(1<<(doc%64)) != 0 }

// termOf returns the term of a folded word, adding it to the vocabulary
// if it is new. The caller holds x.mu for writing.
func (x *Index) termOf(w []byte) uint32 {
	if t, ok := x.words[string(w)]; ok {
		return t
	}
	word := string(w)
	s := stem(word)
	t, ok := x.terms[s]
	if !ok {
		t = uint32(len(x.post))
		x.terms[s] = t
		x.post = append(x.post, postings{})
	}
	x.words[word] = t
	return t
}

// lookup returns the term of a folded word, if the index has it. The
// caller holds x.mu.
func (x *Index) lookup(w []byte) (uint32, bool) {
	if t, ok := x.words[string(w)]; ok {
		return t, true
	}
	t, ok := x.terms[stem(string(w))]
	return t, ok
}

func stem(w string) string { return english.Stem(w, false) }

// queryTerms returns the distinct terms of the index that the words of
// terms stem to, and how many of the words stem to each. The caller holds
// x.mu.
func (x *Index) queryTerms(terms []string) ([]uint32, []int) {
	var out []uint32
	var counts []int
	for _, s := range terms {
		eachWord(s, func(w []byte, _, _ int) {
			t, ok := x.lookup(w)
			if !ok {
				return
			}
			if i := slices.Index(out, t); i >= 0 {
				counts[i]++
				return
			}
			out, counts = append(out, t), append(counts, 1)
		})
	}
	return out, counts
}

func contains(ts []uint32, t uint32) bool {
	for _, u := range ts {
		if u == t {
			return true
		}
	}
	return false
}

// Search returns the best n documents holding any word of terms (each
// term is tokenized as a document is), best first, ties broken by the
// older document, and how many documents matched in all.
func (x *Index) Search(terms []string, n int) ([]Hit, int) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.live == 0 || n <= 0 {
		return nil, 0
	}
	ts, qtf := x.queryTerms(terms)
	if len(ts) == 0 {
		return nil, 0
	}
	ndocs := len(x.ids)
	acc := x.acc(ndocs)
	defer x.accs.Put(acc)
	sc := (*acc)[:ndocs]

	avg := float64(x.total) / float64(x.live)
	if avg == 0 {
		avg = 1
	}
	// K(d) = k1 · (1 − b + b · |d| / avg), as kd + kb · |d|.
	kd, kb := float32(k1*(1-b)), float32(k1*b/avg)
	var sum int
	for _, t := range ts {
		sum += x.post[t].n
	}
	sparse := sum < ndocs/8
	var touched []uint32
	if sparse {
		touched = make([]uint32, 0, sum)
	}
	N := float64(x.live)
	for j, t := range ts {
		p := x.post[t]
		// Deleted documents count until Compact: never more than N.
		df := min(float64(p.n), N)
		idf := math.Log((N - df + 0.5) / (df + 0.5))
		if idf <= 0 {
			idf = 1e-6
		}
		// Words of the query that share a stem each count, as each is
		// a phrase of FTS5's query and adds its own score there.
		w := float32(idf * (k1 + 1) * float64(qtf[j]))
		lens := x.lens
		// The decoding of postings.each, inlined: this loop is the cost
		// of a query.
		data := p.data
		var d uint32
		for i := 0; i < len(data); {
			g := uint32(data[i])
			i++
			if g >= 0x80 {
				v, n := binary.Uvarint(data[i-1:])
				g, i = uint32(v), i-1+n
			}
			d += g
			f := float32(data[i]) * 0.5
			i++
			s := w * f / (f + kd + kb*float32(lens[d]))
			if sparse && sc[d] == 0 {
				touched = append(touched, d)
			}
			sc[d] += s
		}
	}

	// The deleted documents' scores go first, so that the selection
	// below needs no test but the score.
	for _, d := range x.gone {
		if sparse && sc[d] != 0 {
			sc[d] = -1 // still to be reset through touched
		} else if !sparse {
			sc[d] = 0
		}
	}
	top := topN{n: n}
	matched := 0
	consider := func(d uint32) {
		if s := sc[d]; s > 0 {
			matched++
			if len(top.h) < top.n || s >= top.h[0].score {
				top.push(s, d)
			}
		}
	}
	if sparse {
		for _, d := range touched {
			consider(d)
			sc[d] = 0
		}
	} else {
		for d := range sc {
			consider(uint32(d))
		}
		clear(sc)
	}
	hits := top.sorted()
	out := make([]Hit, len(hits))
	for i, h := range hits {
		out[i] = Hit{ID: x.ids[h.doc], Score: float64(h.score)}
	}
	return out, matched
}

// acc returns a zeroed accumulator of at least n scores.
func (x *Index) acc(n int) *[]float32 {
	if a, ok := x.accs.Get().(*[]float32); ok && len(*a) >= n {
		return a
	}
	a := make([]float32, n+n/4)
	return &a
}

// topN keeps the n best (score, doc) pairs seen: a min-heap on score,
// ties broken so that the older (smaller) document ranks better.
type topN struct {
	n int
	h []scored
}

type scored struct {
	score float32
	doc   uint32
}

// worse reports whether a ranks below b.
func worse(a, b scored) bool {
	return a.score < b.score || (a.score == b.score && a.doc > b.doc)
}

func (t *topN) push(s float32, d uint32) {
	e := scored{s, d}
	if len(t.h) < t.n {
		t.h = append(t.h, e)
		t.up(len(t.h) - 1)
		return
	}
	if !worse(t.h[0], e) {
		return
	}
	t.h[0] = e
	t.down(0)
}

func (t *topN) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !worse(t.h[i], t.h[p]) {
			return
		}
		t.h[i], t.h[p] = t.h[p], t.h[i]
		i = p
	}
}

func (t *topN) down(i int) {
	for {
		l, m := 2*i+1, i
		if l < len(t.h) && worse(t.h[l], t.h[m]) {
			m = l
		}
		if r := l + 1; r < len(t.h) && worse(t.h[r], t.h[m]) {
			m = r
		}
		if m == i {
			return
		}
		t.h[i], t.h[m] = t.h[m], t.h[i]
		i = m
	}
}

// sorted returns the pairs kept, best first.
func (t *topN) sorted() []scored {
	sort.Slice(t.h, func(i, j int) bool { return worse(t.h[j], t.h[i]) })
	return t.h
}

// Mark returns text with every word that a word of terms matches (the
// same stem) between open and close.
func (x *Index) Mark(text string, terms []string, open, close string) string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	want, _ := x.queryTerms(terms)
	if len(want) == 0 {
		return text
	}
	var out []byte
	last := 0
	eachWord(text, func(w []byte, start, end int) {
		if t, ok := x.lookup(w); ok && contains(want, t) {
			out = append(out, text[last:start]...)
			out = append(out, open...)
			out = append(out, text[start:end]...)
			out = append(out, close...)
			last = end
		}
	})
	if out == nil {
		return text
	}
	return string(append(out, text[last:]...))
}

// eachWord calls fn with each word of s folded (lowercased, diacritics
// removed, cut to MaxWord bytes) and the byte offsets of the word in s.
// A word is a run of letters, numbers and marks. The slice fn gets is
// reused after fn returns.
func eachWord(s string, fn func(w []byte, start, end int)) {
	var buf []byte
	for i := 0; i < len(s); {
		// Skip to the start of a word.
		c := s[i]
		if c < utf8.RuneSelf {
			if !isASCIIWord(c) {
				i++
				continue
			}
		} else if r, size := utf8.DecodeRuneInString(s[i:]); !isWord(r) {
			i += size
			continue
		}
		start, ascii := i, true
		for i < len(s) {
			c := s[i]
			if c < utf8.RuneSelf {
				if !isASCIIWord(c) {
					break
				}
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			if !isWord(r) {
				break
			}
			ascii = false
			i += size
		}
		buf = fold(buf[:0], s[start:i], ascii)
		if len(buf) > 0 {
			fn(buf, start, i)
		}
	}
}

func isASCIIWord(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isWord(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r) }

// fold appends w lowercased and without diacritics to buf, cut to MaxWord
// bytes at a character boundary.
func fold(buf []byte, w string, ascii bool) []byte {
	if ascii {
		for i := 0; i < len(w) && len(buf) < MaxWord; i++ {
			c := w[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf = append(buf, c)
		}
		return buf
	}
	var it norm.Iter
	it.InitString(norm.NFD, w)
	for !it.Done() {
		seg := it.Next()
		for len(seg) > 0 {
			r, size := utf8.DecodeRune(seg)
			seg = seg[size:]
			if unicode.Is(unicode.Mn, r) {
				continue
			}
			r = unicode.ToLower(r)
			if len(buf)+utf8.RuneLen(r) > MaxWord {
				return buf
			}
			buf = utf8.AppendRune(buf, r)
		}
	}
	return buf
}

// Bytes estimates the memory the index holds, for reports.
func (x *Index) Bytes() int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := int64(cap(x.ids))*8 + int64(cap(x.lens))*2 + int64(cap(x.dead))*8 + int64(len(x.byID))*24
	for _, p := range x.post {
		n += int64(cap(p.data)) + 40
	}
	for w := range x.words {
		n += int64(len(w)) + 32
	}
	for s := range x.terms {
		n += int64(len(s)) + 32
	}
	return n
}
