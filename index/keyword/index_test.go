package keyword

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestStemsAndFolds(t *testing.T) {
	x := New()
	x.Add(1, "The runner was running to the Café.", "")
	x.Add(2, "A cafe menu", "Runs")
	x.Add(3, "walruses and zebras", "")
	cases := []struct {
		terms []string
		want  []int64
	}{
		{[]string{"run"}, []int64{1, 2}},
		{[]string{"RUNS"}, []int64{1, 2}},
		{[]string{"café"}, []int64{1, 2}},
		{[]string{"CAFE"}, []int64{1, 2}},
		{[]string{"walrus"}, []int64{3}},
		{[]string{"zebra", "menu"}, []int64{2, 3}},
		{[]string{"absent"}, nil},
		{[]string{"!!"}, nil},
	}
	for _, c := range cases {
		hits, matched := x.Search(c.terms, 10)
		var got []int64
		for _, h := range hits {
			got = append(got, h.ID)
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) || matched != len(c.want) {
			t.Errorf("Search(%q) = %v (matched %d), want %v", c.terms, got, matched, c.want)
		}
	}
	if got := x.Mark("The runner was running to the Café.", []string{"runs", "cafe"}, "[", "]"); got != "The runner was [running] to the [Café]." {
		t.Errorf("Mark = %q", got)
	}
	if got := x.Mark("nothing here", []string{"runs"}, "[", "]"); got != "nothing here" {
		t.Errorf("Mark without a match = %q", got)
	}
}

// A heading counts half as much as the text; a rarer term more than a
// common one; a shorter document more than a longer one.
func TestRanking(t *testing.T) {
	x := New()
	x.Add(1, "alpha beta", "")
	x.Add(2, "beta", "alpha")
	x.Add(3, "beta gamma", "")
	x.Add(4, "beta gamma delta delta epsilon zeta eta", "")
	x.Add(5, "alpha", "")
	hits, _ := x.Search([]string{"alpha"}, 10)
	if ids := idsOf(hits); !slices.Equal(ids, []int64{5, 1, 2}) {
		t.Errorf("alpha: %v, want [5 1 2] (short text, longer text, heading)", ids)
	}
	hits, _ = x.Search([]string{"gamma", "beta"}, 2)
	if ids := idsOf(hits); !slices.Equal(ids, []int64{3, 4}) {
		t.Errorf("gamma beta: %v, want [3 4]", ids)
	}
}

func idsOf(hits []Hit) []int64 {
	var out []int64
	for _, h := range hits {
		out = append(out, h.ID)
	}
	return out
}

func TestLongWordsAreCut(t *testing.T) {
	x := New()
	long := strings.Repeat("é", 80) // 160 bytes folded to "e" × 80, under the cap
	huge := strings.Repeat("z", 5000)
	x.Add(1, long+" "+huge, "")
	if hits, _ := x.Search([]string{strings.Repeat("E", 80)}, 1); len(hits) != 1 {
		t.Error("a folded word of 80 characters is not found")
	}
	if hits, _ := x.Search([]string{strings.Repeat("z", MaxWord) + "tail"}, 1); len(hits) != 1 {
		t.Error("a query word sharing the first MaxWord bytes of a long word does not match it")
	}
	if n := len(x.words); n != 2 {
		t.Errorf("vocabulary of %d words, want 2", n)
	}
	for w := range x.words {
		if len(w) > MaxWord {
			t.Errorf("a word of %d bytes is kept", len(w))
		}
	}
}

// model is a plain BM25 over maps, the reference Search is checked against.
type model struct {
	docs map[int64]map[string]float64 // id → term → weighted frequency
	lens map[int64]int
	seq  map[int64]int // insertion order of the live version
	n    int
	// postings counts every document a term was ever indexed in since
	// the last compaction, as the index's document counts do.
	df map[string]int
}

func newModel() *model {
	return &model{docs: map[int64]map[string]float64{}, lens: map[int64]int{}, seq: map[int64]int{}, df: map[string]int{}}
}

func terms(s string) []string {
	var out []string
	eachWord(s, func(w []byte, _, _ int) { out = append(out, stem(string(w))) })
	return out
}

func (m *model) add(id int64, text, heading string) {
	tf := map[string]float64{}
	n := 0
	for _, s := range terms(text) {
		tf[s]++
		n++
	}
	for _, s := range terms(heading) {
		tf[s] += 0.5
		n++
	}
	for s := range tf {
		m.df[s]++
	}
	m.docs[id], m.lens[id], m.seq[id] = tf, n, m.n
	m.n++
}

func (m *model) delete(id int64) {
	delete(m.docs, id)
	delete(m.lens, id)
	delete(m.seq, id)
}

// compacted recounts the document frequencies over the live documents.
func (m *model) compacted() {
	m.df = map[string]int{}
	for _, tf := range m.docs {
		for s := range tf {
			m.df[s]++
		}
	}
}

func (m *model) scores(query []string) map[int64]float64 {
	qs := map[string]float64{} // stem → words of the query with it
	for _, q := range query {
		for _, s := range terms(q) {
			qs[s]++
		}
	}
	var total int
	for _, l := range m.lens {
		total += l
	}
	N := float64(len(m.docs))
	avg := float64(total) / N
	if avg == 0 {
		avg = 1
	}
	out := map[int64]float64{}
	for id, tf := range m.docs {
		var score float64
		for s, qtf := range qs {
			f := tf[s]
			if f == 0 {
				continue
			}
			df := min(float64(m.df[s]), N)
			idf := math.Log((N - df + 0.5) / (df + 0.5))
			if idf <= 0 {
				idf = 1e-6
			}
			score += qtf * idf * f * (k1 + 1) / (f + k1*(1-b+b*float64(m.lens[id])/avg))
		}
		if score > 0 {
			out[id] = score
		}
	}
	return out
}

// Across random adds, replacements, deletes and compactions, Search ranks
// as the model does.
func TestAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := make([]string, 300)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%dx", i) // stems to itself
	}
	word := func() string {
		// Zipf-like: low ranks far more often.
		return vocab[int(math.Pow(rng.Float64(), 3)*float64(len(vocab)))]
	}
	text := func(n int) string {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = word()
		}
		return strings.Join(ws, " ")
	}
	x, m := New(), newModel()
	var ids []int64
	next := int64(1)
	check := func(when string) {
		t.Helper()
		if x.Len() != len(m.docs) {
			t.Fatalf("%s: Len %d, model %d", when, x.Len(), len(m.docs))
		}
		for range 20 {
			q := []string{word(), word()}
			if rng.IntN(3) == 0 {
				q = append(q, vocab[len(vocab)-1-rng.IntN(50)])
			}
			want := m.scores(q)
			hits, matched := x.Search(q, 10)
			if matched != len(want) {
				t.Fatalf("%s: %q matched %d, model %d", when, q, matched, len(want))
			}
			if len(hits) != min(10, len(want)) {
				t.Fatalf("%s: %q gave %d hits, model %d", when, q, len(hits), len(want))
			}
			ref := make([]float64, 0, len(want))
			for _, s := range want {
				ref = append(ref, s)
			}
			slices.SortFunc(ref, func(a, b float64) int { return -cmpFloat(a, b) })
			for i, h := range hits {
				ws, ok := want[h.ID]
				if !ok {
					t.Fatalf("%s: %q hit %d, which the model does not match", when, q, h.ID)
				}
				if !near(h.Score, ws) || !near(h.Score, ref[i]) {
					t.Fatalf("%s: %q hit %d (#%d) scored %g; model %g, model's #%d %g", when, q, h.ID, i, h.Score, ws, i, ref[i])
				}
			}
		}
	}
	for step := range 8000 {
		switch r := rng.IntN(10); {
		case r < 6 || len(ids) == 0:
			id := next
			next++
			tx, hd := text(1+rng.IntN(40)), text(rng.IntN(4))
			x.Add(id, tx, hd)
			m.add(id, tx, hd)
			ids = append(ids, id)
		case r < 8:
			i := rng.IntN(len(ids))
			x.Delete(ids[i])
			m.delete(ids[i])
			ids = slices.Delete(ids, i, i+1)
		default:
			id := ids[rng.IntN(len(ids))]
			tx, hd := text(1+rng.IntN(40)), text(rng.IntN(3))
			x.Add(id, tx, hd)
			m.delete(id)
			m.add(id, tx, hd)
		}
		if x.ndead == 0 {
			m.compacted() // the index compacted itself: its counts are exact again
		}
		if step%500 == 499 {
			check(fmt.Sprintf("step %d", step))
		}
	}
	x.Compact()
	m.compacted()
	check("after Compact")
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// near allows for the index's float32 arithmetic.
func near(a, b float64) bool { return math.Abs(a-b) <= 1e-4*math.Max(1, math.Abs(b)) }

// Ties go to the older document, and n bounds the hits.
func TestTiesAndLimit(t *testing.T) {
	x := New()
	for i := range 50 {
		x.Add(int64(100-i), "same words here", "")
	}
	hits, matched := x.Search([]string{"words"}, 5)
	if matched != 50 || !slices.Equal(idsOf(hits), []int64{100, 99, 98, 97, 96}) {
		t.Errorf("got %v (matched %d), want the five oldest of 50", idsOf(hits), matched)
	}
	for _, n := range []int{0, -1} {
		if hits, _ := x.Search([]string{"words"}, n); hits != nil {
			t.Errorf("Search(n=%d) = %v", n, hits)
		}
	}
}

// Concurrent searches share the accumulators without seeing each other's
// scores (run with -race).
func TestConcurrentSearch(t *testing.T) {
	x := New()
	for i := range 2000 {
		x.Add(int64(i), fmt.Sprintf("common w%d w%d", i%7, i%13), "")
	}
	want, _ := x.Search([]string{"w3", "w5"}, 20)
	done := make(chan error)
	for g := range 4 {
		go func() {
			for range 200 {
				q := []string{"w3", "w5"}
				if g%2 == 1 {
					q = []string{"common"} // dense: every document
				}
				got, _ := x.Search(q, 20)
				if g%2 == 0 && !slices.Equal(idsOf(got), idsOf(want)) {
					done <- fmt.Errorf("got %v, want %v", idsOf(got), idsOf(want))
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func FuzzIndex(f *testing.F) {
	f.Add("The runner was running to the Café.", "heading", "run")
	f.Add("a\xffb \u0301\u0301 ÅÄÖ ǅ ﬁ 12½", "", "ǆ")
	f.Add(strings.Repeat("é", 200), "", strings.Repeat("e", 200))
	f.Fuzz(func(t *testing.T, text, heading, query string) {
		eachWord(text, func(w []byte, start, end int) {
			if len(w) == 0 || len(w) > MaxWord {
				t.Fatalf("word of %d bytes", len(w))
			}
			if start < 0 || end > len(text) || start >= end {
				t.Fatalf("span [%d, %d) of %d bytes", start, end, len(text))
			}
		})
		x := New()
		x.Add(1, text, heading)
		x.Add(2, "other", "")
		// Every word of the text finds the document.
		eachWord(text, func(w []byte, _, _ int) {
			word := string(w)
			if hits, _ := x.Search([]string{word}, 2); !slices.Contains(idsOf(hits), 1) {
				t.Fatalf("the text's word %q does not find it", word)
			}
		})
		marked := x.Mark(text, []string{query}, "\x02", "\x03")
		if strings.NewReplacer("\x02", "", "\x03", "").Replace(marked) != strings.NewReplacer("\x02", "", "\x03", "").Replace(text) {
			t.Fatalf("Mark changed the text: %q → %q", text, marked)
		}
		x.Search([]string{query}, 3)
		x.Delete(1)
		if hits, _ := x.Search([]string{query, "other"}, 3); slices.Contains(idsOf(hits), 1) {
			t.Fatal("a deleted document is found")
		}
	})
}

// A document replaced until its dead versions outnumber the live
// documents is still found (the dead count in the document frequency, but
// never past the number of documents).
func TestReplacedInSmallIndex(t *testing.T) {
	x := New()
	for i := range 5 {
		x.Add(1, fmt.Sprintf("running version %d", i), "")
		hits, matched := x.Search([]string{"run"}, 5)
		if matched != 1 || len(hits) != 1 || hits[0].ID != 1 || !(hits[0].Score > 0) {
			t.Fatalf("after %d replacements: %v (matched %d)", i, hits, matched)
		}
	}
}
