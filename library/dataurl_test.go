package library

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
	"testing"

	shelf "github.com/shelfmem/shelf"
)

func readDataURL(s string) (string, []byte, error) {
	mt, r, err := ParseDataURL(strings.NewReader(s))
	if err != nil {
		return "", nil, err
	}
	b, err := io.ReadAll(r)
	return mt, b, err
}

func TestParseDataURL(t *testing.T) {
	big := bytes.Repeat([]byte{0, 1, 2, 250}, 100000)
	for _, c := range []struct {
		in, mt string
		want   []byte
	}{
		{"data:,Hello%2C%20World%21", "text/plain; charset=US-ASCII", []byte("Hello, World!")},
		{"data:text/plain;base64,SGVsbG8sIFdvcmxkIQ==", "text/plain", []byte("Hello, World!")},
		{"DATA:text/html,%3Ch1%3EHi%3C%2Fh1%3E", "text/html", []byte("<h1>Hi</h1>")},
		{"data:;charset=utf-8,caf%C3%A9", "text/plain; charset=utf-8", []byte("café")},
		{"data:application/pdf;BASE64," + base64.StdEncoding.EncodeToString(big), "application/pdf", big},
		{"data:image/png;base64,iVBO\nRw0K\n", "image/png", []byte{0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a}},
		{"data:,", "text/plain; charset=US-ASCII", []byte{}},
	} {
		mt, got, err := readDataURL(c.in)
		if err != nil || mt != c.mt || !bytes.Equal(got, c.want) {
			t.Errorf("%.40q: %q, %d bytes, %v; want %q, %d bytes", c.in, mt, len(got), err, c.mt, len(c.want))
		}
	}
	for _, bad := range []string{
		"", "http://x", "data", "data:text/plain", "data:text/plain;base64",
		"data:" + strings.Repeat("a", 2000) + ",x",
		"data:text/plain;base64,@@@@", "data:;base64,SGVsbG8", "data:,bad%zzescape", "data:,trailing%4",
		"data:text/plain;charset=\"x,y",
	} {
		if _, _, err := readDataURL(bad); shelf.ErrorCode(err) != shelf.EINVALID {
			t.Errorf("%.40q: err %v, want EINVALID", bad, err)
		}
	}
}

// FuzzParseDataURL checks that any input either fails with EINVALID or
// decodes, and that what it decodes from base64 round-trips.
func FuzzParseDataURL(f *testing.F) {
	for _, s := range []string{"data:,x", "data:text/plain;base64,SGk=", "data:;base64,", "data:a/b;c=d,%41", "data:,%", "data:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		_, b, err := readDataURL(in)
		if err != nil {
			if shelf.ErrorCode(err) != shelf.EINVALID {
				t.Fatalf("%q: error code %q: %v", in, shelf.ErrorCode(err), err)
			}
			return
		}
		if strings.HasPrefix(strings.ToLower(in), "data:") && len(b) > len(in) {
			t.Fatalf("%q decoded to more bytes (%d) than it holds", in, len(b))
		}
	})
}
