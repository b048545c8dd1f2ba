package glob

import (
	"path"
	"strings"
	"sync"
	"unicode/utf8"
)

// nfaPattern is the matcher this package had before it matched with
// doublestar: pattern segments run as a set of live states over the path's
// segments, each segment with wildcards as a Thompson NFA. It stays as the
// reference FuzzMatchAgreesWithNFA compares Match with, and as the "nfa"
// row of BenchmarkMatch.
type nfaPattern struct {
	segs    []nfaSegment
	progLen int // longest segment program, for sizing scratch
	pool    sync.Pool
}

type nfaSegment struct {
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

func compileNFA(pattern string, lim Limits) (*nfaPattern, error) {
	pp, err := parse(pattern, lim)
	if err != nil {
		return nil, err
	}
	p := &nfaPattern{}
	for _, sg := range pp.segs {
		var ns nfaSegment
		switch {
		case sg.doubleStar:
			ns.kind = segDoubleStar
		case sg.isLit:
			ns = nfaSegment{kind: segLiteral, lit: sg.lit}
		case len(sg.nodes) == 1 && sg.nodes[0].kind == nodeStar:
			ns.kind = segStar
		default:
			ns = nfaSegment{kind: segProgram, prog: compileProgram(sg.nodes)}
		}
		p.segs = append(p.segs, ns)
		p.progLen = max(p.progLen, len(ns.prog))
	}
	return p, nil
}

func (p *nfaPattern) Match(name string) bool {
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
func (p *nfaPattern) closeOver(live []bool) {
	for i, sg := range p.segs {
		if live[i] && sg.kind == segDoubleStar {
			live[i+1] = true
		}
	}
}

// A program matches one path segment. It is a Thompson NFA: run by keeping
// the set of live instructions, it takes O(len(segment) × len(program))
// steps whatever the pattern, where naive backtracking on "a*a*a*b" would
// take exponential time.
type program []inst

type inst struct {
	op   opcode
	r    rune   // opRune
	cls  *class // opClass
	x, y int    // opSplit: both; opJmp: x
}

type opcode uint8

const (
	opRune  opcode = iota // consume r
	opAny                 // consume any one character
	opClass               // consume a character in cls
	opSplit               // continue at x and at y
	opJmp                 // continue at x
	opMatch               // the segment matches if the input is used up here
)

func compileProgram(nodes []node) program {
	return append(emit(nil, nodes), inst{op: opMatch})
}

func emit(prog program, nodes []node) program {
	for _, n := range nodes {
		switch n.kind {
		case nodeRune:
			prog = append(prog, inst{op: opRune, r: n.r})
		case nodeAny:
			prog = append(prog, inst{op: opAny})
		case nodeClass:
			prog = append(prog, inst{op: opClass, cls: n.cls})
		case nodeStar:
			// L: split L+1, L+3; L+1: any; L+2: jmp L; L+3: …
			l := len(prog)
			prog = append(prog, inst{op: opSplit, x: l + 1, y: l + 3}, inst{op: opAny}, inst{op: opJmp, x: l})
		case nodeAlt:
			// split A1, S2; A1…; jmp End; S2: split A2, S3; A2…; jmp End; …; An…; End: …
			var jumps []int
			for i, alt := range n.alts {
				if i == len(n.alts)-1 {
					prog = emit(prog, alt)
					break
				}
				split := len(prog)
				prog = append(prog, inst{op: opSplit, x: split + 1})
				prog = emit(prog, alt)
				jumps = append(jumps, len(prog))
				prog = append(prog, inst{op: opJmp})
				prog[split].y = len(prog)
			}
			for _, j := range jumps {
				prog[j].x = len(prog)
			}
		}
	}
	return prog
}

// scratch is the working memory of one Match call.
type scratch struct {
	mark         []uint32 // mark[pc] == gen: pc is already in the list being built
	gen          uint32
	clist, nlist []int
	stack        []int
	cur, next    []bool // Pattern.Match: which pattern segments are live
}

func newScratch(progLen, segs int) *scratch {
	return &scratch{
		mark:  make([]uint32, progLen),
		clist: make([]int, 0, progLen),
		nlist: make([]int, 0, progLen),
		stack: make([]int, 0, 2*progLen),
		cur:   make([]bool, segs+1),
		next:  make([]bool, segs+1),
	}
}

// step starts a new generation of marks.
func (s *scratch) step() {
	s.gen++
	if s.gen == 0 { // wrapped: old marks could look current
		clear(s.mark)
		s.gen = 1
	}
}

// add appends to list pc and every instruction reachable from it without
// consuming input, keeping only the ones that consume or match.
func (s *scratch) add(prog program, list []int, pc int) []int {
	s.stack = append(s.stack[:0], pc)
	for len(s.stack) > 0 {
		pc := s.stack[len(s.stack)-1]
		s.stack = s.stack[:len(s.stack)-1]
		if s.mark[pc] == s.gen {
			continue
		}
		s.mark[pc] = s.gen
		switch in := &prog[pc]; in.op {
		case opSplit:
			s.stack = append(s.stack, in.y, in.x)
		case opJmp:
			s.stack = append(s.stack, in.x)
		default:
			list = append(list, pc)
		}
	}
	return list
}

// match reports whether prog matches all of seg.
func (prog program) match(seg string, s *scratch) bool {
	s.step()
	clist := s.add(prog, s.clist[:0], 0)
	nlist := s.nlist[:0]
	for i := 0; i < len(seg); {
		r, n := utf8.DecodeRuneInString(seg[i:])
		i += n
		s.step()
		nlist = nlist[:0]
		for _, pc := range clist {
			in := &prog[pc]
			var ok bool
			switch in.op {
			case opRune:
				ok = in.r == r
			case opAny:
				ok = true
			case opClass:
				ok = in.cls.match(r)
			}
			if ok {
				nlist = s.add(prog, nlist, pc+1)
			}
		}
		clist, nlist = nlist, clist
		if len(clist) == 0 {
			break
		}
	}
	s.clist, s.nlist = clist, nlist // keep any growth for the next call
	for _, pc := range clist {
		if prog[pc].op == opMatch {
			return true
		}
	}
	return false
}
