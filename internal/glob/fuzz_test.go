package glob

import (
	"errors"
	"path"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"
)

// FuzzCompileMatch checks that Compile and Match never panic, that Compile
// fails only with an *Error, that a pattern without metacharacters matches
// exactly itself, that every match lies under Prefix, and, where the
// pattern is in the subset path.Match understands, that Match agrees with
// a slow reference built on it.
func FuzzCompileMatch(f *testing.F) {
	seeds := []struct{ pattern, path string }{
		{"/docs/**/*.md", "/docs/api/overview.md"},
		{"/assets/*.pdf", "/assets/a.pdf"},
		{"docs/a.md", "/docs/a.md"},
		{"/**", "/"},
		{"/docs/**", "/docs"},
		{"/[a-c]?/[!x]*", "/b1/yz"},
		{"/[^-]", "/-"},
		{"/{a,b{c,d}}/*.{md,txt}", "/bd/x.txt"},
		{"/a\\*b/\\[x]", "/a*b/[x]"},
		{"/**/**/**/**/a*a*a*a*a*a*a*b", "/a/a/aaaaaaaaaaaaaaaa"},
		{"/a**b", "/ab"},
		{"/[z-a]", "/q"},
		{"/ドキュメント/*", "/ドキュメント/概要.md"},
		{"/.hidden/*", "/.hidden/.x"},
		{"/a/../b", "/b"},
		{"/{}", "/"},
	}
	for _, s := range seeds {
		f.Add(s.pattern, s.path)
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		p, err := Compile(pattern, Limits{})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrPattern) {
				t.Fatalf("Compile(%q): %v is not an *Error matching ErrPattern", pattern, err)
			}
			if e.Offset < 0 || e.Offset > len(pattern) {
				t.Fatalf("Compile(%q): offset %d out of range", pattern, e.Offset)
			}
			return
		}
		got := p.Match(name)
		p.Match(p.String())

		again, err := Compile(p.String(), Limits{})
		if err != nil {
			t.Fatalf("Compile(%q) works but Compile(String() = %q): %v", pattern, p.String(), err)
		}
		if again.Match(name) != got {
			t.Fatalf("Compile(%q) and Compile(%q) disagree on %q", pattern, p.String(), name)
		}

		clean := strings.HasPrefix(name, "/") && utf8.ValidString(name) && path.Clean(name) == name
		if got && !clean {
			t.Fatalf("Compile(%q) matched %q, which is not a clean absolute path", pattern, name)
		}
		if pre := p.Prefix(); got && name != pre && !strings.HasPrefix(name, strings.TrimSuffix(pre, "/")+"/") {
			t.Fatalf("Compile(%q) matched %q, which is not under Prefix() %q", pattern, name, pre)
		}

		if !strings.ContainsAny(pattern, `*?[]{}\`) {
			self := p.String()
			if !p.Match(self) {
				t.Fatalf("Compile(%q) does not match itself", pattern)
			}
			if got != (name == self) {
				t.Fatalf("literal Compile(%q).Match(%q) = %v", pattern, name, got)
			}
			if p.Prefix() != self {
				t.Fatalf("literal Compile(%q).Prefix() = %q", pattern, p.Prefix())
			}
		}

		if clean {
			if want, ok := refMatch(p.String(), name); ok && got != want {
				t.Fatalf("Compile(%q).Match(%q) = %v, reference says %v", pattern, name, got, want)
			}
		}
	})
}

// refMatch matches a clean path against a compiled pattern's String by
// splitting both on '/', expanding "**" by memoised recursion and matching
// other segments with path.Match. ok is false when the reference cannot
// judge: braces and "[!" are syntax path.Match lacks, and path.Match refuses
// some classes this package takes ("[a-]").
func refMatch(pattern, name string) (match, ok bool) {
	if strings.ContainsAny(pattern, "{}") || strings.Contains(pattern, "[!") {
		return false, false
	}
	psegs := splitPath(pattern)
	for _, s := range psegs {
		if _, err := path.Match(s, ""); s != "**" && err != nil {
			return false, false
		}
	}
	return refSegments(psegs, splitPath(name)), true
}

func splitPath(s string) []string {
	if s == "/" {
		return nil
	}
	return strings.Split(s[1:], "/")
}

func refSegments(pattern, name []string) bool {
	memo := make(map[[2]int]bool)
	var match func(i, j int) bool
	match = func(i, j int) bool {
		if i == len(pattern) {
			return j == len(name)
		}
		key := [2]int{i, j}
		if m, ok := memo[key]; ok {
			return m
		}
		var m bool
		if pattern[i] == "**" {
			for k := j; k <= len(name) && !m; k++ {
				m = match(i+1, k)
			}
		} else if j < len(name) {
			ok, _ := path.Match(pattern[i], name[j])
			m = ok && match(i+1, j+1)
		}
		memo[key] = m
		return m
	}
	return match(0, 0)
}

// FuzzMatchAgreesWithNFA checks Match, which asks doublestar, against the
// Thompson NFA this package matched with before (nfa_test.go), on any
// pattern Compile accepts and any path. Paths are made mostly of the
// pattern's own characters, so that matches are not rare.
func FuzzMatchAgreesWithNFA(f *testing.F) {
	for _, s := range []struct{ pattern, path string }{
		{"/docs/**/*.md", "/docs/api/overview.md"},
		{"/*", "/"},
		{"/{,a}", "/"},
		{"/{*,a}*", "/x/y"},
		{"/a[!x]b", "/a/b"},
		{"/[!a-c]?/**/*", "/d/e"},
		{"/**/a*/**/b*c", "/x/ab/y/bxc"},
		{"/[-a]/[a-]/[!-]/[\\]]", "/-/-/x/]"},
		{"/{a,b{c,d}}*{e,}/**", "/bdxe/f"},
		{"/x/{.,..}", "/x"},
	} {
		f.Add(s.pattern, s.path)
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		p, err := Compile(pattern, Limits{})
		if err != nil {
			return
		}
		ref, err := compileNFA(pattern, Limits{})
		if err != nil {
			t.Fatalf("compileNFA(%q): %v, but Compile accepts it", pattern, err)
		}
		for _, a := range p.alts {
			if !doublestar.ValidatePattern(a.pattern) {
				t.Fatalf("Compile(%q) wrote %q, which doublestar refuses", pattern, a.pattern)
			}
		}
		for _, n := range []string{name, "/" + name, p.String(), strings.NewReplacer("*", "x", "?", "y", "[", "", "]", "", "{", "", "}", "", ",", "", "\\", "").Replace(p.String())} {
			if got, want := p.Match(n), ref.Match(n); got != want {
				t.Fatalf("Compile(%q).Match(%q) = %v, the NFA says %v (doublestar patterns %q)", pattern, n, got, want, p.alts)
			}
		}
	})
}
