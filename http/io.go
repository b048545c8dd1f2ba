package http

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"time"

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
	shelf.EINTERNAL:     http.StatusInternalServerError,
}

// Status returns the HTTP status for err's code.
func Status(err error) int {
	if st, ok := statusOf[shelf.ErrorCode(err)]; ok {
		return st
	}
	return http.StatusInternalServerError
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
// into v. Malformed JSON, trailing data or a wrong type is EINVALID; a body
// over the limit is ETOOLARGE.
func DecodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	body := http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return shelf.Errorf(shelf.ETOOLARGE, "request body exceeds %d bytes", limit)
		case errors.Is(err, io.EOF):
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
// (206) and If-None-Match (304) handled by net/http, and nosniff.
func (s *Server) ServeVersion(w http.ResponseWriter, r *http.Request, name string, v *shelf.Version) {
	h := w.Header()
	h.Set("Content-Type", v.ContentType)
	h.Set("ETag", `"`+v.Hash+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Cache-Control", "private, no-cache")
	h.Set("Content-Security-Policy", "sandbox")
	rs := &versionReader{ctx: r.Context(), s: s, v: v}
	defer rs.Close()
	http.ServeContent(w, r, "", v.CreatedAt, rs)
}

// versionReader is an io.ReadSeeker over a version that opens the blob
// lazily at the offset last sought, so http.ServeContent reads only the
// ranges it serves.
type versionReader struct {
	ctx context.Context
	s   *Server
	v   *shelf.Version
	pos int64
	rc  io.ReadCloser
}

func (vr *versionReader) Read(p []byte) (int, error) {
	if vr.rc == nil {
		if vr.pos >= vr.v.Size {
			return 0, io.EOF
		}
		rc, err := vr.s.svc.Read(vr.ctx, vr.v, vr.pos, -1)
		if err != nil {
			return 0, err
		}
		vr.rc = rc
	}
	n, err := vr.rc.Read(p)
	vr.pos += int64(n)
	return n, err
}

func (vr *versionReader) Seek(off int64, whence int) (int64, error) {
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
		vr.Close()
		vr.pos = abs
	}
	return abs, nil
}

func (vr *versionReader) Close() error {
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
