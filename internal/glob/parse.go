package glob

import (
	"fmt"
	"unicode/utf8"
)

// A node is one element of a segment's syntax tree.
type node struct {
	kind nodeKind
	r    rune     // nodeRune
	cls  *class   // nodeClass
	alts [][]node // nodeAlt: one sequence per alternative
}

type nodeKind uint8

const (
	nodeRune  nodeKind = iota // one literal character
	nodeAny                   // ?
	nodeStar                  // *
	nodeClass                 // [...]
	nodeAlt                   // {...,...}
)

// class is a bracket expression: a set of code point ranges, maybe negated.
type class struct {
	negate bool
	ranges []runeRange
}

type runeRange struct{ lo, hi rune }

func (c *class) match(r rune) bool {
	for _, rg := range c.ranges {
		if rg.lo <= r && r <= rg.hi {
			return !c.negate
		}
	}
	return c.negate
}

// parser reads one pattern. It stops at the first error; offsets in errors
// are byte offsets into src.
type parser struct {
	src    string
	pos    int
	lim    Limits
	braces int // brace groups seen so far, nested ones included
}

func (p *parser) errorf(off int, format string, args ...any) error {
	return &Error{Input: p.src, Offset: off, Reason: fmt.Sprintf(format, args...)}
}

func (p *parser) atEnd() bool { return p.pos >= len(p.src) }

// next reads one rune; the caller knows it is not at the end.
func (p *parser) next() rune {
	r, n := utf8.DecodeRuneInString(p.src[p.pos:])
	p.pos += n
	return r
}

// segment parses the elements of one segment up to the next unescaped '/'
// or the end, leaving pos there. It does not handle a "**" segment.
func (p *parser) segment() ([]node, error) {
	nodes, err := p.sequence(false)
	if err != nil {
		return nil, err
	}
	if !p.atEnd() {
		switch p.src[p.pos] {
		case '}':
			return nil, p.errorf(p.pos, "unmatched '}'")
		case ',': // cannot happen: ',' ends a sequence only inside braces
			return nil, p.errorf(p.pos, "unexpected ','")
		}
	}
	return nodes, nil
}

// sequence parses elements until the end, a '/', or (inside braces) a ','
// or '}', and leaves pos at that byte.
func (p *parser) sequence(inBraces bool) ([]node, error) {
	var nodes []node
	for !p.atEnd() {
		start := p.pos
		switch c := p.src[p.pos]; c {
		case '/':
			return nodes, nil
		case ',':
			if inBraces {
				return nodes, nil
			}
			p.pos++
			nodes = append(nodes, node{kind: nodeRune, r: ','})
		case '}':
			return nodes, nil // the caller decides whether it closes braces
		case ']':
			return nil, p.errorf(start, "unmatched ']'")
		case '*':
			if start+1 < len(p.src) && p.src[start+1] == '*' {
				return nil, p.errorf(start, "'**' must be a whole segment")
			}
			p.pos++
			nodes = append(nodes, node{kind: nodeStar})
		case '?':
			p.pos++
			nodes = append(nodes, node{kind: nodeAny})
		case '[':
			cls, err := p.class()
			if err != nil {
				return nil, err
			}
			nodes = append(nodes, node{kind: nodeClass, cls: cls})
		case '{':
			alts, err := p.braceGroup()
			if err != nil {
				return nil, err
			}
			nodes = append(nodes, node{kind: nodeAlt, alts: alts})
		case '\\':
			r, err := p.escaped()
			if err != nil {
				return nil, err
			}
			nodes = append(nodes, node{kind: nodeRune, r: r})
		default:
			nodes = append(nodes, node{kind: nodeRune, r: p.next()})
		}
	}
	return nodes, nil
}

// escaped reads a backslash and the character it escapes.
func (p *parser) escaped() (rune, error) {
	start := p.pos
	p.pos++
	if p.atEnd() {
		return 0, p.errorf(start, "trailing '\\'")
	}
	if p.src[p.pos] == '/' {
		return 0, p.errorf(start, "a segment cannot contain '/', escaped or not")
	}
	return p.next(), nil
}

// braceGroup parses "{alt,alt,...}" starting at the '{'.
func (p *parser) braceGroup() ([][]node, error) {
	open := p.pos
	p.braces++
	if p.braces > p.lim.MaxBraces {
		return nil, p.errorf(open, "more than %d brace groups", p.lim.MaxBraces)
	}
	p.pos++
	var alts [][]node
	for {
		alt, err := p.sequence(true)
		if err != nil {
			return nil, err
		}
		alts = append(alts, alt)
		if p.atEnd() {
			return nil, p.errorf(open, "unclosed '{'")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			if len(alts) == 1 && len(alts[0]) == 0 {
				return nil, p.errorf(open, "empty braces '{}'")
			}
			return alts, nil
		case '/':
			return nil, p.errorf(p.pos, "braces cannot contain '/'")
		}
	}
}

// class parses a bracket expression starting at the '['.
func (p *parser) class() (*class, error) {
	open := p.pos
	p.pos++
	cls := &class{}
	if !p.atEnd() && (p.src[p.pos] == '!' || p.src[p.pos] == '^') {
		cls.negate = true
		p.pos++
	}
	for {
		if p.atEnd() || p.src[p.pos] == '/' {
			return nil, p.errorf(open, "unclosed '['")
		}
		if p.src[p.pos] == ']' {
			p.pos++
			if len(cls.ranges) == 0 {
				return nil, p.errorf(open, "empty character class")
			}
			return cls, nil
		}
		itemStart := p.pos
		lo, err := p.classRune()
		if err != nil {
			return nil, err
		}
		hi := lo
		// A '-' is a range only between two characters; before ']' it is literal.
		if p.pos+1 < len(p.src) && p.src[p.pos] == '-' && p.src[p.pos+1] != ']' {
			p.pos++
			if p.src[p.pos] == '/' {
				return nil, p.errorf(open, "unclosed '['")
			}
			if hi, err = p.classRune(); err != nil {
				return nil, err
			}
			if hi < lo {
				return nil, p.errorf(itemStart, "range %q is reversed", p.src[itemStart:p.pos])
			}
		}
		cls.ranges = append(cls.ranges, runeRange{lo, hi})
	}
}

// classRune reads one member character of a class, escaped or not; the
// caller has checked that it is not at the end, a '/' or the closing ']'.
func (p *parser) classRune() (rune, error) {
	if p.src[p.pos] == '\\' {
		return p.escaped()
	}
	return p.next(), nil
}

// alternatives counts the plain patterns nodes expands to, saturating at
// max+1 so that no product overflows.
func alternatives(nodes []node, max int) int {
	n := 1
	for _, nd := range nodes {
		if nd.kind != nodeAlt {
			continue
		}
		sum := 0
		for _, alt := range nd.alts {
			sum += alternatives(alt, max)
			if sum > max {
				sum = max + 1
				break
			}
		}
		n = mulSat(n, sum, max)
	}
	return n
}

// mulSat returns a*b, or max+1 if that is larger; a and b are at least 1.
func mulSat(a, b, max int) int {
	if a > max/b {
		return max + 1
	}
	return a * b
}
