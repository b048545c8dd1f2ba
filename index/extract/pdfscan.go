package extract

// The PDF library's content-stream interpreter keeps every operand it has
// read until an operator takes them, each as a boxed value of some 50
// bytes, and parses nested arrays by recursion. A page whose content is
// 16 MiB of numbers and no operator costs it over a gigabyte; 8 MiB of
// '[' costs it seconds of panics. contentScanner reads a content stream
// the way the library tokenizes it, before the library does, and refuses
// one that would pile up more than maxPDFOperands operands or nest deeper
// than lim.MaxDepth.

// maxPDFOperands bounds the operands (array and dictionary members
// included) the interpreter may hold at once: a few MiB of its values.
// Real pages hold a handful, or a TJ array of a few thousand.
const maxPDFOperands = 1 << 16

// contentScanner is an io.Writer that tokenizes what is written to it. It
// follows the library's lexer: strings, hex strings, names and comments
// are skipped; a run of regular characters is an operand if it is a
// number, true, false or null, else an operator, which takes the
// operands; "[" and "<<" open containers whose members are operands too;
// a "]" or ">>" with nothing open is an operand (the library pushes a
// null for it).
type contentScanner struct {
	maxDepth int
	maxOps   int // operands held at once
	state    scanState
	parens   int    // nesting of ( ) in a literal string
	escape   bool   // after a backslash in a literal string
	word     []byte // the regular characters of the token being read
	angle    bool   // a '<' was seen (a dict opening or a hex string follows)
	close    bool   // a '>' was seen outside a hex string
	pending  int    // operands not yet taken by an operator
	depth    int    // open arrays and dictionaries
	err      error
}

type scanState uint8

const (
	scanSpace   scanState = iota // between tokens
	scanWord                     // in a run of regular characters
	scanName                     // in a /name
	scanString                   // in a (literal string)
	scanHex                      // in a <hex string>
	scanComment                  // in a % comment
)

func newContentScanner(maxDepth, maxOps int) *contentScanner {
	return &contentScanner{maxDepth: maxDepth, maxOps: maxOps}
}

func isPDFSpace(c byte) bool {
	switch c {
	case 0, '\t', '\n', '\f', '\r', ' ':
		return true
	}
	return false
}

func isPDFDelim(c byte) bool {
	switch c {
	case '<', '>', '(', ')', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func (s *contentScanner) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	for _, c := range p {
		s.byte(c)
		if s.err != nil {
			return 0, s.err
		}
	}
	return len(p), nil
}

// operand counts one more value the interpreter would keep.
func (s *contentScanner) operand() {
	s.pending++
	if s.pending > s.maxOps {
		s.err = tooLarge("extract: a PDF stream holds more than %d operands without an operator", s.maxOps)
	}
}

// open and shut track "[" and "<<".
func (s *contentScanner) open() {
	s.depth++
	if s.depth > s.maxDepth {
		s.err = tooLarge("extract: a PDF stream nests arrays or dictionaries deeper than %d", s.maxDepth)
	}
}

func (s *contentScanner) shut() {
	if s.depth == 0 {
		s.operand()
		return
	}
	s.depth--
	s.operand() // the container is now one operand of its parent
}

// endWord classifies the finished run of regular characters.
func (s *contentScanner) endWord() {
	w := s.word
	s.word = s.word[:0]
	if isPDFNumber(w) || string(w) == "true" || string(w) == "false" || string(w) == "null" {
		s.operand()
		return
	}
	// An operator takes the operands; inside a container the library
	// gives up on the container and carries on after the operator.
	s.pending, s.depth = 0, 0
}

// isPDFNumber reports whether w is what the library reads as an integer
// or a real: an optional sign, then digits with at most one dot.
func isPDFNumber(w []byte) bool {
	if len(w) > 0 && (w[0] == '+' || w[0] == '-') {
		w = w[1:]
	}
	if len(w) == 0 {
		return false
	}
	dots := 0
	for _, c := range w {
		switch {
		case c == '.':
			dots++
		case c < '0' || c > '9':
			return false
		}
	}
	return dots <= 1
}

func (s *contentScanner) byte(c byte) {
	switch s.state {
	case scanString:
		switch {
		case s.escape:
			s.escape = false
		case c == '\\':
			s.escape = true
		case c == '(':
			s.parens++
		case c == ')':
			if s.parens--; s.parens == 0 {
				s.state = scanSpace
				s.operand()
			}
		}
		return
	case scanHex:
		if c == '>' {
			s.state = scanSpace
			s.operand()
		}
		return
	case scanComment:
		if c == '\r' || c == '\n' {
			s.state = scanSpace
		}
		return
	case scanWord, scanName:
		if !isPDFSpace(c) && !isPDFDelim(c) {
			if s.state == scanWord && len(s.word) < 64 {
				s.word = append(s.word, c)
			} else if s.state == scanWord {
				s.word = append(s.word[:63], 'x') // too long to be a number
			}
			return
		}
		if s.state == scanWord {
			s.endWord()
		} else {
			s.operand()
		}
		s.state = scanSpace
	}
	// Between tokens, or at the delimiter that ended one.
	if s.angle {
		s.angle = false
		if c == '<' {
			s.open()
			return
		}
		s.state = scanHex
		s.byte(c)
		return
	}
	if s.close {
		s.close = false
		if c == '>' {
			s.shut()
			return
		}
		// A lone '>' is an error the library recovers from; read on.
	}
	switch {
	case isPDFSpace(c):
	case c == '%':
		s.state = scanComment
	case c == '(':
		s.state, s.parens, s.escape = scanString, 1, false
	case c == '<':
		s.angle = true
	case c == '>':
		s.close = true
	case c == '[':
		s.open()
	case c == ']':
		s.shut()
	case c == '{' || c == '}':
		s.pending, s.depth = 0, 0 // operators to the interpreter
	case c == '/':
		s.state = scanName
	case c == ')':
		// an unbalanced ')': an error the library recovers from
	default:
		s.state = scanWord
		s.word = append(s.word[:0], c)
	}
}

// finish ends the last token at the end of the stream. A stream that ends
// inside a hex string is refused: the library's lexer reads the end of a
// stream as white space, which a hex string skips, so it would spin there
// for ever.
func (s *contentScanner) finish() error {
	if s.err == nil {
		switch {
		case s.state == scanHex || s.angle:
			s.err = invalid(nil, "extract: malformed PDF: a content stream ends inside a hex string")
		case s.state == scanWord:
			s.endWord()
		case s.state == scanName:
			s.operand()
		}
		s.state = scanSpace
	}
	return s.err
}
