package glob

import "testing"

// benchPatterns are the globs Shelf's clients send (bulk patch and bulk
// index requests), from a literal path to the worst the limits allow in
// one segment, each run over benchNames: a mix of depths, matches and
// misses.
var benchPatterns = []struct{ name, pattern string }{
	{"literal", "/docs/api/overview.md"},
	{"star", "/docs/*.md"},
	{"doublestar", "/docs/**/*.md"},
	{"anywhere", "/**/*.{md,txt}"},
	{"braces", "/docs/**/{a,b}*.{md,txt}"},
	{"class", "/assets/[a-c]?/*.pdf"},
	{"stars", "/**/a*a*a*b"},
}

var benchNames = []string{
	"/docs/api/overview.md",
	"/docs/readme.md",
	"/docs/api/v1/endpoints/about.txt",
	"/docs/logo.png",
	"/assets/b1/report-2026.pdf",
	"/notes/2026/12/meeting-notes-aaaa.md",
	"/src/internal/glob/aaaaaaaaaaaaaaab",
	"/a/very/deep/tree/of/folders/with/a/file/at/the/bottom.md",
}

// matchers are the implementations the benchmark compares.
var matchers = []struct {
	name    string
	compile func(pattern string) (func(string) bool, error)
}{
	{"nfa", func(pattern string) (func(string) bool, error) {
		p, err := compileNFA(pattern, Limits{})
		if err != nil {
			return nil, err
		}
		return p.Match, nil
	}},
	{"doublestar", func(pattern string) (func(string) bool, error) {
		p, err := Compile(pattern, Limits{})
		if err != nil {
			return nil, err
		}
		return p.Match, nil
	}},
}

// BenchmarkMatch reports the time of one Match call, averaged over
// benchNames, for each pattern and matcher.
func BenchmarkMatch(b *testing.B) {
	for _, bp := range benchPatterns {
		for _, m := range matchers {
			b.Run(bp.name+"/"+m.name, func(b *testing.B) {
				match, err := m.compile(bp.pattern)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					match(benchNames[i%len(benchNames)])
					i++
				}
			})
		}
	}
}
