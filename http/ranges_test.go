package http

import (
	"fmt"
	"testing"
)

func TestCoalesceRange(t *testing.T) {
	for _, c := range []struct {
		header string
		size   int64
		want   string
		ok     bool
	}{
		{"bytes=0-9", 100, "bytes=0-9", true},
		{"bytes=0-9,5-20", 100, "bytes=0-20", true},                      // overlap
		{"bytes=500-509,0-9", 1000, "bytes=500-509,0-9", true},           // apart: kept, in the client's order
		{"bytes=500-599,0-9,100-199", 1000, "bytes=500-599,0-199", true}, // 0-9 and 100-199 lie within the gap
		{"bytes=-10", 100, "bytes=90-99", true},                          // a suffix
		{"bytes=-500", 100, "bytes=0-99", true},                          // a suffix longer than the file
		{"bytes=90-", 100, "bytes=90-99", true},
		{"bytes=90-500", 100, "bytes=90-99", true},
		{"bytes=0-0,0-0,0-0,0-0", 100, "bytes=0-0", true},
		{"bytes=200-300", 100, "bytes=200-300", true}, // past the end: left to ServeContent (416)
		{"bytes=5-1", 100, "bytes=5-1", true},         // does not parse: left as it is
		{"items=0-1", 100, "items=0-1", true},
		{"bytes=0-9, 500-509", 100, "bytes=0-9", true},
	} {
		got, ok := coalesceRange(c.header, c.size)
		if got != c.want || ok != c.ok {
			t.Errorf("coalesceRange(%q, %d) = %q, %v; want %q, %v", c.header, c.size, got, ok, c.want, c.ok)
		}
	}
	// Many ranges far apart: ignored.
	h := "bytes="
	for i := range MaxRanges + 1 {
		if i > 0 {
			h += ","
		}
		h += fmt.Sprintf("%d-%d", i*1000, i*1000)
	}
	if _, ok := coalesceRange(h, 1<<20); ok {
		t.Errorf("%d ranges far apart were kept", MaxRanges+1)
	}
}

// FuzzCoalesceRange checks that a rewritten header parses, holds at most
// MaxRanges ranges that never overlap, and covers every byte the
// original asked for.
func FuzzCoalesceRange(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=0-9,5-20", "bytes=-10,0-0", "bytes=1-2,3-4,100-200", "bytes=,", "bytes=9-"} {
		f.Add(s, int64(300))
	}
	f.Fuzz(func(t *testing.T, header string, size int64) {
		if size <= 0 || size > 1<<40 {
			return
		}
		in, ok := parseSpans(header, size)
		got, keep := coalesceRange(header, size)
		if !ok || len(in) == 0 {
			if got != header || !keep {
				t.Fatalf("unparsed %q rewritten to %q, %v", header, got, keep)
			}
			return
		}
		if !keep {
			return
		}
		out, ok := parseSpans(got, size)
		if !ok || len(out) == 0 || len(out) > MaxRanges {
			t.Fatalf("%q → %q: %d ranges, ok %v", header, got, len(out), ok)
		}
		for i, a := range out {
			for _, b := range out[i+1:] {
				if a.start < b.end && b.start < a.end {
					t.Fatalf("%q → %q: ranges overlap", header, got)
				}
			}
		}
		for _, s := range in {
			covered := false
			for _, o := range out {
				covered = covered || (o.start <= s.start && s.end <= o.end)
			}
			if !covered {
				t.Fatalf("%q → %q: [%d, %d) is lost", header, got, s.start, s.end)
			}
		}
	})
}
