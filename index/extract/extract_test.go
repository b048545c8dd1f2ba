package extract_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/index/extract"
)

func extractBytes(t testing.TB, data []byte, contentType, name string, lim extract.Limits) (*extract.Doc, error) {
	t.Helper()
	return extract.Extract(context.Background(), bytes.NewReader(data), int64(len(data)), contentType, name, lim)
}

func mustExtract(t *testing.T, data []byte, contentType, name string) *extract.Doc {
	t.Helper()
	d, err := extractBytes(t, data, contentType, name, extract.Limits{})
	if err != nil {
		t.Fatalf("Extract(%s): %v", name, err)
	}
	checkDoc(t, d)
	return d
}

// checkDoc checks the invariants every document keeps.
func checkDoc(t testing.TB, d *extract.Doc) {
	t.Helper()
	last := 0
	for i, b := range d.Blocks {
		if b.Start < last || b.End < b.Start || b.End > len(d.Text) {
			t.Fatalf("block %d: bad offsets [%d,%d) (text %d bytes, previous end %d)", i, b.Start, b.End, len(d.Text), last)
		}
		if d.Text[b.Start:b.End] != b.Text {
			t.Fatalf("block %d: Text %q != Doc.Text[%d:%d] %q", i, b.Text, b.Start, b.End, d.Text[b.Start:b.End])
		}
		if b.Text == "" || strings.ContainsRune(b.Text, 0) || !utf8.ValidString(b.Text) {
			t.Fatalf("block %d: text %q is empty, has a NUL or is not UTF-8", i, b.Text)
		}
		if (b.Kind == extract.Heading) != (b.Level >= 1 && b.Level <= 6) {
			t.Fatalf("block %d: kind %v with level %d", i, b.Kind, b.Level)
		}
		last = b.End
	}
}

// brief renders blocks as "kind/level/page: text" lines for comparisons.
func brief(d *extract.Doc) []string {
	var out []string
	for _, b := range d.Blocks {
		out = append(out, fmt.Sprintf("%v/%d/%d: %s", b.Kind, b.Level, b.Page, b.Text))
	}
	return out
}

func wantBlocks(t *testing.T, d *extract.Doc, want ...string) {
	t.Helper()
	got := brief(d)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("blocks:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := shelf.ErrorCode(err); got != code {
		t.Fatalf("error code = %q, want %q (err = %v)", got, code, err)
	}
}

func TestMarkdown(t *testing.T) {
	src := "# Intro\n\nShelf keeps\nfiles   and\tdocuments.\n\n## Setup\n\n- install it\n- run `shelf serve`\n  with flags\n\n" +
		"```go\nfunc main() {\n\tserve()\n}\n```\n\n| Name | Size |\n|------|-----:|\n| a.txt | 12 |\n| b\\|c | |\n\nSetext\n======\n\n---\n> quoted text\n"
	d := mustExtract(t, []byte(src), "text/markdown", "readme.md")
	wantBlocks(t, d,
		"heading/1/0: Intro",
		"paragraph/0/0: Shelf keeps files and documents.",
		"heading/2/0: Setup",
		"list_item/0/0: install it",
		"list_item/0/0: run `shelf serve` with flags",
		"code/0/0: func main() {\n\tserve()\n}",
		"row/0/0: Name | Size",
		"row/0/0: Name: a.txt | Size: 12",
		"row/0/0: Name: b|c",
		"heading/1/0: Setext",
		"paragraph/0/0: quoted text",
	)
	if !strings.HasPrefix(d.Text, "Intro"+extract.Separator+"Shelf keeps") {
		t.Fatalf("Doc.Text starts %q", d.Text[:30])
	}
}

func TestPlainTextNormalises(t *testing.T) {
	src := "caf\xc3\xa9 \x00bad\xffbyte\x07 here\r\nsecond line\n\n\n  # not a heading\n"
	d := mustExtract(t, []byte(src), "text/plain; charset=utf-8", "notes.txt")
	wantBlocks(t, d,
		"paragraph/0/0: café bad\uFFFDbyte here second line",
		"paragraph/0/0: # not a heading",
	)
}

func TestHTML(t *testing.T) {
	src := `<!doctype html><html><head><title>Doc title</title><style>p{color:red}</style>
<script>var secret = "do not index";</script></head><body>
<nav>Home</nav><h1>Main <em>title</em></h1><p>First   paragraph<br>continues.</p>
<ul><li>one</li><li>two <b>bold</b></li></ul>
<pre>line 1
  line 2</pre>
<table><tr><th>Name</th><th>Size</th></tr><tr><td>a.txt</td><td>12</td></tr></table>
<h3>Sub</h3><div>tail &amp; more<noscript>no</noscript></div></body></html>`
	d := mustExtract(t, []byte(src), "text/html", "page.html")
	wantBlocks(t, d,
		"paragraph/0/0: Doc title",
		"paragraph/0/0: Home",
		"heading/1/0: Main title",
		"paragraph/0/0: First paragraph continues.",
		"list_item/0/0: one",
		"list_item/0/0: two bold",
		"code/0/0: line 1\n  line 2",
		"row/0/0: Name | Size",
		"row/0/0: Name: a.txt | Size: 12",
		"heading/3/0: Sub",
		"paragraph/0/0: tail & more",
	)
	if strings.Contains(d.Text, "secret") || strings.Contains(d.Text, "color") {
		t.Fatalf("script or style leaked: %q", d.Text)
	}
}

func TestJSON(t *testing.T) {
	src := `{"title": "Shelf", "tags": ["a", "b"], "owner": {"name": "Ann", "age": 42, "admin": true, "x": null}, "n": 1.5}`
	d := mustExtract(t, []byte(src), "application/json", "meta.json")
	wantBlocks(t, d,
		"paragraph/0/0: title: Shelf",
		"paragraph/0/0: tags[0]: a\ntags[1]: b",
		"paragraph/0/0: owner.name: Ann\nowner.age: 42\nowner.admin: true\nowner.x: null",
		"paragraph/0/0: n: 1.5",
	)
	d = mustExtract(t, []byte(`[{"id":1},{"id":2,"s":"line\nbreak"}]`), "", "list.json")
	wantBlocks(t, d, "paragraph/0/0: [0].id: 1", "paragraph/0/0: [1].id: 2\n[1].s: line break")
	d = mustExtract(t, []byte("{\"a\":1,\"b\":{\"c\":2}}\n{\"a\":3}\n"), "application/x-ndjson", "rows")
	wantBlocks(t, d, "paragraph/0/0: a: 1\nb.c: 2", "paragraph/0/0: a: 3")
}

func TestCSV(t *testing.T) {
	src := "name,size,note\r\na.txt,12,\"has, comma\"\nb.txt,,\"multi\nline\"\n"
	d := mustExtract(t, []byte(src), "text/csv", "files.csv")
	wantBlocks(t, d,
		"row/0/0: name | size | note",
		"row/0/0: name: a.txt | size: 12 | note: has, comma",
		"row/0/0: name: b.txt | note: multi line",
	)
	d = mustExtract(t, []byte("a;b\n1;2\n"), "", "semi.csv")
	wantBlocks(t, d, "row/0/0: a | b", "row/0/0: a: 1 | b: 2")
	d = mustExtract(t, []byte("a\tb\n1\t2\n"), "text/tab-separated-values", "x.tsv")
	wantBlocks(t, d, "row/0/0: a | b", "row/0/0: a: 1 | b: 2")
}

func TestDOCX(t *testing.T) {
	d := mustExtract(t, sampleDOCX(t), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "manual.docx")
	wantBlocks(t, d,
		"heading/1/0: Shelf Manual", // style id "Titre1" named "heading 1" in styles.xml
		"paragraph/0/0: Shelf keeps your files.",
		"list_item/0/0: first item",
		"heading/2/0: Setup",
		"paragraph/0/0: Run shelf serve",
		"row/0/0: Name | Size",
		"row/0/0: Name: a.txt | Size: 12",
	)
}

func TestXLSX(t *testing.T) {
	d := mustExtract(t, sampleXLSX(t), "", "book.xlsx")
	wantBlocks(t, d,
		"heading/1/1: People",
		"row/0/1: Name | Age",
		"row/0/1: Name: Anne | Age: 42",
		"row/0/1: Age: unknown",
		"heading/1/2: Totals",
		"row/0/2: Total | TRUE",
	)
	if d.Pages != 2 {
		t.Fatalf("Pages = %d, want 2", d.Pages)
	}
}

func TestPPTX(t *testing.T) {
	d := mustExtract(t, samplePPTX(t), "application/vnd.openxmlformats-officedocument.presentationml.presentation", "deck.pptx")
	wantBlocks(t, d,
		"heading/1/1: Welcome",
		"paragraph/0/1: Shelf keeps files",
		"paragraph/0/1: and finds them",
		"heading/1/2: Roadmap",
		"paragraph/0/2: Vectors next",
	)
	if d.Pages != 2 {
		t.Fatalf("Pages = %d, want 2", d.Pages)
	}
}

func TestSniffGenericTypes(t *testing.T) {
	// No content type and no extension: the bytes decide.
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"docx", sampleDOCX(t), "Shelf Manual"},
		{"pdf", buildPDF([][]string{{"Sniffed page"}}, nil), "Sniffed page"},
		{"text", []byte("just some text"), "just some text"},
		{"html", []byte("<html><body><p>hi there</p></body></html>"), "hi there"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := mustExtract(t, c.data, "application/octet-stream", "blob")
			if !strings.Contains(d.Text, c.want) {
				t.Fatalf("text %q does not contain %q", d.Text, c.want)
			}
		})
	}
}

func TestPDF(t *testing.T) {
	data := buildPDF([][]string{
		{"Hello (PDF) world", "second line"},
		{"Page two text"},
	}, nil)
	d := mustExtract(t, data, "application/pdf", "hello.pdf")
	wantBlocks(t, d,
		"paragraph/0/1: Hello (PDF) world second line",
		"paragraph/0/2: Page two text",
	)
	if d.Pages != 2 {
		t.Fatalf("Pages = %d, want 2", d.Pages)
	}
}

// TestDebianPDFs reads PDFs that Debian packages ship, when installed.
func TestDebianPDFs(t *testing.T) {
	files := []struct{ path, want string }{
		{"/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf", "MIME"},
		{"/usr/share/doc/libtasn1-doc/libtasn1.pdf", "ASN"},
	}
	ran := 0
	for _, f := range files {
		data, err := os.ReadFile(f.path)
		if err != nil {
			continue
		}
		ran++
		t.Run(f.path, func(t *testing.T) {
			start := time.Now()
			d := mustExtract(t, data, "application/pdf", f.path)
			if d.Pages < 2 || !strings.Contains(d.Text, f.want) {
				t.Fatalf("pages %d, text has %q: %v (first bytes %q)", d.Pages, f.want, strings.Contains(d.Text, f.want), d.Text[:min(200, len(d.Text))])
			}
			pages := map[int]bool{}
			for _, b := range d.Blocks {
				pages[b.Page] = true
			}
			if len(pages) < d.Pages/2 {
				t.Fatalf("text found on %d of %d pages", len(pages), d.Pages)
			}
			t.Logf("%d pages, %d blocks, %d bytes in %v", d.Pages, len(d.Blocks), len(d.Text), time.Since(start))
		})
	}
	if ran == 0 {
		t.Skip("no Debian-shipped PDF installed (apt-get install shared-mime-info libtasn1-doc)")
	}
}

func TestUnsupported(t *testing.T) {
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...)
	for _, c := range []struct {
		ct, name string
		data     []byte
	}{
		{"image/png", "photo.png", png},
		{"application/octet-stream", "blob.bin", []byte{0, 1, 2, 3, 0xff, 0xfe, 0, 0}},
		{"", "", png},
		{"application/zip", "archive.zip", buildZip(t, part{"a.txt", "x"})},
	} {
		_, err := extractBytes(t, c.data, c.ct, c.name, extract.Limits{})
		wantCode(t, err, shelf.ENOTIMPL)
		if !strings.Contains(shelf.ErrorMessage(err), "not supported") {
			t.Fatalf("message %q does not say why", shelf.ErrorMessage(err))
		}
		if extract.Supported(c.ct, c.name) {
			t.Fatalf("Supported(%q, %q) = true", c.ct, c.name)
		}
	}
	for _, c := range [][2]string{{"application/pdf", ""}, {"", "a.docx"}, {"text/plain", "x"}, {"text/x-go", "main.go"}, {"application/octet-stream", "a.md"}} {
		if !extract.Supported(c[0], c[1]) {
			t.Fatalf("Supported(%q, %q) = false", c[0], c[1])
		}
	}
}

// ---- hostile input ----

// bounded runs f and fails if it takes too long or allocates far more than
// limit bytes.
func bounded(t *testing.T, limit uint64, f func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	if el := time.Since(start); el > 20*time.Second {
		t.Fatalf("took %v", el)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > limit {
		t.Fatalf("allocated %d MiB, want under %d MiB", got>>20, limit>>20)
	}
}

func TestZipBomb(t *testing.T) {
	// document.xml inflates to 64 MiB of one repeated byte inside one
	// paragraph, from about 64 KiB.
	comp := deflateBomb(t, 64<<20)
	honest := bombDOCX(t, comp, 64<<20, false)
	lying := bombDOCX(t, comp, 64<<20, true)
	for _, c := range []struct {
		name string
		data []byte
		lim  extract.Limits
		code string
	}{
		// Past the compression ratio while streaming.
		{"ratio", honest, extract.Limits{MaxEntryBytes: 128 << 20}, shelf.ETOOLARGE},
		// The declared size alone is over the limit.
		{"declared", honest, extract.Limits{MaxEntryBytes: 8 << 20}, shelf.ETOOLARGE},
		// The header claims 1 KiB: reading past it is a corrupt archive.
		{"lying", lying, extract.Limits{MaxEntryBytes: 8 << 20, MaxRatio: 1 << 20}, shelf.EINVALID},
	} {
		t.Run(c.name, func(t *testing.T) {
			bounded(t, 128<<20, func() {
				_, err := extractBytes(t, c.data, "", "bomb.docx", c.lim)
				wantCode(t, err, c.code)
			})
		})
	}
}

// bombDOCX builds a DOCX whose document.xml inflates to size bytes; with
// lie its zip header declares 1 KiB.
func bombDOCX(t *testing.T, comp []byte, size int, lie bool) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range docxParts("") {
		if p.name == "word/document.xml" {
			continue
		}
		w, _ := zw.Create(p.name)
		w.Write([]byte(p.body))
	}
	declared := uint64(size)
	if lie {
		declared = 1024
	}
	w, err := zw.CreateRaw(&zip.FileHeader{
		Name: "word/document.xml", Method: zip.Deflate, CRC32: 1234,
		CompressedSize64: uint64(len(comp)), UncompressedSize64: declared,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(comp)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// deflateBomb returns a raw deflate stream of a document.xml opening
// followed by size bytes of "a".
func deflateBomb(t *testing.T, size int) []byte {
	var comp bytes.Buffer
	fw, err := flate.NewWriter(&comp, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(fw, `<?xml version="1.0"?><w:document %s><w:body><w:p><w:r><w:t>`, nsW)
	chunk := bytes.Repeat([]byte("a"), 1<<20)
	for range size >> 20 {
		fw.Write(chunk)
	}
	fw.Close()
	return comp.Bytes()
}

func TestTooManyZipEntries(t *testing.T) {
	parts := docxParts(wp("", "hi"))
	for i := range 200 {
		parts = append(parts, part{fmt.Sprintf("junk/%d.xml", i), ""})
	}
	_, err := extractBytes(t, buildZip(t, parts...), "", "many.docx", extract.Limits{MaxEntries: 100})
	wantCode(t, err, shelf.ETOOLARGE)
}

func TestDeepXML(t *testing.T) {
	body := strings.Repeat("<w:sdt>", 10000) + strings.Repeat("</w:sdt>", 10000)
	_, err := extractBytes(t, buildZip(t, docxParts(body)...), "", "deep.docx", extract.Limits{})
	wantCode(t, err, shelf.ETOOLARGE)
}

func TestCorruptDOCX(t *testing.T) {
	good := sampleDOCX(t)
	for name, data := range map[string][]byte{
		"truncated": good[:len(good)/2],
		"badxml":    buildZip(t, docxParts("<w:p><w:t>unclosed</w:p>")...),
		"nomain":    buildZip(t, contentTypes()),
	} {
		_, err := extractBytes(t, data, "", name+".docx", extract.Limits{})
		wantCode(t, err, shelf.EINVALID)
	}
}

func TestDeepJSON(t *testing.T) {
	deep := strings.Repeat("[", 1_000_000) + strings.Repeat("]", 1_000_000)
	bounded(t, 128<<20, func() {
		_, err := extractBytes(t, []byte(deep), "application/json", "deep.json", extract.Limits{})
		wantCode(t, err, shelf.ETOOLARGE)
	})
	_, err := extractBytes(t, []byte(`{"a": [1, 2`), "application/json", "cut.json", extract.Limits{})
	wantCode(t, err, shelf.EINVALID)
}

func TestHugeCSV(t *testing.T) {
	data := bytes.Repeat([]byte("a,b,c\n"), 2_000_000) // 12 MB, 2M records
	bounded(t, 512<<20, func() {
		_, err := extractBytes(t, data, "text/csv", "huge.csv", extract.Limits{MaxItems: 100_000})
		wantCode(t, err, shelf.ETOOLARGE)
	})
	_, err := extractBytes(t, data, "text/csv", "huge.csv", extract.Limits{MaxOutput: 1 << 20})
	wantCode(t, err, shelf.ETOOLARGE)
}

func TestInputLimit(t *testing.T) {
	_, err := extractBytes(t, []byte("0123456789"), "text/plain", "a.txt", extract.Limits{MaxInput: 5})
	wantCode(t, err, shelf.ETOOLARGE)
}

func TestHugeLineWithoutBreaks(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 8<<20)
	_, err := extractBytes(t, data, "text/plain", "a.txt", extract.Limits{MaxOutput: 1 << 20})
	wantCode(t, err, shelf.ETOOLARGE)
}

func TestTimeout(t *testing.T) {
	data := bytes.Repeat([]byte("word "), 4<<20)
	start := time.Now()
	_, err := extractBytes(t, data, "text/plain", "a.txt", extract.Limits{Timeout: time.Millisecond})
	wantCode(t, err, shelf.ETIMEOUT)
	if time.Since(start) > 5*time.Second {
		t.Fatalf("timeout took %v", time.Since(start))
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := extract.Extract(ctx, bytes.NewReader([]byte("text")), 4, "text/plain", "a.txt", extract.Limits{})
	if err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Fatalf("err = %v, want a cancellation", err)
	}
}

func TestHostilePDFs(t *testing.T) {
	good := buildPDF([][]string{{"one"}, {"two"}}, nil)
	cases := map[string]struct {
		data []byte
		code string
	}{
		"truncated": {good[:len(good)/2], shelf.EINVALID},
		"garbage":   {append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{0xde, 0xad}, 500)...), shelf.EINVALID},
		// The page tree's Kids point back at the root node.
		"kids-loop": {buildPDF([][]string{{"x"}}, map[int]string{2: "<< /Type /Pages /Kids [2 0 R 4 0 R] /Count 2 >>"}), shelf.EINVALID},
		// An object that is a reference to itself, used as the page tree.
		"self-ref": {buildPDF([][]string{{"x"}}, map[int]string{1: "<< /Type /Catalog /Pages 9 0 R >>", 9: "9 0 R"}), shelf.EINVALID},
		// /Length points at itself: read as an empty page, or refused.
		"length-loop": {buildPDF([][]string{{"x"}}, map[int]string{5: "<< /Length 5 0 R >>\nstream\nBT ET\nendstream"}), ""},
		// A cross-reference stream that puts an object stream inside itself
		// (fatal recursion in the library if it ever saw it).
		"objstm-cycle": {objStmCyclePDF(), shelf.EINVALID},
		// A content stream that is a flate bomb.
		"content-bomb": {contentBombPDF(t), shelf.ETOOLARGE},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			bounded(t, 512<<20, func() {
				start := time.Now()
				_, err := extractBytes(t, c.data, "application/pdf", name+".pdf", extract.Limits{Timeout: 10 * time.Second})
				if c.code != "" || err != nil {
					wantCode(t, err, c.code)
				}
				t.Logf("%v in %v", err, time.Since(start))
			})
		})
	}
}

func TestPDFPageLimit(t *testing.T) {
	pages := make([][]string, 30)
	for i := range pages {
		pages[i] = []string{fmt.Sprint("page ", i)}
	}
	_, err := extractBytes(t, buildPDF(pages, nil), "application/pdf", "many.pdf", extract.Limits{MaxPages: 10})
	wantCode(t, err, shelf.ETOOLARGE)
}

// objStmCyclePDF writes a PDF whose cross-reference stream says object 2
// (the page tree) is inside object stream 6, and object 6 inside itself.
func objStmCyclePDF() []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.5\n")
	off1 := b.Len()
	b.WriteString("1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	entries := [][3]int{{0, 0, 255}, {1, off1, 0}, {2, 6, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {2, 6, 1}}
	var raw []byte
	for _, e := range entries {
		raw = append(raw, byte(e[0]), byte(e[1]>>8), byte(e[1]), byte(e[2]))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "7 0 obj\n<< /Type /XRef /Size 8 /Index [0 7] /W [1 2 1] /Root 1 0 R /Length %d >>\nstream\n", len(raw))
	b.Write(raw)
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", xref)
	return b.Bytes()
}

// contentBombPDF has a page whose content stream inflates to 64 MiB.
func contentBombPDF(t *testing.T) []byte {
	var z bytes.Buffer
	z.Write([]byte{0x78, 0x9c}) // zlib header, no checksum check until EOF
	fw, _ := flate.NewWriter(&z, flate.BestCompression)
	line := bytes.Repeat([]byte("(a) Tj "), 1<<14)
	for range (64 << 20) / len(line) {
		fw.Write(line)
	}
	fw.Close()
	stream := z.String()
	return buildPDF([][]string{{"x"}}, map[int]string{
		5: fmt.Sprintf("<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream", len(stream), stream),
	})
}
