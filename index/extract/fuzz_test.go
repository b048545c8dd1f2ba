package extract_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/index/extract"
)

// fuzzLimits keep each fuzz run small and quick.
var fuzzLimits = extract.Limits{MaxOutput: 1 << 20, MaxEntryBytes: 4 << 20, MaxItems: 200_000, Timeout: 5 * time.Second}

// fuzzOne extracts data and checks that the result is either a valid
// document or an error with an expected code.
func fuzzOne(t *testing.T, data []byte, contentType, name string) {
	d, err := extractBytes(t, data, contentType, name, fuzzLimits)
	if err != nil {
		switch shelf.ErrorCode(err) {
		case shelf.EINVALID, shelf.ETOOLARGE, shelf.ENOTIMPL:
			return
		}
		t.Fatalf("unexpected error %v", err)
	}
	checkDoc(t, d)
}

func FuzzExtractText(f *testing.F) {
	f.Add([]byte("# T\n\npara\n\n- item\n\n```\ncode\n```\n| a | b |\n|---|---|\n| 1 | 2 |\n"), true)
	f.Add([]byte("<html><h2>x</h2><table><tr><td>a<td>b</table><pre>p</pre><script>s</script>"), false)
	f.Add([]byte("text\x00with\xffjunk\r\n\r\nnext"), true)
	f.Fuzz(func(t *testing.T, data []byte, markdown bool) {
		if markdown {
			fuzzOne(t, data, "text/markdown", "f.md")
		} else {
			fuzzOne(t, data, "text/html", "f.html")
		}
	})
}

func FuzzExtractJSON(f *testing.F) {
	f.Add([]byte(`{"a":{"b":[1,2,{"c":null}]},"d":"e"}`), false)
	f.Add([]byte(`[[[[[[1]]]]]]`), false)
	f.Add([]byte("{\"a\":1}\n{\"b\":2}\n"), true)
	f.Add([]byte(`{"a":`), false)
	f.Fuzz(func(t *testing.T, data []byte, lines bool) {
		if lines {
			fuzzOne(t, data, "application/x-ndjson", "f.jsonl")
		} else {
			fuzzOne(t, data, "application/json", "f.json")
		}
	})
}

func FuzzExtractCSV(f *testing.F) {
	f.Add([]byte("a,b\n1,\"2\n3\"\n,,\n"))
	f.Add([]byte("x;y;z\n1;2\n\"unterminated"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzOne(t, data, "text/csv", "f.csv")
	})
}

func FuzzExtractOOXML(f *testing.F) {
	f.Add(sampleDOCX(f), uint8(0))
	f.Add(sampleXLSX(f), uint8(1))
	f.Add(samplePPTX(f), uint8(2))
	names := []string{"f.docx", "f.xlsx", "f.pptx"}
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		fuzzOne(t, data, "", names[int(kind)%len(names)])
	})
}

// FuzzExtractOOXMLParts fuzzes the XML inside a valid package, which byte
// mutations of a zip rarely reach past the CRC check.
func FuzzExtractOOXMLParts(f *testing.F) {
	f.Add(wp("Heading1", "t")+`<w:tbl><w:tr><w:tc><w:p><w:r><w:t>c</w:t></w:r></w:p></w:tc></w:tr></w:tbl>`, uint8(0))
	f.Add(`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="ZZZ9" t="inlineStr"><is><t>x</t></is></c></row>`, uint8(1))
	f.Add(`<a:p><a:r><a:t>x</a:t></a:r></a:p>`, uint8(2))
	f.Fuzz(func(t *testing.T, xml string, kind uint8) {
		var data []byte
		switch kind % 3 {
		case 0:
			data = buildZip(t, docxParts(xml)...)
		case 1:
			data = buildZip(t, contentTypes(), rootRels("xl/workbook.xml"),
				part{"xl/workbook.xml", `<workbook ` + nsS + ` ` + nsR + `><sheets><sheet name="S" r:id="r1"/></sheets></workbook>`},
				part{"xl/_rels/workbook.xml.rels", `<Relationships ` + relNS + `><Relationship Id="r1" Target="s.xml"/></Relationships>`},
				part{"xl/sharedStrings.xml", `<sst ` + nsS + `><si><t>s0</t></si></sst>`},
				part{"xl/s.xml", `<worksheet ` + nsS + `><sheetData>` + xml + `</sheetData></worksheet>`})
		default:
			data = buildZip(t, contentTypes(), rootRels("ppt/presentation.xml"),
				part{"ppt/presentation.xml", `<p:presentation ` + nsP + ` ` + nsR + `><p:sldIdLst><p:sldId id="1" r:id="r1"/></p:sldIdLst></p:presentation>`},
				part{"ppt/_rels/presentation.xml.rels", `<Relationships ` + relNS + `><Relationship Id="r1" Target="slides/s.xml"/></Relationships>`},
				part{"ppt/slides/s.xml", slide("T", xml)})
		}
		fuzzOne(t, data, "", []string{"f.docx", "f.xlsx", "f.pptx"}[kind%3])
	})
}

// FuzzPDFContent fuzzes a page's content stream, which the scanner
// reads before the library's interpreter does.
func FuzzPDFContent(f *testing.F) {
	f.Add("BT /F1 12 Tf 72 720 Td (Hello) Tj 0 -14 Td [(W) -20 (orld)] TJ ET")
	f.Add("/OC << /Type /OCMD /OCGs [1 0 R] >> BDC (a \\(b\\) c) Tj <414243> Tj EMC % c [[\n")
	f.Add("[[[[ << << ] ] >> ) ( 1 2 3.4.5 -.5 true null")
	f.Fuzz(func(t *testing.T, content string) {
		fuzzOne(t, pdfWithContent(content), "application/pdf", "f.pdf")
	})
}

func FuzzExtractPDF(f *testing.F) {
	f.Add(buildPDF([][]string{{"Hello", "world"}, {"two"}}, nil))
	f.Add(objStmCyclePDF())
	good := buildPDF([][]string{{"x"}}, nil)
	i := bytes.LastIndex(good, []byte("trailer"))
	f.Add(append(append(append([]byte(nil), good[:i]...), "1900000000 1\n0000000009 00000 n \n"...), good[i:]...))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzOne(t, data, "application/pdf", "f.pdf")
	})
}
