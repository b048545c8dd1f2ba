package extract

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"
)

// builder collects blocks into a Doc, normalising their text and enforcing
// the output limit and the context.
type builder struct {
	ctx   context.Context
	lim   Limits
	text  strings.Builder
	doc   Doc
	items int // parser tokens counted against lim.MaxItems
}

func newBuilder(ctx context.Context, lim Limits) *builder {
	return &builder{ctx: ctx, lim: lim}
}

// reserve grows the document text for about n bytes of output, within
// the output limit, so it is not copied again and again as it grows.
func (b *builder) reserve(n int64) {
	b.text.Grow(int(min(n, int64(b.lim.MaxOutput))))
}

// add appends a block of the given kind. Text is normalised first (see
// normalize); a block that normalises to nothing is dropped. It fails with
// ETOOLARGE when Doc.Text would pass lim.MaxOutput, or with the context's
// error.
func (b *builder) add(kind Kind, level, page int, text string) error {
	if err := b.ctx.Err(); err != nil {
		return err
	}
	keepLines := kind == Code
	text = normalize(text, keepLines)
	if text == "" {
		return nil
	}
	return b.addNormalized(kind, level, page, text)
}

// addLines is add for text whose line breaks carry meaning (JSON paths,
// for example) in a block that is not Code.
func (b *builder) addLines(kind Kind, page int, text string) error {
	if err := b.ctx.Err(); err != nil {
		return err
	}
	text = normalize(text, true)
	if text == "" {
		return nil
	}
	return b.addNormalized(kind, 0, page, text)
}

// blockCost is what a block counts against lim.MaxOutput besides its
// text: its place in Doc.Blocks (56 bytes) is memory too, and a file of
// millions of one-letter rows would otherwise cost 20 times its text.
const blockCost = 32

func (b *builder) addNormalized(kind Kind, level, page int, text string) error {
	sep := 0
	if b.text.Len() > 0 {
		sep = len(Separator)
	}
	if n := b.text.Len() + sep + len(text); n > b.lim.MaxOutput {
		return tooLarge("extract: extracted text exceeds the limit of %d bytes", b.lim.MaxOutput)
	} else if n+blockCost*(len(b.doc.Blocks)+1) > b.lim.MaxOutput {
		return tooLarge("extract: the file has too many short blocks (%d) for the output limit of %d bytes (each block counts %d bytes besides its text)",
			len(b.doc.Blocks)+1, b.lim.MaxOutput, blockCost)
	}
	if sep > 0 {
		b.text.WriteString(Separator)
	}
	start := b.text.Len()
	b.text.WriteString(text)
	if kind != Heading {
		level = 0
	}
	b.doc.Blocks = append(b.doc.Blocks, Block{Kind: kind, Level: level, Text: text, Page: page, Start: start, End: b.text.Len()})
	return nil
}

// item counts n parser tokens against lim.MaxItems and checks the context
// every few thousand.
func (b *builder) item(n int) error {
	b.items += n
	if b.items > b.lim.MaxItems {
		return tooLarge("extract: the file has more than %d parser items", b.lim.MaxItems)
	}
	if b.items&1023 < n {
		return b.ctx.Err()
	}
	return nil
}

// pending reports whether a buffer of n bytes is already past the output
// limit, so readers of huge runs of text stop early.
func (b *builder) pending(n int) error {
	if n > b.lim.MaxOutput {
		return tooLarge("extract: extracted text exceeds the limit of %d bytes", b.lim.MaxOutput)
	}
	return nil
}

// finish returns the document. Block texts share memory with Doc.Text.
func (b *builder) finish() *Doc {
	b.doc.Text = b.text.String()
	for i := range b.doc.Blocks {
		bl := &b.doc.Blocks[i]
		bl.Text = b.doc.Text[bl.Start:bl.End]
	}
	return &b.doc
}

// normalize makes text valid UTF-8 (invalid bytes become U+FFFD), drops NUL
// and control characters other than \n and \t, and collapses runs of
// white space. With keepLines, line breaks survive (runs of blank lines
// become one blank line), spaces within a line are kept as they are and
// trailing spaces are cut; without it every run of white space becomes one
// space. The result is trimmed.
func normalize(s string, keepLines bool) string {
	var out strings.Builder
	out.Grow(len(s))
	space, newlines := false, 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == '\r':
			continue
		case r == '\n' && keepLines:
			newlines++
			space = false
			continue
		case keepLines && (r == ' ' || r == '\t'):
			// leading spaces of a line are indentation; keep them
		case unicode.IsSpace(r):
			space = true
			continue
		case r == utf8.RuneError && n == 1:
			r = utf8.RuneError
		case unicode.IsControl(r) || r == '\uFEFF':
			continue
		}
		if out.Len() > 0 {
			switch {
			case newlines > 1:
				out.WriteString("\n\n")
			case newlines == 1:
				out.WriteByte('\n')
			case space:
				out.WriteByte(' ')
			}
		}
		newlines, space = 0, false
		out.WriteRune(r)
	}
	if !keepLines {
		return out.String()
	}
	// Cut trailing spaces at line ends and at the end.
	lines := strings.Split(out.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
