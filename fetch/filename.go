package fetch

import (
	"mime"
	"net/url"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxFilename is the longest name, in bytes, that filename returns: the
// longest path segment Shelf stores (DESIGN §5).
const maxFilename = 255

// filename picks the name of a fetched body: the filename parameter of the
// Content-Disposition header (RFC 6266; filename* wins over filename, as
// mime.ParseMediaType decodes it), else the last segment of the requested
// URL's path (what the client named, as curl -O and wget do), else that of
// the final URL after redirects. Each candidate is sanitized; "" if none
// gives a name.
func filename(disposition string, requested, final *url.URL) string {
	if disposition != "" {
		if _, params, err := mime.ParseMediaType(disposition); err == nil {
			if name := sanitizeFilename(params["filename"]); name != "" {
				return name
			}
		}
	}
	for _, u := range []*url.URL{requested, final} {
		if u == nil {
			continue
		}
		p := u.EscapedPath()
		seg := p[strings.LastIndexByte(p, '/')+1:]
		if s, err := url.PathUnescape(seg); err == nil {
			seg = s
		}
		if name := sanitizeFilename(seg); name != "" {
			return name
		}
	}
	return ""
}

// sanitizeFilename turns s into a plain file name: valid UTF-8; only what
// follows the last / or \ (a sender's directories are not ours); no
// control characters or bidirectional overrides (which disguise an
// extension); no surrounding blanks; never "." or ".."; at most 255 bytes,
// cut in the stem so a short extension survives. It returns "" if nothing
// is left.
func sanitizeFilename(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || isBidiControl(r) || r == '\uFEFF' {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if s == "." || s == ".." {
		return ""
	}
	if len(s) > maxFilename {
		ext := path.Ext(s)
		if len(ext) > 32 || len(ext) == len(s) {
			ext = ""
		}
		stem := s[:len(s)-len(ext)]
		cut := maxFilename - len(ext)
		for cut > 0 && !utf8.RuneStart(stem[cut]) {
			cut--
		}
		s = strings.TrimSpace(stem[:cut]) + ext
	}
	return s
}

func isBidiControl(r rune) bool {
	switch {
	case r == '\u061C', r == '\u200E', r == '\u200F':
		return true
	case '\u202A' <= r && r <= '\u202E', '\u2066' <= r && r <= '\u2069':
		return true
	}
	return false
}
