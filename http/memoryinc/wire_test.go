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
		{in: "20260609", want: utc("2026-06-09T00:00:00Z")},
		{in: "2026-06-09T10:00:00Z", want: utc("2026-06-09T10:00:00Z")},
		{in: "2026-06-09t10:00:00z", want: utc("2026-06-09T10:00:00Z")},
		{in: "2026-06-09T10:00:00.123456789Z", want: utc("2026-06-09T10:00:00.123456789Z")},
		{in: "2026-06-09T10:00:00,5Z", want: utc("2026-06-09T10:00:00.5Z")},
		{in: "2026-06-09T10:00:00.1234567891Z", want: utc("2026-06-09T10:00:00.123456789Z")},
		{in: "2026-06-09T19:00:00+09:00", want: utc("2026-06-09T10:00:00Z")},
		{in: "2026-06-09T19:00:00 09:00", want: utc("2026-06-09T10:00:00Z")}, // "+" lost in a query string
		{in: "2026-06-09T01:00:00-09:00", want: utc("2026-06-09T10:00:00Z")},
		{in: "2026-06-09T10:00:00", want: utc("2026-06-09T10:00:00Z")},
		{in: "2026-06-09T10:00:00.5", want: utc("2026-06-09T10:00:00.5Z")},
		// +hhmm and +hh offsets.
		{in: "2026-12-07T16:56:00+0000", want: utc("2026-12-07T16:56:00Z")},
		{in: "2026-12-07T16:56:00 0000", want: utc("2026-12-07T16:56:00Z")},
		{in: "2026-12-07T18:26:00+0130", want: utc("2026-12-07T16:56:00Z")},
		{in: "2026-12-07T11:56:00-0500", want: utc("2026-12-07T16:56:00Z")},
		{in: "2026-12-07T18:56:00+02", want: utc("2026-12-07T16:56:00Z")},
		{in: "2026-12-07T16:56:00.25+0000", want: utc("2026-12-07T16:56:00.25Z")},
		// Minutes without seconds.
		{in: "2026-12-07T16:56Z", want: utc("2026-12-07T16:56:00Z")},
		{in: "2026-12-07T16:56", want: utc("2026-12-07T16:56:00Z")},
		{in: "2026-12-07T17:56+01:00", want: utc("2026-12-07T16:56:00Z")},
		{in: "2026-12-07T17:56 01:00", want: utc("2026-12-07T16:56:00Z")},
		// The basic format.
		{in: "20261207T165600Z", want: utc("2026-12-07T16:56:00Z")},
		{in: "20261207T1656Z", want: utc("2026-12-07T16:56:00Z")},
		{in: "20261207T165600", want: utc("2026-12-07T16:56:00Z")},
		{in: "20261207T165600.5Z", want: utc("2026-12-07T16:56:00.5Z")},
		{in: "20261207T185600+0200", want: utc("2026-12-07T16:56:00Z")},
		{in: "20261207T185600+02", want: utc("2026-12-07T16:56:00Z")},
		{in: "20261207t165600z", want: utc("2026-12-07T16:56:00Z")},
		// A space instead of T.
		{in: "2026-06-09 10:00:00", want: utc("2026-06-09T10:00:00Z")},
		{in: "2026-06-09 10:00:00Z", want: utc("2026-06-09T10:00:00Z")},
		{in: "2026-06-09 19:00:00+09:00", want: utc("2026-06-09T10:00:00Z")},
		{in: "2026-06-09 19:00:00 09:00", want: utc("2026-06-09T10:00:00Z")},
		{in: "2026-06-09 10:00", want: utc("2026-06-09T10:00:00Z")},
		{in: "20260609 1000Z", want: utc("2026-06-09T10:00:00Z")},
		// Anything else.
		{in: "yesterday", bad: true},
		{in: "2026-13-01", bad: true},
		{in: "2026-02-30", bad: true},
		{in: "2026-06-09T24:00:00Z", bad: true},
		{in: "2026-06-09T10:60Z", bad: true},
		{in: "1717900000", bad: true},
		{in: " 2026-06-09", bad: true},
		{in: "2026-06-09 ", bad: true},
		{in: "2026-06-09T", bad: true},
		{in: "2026-06-09T10", bad: true},
		{in: "2026-06-09T6:56Z", bad: true},
		{in: "2026-6-09", bad: true},
		{in: "2026-06-09T1000Z", bad: true},      // extended date, basic time
		{in: "20260609T10:00Z", bad: true},       // basic date, extended time
		{in: "2026-06-09T10:00:00+9", bad: true}, // a one-digit offset
		{in: "2026-06-09T10:00:00+09:0", bad: true},
		{in: "2026-06-09T10:00:00.Z", bad: true},
		{in: "2026-06-09T10:00:00ZZ", bad: true},
		{in: "2026-06-09Z", bad: true},
		{in: "2026-06-09T10:00:00  09:00", bad: true},
		{in: "+2026-06-09", bad: true},
		{in: "２０２６-06-09", bad: true},
		{in: "2026-06-09T10:00:00." + strings.Repeat("0", 80) + "Z", bad: true},
	} {
		got, err := parseTime("created_after", tt.in)
		if tt.bad {
			// The message names the field and shows an accepted form.
			if err == nil || !strings.Contains(err.Error(), "created_after") || !strings.Contains(err.Error(), "2026-06-09T10:00:00Z") {
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

// FuzzParseTime: parseTime never panics; what it accepts is a UTC time
// that parses back from its RFC 3339 form, and the same instant written
// in the other accepted forms parses to it as well.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-06-09", "20261207T165600Z", "2026-12-07T16:56Z", "2026-12-07T16:56:00+0000",
		"2026-12-07 16:56:00 09:00", "2026-06-09T10:00:00.123456789-09:30", "20261207T1656+02", "2026-06-09t10:00:00,5z",
		"yesterday", "2026-13-01", "", " ", "9999-12-31T23:59:59.999999999+23:59", "0000-01-01T00:00:00-23:59"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTime("created_after", s)
		if err != nil {
			if !strings.Contains(err.Error(), "2026-06-09T10:00:00Z") {
				t.Fatalf("%q: the error shows no accepted form: %v", s, err)
			}
			return
		}
		if s == "" {
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("%q = %v, not UTC", s, got)
		}
		for _, form := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999-0700", "20060102T150405.999999999Z0700",
			"2006-01-02 15:04:05.999999999Z07:00"} {
			text := got.Format(form)
			if got.Year() < 0 || got.Year() > 9999 {
				return // not representable in four digits
			}
			back, err := parseTime("created_after", text)
			if err != nil || !back.Equal(got) {
				t.Fatalf("%q = %v; its form %q parses to %v, %v", s, got, text, back, err)
			}
		}
	})
}
