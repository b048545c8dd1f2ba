package extract

import (
	"bufio"
	"bytes"
	"io"
	"reflect"
	"strconv"

	"github.com/ledongthuc/pdf"

	"github.com/shelfmem/shelf"
)

// Two ways a PDF's cross-reference data takes the library down, checked
// here because neither can be recovered from once it happens:
//
//   - The library sizes its object table by the highest object number a
//     cross-reference section names (a table's subsection start, a
//     stream's /Size or /Index), allocating about 40 bytes per number
//     before it reads any object: one entry numbered 1,900,000,000 in a
//     600-byte file asks for 76 GB, and the Go runtime ends the process
//     when that fails. checkXrefBounds reads the sections the library will
//     read, the same way it finds them, and refuses numbers past
//     maxPDFObjects first.
//   - The library resolves an object that lives in an object stream by
//     first resolving that stream; if the table says the stream itself
//     lives in an object stream, it recurses without end and the runtime
//     kills the process on stack overflow. checkObjectStreams walks the
//     table the library built and refuses such files before any object is
//     resolved.

// maxPDFObjects bounds the object numbers of a PDF: the library's table
// then costs at most some 80 MB. Real documents number well under a
// million objects.
const maxPDFObjects = 2_000_000

// maxXrefSections bounds the /Prev chain followed.
const maxXrefSections = 4096

// checkXrefBounds follows the cross-reference chain from startxref, as
// the library does, and refuses object numbers past maxPDFObjects.
// Anything it cannot parse is left to the library, which refuses it too.
func checkXrefBounds(in *input) error {
	const endChunk = 100
	if in.size < endChunk {
		return nil
	}
	tail := make([]byte, endChunk)
	if _, err := in.r.ReadAt(tail, in.size-endChunk); err != nil && err != io.EOF {
		return invalid(err, "extract: reading PDF")
	}
	tail = bytes.TrimRight(tail, "\r\n\t ")
	i := findLastLine(tail, "startxref")
	if i < 0 {
		return nil
	}
	l := newPDFLex(in, in.size-endChunk+int64(i))
	if t := l.next(); t.kind != tokKeyword || t.text != "startxref" {
		return nil
	}
	t := l.next()
	if t.kind != tokInt {
		return nil
	}
	seen := map[int64]bool{}
	for off := t.num; off >= 0; {
		if seen[off] {
			return invalid(nil, "extract: malformed PDF: the cross-reference chain loops")
		}
		if len(seen) >= maxXrefSections {
			return tooLarge("extract: the PDF has more than %d cross-reference sections", maxXrefSections)
		}
		seen[off] = true
		next, err := checkXrefSection(newPDFLex(in, off))
		if err != nil {
			return err
		}
		off = next
	}
	return nil
}

// checkXrefSection checks one table or stream section and returns the
// offset of the previous one (/Prev), or -1.
func checkXrefSection(l *pdfLex) (int64, error) {
	t := l.next()
	var trailer map[string]pdfVal
	switch t.kind {
	case tokKeyword:
		if t.text != "xref" {
			return -1, nil
		}
		for {
			t = l.next()
			if t.kind == tokKeyword && t.text == "trailer" {
				break
			}
			start, n := t, l.next()
			if start.kind != tokInt || n.kind != tokInt {
				return -1, nil // the library refuses it
			}
			if err := checkObjectRange(start.num, n.num); err != nil {
				return -1, err
			}
			// Skip the entries: three tokens each; the library stops at
			// the first that is not one, and so do we.
			for range n.num {
				a, b, c := l.next(), l.next(), l.next()
				if a.kind != tokInt || b.kind != tokInt || c.kind != tokKeyword {
					return -1, nil
				}
			}
		}
		v := l.value(0)
		if v.dict == nil {
			return -1, nil
		}
		trailer = v.dict
	case tokInt: // N G obj << … >> stream
		if g, o := l.next(), l.next(); g.kind != tokInt || o.kind != tokKeyword || o.text != "obj" {
			return -1, nil
		}
		v := l.value(0)
		if v.dict == nil {
			return -1, nil
		}
		trailer = v.dict
		size := trailer["Size"]
		if size.kind == tokInt {
			if err := checkObjectRange(0, size.num); err != nil {
				return -1, err
			}
		}
		idx := trailer["Index"].list
		for i := 0; i+1 < len(idx); i += 2 {
			if idx[i].kind == tokInt && idx[i+1].kind == tokInt {
				if err := checkObjectRange(idx[i].num, idx[i+1].num); err != nil {
					return -1, err
				}
			}
		}
	default:
		return -1, nil
	}
	if p := trailer["Prev"]; p.kind == tokInt {
		return p.num, nil
	}
	return -1, nil
}

// findLastLine finds the last s on a line of its own, as the library
// does.
func findLastLine(buf []byte, s string) int {
	bs := []byte(s)
	end := len(buf)
	for {
		i := bytes.LastIndex(buf[:end], bs)
		if i <= 0 || i+len(bs) >= len(buf) {
			return -1
		}
		if (buf[i-1] == '\n' || buf[i-1] == '\r') && (buf[i+len(bs)] == '\n' || buf[i+len(bs)] == '\r') {
			return i
		}
		end = i
	}
}

func checkObjectRange(start, n int64) error {
	if start < 0 || n < 0 || start > maxPDFObjects || n > maxPDFObjects-start {
		return tooLarge("extract: the PDF numbers objects past %d", maxPDFObjects)
	}
	return nil
}

// pdfLex is a small PDF tokenizer, enough to read cross-reference
// sections: it follows the library's lexer (white space, comments,
// delimiters, #-escaped names) but keeps only numbers, names, keywords and
// the shape of dictionaries and arrays.
type pdfLex struct {
	br     *bufio.Reader
	budget int // bytes it may still read
}

// pdfLexBudget bounds the bytes read for one section: a table of
// maxPDFObjects entries of 20 bytes, and a trailer.
const pdfLexBudget = 20*maxPDFObjects + 1<<20

func newPDFLex(in *input, off int64) *pdfLex {
	if off < 0 || off > in.size {
		off = in.size
	}
	return &pdfLex{br: bufio.NewReaderSize(io.NewSectionReader(in.r, off, in.size-off), 4096), budget: pdfLexBudget}
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokInt
	tokReal
	tokName
	tokKeyword
	tokString
	tokOpenArray
	tokCloseArray
	tokOpenDict
	tokCloseDict
)

type pdfTok struct {
	kind tokKind
	text string // a keyword or name, cut at 64 bytes
	num  int64
}

// pdfVal is a parsed value: a scalar token, a dictionary or an array.
type pdfVal struct {
	pdfTok
	dict map[string]pdfVal
	list []pdfVal
}

func (l *pdfLex) readByte() (byte, bool) {
	if l.budget <= 0 {
		return 0, false
	}
	c, err := l.br.ReadByte()
	if err != nil {
		return 0, false
	}
	l.budget--
	return c, true
}

func (l *pdfLex) unread() { _ = l.br.UnreadByte(); l.budget++ }

func (l *pdfLex) next() pdfTok {
	c, ok := l.readByte()
	for ok && (isPDFSpace(c) || c == '%') {
		if c == '%' {
			for ok && c != '\r' && c != '\n' {
				c, ok = l.readByte()
			}
			continue
		}
		c, ok = l.readByte()
	}
	if !ok {
		return pdfTok{}
	}
	switch c {
	case '[':
		return pdfTok{kind: tokOpenArray}
	case ']':
		return pdfTok{kind: tokCloseArray}
	case '<':
		if d, ok := l.readByte(); ok && d == '<' {
			return pdfTok{kind: tokOpenDict}
		} else if ok {
			l.unread()
		}
		for c, ok := l.readByte(); ok && c != '>'; c, ok = l.readByte() {
		}
		return pdfTok{kind: tokString}
	case '>':
		if d, ok := l.readByte(); ok && d == '>' {
			return pdfTok{kind: tokCloseDict}
		} else if ok {
			l.unread()
		}
		return pdfTok{}
	case '(':
		depth := 1
		for depth > 0 {
			c, ok := l.readByte()
			if !ok {
				break
			}
			switch c {
			case '\\':
				l.readByte()
			case '(':
				depth++
			case ')':
				depth--
			}
		}
		return pdfTok{kind: tokString}
	case '/':
		var name []byte
		for {
			c, ok := l.readByte()
			if !ok {
				break
			}
			if isPDFSpace(c) || isPDFDelim(c) {
				l.unread()
				break
			}
			if c == '#' {
				h, _ := l.readByte()
				lo, _ := l.readByte()
				x, err := strconv.ParseUint(string([]byte{h, lo}), 16, 8)
				if err != nil {
					return pdfTok{} // the library refuses a malformed name
				}
				c = byte(x)
			}
			if len(name) < 64 {
				name = append(name, c)
			}
		}
		return pdfTok{kind: tokName, text: string(name)}
	case ')', '{', '}':
		return pdfTok{kind: tokKeyword, text: string(c)}
	}
	word := []byte{c}
	for {
		c, ok := l.readByte()
		if !ok {
			break
		}
		if isPDFSpace(c) || isPDFDelim(c) {
			l.unread()
			break
		}
		if len(word) < 64 {
			word = append(word, c)
		}
	}
	if n, err := strconv.ParseInt(string(word), 10, 64); err == nil {
		return pdfTok{kind: tokInt, num: n}
	}
	if isPDFNumber(word) {
		return pdfTok{kind: tokReal}
	}
	return pdfTok{kind: tokKeyword, text: string(word)}
}

// value reads one value. Dictionaries keep their last entry per key, as
// the library's do; an indirect reference ("5 0 R") reads as its number,
// and the dictionary skips the tokens after it, which is all the checks
// need (the library wants direct integers where they look).
func (l *pdfLex) value(depth int) pdfVal {
	t := l.next()
	if depth > 64 {
		return pdfVal{}
	}
	switch t.kind {
	case tokOpenDict:
		d := map[string]pdfVal{}
		for {
			switch k := l.next(); k.kind {
			case tokName:
				d[k.text] = l.value(depth + 1)
			case tokCloseDict, tokEOF:
				return pdfVal{pdfTok: pdfTok{kind: tokOpenDict}, dict: d}
			}
			// Anything else is the rest of a reference ("0 R" after the
			// number value read): skipped.
		}
	case tokOpenArray:
		var list []pdfVal
		for len(list) < 1<<16 {
			v := l.value(depth + 1)
			if v.kind == tokCloseArray || v.kind == tokEOF {
				break
			}
			list = append(list, v)
		}
		return pdfVal{pdfTok: pdfTok{kind: tokOpenArray}, list: list}
	}
	return pdfVal{pdfTok: t}
}

// checkObjectStreams refuses a file whose object table, as the library
// read it, says an object stream lives inside an object stream. It reads
// the library's unexported table by reflection (the module is pinned in
// go.mod); if that table is ever not where it expects, it refuses every
// PDF rather than risk the recursion, and the tests say so at once.
func checkObjectStreams(r *pdf.Reader) error {
	table := reflect.ValueOf(r).Elem().FieldByName("xref")
	if !table.IsValid() || table.Kind() != reflect.Slice {
		return internalPDF()
	}
	et := table.Type().Elem()
	inStream, ok1 := et.FieldByName("inStream")
	stream, ok2 := et.FieldByName("stream")
	if !ok1 || !ok2 || inStream.Type.Kind() != reflect.Bool || stream.Type.Kind() != reflect.Struct {
		return internalPDF()
	}
	id, ok := stream.Type.FieldByName("id")
	if !ok || id.Type.Kind() != reflect.Uint32 {
		return internalPDF()
	}
	n := table.Len()
	if n > maxPDFObjects+1 {
		return tooLarge("extract: the PDF numbers objects past %d", maxPDFObjects)
	}
	for i := range n {
		e := table.Index(i)
		if !e.Field(inStream.Index[0]).Bool() {
			continue
		}
		s := int(e.Field(stream.Index[0]).Field(id.Index[0]).Uint())
		if s < n && table.Index(s).Field(inStream.Index[0]).Bool() {
			return invalid(nil, "extract: malformed PDF: object %d is in object stream %d, which is itself in an object stream", i, s)
		}
	}
	return nil
}

func internalPDF() error {
	return shelf.Errorf(shelf.ENOTIMPL, "extract: PDF files cannot be read safely by this build (the PDF library's object table is not where Shelf expects it)")
}
