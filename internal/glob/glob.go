package glob

import (
	"path"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
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
	segs    []segment
	prefix  string
	progLen int // longest segment program, for sizing scratch
	pool    sync.Pool
}

// A segment matches one path segment, or for "**" any number of them.
type segment struct {
	kind segmentKind
	lit  string  // segLiteral
	prog program // segProgram
}

type segmentKind uint8

const (
	segLiteral    segmentKind = iota // no wildcards: compare strings
	segStar                          // exactly "*": any one segment
	segDoubleStar                    // "**": zero or more segments
	segProgram                       // anything else
)

// Compile parses pattern, checking it against lim (see Limits for how zero
// fields are read). Every error it returns is an *Error and matches
// ErrPattern.
func Compile(pattern string, lim Limits) (*Pattern, error) {
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

	pat := &Pattern{src: pattern}
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
			seg.kind = segDoubleStar
		default:
			nodes, err := p.segment()
			if err != nil {
				return nil, err
			}
			if alts = mulSat(alts, alternatives(nodes, lim.MaxAlternatives), lim.MaxAlternatives); alts > lim.MaxAlternatives {
				return nil, p.errorf(start, "braces expand to more than %d alternatives", lim.MaxAlternatives)
			}
			seg = classify(nodes)
			if seg.kind == segLiteral && (seg.lit == "." || seg.lit == "..") {
				return nil, p.errorf(start, "'.' and '..' segments are not allowed")
			}
		}
		if seg.kind != segLiteral {
			prefixDone = true
		} else if !prefixDone {
			literals = append(literals, seg.lit)
		}
		// "**/**" matches what "**" does; keep one.
		if seg.kind != segDoubleStar || len(pat.segs) == 0 || pat.segs[len(pat.segs)-1].kind != segDoubleStar {
			pat.segs = append(pat.segs, seg)
			pat.progLen = max(pat.progLen, len(seg.prog))
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

// classify picks the cheapest way to match a segment.
func classify(nodes []node) segment {
	if len(nodes) == 1 && nodes[0].kind == nodeStar {
		return segment{kind: segStar}
	}
	var lit strings.Builder
	for _, n := range nodes {
		if n.kind != nodeRune {
			return segment{kind: segProgram, prog: compileProgram(nodes)}
		}
		lit.WriteRune(n.r)
	}
	return segment{kind: segLiteral, lit: lit.String()}
}

// Match reports whether name, a clean absolute path such as
// "/docs/api/overview.md", matches the pattern. Any other name (relative,
// not clean, not valid UTF-8) does not match. Match takes time in
// O(len(name) × len(pattern)) and does not allocate in the steady state.
func (p *Pattern) Match(name string) bool {
	if name == "" || name[0] != '/' || !utf8.ValidString(name) || path.Clean(name) != name {
		return false
	}
	s, _ := p.pool.Get().(*scratch)
	if s == nil {
		s = newScratch(p.progLen, len(p.segs))
	}
	defer p.pool.Put(s)

	// cur[i]: the path segments read so far can be matched by p.segs[:i].
	cur, next := s.cur, s.next
	clear(cur)
	cur[0] = true
	p.closeOver(cur)
	rest := name[1:]
	for rest != "" {
		seg := rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			seg, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		clear(next)
		live := false
		for i, sg := range p.segs {
			if !cur[i] {
				continue
			}
			var ok bool
			switch sg.kind {
			case segDoubleStar:
				next[i], live = true, true // "**" takes this segment and stays
				continue
			case segLiteral:
				ok = seg == sg.lit
			case segStar:
				ok = true
			case segProgram:
				ok = sg.prog.match(seg, s)
			}
			if ok {
				next[i+1], live = true, true
			}
		}
		if !live {
			return false
		}
		p.closeOver(next)
		cur, next = next, cur
	}
	return cur[len(p.segs)]
}

// closeOver marks the states reachable by letting a "**" match no segments.
func (p *Pattern) closeOver(live []bool) {
	for i, sg := range p.segs {
		if live[i] && sg.kind == segDoubleStar {
			live[i+1] = true
		}
	}
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
