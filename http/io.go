package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	shelf "github.com/shelfmem/shelf"
)

// statusOf maps the core's codes to HTTP statuses, for the native API and
// for dialects that follow HTTP semantics.
var statusOf = map[string]int{
	shelf.EINVALID:      http.StatusBadRequest,
	shelf.ENOTFOUND:     http.StatusNotFound,
	shelf.ECONFLICT:     http.StatusConflict,
	shelf.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	shelf.EFORBIDDEN:    http.StatusForbidden,
	shelf.EUNAUTHORIZED: http.StatusUnauthorized,
	shelf.EUNAVAILABLE:  http.StatusServiceUnavailable,
	shelf.EINSUFFICIENT: http.StatusInsufficientStorage,
	shelf.EGONE:         http.StatusGone,
	shelf.ENOTIMPL:      http.StatusBadRequest,
	shelf.ETIMEOUT:      http.StatusGatewayTimeout,
	shelf.ERATELIMIT:    http.StatusTooManyRequests,
	shelf.EINTERNAL:     http.StatusInternalServerError,
}

// Status returns the HTTP status for err's code.
func Status(err error) int {
	if st, ok := statusOf[shelf.ErrorCode(err)]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// WireError is what a dialect answers for one of the core's codes.
type WireError struct {
	Status int
	Code   string
}

// ErrorTable is a dialect's one table from the core's codes to its own.
// It must map EINTERNAL.
type ErrorTable map[string]WireError

// Resolve prepares a dialect's answer to err: it logs an internal error,
// sets WWW-Authenticate on a 401 (realm names the API), and returns the
// wire status and code with the client-safe message. A code the table
// lacks is internal, and an internal error's message is internalMsg,
// never its detail.
func (t ErrorTable) Resolve(s *Server, w http.ResponseWriter, r *http.Request, err error, realm, internalMsg string) (WireError, string) {
	s.LogError(r, err)
	code := shelf.ErrorCode(err)
	we, ok := t[code]
	if !ok {
		code, we = shelf.EINTERNAL, t[shelf.EINTERNAL]
	}
	msg := shelf.ErrorMessage(err)
	switch code {
	case shelf.EUNAUTHORIZED:
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`"`)
	case shelf.EINTERNAL:
		msg = internalMsg
	}
	return we, msg
}

func (s *Server) writeNativeError(w http.ResponseWriter, r *http.Request, err error) {
	s.LogError(r, err)
	code := shelf.ErrorCode(err)
	if code == shelf.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="shelf"`)
	}
	WriteJSON(w, Status(err), map[string]any{"error": map[string]string{"code": code, "message": shelf.ErrorMessage(err)}})
}

// WriteJSON writes v as a JSON response with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// DecodeJSON reads one JSON value of at most limit bytes from the body
// into v. Malformed JSON, invalid UTF-8 anywhere in it (which
// encoding/json would silently turn into U+FFFD), trailing data or a
// wrong type is EINVALID; a body over the limit is ETOOLARGE.
func DecodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return shelf.Errorf(shelf.ETOOLARGE, "request body exceeds %d bytes", limit)
	case err != nil:
		return &shelf.Error{Code: shelf.EINVALID, Message: "could not read the request body", Err: err}
	case !utf8.Valid(body):
		return shelf.Errorf(shelf.EINVALID, "request body is not valid UTF-8: JSON text must be")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return shelf.Errorf(shelf.EINVALID, "request body is empty; a JSON object is required")
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return shelf.Errorf(shelf.EINVALID, "field %q must be %s, not %s", te.Field, jsonKind(te.Type), te.Value)
		}
		return shelf.Errorf(shelf.EINVALID, "malformed JSON: %v", err)
	}
	if dec.More() {
		return shelf.Errorf(shelf.EINVALID, "malformed JSON: trailing data after the object")
	}
	return nil
}

// jsonKind names a Go type the way a JSON client thinks of it.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "an object"
}

// ServeVersion streams a file version as an attachment named name, with
// its Content-Type, Content-Length, ETag (the quoted SHA-256), ranges
// (206, coalesced and capped: coalesceRange) and If-None-Match (304)
// handled by net/http, and nosniff.
//
// The content is opened before the status line is written: when it cannot
// be (a blob missing or unreadable), nothing has been written and the error
// is returned for the caller to answer in its dialect's shape (a missing
// blob is EINTERNAL: the item exists, its bytes do not). A failure once
// the headers are out (the blob ends early, a read fails) is logged and
// the connection cut, so the client sees a truncated transfer, never a
// response that looks complete.
func (s *Server) ServeVersion(w http.ResponseWriter, r *http.Request, name string, v *shelf.Version) error {
	return s.serveVersion(w, r, name, v, "attachment")
}

// ServeVersionInline is ServeVersion with Content-Disposition inline (the
// file name still given), for APIs whose reads show a file rather than
// download it. nosniff and the sandboxing CSP stay.
func (s *Server) ServeVersionInline(w http.ResponseWriter, r *http.Request, name string, v *shelf.Version) error {
	return s.serveVersion(w, r, name, v, "inline")
}

func (s *Server) serveVersion(w http.ResponseWriter, r *http.Request, name string, v *shelf.Version, disposition string) error {
	h := w.Header()
	set := map[string]string{
		"Content-Type":            v.ContentType,
		"ETag":                    `"` + v.Hash + `"`,
		"X-Content-Type-Options":  "nosniff",
		"Content-Disposition":     mime.FormatMediaType(disposition, map[string]string{"filename": name}),
		"Cache-Control":           "private, no-cache",
		"Content-Security-Policy": "sandbox",
	}
	for k, val := range set {
		h.Set(k, val)
	}
	if rh := r.Header.Get("Range"); rh != "" {
		if c, ok := coalesceRange(rh, v.Size); ok {
			r.Header.Set("Range", c)
		} else {
			r.Header.Del("Range") // too many ranges: the whole file
		}
	}
	rs := &versionReader{ctx: r.Context(), s: s, v: v}
	defer rs.Close()
	ow := &openingWriter{ResponseWriter: w, r: r, vr: rs}
	http.ServeContent(ow, r, "", v.CreatedAt, rs)
	if ow.openErr != nil {
		// Nothing went out: take back what ServeContent and this
		// function set, so the error answer stands alone.
		for _, k := range []string{"Content-Length", "Content-Range", "Accept-Ranges", "Last-Modified", "Content-Encoding"} {
			h.Del(k)
		}
		for k := range set {
			h.Del(k)
		}
		return readError(v, ow.openErr)
	}
	if err := rs.failure(); err != nil && ow.wrote {
		s.log.Error("serving a file failed after its headers were sent; the connection is cut",
			"method", r.Method, "path", r.URL.Path, "sha256", v.Hash, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// readError is the answer for content that could not be opened: the
// request was right and the item exists, so a blob that is missing or
// shorter than its version is the server's fault (EINTERNAL, logged);
// other codes (a store that is unavailable) keep theirs.
func readError(v *shelf.Version, err error) error {
	switch shelf.ErrorCode(err) {
	case shelf.ENOTFOUND, shelf.EINVALID, shelf.EINTERNAL:
		return &shelf.Error{Code: shelf.EINTERNAL, Message: "the file's content cannot be read",
			Err: fmt.Errorf("content %s of %d bytes: %w", v.Hash, v.Size, err)}
	}
	return err
}

// openingWriter opens the version before a 200 or 206 goes out, so that a
// failure to open is an error answer instead of a success with no body.
// The multi-range answer (multipart/byteranges) reads its parts from
// another goroutine and is left alone: a failure there cuts the
// connection.
type openingWriter struct {
	http.ResponseWriter
	r       *http.Request
	vr      *versionReader
	openErr error // the open failed; nothing was written
	wrote   bool  // the status line went out
}

func (o *openingWriter) WriteHeader(code int) {
	if (code == http.StatusOK || code == http.StatusPartialContent) && o.r.Method != http.MethodHead &&
		!strings.HasPrefix(o.Header().Get("Content-Type"), "multipart/byteranges") {
		if err := o.vr.open(); err != nil {
			o.openErr = err
			return
		}
	}
	o.wrote = true
	o.ResponseWriter.WriteHeader(code)
}

func (o *openingWriter) Write(p []byte) (int, error) {
	if o.openErr != nil {
		return 0, o.openErr
	}
	if !o.wrote {
		o.WriteHeader(http.StatusOK)
		if o.openErr != nil {
			return 0, o.openErr
		}
	}
	return o.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (o *openingWriter) Unwrap() http.ResponseWriter { return o.ResponseWriter }

// versionReader is an io.ReadSeeker over a version that opens the blob
// lazily at the offset last sought, so http.ServeContent reads only the
// ranges it serves. It remembers the first read failure, including a blob
// that ends before the version's size. Its methods lock: a multi-range
// answer reads it from another goroutine.
type versionReader struct {
	ctx context.Context
	s   *Server
	v   *shelf.Version
	mu  sync.Mutex
	pos int64
	rc  io.ReadCloser
	err error
	// closed is set by Close: a multi-range goroutine that outlives the
	// answer (the client left) must not open the content again.
	closed bool
}

// open opens the content at the current position unless it is open or at
// the end.
func (vr *versionReader) open() error {
	vr.mu.Lock()
	defer vr.mu.Unlock()
	return vr.openLocked()
}

func (vr *versionReader) openLocked() error {
	if vr.closed {
		return errors.New("the content reader is closed")
	}
	if vr.rc != nil || vr.pos >= vr.v.Size {
		return nil
	}
	rc, err := vr.s.svc.Read(vr.ctx, vr.v, vr.pos, -1)
	if err != nil {
		return err
	}
	vr.rc = rc
	return nil
}

func (vr *versionReader) Read(p []byte) (int, error) {
	vr.mu.Lock()
	defer vr.mu.Unlock()
	if vr.pos >= vr.v.Size {
		return 0, io.EOF
	}
	if err := vr.openLocked(); err != nil {
		vr.fail(err)
		return 0, err
	}
	n, err := vr.rc.Read(p)
	vr.pos += int64(n)
	if err == io.EOF && vr.pos < vr.v.Size {
		err = fmt.Errorf("the content ends at byte %d of %d: %w", vr.pos, vr.v.Size, io.ErrUnexpectedEOF)
	}
	if err != nil && err != io.EOF {
		vr.fail(err)
	}
	return n, err
}

func (vr *versionReader) fail(err error) {
	if vr.err == nil && vr.ctx.Err() == nil { // a client that left is no failure
		vr.err = err
	}
}

// failure is the first read failure, nil if none.
func (vr *versionReader) failure() error {
	vr.mu.Lock()
	defer vr.mu.Unlock()
	return vr.err
}

func (vr *versionReader) Seek(off int64, whence int) (int64, error) {
	vr.mu.Lock()
	defer vr.mu.Unlock()
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = off
	case io.SeekCurrent:
		abs = vr.pos + off
	case io.SeekEnd:
		abs = vr.v.Size + off
	}
	if abs < 0 {
		return 0, errors.New("negative position")
	}
	if abs != vr.pos {
		vr.closeLocked()
		vr.pos = abs
	}
	return abs, nil
}

func (vr *versionReader) Close() error {
	vr.mu.Lock()
	defer vr.mu.Unlock()
	vr.closed = true
	return vr.closeLocked()
}

func (vr *versionReader) closeLocked() error {
	if vr.rc != nil {
		err := vr.rc.Close()
		vr.rc = nil
		return err
	}
	return nil
}

// StreamBody returns the request body for a long upload: reads past limit
// fail, and the connection's read deadline is pushed forward as data
// arrives, so a slow but live client is never cut while a stalled one is.
func StreamBody(w http.ResponseWriter, r *http.Request, limit int64, idle time.Duration) io.Reader {
	rc := http.NewResponseController(w)
	return &deadlineReader{r: http.MaxBytesReader(w, r.Body, limit), rc: rc, idle: idle}
}

type deadlineReader struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
	last time.Time
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	if now := time.Now(); now.Sub(d.last) > time.Second {
		_ = d.rc.SetReadDeadline(now.Add(d.idle)) // unsupported writers (tests) just keep no deadline
		d.last = now
	}
	return d.r.Read(p)
}

// QueryInt parses an integer query parameter, def when absent.
func QueryInt(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, shelf.Errorf(shelf.EINVALID, "query parameter %q must be an integer", name)
	}
	return n, nil
}
