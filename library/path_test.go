package library

import (
	"strings"
	"testing"
	"unicode/utf8"

	shelf "github.com/shelfmem/shelf"
)

func TestCleanName(t *testing.T) {
	ok := []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"Q2 Reports", "Q2 Reports"},
		{".bashrc", ".bashrc"},
		{"日本語.txt", "日本語.txt"},
		{"e\u0301", "e\u0301"}, // kept as sent (NFD)
		{"\u00e9", "\u00e9"},
		{strings.Repeat("\u0958", 42), strings.Repeat("\u0958", 42)}, // 126 bytes, 252 in NFC
		{"a..b", "a..b"},
		{"CONSOLE", "CONSOLE"},
		{"COM0", "COM0"},
		{strings.Repeat("a", 255), strings.Repeat("a", 255)},
		{"\u2025", "\u2025"}, // NFC keeps "‥"; only NFKC would make it ".."
	}
	for _, c := range ok {
		got, err := CleanName(c.in)
		if err != nil || got != c.want {
			t.Errorf("CleanName(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	bad := []string{
		"", ".", "..", "a/b", "/", `a\b`, "a\x00b", "a\nb", "a\x7fb", "a\u0085b",
		"a\u202eb", "a\u2066b", "trailing.", "trailing ", "CON", "con.txt", "NUL", "com1", "LPT9.log",
		strings.Repeat("a", 256), strings.Repeat("é", 128), "\xff\xfe",
		strings.Repeat("e\u0301", 100), // 300 bytes as sent, 200 in NFC
		strings.Repeat("\u0958", 85),   // 255 bytes as sent, 510 in NFC (U+0958 decomposes)
	}
	for _, in := range bad {
		if got, err := CleanName(in); shelf.ErrorCode(err) != shelf.EINVALID {
			t.Errorf("CleanName(%q) = %q, %v; want EINVALID", in, got, err)
		}
	}
}

func TestCleanPath(t *testing.T) {
	ok := []struct{ in, want string }{
		{"a", "a"},
		{"a/b/c.txt", "a/b/c.txt"},
		{"caf\u0065\u0301/x", "caf\u0065\u0301/x"}, // kept as sent
	}
	for _, c := range ok {
		got, err := CleanPath(c.in)
		if err != nil || got != c.want {
			t.Errorf("CleanPath(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	long := strings.Repeat(strings.Repeat("a", 200)+"/", 6) + "a"
	longNFC := strings.Repeat(strings.Repeat("\u0958", 40)+"/", 8) + "a" // 969 bytes as sent, 1929 in NFC
	bad := []string{"", "/a", "a/", "a//b", "a/./b", "a/../b", "../x", "a/..", `a\..\x`, "a/\x00", "%2e%2e/x/../..", long, longNFC, "a/CON/b"}
	for _, in := range bad {
		if got, err := CleanPath(in); shelf.ErrorCode(err) != shelf.EINVALID {
			t.Errorf("CleanPath(%q) = %q, %v; want EINVALID", in, got, err)
		}
	}
}

func TestSplitExt(t *testing.T) {
	for _, c := range []struct{ in, base, ext string }{
		{"report.pdf", "report", ".pdf"},
		{"a.tar.gz", "a.tar", ".gz"},
		{".bashrc", ".bashrc", ""},
		{"Q2 Reports", "Q2 Reports", ""},
	} {
		b, e := splitExt(c.in)
		if b != c.base || e != c.ext {
			t.Errorf("splitExt(%q) = %q, %q; want %q, %q", c.in, b, e, c.base, c.ext)
		}
	}
}

// FuzzCleanPath checks that whatever CleanPath accepts it returns as sent,
// valid UTF-8 within the limits and free of every forbidden segment in
// both its forms, and that its NFC form (NameKey) is accepted too.
func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"a/b", "../x", "a/./b", "é/ü", "a\\b", "\u2025/x", "CON", "a\x00", "x/\u202e", "cafe\u0301/x", "\u0958\u0958/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := CleanPath(in)
		if err != nil {
			if shelf.ErrorCode(err) != shelf.EINVALID {
				t.Fatalf("CleanPath(%q): error code %q", in, shelf.ErrorCode(err))
			}
			return
		}
		if got != in {
			t.Fatalf("CleanPath(%q) = %q, want it as sent", in, got)
		}
		key := NameKey(got)
		if again, err := CleanPath(key); err != nil || again != key {
			t.Fatalf("CleanPath refuses the NFC form %q of %q: %q, %v", key, got, again, err)
		}
		for _, form := range []string{got, key} {
			if !utf8.ValidString(form) || len(form) > MaxPathBytes {
				t.Fatalf("CleanPath(%q) accepted %q: invalid UTF-8 or too long", in, form)
			}
			for _, seg := range strings.Split(form, "/") {
				if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "\\\x00") || len(seg) > MaxNameBytes {
					t.Fatalf("CleanPath(%q) accepted %q, which has a bad segment %q", in, form, seg)
				}
			}
		}
	})
}

func TestCursor(t *testing.T) {
	for _, name := range []string{"a", "日本", "report_1.pdf"} {
		got, err := decodeCursor(encodeCursor(name))
		if err != nil || got != name {
			t.Errorf("cursor round trip of %q = %q, %v", name, got, err)
		}
	}
	for _, bad := range []string{"garbage", "n1.", "n1.!!!", "x1." + "YQ", "n1." + strings.Repeat("YWFh", 200)} {
		if _, err := decodeCursor(bad); shelf.ErrorCode(err) != shelf.EINVALID {
			t.Errorf("decodeCursor(%q) = %v; want EINVALID", bad, err)
		}
	}
}

func TestPartSizeFor(t *testing.T) {
	s := &Service{cfg: Config{}}
	s.cfg.setDefaults()
	for _, c := range []struct {
		size, part int64
		parts      int
	}{
		{1, 5 << 20, 1},
		{10485760, 5 << 20, 2},
		{1 << 30, 5 << 20, 205},
		{100 << 30, 11 << 20, 9310},
	} {
		ps := s.PartSizeFor(c.size)
		u := &shelf.Upload{Size: c.size, PartSize: ps}
		if ps != c.part || u.PartCount() != c.parts || u.PartCount() > MaxParts {
			t.Errorf("size %d: part size %d (%d parts), want %d (%d parts)", c.size, ps, u.PartCount(), c.part, c.parts)
		}
		off, n, ok := u.PartRange(u.PartCount())
		if !ok || off+n != c.size || n < 1 {
			t.Errorf("size %d: last part [%d,+%d) does not end the file", c.size, off, n)
		}
		if _, _, ok := u.PartRange(0); ok {
			t.Errorf("part 0 is in range")
		}
		if _, _, ok := u.PartRange(u.PartCount() + 1); ok {
			t.Errorf("part past the last is in range")
		}
	}
}

func TestParseKey(t *testing.T) {
	id, secret, token := newKeyToken()
	gid, gsecret, ok := parseKey(token)
	if !ok || gid != id || gsecret != secret {
		t.Fatalf("parseKey(%q) = %q, %q, %v", token, gid, gsecret, ok)
	}
	flipped := []byte(token)
	flipped[len(keyPrefix)+keyIDLen+3] ^= 1
	for _, bad := range []string{"", "shelf_", token[:len(token)-1], token + "0", string(flipped), strings.ToUpper(token)} {
		if _, _, ok := parseKey(bad); ok {
			t.Errorf("parseKey(%q) accepted", bad)
		}
	}
}
