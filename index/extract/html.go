package extract

import (
	"errors"
	"io"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// skipped elements contribute no text.
var skipped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Svg: true, atom.Math: true, atom.Iframe: true, atom.Object: true,
	atom.Select: true, atom.Button: true,
}

// breaks are elements that end the current block.
var breaks = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Section: true, atom.Article: true,
	atom.Header: true, atom.Footer: true, atom.Main: true, atom.Aside: true,
	atom.Nav: true, atom.Blockquote: true, atom.Ul: true, atom.Ol: true,
	atom.Dl: true, atom.Dt: true, atom.Dd: true, atom.Figure: true,
	atom.Figcaption: true, atom.Table: true, atom.Caption: true, atom.Hr: true,
	atom.Form: true, atom.Fieldset: true, atom.Address: true, atom.Body: true,
	atom.Title: true, atom.Details: true, atom.Summary: true,
}

var headingLevel = map[atom.Atom]int{
	atom.H1: 1, atom.H2: 2, atom.H3: 3, atom.H4: 4, atom.H5: 5, atom.H6: 6,
}

// htmlReader turns HTML tokens into blocks.
type htmlReader struct {
	b     *builder
	text  strings.Builder
	kind  Kind
	level int
	skip  int // depth inside skipped elements
	pre   int // depth inside <pre>

	inRow  bool
	inCell bool
	cells  []string
	header []string // the first row of the current table, when all <th>
	allTh  bool
}

// extractHTML reads HTML with the tokenizer, never building a tree.
func extractHTML(b *builder, in *input) error {
	z := html.NewTokenizer(in.reader())
	z.SetMaxBuf(int(b.lim.MaxToken)) // one tag with its attributes, or one run of text
	h := &htmlReader{b: b}
	for {
		tt := z.Next()
		if err := b.item(1); err != nil {
			return err
		}
		switch tt {
		case html.ErrorToken:
			err := z.Err()
			if err == io.EOF {
				return h.endRow()
			}
			if errors.Is(err, html.ErrBufferExceeded) {
				return tooLarge("extract: an HTML token is longer than %d bytes", b.lim.MaxToken)
			}
			return invalid(err, "extract: reading HTML")
		case html.TextToken:
			if h.skip == 0 {
				h.text.Write(z.Text())
				if err := b.pending(h.text.Len()); err != nil {
					return err
				}
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			if err := h.start(atom.Lookup(name), tt == html.SelfClosingTagToken); err != nil {
				return err
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if err := h.end(atom.Lookup(name)); err != nil {
				return err
			}
		}
	}
}

func (h *htmlReader) start(a atom.Atom, selfClosing bool) error {
	if skipped[a] {
		if !selfClosing {
			h.skip++
		}
		return nil
	}
	if h.skip > 0 {
		return nil
	}
	if h.inRow && (headingLevel[a] > 0 || a == atom.Li || a == atom.Pre) {
		h.text.WriteByte(' ') // structure inside a table cell only separates words
		return nil
	}
	switch {
	case a == atom.Br:
		if h.pre > 0 {
			h.text.WriteByte('\n')
		} else {
			h.text.WriteByte(' ')
		}
	case headingLevel[a] > 0:
		if err := h.flush(); err != nil {
			return err
		}
		h.kind, h.level = Heading, headingLevel[a]
	case a == atom.Li:
		if err := h.flush(); err != nil {
			return err
		}
		h.kind = ListItem
	case a == atom.Pre:
		if err := h.flush(); err != nil {
			return err
		}
		h.pre++
		h.kind = Code
	case a == atom.Tr:
		if err := h.endRow(); err != nil {
			return err
		}
		h.inRow, h.cells, h.allTh = true, nil, true
	case a == atom.Td || a == atom.Th:
		h.endCell()
		if !h.inRow { // a cell outside any row starts one
			h.inRow, h.cells, h.allTh = true, nil, true
		}
		h.text.Reset() // white space between cells
		h.inCell = true
		if a == atom.Td {
			h.allTh = false
		}
	case a == atom.Table:
		if err := h.endRow(); err != nil {
			return err
		}
		h.header = nil
	case breaks[a]:
		return h.flush()
	}
	return nil
}

func (h *htmlReader) end(a atom.Atom) error {
	if skipped[a] {
		if h.skip > 0 {
			h.skip--
		}
		return nil
	}
	if h.skip > 0 {
		return nil
	}
	switch {
	case headingLevel[a] > 0, a == atom.Li:
		return h.flush()
	case a == atom.Pre:
		if h.pre > 0 {
			h.pre--
		}
		return h.flush()
	case a == atom.Td || a == atom.Th:
		h.endCell()
	case a == atom.Tr, a == atom.Table:
		if err := h.endRow(); err != nil {
			return err
		}
		if a == atom.Table {
			h.header = nil
		}
	case breaks[a]:
		return h.flush()
	}
	return nil
}

// endCell moves collected text into the current row's cells.
func (h *htmlReader) endCell() {
	if !h.inCell {
		return
	}
	h.inCell = false
	h.cells = append(h.cells, normalize(h.text.String(), false))
	h.text.Reset()
}

// endRow emits the current table row, if any.
func (h *htmlReader) endRow() error {
	if !h.inRow {
		return h.flush()
	}
	h.endCell()
	h.inRow = false
	h.text.Reset()
	cells := h.cells
	h.cells = nil
	if strings.Join(cells, "") == "" {
		return nil
	}
	if h.header == nil && h.allTh {
		h.header = cells
		return h.b.add(Row, 0, 0, strings.Join(cells, " | "))
	}
	return h.b.add(Row, 0, 0, labelCells(h.header, cells))
}

// flush emits the collected text as a block of the current kind.
func (h *htmlReader) flush() error {
	if h.inRow {
		// Block elements inside a cell only separate words.
		h.text.WriteByte(' ')
		return nil
	}
	text, kind, level := h.text.String(), h.kind, h.level
	h.text.Reset()
	if h.pre == 0 {
		h.kind, h.level = Paragraph, 0
	}
	return h.b.add(kind, level, 0, text)
}
