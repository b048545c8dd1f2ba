package library

import (
	"bufio"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"strings"

	shelf "github.com/shelfmem/shelf"
)

// maxDataURLHeader caps the part of a data: URL before the comma.
const maxDataURLHeader = 1024

// ParseDataURL reads a data: URL (RFC 2397) from r and returns its media
// type and a reader of its decoded bytes. Only the header, up to the comma,
// is read here; the data is decoded as it is read, base64 or percent
// encoded, so a large URL is never held in memory. A malformed header is
// EINVALID at once; malformed data is EINVALID from the reader.
func ParseDataURL(r io.Reader) (string, io.Reader, error) {
	br := bufio.NewReaderSize(r, maxDataURLHeader+1)
	head, err := br.Peek(5)
	if err != nil && err != io.EOF {
		return "", nil, err // the reader's own failure, such as a size limit
	}
	if err != nil || !strings.EqualFold(string(head), "data:") {
		return "", nil, shelf.Errorf(shelf.EINVALID, "not a data: URL")
	}
	br.Discard(5)
	var header []byte
	for {
		b, err := br.ReadByte()
		if err != nil && err != io.EOF {
			return "", nil, err
		}
		if err != nil {
			return "", nil, shelf.Errorf(shelf.EINVALID, "malformed data: URL: no comma before the data")
		}
		if b == ',' {
			break
		}
		if len(header) >= maxDataURLHeader {
			return "", nil, shelf.Errorf(shelf.EINVALID, "malformed data: URL: header longer than %d bytes", maxDataURLHeader)
		}
		header = append(header, b)
	}
	meta := string(header)
	isBase64 := false
	if strings.HasSuffix(strings.ToLower(meta), ";base64") {
		isBase64 = true
		meta = meta[:len(meta)-len(";base64")]
	}
	mediaType := "text/plain; charset=US-ASCII"
	if meta != "" {
		if strings.HasPrefix(meta, ";") { // parameters only: text/plain is implied
			meta = "text/plain" + meta
		}
		mt, params, err := mime.ParseMediaType(meta)
		if err != nil {
			return "", nil, shelf.Errorf(shelf.EINVALID, "malformed data: URL media type: %v", err)
		}
		mediaType = mime.FormatMediaType(mt, params)
	}
	if isBase64 {
		return mediaType, &dataReader{r: base64.NewDecoder(base64.StdEncoding, br)}, nil
	}
	return mediaType, &dataReader{r: &percentReader{r: br}}, nil
}

// dataReader turns decoding failures into EINVALID.
type dataReader struct{ r io.Reader }

func (d *dataReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	var ce base64.CorruptInputError
	if errors.As(err, &ce) || errors.Is(err, errBadPercent) || errors.Is(err, io.ErrUnexpectedEOF) {
		return n, shelf.Errorf(shelf.EINVALID, "malformed data: URL data: %v", err)
	}
	return n, err
}

var errBadPercent = errors.New("bad percent escape")

// percentReader decodes %XX escapes as bytes stream through.
type percentReader struct {
	r *bufio.Reader
}

func (pr *percentReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		b, err := pr.r.ReadByte()
		if err != nil {
			if n > 0 && err == io.EOF {
				return n, nil
			}
			return n, err
		}
		if b == '%' {
			h, err := pr.r.Peek(2)
			if err != nil || !isHexByte(h[0]) || !isHexByte(h[1]) {
				return n, errBadPercent
			}
			b = unhex(h[0])<<4 | unhex(h[1])
			pr.r.Discard(2)
		}
		p[n] = b
		n++
		if pr.r.Buffered() == 0 {
			break
		}
	}
	return n, nil
}

func isHexByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
