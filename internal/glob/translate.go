package glob

import (
	"slices"
	"strings"
)

// Matching is github.com/bmatcuk/doublestar/v4's: a parsed pattern is
// written out again in its syntax, once per brace alternative, and Match
// asks doublestar.MatchUnvalidated of each. The parser stays this
// package's own: it enforces Limits, gives errors with offsets, and works
// out Prefix, none of which doublestar does. Where doublestar reads the
// same syntax differently, the translation keeps this package's meaning:
//
//   - Braces are expanded here, not by doublestar, which expands them on
//     every call by concatenating strings (an allocation per alternative
//     tried). Limits.MaxAlternatives bounds the expansion.
//   - Every literal character is escaped and every class member too, so
//     doublestar never has to guess whether a '-', '!' or ']' is syntax;
//     a one-character range is written as that character (doublestar
//     cannot start a range at U+10FFFF, which it uses as "no character").
//   - A negated class also excludes '/': "[!a]" must not match the
//     separator, which doublestar's negated classes do.
//   - Runs of '*' inside a segment are written as one: after brace
//     expansion "{*,a}*" could read "**", which doublestar takes as
//     "any number of segments" when it is the whole segment.
//   - An alternative that leaves a segment empty ("/{,a}") is dropped: a
//     segment matches one path segment, never none, and doublestar would
//     read "/" as the root.
//   - A pattern whose last segment is "**" after one that ends with '*'
//     ("/a*/**") also gets the alternative without it ("/a*"): doublestar
//     finds no match of "/a*/**" for "/a".
//   - Match answers the root "/" itself: doublestar lets "/*" match it
//     (a star matching an empty name), where here the root has no segment
//     for "*" to match.
//
// Before asking doublestar, Match checks that the name ends with the
// literal text after the alternative's last wildcard ("/**/*.md": ".md"),
// which rejects most names at the cost of a comparison.
//
// Matching stays O(len(name) × len(pattern)) per alternative: doublestar
// keeps one backtracking point for the last '*' and one for the last
// "**", which is enough because every other element matches a fixed
// number of characters or segments.

// frag is a piece of a segment in doublestar's syntax, whether it starts
// and ends with a '*', and the literal text it ends with (all of it when
// wild is false).
type frag struct {
	s                    string
	startsStar, endsStar bool
	wild                 bool   // it has a wildcard or a class
	tail                 string // the characters after its last wildcard, unescaped
}

// join appends b to a, keeping a run of '*' across them to one.
func join(a, b frag) frag {
	s := b.s
	if a.endsStar && b.startsStar {
		s = s[1:]
	}
	tail := b.tail
	if !b.wild {
		tail = a.tail + b.tail
	}
	return frag{
		s:          a.s + s,
		startsStar: a.startsStar || a.s == "" && b.startsStar,
		endsStar:   b.endsStar || b.s == "" && a.endsStar,
		wild:       a.wild || b.wild,
		tail:       tail,
	}
}

// expand writes nodes in doublestar's syntax, one fragment per brace
// alternative.
func expand(nodes []node) []frag {
	out := []frag{{}}
	for _, n := range nodes {
		var next []frag
		switch n.kind {
		case nodeRune:
			next = []frag{{s: escapeRune(n.r, `*?[]{}\,`), tail: string(n.r)}}
		case nodeAny:
			next = []frag{{s: "?", wild: true}}
		case nodeStar:
			next = []frag{{s: "*", startsStar: true, endsStar: true, wild: true}}
		case nodeClass:
			next = []frag{{s: classText(n.cls), wild: true}}
		case nodeAlt:
			for _, alt := range n.alts {
				next = append(next, expand(alt)...)
			}
		}
		cross := make([]frag, 0, len(out)*len(next))
		for _, a := range out {
			for _, b := range next {
				cross = append(cross, join(a, b))
			}
		}
		out = cross
	}
	return out
}

// escapeRune writes r, with a backslash before it if it is in special.
func escapeRune(r rune, special string) string {
	if strings.ContainsRune(special, r) {
		return `\` + string(r)
	}
	return string(r)
}

// classText writes a class with every member escaped.
func classText(c *class) string {
	var b strings.Builder
	b.WriteByte('[')
	if c.negate {
		b.WriteByte('!')
	}
	for _, rg := range c.ranges {
		b.WriteByte('\\')
		b.WriteRune(rg.lo)
		if rg.hi != rg.lo {
			b.WriteString(`-\`)
			b.WriteRune(rg.hi)
		}
	}
	if c.negate {
		b.WriteString(`\/`)
	}
	b.WriteByte(']')
	return b.String()
}

// alt is one brace alternative of a pattern in doublestar's syntax, and
// the text every name it matches ends with.
type alt struct {
	pattern, suffix string
}

// translate writes a parsed pattern in doublestar's syntax, one pattern
// per brace alternative, without duplicates.
func translate(segs []segment) []alt {
	pats := []frag{{}} // endsStar and tail: of the last segment
	for i, sg := range segs {
		var texts []frag
		if sg.doubleStar {
			texts = []frag{{s: "**", wild: true}}
		} else {
			for _, f := range expand(sg.nodes) {
				if f.s != "" {
					texts = append(texts, f)
				}
			}
		}
		next := make([]frag, 0, len(pats)*len(texts))
		for _, p := range pats {
			for _, t := range texts {
				next = append(next, frag{s: p.s + "/" + t.s, endsStar: t.endsStar, tail: t.tail})
				// doublestar does not see that "a*/**" matches "a": when the
				// name ends where the '*' starts, it has no rule for the rest
				// ("*/**") matching nothing. The alternative without the
				// final "**" says it.
				if sg.doubleStar && i == len(segs)-1 && p.endsStar {
					next = append(next, p)
				}
			}
		}
		pats = next
	}
	slices.SortFunc(pats, func(a, b frag) int { return strings.Compare(a.s, b.s) })
	pats = slices.CompactFunc(pats, func(a, b frag) bool { return a.s == b.s })
	out := make([]alt, len(pats))
	for i, p := range pats {
		out[i] = alt{pattern: p.s, suffix: p.tail}
	}
	return out
}
