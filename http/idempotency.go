package http

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/library"
)

// Headers of idempotent writes.
const (
	// IdempotencyKeyHeader carries the client's idempotency key.
	IdempotencyKeyHeader = "Idempotency-Key"
	// ReplayedHeader is "true" on an answer that was kept from an earlier
	// request with the same idempotency key.
	ReplayedHeader = "Idempotency-Replayed"
)

// Idempotent wraps a write handler so that a request carrying an
// Idempotency-Key header runs at most once per (workspace, calling key,
// Idempotency-Key): a retry of the same request (method, path, query and
// body) within library.IdempotencyRetention gets the first answer again
// (status, Content-Type and body) with Idempotency-Replayed: true, and the
// same key with another request is refused. The rules are the core's
// (library.BeginIdempotent); d writes the errors. A request without the
// header runs as usual. The body is read whole first, so h must be a
// route whose bodies are small JSON (at most MaxJSONBytes).
func (s *Server) Idempotent(d *Dialect, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		keys := r.Header.Values(IdempotencyKeyHeader)
		if len(keys) == 0 {
			h(w, r)
			return
		}
		if len(keys) > 1 {
			d.WriteError(w, r, shelf.Errorf(shelf.EINVALID, "send one Idempotency-Key header, not %d", len(keys)))
			return
		}
		if err := library.CheckIdempotencyKey(keys[0]); err != nil {
			d.WriteError(w, r, err)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxJSONBytes))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				err = shelf.Errorf(shelf.ETOOLARGE, "request body exceeds %d bytes", s.opts.MaxJSONBytes)
			} else {
				err = shelf.Errorf(shelf.EINVALID, "reading the request body: %v", err)
			}
			d.WriteError(w, r, err)
			return
		}
		answer, call, err := s.svc.BeginIdempotent(r.Context(), bearer(r), keys[0], requestFingerprint(r, body))
		if err != nil {
			d.WriteError(w, r, err)
			return
		}
		if answer != nil {
			hd := w.Header()
			if answer.ContentType != "" {
				hd.Set("Content-Type", answer.ContentType)
			}
			hd.Set("X-Content-Type-Options", "nosniff")
			hd.Set(ReplayedHeader, "true")
			w.WriteHeader(answer.Status)
			_, _ = w.Write(answer.Body)
			return
		}
		// The answer is kept even when the client goes away meanwhile, so
		// that its retry finds it.
		ctx := context.WithoutCancel(r.Context())
		rec := &answerRecorder{w: w}
		settled := false
		defer func() {
			if !settled { // h panicked
				_ = s.svc.AbandonIdempotent(ctx, call)
			}
		}()
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		h(rec, r)
		settled = true
		if rec.streaming {
			// Too large to keep: it went out as it was written.
			if err := s.svc.AbandonIdempotent(ctx, call); err != nil {
				s.LogError(r, err)
			}
			return
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		a := library.IdempotentAnswer{Status: rec.status, ContentType: w.Header().Get("Content-Type"), Body: rec.buf.Bytes()}
		if err := s.svc.FinishIdempotent(ctx, call, a); err != nil {
			// The write happened: answer it. A retry finds the attempt
			// in progress until its lease ends, then runs again.
			s.LogError(r, err)
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.buf.Bytes())
	}
}

// requestFingerprint hashes what a retry must repeat: the method, the
// path and query, and the body.
func requestFingerprint(r *http.Request, body []byte) []byte {
	h := sha256.New()
	io.WriteString(h, r.Method+"\n"+r.URL.EscapedPath()+"?"+r.URL.RawQuery+"\n")
	h.Write(body)
	return h.Sum(nil)
}

// answerRecorder holds a handler's answer so that it can be kept before
// it is sent; one larger than library.MaxIdempotentAnswer is streamed
// instead, and not kept.
type answerRecorder struct {
	w         http.ResponseWriter
	status    int
	buf       bytes.Buffer
	streaming bool
}

func (a *answerRecorder) Header() http.Header { return a.w.Header() }

func (a *answerRecorder) WriteHeader(code int) {
	if a.status == 0 && code >= 200 {
		a.status = code
	}
}

func (a *answerRecorder) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	if a.streaming {
		return a.w.Write(b)
	}
	if a.buf.Len()+len(b) <= library.MaxIdempotentAnswer {
		return a.buf.Write(b)
	}
	a.streaming = true
	a.w.WriteHeader(a.status)
	if _, err := a.w.Write(a.buf.Bytes()); err != nil {
		return 0, err
	}
	a.buf.Reset()
	return a.w.Write(b)
}
