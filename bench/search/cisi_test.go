package main

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseRecords(t *testing.T) {
	in := `.I 1
.T
18 Editions of the Dewey Decimal
Classifications
.A
Comaromi, J.P.
.W
   The present study is a history.
.Xylophone is a word, not a field.
.X
1	5	1
92	1	1
.I 2
.T 
Use Made of Technical Libraries
.A 
Slater, M.
.A
Other, Q.
.B
1970
.W
Second abstract.

.K 
text searching, bit vector
.C 
3.42 3.70
.X
19	2	321
.I 3
.T Title on the marker line
.W
Only text.
`
	got, err := ParseRecords(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Record{
		{ID: 1, Title: "18 Editions of the Dewey Decimal Classifications", Authors: []string{"Comaromi, J.P."},
			Text: "The present study is a history.\n.Xylophone is a word, not a field."},
		{ID: 2, Title: "Use Made of Technical Libraries", Authors: []string{"Slater, M.", "Other, Q."}, Source: "1970",
			Text: "Second abstract."},
		{ID: 3, Title: "Title on the marker line", Text: "Only text."},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
}

func TestParseRecordsErrors(t *testing.T) {
	for _, in := range []string{
		"stray text\n.I 1\n",
		".T\nno id yet\n",
		".I x\n",
		".I 1\n.W\na\n.I 1\n.W\nb\n",
	} {
		if _, err := ParseRecords(strings.NewReader(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestParseRelevance(t *testing.T) {
	got, err := ParseRelevance(strings.NewReader("     1     28\t0\t0.000000\n     1     35\t0\t0.000000\n\n 2 28 0 0.0\n 1 28 0 0.0\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]map[int]bool{1: {28: true, 35: true}, 2: {28: true}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if _, err := ParseRelevance(strings.NewReader("1\n")); err == nil {
		t.Error("a line with one field: no error")
	}
}

// TestLoadCISI checks the real collection when it is present: the counts
// its README gives.
func TestLoadCISI(t *testing.T) {
	dir := "/work/shared/data/ir/cisi"
	if _, err := os.Stat(dir); err != nil {
		t.Skip("CISI not present:", err)
	}
	c, err := LoadCISI(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Docs) != 1460 || len(c.Queries) != 112 {
		t.Fatalf("%d documents, %d queries; want 1460, 112", len(c.Docs), len(c.Queries))
	}
	pairs := 0
	for _, ds := range c.Relevant {
		pairs += len(ds)
	}
	if len(c.Relevant) != 76 || pairs != 3114 {
		t.Errorf("%d judged queries, %d pairs; want 76, 3114", len(c.Relevant), pairs)
	}
	for _, d := range c.Docs {
		if d.Title == "" || d.Text == "" {
			t.Errorf("document %d: empty title or text", d.ID)
		}
	}
	for _, q := range c.Queries {
		if q.Text == "" {
			t.Errorf("query %d: empty text", q.ID)
		}
	}
	if d := c.Docs[0]; d.ID != 1 || d.Title != "18 Editions of the Dewey Decimal Classifications" || !strings.HasPrefix(d.Text, "The present study") {
		t.Errorf("document 1 = %+v", d)
	}
}

// FuzzParseRecords checks that no input makes the parser panic and that
// what it returns keeps its promises: positive, distinct ids.
func FuzzParseRecords(f *testing.F) {
	f.Add(".I 1\n.T\nA title\n.A\nX, Y.\n.W\nText.\n.X\n1 2 3\n")
	f.Add(".I 2\n.T Title\n.K \nk\n.C \n1.2\n")
	f.Fuzz(func(t *testing.T, in string) {
		recs, err := ParseRecords(strings.NewReader(in))
		if err != nil {
			return
		}
		seen := map[int]bool{}
		for _, r := range recs {
			if r.ID <= 0 || seen[r.ID] {
				t.Fatalf("id %d: not positive or repeated", r.ID)
			}
			seen[r.ID] = true
		}
	})
}
