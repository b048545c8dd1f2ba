package isolate

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/shelfmem/shelf/index/extract"
)

// FuzzReadAnswer feeds the parent's reader arbitrary answers: it must
// refuse what breaks the protocol and never return a document whose
// blocks do not fit its text.
func FuzzReadAnswer(f *testing.F) {
	var good bytes.Buffer
	w := bufio.NewWriter(&good)
	writeDoc(w, &extract.Doc{Text: "ab\n\ncd", Pages: 1, Blocks: []extract.Block{{Kind: extract.Heading, Level: 1, Text: "ab", End: 2, Page: 1},
		{Text: "cd", Start: 4, End: 6, Page: 1}}})
	f.Add(good.Bytes())
	var bad bytes.Buffer
	writeHeader(&bad, answer{Code: "too_large", Message: "no"})
	f.Add(bad.Bytes())
	f.Add([]byte("\x00\x00\x00\x02{}"))
	lim := extract.Limits{MaxOutput: 1 << 16, MaxPages: 100}.WithDefaults()
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		var a answer
		if err := readHeader(r, &a); err != nil || a.Code != "" {
			return
		}
		d, err := readDoc(r, a, lim)
		if err != nil {
			return
		}
		if len(d.Text) > lim.MaxOutput || d.Pages > lim.MaxPages {
			t.Fatalf("sizes past the limits: %d bytes, %d pages", len(d.Text), d.Pages)
		}
		last := 0
		for i, b := range d.Blocks {
			if b.Start < last || b.End < b.Start || b.End > len(d.Text) || b.Text != d.Text[b.Start:b.End] || b.Kind > extract.Row || b.Level > 6 {
				t.Fatalf("block %d: %+v", i, b)
			}
			last = b.End
		}
	})
}
