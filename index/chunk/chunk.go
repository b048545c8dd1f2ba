package chunk

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shelfmem/shelf/index/extract"
)

// Options set the chunk sizes, in runes. Zero values take the defaults.
type Options struct {
	Target  int // the most runes in a chunk (default 1000)
	Overlap int // runes of the previous chunk repeated at the start of the next (default 150; negative means none)
}

// DefaultOptions returns a target of 1000 runes and an overlap of 150.
func DefaultOptions() Options { return Options{Target: 1000, Overlap: 150} }

// Chunk is one piece of a document's text.
type Chunk struct {
	Index   int    // 0-based position in the document
	Text    string // Doc.Text[Start:End]
	Start   int    // byte offsets in Doc.Text
	End     int
	Page    int    // the page of every block in the chunk; 0 when the format has none
	Heading string // the heading path in effect, joined by " > "; "" before any heading
}

// HeadingSeparator joins the levels of Chunk.Heading.
const HeadingSeparator = " > "

// minTarget keeps a tiny target from producing a chunk per word.
const minTarget = 32

func (o Options) normalized() Options {
	d := DefaultOptions()
	if o.Target <= 0 {
		o.Target = d.Target
	}
	o.Target = max(o.Target, minTarget)
	switch {
	case o.Overlap == 0:
		o.Overlap = d.Overlap
	case o.Overlap < 0:
		o.Overlap = 0
	}
	o.Overlap = min(o.Overlap, o.Target/2)
	return o
}

// unit is a block, or a piece of a long block, that chunks are packed from.
type unit struct {
	start, end int
	page       int
	heading    bool
	level      int
}

// Split cuts d into chunks by the rules in the package comment. A nil or
// empty document gives no chunks.
func Split(d *extract.Doc, o Options) []Chunk {
	if d == nil {
		return nil
	}
	o = o.normalized()
	s := &splitter{text: d.Text, o: o}
	last := 0
	for _, b := range d.Blocks {
		// A block that overlaps the previous one, runs past the text or
		// cuts a rune is skipped.
		if b.Start < last || b.End < b.Start || b.End > len(d.Text) ||
			!boundary(d.Text, b.Start) || !boundary(d.Text, b.End) {
			continue
		}
		last = b.End
		switch {
		case b.Kind == extract.Heading:
			s.add(unit{start: b.Start, end: b.End, page: b.Page, heading: true, level: max(1, min(b.Level, 6))})
		case s.runes(b.Start, b.End) > o.Target:
			s.addLong(b)
		default:
			if start, end := skipSpace(d.Text, b.Start, b.End), trimEnd(d.Text, b.Start, b.End); start < end {
				s.add(unit{start: start, end: end, page: b.Page})
			}
		}
	}
	s.flush()
	return s.out
}

// boundary reports whether i is at a rune start in s (or its end).
func boundary(s string, i int) bool {
	return i == len(s) || utf8.RuneStart(s[i])
}

// advance returns the byte offset n runes after i, or end.
func advance(s string, i, end, n int) int {
	for ; n > 0 && i < end; n-- {
		_, size := utf8.DecodeRuneInString(s[i:end])
		i += size
	}
	return i
}

// lastBreak finds where to cut s[start:limit]: after the last sentence end
// in its second half, else at the last white space, else at limit.
func lastBreak(s string, start, limit int) int {
	seg := s[start:limit]
	half := len(seg) / 2
	for i := len(seg) - 1; i > half; i-- {
		if seg[i] == '\n' || (isSpaceByte(seg[i]) && i > 0 && strings.IndexByte(".!?;:。！？", seg[i-1]) >= 0) {
			return start + i
		}
		// CJK sentence ends are multi-byte and need no following space.
		if r, size := utf8.DecodeLastRuneInString(seg[:i]); size > 1 && strings.ContainsRune("。！？", r) {
			return start + i
		}
	}
	for i := len(seg) - 1; i > 0; i-- {
		if isSpaceByte(seg[i]) {
			return start + i
		}
	}
	return limit
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

func skipSpace(s string, i, end int) int {
	for i < end {
		r, size := utf8.DecodeRuneInString(s[i:end])
		if !unicode.IsSpace(r) {
			break
		}
		i += size
	}
	return i
}

func trimEnd(s string, start, end int) int {
	for end > start {
		r, size := utf8.DecodeLastRuneInString(s[start:end])
		if !unicode.IsSpace(r) {
			break
		}
		end -= size
	}
	return end
}

// splitter packs units into chunks.
type splitter struct {
	text string
	o    Options
	out  []Chunk

	path []string // heading texts by level-1; "" for a skipped level

	open       bool
	start, end int
	page       int
	heading    string
	onlyHeads  bool // the open chunk holds only headings so far
	newContent int  // where the open chunk's own (non-overlap) text starts
}

func (s *splitter) add(u unit) {
	switch {
	case !s.open:
	case u.page != s.page:
		s.flush()
	case u.heading && !s.onlyHeads:
		s.flush()
	case s.runes(s.start, u.end) > s.o.Target:
		prev, overlap := s.current(), !s.onlyHeads
		s.flush()
		if !u.heading && overlap {
			s.begin(u, s.overlapStart(prev, u))
			return
		}
	default:
		s.extend(u)
		return
	}
	s.begin(u, u.start)
}

// begin opens a chunk at from (before u.start when it carries overlap).
func (s *splitter) begin(u unit, from int) {
	if u.heading {
		s.setHeading(u)
	}
	s.open = true
	s.start, s.end, s.newContent = from, u.end, u.start
	s.page = u.page
	s.onlyHeads = u.heading
	s.heading = strings.Join(nonEmpty(s.path), HeadingSeparator)
}

// extend adds u to the open chunk.
func (s *splitter) extend(u unit) {
	if u.heading {
		s.setHeading(u)
		s.heading = strings.Join(nonEmpty(s.path), HeadingSeparator)
	} else {
		s.onlyHeads = false
	}
	s.end = u.end
}

func (s *splitter) setHeading(u unit) {
	for len(s.path) < u.level-1 {
		s.path = append(s.path, "")
	}
	s.path = append(s.path[:u.level-1], strings.Join(strings.Fields(s.text[u.start:u.end]), " "))
}

// current returns the open chunk's range.
func (s *splitter) current() [2]int { return [2]int{s.newContent, s.end} }

// addLong adds a block longer than the target in pieces: the first fills
// what room the open chunk has left (when that is at least a quarter of
// the target), the others start new chunks with overlap. Pieces end after
// a sentence, else at white space, else at a rune boundary.
func (s *splitter) addLong(b extract.Block) {
	pos := b.Start
	for {
		pos = skipSpace(s.text, pos, b.End)
		if pos >= b.End {
			return
		}
		cont := s.open && s.page == b.Page
		room := 0
		if cont {
			room = s.o.Target - s.runes(s.start, pos)
		}
		from := pos
		if room < s.o.Target/4 {
			prev, overlap := s.current(), cont && !s.onlyHeads
			s.flush()
			if overlap {
				if from = s.overlapFrom(prev); from >= prev[1] {
					from = pos
				}
			}
			room = s.o.Target - s.runes(from, pos)
			cont = false
		}
		stop := b.End
		if limit := advance(s.text, pos, b.End, room); limit < b.End {
			stop = lastBreak(s.text, pos, limit)
		}
		u := unit{start: pos, end: trimEnd(s.text, pos, stop), page: b.Page}
		if cont {
			s.extend(u)
		} else {
			s.begin(u, from)
		}
		pos = stop
	}
}

// overlapStart returns where a chunk continuing prev should start to
// repeat prev's tail, or u.start when that tail and u would not fit the
// target together.
func (s *splitter) overlapStart(prev [2]int, u unit) int {
	from := s.overlapFrom(prev)
	if from >= prev[1] || s.runes(from, u.end) > s.o.Target {
		return u.start
	}
	return from
}

// overlapFrom returns the start of the last Overlap runes or so of prev,
// moved forward to the start of a word; prev[1] for no overlap.
func (s *splitter) overlapFrom(prev [2]int) int {
	if s.o.Overlap == 0 {
		return prev[1]
	}
	i := prev[1]
	for n := s.o.Overlap; n > 0 && i > prev[0]; n-- {
		_, size := utf8.DecodeLastRuneInString(s.text[prev[0]:i])
		i -= size
	}
	if i > prev[0] {
		for i < prev[1] {
			if r, _ := utf8.DecodeLastRuneInString(s.text[:i]); unicode.IsSpace(r) {
				break
			}
			i += sizeAt(s.text, i)
		}
		i = skipSpace(s.text, i, prev[1])
	}
	return i
}

func sizeAt(s string, i int) int {
	_, size := utf8.DecodeRuneInString(s[i:])
	return max(size, 1)
}

func (s *splitter) runes(from, to int) int { return utf8.RuneCountInString(s.text[from:to]) }

// flush closes the open chunk.
func (s *splitter) flush() {
	if !s.open {
		return
	}
	s.open = false
	s.out = append(s.out, Chunk{
		Index:   len(s.out),
		Text:    s.text[s.start:s.end],
		Start:   s.start,
		End:     s.end,
		Page:    s.page,
		Heading: s.heading,
	})
}

func nonEmpty(path []string) []string {
	var out []string
	for _, p := range path {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}
