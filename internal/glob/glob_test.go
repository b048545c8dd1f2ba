package glob

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func mustCompile(t *testing.T, pattern string) *Pattern {
	t.Helper()
	p, err := Compile(pattern, Limits{})
	if err != nil {
		t.Fatalf("Compile(%q): %v", pattern, err)
	}
	return p
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern string
		path    string
		want    bool
	}{
		// literals
		{"/docs/a.md", "/docs/a.md", true},
		{"/docs/a.md", "/docs/a.mdx", false},
		{"/docs/a.md", "/docs/a", false},
		{"/docs/a.md", "/docs", false},
		{"/docs/a.md", "/docs/a.md/b", false},
		{"/docs/a.md", "/Docs/a.md", false}, // case-sensitive
		{"/", "/", true},
		{"/", "/a", false},
		{"docs/a.md", "/docs/a.md", true}, // relative means from the root
		{"a", "/a", true},

		// *
		{"/docs/*.md", "/docs/a.md", true},
		{"/docs/*.md", "/docs/.md", true}, // * may be empty
		{"/docs/*.md", "/docs/a/b.md", false},
		{"/docs/*.md", "/docs/a.txt", false},
		{"/docs/*", "/docs/a", true},
		{"/docs/*", "/docs", false}, // one segment, never none
		{"/docs/*", "/docs/a/b", false},
		{"/*", "/a", true},
		{"/*", "/", false},
		{"/a*b*c", "/abc", true},
		{"/a*b*c", "/aXbYc", true},
		{"/a*b*c", "/aXbYcZ", false},
		{"/a*b*c", "/acb", false},
		{"/*a", "/aaa", true},

		// dotfiles are not special
		{"/docs/*", "/docs/.hidden", true},
		{"/*.md", "/.md", true},
		{"/?git", "/.git", true},
		{"/[.]env", "/.env", true},
		{"/**/*.md", "/.github/README.md", true},
		{"/**", "/.config/.x", true},

		// ?
		{"/a?c", "/abc", true},
		{"/a?c", "/ac", false},
		{"/a?c", "/abbc", false},
		{"/a?c", "/a/c", false},
		{"/?", "/é", true}, // one code point, two bytes
		{"/??", "/é", false},

		// classes
		{"/[abc].md", "/b.md", true},
		{"/[abc].md", "/d.md", false},
		{"/[a-z]1", "/q1", true},
		{"/[a-z]1", "/Q1", false},
		{"/[a-cx-z]", "/y", true},
		{"/[a-cx-z]", "/m", false},
		{"/[!a-c]", "/d", true},
		{"/[!a-c]", "/b", false},
		{"/[^a-c]", "/d", true},
		{"/[^a-c]", "/a", false},
		{"/[-a]", "/-", true},   // '-' first is literal
		{"/[a-]", "/-", true},   // '-' last is literal
		{"/[!-]", "/-", false},  // '-' after '!' is first
		{"/[a^!]", "/!", true},  // '!' and '^' later are literal
		{"/[\\]]", "/]", true},  // escaped ']'
		{"/[\\-x]", "/-", true}, // escaped '-'
		{"/[[]", "/[", true},
		{"/[*?{]", "/*", true},
		{"/[*?{]", "/a", false},
		{"/[а-я]", "/ж", true}, // Cyrillic range
		{"/[а-я]", "/z", false},
		{"/[!a]", "/ж", true},
		{"/x[ab]y[cd]", "/xbyd", true},

		// braces
		{"/docs/*.{md,txt}", "/docs/a.md", true},
		{"/docs/*.{md,txt}", "/docs/a.txt", true},
		{"/docs/*.{md,txt}", "/docs/a.pdf", false},
		{"/{docs,assets}/*", "/assets/x.pdf", true},
		{"/{docs,assets}/*", "/other/x.pdf", false},
		{"/a.md{,.bak}", "/a.md", true},
		{"/a.md{,.bak}", "/a.md.bak", true},
		{"/a.md{,.bak}", "/a.md.old", false},
		{"/{a,b{c,d}}", "/bd", true},
		{"/{a,b{c,d}}", "/a", true},
		{"/{a,b{c,d}}", "/b", false},
		{"/{a*,*z}", "/zzz", true},
		{"/{[ab],c?}", "/cx", true},
		{"/{[a,b]}", "/,", true}, // ',' in a class is a member
		{"/{a\\,b,c}", "/a,b", true},
		{"/a,b", "/a,b", true}, // ',' outside braces is literal
		{"/{x,y}{1,2}", "/y1", true},

		// escapes
		{"/a\\*b", "/a*b", true},
		{"/a\\*b", "/axb", false},
		{"/\\?", "/?", true},
		{"/\\[a\\]", "/[a]", true},
		{"/\\{a,b\\}", "/{a,b}", true},
		{"/\\\\", "/\\", true},
		{"/\\a", "/a", true},

		// ** at the start, in the middle, at the end
		{"/**/*.md", "/a.md", true},
		{"/**/*.md", "/x/y/z/a.md", true},
		{"/**/*.md", "/x/y/z/a.txt", false},
		{"/**/*.md", "/", false},
		{"/docs/**/*.md", "/docs/a.md", true},
		{"/docs/**/*.md", "/docs/api/v1/a.md", true},
		{"/docs/**/*.md", "/other/a.md", false},
		{"/docs/**/*.md", "/docs/api/a.md/x", false},
		{"/docs/**", "/docs", true},
		{"/docs/**", "/docs/a", true},
		{"/docs/**", "/docs/a/b/c", true},
		{"/docs/**", "/doc", false},
		{"/docs/**", "/docsx/a", false},
		{"/**", "/", true},
		{"/**", "/a/b", true},
		{"/a/**/b/**/c", "/a/b/c", true},
		{"/a/**/b/**/c", "/a/x/b/y/z/c", true},
		{"/a/**/b/**/c", "/a/x/c", false},
		{"/a/**/**/b", "/a/b", true},
		{"/a/**/**/b", "/a/x/y/b", true},
		{"/**/a/**", "/x/a", true},
		{"/**/a/**", "/x/b", false},

		// unicode names
		{"/ドキュメント/*.md", "/ドキュメント/概要.md", true},
		{"/docs/résumé-?.pdf", "/docs/résumé-2.pdf", true},
		{"/docs/*🚀*", "/docs/launch 🚀 plan", true},
		{"/docs/é", "/docs/e\u0301", false}, // no normalisation

		// paths Match refuses
		{"/**", "", false},
		{"/**", "docs/a", false},
		{"/**", "/docs/", false},
		{"/**", "/docs//a", false},
		{"/**", "/docs/./a", false},
		{"/**", "/docs/../a", false},
		{"/*", "/..", false},
		{"/*", "/\xff", false},
	}
	for _, tc := range tests {
		p := mustCompile(t, tc.pattern)
		if got := p.Match(tc.path); got != tc.want {
			t.Errorf("Compile(%q).Match(%q) = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		pattern string
		lim     Limits
		reason  string // a substring of Error.Reason
		offset  int
	}{
		{"", Limits{}, "empty pattern", 0},
		{"/" + strings.Repeat("a", 1024), Limits{}, "longer than 1024 bytes", 1024},
		{"/abcdef", Limits{MaxLen: 4}, "longer than 4 bytes", 4},
		{"/a\x00b", Limits{}, "control character U+0000", 2},
		{"/a\nb", Limits{}, "control character U+000A", 2},
		{"/a\x7f", Limits{}, "control character U+007F", 2},
		{"/a\u0085", Limits{}, "control character U+0085", 2},
		{"/a\\\x01", Limits{}, "control character U+0001", 3}, // escaped too
		{"/a\xffb", Limits{}, "not valid UTF-8", 2},
		{"//a", Limits{}, "empty segment", 1},
		{"/a//b", Limits{}, "empty segment", 3},
		{"/a/", Limits{}, "trailing '/'", 2},
		{"/.", Limits{}, "'.' and '..'", 1},
		{"/a/../b", Limits{}, "'.' and '..'", 3},
		{"./a", Limits{}, "'.' and '..'", 0},
		{"/a/\\.\\.", Limits{}, "'.' and '..'", 3},
		{"/a**b", Limits{}, "'**' must be a whole segment", 2},
		{"/**b", Limits{}, "'**' must be a whole segment", 1},
		{"/a**", Limits{}, "'**' must be a whole segment", 2},
		{"/***", Limits{}, "'**' must be a whole segment", 1},
		{"/{**,a}", Limits{}, "'**' must be a whole segment", 2},
		{"/[abc", Limits{}, "unclosed '['", 1},
		{"/[a/b]", Limits{}, "unclosed '['", 1},
		{"/[a-/b]", Limits{}, "unclosed '['", 1},
		{"/[", Limits{}, "unclosed '['", 1},
		{"/[!", Limits{}, "unclosed '['", 1},
		{"/[]", Limits{}, "empty character class", 1},
		{"/[!]", Limits{}, "empty character class", 1},
		{"/[z-a]", Limits{}, "range \"z-a\" is reversed", 2},
		{"/a]", Limits{}, "unmatched ']'", 2},
		{"/{a,b", Limits{}, "unclosed '{'", 1},
		{"/{a,{b}", Limits{}, "unclosed '{'", 1},
		{"/{", Limits{}, "unclosed '{'", 1},
		{"/{a/b}", Limits{}, "braces cannot contain '/'", 3},
		{"/a}", Limits{}, "unmatched '}'", 2},
		{"/{a}}", Limits{}, "unmatched '}'", 4},
		{"/{}", Limits{}, "empty braces", 1},
		{"/a\\", Limits{}, "trailing '\\'", 2},
		{"/a\\/b", Limits{}, "cannot contain '/'", 2},
		{"/[\\/]", Limits{}, "cannot contain '/'", 2},
		{"/{a}{b}{c}{d}{e}{f}{g}{h}{i}", Limits{}, "more than 8 brace groups", 25},
		{"/{a,{b,{c}}}", Limits{MaxBraces: 2}, "more than 2 brace groups", 7},
		{"/**/a/**/b/**/c/**/d/**", Limits{}, "more than 4 '**' segments", 21},
		{"/**/**", Limits{MaxDoubleStars: 1}, "more than 1 '**' segments", 4},
		{"/{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}/{m,n}", Limits{}, "more than 64 alternatives", 32},
		{"/{a,b,c}/{d,e,f}", Limits{MaxAlternatives: 8}, "more than 8 alternatives", 9},
		{"/{a,b{c,d,e}}/{f,g}", Limits{MaxAlternatives: 7}, "more than 7 alternatives", 14},
	}
	for _, tc := range tests {
		p, err := Compile(tc.pattern, tc.lim)
		if err == nil {
			t.Errorf("Compile(%q) = %q, want an error with %q", tc.pattern, p, tc.reason)
			continue
		}
		if !errors.Is(err, ErrPattern) {
			t.Errorf("Compile(%q): %v does not match ErrPattern", tc.pattern, err)
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Compile(%q): %T is not an *Error", tc.pattern, err)
			continue
		}
		if !strings.Contains(e.Reason, tc.reason) || e.Offset != tc.offset {
			t.Errorf("Compile(%q): reason %q at %d, want %q at %d", tc.pattern, e.Reason, e.Offset, tc.reason, tc.offset)
		}
		if e.Input != tc.pattern {
			t.Errorf("Compile(%q): Error.Input = %q", tc.pattern, e.Input)
		}
	}
}

// The limits are inclusive: a pattern right at each one compiles.
func TestCompileAtLimits(t *testing.T) {
	for _, pattern := range []string{
		"/" + strings.Repeat("a", 1023),
		"/{a}{b}{c}{d}{e}{f}{g}{h}",
		"/**/a/**/b/**/c/**",
		"/{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}",
		"/{a,{b,{c,{d,{e,{f,{g,{h}}}}}}}}",
	} {
		if _, err := Compile(pattern, Limits{}); err != nil {
			t.Errorf("Compile(%q): %v", pattern, err)
		}
	}
	// Negative fields take the defaults too.
	if _, err := Compile("/{a}", Limits{MaxBraces: -1}); err != nil {
		t.Errorf("Compile with MaxBraces -1: %v", err)
	}
}

func TestErrorText(t *testing.T) {
	_, err := Compile("/docs/a**b", Limits{})
	if got, want := err.Error(), `glob "/docs/a**b": '**' must be a whole segment (at byte 7)`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	// Long input is cut at a rune boundary in the message, and kept whole in Input.
	long := "/" + strings.Repeat("é", 600)
	_, err = Compile(long, Limits{})
	var e *Error
	if !errors.As(err, &e) || e.Input != long {
		t.Fatalf("Compile(long): %v", err)
	}
	if msg := err.Error(); len(msg) > 200 || !strings.Contains(msg, `é"…`) {
		t.Errorf("Error() = %q, want it short and cut at a rune", msg)
	}
}

func TestPrefixAndString(t *testing.T) {
	tests := []struct{ pattern, prefix, str string }{
		{"/docs/**/*.md", "/docs", "/docs/**/*.md"},
		{"/**/*.md", "/", "/**/*.md"},
		{"/*", "/", "/*"},
		{"/", "/", "/"},
		{"/docs/api/*.md", "/docs/api", "/docs/api/*.md"},
		{"/docs/a.md", "/docs/a.md", "/docs/a.md"},
		{"/docs/{a,b}/c", "/docs", "/docs/{a,b}/c"},
		{"/docs/[a]/c", "/docs", "/docs/[a]/c"},
		{"/a/**/b/c", "/a", "/a/**/b/c"},
		{"/a\\*b/c*", "/a*b", "/a\\*b/c*"},
		{"docs/**", "/docs", "/docs/**"},
		{"/a/**/**/b", "/a", "/a/**/**/b"},
	}
	for _, tc := range tests {
		p := mustCompile(t, tc.pattern)
		if got := p.Prefix(); got != tc.prefix {
			t.Errorf("Compile(%q).Prefix() = %q, want %q", tc.pattern, got, tc.prefix)
		}
		if got := p.String(); got != tc.str {
			t.Errorf("Compile(%q).String() = %q, want %q", tc.pattern, got, tc.str)
		}
	}
}

// Patterns that make a backtracking matcher take exponential time finish
// in linear time here.
func TestPathological(t *testing.T) {
	long := "/" + strings.Repeat("a/", 200) + strings.Repeat("a", 20000)
	tests := []struct{ pattern, path string }{
		{"/**/**/**/**/a*a*a*a*a*a*a*b", long},
		{"/a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", "/" + strings.Repeat("a", 20000)},
		{"/**/a/**/a/**/a/**/*b", "/" + strings.Repeat("a/", 5000) + "a"},
		{"/{a,a*,*a,a?}{a,a*,*a,a?}{a,a*,*a,a?}b", "/" + strings.Repeat("a", 20000)},
		{"/" + strings.Repeat("*a", 200) + "b", "/" + strings.Repeat("a", 5000)},
	}
	for _, tc := range tests {
		p := mustCompile(t, tc.pattern)
		start := time.Now()
		if p.Match(tc.path) {
			t.Errorf("Compile(%q) matched a path ending without b", tc.pattern)
		}
		if p.Match(tc.path+"b") != true {
			t.Errorf("Compile(%q) did not match a path ending with b", tc.pattern)
		}
		// Milliseconds without the race detector; the bound allows for it and slow machines.
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Compile(%q).Match took %v", tc.pattern, d)
		}
	}
}

func TestMatchConcurrent(t *testing.T) {
	p := mustCompile(t, "/docs/**/{a,b}*.md")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				path, want := "/docs/x/a.md", true
				if (g+i)%2 == 1 {
					path, want = "/docs/x/c.md", false
				}
				if got := p.Match(path); got != want {
					t.Errorf("Match(%q) = %v, want %v", path, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestSplitProperty(t *testing.T) {
	allowed := []string{"filename", "modifiedAt", "size"}
	tests := []struct {
		path, glob, prop string
		reason           string // "" for success
	}{
		{"/docs/**/*.md/modifiedAt", "/docs/**/*.md", "modifiedAt", ""},
		{"/a.md/size", "/a.md", "size", ""},
		{"docs/*/filename", "docs/*", "filename", ""},
		{"/docs/**/*.md/indexed", "", "", `property "indexed" cannot be set; allowed: filename, modifiedAt, size`},
		{"/docs/**/*.md/", "", "", "no property"},
		{"/modifiedAt", "", "", `no file glob before property "modifiedAt"`},
		{"modifiedAt", "", "", "want a file glob and a property"},
		{"", "", "", "want a file glob and a property"},
		{"/docs/*.md/modifiedAt~1x", "", "", "cannot be set"},
	}
	for _, tc := range tests {
		glob, prop, err := SplitProperty(tc.path, allowed)
		if tc.reason == "" {
			if err != nil || glob != tc.glob || prop != tc.prop {
				t.Errorf("SplitProperty(%q) = %q, %q, %v; want %q, %q", tc.path, glob, prop, err, tc.glob, tc.prop)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrPattern) || !strings.Contains(e.Reason, tc.reason) {
			t.Errorf("SplitProperty(%q) = %q, %q, %v; want an *Error with %q", tc.path, glob, prop, err, tc.reason)
		}
	}
}
