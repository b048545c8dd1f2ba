package extract

import (
	"encoding/xml"
	"regexp"
	"strconv"
	"strings"
)

// extractOOXML reads a DOCX, XLSX or PPTX package.
func extractOOXML(b *builder, in *input, f format) error {
	p, err := openZip(b, in)
	if err != nil {
		return err
	}
	switch f {
	case formatDOCX:
		return extractDOCX(p)
	case formatXLSX:
		return extractXLSX(p)
	default:
		return extractPPTX(p)
	}
}

// tableRows turns table cells into Row blocks: the first row is the
// header, later rows are "header: value" pairs.
type tableRows struct {
	header []string
	seen   bool
}

func (t *tableRows) text(cells []string) string {
	if !t.seen {
		t.seen = true
		t.header = cells
		return strings.Join(cells, " | ")
	}
	return labelCells(t.header, cells)
}

// ---- DOCX ----

var headingStyle = regexp.MustCompile(`(?i)^\s*heading\s*([1-9])\s*$`)

// styleLevel gives the heading level of a paragraph style name or id:
// "heading 2" → 2, "Title" → 1, anything else → 0.
func styleLevel(s string) int {
	if m := headingStyle.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		return min(n, 6)
	}
	if strings.EqualFold(strings.TrimSpace(s), "title") {
		return 1
	}
	return 0
}

// docxStyles maps paragraph style ids to heading levels, from the style's
// name or outline level in word/styles.xml.
func docxStyles(p *zipPackage) (map[string]int, error) {
	levels := map[string]int{}
	if !p.has("word/styles.xml") {
		return levels, nil
	}
	var id string
	err := p.walkXML("word/styles.xml", func(tok xml.Token, _ int) error {
		se, ok := tok.(xml.StartElement)
		if !ok {
			return nil
		}
		switch se.Name.Local {
		case "style":
			id = attr(se, "styleId")
		case "name":
			if l := styleLevel(attr(se, "val")); l > 0 && id != "" {
				levels[id] = l
			}
		case "outlineLvl":
			if n, err := strconv.Atoi(attr(se, "val")); err == nil && n >= 0 && n < 9 && id != "" {
				levels[id] = min(n+1, 6)
			}
		}
		return nil
	})
	return levels, err
}

// docxReader holds the state of one pass over word/document.xml.
type docxReader struct {
	p      *zipPackage
	styles map[string]int

	text    strings.Builder
	inText  bool
	inPPr   bool
	level   int
	list    bool
	tblDeep int
	cells   []string
	cell    strings.Builder
	tables  []tableRows
}

func extractDOCX(p *zipPackage) error {
	main, err := p.mainPart("word/document.xml")
	if err != nil {
		return err
	}
	styles, err := docxStyles(p)
	if err != nil {
		return err
	}
	d := &docxReader{p: p, styles: styles}
	return p.walkXML(main, d.token)
}

func (d *docxReader) token(tok xml.Token, _ int) error {
	switch t := tok.(type) {
	case xml.StartElement:
		d.start(t)
	case xml.EndElement:
		return d.end(t.Name.Local)
	case xml.CharData:
		if d.inText {
			d.text.Write(t)
			return d.p.b.pending(d.text.Len())
		}
	}
	return nil
}

func (d *docxReader) start(se xml.StartElement) {
	switch se.Name.Local {
	case "p":
		d.text.Reset()
		d.level, d.list = 0, false
	case "pPr":
		d.inPPr = true
	case "pStyle":
		if l, ok := d.styles[attr(se, "val")]; ok {
			d.level = l
		} else {
			d.level = styleLevel(attr(se, "val"))
		}
	case "outlineLvl":
		if n, err := strconv.Atoi(attr(se, "val")); err == nil && n >= 0 && n < 9 {
			d.level = min(n+1, 6)
		}
	case "numPr":
		d.list = true
	case "t":
		d.inText = true
	case "tab":
		if !d.inPPr {
			d.text.WriteByte('\t')
		}
	case "br", "cr":
		d.text.WriteByte(' ')
	case "tbl":
		d.tblDeep++
		if d.tblDeep == 1 {
			d.tables = append(d.tables[:0], tableRows{})
		}
	case "tr":
		if d.tblDeep == 1 {
			d.cells = d.cells[:0]
		}
	case "tc":
		if d.tblDeep == 1 {
			d.cell.Reset()
		}
	}
}

func (d *docxReader) end(local string) error {
	b := d.p.b
	switch local {
	case "t":
		d.inText = false
	case "pPr":
		d.inPPr = false
	case "p":
		text := d.text.String()
		d.text.Reset()
		if d.tblDeep > 0 {
			d.cell.WriteString(text)
			d.cell.WriteByte(' ')
			return b.pending(d.cell.Len())
		}
		switch {
		case d.level > 0:
			return b.add(Heading, d.level, 0, text)
		case d.list:
			return b.add(ListItem, 0, 0, text)
		default:
			return b.add(Paragraph, 0, 0, text)
		}
	case "tc":
		if d.tblDeep == 1 {
			d.cells = append(d.cells, normalize(d.cell.String(), false))
		}
	case "tr":
		if d.tblDeep == 1 && len(d.tables) > 0 {
			return b.add(Row, 0, 0, d.tables[0].text(append([]string(nil), d.cells...)))
		}
	case "tbl":
		d.tblDeep--
	}
	return nil
}

// ---- XLSX ----

// xlsxSheet is one worksheet in workbook order.
type xlsxSheet struct{ name, part string }

func extractXLSX(p *zipPackage) error {
	wb, err := p.mainPart("xl/workbook.xml")
	if err != nil {
		return err
	}
	rels, err := p.rels(wb)
	if err != nil {
		return err
	}
	var sheets []xlsxSheet
	err = p.walkXML(wb, func(tok xml.Token, _ int) error {
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "sheet" {
			if len(sheets) >= p.b.lim.MaxPages {
				return tooLarge("extract: the workbook has more than %d sheets", p.b.lim.MaxPages)
			}
			sheets = append(sheets, xlsxSheet{name: attr(se, "name"), part: rels[relID(se)]})
		}
		return nil
	})
	if err != nil {
		return err
	}
	shared, err := sharedStrings(p)
	if err != nil {
		return err
	}
	p.b.doc.Pages = len(sheets)
	for i, s := range sheets {
		if err := p.b.add(Heading, 1, i+1, s.name); err != nil {
			return err
		}
		if s.part == "" || !p.has(s.part) {
			continue
		}
		if err := xlsxRows(p, s.part, i+1, shared); err != nil {
			return err
		}
	}
	return nil
}

// sharedTable holds a workbook's shared strings in one string, so a
// table of millions of short strings costs 4 bytes of index apiece rather
// than a string header and an allocation.
type sharedTable struct {
	text string
	ends []uint32 // ends[i] is where string i ends in text
}

func (t *sharedTable) len() int { return len(t.ends) }

func (t *sharedTable) at(i int) string {
	start := uint32(0)
	if i > 0 {
		start = t.ends[i-1]
	}
	return t.text[start:t.ends[i]]
}

// sharedStrings reads xl/sharedStrings.xml. Phonetic runs (rPh) are left
// out. The strings and their index together may not pass lim.MaxOutput.
func sharedStrings(p *zipPackage) (*sharedTable, error) {
	const part = "xl/sharedStrings.xml"
	t := &sharedTable{}
	if !p.has(part) {
		return t, nil
	}
	var (
		all   strings.Builder
		inT   bool
		inRPh bool
	)
	err := p.walkXML(part, func(tok xml.Token, _ int) error {
		switch tok := tok.(type) {
		case xml.StartElement:
			switch tok.Name.Local {
			case "t":
				inT = !inRPh
			case "rPh":
				inRPh = true
			}
		case xml.EndElement:
			switch tok.Name.Local {
			case "si":
				t.ends = append(t.ends, uint32(all.Len()))
				return p.b.pending(all.Len() + 4*len(t.ends))
			case "t":
				inT = false
			case "rPh":
				inRPh = false
			}
		case xml.CharData:
			if inT {
				all.Write(tok)
				return p.b.pending(all.Len() + 4*len(t.ends))
			}
		}
		return nil
	})
	t.text = all.String()
	return t, err
}

// xlsxRows emits one Row per non-empty sheet row; the first is the header.
func xlsxRows(p *zipPackage, part string, page int, shared *sharedTable) error {
	var (
		table    tableRows
		cols     []int
		vals     []string
		col      int
		typ      string
		val      strings.Builder
		inV, inT bool
	)
	return p.walkXML(part, func(tok xml.Token, _ int) error {
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "row":
				cols, vals, col = cols[:0], vals[:0], 0
			case "c":
				typ = attr(t, "t")
				col = columnIndex(attr(t, "r"), col)
				val.Reset()
			case "v":
				inV = true
			case "t":
				inT = true
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "v":
				inV = false
			case "t":
				inT = false
			case "c":
				if v := cellValue(typ, val.String(), shared); v != "" {
					cols, vals = append(cols, col), append(vals, v)
				}
				col++
			case "row":
				if len(vals) == 0 {
					return nil
				}
				return p.b.add(Row, 0, page, table.text(spread(cols, vals)))
			}
		case xml.CharData:
			if inV || inT {
				val.Write(t)
				return p.b.pending(val.Len())
			}
		}
		return nil
	})
}

// spread places values at their columns so headers line up; gaps become
// empty cells. Very wide gaps are closed up.
func spread(cols []int, vals []string) []string {
	last := 0
	for _, c := range cols {
		last = max(last, c)
	}
	if last >= 4*len(vals)+64 {
		return append([]string(nil), vals...)
	}
	out := make([]string, last+1)
	for i, c := range cols {
		out[c] = vals[i]
	}
	return out
}

// cellValue resolves a cell's raw value by its type.
func cellValue(typ, raw string, shared *sharedTable) string {
	switch typ {
	case "s":
		i, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil || i < 0 || i >= shared.len() {
			return ""
		}
		return shared.at(i)
	case "b":
		if strings.TrimSpace(raw) == "1" {
			return "TRUE"
		}
		return "FALSE"
	}
	return raw
}

// columnIndex turns a cell reference ("C7") into a 0-based column, or
// returns next when there is none.
func columnIndex(ref string, next int) int {
	n := 0
	for i := 0; i < len(ref) && i < 3; i++ {
		c := ref[i] | 0x20
		if c < 'a' || c > 'z' {
			break
		}
		n = n*26 + int(c-'a'+1)
	}
	if n == 0 {
		return next
	}
	return n - 1
}

// ---- PPTX ----

func extractPPTX(p *zipPackage) error {
	pres, err := p.mainPart("ppt/presentation.xml")
	if err != nil {
		return err
	}
	rels, err := p.rels(pres)
	if err != nil {
		return err
	}
	var slides []string
	err = p.walkXML(pres, func(tok xml.Token, _ int) error {
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "sldId" {
			if len(slides) >= p.b.lim.MaxPages {
				return tooLarge("extract: the presentation has more than %d slides", p.b.lim.MaxPages)
			}
			slides = append(slides, rels[relID(se)])
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.b.doc.Pages = len(slides)
	for i, s := range slides {
		if s == "" || !p.has(s) {
			continue
		}
		if err := pptxSlide(p, s, i+1); err != nil {
			return err
		}
	}
	return nil
}

// pptxShape collects the paragraphs of one shape.
type pptxShape struct {
	title bool
	paras []string
}

// pptxSlide emits a slide's shapes in document order: the title
// placeholder as a Heading, other text as Paragraphs, tables as Rows.
func pptxSlide(p *zipPackage, part string, page int) error {
	var (
		shape   pptxShape
		text    strings.Builder
		inT     bool
		tblDeep int
		cells   []string
		cell    strings.Builder
		table   tableRows
	)
	b := p.b
	return p.walkXML(part, func(tok xml.Token, _ int) error {
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "sp":
				shape = pptxShape{}
			case "ph":
				if ty := attr(t, "type"); ty == "title" || ty == "ctrTitle" {
					shape.title = true
				}
			case "t":
				inT = true
			case "br":
				text.WriteByte(' ')
			case "tbl":
				tblDeep++
				if tblDeep == 1 {
					table = tableRows{}
				}
			case "tr":
				cells = cells[:0]
			case "tc":
				cell.Reset()
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "t":
				inT = false
			case "p":
				s := text.String()
				text.Reset()
				if tblDeep > 0 {
					cell.WriteString(s + " ")
				} else {
					shape.paras = append(shape.paras, s)
				}
			case "sp":
				return emitShape(b, shape, page)
			case "tc":
				cells = append(cells, normalize(cell.String(), false))
			case "tr":
				if tblDeep == 1 {
					return b.add(Row, 0, page, table.text(append([]string(nil), cells...)))
				}
			case "tbl":
				tblDeep--
			}
		case xml.CharData:
			if inT {
				text.Write(t)
				return b.pending(text.Len())
			}
		}
		return nil
	})
}

func emitShape(b *builder, s pptxShape, page int) error {
	if s.title {
		return b.add(Heading, 1, page, strings.Join(s.paras, " "))
	}
	for _, para := range s.paras {
		if err := b.add(Paragraph, 0, page, para); err != nil {
			return err
		}
	}
	return nil
}
