package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/ledongthuc/pdf"

	"github.com/shelfmem/shelf"
)

// maxPDFStream bounds the decompressed bytes of one page's content (or of
// one font's ToUnicode map) handed to the library's interpreter. The
// interpreter keeps pending operands in memory, so a stream of operands
// without operators costs about twenty times its size.
const maxPDFStream = 16 << 20

// Bounds on fonts' ToUnicode maps: one map, the maps behind the cached
// encodings (a parsed map costs about half its size again), and all the
// maps parsed for one document.
const (
	maxPDFToUnicode = 1 << 20
	maxPDFFontCache = 4 << 20
)

var maxPDFFontBytes int64 = 32 << 20 // a variable for the tests

// abort is panicked through the PDF library to stop it: the deadline
// passed or a budget is spent. extractPDF recovers it into its error.
type abort struct{ err error }

func (a abort) Error() string { return a.err.Error() }

// guardReader is the library's view of the file. Every read checks the
// context and a budget of bytes read, so a library loop that re-reads
// objects (a cyclic page tree, a /Prev chain pointing at itself) ends.
type guardReader struct {
	ctx    context.Context
	r      io.ReaderAt
	budget int64
}

func (g *guardReader) ReadAt(p []byte, off int64) (int, error) {
	if err := g.ctx.Err(); err != nil {
		panic(abort{err})
	}
	g.budget -= int64(len(p))
	if g.budget < 0 {
		panic(abort{tooLarge("extract: the PDF needs too many reads (a reference loop?)")})
	}
	return g.r.ReadAt(p, off)
}

// extractPDF reads the text of each page. The library runs in its own
// goroutine: if it ever spins without reading, Extract still returns
// ETIMEOUT at the deadline, and the goroutine ends at its next read, text
// operator or block, all of which check the context.
func extractPDF(b *builder, in *input) error {
	if err := checkXrefBounds(in); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		done <- runPDF(b, in)
	}()
	select {
	case err := <-done:
		return err
	case <-b.ctx.Done():
		return b.ctx.Err()
	}
}

// runPDF opens the file and walks its pages, turning panics into errors.
func runPDF(b *builder, in *input) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = pdfPanic(p)
		}
	}()
	g := &guardReader{ctx: b.ctx, r: in.r, budget: 256<<20 + 64*in.size}
	r, err := pdf.NewReader(g, in.size)
	if err != nil {
		var a abort
		if errors.As(err, &a) {
			return a.err
		}
		if errors.Is(err, pdf.ErrInvalidPassword) {
			return shelf.Errorf(shelf.ENOTIMPL, "extract: password-protected PDFs are not supported")
		}
		return invalid(err, "extract: not a readable PDF")
	}
	if err := checkObjectStreams(r); err != nil {
		return err
	}
	w := &pdfWalker{b: b, fonts: map[string]pdf.TextEncoding{}}
	if err := w.node(r.Trailer().Key("Root").Key("Pages"), pdf.Value{}, 0); err != nil {
		return err
	}
	b.doc.Pages = w.pages
	if w.pages == 0 {
		return invalid(nil, "extract: the PDF has no pages")
	}
	if w.failed == w.pages {
		return invalid(w.firstErr, "extract: no page of the PDF could be read")
	}
	return nil
}

// pdfPanic classifies a panic raised inside the library.
func pdfPanic(p any) error {
	if a, ok := p.(abort); ok {
		return a.err
	}
	if e, ok := p.(error); ok {
		var a abort
		if errors.As(e, &a) {
			return a.err
		}
		return invalid(e, "extract: malformed PDF")
	}
	return invalid(fmt.Errorf("%v", p), "extract: malformed PDF")
}

// pdfWalker walks the page tree itself, with depth and node bounds, and
// passes inherited resources down instead of following /Parent links.
type pdfWalker struct {
	b        *builder
	pages    int
	nodes    int
	failed   int
	firstErr error
	fonts    map[string]pdf.TextEncoding // by resource name and base font
	// ToUnicode bytes parsed in all, and behind the encodings in fonts.
	fontBytes, cachedBytes int64
}

func (w *pdfWalker) node(v pdf.Value, res pdf.Value, depth int) error {
	lim := w.b.lim
	w.nodes++
	if depth > lim.MaxDepth || w.nodes > 4*lim.MaxPages+lim.MaxDepth {
		return invalid(nil, "extract: malformed PDF: the page tree is too deep or loops")
	}
	if err := w.b.ctx.Err(); err != nil {
		return err
	}
	if r := v.Key("Resources"); r.Kind() == pdf.Dict {
		res = r
	}
	kids := v.Key("Kids")
	if v.Key("Type").Name() == "Pages" || kids.Kind() == pdf.Array {
		for i := 0; i < kids.Len(); i++ {
			if err := w.node(kids.Index(i), res, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if v.Kind() != pdf.Dict {
		return nil
	}
	w.pages++
	if w.pages > lim.MaxPages {
		return tooLarge("extract: the PDF has more than %d pages", lim.MaxPages)
	}
	return w.page(v, res, w.pages)
}

// page extracts one page. A page the library cannot read is skipped (and
// counted); a limit, the deadline or an output overflow stops everything.
func (w *pdfWalker) page(v, res pdf.Value, n int) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = pdfPanic(p)
		}
		if shelf.ErrorCode(err) == shelf.EINVALID {
			w.failed++
			if w.firstErr == nil {
				w.firstErr = err
			}
			err = nil
		}
	}()
	contents := v.Key("Contents")
	if contents.Kind() != pdf.Stream && contents.Kind() != pdf.Array {
		return nil
	}
	if _, err := w.measure(contents, maxPDFStream, newContentScanner(w.b.lim.MaxDepth, maxPDFOperands)); err != nil {
		return err
	}
	text, err := w.pageText(contents, res)
	if err != nil {
		return err
	}
	for _, para := range strings.Split(text, "\n\n") {
		if err := w.b.add(Paragraph, 0, n, para); err != nil {
			return err
		}
	}
	return nil
}

// measure decompresses a stream (or array of streams) into scan, or into
// nowhere when scan is nil, and fails if it passes limit bytes or scan
// refuses it.
func (w *pdfWalker) measure(v pdf.Value, limit int64, scan *contentScanner) (int64, error) {
	var total int64
	var sink io.Writer = io.Discard
	if scan != nil {
		sink = scan
	}
	one := func(s pdf.Value) error {
		if s.Kind() != pdf.Stream {
			return nil
		}
		rc := s.Reader()
		defer rc.Close()
		n, err := io.Copy(sink, io.LimitReader(rc, limit-total+1))
		total += n
		if scan != nil && scan.err != nil {
			return scan.err
		}
		if total > limit {
			return tooLarge("extract: a PDF stream decompresses past %d bytes", limit)
		}
		if err != nil {
			return invalid(err, "extract: malformed PDF stream")
		}
		return nil
	}
	if v.Kind() == pdf.Array {
		if v.Len() > w.b.lim.MaxEntries {
			return total, tooLarge("extract: a PDF page has more than %d content streams", w.b.lim.MaxEntries)
		}
		for i := 0; i < v.Len(); i++ {
			if err := one(v.Index(i)); err != nil {
				return total, err
			}
		}
	} else if err := one(v); err != nil {
		return total, err
	}
	if scan != nil {
		return total, scan.finish()
	}
	return total, nil
}

// encoding returns the text encoding of a font resource, measuring its
// ToUnicode map before the library interprets it.
func (w *pdfWalker) encoding(res pdf.Value, name string) (pdf.TextEncoding, error) {
	fv := res.Key("Font").Key(name)
	key := name + "\x00" + fv.Key("BaseFont").Name()
	if enc, ok := w.fonts[key]; ok {
		return enc, nil
	}
	var n int64
	if tu := fv.Key("ToUnicode"); tu.Kind() == pdf.Stream {
		var err error
		// A map is read by the same interpreter as a page; its size
		// bounds its operands.
		if n, err = w.measure(tu, maxPDFToUnicode, newContentScanner(w.b.lim.MaxDepth, maxPDFToUnicode)); err != nil {
			return nil, err
		}
	}
	// Many font names may share one large map; each is parsed on its own,
	// so what is parsed and what is kept parsed are both bounded.
	w.fontBytes += n
	if w.fontBytes > maxPDFFontBytes {
		return nil, tooLarge("extract: the PDF's fonts' ToUnicode maps add up to more than %d bytes", maxPDFFontBytes)
	}
	if w.cachedBytes += n; w.cachedBytes > maxPDFFontCache {
		clear(w.fonts)
		w.cachedBytes = n
	}
	f := pdf.Font{V: fv}
	enc := f.Encoder()
	w.fonts[key] = enc
	return enc, nil
}

// pageText interprets the text operators of a content stream. Line moves
// become line breaks and large vertical jumps paragraph breaks ("\n\n");
// wide negative kerning in TJ becomes a space.
func (w *pdfWalker) pageText(contents, res pdf.Value) (string, error) {
	var (
		out   strings.Builder
		enc   pdf.TextEncoding
		size  = 12.0
		lastY = math.NaN()
	)
	breakFor := func(dy float64) {
		switch {
		case dy == 0:
			out.WriteByte(' ')
		case math.Abs(dy) > 1.8*math.Max(size, 1):
			out.WriteString("\n\n")
		default:
			out.WriteByte('\n')
		}
	}
	show := func(raw string) {
		if enc == nil {
			out.WriteString(raw)
			return
		}
		out.WriteString(enc.Decode(raw))
	}
	pdf.Interpret(contents, func(stk *pdf.Stack, op string) {
		args := make([]pdf.Value, stk.Len())
		for i := len(args) - 1; i >= 0; i-- {
			args[i] = stk.Pop()
		}
		if err := w.b.item(1); err != nil {
			panic(abort{err})
		}
		if err := w.b.pending(out.Len()); err != nil {
			panic(abort{err})
		}
		switch op {
		case "Tf":
			if len(args) == 2 {
				size = math.Abs(args[1].Float64())
				e, err := w.encoding(res, args[0].Name())
				if err != nil {
					panic(abort{err})
				}
				enc = e
			}
		case "Td", "TD":
			if len(args) == 2 {
				breakFor(args[1].Float64())
			}
		case "Tm":
			if len(args) == 6 {
				y := args[5].Float64()
				if !math.IsNaN(lastY) {
					breakFor(y - lastY)
				}
				lastY = y
			}
		case "T*":
			out.WriteByte('\n')
		case "'", "\"":
			out.WriteByte('\n')
			if len(args) > 0 {
				show(args[len(args)-1].RawString())
			}
		case "Tj":
			if len(args) == 1 {
				show(args[0].RawString())
			}
		case "TJ":
			if len(args) == 1 {
				a := args[0]
				for i := 0; i < a.Len(); i++ {
					x := a.Index(i)
					if x.Kind() == pdf.String {
						show(x.RawString())
					} else if x.Float64() < -200 {
						out.WriteByte(' ')
					}
				}
			}
		case "ET":
			out.WriteByte(' ')
		}
	})
	return out.String(), nil
}
