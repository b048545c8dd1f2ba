package glob

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"
)

// Limits bounds what Compile accepts. A field that is zero or negative
// takes its default (the value in DefaultLimits), so the zero Limits is the
// default and no setting turns a limit off.
type Limits struct {
	MaxLen          int // bytes in the pattern as given
	MaxBraces       int // brace groups, nested ones included
	MaxDoubleStars  int // "**" segments
	MaxAlternatives int // plain patterns the braces expand to, over the whole pattern
}

// The defaults; DefaultLimits repeats them for callers to read.
const (
	defaultMaxLen          = 1024
	defaultMaxBraces       = 8
	defaultMaxDoubleStars  = 4
	defaultMaxAlternatives = 64
)

// DefaultLimits are the limits Compile applies where a Limits field is
// zero. They suit a pattern sent in a request body. It is for reading:
// assigning to it does not change the defaults.
var DefaultLimits = Limits{
	MaxLen:          defaultMaxLen,
	MaxBraces:       defaultMaxBraces,
	MaxDoubleStars:  defaultMaxDoubleStars,
	MaxAlternatives: defaultMaxAlternatives,
}

func (l Limits) withDefaults() Limits {
	orDefault := func(v, d int) int {
		if v <= 0 {
			return d
		}
		return v
	}
	return Limits{
		MaxLen:          orDefault(l.MaxLen, defaultMaxLen),
		MaxBraces:       orDefault(l.MaxBraces, defaultMaxBraces),
		MaxDoubleStars:  orDefault(l.MaxDoubleStars, defaultMaxDoubleStars),
		MaxAlternatives: orDefault(l.MaxAlternatives, defaultMaxAlternatives),
	}
}

// Pattern is a compiled glob. It is immutable and safe for concurrent use.
type Pattern struct {
	src     string // as given, with a leading '/' added if it had none
	prefix  string
	literal bool  // no wildcards: the pattern matches prefix alone
	root    bool  // the pattern matches "/": it is "/" or all its segments are "**"
	alts    []alt // the pattern after prefix, in doublestar's syntax, one per brace alternative
}

// A segment of a parsed pattern: "**", or the elements of any other one.
type segment struct {
	doubleStar bool
	nodes      []node
	lit        string // the segment's text when it has no wildcards
	isLit      bool
}

// parsed is a pattern checked against the limits, before it is turned
// into something that matches.
type parsed struct {
	src    string
	segs   []segment
	prefix string
}

// Compile parses pattern, checking it against lim (see Limits for how zero
// fields are read). Every error it returns is an *Error and matches
// ErrPattern.
func Compile(pattern string, lim Limits) (*Pattern, error) {
	pp, err := parse(pattern, lim)
	if err != nil {
		return nil, err
	}
	pat := &Pattern{src: pp.src, prefix: pp.prefix, literal: true, root: true}
	lead := 0 // the literal segments that make the prefix
	for _, sg := range pp.segs {
		if pat.literal && sg.isLit {
			lead++
		}
		pat.literal = pat.literal && sg.isLit
		pat.root = pat.root && sg.doubleStar
	}
	if !pat.literal {
		// Every name that can match starts with the prefix; doublestar
		// matches what follows it ("" or "/…") against the rest of the
		// pattern, once for all the alternatives.
		pat.alts = translate(pp.segs[lead:])
	}
	return pat, nil
}

// parse checks pattern and splits it into segments.
func parse(pattern string, lim Limits) (*parsed, error) {
	lim = lim.withDefaults()
	p := &parser{src: pattern, lim: lim}
	if pattern == "" {
		return nil, p.errorf(0, "empty pattern")
	}
	if len(pattern) > lim.MaxLen {
		return nil, p.errorf(lim.MaxLen, "pattern is longer than %d bytes", lim.MaxLen)
	}
	for i, r := range pattern {
		if r == utf8.RuneError && !strings.HasPrefix(pattern[i:], "\uFFFD") {
			return nil, p.errorf(i, "pattern is not valid UTF-8")
		}
		if unicode.IsControl(r) {
			return nil, p.errorf(i, "control character %U", r)
		}
	}

	pat := &parsed{src: pattern}
	if pattern[0] == '/' {
		p.pos = 1
	} else {
		pat.src = "/" + pattern
	}
	var literals []string // leading literal segments, for Prefix
	prefixDone := false
	doubleStars, alts := 0, 1
	for !p.atEnd() {
		start := p.pos
		var seg segment
		switch {
		case p.src[start] == '/':
			return nil, p.errorf(start, "empty segment ('//')")
		case strings.HasPrefix(p.src[start:], "**") && (start+2 == len(p.src) || p.src[start+2] == '/'):
			doubleStars++
			if doubleStars > lim.MaxDoubleStars {
				return nil, p.errorf(start, "more than %d '**' segments", lim.MaxDoubleStars)
			}
			p.pos += 2
			seg.doubleStar = true
		default:
			nodes, err := p.segment()
			if err != nil {
				return nil, err
			}
			if alts = mulSat(alts, alternatives(nodes, lim.MaxAlternatives), lim.MaxAlternatives); alts > lim.MaxAlternatives {
				return nil, p.errorf(start, "braces expand to more than %d alternatives", lim.MaxAlternatives)
			}
			seg = classify(nodes)
			if seg.isLit && (seg.lit == "." || seg.lit == "..") {
				return nil, p.errorf(start, "'.' and '..' segments are not allowed")
			}
		}
		if !seg.isLit {
			prefixDone = true
		} else if !prefixDone {
			literals = append(literals, seg.lit)
		}
		// "**/**" matches what "**" does; keep one.
		if !seg.doubleStar || len(pat.segs) == 0 || !pat.segs[len(pat.segs)-1].doubleStar {
			pat.segs = append(pat.segs, seg)
		}
		if !p.atEnd() { // at a '/'
			p.pos++
			if p.atEnd() {
				return nil, p.errorf(p.pos-1, "trailing '/'")
			}
		}
	}
	pat.prefix = "/" + strings.Join(literals, "/")
	return pat, nil
}

// classify notes whether a segment has no wildcards, and its text if so.
func classify(nodes []node) segment {
	var lit strings.Builder
	for _, n := range nodes {
		if n.kind != nodeRune {
			return segment{nodes: nodes}
		}
		lit.WriteRune(n.r)
	}
	return segment{nodes: nodes, lit: lit.String(), isLit: true}
}

// Match reports whether name, a clean absolute path such as
// "/docs/api/overview.md", matches the pattern. Any other name (relative,
// not clean, not valid UTF-8) does not match. Match takes time in
// O(len(name) × len(pattern)) for each brace alternative (at most
// Limits.MaxAlternatives) and does not allocate.
func (p *Pattern) Match(name string) bool {
	if name == "" || name[0] != '/' || !utf8.ValidString(name) || path.Clean(name) != name {
		return false
	}
	if p.literal {
		return name == p.prefix
	}
	if name == "/" {
		// doublestar lets a "*" segment match the root's no segments; a
		// segment here is always one path segment.
		return p.root
	}
	rest := name
	if p.prefix != "/" {
		if !strings.HasPrefix(name, p.prefix) {
			return false
		}
		if rest = name[len(p.prefix):]; rest != "" && rest[0] != '/' {
			return false
		}
	}
	for _, a := range p.alts {
		if strings.HasSuffix(rest, a.suffix) && doublestar.MatchUnvalidated(a.pattern, rest) {
			return true
		}
	}
	return false
}

// Prefix returns the folder path made of the pattern's segments before its
// first wildcard segment: "/docs" for "/docs/**/*.md", "/" for "/**/*.md",
// "/docs/a.md" for "/docs/a.md", with escapes resolved. Every path that
// matches is Prefix() itself or below it, so a caller can scan only the
// items under it.
func (p *Pattern) Prefix() string { return p.prefix }

// String returns the pattern as given to Compile, with a leading '/' added
// if it had none.
func (p *Pattern) String() string { return p.src }
