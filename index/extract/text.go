package extract

import (
	"bufio"
	"io"
	"regexp"
	"strings"
)

// extractText reads plain text (paragraphs separated by blank lines) or,
// with markdown, Markdown: ATX and setext headings, list items, fenced
// code, pipe tables and block quotes. Inline markup is kept as written.
func extractText(b *builder, in *input, markdown bool) error {
	md := &mdReader{b: b, markdown: markdown}
	br := bufio.NewReaderSize(in.reader(), in.bufSize())
	b.reserve(in.size) // the text comes out about as long as it went in
	var line strings.Builder
	for {
		chunk, isPrefix, err := br.ReadLine()
		if err == io.EOF {
			break
		}
		if err != nil {
			return invalid(err, "extract: reading text")
		}
		line.Write(chunk)
		if err := b.pending(line.Len()); err != nil {
			return err
		}
		if isPrefix {
			continue
		}
		if err := b.item(1); err != nil {
			return err
		}
		if err := md.line(line.String()); err != nil {
			return err
		}
		line.Reset()
	}
	if line.Len() > 0 {
		if err := md.line(line.String()); err != nil {
			return err
		}
	}
	return md.flush()
}

var (
	atxHeading = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$`)
	listMarker = regexp.MustCompile(`^ {0,3}(?:[-*+]|\d{1,9}[.)])[ \t]+`)
	fenceOpen  = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})")
	tableSep   = regexp.MustCompile(`^ {0,3}\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$`)
	setextH1   = regexp.MustCompile(`^ {0,3}=+\s*$`)
	setextH2   = regexp.MustCompile(`^ {0,3}-+\s*$`)

	thematicBreak = regexp.MustCompile(`^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$`)
)

// mdReader turns lines into blocks.
type mdReader struct {
	b        *builder
	markdown bool

	para     strings.Builder // the paragraph or list item being collected
	paraKind Kind
	paraLns  int

	fence string // the open code fence, "" outside code
	code  strings.Builder

	header []string // cells of the current table's header row
}

func (m *mdReader) line(l string) error {
	if !m.markdown {
		return m.textLine(l)
	}
	if m.fence != "" {
		if strings.HasPrefix(strings.TrimLeft(l, " "), m.fence) && strings.Trim(strings.TrimSpace(l), m.fence[:1]) == "" {
			m.fence = ""
			text := m.code.String()
			m.code.Reset()
			return m.b.add(Code, 0, 0, text)
		}
		m.code.WriteString(l)
		m.code.WriteByte('\n')
		return m.b.pending(m.code.Len())
	}
	trimmed := strings.TrimSpace(l)
	switch {
	case trimmed == "":
		m.header = nil
		return m.flush()
	case fenceOpen.MatchString(l):
		if err := m.flush(); err != nil {
			return err
		}
		f := fenceOpen.FindStringSubmatch(l)[1]
		m.fence = f
		return nil
	case m.paraKind == Paragraph && m.paraLns > 0 && m.header == nil && (setextH1.MatchString(l) || setextH2.MatchString(l) && !strings.Contains(trimmed, " ")):
		level := 1
		if trimmed[0] == '-' {
			level = 2
		}
		text := m.para.String()
		m.para.Reset()
		m.paraLns = 0
		return m.b.add(Heading, level, 0, text)
	case thematicBreak.MatchString(l):
		return m.flush()
	case atxHeading.MatchString(l):
		if err := m.flush(); err != nil {
			return err
		}
		g := atxHeading.FindStringSubmatch(l)
		return m.b.add(Heading, len(g[1]), 0, g[2])
	case strings.HasPrefix(trimmed, "|") || (m.header != nil && strings.Contains(trimmed, "|")):
		return m.tableLine(trimmed)
	case listMarker.MatchString(l):
		if err := m.flush(); err != nil {
			return err
		}
		m.paraKind = ListItem
		return m.appendPara(l[len(listMarker.FindString(l)):])
	case strings.HasPrefix(trimmed, ">"):
		return m.appendPara(strings.TrimLeft(trimmed, "> "))
	case tableSep.MatchString(l) && strings.Contains(trimmed, "|"):
		return nil
	}
	return m.appendPara(l)
}

// textLine handles plain text: blank lines end paragraphs.
func (m *mdReader) textLine(l string) error {
	if strings.TrimSpace(l) == "" {
		return m.flush()
	}
	return m.appendPara(l)
}

func (m *mdReader) appendPara(s string) error {
	if m.paraLns > 0 {
		m.para.WriteByte(' ')
	}
	m.para.WriteString(s)
	m.paraLns++
	return m.b.pending(m.para.Len())
}

// tableLine handles one row of a pipe table. The first row is the header;
// later rows are written as "header: value" pairs so each row reads on its
// own.
func (m *mdReader) tableLine(l string) error {
	if tableSep.MatchString(l) {
		return nil
	}
	if err := m.flush(); err != nil {
		return err
	}
	cells := splitPipes(l)
	if m.header == nil {
		m.header = cells
		return m.b.add(Row, 0, 0, strings.Join(cells, " | "))
	}
	return m.b.add(Row, 0, 0, labelCells(m.header, cells))
}

// splitPipes splits a pipe-table row into trimmed cells; "\|" is a literal
// pipe.
func splitPipes(l string) []string {
	l = strings.TrimSpace(l)
	l = strings.TrimPrefix(l, "|")
	if strings.HasSuffix(l, "|") && !strings.HasSuffix(l, `\|`) {
		l = l[:len(l)-1]
	}
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(l); i++ {
		switch {
		case l[i] == '\\' && i+1 < len(l) && l[i+1] == '|':
			cur.WriteByte('|')
			i++
		case l[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(l[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// labelCells joins cells as "header: value" pairs, skipping empty values;
// cells beyond the header are written bare.
func labelCells(header, cells []string) string {
	var parts []string
	for i, c := range cells {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if i < len(header) && strings.TrimSpace(header[i]) != "" {
			c = strings.TrimSpace(header[i]) + ": " + c
		}
		parts = append(parts, c)
	}
	return strings.Join(parts, " | ")
}

// flush emits the paragraph or list item being collected, and an unclosed
// code fence at the end of the file.
func (m *mdReader) flush() error {
	if m.fence != "" && m.code.Len() > 0 {
		text := m.code.String()
		m.code.Reset()
		m.fence = ""
		if err := m.b.add(Code, 0, 0, text); err != nil {
			return err
		}
	}
	if m.paraLns == 0 {
		return nil
	}
	text, kind := m.para.String(), m.paraKind
	m.para.Reset()
	m.paraLns, m.paraKind = 0, Paragraph
	return m.b.add(kind, 0, 0, text)
}
