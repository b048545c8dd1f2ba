package http_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/shelfmem/shelf/internal/shelftest"
	"github.com/shelfmem/shelf/library"
)

// lockedBuffer is a log sink tests read while the server writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeNeverShort: a file whose blob is gone, or shorter than its
// version, is never answered as a 200 whose body is shorter than its
// Content-Length. A blob that cannot be opened is an error answer in the
// route's dialect, with no file headers; a blob that ends early once the
// headers are out cuts the connection (the client sees a truncated
// transfer) and is logged.
func TestServeNeverShort(t *testing.T) {
	logs := &lockedBuffer{}
	e := shelftest.New(t, library.Config{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	_, key := e.Workspace(t, "acme")
	data := make([]byte, 200<<10) // above the inline limit: kept as a blob
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	r := e.DoWith(t, "PUT", "/v1/files/big.bin", key, http.Header{"Content-Type": {"application/octet-stream"}}, data)
	if r.Status != 201 {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	var put struct {
		Item    struct{ ID string } `json:"item"`
		Version struct {
			SHA256 string `json:"sha256"`
		} `json:"version"`
	}
	r.JSON(t, &put)
	h := put.Version.SHA256
	blob := filepath.Join(e.Dir, "blobs", "sha256", h[:2], h[2:4], h)
	if _, err := os.Stat(blob); err != nil {
		t.Fatalf("the blob is not where the test looks: %v", err)
	}
	// The same bytes in a ChatBotKit space share the blob.
	var space struct{ ID string }
	e.Do(t, "POST", "/api/v1/space/create", key, map[string]any{"name": "s"}).JSON(t, &space)
	storage := "/api/v1/space/" + space.ID + "/storage"
	if r := e.DoWith(t, "POST", storage+"/upload/big.bin", key, http.Header{"Content-Type": {"application/octet-stream"}}, data); r.Status != 200 {
		t.Fatalf("upload to the space: %d %s", r.Status, r.Body)
	}
	native := "/v1/items/" + put.Item.ID + "/content"
	// fetch reads a whole answer; err is what reading the body said.
	fetch := func(path string, header http.Header) (*http.Response, []byte, error) {
		req, _ := http.NewRequest("GET", e.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
	if resp, b, err := fetch(native, nil); err != nil || resp.StatusCode != 200 || !bytes.Equal(b, data) {
		t.Fatalf("intact: %d, %d bytes, %v", resp.StatusCode, len(b), err)
	}

	// The blob is gone: every download route answers a 500 in its shape.
	if err := os.Remove(blob); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		route, path string
		header      http.Header
		code        func(body []byte) string
	}{
		{"native", native, nil, func(b []byte) string {
			var x struct{ Error struct{ Code string } }
			_ = json.Unmarshal(b, &x)
			return x.Error.Code
		}},
		{"native range", native, http.Header{"Range": {"bytes=100-199"}}, func(b []byte) string {
			var x struct{ Error struct{ Code string } }
			_ = json.Unmarshal(b, &x)
			return x.Error.Code
		}},
		{"memorylake", "/openapi/memorylake/api/v1/drives/items/" + put.Item.ID + "/binary", nil, func(b []byte) string {
			var x struct {
				ErrorCode string `json:"error_code"`
			}
			_ = json.Unmarshal(b, &x)
			return x.ErrorCode
		}},
		{"chatbotkit", storage + "/download/big.bin", nil, func(b []byte) string {
			var x struct{ Code string }
			_ = json.Unmarshal(b, &x)
			return x.Code
		}},
	} {
		resp, b, err := fetch(c.path, c.header)
		if err != nil || resp.StatusCode != 500 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("%s with the blob gone: %d %s %q, %v", c.route, resp.StatusCode, resp.Header.Get("Content-Type"), b, err)
		}
		if cd := resp.Header.Get("Content-Disposition"); cd != "" || resp.Header.Get("ETag") != "" {
			t.Fatalf("%s: the error answer kept the file's headers: %v", c.route, resp.Header)
		}
		want := map[string]string{"native": "internal", "native range": "internal", "memorylake": "INTERNAL_ERROR", "chatbotkit": "INTERNAL_SERVER_ERROR"}[c.route]
		if got := c.code(b); got != want {
			t.Fatalf("%s: error %q, want %q: %s", c.route, got, want, b)
		}
	}

	// The blob is there but ends early: the headers promised all of it.
	if err := os.WriteFile(blob, data[:len(data)/2], 0o444); err != nil {
		t.Fatal(err)
	}
	resp, b, err := fetch(native, nil)
	if resp.StatusCode == 200 && err == nil {
		t.Fatalf("a blob cut in half was served as a complete 200 of %d bytes (Content-Length %s)", len(b), resp.Header.Get("Content-Length"))
	}
	if !strings.Contains(logs.String(), "after its headers were sent") {
		t.Fatalf("the cut transfer was not logged:\n%s", logs.String())
	}
	// A range inside what is left is served; one past it is an error.
	if resp, b, err := fetch(native, http.Header{"Range": {"bytes=0-99"}}); err != nil || resp.StatusCode != 206 || !bytes.Equal(b, data[:100]) {
		t.Fatalf("range inside the short blob: %d, %d bytes, %v", resp.StatusCode, len(b), err)
	}
	if resp, b, err := fetch(native, http.Header{"Range": {"bytes=150000-150099"}}); err != nil || resp.StatusCode != 500 {
		t.Fatalf("range past the short blob's end: %d %s, %v", resp.StatusCode, b, err)
	}
}
