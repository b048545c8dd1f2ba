package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Corpus makes deterministic pseudo-text: words drawn from a vocabulary by
// a Zipf distribution, in sentences and paragraphs, so that a few words are
// in most chunks and most words are rare, as in natural language.
type Corpus struct {
	Vocab []string // by rank: Vocab[0] is the most frequent word
	s, v  float64
}

// NewCorpus makes a vocabulary of n distinct pseudo-words (shorter words
// ranked more frequent) and the Zipf parameters s and v: the word of rank
// k (0-based) is drawn with probability ∝ (v+k)^-s.
func NewCorpus(n int, s, v float64) *Corpus {
	r := rand.New(rand.NewPCG(1, 2))
	cons := strings.Split("b c d f g h j k l m n p r s t v w z br ch cl dr fl gr pl pr sh st th tr", " ")
	vowels := strings.Split("a e i o u ai ea ee io ou", " ")
	ends := strings.Split(" n r s t l m nd st rk", " ")
	seen := map[string]bool{}
	var words []string
	for len(words) < n {
		syl := 1 + r.IntN(2) + r.IntN(3)
		var b strings.Builder
		for range syl {
			b.WriteString(cons[r.IntN(len(cons))])
			b.WriteString(vowels[r.IntN(len(vowels))])
		}
		b.WriteString(ends[r.IntN(len(ends))])
		if w := b.String(); !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	slices.SortStableFunc(words, func(a, b string) int { return len(a) - len(b) })
	return &Corpus{Vocab: words, s: s, v: v}
}

// Text returns the text of document i: paragraphs of sentences, about
// size characters long (it ends at the first paragraph end past size).
func (c *Corpus) Text(i int, size int) []byte {
	r := rand.New(rand.NewPCG(uint64(i), 0x5eed))
	z := rand.NewZipf(r, c.s, c.v, uint64(len(c.Vocab)-1))
	var b strings.Builder
	b.Grow(size + 1024)
	for b.Len() < size {
		sentences := 3 + r.IntN(5)
		for s := range sentences {
			if s > 0 {
				b.WriteByte(' ')
			}
			n := 6 + r.IntN(13)
			for w := range n {
				word := c.Vocab[z.Uint64()]
				if w == 0 {
					b.WriteString(strings.ToUpper(word[:1]) + word[1:])
				} else {
					b.WriteByte(' ')
					if r.IntN(12) == 0 {
						b.WriteString(", ")
					}
					b.WriteString(word)
				}
			}
			b.WriteByte('.')
		}
		b.WriteString("\n\n")
	}
	return []byte(b.String())
}

// Query bands: ranges of vocabulary ranks a query word is drawn from.
type band struct {
	name   string
	lo, hi int // ranks [lo, hi)
}

func (c *Corpus) bands() []band {
	n := len(c.Vocab)
	return []band{{"frequent", 0, min(100, n)}, {"middle", min(100, n), min(2000, n)}, {"rare", min(2000, n), n}}
}

// Query is a search and its shape.
type Query struct {
	Text     string
	Words    int
	Frequent bool // has a word of the frequent band
}

// Queries returns n queries of 1–4 words, each word from a band picked at
// random (frequent, middle or rare), then uniformly within it.
func (c *Corpus) Queries(n int, seed uint64) []Query {
	r := rand.New(rand.NewPCG(seed, 99))
	bands := c.bands()
	out := make([]Query, n)
	for i := range out {
		k := 1 + r.IntN(4)
		var ws []string
		q := Query{Words: k}
		for len(ws) < k {
			bi := r.IntN(len(bands))
			b := bands[bi]
			w := c.Vocab[b.lo+r.IntN(b.hi-b.lo)]
			if slices.Contains(ws, w) {
				continue
			}
			ws = append(ws, w)
			q.Frequent = q.Frequent || bi == 0
		}
		q.Text = strings.Join(ws, " ")
		out[i] = q
	}
	return out
}

func (q Query) shape() string {
	f := "no frequent word"
	if q.Frequent {
		f = "with a frequent word"
	}
	return fmt.Sprintf("%d word(s), %s", q.Words, f)
}
