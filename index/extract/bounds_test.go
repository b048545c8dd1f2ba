package extract_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/index/extract"
)

// These tests hold each parser to a memory bound that does not grow with
// the file: without the bound, each input below makes the parser hold (and
// copy) far more than the limit allows, or ends the process.

// TestTokenLimit: a parser that holds a whole record, scalar or token in
// memory is stopped once it passes MaxToken, not after it has read it all.
func TestTokenLimit(t *testing.T) {
	const size = 24 << 20
	lim := extract.Limits{MaxToken: 1 << 20, MaxOutput: 4 << 20}
	big := strings.Repeat("field with, commas and\n\"\"quotes\"\" and line breaks\n", size/50)
	docx := func(text string) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, p := range docxParts(wp("", "placeholder")) {
			w, _ := zw.Create(p.name)
			if p.name == "word/document.xml" {
				p.body = strings.Replace(p.body, "placeholder", text, 1)
			}
			w.Write([]byte(p.body))
		}
		zw.Close()
		return buf.Bytes()
	}
	for _, c := range []struct {
		name, contentType string
		data              []byte
	}{
		// One quoted field of many lines: encoding/csv reads it line by
		// line, so only the end of the record stops it.
		{"field.csv", "text/csv", []byte("text\n\"" + big + "\"\n")},
		{"string.json", "application/json", []byte(`{"text": "` + strings.NewReplacer("\n", " ", `"`, "'").Replace(big) + `"}`)},
		{"run.docx", "", docx(strings.ReplaceAll(big, "\"", "'"))},
		{"text.html", "text/html", []byte("<p>" + strings.ReplaceAll(big, "\n", " ") + "</p>")},
	} {
		t.Run(c.name, func(t *testing.T) {
			bounded(t, 16<<20, func() {
				_, err := extractBytes(t, c.data, c.contentType, c.name, lim)
				wantCode(t, err, shelf.ETOOLARGE)
				if !strings.Contains(shelf.ErrorMessage(err), "longer than 1048576 bytes") {
					t.Fatalf("err = %v, want the token limit", err)
				}
			})
		})
	}
	// Records, values and runs under the limit are read as before.
	ok := strings.Repeat("word ", 100<<10) // 500 KiB
	d, err := extractBytes(t, []byte("text\n\""+ok+"\"\n"), "text/csv", "ok.csv", lim)
	if err != nil || len(d.Blocks) != 2 {
		t.Fatalf("a 500 KiB field: %v, %d blocks", err, len(d.Blocks))
	}
	if _, err := extractBytes(t, []byte(`{"t": "`+ok+`"}`), "application/json", "ok.json", lim); err != nil {
		t.Fatalf("a 500 KiB string: %v", err)
	}
	if _, err := extractBytes(t, docx(ok), "", "ok.docx", lim); err != nil {
		t.Fatalf("a 500 KiB text run: %v", err)
	}
}

// TestManyShortBlocks: each block costs memory besides its text, so a
// file of millions of one-letter rows meets the output limit early.
func TestManyShortBlocks(t *testing.T) {
	data := append([]byte("h\n"), bytes.Repeat([]byte("x\n"), 2_000_000)...)
	bounded(t, 48<<20, func() {
		_, err := extractBytes(t, data, "text/csv", "rows.csv", extract.Limits{MaxOutput: 4 << 20})
		wantCode(t, err, shelf.ETOOLARGE)
		if !strings.Contains(shelf.ErrorMessage(err), "too many short blocks") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestSharedStringsBound: a workbook's shared strings count their index
// against the output limit.
func TestSharedStringsBound(t *testing.T) {
	var sst strings.Builder
	sst.WriteString(`<sst ` + nsS + `>`)
	for i := range 150_000 {
		fmt.Fprintf(&sst, "<si><t>%c</t></si>", 'a'+i%26)
	}
	sst.WriteString(`</sst>`)
	data := buildZip(t, contentTypes(), rootRels("xl/workbook.xml"),
		part{"xl/workbook.xml", `<workbook ` + nsS + ` ` + nsR + `><sheets><sheet name="S" r:id="r1"/></sheets></workbook>`},
		part{"xl/_rels/workbook.xml.rels", `<Relationships ` + relNS + `><Relationship Id="r1" Target="s.xml"/></Relationships>`},
		part{"xl/sharedStrings.xml", sst.String()},
		part{"xl/s.xml", `<worksheet ` + nsS + `><sheetData><row><c t="s"><v>27</v></c></row></sheetData></worksheet>`})
	// 150,000 strings of one byte, and 4 bytes of index each.
	_, err := extractBytes(t, data, "", "strings.xlsx", extract.Limits{MaxOutput: 512 << 10, MaxRatio: 1000})
	wantCode(t, err, shelf.ETOOLARGE)
	// Under a limit that holds them, cells find their strings.
	d, err := extractBytes(t, data, "", "strings.xlsx", extract.Limits{MaxOutput: 1 << 20, MaxRatio: 1000})
	if err != nil {
		t.Fatal(err)
	}
	wantBlocks(t, d, "heading/1/1: S", "row/0/1: b")
}

// pdfWithContent is a one-page PDF whose page content is stream, as is
// (no filter).
func pdfWithContent(stream string) []byte {
	return buildPDF([][]string{{"x"}}, map[int]string{
		5: fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
	})
}

// TestPDFContentBounds: the library's interpreter holds every operand
// until an operator takes it and parses nested arrays by recursion; a
// page that would make it hold too many, or nest too deep, is refused
// before it runs.
func TestPDFContentBounds(t *testing.T) {
	for name, stream := range map[string]string{
		"operands": "BT " + strings.Repeat("1 ", 2_000_000) + "ET",
		"array":    "BT [" + strings.Repeat("(a) ", 1_000_000) + "] TJ ET",
		"closers":  "BT " + strings.Repeat("] ", 2_000_000) + "ET", // each a null on the stack
		"nested":   "BT " + strings.Repeat("[", 100_000) + " ET",
		"dicts":    "BT " + strings.Repeat("<< /a ", 100_000) + " ET",
	} {
		t.Run(name, func(t *testing.T) {
			bounded(t, 48<<20, func() {
				_, err := extractBytes(t, pdfWithContent(stream), "application/pdf", "p.pdf", extract.Limits{})
				wantCode(t, err, shelf.ETOOLARGE)
			})
		})
	}
	// What real pages hold: a long TJ array, strings with parentheses,
	// escapes and brackets, hex strings, comments, marked content with
	// property dictionaries, inline operators between many operands.
	tj := "[" + strings.Repeat("(a) -20 ", 5000) + "] TJ"
	real := "/OC << /Type /OCMD /OCGs [1 0 R] >> BDC\nBT /F1 12 Tf 72 720 Td\n" +
		"(a \\(nested [\\) \\\\ (paren\\)s) \\060) Tj % a comment with [[[ and ((\n" +
		"<48656c6c6f> Tj 0 -14 Td [(Hel) -300 (lo)] TJ\n" + tj + "\nET EMC\n" +
		"q 1 0 0 1 0 0 cm /Im1 Do Q\n"
	d, err := extractBytes(t, pdfWithContent(real), "application/pdf", "real.pdf", extract.Limits{})
	if err != nil {
		t.Fatalf("a real page: %v", err)
	}
	if !strings.Contains(d.Text, "Hello") || !strings.Contains(d.Text, "a (nested [) \\ (paren)s) 0") {
		t.Fatalf("text = %.200q", d.Text)
	}
}

// TestPDFObjectNumbers: the library sizes its object table by the
// highest object number any cross-reference section names, and the Go
// runtime ends the process when that allocation fails; such files are
// refused before the library reads them.
func TestPDFObjectNumbers(t *testing.T) {
	good := buildPDF([][]string{{"x"}}, nil)
	withTable := func(sub string) []byte {
		i := bytes.LastIndex(good, []byte("trailer"))
		return append(append(append([]byte(nil), good[:i]...), sub...), good[i:]...)
	}
	xrefStream := func(dict string) []byte {
		// A cross-reference stream at the end, for objects 1..5 of good,
		// with the given dictionary entries.
		body := good[:bytes.LastIndex(good, []byte("xref\n"))]
		var raw []byte
		for n := 1; n <= 5; n++ {
			off := bytes.Index(body, fmt.Appendf(nil, "\n%d 0 obj", n)) + 1
			raw = append(raw, 1, byte(off>>8), byte(off), 0)
		}
		out := bytes.Clone(body)
		at := len(out)
		out = fmt.Appendf(out, "6 0 obj\n<< /Type /XRef /W [1 2 1] /Root 1 0 R %s /Length %d >>\nstream\n", dict, len(raw))
		out = append(out, raw...)
		return fmt.Appendf(out, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", at)
	}
	for name, c := range map[string]struct {
		data []byte
		code string
	}{
		"table-subsection": {withTable("1900000000 1\n0000000009 00000 n \n"), shelf.ETOOLARGE},
		"stream-size":      {xrefStream("/Size 1900000000 /Index [1 5]"), shelf.ETOOLARGE},
		"stream-index":     {xrefStream("/Size 7 /Index [1 4 1900000000 1]"), shelf.ETOOLARGE},
		// The same key written with #-escapes and a comment before its value.
		"escaped-name": {xrefStream("/S#69#7Ae %hidden\n 1900000000 /Index [1 5]"), shelf.ETOOLARGE},
		// A /Prev that points back at its own section.
		"prev-loop": {withTable(""), ""},
	} {
		t.Run(name, func(t *testing.T) {
			data := c.data
			if name == "prev-loop" {
				x := bytes.LastIndex(data, []byte("xref\n"))
				data = bytes.Replace(data, []byte("/Root 1 0 R >>"), fmt.Appendf(nil, "/Root 1 0 R /Prev %d >>", x), 1)
				c.code = shelf.EINVALID
			}
			bounded(t, 64<<20, func() {
				_, err := extractBytes(t, data, "application/pdf", name+".pdf", extract.Limits{})
				wantCode(t, err, c.code)
			})
		})
	}
	// A cross-reference stream within the bounds reads as before.
	d, err := extractBytes(t, xrefStream("/Size 7 /Index [1 5]"), "application/pdf", "ok.pdf", extract.Limits{})
	if err != nil || !strings.Contains(d.Text, "x") {
		t.Fatalf("a plain cross-reference stream: %v", err)
	}
}

// TestPDFFontMaps: many font names sharing one large ToUnicode map are
// parsed one by one; what is parsed in all is bounded.
func TestPDFFontMaps(t *testing.T) {
	var cmap strings.Builder
	cmap.WriteString("begincmap\n1 begincodespacerange <0000> <FFFF> endcodespacerange\n")
	for cmap.Len() < 900<<10 {
		cmap.WriteString("100 beginbfchar\n")
		for i := range 100 {
			fmt.Fprintf(&cmap, "<%04X> <%04X>\n", (cmap.Len()+i)&0xffff, 0x41+i%26)
		}
		cmap.WriteString("endbfchar\n")
	}
	cmap.WriteString("endcmap\n")
	page := func(fonts, uses int) []byte {
		var res, content strings.Builder
		for i := range fonts {
			fmt.Fprintf(&res, "/F%d 3 0 R ", i)
		}
		content.WriteString("BT 72 720 Td ")
		for i := range uses {
			fmt.Fprintf(&content, "/F%d 12 Tf (a) Tj ", i%fonts)
		}
		content.WriteString("ET")
		return buildPDF(nil, map[int]string{
			2: "<< /Type /Pages /Kids [4 0 R] /Count 1 /Resources << /Font << " + res.String() + " >> >> >>",
			3: "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>",
			4: "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R >>",
			5: fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", content.Len(), content.String()),
			6: fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", cmap.Len(), cmap.String()),
		})
	}
	defer extract.SetPDFFontBytes(4 << 20)()
	// One font selected again and again is parsed once.
	if _, err := extractBytes(t, page(1, 1000), "application/pdf", "one.pdf", extract.Limits{}); err != nil {
		t.Fatalf("one font used 1000 times: %v", err)
	}
	// Forty names for the same map are forty parses: refused.
	_, err := extractBytes(t, page(40, 40), "application/pdf", "many.pdf", extract.Limits{})
	wantCode(t, err, shelf.ETOOLARGE)
}
