package extract_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// Builders of real files for the tests: minimal but valid OOXML packages
// and a hand-written PDF with a correct cross-reference table.

const (
	nsW    = `xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"`
	nsR    = `xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"`
	nsS    = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`
	nsP    = `xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"`
	relNS  = `xmlns="http://schemas.openxmlformats.org/package/2006/relationships"`
	relDoc = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
)

// part is one file of a zip package.
type part struct {
	name string
	body string
}

func buildZip(tb testing.TB, parts ...part) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range parts {
		w, err := zw.Create(p.name)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write([]byte(p.body)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func contentTypes(overrides ...string) part {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
		`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
		`<Default Extension="xml" ContentType="application/xml"/>`)
	for i := 0; i+1 < len(overrides); i += 2 {
		fmt.Fprintf(&b, `<Override PartName="%s" ContentType="%s"/>`, overrides[i], overrides[i+1])
	}
	b.WriteString(`</Types>`)
	return part{"[Content_Types].xml", b.String()}
}

func rootRels(target string) part {
	return part{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8"?><Relationships ` + relNS + `>` +
		`<Relationship Id="rId1" Type="` + relDoc + `" Target="` + target + `"/></Relationships>`}
}

// docxParts returns a DOCX whose body is the given w:body content.
func docxParts(body string) []part {
	return []part{
		contentTypes("/word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
			"/word/styles.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"),
		rootRels("word/document.xml"),
		{"word/_rels/document.xml.rels", `<?xml version="1.0"?><Relationships ` + relNS + `>` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>`},
		{"word/styles.xml", `<?xml version="1.0"?><w:styles ` + nsW + `>` +
			`<w:style w:type="paragraph" w:styleId="Titre1"><w:name w:val="heading 1"/></w:style>` +
			`<w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/></w:style>` +
			`</w:styles>`},
		{"word/document.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document ` + nsW + ` ` + nsR + `><w:body>` +
			body + `<w:sectPr/></w:body></w:document>`},
	}
}

func wp(style, text string) string {
	ppr := ""
	if style != "" {
		ppr = `<w:pPr><w:pStyle w:val="` + style + `"/></w:pPr>`
	}
	return `<w:p>` + ppr + `<w:r><w:t xml:space="preserve">` + text + `</w:t></w:r></w:p>`
}

func sampleDOCX(tb testing.TB) []byte {
	body := wp("Titre1", "Shelf Manual") +
		wp("", "Shelf keeps your files.") +
		`<w:p><w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr></w:pPr><w:r><w:t>first item</w:t></w:r></w:p>` +
		wp("Heading2", "Setup") +
		`<w:p><w:r><w:t>Run</w:t></w:r><w:r><w:tab/><w:t xml:space="preserve"> shelf serve</w:t></w:r><w:r><w:delText>deleted</w:delText></w:r></w:p>` +
		`<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Name</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Size</w:t></w:r></w:p></w:tc></w:tr>` +
		`<w:tr><w:tc><w:p><w:r><w:t>a.txt</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>12</w:t></w:r></w:p></w:tc></w:tr></w:tbl>`
	return buildZip(tb, docxParts(body)...)
}

func sampleXLSX(tb testing.TB) []byte {
	return buildZip(tb,
		contentTypes("/xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
		rootRels("xl/workbook.xml"),
		part{"xl/workbook.xml", `<?xml version="1.0"?><workbook ` + nsS + ` ` + nsR + `><sheets>` +
			`<sheet name="People" sheetId="1" r:id="rId1"/><sheet name="Totals" sheetId="2" r:id="rId2"/></sheets></workbook>`},
		part{"xl/_rels/workbook.xml.rels", `<?xml version="1.0"?><Relationships ` + relNS + `>` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>` +
			`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/sheet2.xml"/>` +
			`<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>` +
			`</Relationships>`},
		part{"xl/sharedStrings.xml", `<?xml version="1.0"?><sst ` + nsS + ` count="4" uniqueCount="4">` +
			`<si><t>Name</t></si><si><t>Age</t></si><si><r><t>Ann</t></r><r><t>e</t></r></si><si><t>Total</t></si></sst>`},
		part{"xl/worksheets/sheet1.xml", `<?xml version="1.0"?><worksheet ` + nsS + `><sheetData>` +
			`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>` +
			`<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2"><v>42</v></c></row>` +
			`<row r="3"><c r="B3" t="inlineStr"><is><t>unknown</t></is></c></row>` +
			`</sheetData></worksheet>`},
		part{"xl/worksheets/sheet2.xml", `<?xml version="1.0"?><worksheet ` + nsS + `><sheetData>` +
			`<row r="1"><c r="A1" t="s"><v>3</v></c><c r="B1" t="b"><v>1</v></c></row>` +
			`</sheetData></worksheet>`},
	)
}

func slide(title, body string) string {
	return `<?xml version="1.0"?><p:sld ` + nsP + `><p:cSld><p:spTree>` +
		`<p:sp><p:nvSpPr><p:cNvPr id="2" name="Title"/><p:cNvSpPr/><p:nvPr><p:ph type="title"/></p:nvPr></p:nvSpPr>` +
		`<p:txBody><a:p><a:r><a:t>` + title + `</a:t></a:r></a:p></p:txBody></p:sp>` +
		`<p:sp><p:nvSpPr><p:cNvPr id="3" name="Body"/><p:cNvSpPr/><p:nvPr><p:ph idx="1"/></p:nvPr></p:nvSpPr>` +
		`<p:txBody>` + body + `</p:txBody></p:sp>` +
		`</p:spTree></p:cSld></p:sld>`
}

func samplePPTX(tb testing.TB) []byte {
	// Slides are listed out of file-name order to check that the
	// presentation's order wins.
	return buildZip(tb,
		contentTypes("/ppt/presentation.xml", "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"),
		rootRels("ppt/presentation.xml"),
		part{"ppt/presentation.xml", `<?xml version="1.0"?><p:presentation ` + nsP + ` ` + nsR + `><p:sldIdLst>` +
			`<p:sldId id="256" r:id="rId7"/><p:sldId id="257" r:id="rId3"/></p:sldIdLst></p:presentation>`},
		part{"ppt/_rels/presentation.xml.rels", `<?xml version="1.0"?><Relationships ` + relNS + `>` +
			`<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide" Target="slides/slide1.xml"/>` +
			`<Relationship Id="rId7" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide" Target="slides/slide2.xml"/>` +
			`</Relationships>`},
		part{"ppt/slides/slide2.xml", slide("Welcome", `<a:p><a:r><a:t>Shelf keeps files</a:t></a:r></a:p><a:p><a:r><a:t>and finds them</a:t></a:r></a:p>`)},
		part{"ppt/slides/slide1.xml", slide("Roadmap", `<a:p><a:r><a:t>Vectors</a:t></a:r><a:br/><a:r><a:t>next</a:t></a:r></a:p>`)},
	)
}

// pdfString escapes s for a PDF literal string.
func pdfString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`)
	return "(" + r.Replace(s) + ")"
}

// buildPDF writes a PDF with one page per entry of pages; each page shows
// its lines with Helvetica, one line per Td move. objects may replace or
// add objects by number (for hostile files); the cross-reference table is
// always correct for what is written.
func buildPDF(pages [][]string, extra map[int]string) []byte {
	objs := map[int]string{
		1: "<< /Type /Catalog /Pages 2 0 R >>",
		3: "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
	}
	var kids []string
	for i, lines := range pages {
		pageObj, contentObj := 4+2*i, 5+2*i
		kids = append(kids, fmt.Sprintf("%d 0 R", pageObj))
		var cs strings.Builder
		cs.WriteString("BT /F1 12 Tf 72 720 Td\n")
		for j, l := range lines {
			if j > 0 {
				cs.WriteString("0 -14 Td\n")
			}
			cs.WriteString(pdfString(l) + " Tj\n")
		}
		cs.WriteString("ET\n")
		objs[pageObj] = fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R >>", contentObj)
		objs[contentObj] = fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", cs.Len(), cs.String())
	}
	objs[2] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d /Resources << /Font << /F1 3 0 R >> >> >>", strings.Join(kids, " "), len(pages))
	for n, o := range extra {
		objs[n] = o
	}
	return writePDF(objs)
}

// writePDF serialises numbered objects with a correct xref table.
func writePDF(objs map[int]string) []byte {
	maxObj := 0
	for n := range objs {
		maxObj = max(maxObj, n)
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, maxObj+1)
	for n := 1; n <= maxObj; n++ {
		o, ok := objs[n]
		if !ok {
			continue
		}
		offsets[n] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", n, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", maxObj+1)
	for n := 1; n <= maxObj; n++ {
		if offsets[n] == 0 {
			b.WriteString("0000000000 65535 f \n")
			continue
		}
		fmt.Fprintf(&b, "%010d 00000 n \n", offsets[n])
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", maxObj+1, xref)
	return b.Bytes()
}
