package chunk_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/shelfmem/shelf/index/chunk"
	"github.com/shelfmem/shelf/index/extract"
)

// doc builds an extract.Doc the way the extractor does: block texts joined
// by extract.Separator with offsets into the text.
func doc(blocks ...extract.Block) *extract.Doc {
	d := &extract.Doc{}
	var sb strings.Builder
	for _, b := range blocks {
		if sb.Len() > 0 {
			sb.WriteString(extract.Separator)
		}
		b.Start = sb.Len()
		sb.WriteString(b.Text)
		b.End = sb.Len()
		d.Blocks = append(d.Blocks, b)
		d.Pages = max(d.Pages, b.Page)
	}
	d.Text = sb.String()
	return d
}

func h(level int, text string) extract.Block {
	return extract.Block{Kind: extract.Heading, Level: level, Text: text}
}
func p(text string) extract.Block { return extract.Block{Kind: extract.Paragraph, Text: text} }
func onPage(b extract.Block, page int) extract.Block {
	b.Page = page
	return b
}

// check verifies the invariants of every split.
func check(t testing.TB, d *extract.Doc, cs []chunk.Chunk, o chunk.Options) {
	t.Helper()
	for i, c := range cs {
		if c.Index != i {
			t.Fatalf("chunk %d has Index %d", i, c.Index)
		}
		if c.Start < 0 || c.End > len(d.Text) || c.Start >= c.End {
			t.Fatalf("chunk %d: offsets [%d,%d) out of range (text %d bytes)", i, c.Start, c.End, len(d.Text))
		}
		if d.Text[c.Start:c.End] != c.Text {
			t.Fatalf("chunk %d: Text %q is not Doc.Text[%d:%d]", i, c.Text, c.Start, c.End)
		}
		if utf8.ValidString(d.Text) && !utf8.ValidString(c.Text) {
			t.Fatalf("chunk %d: invalid UTF-8 %q", i, c.Text)
		}
		if n := utf8.RuneCountInString(c.Text); o.Target > 0 && n > o.Target && !oneWordOver(c.Text, o.Target) {
			t.Fatalf("chunk %d: %d runes, target %d: %q", i, n, o.Target, c.Text)
		}
	}
}

// oneWordOver reports whether s is longer than target only because a word
// in it is.
func oneWordOver(s string, target int) bool {
	for _, w := range strings.Fields(s) {
		if utf8.RuneCountInString(w) > target/2 {
			return true
		}
	}
	return false
}

func TestHeadingsStartChunks(t *testing.T) {
	d := doc(h(1, "Intro"), p("Shelf keeps files."), h(2, "Setup"), p("Run shelf serve."),
		h(2, "Usage"), h(3, "Upload"), p("PUT the bytes."), h(1, "Other"), p("Elsewhere."))
	o := chunk.Options{Target: 1000}
	cs := chunk.Split(d, o)
	check(t, d, cs, o)
	var got [][2]string
	for _, c := range cs {
		got = append(got, [2]string{c.Heading, c.Text})
	}
	want := [][2]string{
		{"Intro", "Intro\n\nShelf keeps files."},
		{"Intro > Setup", "Setup\n\nRun shelf serve."},
		{"Intro > Usage > Upload", "Usage\n\nUpload\n\nPUT the bytes."},
		{"Other", "Other\n\nElsewhere."},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("chunks:\n%q\nwant:\n%q", got, want)
	}
}

func TestPagesNeverMixed(t *testing.T) {
	d := doc(onPage(p("one a"), 1), onPage(p("one b"), 1), onPage(p("two a"), 2), onPage(h(1, "Three"), 3), onPage(p("three a"), 3))
	o := chunk.Options{Target: 1000}
	cs := chunk.Split(d, o)
	check(t, d, cs, o)
	if len(cs) != 3 {
		t.Fatalf("got %d chunks, want 3: %+v", len(cs), cs)
	}
	for i, want := range []int{1, 2, 3} {
		if cs[i].Page != want {
			t.Fatalf("chunk %d on page %d, want %d", i, cs[i].Page, want)
		}
		for _, b := range d.Blocks {
			if b.Start < cs[i].End && b.End > cs[i].Start && b.Page != cs[i].Page {
				t.Fatalf("chunk %d (page %d) covers a block of page %d", i, cs[i].Page, b.Page)
			}
		}
	}
}

func TestLongParagraphSplitsAtSentences(t *testing.T) {
	var sb strings.Builder
	for i := range 40 {
		sb.WriteString("This is sentence number ")
		sb.WriteString(strings.Repeat("x", i%7))
		sb.WriteString(" of the long paragraph. ")
	}
	d := doc(h(1, "Long"), p(strings.TrimSpace(sb.String())))
	o := chunk.Options{Target: 200, Overlap: 40}
	cs := chunk.Split(d, o)
	check(t, d, cs, o)
	if len(cs) < 5 {
		t.Fatalf("got %d chunks, want the paragraph split", len(cs))
	}
	for i, c := range cs[:len(cs)-1] {
		if !strings.HasSuffix(c.Text, ".") {
			t.Fatalf("chunk %d does not end at a sentence: %q", i, c.Text)
		}
		if c.Heading != "Long" {
			t.Fatalf("chunk %d heading %q", i, c.Heading)
		}
	}
	// Overlap: each continuing chunk starts inside the previous one.
	for i := 1; i < len(cs); i++ {
		if cs[i].Start >= cs[i-1].End {
			t.Fatalf("chunk %d starts at %d, after the previous end %d: no overlap", i, cs[i].Start, cs[i-1].End)
		}
		tail := d.Text[cs[i].Start:cs[i-1].End]
		if !strings.HasSuffix(cs[i-1].Text, tail) || strings.HasPrefix(tail, " ") {
			t.Fatalf("chunk %d overlap %q is not a word-aligned tail of the previous chunk", i, tail)
		}
	}
}

func TestNoOverlapAcrossSectionsOrPages(t *testing.T) {
	long := strings.Repeat("word ", 100)
	d := doc(h(1, "A"), p(long), h(1, "B"), p(long), onPage(p(long), 2))
	o := chunk.Options{Target: 120, Overlap: 30}
	cs := chunk.Split(d, o)
	check(t, d, cs, o)
	for i := 1; i < len(cs); i++ {
		if cs[i].Start < cs[i-1].End && (cs[i].Heading != cs[i-1].Heading || cs[i].Page != cs[i-1].Page) {
			t.Fatalf("chunk %d overlaps chunk %d across a section or page", i, i-1)
		}
	}
}

func TestWordSplitAndUTF8(t *testing.T) {
	// No sentence ends; multi-byte runes; one word longer than the target.
	text := strings.Repeat("héllo wörld 日本語 ", 50) + strings.Repeat("é", 300) + " end"
	d := doc(p(text))
	o := chunk.Options{Target: 100, Overlap: -1}
	cs := chunk.Split(d, o)
	check(t, d, cs, o)
	var joined []string
	for _, c := range cs {
		joined = append(joined, c.Text)
		if !utf8.ValidString(c.Text) {
			t.Fatalf("invalid UTF-8: %q", c.Text)
		}
	}
	// Without overlap the chunks are the text's words, in order.
	if strings.Join(strings.Fields(strings.Join(joined, "")), "") != strings.Join(strings.Fields(text), "") {
		t.Fatalf("chunks lose or repeat text")
	}
}

func TestRowsGrouped(t *testing.T) {
	var blocks []extract.Block
	blocks = append(blocks, h(1, "Sheet1"))
	for range 50 {
		blocks = append(blocks, extract.Block{Kind: extract.Row, Text: "name: a.txt | size: 12"})
	}
	d := doc(blocks...)
	o := chunk.Options{Target: 300, Overlap: -1}
	cs := chunk.Split(d, o)
	check(t, d, cs, o)
	if len(cs) < 4 || len(cs) > 10 {
		t.Fatalf("got %d chunks for 50 rows at target 300", len(cs))
	}
	for _, c := range cs[:len(cs)-1] {
		if strings.Count(c.Text, "name:") < 5 || c.Heading != "Sheet1" {
			t.Fatalf("rows not grouped: %q (heading %q)", c.Text, c.Heading)
		}
	}
}

func TestDeterministicAndDefaults(t *testing.T) {
	d := doc(h(1, "T"), p(strings.Repeat("Some words here. ", 300)))
	a := chunk.Split(d, chunk.Options{})
	b := chunk.Split(d, chunk.DefaultOptions())
	if !reflect.DeepEqual(a, b) {
		t.Fatal("zero options differ from the defaults, or output is not deterministic")
	}
	check(t, d, a, chunk.DefaultOptions())
	if len(chunk.Split(nil, chunk.Options{})) != 0 || len(chunk.Split(&extract.Doc{}, chunk.Options{})) != 0 {
		t.Fatal("empty docs give chunks")
	}
}

func TestBadOffsetsSkipped(t *testing.T) {
	d := &extract.Doc{Text: "héllo", Blocks: []extract.Block{
		{Text: "x", Start: 2, End: 3}, // inside a rune
		{Text: "x", Start: 4, End: 99},
		{Text: "x", Start: 3, End: 1},
		{Text: "héllo", Start: 0, End: 6},
	}}
	cs := chunk.Split(d, chunk.Options{})
	check(t, d, cs, chunk.DefaultOptions())
	if len(cs) != 1 || cs[0].Text != "héllo" {
		t.Fatalf("got %+v", cs)
	}
}

// TestRealDocument chunks an extracted Markdown file end to end.
func TestRealDocument(t *testing.T) {
	var src strings.Builder
	for i := range 20 {
		src.WriteString("# Chapter\n\n## Section\n\n")
		src.WriteString(strings.Repeat("The library keeps every version. Search finds it fast. ", 30+i))
		src.WriteString("\n\n- a list item\n- another\n\n")
	}
	d, err := extract.Extract(context.Background(), strings.NewReader(src.String()), int64(src.Len()), "text/markdown", "book.md", extract.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	o := chunk.DefaultOptions()
	cs := chunk.Split(d, o)
	check(t, d, cs, o)
	for _, c := range cs {
		if c.Heading != "Chapter > Section" {
			t.Fatalf("heading %q", c.Heading)
		}
	}
}

func FuzzSplit(f *testing.F) {
	f.Add("# A\n\nSome text. More text.\n\n## B\n\nx", 50, 10)
	f.Add(strings.Repeat("日本語のテキスト。", 40), 40, 15)
	f.Add("a\x00b\xff\n\nc", 1, 0)
	f.Fuzz(func(t *testing.T, src string, target, overlap int) {
		d, err := extract.Extract(context.Background(), strings.NewReader(src), int64(len(src)), "text/markdown", "f.md", extract.Limits{})
		if err != nil {
			return
		}
		// Spread blocks over pages to exercise page breaks.
		for i := range d.Blocks {
			d.Blocks[i].Page = i / 3
		}
		o := chunk.Options{Target: target % 5000, Overlap: overlap % 1000}
		cs := chunk.Split(d, o)
		eff := o
		if eff.Target <= 0 {
			eff.Target = 1000
		}
		eff.Target = max(eff.Target, 32)
		check(t, d, cs, eff)
		if !reflect.DeepEqual(cs, chunk.Split(d, o)) {
			t.Fatal("not deterministic")
		}
	})
}
