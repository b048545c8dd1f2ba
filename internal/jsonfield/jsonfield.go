package jsonfield

import (
	"bufio"
	"io"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	shelf "github.com/shelfmem/shelf"
)

// maxDepth caps the nesting of the values String skips.
const maxDepth = 64

// String scans body, which must hold one JSON object, for its
// top-level field named field, whose value must be a string, and returns a
// reader of the string's unescaped value. No value is ever held in memory:
// a string of any size streams, and other values are checked and skipped
// byte by byte. Once the value has been read to its end, the rest of the
// object is checked too, so the reader returns io.EOF only when the whole
// body is one well-formed object that names field exactly once.
//
// Malformed JSON (RFC 8259, which includes invalid UTF-8), nesting deeper
// than 64, a missing field, a duplicate one, or one whose value is not a
// string is EINVALID, from the call or from Read. Errors of body pass
// through unchanged. Escapes decode as encoding/json decodes them: a lone
// UTF-16 surrogate becomes U+FFFD.
func String(body io.Reader, field string) (io.Reader, error) {
	s := &scanner{br: bufio.NewReaderSize(body, 32<<10), field: field}
	c, err := s.nonSpace()
	if err != nil {
		return nil, err
	}
	if c != '{' {
		return nil, shelf.Errorf(shelf.EINVALID, "the body must be a JSON object")
	}
	if c, err = s.nonSpace(); err != nil {
		return nil, err
	}
	if c == '}' {
		return nil, s.missing()
	}
	for {
		if c != '"' {
			return nil, s.errf("expected a field name, found %q", c)
		}
		match, err := s.key()
		if err != nil {
			return nil, err
		}
		if err := s.expect(':'); err != nil {
			return nil, err
		}
		if c, err = s.nonSpace(); err != nil {
			return nil, err
		}
		if match {
			if c != '"' {
				return nil, shelf.Errorf(shelf.EINVALID, "field %q must be a string", field)
			}
			return &stringReader{s: s}, nil
		}
		if err := s.skipValue(c, 1); err != nil {
			return nil, err
		}
		if c, err = s.nonSpace(); err != nil {
			return nil, err
		}
		switch c {
		case ',':
			if c, err = s.nonSpace(); err != nil {
				return nil, err
			}
		case '}':
			return nil, s.missing()
		default:
			return nil, s.errf("expected , or } after a value, found %q", c)
		}
	}
}

// scanner reads JSON a byte at a time from a buffer, keeping only the
// state of the string it is in.
type scanner struct {
	br    *bufio.Reader
	field string
	pend  []byte // decoded bytes of an escape or rune not yet handed out
	buf   [utf8.UTFMax]byte
}

func (s *scanner) errf(format string, args ...any) error {
	return shelf.Errorf(shelf.EINVALID, "malformed JSON: "+format, args...)
}

func (s *scanner) missing() error {
	return shelf.Errorf(shelf.EINVALID, "field %q is required", s.field)
}

// next returns the next byte; the end of the body is malformed JSON.
func (s *scanner) next() (byte, error) {
	c, err := s.br.ReadByte()
	if err == io.EOF {
		return 0, s.errf("unexpected end of the body")
	}
	return c, err
}

// peek returns the next byte without consuming it; ok is false at the end.
func (s *scanner) peek() (c byte, ok bool, err error) {
	b, err := s.br.Peek(1)
	if err == io.EOF {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return b[0], true, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// nonSpace returns the next byte that is not white space.
func (s *scanner) nonSpace() (byte, error) {
	for {
		c, err := s.next()
		if err != nil || !isSpace(c) {
			return c, err
		}
	}
}

func (s *scanner) expect(want byte) error {
	c, err := s.nonSpace()
	if err == nil && c != want {
		err = s.errf("expected %q, found %q", want, c)
	}
	return err
}

// key reads a field name (its opening quote read) and reports whether it
// is the field sought. A second occurrence of the field is refused.
func (s *scanner) key() (bool, error) {
	want, match := s.field, true
	var chunk [64]byte
	for {
		n, done, err := s.unquote(chunk[:])
		if err != nil {
			return false, err
		}
		if match {
			if n > len(want) || string(chunk[:n]) != want[:n] {
				match = false
			} else {
				want = want[n:]
			}
		}
		if done {
			return match && want == "", nil
		}
	}
}

// skipString reads past a string whose opening quote was read.
func (s *scanner) skipString() error {
	var chunk [512]byte
	for {
		_, done, err := s.unquote(chunk[:])
		if err != nil || done {
			return err
		}
	}
}

// skipValue checks and reads past one value whose first byte is c, at
// nesting depth.
func (s *scanner) skipValue(c byte, depth int) error {
	switch {
	case c == '"':
		return s.skipString()
	case c == '{' || c == '[':
		if depth >= maxDepth {
			return s.errf("nested deeper than %d", maxDepth)
		}
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		c, err := s.nonSpace()
		if err != nil || c == end {
			return err
		}
		for {
			if end == '}' {
				if c != '"' {
					return s.errf("expected a field name, found %q", c)
				}
				if err := s.skipString(); err != nil {
					return err
				}
				if err := s.expect(':'); err != nil {
					return err
				}
				if c, err = s.nonSpace(); err != nil {
					return err
				}
			}
			if err := s.skipValue(c, depth+1); err != nil {
				return err
			}
			if c, err = s.nonSpace(); err != nil {
				return err
			}
			if c == end {
				return nil
			}
			if c != ',' {
				return s.errf("expected , or %q after a value, found %q", end, c)
			}
			if c, err = s.nonSpace(); err != nil {
				return err
			}
		}
	case c == 't':
		return s.literal("rue")
	case c == 'f':
		return s.literal("alse")
	case c == 'n':
		return s.literal("ull")
	case c == '-' || '0' <= c && c <= '9':
		return s.number(c)
	}
	return s.errf("unexpected %q", c)
}

func (s *scanner) literal(rest string) error {
	for i := range len(rest) {
		c, err := s.next()
		if err != nil {
			return err
		}
		if c != rest[i] {
			return s.errf("unexpected %q in a literal", c)
		}
	}
	return nil
}

// number reads past a number whose first byte c was read:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number(c byte) error {
	var err error
	if c == '-' {
		if c, err = s.next(); err != nil {
			return err
		}
	}
	switch {
	case c == '0':
	case '1' <= c && c <= '9':
		if _, err := s.digits(false); err != nil {
			return err
		}
	default:
		return s.errf("malformed number")
	}
	p, ok, err := s.peek()
	if err != nil || !ok {
		return err
	}
	if p == '.' {
		s.br.Discard(1)
		if _, err := s.digits(true); err != nil {
			return err
		}
		if p, ok, err = s.peek(); err != nil || !ok {
			return err
		}
	}
	if p == 'e' || p == 'E' {
		s.br.Discard(1)
		if p, ok, err = s.peek(); err != nil {
			return err
		}
		if ok && (p == '+' || p == '-') {
			s.br.Discard(1)
		}
		_, err = s.digits(true)
	}
	return err
}

// digits reads past a run of digits; need says at least one is required.
func (s *scanner) digits(need bool) (int, error) {
	n := 0
	for {
		c, ok, err := s.peek()
		if err != nil {
			return n, err
		}
		if !ok || c < '0' || c > '9' {
			if need && n == 0 {
				return 0, s.errf("malformed number")
			}
			return n, nil
		}
		s.br.Discard(1)
		n++
	}
}

// unquote decodes the string being read into p until p is full, the
// buffered input runs out after some bytes were decoded, or the closing
// quote is read (done).
func (s *scanner) unquote(p []byte) (n int, done bool, err error) {
	for n < len(p) {
		if len(s.pend) > 0 {
			c := copy(p[n:], s.pend)
			s.pend, n = s.pend[c:], n+c
			continue
		}
		if s.br.Buffered() == 0 {
			if n > 0 {
				return n, false, nil // hand out what is decoded before blocking
			}
			if _, err := s.br.Peek(1); err != nil {
				if err == io.EOF {
					err = s.errf("unexpected end of the body in a string")
				}
				return n, false, err
			}
		}
		// Copy the run of plain ASCII at once.
		buf, _ := s.br.Peek(s.br.Buffered())
		lim := min(len(buf), len(p)-n)
		i := 0
		for i < lim {
			if c := buf[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
				break
			}
			i++
		}
		copy(p[n:], buf[:i])
		s.br.Discard(i)
		n += i
		if i == lim {
			continue
		}
		switch c := buf[i]; {
		case c == '"':
			s.br.Discard(1)
			return n, true, nil
		case c < 0x20:
			return n, false, s.errf("control character in a string")
		case c == '\\':
			s.br.Discard(1)
			if err := s.escape(); err != nil {
				return n, false, err
			}
		default:
			b, err := s.br.Peek(utf8.UTFMax)
			if err != nil && err != io.EOF && !utf8.FullRune(b) {
				return n, false, err
			}
			r, size := utf8.DecodeRune(b)
			if r == utf8.RuneError && size == 1 {
				return n, false, s.errf("invalid UTF-8 in a string")
			}
			s.pend = s.buf[:copy(s.buf[:], b[:size])]
			s.br.Discard(size)
		}
	}
	return n, false, nil
}

// escape decodes an escape sequence whose backslash was read into pend.
func (s *scanner) escape() error {
	c, err := s.next()
	if err != nil {
		return err
	}
	var b byte
	switch c {
	case '"', '\\', '/':
		b = c
	case 'b':
		b = '\b'
	case 'f':
		b = '\f'
	case 'n':
		b = '\n'
	case 'r':
		b = '\r'
	case 't':
		b = '\t'
	case 'u':
		var hex [4]byte
		if _, err := io.ReadFull(s.br, hex[:]); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				err = s.errf("unexpected end of the body in an escape")
			}
			return err
		}
		r, ok := hex4(hex[:])
		if !ok {
			return s.errf("malformed \\u escape")
		}
		if utf16.IsSurrogate(r) {
			// As encoding/json: a valid pair is one rune; anything else U+FFFD.
			next, err := s.br.Peek(6)
			if len(next) < 6 && err != nil && err != io.EOF {
				return err
			}
			r2, ok := rune(0), false
			if len(next) == 6 && next[0] == '\\' && next[1] == 'u' {
				r2, ok = hex4(next[2:])
			}
			if d := utf16.DecodeRune(r, r2); ok && d != unicode.ReplacementChar {
				s.br.Discard(6)
				r = d
			} else {
				r = unicode.ReplacementChar
			}
		}
		s.pend = s.buf[:utf8.EncodeRune(s.buf[:], r)]
		return nil
	default:
		return s.errf("invalid escape \\%c", c)
	}
	s.buf[0] = b
	s.pend = s.buf[:1]
	return nil
}

func hex4(b []byte) (rune, bool) {
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// rest checks the object after the field's value: more fields, none of
// them the field again, the closing brace, and nothing but white space.
func (s *scanner) rest() error {
	for {
		c, err := s.nonSpace()
		if err != nil {
			return err
		}
		if c == '}' {
			break
		}
		if c != ',' {
			return s.errf("expected , or } after a value, found %q", c)
		}
		if c, err = s.nonSpace(); err != nil {
			return err
		}
		if c != '"' {
			return s.errf("expected a field name, found %q", c)
		}
		match, err := s.key()
		if err != nil {
			return err
		}
		if match {
			return shelf.Errorf(shelf.EINVALID, "field %q appears more than once", s.field)
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if c, err = s.nonSpace(); err != nil {
			return err
		}
		if err := s.skipValue(c, 1); err != nil {
			return err
		}
	}
	for {
		c, err := s.br.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if !isSpace(c) {
			return s.errf("trailing data after the object")
		}
	}
}

// stringReader reads the value String found.
type stringReader struct {
	s   *scanner
	err error
}

func (r *stringReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, done, err := r.s.unquote(p)
	if err == nil && done {
		if err = r.s.rest(); err == nil {
			err = io.EOF
		}
	}
	r.err = err
	return n, err
}
