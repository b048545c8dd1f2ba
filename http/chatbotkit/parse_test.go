package chatbotkit

import (
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"

	shelf "github.com/shelfmem/shelf"
)

func TestDecodePathID(t *testing.T) {
	const p = "photos/profile ü?.png"
	for _, id := range []string{
		base64.StdEncoding.EncodeToString([]byte(p)),
		base64.RawStdEncoding.EncodeToString([]byte(p)),
		base64.URLEncoding.EncodeToString([]byte(p)),
		base64.RawURLEncoding.EncodeToString([]byte(p)),
	} {
		got, err := DecodePathID(id)
		if err != nil || got != p {
			t.Errorf("DecodePathID(%q) = %q, %v", id, got, err)
		}
	}
	for _, id := range []string{"", "!", "a", "YQ===", "YQ=a", "Y Q"} {
		if got, err := DecodePathID(id); err == nil && id != "" {
			t.Errorf("DecodePathID(%q) = %q, want an error", id, got)
		}
	}
}

func TestParseStorage(t *testing.T) {
	for _, c := range []struct{ rest, op, path string }{
		{"upload/a/b.txt", "upload", "a/b.txt"},
		{"list", "list", ""},
		{"list/", "list", ""},
		{"upload/upload", "upload", "upload"},
		{"YS9iLnR4dA/download", "download", "a/b.txt"},
		{"w7w/LnR4dA==/delete", "delete", "ü?.txt"}, // a slash of the standard alphabet
	} {
		op, path, err := parseStorage(c.rest)
		if err != nil || op != c.op || path != c.path {
			t.Errorf("parseStorage(%q) = %q %q %v, want %q %q", c.rest, op, path, err, c.op, c.path)
		}
	}
	for _, rest := range []string{"", "frobnicate", "frobnicate/a", "YS9iLnR4dA/frobnicate", "!!/upload"} {
		if _, _, err := parseStorage(rest); err == nil {
			t.Errorf("parseStorage(%q) accepted", rest)
		}
	}
}

// FuzzParseStorage checks that any URL tail is parsed or refused with a
// client error, and that a parsed path is either the root or a clean path.
func FuzzParseStorage(f *testing.F) {
	for _, s := range []string{"upload/a/b.txt", "list", "cGhvdG9zL3Byb2ZpbGUucG5n/upload", "Li4vYQ/download",
		"YQ==/copy", "move//", "a/b/c/move", "\x00/upload"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rest string) {
		op, path, err := parseStorage(rest)
		if err != nil {
			if c := shelf.ErrorCode(err); c != shelf.EINVALID && c != shelf.ENOTFOUND {
				t.Fatalf("parseStorage(%q): code %s", rest, c)
			}
			return
		}
		if _, ok := storageOps[op]; !ok {
			t.Fatalf("parseStorage(%q): operation %q", rest, op)
		}
		clean, err := cleanPath(path)
		if err != nil {
			if shelf.ErrorCode(err) != shelf.EINVALID {
				t.Fatalf("cleanPath(%q): code %s", path, shelf.ErrorCode(err))
			}
			return
		}
		if clean != "" && (!utf8.ValidString(clean) || strings.Contains(clean, "..") && strings.Contains("/"+clean+"/", "/../") ||
			strings.Contains(clean, "//") || strings.ContainsRune(clean, 0) || strings.HasPrefix(clean, "/")) {
			t.Fatalf("cleanPath(%q) = %q", path, clean)
		}
	})
}
