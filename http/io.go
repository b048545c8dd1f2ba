package http

import (
	"bufio"
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
	"unicode"
	"unicode/utf16"
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

// maxJSONDepth caps the nesting of the values JSONStringField skips.
const maxJSONDepth = 64

// JSONStringField scans body, which must hold one JSON object, for its
// top-level field named field, whose value must be a string, and returns a
// reader of the string's unescaped value. No value is ever held in memory:
// a string of any size streams, and other values are checked and skipped
// byte by byte. Once the value has been read to its end, the rest of the
// object is checked too, so the reader returns io.EOF only when the whole
// body is one well-formed object that names field exactly once.
//
// Malformed JSON (RFC 8259, which includes invalid UTF-8), nesting deeper
// than 64, a missing field, a duplicate one, or one whose value is not a
// string is EINVALID, from the call or from Read. Errors of body pass
// through unchanged. Escapes decode as encoding/json decodes them: a lone
// UTF-16 surrogate becomes U+FFFD.
func JSONStringField(body io.Reader, field string) (io.Reader, error) {
	s := &jsonScanner{br: bufio.NewReaderSize(body, 32<<10), field: field}
	c, err := s.nonSpace()
	if err != nil {
		return nil, err
	}
	if c != '{' {
		return nil, shelf.Errorf(shelf.EINVALID, "the body must be a JSON object")
	}
	if c, err = s.nonSpace(); err != nil {
		return nil, err
	}
	if c == '}' {
		return nil, s.missing()
	}
	for {
		if c != '"' {
			return nil, s.errf("expected a field name, found %q", c)
		}
		match, err := s.key()
		if err != nil {
			return nil, err
		}
		if err := s.expect(':'); err != nil {
			return nil, err
		}
		if c, err = s.nonSpace(); err != nil {
			return nil, err
		}
		if match {
			if c != '"' {
				return nil, shelf.Errorf(shelf.EINVALID, "field %q must be a string", field)
			}
			return &jsonStringReader{s: s}, nil
		}
		if err := s.skipValue(c, 1); err != nil {
			return nil, err
		}
		if c, err = s.nonSpace(); err != nil {
			return nil, err
		}
		switch c {
		case ',':
			if c, err = s.nonSpace(); err != nil {
				return nil, err
			}
		case '}':
			return nil, s.missing()
		default:
			return nil, s.errf("expected , or } after a value, found %q", c)
		}
	}
}

// jsonScanner reads JSON a byte at a time from a buffer, keeping only the
// state of the string it is in.
type jsonScanner struct {
	br    *bufio.Reader
	field string
	pend  []byte // decoded bytes of an escape or rune not yet handed out
	buf   [utf8.UTFMax]byte
}

func (s *jsonScanner) errf(format string, args ...any) error {
	return shelf.Errorf(shelf.EINVALID, "malformed JSON: "+format, args...)
}

func (s *jsonScanner) missing() error {
	return shelf.Errorf(shelf.EINVALID, "field %q is required", s.field)
}

// next returns the next byte; the end of the body is malformed JSON.
func (s *jsonScanner) next() (byte, error) {
	c, err := s.br.ReadByte()
	if err == io.EOF {
		return 0, s.errf("unexpected end of the body")
	}
	return c, err
}

// peek returns the next byte without consuming it; ok is false at the end.
func (s *jsonScanner) peek() (c byte, ok bool, err error) {
	b, err := s.br.Peek(1)
	if err == io.EOF {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return b[0], true, nil
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// nonSpace returns the next byte that is not white space.
func (s *jsonScanner) nonSpace() (byte, error) {
	for {
		c, err := s.next()
		if err != nil || !isJSONSpace(c) {
			return c, err
		}
	}
}

func (s *jsonScanner) expect(want byte) error {
	c, err := s.nonSpace()
	if err == nil && c != want {
		err = s.errf("expected %q, found %q", want, c)
	}
	return err
}

// key reads a field name (its opening quote read) and reports whether it
// is the field sought. A second occurrence of the field is refused.
func (s *jsonScanner) key() (bool, error) {
	want, match := s.field, true
	var chunk [64]byte
	for {
		n, done, err := s.unquote(chunk[:])
		if err != nil {
			return false, err
		}
		if match {
			if n > len(want) || string(chunk[:n]) != want[:n] {
				match = false
			} else {
				want = want[n:]
			}
		}
		if done {
			return match && want == "", nil
		}
	}
}

// skipString reads past a string whose opening quote was read.
func (s *jsonScanner) skipString() error {
	var chunk [512]byte
	for {
		_, done, err := s.unquote(chunk[:])
		if err != nil || done {
			return err
		}
	}
}

// skipValue checks and reads past one value whose first byte is c, at
// nesting depth.
func (s *jsonScanner) skipValue(c byte, depth int) error {
	switch {
	case c == '"':
		return s.skipString()
	case c == '{' || c == '[':
		if depth >= maxJSONDepth {
			return s.errf("nested deeper than %d", maxJSONDepth)
		}
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		c, err := s.nonSpace()
		if err != nil || c == end {
			return err
		}
		for {
			if end == '}' {
				if c != '"' {
					return s.errf("expected a field name, found %q", c)
				}
				if err := s.skipString(); err != nil {
					return err
				}
				if err := s.expect(':'); err != nil {
					return err
				}
				if c, err = s.nonSpace(); err != nil {
					return err
				}
			}
			if err := s.skipValue(c, depth+1); err != nil {
				return err
			}
			if c, err = s.nonSpace(); err != nil {
				return err
			}
			if c == end {
				return nil
			}
			if c != ',' {
				return s.errf("expected , or %q after a value, found %q", end, c)
			}
			if c, err = s.nonSpace(); err != nil {
				return err
			}
		}
	case c == 't':
		return s.literal("rue")
	case c == 'f':
		return s.literal("alse")
	case c == 'n':
		return s.literal("ull")
	case c == '-' || '0' <= c && c <= '9':
		return s.number(c)
	}
	return s.errf("unexpected %q", c)
}

func (s *jsonScanner) literal(rest string) error {
	for i := range len(rest) {
		c, err := s.next()
		if err != nil {
			return err
		}
		if c != rest[i] {
			return s.errf("unexpected %q in a literal", c)
		}
	}
	return nil
}

// number reads past a number whose first byte c was read:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *jsonScanner) number(c byte) error {
	var err error
	if c == '-' {
		if c, err = s.next(); err != nil {
			return err
		}
	}
	switch {
	case c == '0':
	case '1' <= c && c <= '9':
		if _, err := s.digits(false); err != nil {
			return err
		}
	default:
		return s.errf("malformed number")
	}
	p, ok, err := s.peek()
	if err != nil || !ok {
		return err
	}
	if p == '.' {
		s.br.Discard(1)
		if _, err := s.digits(true); err != nil {
			return err
		}
		if p, ok, err = s.peek(); err != nil || !ok {
			return err
		}
	}
	if p == 'e' || p == 'E' {
		s.br.Discard(1)
		if p, ok, err = s.peek(); err != nil {
			return err
		}
		if ok && (p == '+' || p == '-') {
			s.br.Discard(1)
		}
		_, err = s.digits(true)
	}
	return err
}

// digits reads past a run of digits; need says at least one is required.
func (s *jsonScanner) digits(need bool) (int, error) {
	n := 0
	for {
		c, ok, err := s.peek()
		if err != nil {
			return n, err
		}
		if !ok || c < '0' || c > '9' {
			if need && n == 0 {
				return 0, s.errf("malformed number")
			}
			return n, nil
		}
		s.br.Discard(1)
		n++
	}
}

// unquote decodes the string being read into p until p is full, the
// buffered input runs out after some bytes were decoded, or the closing
// quote is read (done).
func (s *jsonScanner) unquote(p []byte) (n int, done bool, err error) {
	for n < len(p) {
		if len(s.pend) > 0 {
			c := copy(p[n:], s.pend)
			s.pend, n = s.pend[c:], n+c
			continue
		}
		if s.br.Buffered() == 0 {
			if n > 0 {
				return n, false, nil // hand out what is decoded before blocking
			}
			if _, err := s.br.Peek(1); err != nil {
				if err == io.EOF {
					err = s.errf("unexpected end of the body in a string")
				}
				return n, false, err
			}
		}
		// Copy the run of plain ASCII at once.
		buf, _ := s.br.Peek(s.br.Buffered())
		lim := min(len(buf), len(p)-n)
		i := 0
		for i < lim {
			if c := buf[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
				break
			}
			i++
		}
		copy(p[n:], buf[:i])
		s.br.Discard(i)
		n += i
		if i == lim {
			continue
		}
		switch c := buf[i]; {
		case c == '"':
			s.br.Discard(1)
			return n, true, nil
		case c < 0x20:
			return n, false, s.errf("control character in a string")
		case c == '\\':
			s.br.Discard(1)
			if err := s.escape(); err != nil {
				return n, false, err
			}
		default:
			b, err := s.br.Peek(utf8.UTFMax)
			if err != nil && err != io.EOF && !utf8.FullRune(b) {
				return n, false, err
			}
			r, size := utf8.DecodeRune(b)
			if r == utf8.RuneError && size == 1 {
				return n, false, s.errf("invalid UTF-8 in a string")
			}
			s.pend = s.buf[:copy(s.buf[:], b[:size])]
			s.br.Discard(size)
		}
	}
	return n, false, nil
}

// escape decodes an escape sequence whose backslash was read into pend.
func (s *jsonScanner) escape() error {
	c, err := s.next()
	if err != nil {
		return err
	}
	var b byte
	switch c {
	case '"', '\\', '/':
		b = c
	case 'b':
		b = '\b'
	case 'f':
		b = '\f'
	case 'n':
		b = '\n'
	case 'r':
		b = '\r'
	case 't':
		b = '\t'
	case 'u':
		var hex [4]byte
		if _, err := io.ReadFull(s.br, hex[:]); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				err = s.errf("unexpected end of the body in an escape")
			}
			return err
		}
		r, ok := hex4(hex[:])
		if !ok {
			return s.errf("malformed \\u escape")
		}
		if utf16.IsSurrogate(r) {
			// As encoding/json: a valid pair is one rune; anything else U+FFFD.
			next, err := s.br.Peek(6)
			if len(next) < 6 && err != nil && err != io.EOF {
				return err
			}
			r2, ok := rune(0), false
			if len(next) == 6 && next[0] == '\\' && next[1] == 'u' {
				r2, ok = hex4(next[2:])
			}
			if d := utf16.DecodeRune(r, r2); ok && d != unicode.ReplacementChar {
				s.br.Discard(6)
				r = d
			} else {
				r = unicode.ReplacementChar
			}
		}
		s.pend = s.buf[:utf8.EncodeRune(s.buf[:], r)]
		return nil
	default:
		return s.errf("invalid escape \\%c", c)
	}
	s.buf[0] = b
	s.pend = s.buf[:1]
	return nil
}

func hex4(b []byte) (rune, bool) {
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// rest checks the object after the field's value: more fields, none of
// them the field again, the closing brace, and nothing but white space.
func (s *jsonScanner) rest() error {
	for {
		c, err := s.nonSpace()
		if err != nil {
			return err
		}
		if c == '}' {
			break
		}
		if c != ',' {
			return s.errf("expected , or } after a value, found %q", c)
		}
		if c, err = s.nonSpace(); err != nil {
			return err
		}
		if c != '"' {
			return s.errf("expected a field name, found %q", c)
		}
		match, err := s.key()
		if err != nil {
			return err
		}
		if match {
			return shelf.Errorf(shelf.EINVALID, "field %q appears more than once", s.field)
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if c, err = s.nonSpace(); err != nil {
			return err
		}
		if err := s.skipValue(c, 1); err != nil {
			return err
		}
	}
	for {
		c, err := s.br.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if !isJSONSpace(c) {
			return s.errf("trailing data after the object")
		}
	}
}

// jsonStringReader reads the value JSONStringField found.
type jsonStringReader struct {
	s   *jsonScanner
	err error
}

func (r *jsonStringReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, done, err := r.s.unquote(p)
	if err == nil && done {
		if err = r.s.rest(); err == nil {
			err = io.EOF
		}
	}
	r.err = err
	return n, err
}
