package http

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/internal/jsonfield"
	"github.com/shelfmem/shelf/library"
)

// Direct uploads: a file's bytes in the one request that writes it: a raw
// body, a multipart form's part, or a URL (http(s) or data:) in a JSON
// object or a text/uri-list. The helpers here turn a request into a
// FileBody that streams; the native API and the dialects hand it to the
// core (library.Service.WriteFile), which enforces the file size limit
// while it reads. The caps here are the transport's: they bound what a
// request may send around the file, and refuse a declared length that is
// too large before reading anything.

// Limits of direct uploads besides the file size.
const (
	maxFormParts = 1000    // parts of a multipart form
	maxURLBytes  = 8 << 10 // an http(s) URL in a request body
)

// FileBody is a file's content as one request carries it: Body streams,
// Size is -1 when unknown, ContentType is "" when the name's extension
// should decide it. Close releases what it holds (a fetched response).
type FileBody struct {
	Body        io.Reader
	Size        int64
	ContentType string
	Name        string // the file name a form part gives, "" for none
	closer      io.Closer
}

// Close closes a fetched response; it is a no-op for the other forms.
func (b *FileBody) Close() error {
	if b.closer != nil {
		return b.closer.Close()
	}
	return nil
}

// RequestFileBody reads the file a direct-upload request carries: for a
// PUT, the raw body with its Content-Type (RawFileBody); for a POST, by
// its Content-Type, the part named "file" of a multipart/form-data form
// (FormFileBody), the "url" field of a JSON object (JSONURLBody) or the
// one URL of a text/uri-list (URIListBody).
func (s *Server) RequestFileBody(w http.ResponseWriter, r *http.Request) (*FileBody, error) {
	if r.Method == http.MethodPut {
		return s.RawFileBody(w, r)
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "multipart/form-data":
		return s.FormFileBody(w, r, "file")
	case "application/json":
		return s.JSONURLBody(w, r, "url")
	case "text/uri-list":
		return s.URIListBody(w, r)
	}
	return nil, shelf.Errorf(shelf.EINVALID, `a POST takes multipart/form-data with a "file" part, application/json {"url": …} or text/uri-list; PUT sends the raw bytes`)
}

// RawFileBody is the request body itself, its Content-Type the file's
// (none or application/octet-stream: inferred from the name) and its
// Content-Length the file's size when sent.
func (s *Server) RawFileBody(w http.ResponseWriter, r *http.Request) (*FileBody, error) {
	ct, err := fileType(r.Header.Get("Content-Type"), true)
	if err != nil {
		return nil, err
	}
	body, err := s.uploadBody(w, r, s.svc.Config().MaxFileSize)
	if err != nil {
		return nil, err
	}
	return &FileBody{Body: body, Size: r.ContentLength, ContentType: ct}, nil
}

// FormFileBody is the part named field of a multipart/form-data body,
// read as it streams (never ParseMultipartForm): the parts before it are
// skipped, at most maxFormParts of them and MaxJSONBytes of their content;
// the part's Content-Type is the file's. A form without the field is
// EINVALID. The parts after it are not read.
func (s *Server) FormFileBody(w http.ResponseWriter, r *http.Request, field string) (*FileBody, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, shelf.Errorf(shelf.EINVALID, "a multipart/form-data Content-Type with a boundary is required")
	}
	body, err := s.uploadBody(w, r, satAdd(s.svc.Config().MaxFileSize, 2*s.opts.MaxJSONBytes))
	if err != nil {
		return nil, err
	}
	mr := multipart.NewReader(body, params["boundary"])
	skipped := int64(0)
	for n := 1; ; n++ {
		if n > maxFormParts {
			return nil, shelf.Errorf(shelf.EINVALID, "the form has more than %d parts", maxFormParts)
		}
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, shelf.Errorf(shelf.EINVALID, "the form has no %q part", field)
		}
		if err != nil {
			return nil, formError(err)
		}
		if part.FormName() == field {
			ct, err := fileType(part.Header.Get("Content-Type"), true)
			if err != nil {
				return nil, err
			}
			return &FileBody{Body: &formReader{part}, Size: -1, ContentType: ct, Name: part.FileName()}, nil
		}
		m, err := io.Copy(io.Discard, io.LimitReader(part, s.opts.MaxJSONBytes-skipped+1))
		skipped += m
		if err != nil {
			return nil, formError(err)
		}
		if skipped > s.opts.MaxJSONBytes {
			return nil, shelf.Errorf(shelf.ETOOLARGE, "the form's parts other than %q exceed %d bytes", field, s.opts.MaxJSONBytes)
		}
	}
}

// formError classifies an error of reading a form: the body's own errors
// keep their code, the multipart parser's are the form's fault.
func formError(err error) error {
	if shelf.ErrorCode(err) != shelf.EINTERNAL {
		return err
	}
	return &shelf.Error{Code: shelf.EINVALID, Message: "malformed multipart form", Err: err}
}

// formReader reads the file part, a form that ends early being EINVALID.
type formReader struct{ r io.Reader }

func (f *formReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err != nil && err != io.EOF {
		err = formError(err)
	}
	return n, err
}

// urlBodyLimit caps a body that holds a URL: a data: URL may be
// percent-encoded, three bytes for each byte of the file.
func (s *Server) urlBodyLimit() int64 {
	m := s.svc.Config().MaxFileSize
	return satAdd(satAdd(satAdd(m, m), m), s.opts.MaxJSONBytes)
}

// JSONURLBody is the content of the URL in the string field of a JSON
// object body, read by URLBody. The JSON streams (internal/jsonfield), so a
// data: URL of any size is never held in memory.
func (s *Server) JSONURLBody(w http.ResponseWriter, r *http.Request, field string) (*FileBody, error) {
	body, err := s.uploadBody(w, r, s.urlBodyLimit())
	if err != nil {
		return nil, err
	}
	u, err := jsonfield.String(body, field)
	if err != nil {
		return nil, err
	}
	return s.URLBody(r.Context(), u)
}

// URIListBody is the content of the one URL of a text/uri-list body
// (RFC 2483: lines starting with # are comments), read by URLBody.
func (s *Server) URIListBody(w http.ResponseWriter, r *http.Request) (*FileBody, error) {
	body, err := s.uploadBody(w, r, s.urlBodyLimit())
	if err != nil {
		return nil, err
	}
	u, err := uriListURL(body)
	if err != nil {
		return nil, err
	}
	return s.URLBody(r.Context(), u)
}

// URLBody opens the content of the URL that u streams: a data: URL is
// decoded as it is read from u, an http(s) URL (at most 8 KiB) is read
// through the core's OpenURL, with its rules against internal addresses.
// A media type of application/octet-stream, or none from a server, leaves
// the type to the file's name.
func (s *Server) URLBody(ctx context.Context, u io.Reader) (*FileBody, error) {
	br := bufio.NewReader(u)
	head, err := br.Peek(5)
	if err != nil && err != io.EOF {
		return nil, err
	}
	if len(head) == 5 && strings.EqualFold(string(head), "data:") {
		mt, data, err := library.ParseDataURL(br)
		if err != nil {
			return nil, err
		}
		ct, _ := fileType(mt, false)
		return &FileBody{Body: data, Size: -1, ContentType: ct}, nil
	}
	raw, err := io.ReadAll(io.LimitReader(br, maxURLBytes+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxURLBytes {
		return nil, shelf.Errorf(shelf.EINVALID, "the URL is longer than %d bytes", maxURLBytes)
	}
	f, err := s.svc.OpenURL(ctx, string(raw))
	if err != nil {
		return nil, err
	}
	ct, _ := fileType(f.ContentType, false)
	return &FileBody{Body: f.Body, Size: f.Size, ContentType: ct, closer: f.Body}, nil
}

// fileType normalises the media type a client or a server gives a file:
// "" and application/octet-stream say nothing, so the core infers the type
// from the name. A malformed type is EINVALID when strict, else ignored.
func fileType(ct string, strict bool) (string, error) {
	if ct == "" {
		return "", nil
	}
	if _, _, err := mime.ParseMediaType(ct); err != nil {
		if strict {
			return "", shelf.Errorf(shelf.EINVALID, "malformed Content-Type %q", ct)
		}
		return "", nil
	}
	return ct, nil // as sent; the core decides what a generic type gives way to
}

// uploadBody returns the body of a direct upload capped at limit bytes: a
// declared Content-Length above it is ETOOLARGE before anything is read,
// and reading past it is ETOOLARGE too. The read deadline moves as bytes
// arrive (StreamBody).
func (s *Server) uploadBody(w http.ResponseWriter, r *http.Request, limit int64) (io.Reader, error) {
	if r.ContentLength > limit {
		return nil, shelf.Errorf(shelf.ETOOLARGE, "the request body of %d bytes exceeds the maximum of %d", r.ContentLength, limit)
	}
	return &requestBody{r: StreamBody(w, r, limit, partIdle), limit: limit}, nil
}

// requestBody gives the errors of reading a request body their codes: too
// long is ETOOLARGE, a body cut or stalled is the client's EINVALID.
type requestBody struct {
	r     io.Reader
	limit int64
}

func (b *requestBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == nil || err == io.EOF || shelf.ErrorCode(err) != shelf.EINTERNAL {
		return n, err
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return n, shelf.Errorf(shelf.ETOOLARGE, "the request body exceeds the maximum of %d bytes", b.limit)
	}
	return n, &shelf.Error{Code: shelf.EINVALID, Message: "the request body could not be read to its end", Err: err}
}

// satAdd adds non-negative sizes, saturating at math.MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// uriListURL returns a reader of the one URL of a text/uri-list body:
// blank lines and comments around it are skipped; a second URL is
// EINVALID, from Read.
func uriListURL(body io.Reader) (io.Reader, error) {
	br := bufio.NewReader(body)
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			return nil, shelf.Errorf(shelf.EINVALID, "the text/uri-list holds no URL")
		}
		if err != nil {
			return nil, err
		}
		switch c {
		case '#':
			if err := skipLine(br); err != nil {
				return nil, err
			}
		case ' ', '\t', '\r', '\n':
		default:
			_ = br.UnreadByte()
			return &uriReader{br: br}, nil
		}
	}
}

func skipLine(br *bufio.Reader) error {
	for {
		_, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			return nil
		}
		return err
	}
}

// uriReader reads a uri-list's URL to the end of its line, then checks
// the rest of the list holds no other.
type uriReader struct {
	br  *bufio.Reader
	err error
}

func (u *uriReader) Read(p []byte) (int, error) {
	if u.err != nil {
		return 0, u.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if u.br.Buffered() == 0 {
		if _, err := u.br.Peek(1); err != nil {
			u.err = err
			return 0, err
		}
	}
	buf, _ := u.br.Peek(u.br.Buffered())
	end := bytes.IndexAny(buf, "\r\n")
	if end >= 0 {
		buf = buf[:end]
	}
	n := copy(p, buf)
	u.br.Discard(n)
	if end >= 0 && n == len(buf) {
		if u.err = u.rest(); u.err == nil {
			u.err = io.EOF
		}
		return n, u.err
	}
	return n, nil
}

func (u *uriReader) rest() error {
	for {
		c, err := u.br.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch c {
		case '#':
			if err := skipLine(u.br); err != nil {
				return err
			}
		case ' ', '\t', '\r', '\n':
		default:
			return shelf.Errorf(shelf.EINVALID, "the text/uri-list holds more than one URL")
		}
	}
}
