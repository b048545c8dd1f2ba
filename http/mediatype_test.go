package http_test

import (
	"net/http"
	"testing"

	"github.com/shelfmem/shelf/internal/shelftest"
	"github.com/shelfmem/shelf/library"
)

// TestUploadTypes checks how a direct upload is typed: a type that says
// what the file is stays; a generic one (curl -d's form type, octet-stream)
// or none gives way to the name's extension, then to the bytes; a ZIP
// type gives way to an extension of a format built on ZIP. A type that
// is not a media type (a CR/LF in it) is 400 and writes nothing.
func TestUploadTypes(t *testing.T) {
	e := shelftest.New(t, library.Config{})
	pdf := []byte("%PDF-1.4\n1 0 obj << >> endobj\n")
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	for _, c := range []struct {
		path, ct string
		body     []byte
		want     string
	}{
		{"report", "application/x-www-form-urlencoded", pdf, "application/pdf"},
		{"image", "application/octet-stream", png, "image/png"},
		{"blob", "", []byte{0, 1, 2, 3}, "application/octet-stream"},
		{"notes.md", "application/x-www-form-urlencoded", []byte("# Title"), "text/markdown"},
		{"sheet.xlsx", "application/zip", []byte("PK\x03\x04"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
		{"archive.zip", "application/zip", []byte("PK\x03\x04"), "application/zip"},
		{"data.bin", "application/pdf", []byte("not really"), "application/pdf"}, // a real type stays
	} {
		h := http.Header{}
		if c.ct != "" {
			h.Set("Content-Type", c.ct)
		}
		r := e.DoWith(t, "PUT", "/v1/files/types/"+c.path, master, h, c.body)
		if r.Status != 200 && r.Status != 201 {
			t.Fatalf("PUT %s: %d %s", c.path, r.Status, r.Body)
		}
		var got struct {
			Item struct {
				ContentType string `json:"content_type"`
			} `json:"item"`
		}
		r.JSON(t, &got)
		if got.Item.ContentType != c.want {
			t.Errorf("%s sent as %q is typed %q, want %q", c.path, c.ct, got.Item.ContentType, c.want)
		}
	}

	// A type with a line break, given at finalize.
	var up created
	e.Do(t, "POST", "/v1/uploads", master, map[string]any{"size": 3}).JSON(t, &up)
	resp, _ := put(t, up.Parts[0].URL, []byte("abc"), "")
	etag := resp.Header.Get("ETag")
	for _, ct := range []string{"text/plain\r\nX-Injected: 1", "not a type", "text/plain; charset"} {
		r := e.Do(t, "POST", "/v1/uploads/"+up.Upload.ID+"/finalize", master, map[string]any{"parent_id": "root", "name": "x.txt",
			"content_type": ct, "parts": []map[string]any{{"number": 1, "etag": etag}}})
		if r.Status != 400 {
			t.Fatalf("finalize with type %q = %d %s", ct, r.Status, r.Body)
		}
	}
	if r := e.Do(t, "POST", "/v1/uploads/"+up.Upload.ID+"/finalize", master, map[string]any{"parent_id": "root", "name": "x.txt",
		"content_type": "text/plain", "parts": []map[string]any{{"number": 1, "etag": etag}}}); r.Status != 200 {
		t.Fatalf("finalize after the refusals = %d %s", r.Status, r.Body)
	}
}
