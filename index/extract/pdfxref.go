package extract

import (
	"bytes"
	"compress/zlib"
	"io"
	"regexp"
	"strconv"
)

// The PDF library resolves an object that lives in an object stream by
// first resolving that stream; if a cross-reference stream says the
// stream itself lives in an object stream, it recurses without end and
// the Go runtime kills the process (a stack overflow cannot be
// recovered). checkObjectStreams finds every cross-reference stream in the
// file and refuses such files before the library sees them.

var (
	xrefType   = regexp.MustCompile(`/Type\s*/XRef\b`)
	xrefW      = regexp.MustCompile(`/W\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s*\]`)
	xrefIndex  = regexp.MustCompile(`/Index\s*\[([\d\s]*)\]`)
	xrefSize   = regexp.MustCompile(`/Size\s+(\d+)`)
	xrefLength = regexp.MustCompile(`/Length\s+(\d+)(\s+\d+\s+R)?`)
	xrefPred   = regexp.MustCompile(`/Predictor\s+(\d+)`)
	xrefCols   = regexp.MustCompile(`/Columns\s+(\d+)`)
	xrefFilter = regexp.MustCompile(`/Filter\s*\[?\s*/(\w+)`)
	objHeader  = regexp.MustCompile(`\d+\s+\d+\s+obj\b`)
	streamKw   = regexp.MustCompile(`\bstream\r?\n`)
)

// xrefWindow bounds how far the dictionary of a cross-reference stream may
// extend around its /Type entry.
const xrefWindow = 64 << 10

func checkObjectStreams(b *builder, in *input) error {
	data, err := io.ReadAll(io.NewSectionReader(in.r, 0, in.size))
	if err != nil {
		return invalid(err, "extract: reading PDF")
	}
	inStream := map[int]int{} // object number → number of the object stream holding it
	for _, loc := range xrefType.FindAllIndex(data, -1) {
		if err := b.ctx.Err(); err != nil {
			return err
		}
		if err := readXrefStream(b, data, loc[0], inStream); err != nil {
			return err
		}
	}
	for obj, stm := range inStream {
		if _, nested := inStream[stm]; nested {
			return invalid(nil, "extract: malformed PDF: object %d is in object stream %d, which is itself in an object stream", obj, stm)
		}
	}
	return nil
}

// readXrefStream decodes the cross-reference stream whose dictionary holds
// /Type /XRef at pos and records its compressed-object entries.
func readXrefStream(b *builder, data []byte, pos int, inStream map[int]int) error {
	lo := max(0, pos-xrefWindow)
	heads := objHeader.FindAllIndex(data[lo:pos], -1)
	hi := min(len(data), pos+xrefWindow)
	kw := streamKw.FindIndex(data[pos:hi])
	if len(heads) == 0 || kw == nil {
		return invalid(nil, "extract: malformed PDF: cannot bound the cross-reference stream at byte %d", pos)
	}
	dict := data[lo+heads[len(heads)-1][1] : pos+kw[0]]
	body := pos + kw[1]

	w := xrefW.FindSubmatch(dict)
	if w == nil {
		return nil // the library refuses such a stream too
	}
	widths := [3]int{atoi(w[1]), atoi(w[2]), atoi(w[3])}
	for _, x := range widths {
		if x < 0 || x > 8 {
			return invalid(nil, "extract: malformed PDF: cross-reference field width %d", x)
		}
	}
	l := xrefLength.FindSubmatch(dict)
	if l == nil || len(l[2]) > 0 {
		return invalid(nil, "extract: malformed PDF: cross-reference stream without a direct /Length")
	}
	n := atoi(l[1])
	if n < 0 || body+n > len(data) {
		return invalid(nil, "extract: malformed PDF: cross-reference stream runs past the end of the file")
	}
	raw, err := decodeXrefData(b, dict, data[body:body+n])
	if err != nil {
		return err
	}
	return xrefEntries(dict, raw, widths, inStream)
}

// decodeXrefData inflates a cross-reference stream and undoes the PNG Up
// predictor, the one the library supports.
func decodeXrefData(b *builder, dict, raw []byte) ([]byte, error) {
	if f := xrefFilter.FindSubmatch(dict); f != nil {
		if string(f[1]) != "FlateDecode" {
			return nil, invalid(nil, "extract: unsupported PDF: cross-reference stream filter %s", f[1])
		}
		zr, err := zlib.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, invalid(err, "extract: malformed PDF: cross-reference stream")
		}
		raw, err = io.ReadAll(io.LimitReader(zr, b.lim.MaxEntryBytes+1))
		if err != nil {
			return nil, invalid(err, "extract: malformed PDF: cross-reference stream")
		}
		if int64(len(raw)) > b.lim.MaxEntryBytes {
			return nil, tooLarge("extract: a PDF cross-reference stream decompresses past %d bytes", b.lim.MaxEntryBytes)
		}
	}
	p := xrefPred.FindSubmatch(dict)
	if p == nil || atoi(p[1]) < 10 {
		return raw, nil
	}
	cols := 1
	if c := xrefCols.FindSubmatch(dict); c != nil {
		cols = atoi(c[1])
	}
	if cols <= 0 || cols > 64 {
		return nil, invalid(nil, "extract: malformed PDF: predictor columns %d", cols)
	}
	var out []byte
	prev := make([]byte, cols)
	for row := raw; len(row) >= cols+1; row = row[cols+1:] {
		for i := range cols {
			prev[i] += row[1+i]
		}
		out = append(out, prev...)
	}
	return out, nil
}

// xrefEntries records the type-2 (compressed object) entries of a decoded
// cross-reference stream.
func xrefEntries(dict, raw []byte, w [3]int, inStream map[int]int) error {
	var index []int
	if m := xrefIndex.FindSubmatch(dict); m != nil {
		for _, f := range bytes.Fields(m[1]) {
			index = append(index, atoi(f))
		}
	} else if s := xrefSize.FindSubmatch(dict); s != nil {
		index = []int{0, atoi(s[1])}
	}
	width := w[0] + w[1] + w[2]
	if width == 0 {
		return nil
	}
	for len(index) >= 2 && len(raw) >= width {
		start, count := index[0], index[1]
		index = index[2:]
		for i := 0; i < count && len(raw) >= width; i++ {
			typ := 1
			if w[0] > 0 {
				typ = beInt(raw[:w[0]])
			}
			if typ == 2 {
				inStream[start+i] = beInt(raw[w[0] : w[0]+w[1]])
			}
			raw = raw[width:]
		}
	}
	return nil
}

func beInt(b []byte) int {
	n := 0
	for _, c := range b {
		n = n<<8 | int(c)
	}
	return n
}

func atoi(b []byte) int {
	n, err := strconv.Atoi(string(b))
	if err != nil {
		return -1
	}
	return n
}
