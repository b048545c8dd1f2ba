// Package bombs builds a corpus of hostile files for text extraction:
// decompression bombs, files whose one field or token is huge, deep
// nesting, entity expansion and archives that lie about themselves. Tests
// and bench/bombs write it into a temporary directory, so nothing large is
// committed: most files are small on disk and expand only when read.
//
// Every file is one a careless extractor would need gigabytes of memory,
// or minutes, to read; a careful one refuses it (or reads it) quickly and
// within its memory bound.
package bombs

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Bomb is one file of the corpus.
type Bomb struct {
	Name        string // file name, with the extension that types it
	ContentType string
	What        string // what it does to a careless reader
	// Readable marks the files a streaming reader reads without harm,
	// to a short text: they end indexed, every other one fails.
	Readable bool
	write    func(w io.Writer, o Options) error
}

// Options size the corpus.
type Options struct {
	// Big is the size of the files that are big on disk (one CSV field,
	// one JSON string, one line, one HTML text node). Default 250 MiB,
	// just under the extractor's 256 MiB input limit.
	Big int64
	// Flate is how many bytes the compressed bombs inflate to. Default
	// 1 GiB.
	Flate int64
}

func (o Options) withDefaults() Options {
	if o.Big <= 0 {
		o.Big = 250 << 20
	}
	if o.Flate <= 0 {
		o.Flate = 1 << 30
	}
	return o
}

// All returns the corpus, in a fixed order.
func All() []Bomb {
	const (
		docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
		xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	)
	return []Bomb{
		{Name: "pdf-operands.pdf", ContentType: "application/pdf",
			What: "a page whose content stream inflates to 16 MiB of number operands and no operator", write: pdfOperands},
		{Name: "pdf-flate.pdf", ContentType: "application/pdf",
			What: "a page whose content stream is a flate bomb", write: pdfFlate},
		{Name: "pdf-deep.pdf", ContentType: "application/pdf",
			What: "a content stream of 8 MiB of '[' (nested arrays)", write: pdfDeep},
		{Name: "pdf-hex.pdf", ContentType: "application/pdf",
			What: "a content stream that ends inside a hex string (a lexer that reads the end as white space spins for ever)", write: pdfHex},
		{Name: "pdf-xref.pdf", ContentType: "application/pdf",
			What: "a cross-reference table whose one entry is numbered 1,900,000,000", write: pdfXref},
		{Name: "pdf-fonts.pdf", ContentType: "application/pdf",
			What: "4,000 fonts sharing one 1 MiB ToUnicode map, each selected once", write: pdfFonts},
		{Name: "one-field.csv", ContentType: "text/csv",
			What: "one quoted CSV field the size of the file", write: oneField},
		{Name: "many-rows.csv", ContentType: "text/csv",
			What: "16 million one-letter CSV rows (32 MiB)", write: manyRows},
		{Name: "one-string.json", ContentType: "application/json",
			What: "one JSON string the size of the file", write: oneString},
		{Name: "one-line.md", ContentType: "text/markdown",
			What: "one Markdown line the size of the file", write: oneLine},
		{Name: "one-text.html", ContentType: "text/html",
			What: "one HTML text node the size of the file", write: oneText},
		{Name: "deep.json", ContentType: "application/json",
			What: "16 million nested JSON arrays", write: deepJSON},
		{Name: "deep.html", ContentType: "text/html", Readable: true,
			What: "4 million nested <div> elements (a tokenizer builds no tree: it reads the one word inside)", write: deepHTML},
		{Name: "zip-flate.docx", ContentType: docx,
			What: "word/document.xml inflates to one huge text run; its header declares 100 MiB", write: zipFlate},
		{Name: "zip-overlap.xlsx", ContentType: xlsx,
			What: "9,000 sheets whose zip entries all share one compressed kernel of 64 MiB (overlapping entries)", write: zipOverlap},
		{Name: "zip-entries.docx", ContentType: docx,
			What: "65,000 zip entries", write: zipEntries},
		{Name: "billion-laughs.docx", ContentType: docx,
			What: "nested XML entities (billion laughs) in word/document.xml", write: laughsDOCX},
		{Name: "billion-laughs.xml", ContentType: "application/xml", Readable: true,
			What: "nested XML entities (billion laughs) as a plain XML file (read as text: nothing is expanded)", write: laughsXML},
		{Name: "deep.docx", ContentType: docx,
			What: "2 million nested XML elements in word/document.xml", write: deepDOCX},
		{Name: "shared-string.xlsx", ContentType: xlsx,
			What: "one 30 MiB shared string referenced by a million cells", write: sharedHuge},
		{Name: "shared-strings.xlsx", ContentType: xlsx,
			What: "6 million shared strings of 3 to 6 letters (110 MiB)", write: sharedMany},
	}
}

// Write writes the bomb into dir and returns its path.
func (b Bomb) Write(dir string, o Options) (string, error) {
	p := filepath.Join(dir, b.Name)
	f, err := os.Create(p)
	if err != nil {
		return "", err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = b.write(w, o.withDefaults())
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("bomb %s: %w", b.Name, err)
	}
	return p, nil
}

// WriteAll writes the whole corpus into dir and returns the paths by name.
func WriteAll(dir string, o Options) (map[string]string, error) {
	out := map[string]string{}
	for _, b := range All() {
		p, err := b.Write(dir, o)
		if err != nil {
			return nil, err
		}
		out[b.Name] = p
	}
	return out, nil
}

// ---- repetitive deflate streams, built without compressing every byte ----

// deflated is a raw deflate stream of prefix, n bytes of unit, suffix,
// with the CRC-32 and Adler-32 of what it inflates to.
type deflated struct {
	data       []byte
	size       int64
	crc, adler uint32
}

// repeatBlock is the span compressed once and then repeated.
const repeatBlock = 1 << 20

// deflateRepeat compresses prefix, then n bytes of unit repeated, then
// suffix. The repeated middle is compressed once, after a full window of
// it, and the flushed block repeated: its back-references reach only into
// bytes of the same run, so every copy inflates to the same bytes.
func deflateRepeat(prefix []byte, unit string, n int64, suffix []byte) (*deflated, error) {
	return deflateRepeatSums(prefix, unit, n, suffix, false)
}

// zlibRepeat is deflateRepeat with the Adler-32 sum zlib streams need
// (it costs a pass over every byte).
func zlibRepeat(prefix []byte, unit string, n int64, suffix []byte) (*deflated, error) {
	return deflateRepeatSums(prefix, unit, n, suffix, true)
}

func deflateRepeatSums(prefix []byte, unit string, n int64, suffix []byte, zlibSum bool) (*deflated, error) {
	n -= n % int64(len(unit)) // whole units only
	run := []byte(strings.Repeat(unit, repeatBlock/len(unit)))
	span := int64(len(run))
	var buf bytes.Buffer
	fw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		return nil, err
	}
	d := &deflated{}
	crc, adl := crc32.NewIEEE(), adler32.New()
	var sums io.Writer = crc
	if zlibSum {
		sums = io.MultiWriter(crc, adl)
	}
	both := io.MultiWriter(fw, sums)
	both.Write(prefix)
	blocks := n / span
	if blocks < 2 {
		return nil, fmt.Errorf("deflateRepeat: %d bytes is too few to repeat", n)
	}
	both.Write(run) // the first block: its window starts with the prefix
	fw.Flush()
	head := append([]byte(nil), buf.Bytes()...)
	buf.Reset()
	both.Write(run) // the block that is repeated: its window is all run
	fw.Flush()
	mid := append([]byte(nil), buf.Bytes()...)
	buf.Reset()
	// The checksums of the copies not written through both.
	for i := int64(2); i < blocks; i++ {
		sums.Write(run)
	}
	// The tail of the run shorter than a block, then the suffix, all
	// with a window of run bytes.
	rest := n - blocks*span
	tail := append(bytes.Repeat([]byte(unit), int(rest)/len(unit)+1)[:rest], suffix...)
	both.Write(tail)
	fw.Close()
	var out bytes.Buffer
	out.Write(head)
	for i := int64(1); i < blocks; i++ {
		out.Write(mid)
	}
	out.Write(buf.Bytes())
	d.data = out.Bytes()
	d.size = int64(len(prefix)) + n + int64(len(suffix))
	d.crc, d.adler = crc.Sum32(), adl.Sum32()
	return d, nil
}

// zlib wraps a raw deflate stream as zlib (the PDF FlateDecode format).
func (d *deflated) zlib() []byte {
	out := make([]byte, 0, len(d.data)+6)
	out = append(out, 0x78, 0xda)
	out = append(out, d.data...)
	return binary.BigEndian.AppendUint32(out, d.adler)
}

// ---- PDF ----

// pdfOperandBytes is the inflated size of pdf-operands' content stream:
// just under the 16 MiB the extractor measures streams against.
const pdfOperandBytes = 16<<20 - 64<<10

// writePDF writes a one-page PDF whose page content is the given
// (already encoded) stream, with a correct cross-reference table.
func writePDF(w io.Writer, stream []byte, filter string) error {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 /Resources << /Font << /F1 5 0 R >> >> >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
		"", // the content stream
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
	}
	offsets := make([]int, len(objs)+1)
	for i, o := range objs {
		n := i + 1
		offsets[n] = b.Len()
		if n == 4 {
			fmt.Fprintf(&b, "4 0 obj\n<< /Length %d%s >>\nstream\n", len(stream), filter)
			b.Write(stream)
			b.WriteString("\nendstream\nendobj\n")
			continue
		}
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", n, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for n := 1; n <= len(objs); n++ {
		fmt.Fprintf(&b, "%010d 00000 n \n", offsets[n])
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	_, err := w.Write(b.Bytes())
	return err
}

func pdfOperands(w io.Writer, _ Options) error {
	d, err := zlibRepeat([]byte("BT /F1 12 Tf\n"), "1 ", pdfOperandBytes-32, []byte("\nET\n"))
	if err != nil {
		return err
	}
	return writePDF(w, d.zlib(), " /Filter /FlateDecode")
}

func pdfFlate(w io.Writer, o Options) error {
	d, err := zlibRepeat([]byte("BT /F1 12 Tf 72 720 Td ("), "a", o.Flate, []byte(") Tj ET\n"))
	if err != nil {
		return err
	}
	return writePDF(w, d.zlib(), " /Filter /FlateDecode")
}

func pdfDeep(w io.Writer, _ Options) error {
	d, err := zlibRepeat([]byte("BT /F1 12 Tf "), "[", 8<<20, []byte(" ET\n"))
	if err != nil {
		return err
	}
	return writePDF(w, d.zlib(), " /Filter /FlateDecode")
}

func pdfHex(w io.Writer, _ Options) error {
	return writePDF(w, []byte("BT /F1 12 Tf 72 720 Td (hex) Tj <4142"), "")
}

// pdfXref writes a small valid PDF, then a cross-reference table with one
// more subsection, for object 1,900,000,000: a reader that sizes its table
// by the highest object number allocates tens of gigabytes for it.
func pdfXref(w io.Writer, _ Options) error {
	var b bytes.Buffer
	if err := writePDF(&b, []byte("BT /F1 12 Tf 72 720 Td (xref) Tj ET"), ""); err != nil {
		return err
	}
	data := b.Bytes()
	i := bytes.LastIndex(data, []byte("trailer"))
	out := append([]byte(nil), data[:i]...)
	out = append(out, "1900000000 1\n0000000009 00000 n \n"...)
	out = append(out, data[i:]...)
	_, err := w.Write(out)
	return err
}

// pdfFonts writes a page with many font resources that share one large
// ToUnicode map: a reader that parses and keeps the map once per font
// name holds it thousands of times.
func pdfFonts(w io.Writer, _ Options) error {
	const fonts = 4000
	// 1 MiB of bfchar entries, 100 to a block as the format asks.
	var cmap bytes.Buffer
	cmap.WriteString("/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n1 begincodespacerange <0000> <FFFF> endcodespacerange\n")
	for cmap.Len() < 1<<20-4096 {
		cmap.WriteString("100 beginbfchar\n")
		for i := range 100 {
			fmt.Fprintf(&cmap, "<%04X> <%04X>\n", (cmap.Len()+i)&0xffff, 0x41+i%26)
		}
		cmap.WriteString("endbfchar\n")
	}
	cmap.WriteString("endcmap CMapName currentdict /CMap defineresource pop end end\n")
	var z bytes.Buffer
	zw, _ := flate.NewWriter(&z, flate.BestCompression)
	zw.Write(cmap.Bytes())
	zw.Close()
	stream := append([]byte{0x78, 0xda}, z.Bytes()...)
	stream = binary.BigEndian.AppendUint32(stream, adler32.Checksum(cmap.Bytes()))

	var res, content strings.Builder
	res.WriteString("<< /Font << ")
	content.WriteString("BT ")
	for i := range fonts {
		fmt.Fprintf(&res, "/F%d 6 0 R ", i)
		fmt.Fprintf(&content, "/F%d 12 Tf (a) Tj ", i)
	}
	res.WriteString(">> >>")
	content.WriteString("ET\n")
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 /Resources " + res.String() + " >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", content.Len(), content.String()),
		"", // the ToUnicode stream
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 5 0 R >>",
	}
	offsets := make([]int, len(objs)+1)
	for i, o := range objs {
		offsets[i+1] = b.Len()
		if i+1 == 5 {
			fmt.Fprintf(&b, "5 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", len(stream))
			b.Write(stream)
			b.WriteString("\nendstream\nendobj\n")
			continue
		}
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for n := 1; n <= len(objs); n++ {
		fmt.Fprintf(&b, "%010d 00000 n \n", offsets[n])
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	_, err := w.Write(b.Bytes())
	return err
}

// ---- big on disk ----

// repeat writes n bytes of unit.
func repeat(w io.Writer, unit string, n int64) error {
	block := []byte(strings.Repeat(unit, 64<<10/len(unit)+1))
	block = block[:len(block)-len(block)%len(unit)]
	for n > 0 {
		k := min(n, int64(len(block)))
		if _, err := w.Write(block[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

func oneField(w io.Writer, o Options) error {
	io.WriteString(w, "text\n\"")
	if err := repeat(w, "field ", o.Big-16); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\"\n")
	return err
}

func manyRows(w io.Writer, _ Options) error {
	io.WriteString(w, "h\n")
	return repeat(w, "x\n", 32<<20)
}

func oneString(w io.Writer, o Options) error {
	io.WriteString(w, `{"text": "`)
	if err := repeat(w, "string ", o.Big-16); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\"}\n")
	return err
}

func oneLine(w io.Writer, o Options) error {
	io.WriteString(w, "# One line\n\n")
	if err := repeat(w, "word ", o.Big-16); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func oneText(w io.Writer, o Options) error {
	io.WriteString(w, "<html><body><p>")
	if err := repeat(w, "text ", o.Big-32); err != nil {
		return err
	}
	_, err := io.WriteString(w, "</p></body></html>\n")
	return err
}

func deepJSON(w io.Writer, _ Options) error {
	if err := repeat(w, "[", 16<<20); err != nil {
		return err
	}
	return repeat(w, "]", 16<<20)
}

func deepHTML(w io.Writer, _ Options) error {
	io.WriteString(w, "<html><body>")
	if err := repeat(w, "<div>", 4_000_000*5); err != nil {
		return err
	}
	_, err := io.WriteString(w, "deep</body></html>\n")
	return err
}

// ---- OOXML ----

const (
	nsW    = `xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"`
	nsR    = `xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"`
	nsS    = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`
	relNS  = `xmlns="http://schemas.openxmlformats.org/package/2006/relationships"`
	relDoc = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
	relWS  = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
	relSST = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
)

type part struct {
	name string
	body string
}

const contentTypes = `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
	`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
	`<Default Extension="xml" ContentType="application/xml"/></Types>`

func rootRels(target string) part {
	return part{"_rels/.rels", `<?xml version="1.0"?><Relationships ` + relNS + `>` +
		`<Relationship Id="rId1" Type="` + relDoc + `" Target="` + target + `"/></Relationships>`}
}

const docxHead = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document ` + nsW + ` ` + nsR + `><w:body>`
const docxTail = `</w:body></w:document>`

// zipParts writes small parts compressed, then raw entries, in order.
func zipParts(w io.Writer, parts []part, raw func(zw *zip.Writer) error) error {
	zw := zip.NewWriter(w)
	for _, p := range parts {
		fw, err := zw.Create(p.name)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(fw, p.body); err != nil {
			return err
		}
	}
	if raw != nil {
		if err := raw(zw); err != nil {
			return err
		}
	}
	return zw.Close()
}

// rawEntry adds an entry of already deflated data, declaring size bytes.
func rawEntry(zw *zip.Writer, name string, d *deflated, declared uint64) error {
	fw, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CRC32: d.crc,
		CompressedSize64: uint64(len(d.data)), UncompressedSize64: declared})
	if err != nil {
		return err
	}
	_, err = fw.Write(d.data)
	return err
}

func zipFlate(w io.Writer, o Options) error {
	d, err := deflateRepeat([]byte(docxHead+`<w:p><w:r><w:t>`), "a", o.Flate, []byte(`</w:t></w:r></w:p>`+docxTail))
	if err != nil {
		return err
	}
	parts := []part{{"[Content_Types].xml", contentTypes}, rootRels("word/document.xml")}
	return zipParts(w, parts, func(zw *zip.Writer) error {
		return rawEntry(zw, "word/document.xml", d, 100<<20)
	})
}

// zipOverlap writes a workbook of many sheets whose central-directory
// entries all point at the same local file: one compressed kernel read
// again for every sheet (David Fifield's non-recursive zip bomb).
func zipOverlap(w io.Writer, _ Options) error {
	const sheets = 9000 // under the extractor's 10,000 entries
	row := `<row><c t="inlineStr"><is><t>overlap</t></is></c></row>`
	d, err := deflateRepeat([]byte(`<?xml version="1.0"?><worksheet `+nsS+`><sheetData>`), row, 64<<20,
		[]byte(`</sheetData></worksheet>`))
	if err != nil {
		return err
	}
	var wb, rels strings.Builder
	wb.WriteString(`<?xml version="1.0"?><workbook ` + nsS + ` ` + nsR + `><sheets>`)
	rels.WriteString(`<?xml version="1.0"?><Relationships ` + relNS + `>`)
	for i := range sheets {
		fmt.Fprintf(&wb, `<sheet name="S%d" sheetId="%d" r:id="r%d"/>`, i, i+1, i)
		fmt.Fprintf(&rels, `<Relationship Id="r%d" Type="%s" Target="worksheets/s%d.xml"/>`, i, relWS, i)
	}
	wb.WriteString(`</sheets></workbook>`)
	rels.WriteString(`</Relationships>`)
	small := []part{{"[Content_Types].xml", contentTypes}, rootRels("xl/workbook.xml"),
		{"xl/workbook.xml", wb.String()}, {"xl/_rels/workbook.xml.rels", rels.String()}}
	return writeOverlapZip(w, small, d, sheets)
}

// writeOverlapZip writes the small parts, one local file holding d, and a
// central directory naming it n times as xl/worksheets/s<i>.xml.
func writeOverlapZip(w io.Writer, small []part, d *deflated, n int) error {
	var b bytes.Buffer
	type entry struct {
		name       string
		method     uint16
		crc        uint32
		comp, size uint64
		off        uint32
	}
	var entries []entry
	local := func(name string, method uint16, crc uint32, comp, size uint64, data []byte) {
		off := uint32(b.Len())
		b.Write(binary.LittleEndian.AppendUint32(nil, 0x04034b50))
		le := func(v ...any) {
			for _, x := range v {
				binary.Write(&b, binary.LittleEndian, x)
			}
		}
		le(uint16(20), uint16(0), method, uint16(0), uint16(0x21), crc, uint32(comp), uint32(size), uint16(len(name)), uint16(0))
		b.WriteString(name)
		b.Write(data)
		entries = append(entries, entry{name, method, crc, comp, size, off})
	}
	for _, p := range small {
		local(p.name, 0, crc32.ChecksumIEEE([]byte(p.body)), uint64(len(p.body)), uint64(len(p.body)), []byte(p.body))
	}
	kernel := uint32(b.Len())
	local("xl/worksheets/s0.xml", 8, d.crc, uint64(len(d.data)), uint64(d.size), d.data)
	for i := 1; i < n; i++ {
		entries = append(entries, entry{fmt.Sprintf("xl/worksheets/s%d.xml", i), 8, d.crc, uint64(len(d.data)), uint64(d.size), kernel})
	}
	cd := b.Len()
	for _, e := range entries {
		b.Write(binary.LittleEndian.AppendUint32(nil, 0x02014b50))
		for _, x := range []any{uint16(20), uint16(20), uint16(0), e.method, uint16(0), uint16(0x21), e.crc,
			uint32(e.comp), uint32(e.size), uint16(len(e.name)), uint16(0), uint16(0), uint16(0), uint16(0), uint32(0), e.off} {
			binary.Write(&b, binary.LittleEndian, x)
		}
		b.WriteString(e.name)
	}
	end := b.Len()
	b.Write(binary.LittleEndian.AppendUint32(nil, 0x06054b50))
	for _, x := range []any{uint16(0), uint16(0), uint16(len(entries)), uint16(len(entries)), uint32(end - cd), uint32(cd), uint16(0)} {
		binary.Write(&b, binary.LittleEndian, x)
	}
	_, err := w.Write(b.Bytes())
	return err
}

func zipEntries(w io.Writer, _ Options) error {
	parts := []part{{"[Content_Types].xml", contentTypes}, rootRels("word/document.xml"),
		{"word/document.xml", docxHead + `<w:p><w:r><w:t>many entries</w:t></w:r></w:p>` + docxTail}}
	return zipParts(w, parts, func(zw *zip.Writer) error {
		for i := range 65000 {
			if _, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("e/%d", i), Method: zip.Store}); err != nil {
				return err
			}
		}
		return nil
	})
}

// laughs is the billion-laughs DTD: &lol9; stands for 10^9 "lol"s.
func laughs() string {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE lolz [<!ENTITY lol "lol">`)
	for i := 1; i <= 9; i++ {
		prev := "lol"
		if i > 1 {
			prev = fmt.Sprintf("lol%d", i-1)
		}
		fmt.Fprintf(&b, `<!ENTITY lol%d "%s">`, i, strings.Repeat("&"+prev+";", 10))
	}
	b.WriteString(`]>`)
	return b.String()
}

func laughsDOCX(w io.Writer, _ Options) error {
	doc := `<?xml version="1.0"?>` + laughs() + `<w:document ` + nsW + `><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>`
	return zipParts(w, []part{{"[Content_Types].xml", contentTypes}, rootRels("word/document.xml"), {"word/document.xml", doc}}, nil)
}

func laughsXML(w io.Writer, _ Options) error {
	_, err := io.WriteString(w, `<?xml version="1.0"?>`+laughs()+"<lolz>&lol9;</lolz>\n")
	return err
}

func deepDOCX(w io.Writer, _ Options) error {
	const depth = 2_000_000
	d, err := deflateRepeat([]byte(docxHead), "<w:sdt>", depth*7, []byte(strings.Repeat("</w:sdt>", depth)+docxTail))
	if err != nil {
		return err
	}
	parts := []part{{"[Content_Types].xml", contentTypes}, rootRels("word/document.xml")}
	return zipParts(w, parts, func(zw *zip.Writer) error {
		return rawEntry(zw, "word/document.xml", d, uint64(d.size))
	})
}

// xlsx writes a one-sheet workbook with the given shared strings stream
// and sheet stream.
func xlsx(w io.Writer, sst, sheet *deflated) error {
	parts := []part{{"[Content_Types].xml", contentTypes}, rootRels("xl/workbook.xml"),
		{"xl/workbook.xml", `<?xml version="1.0"?><workbook ` + nsS + ` ` + nsR + `><sheets><sheet name="S" sheetId="1" r:id="r1"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<?xml version="1.0"?><Relationships ` + relNS + `>` +
			`<Relationship Id="r1" Type="` + relWS + `" Target="worksheets/sheet1.xml"/>` +
			`<Relationship Id="r2" Type="` + relSST + `" Target="sharedStrings.xml"/></Relationships>`}}
	return zipParts(w, parts, func(zw *zip.Writer) error {
		if err := rawEntry(zw, "xl/sharedStrings.xml", sst, uint64(sst.size)); err != nil {
			return err
		}
		return rawEntry(zw, "xl/worksheets/sheet1.xml", sheet, uint64(sheet.size))
	})
}

// letters returns n pseudo-random lower-case letters and spaces: text
// that deflates about 1.7:1 alone, and about 80:1 when repeated within
// the 32 KiB window, under the extractor's 200:1 ratio check.
func letters(n int) string {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = "abcdefghijklmnopqrstuvwxyz     "[x%31]
	}
	return string(b)
}

func sharedHuge(w io.Writer, _ Options) error {
	sst, err := deflateRepeat([]byte(`<?xml version="1.0"?><sst `+nsS+`><si><t>`), letters(16<<10), 30<<20, []byte(`</t></si></sst>`))
	if err != nil {
		return err
	}
	const cell = `<row><c t="s"><v>0</v></c></row>`
	sheet, err := deflateRepeat([]byte(`<?xml version="1.0"?><worksheet `+nsS+`><sheetData>`), cell, 1_000_000*int64(len(cell)),
		[]byte(`</sheetData></worksheet>`))
	if err != nil {
		return err
	}
	return xlsx(w, sst, sheet)
}

func sharedMany(w io.Writer, _ Options) error {
	// 512 shared strings of 3 to 6 letters, repeated: 110 MiB in all.
	var unit strings.Builder
	l := letters(4096)
	for i := 0; unit.Len() < 16<<10; i++ {
		k := 3 + i%4
		unit.WriteString("<si><t>" + l[(i*7)%4000:(i*7)%4000+k] + "</t></si>")
	}
	sst, err := deflateRepeat([]byte(`<?xml version="1.0"?><sst `+nsS+`>`), unit.String(), 110<<20, []byte(`</sst>`))
	if err != nil {
		return err
	}
	sheet, err := deflateRepeat([]byte(`<?xml version="1.0"?><worksheet `+nsS+`><sheetData>`), `<row><c t="s"><v>1</v></c></row>`, 4<<20,
		[]byte(`</sheetData></worksheet>`))
	if err != nil {
		return err
	}
	return xlsx(w, sst, sheet)
}
