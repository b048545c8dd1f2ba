package extract

import (
	"strings"
	"testing"
)

// TestContentScanner checks the count of operands the library's
// interpreter would hold, token by token.
func TestContentScanner(t *testing.T) {
	for _, c := range []struct {
		in      string
		pending int // operands left at the end
		depth   int
	}{
		{"1 2 3", 3, 0},
		{"1 2 Td", 0, 0},
		{"BT /F1 12 Tf", 0, 0},
		{"/F1 12", 2, 0},
		{"(a (nested) \\) string) (b)", 2, 0},
		{"(unclosed ) ( string", 1, 0},
		{"<48656c6c6f> <>", 2, 0},
		{"[(a) -20 (b)]", 4, 0}, // three members and the array
		{"[(a) -20 (b)] TJ", 0, 0},
		{"[1 [2 3]", 4, 1},
		{"<< /a 1 /b [2] >>", 6, 0},
		{"] ] >>", 3, 0}, // closers with nothing open: a null each
		{"1 2 % comment 3 4\n5", 3, 0},
		{"true false null", 3, 0},
		{"1.5 -.25 +3", 3, 0},
		{"1 1.2.3 2 1a", 0, 0}, // "1.2.3" and "1a" are operators
		{"1 2 { 3", 1, 0},
		{"[1 2 Tj 3", 1, 0}, // an operator inside an array: the library gives it up
		{"/Name#20x 1", 2, 0},
	} {
		s := newContentScanner(256, maxPDFOperands)
		if _, err := s.Write([]byte(c.in)); err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if err := s.finish(); err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		if s.pending != c.pending || s.depth != c.depth {
			t.Errorf("%q: pending %d depth %d, want %d %d", c.in, s.pending, s.depth, c.pending, c.depth)
		}
	}
	// Split anywhere, the stream scans the same.
	in := "BT /F1 12 Tf [(a\\)b) -20 <4142>] TJ 1 2 (x) % c\n3"
	for cut := range len(in) {
		s := newContentScanner(256, maxPDFOperands)
		s.Write([]byte(in[:cut]))
		s.Write([]byte(in[cut:]))
		if err := s.finish(); err != nil || s.pending != 4 {
			t.Fatalf("cut at %d: pending %d, %v", cut, s.pending, err)
		}
	}
	for _, in := range []string{"<41", "(a) <", "<"} {
		s := newContentScanner(256, maxPDFOperands)
		s.Write([]byte(in))
		if err := s.finish(); err == nil {
			t.Fatalf("%q: a stream ending in a hex string accepted", in)
		}
	}
	s := newContentScanner(256, maxPDFOperands)
	if _, err := s.Write([]byte(strings.Repeat("1 ", maxPDFOperands+1))); err == nil {
		t.Fatal("operand flood accepted")
	}
	s = newContentScanner(8, maxPDFOperands)
	if _, err := s.Write([]byte(strings.Repeat("[", 9))); err == nil {
		t.Fatal("deep nesting accepted")
	}
}
