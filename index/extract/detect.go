package extract

import (
	"archive/zip"
	"bytes"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
)

// format is a file format Extract reads.
type format uint8

const (
	formatUnknown format = iota
	formatText
	formatMarkdown
	formatHTML
	formatJSON
	formatJSONL
	formatCSV
	formatTSV
	formatPDF
	formatDOCX
	formatXLSX
	formatPPTX
)

var formatNames = [...]string{"unknown", "text", "markdown", "html", "json", "jsonl", "csv", "tsv", "pdf", "docx", "xlsx", "pptx"}

func (f format) String() string { return formatNames[f] }

// byType maps media types (without parameters) to formats.
var byType = map[string]format{
	"text/plain":                formatText,
	"text/markdown":             formatMarkdown,
	"text/x-markdown":           formatMarkdown,
	"text/html":                 formatHTML,
	"application/xhtml+xml":     formatHTML,
	"application/json":          formatJSON,
	"application/x-ndjson":      formatJSONL,
	"application/jsonl":         formatJSONL,
	"application/ld+json":       formatJSON,
	"text/csv":                  formatCSV,
	"application/csv":           formatCSV,
	"text/tab-separated-values": formatTSV,
	"application/pdf":           formatPDF,
	"application/x-pdf":         formatPDF,
	"application/xml":           formatText,
	"text/xml":                  formatText,
	"application/yaml":          formatText,
	"application/x-yaml":        formatText,
	"application/toml":          formatText,
	"application/javascript":    formatText,
	"application/x-sh":          formatText,
	"application/sql":           formatText,
	"application/x-tex":         formatText,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   formatDOCX,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         formatXLSX,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": formatPPTX,
}

// byExt maps lower-case file extensions to formats.
var byExt = map[string]format{
	".txt": formatText, ".text": formatText, ".log": formatText, ".xml": formatText,
	".yaml": formatText, ".yml": formatText, ".toml": formatText, ".ini": formatText,
	".go": formatText, ".py": formatText, ".js": formatText, ".ts": formatText,
	".c": formatText, ".h": formatText, ".java": formatText, ".rs": formatText,
	".sh": formatText, ".sql": formatText, ".tex": formatText, ".rst": formatText,
	".md": formatMarkdown, ".markdown": formatMarkdown, ".mdx": formatMarkdown,
	".html": formatHTML, ".htm": formatHTML, ".xhtml": formatHTML,
	".json": formatJSON, ".jsonl": formatJSONL, ".ndjson": formatJSONL,
	".csv": formatCSV, ".tsv": formatTSV, ".tab": formatTSV,
	".pdf":  formatPDF,
	".docx": formatDOCX, ".xlsx": formatXLSX, ".pptx": formatPPTX,
}

// mediaType returns the lower-case media type of contentType without
// parameters, or "" if there is none.
func mediaType(contentType string) string {
	if contentType == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
	}
	return strings.ToLower(strings.TrimSpace(mt))
}

// isGeneric reports whether contentType says nothing about the format, so
// the extension and the bytes decide.
func isGeneric(contentType string) bool {
	switch mediaType(contentType) {
	case "", "application/octet-stream", "binary/octet-stream", "application/unknown":
		return true
	}
	return false
}

// detect picks the format from the content type, then the extension. A
// text/plain type defers to a more specific extension (README.md sent as
// text/plain is Markdown).
func detect(contentType, name string) format {
	mt := mediaType(contentType)
	byName := byExt[strings.ToLower(path.Ext(name))]
	if f, ok := byType[mt]; ok {
		if f == formatText && byName != formatUnknown && byName <= formatTSV {
			return byName
		}
		return f
	}
	if strings.HasPrefix(mt, "text/") {
		if byName != formatUnknown {
			return byName
		}
		return formatText
	}
	if isGeneric(contentType) {
		return byName
	}
	return formatUnknown
}

// sniff looks at the first bytes of a file whose type is generic.
func sniff(r io.ReaderAt, size int64) (format, error) {
	head := make([]byte, min(size, 512))
	if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
		return formatUnknown, invalid(err, "extract: cannot read the file")
	}
	ct := http.DetectContentType(head)
	switch mt := mediaType(ct); {
	case mt == "application/pdf":
		return formatPDF, nil
	case mt == "text/html":
		return formatHTML, nil
	case mt == "application/json":
		return formatJSON, nil
	case strings.HasPrefix(mt, "text/"):
		t := bytes.TrimSpace(head)
		if len(t) > 0 && (t[0] == '{' || t[0] == '[') {
			return formatJSON, nil
		}
		return formatText, nil
	case mt == "application/zip":
		return sniffZip(r, size), nil
	}
	return formatUnknown, nil
}

// sniffZip tells the OOXML formats apart by their main part.
func sniffZip(r io.ReaderAt, size int64) format {
	if n, ok := declaredEntries(r, size); ok && n > 100000 {
		return formatUnknown
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return formatUnknown
	}
	for _, f := range zr.File {
		switch f.Name {
		case "word/document.xml":
			return formatDOCX
		case "xl/workbook.xml":
			return formatXLSX
		case "ppt/presentation.xml":
			return formatPPTX
		}
	}
	return formatUnknown
}
