package http

import (
	"slices"
	"strconv"
	"strings"
)

// Multi-range requests. net/http's ServeContent answers every range a
// client lists as its own part of a multipart response, overlapping or
// not, however many: a request of thousands of tiny ranges costs the
// server a part header each. RFC 9110 §14.2 lets a server coalesce
// ranges and ignore a Range header of many small ranges, so before
// ServeContent sees it a Range header is rewritten: ranges that overlap
// or lie within rangeGap bytes of each other become one (each merged
// range in the place of the first of its ranges the client listed), and
// more than MaxRanges ranges after that make the header ignored (the
// whole representation, 200, as with no Range). A header that does not
// parse, or whose ranges all lie past the end, is left to ServeContent
// (416).
const (
	MaxRanges = 16
	rangeGap  = 128 // bytes: about what a multipart part's header costs
)

// span is a byte range [start, end) and the position of the first range
// of the header it stands for.
type span struct {
	start, end int64
	first      int
}

// coalesceRange returns the Range header to serve for a representation of
// size bytes, and false when it is to be ignored. A header it cannot
// parse is returned as it is.
func coalesceRange(header string, size int64) (string, bool) {
	spans, ok := parseSpans(header, size)
	if !ok || len(spans) == 0 {
		return header, true
	}
	slices.SortFunc(spans, func(a, b span) int {
		switch {
		case a.start < b.start:
			return -1
		case a.start > b.start:
			return 1
		}
		return a.first - b.first
	})
	merged := spans[:1]
	for _, s := range spans[1:] {
		last := &merged[len(merged)-1]
		if s.start <= last.end+rangeGap {
			last.end = max(last.end, s.end)
			last.first = min(last.first, s.first)
			continue
		}
		merged = append(merged, s)
	}
	if len(merged) > MaxRanges {
		return "", false
	}
	slices.SortFunc(merged, func(a, b span) int { return a.first - b.first })
	var b strings.Builder
	b.WriteString("bytes=")
	for i, s := range merged {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(s.start, 10))
		b.WriteByte('-')
		b.WriteString(strconv.FormatInt(s.end-1, 10))
	}
	return b.String(), true
}

// parseSpans reads a Range header as net/http does (RFC 9110 byte
// ranges), resolved against size; ranges that start past the end are
// dropped. ok is false when the header does not parse.
func parseSpans(header string, size int64) (spans []span, ok bool) {
	spec, found := strings.CutPrefix(header, "bytes=")
	if !found {
		return nil, false
	}
	for i, ra := range strings.Split(spec, ",") {
		ra = strings.TrimSpace(ra)
		if ra == "" {
			continue
		}
		first, last, found := strings.Cut(ra, "-")
		if !found {
			return nil, false
		}
		first, last = strings.TrimSpace(first), strings.TrimSpace(last)
		var s span
		s.first = i
		if first == "" { // the last n bytes
			n, err := strconv.ParseInt(last, 10, 64)
			if err != nil || n < 0 || last[0] == '+' {
				return nil, false
			}
			s.start, s.end = max(size-n, 0), size
		} else {
			start, err := strconv.ParseInt(first, 10, 64)
			if err != nil || start < 0 || first[0] == '+' {
				return nil, false
			}
			if start >= size {
				continue // not satisfiable; ServeContent decides if none is
			}
			s.start, s.end = start, size
			if last != "" {
				end, err := strconv.ParseInt(last, 10, 64)
				if err != nil || end < start || last[0] == '+' {
					return nil, false
				}
				s.end = min(end+1, size)
			}
		}
		if s.end > s.start {
			spans = append(spans, s)
		}
	}
	return spans, true
}
