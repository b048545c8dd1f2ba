package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/shelfmem/shelf"
)

// Kind is the structural role of a Block.
type Kind uint8

// The kinds of block. The set is small on purpose: chunking needs to know
// where sections start (Heading), what may be grouped (Row, ListItem) and
// what must keep its line breaks (Code).
const (
	Paragraph Kind = iota // running text
	Heading               // a section title; Block.Level says how deep
	ListItem              // one item of a bulleted or numbered list
	Code                  // preformatted text; line breaks are kept
	Row                   // one table, sheet or CSV row; cells joined by " | "
)

var kindNames = [...]string{"paragraph", "heading", "list_item", "code", "row"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Block is one structural unit of a document's text.
type Block struct {
	Kind  Kind
	Level int    // heading level 1..6 for a Heading, else 0
	Text  string // normalised text: valid UTF-8, no NULs or control characters but \n and \t
	Page  int    // 1-based PDF page, PPTX slide or XLSX sheet; 0 when the format has no pages
	Start int    // byte offset of Text in Doc.Text
	End   int    // Doc.Text[Start:End] == Text
}

// Doc is the extracted text of one file.
type Doc struct {
	// Text is the blocks' texts joined by Separator.
	Text   string
	Blocks []Block
	// Pages is the number of pages (PDF), slides (PPTX) or sheets (XLSX);
	// 0 for formats without pages.
	Pages int
}

// Separator joins consecutive blocks in Doc.Text.
const Separator = "\n\n"

// Limits bound what one extraction may cost. A zero field takes its value
// from DefaultLimits, so Limits{} is safe to pass.
type Limits struct {
	MaxInput      int64         // bytes of input accepted
	MaxOutput     int           // bytes of Doc.Text
	MaxEntries    int           // entries in a zip container (DOCX, XLSX, PPTX)
	MaxEntryBytes int64         // bytes actually decompressed from one zip entry or one PDF stream
	MaxRatio      int64         // decompressed/compressed ratio allowed past the first MiB of an entry
	MaxDepth      int           // nesting depth of XML elements, JSON values, PDF page trees and content streams
	MaxToken      int64         // bytes of one token a parser holds whole: a CSV record, a JSON scalar, an XML or HTML token
	MaxItems      int           // parser tokens: XML/HTML tokens, JSON tokens, CSV records, PDF operators
	MaxPages      int           // PDF pages, PPTX slides, XLSX sheets
	Timeout       time.Duration // wall time of one extraction
}

// DefaultLimits returns limits suited to a server indexing user files on a
// small machine: a 256 MiB file, 32 MiB of text, 60 seconds.
func DefaultLimits() Limits {
	return Limits{
		MaxInput:      256 << 20,
		MaxOutput:     32 << 20,
		MaxEntries:    10000,
		MaxEntryBytes: 128 << 20,
		MaxRatio:      200,
		MaxDepth:      256,
		MaxToken:      8 << 20,
		MaxItems:      20_000_000,
		MaxPages:      10000,
		Timeout:       60 * time.Second,
	}
}

// WithDefaults fills the zero fields of l from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.MaxInput <= 0 {
		l.MaxInput = d.MaxInput
	}
	if l.MaxOutput <= 0 {
		l.MaxOutput = d.MaxOutput
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	if l.MaxEntryBytes <= 0 {
		l.MaxEntryBytes = d.MaxEntryBytes
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = d.MaxRatio
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxToken <= 0 {
		l.MaxToken = d.MaxToken
	}
	if l.MaxItems <= 0 {
		l.MaxItems = d.MaxItems
	}
	if l.MaxPages <= 0 {
		l.MaxPages = d.MaxPages
	}
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	return l
}

// Extract reads the file in r (size bytes) and returns its text and
// structure. contentType (a MIME type, parameters allowed) is trusted first,
// then the extension of name, then, for generic types, the first bytes.
//
// Errors carry a shelf code: ENOTIMPL for a type it cannot read, EINVALID
// for a malformed file, ETOOLARGE when a limit of lim is exceeded (the
// output is never silently truncated), ETIMEOUT when lim.Timeout passes.
// A cancelled ctx returns an error that wraps ctx.Err().
func Extract(ctx context.Context, r io.ReaderAt, size int64, contentType, name string, lim Limits) (doc *Doc, err error) {
	lim = lim.WithDefaults()
	if size < 0 {
		return nil, shelf.Errorf(shelf.EINVALID, "extract: negative size %d", size)
	}
	if size > lim.MaxInput {
		return nil, shelf.Errorf(shelf.ETOOLARGE, "extract: file is %d bytes, the limit is %d", size, lim.MaxInput)
	}
	ctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()

	f := detect(contentType, name)
	if f == formatUnknown && isGeneric(contentType) {
		if f, err = sniff(r, size); err != nil {
			return nil, err
		}
	}
	if f == formatUnknown {
		return nil, unsupported(contentType, name)
	}

	defer func() {
		if p := recover(); p != nil {
			doc, err = nil, shelf.Errorf(shelf.EINVALID, "extract: malformed %s file (parser panic: %v)", f, p)
		}
		err = classify(ctx, err)
	}()
	b := newBuilder(ctx, lim)
	in := &input{r: r, size: size}
	switch f {
	case formatText:
		err = extractText(b, in, false)
	case formatMarkdown:
		err = extractText(b, in, true)
	case formatHTML:
		err = extractHTML(b, in)
	case formatJSON:
		err = extractJSON(b, in, false)
	case formatJSONL:
		err = extractJSON(b, in, true)
	case formatCSV:
		err = extractCSV(b, in, ',')
	case formatTSV:
		err = extractCSV(b, in, '\t')
	case formatPDF:
		err = extractPDF(b, in)
	case formatDOCX, formatXLSX, formatPPTX:
		err = extractOOXML(b, in, f)
	}
	if err != nil {
		return nil, err
	}
	return b.finish(), nil
}

// Supported reports whether Extract reads files of this content type or
// name. It decides from the type and the extension alone; Extract may also
// accept a generic type (application/octet-stream, none) after looking at
// the bytes.
func Supported(contentType, name string) bool {
	return detect(contentType, name) != formatUnknown
}

// input is the file being extracted.
type input struct {
	r    io.ReaderAt
	size int64
}

// reader returns a fresh stream over the whole input.
func (in *input) reader() io.Reader { return io.NewSectionReader(in.r, 0, in.size) }

// guarded returns a stream over the whole input that fails once the
// parser reading it holds more than lim.MaxToken bytes past the end of
// its last complete token (see tokenGuard).
func (in *input) guarded(b *builder, what string) *tokenGuard {
	return &tokenGuard{r: in.reader(), max: b.lim.MaxToken, what: what}
}

// tokenGuard bounds what a streaming parser buffers for one token. The
// parsers of the standard library (encoding/csv, encoding/json,
// encoding/xml) hold a whole record, scalar or token in memory before they
// hand it over, so a file of one 250 MiB CSV field or JSON string would
// be held whole, and copied, before any output limit is checked. The
// caller reports the parser's position after each token (done); a read
// more than max bytes past it fails with ETOOLARGE, so the parser never
// holds more than max bytes plus one read buffer of a token.
type tokenGuard struct {
	r    io.Reader
	read int64 // bytes handed to the parser
	mark int64 // the parser's offset at the end of its last token
	max  int64
	what string // "a CSV record", for the error
}

func (g *tokenGuard) Read(p []byte) (int, error) {
	if g.read-g.mark > g.max {
		return 0, tooLarge("extract: %s is longer than %d bytes", g.what, g.max)
	}
	n, err := g.r.Read(p)
	g.read += int64(n)
	return n, err
}

// done records that the parser has consumed the input up to offset.
func (g *tokenGuard) done(offset int64) { g.mark = offset }

// bufSize is the size of a read buffer over the input: 64 KiB, or less
// for a smaller input (most files indexed are a few KiB).
func (in *input) bufSize() int { return int(min(in.size+1, 64<<10)) }

func unsupported(contentType, name string) error {
	return shelf.Errorf(shelf.ENOTIMPL, "extract: content type %q (file %q) is not supported for text extraction", contentType, name)
}

// classify gives err a shelf code when the context explains it.
func classify(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	code := shelf.ErrorCode(err)
	if code == shelf.ETIMEOUT || code == shelf.ETOOLARGE || code == shelf.ENOTIMPL {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded {
		return &shelf.Error{Code: shelf.ETIMEOUT, Message: "extract: timed out", Err: err}
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("extract: %w", err)
	}
	if code == shelf.EINTERNAL {
		return shelf.Wrap(err, "extract")
	}
	return err
}

// invalid returns an EINVALID error that keeps cause.
func invalid(cause error, format string, args ...any) error {
	return &shelf.Error{Code: shelf.EINVALID, Message: fmt.Sprintf(format, args...), Err: cause}
}

// tooLarge returns an ETOOLARGE error.
func tooLarge(format string, args ...any) error {
	return shelf.Errorf(shelf.ETOOLARGE, format, args...)
}
