package memoryinc

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseTime(t *testing.T) {
	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UTC()
	}
	for _, tt := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: "", want: time.Time{}},
		{in: "2026-06-09", want: utc("2026-06-09T00:00:00Z")},
		{in: "2026-06-09T10:00:00Z", want: utc("2026-06-09T10:00:00Z")},
		{in: "2026-06-09T10:00:00.123456789Z", want: utc("2026-06-09T10:00:00.123456789Z")},
		{in: "2026-06-09T19:00:00+09:00", want: utc("2026-06-09T10:00:00Z")},
		{in: "2026-06-09T19:00:00 09:00", want: utc("2026-06-09T10:00:00Z")}, // "+" lost in a query string
		{in: "2026-06-09T01:00:00-09:00", want: utc("2026-06-09T10:00:00Z")},
		{in: "2026-06-09T10:00:00", want: utc("2026-06-09T10:00:00Z")},
		{in: "2026-06-09T10:00:00.5", want: utc("2026-06-09T10:00:00.5Z")},
		{in: "yesterday", bad: true},
		{in: "2026-06-09 10:00:00", bad: true},
		{in: "2026-13-01", bad: true},
		{in: "2026-06-09T24:00:00Z", bad: true},
		{in: "1717900000", bad: true},
		{in: " 2026-06-09", bad: true},
	} {
		got, err := parseTime("created_after", tt.in)
		if tt.bad {
			if err == nil || !strings.Contains(err.Error(), "created_after") {
				t.Errorf("%q: err = %v, want an error naming created_after", tt.in, err)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("%q = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestTextType(t *testing.T) {
	for name, want := range map[string]string{
		"doc-2026-06-09-001":   "text/plain; charset=utf-8",
		"docs/api/payments.md": "text/markdown; charset=utf-8",
		"a.MD":                 "text/markdown; charset=utf-8",
		"a.markdown":           "text/markdown; charset=utf-8",
		"index.html":           "text/html; charset=utf-8",
		"x.json":               "application/json",
		"v1.2":                 "text/plain; charset=utf-8",
		"dir.d/file":           "text/plain; charset=utf-8",
		"":                     "text/plain; charset=utf-8",
	} {
		if got := textType(name); got != want {
			t.Errorf("textType(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestDecodePath(t *testing.T) {
	for in, want := range map[string]string{
		``:                         "",
		`null`:                     "",
		`"docs/api/payments.md"`:   "docs/api/payments.md",
		`["docs","api","pay.md"]`:  "docs/api/pay.md",
		`["한글", "파일.md"]`:          "한글/파일.md",
		`["only"]`:                 "only",
		` [ "a" , "b" ] `:          "a/b",
		`"/kept/for/the/core"`:     "/kept/for/the/core",
		`"a//b"`:                   "a//b",
		`["a\u002fb"]`:             "!",
		`[]`:                       "!",
		`[""]`:                     "!",
		`["a",null]`:               "!",
		`{"a":1}`:                  "!",
		`5`:                        "!",
		`true`:                     "!",
		`["a",["b"]]`:              "!",
		`"unterminated`:            "!",
		`["a","b/"]`:               "!",
		`["a","b","c","d","e.md"]`: "a/b/c/d/e.md",
	} {
		got, err := decodePath(json.RawMessage(in))
		if want == "!" {
			if err == nil {
				t.Errorf("%s = %q, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", in, got, err, want)
		}
	}
}

// FuzzDecode feeds the raw field values of an ingest to its decoders:
// they never panic, and what they accept round-trips.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`"x"`, `{"a":1}`, `[1, 2]`, `null`, `5`, `"\u00e9\n"`, `["a","b"]`, `[]`, `{ }`, `"`, `[`} {
		f.Add([]byte(s), "name.md")
	}
	f.Fuzz(func(t *testing.T, raw []byte, name string) {
		if b, ct, err := decodeContent(raw, name); err == nil {
			if ct == "application/json" {
				if !json.Valid(b) || !json.Valid(raw) {
					t.Fatalf("JSON content %q from %q", b, raw)
				}
				var compact bytes.Buffer
				_ = json.Compact(&compact, b)
				if !bytes.Equal(compact.Bytes(), b) {
					t.Fatalf("not compact: %q", b)
				}
			} else {
				var s string
				if err := json.Unmarshal(raw, &s); err != nil || s != string(b) || !utf8.Valid(b) {
					t.Fatalf("string content %q from %q", b, raw)
				}
			}
		}
		if p, err := decodePath(raw); err == nil && p != "" {
			var s string
			var segs []string
			if json.Unmarshal(raw, &s) != nil && (json.Unmarshal(raw, &segs) != nil || strings.Join(segs, "/") != p) {
				t.Fatalf("path %q from %q", p, raw)
			}
		}
		_, _ = parseTime("created_after", string(raw))
	})
}
