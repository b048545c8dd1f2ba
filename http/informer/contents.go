package informer

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	jsonpatch "github.com/evanphx/json-patch/v5"

	shelf "github.com/shelfmem/shelf"
	shelfhttp "github.com/shelfmem/shelf/http"
	"github.com/shelfmem/shelf/library"
)

// Content types of a partial update by path (F9 PATCH).
const (
	typeJSONPatch    = "application/json-patch+json"
	typeRangeReplace = "application/x-sabredav-partialupdate"
)

// --- F8 by id ---

func (h *handler) getContents(w http.ResponseWriter, r *http.Request) {
	_, it, err := h.file(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.serve(w, r, it.ID)
}

// serve answers a file's bytes inline (a browser shows them, as
// Informer's do), or as an attachment with ?download=1 (or true).
func (h *handler) serve(w http.ResponseWriter, r *http.Request, id string) {
	download, err := queryBool(r, "download") // 1, true, …
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	it, v, err := h.svc.Content(r.Context(), id, 0)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	serve := h.srv.ServeVersionInline
	if download {
		serve = h.srv.ServeVersion
	}
	if err := serve(w, r, it.Name, v); err != nil {
		h.writeError(w, r, err)
	}
}

// body is the new content a PUT carries: a multipart/form-data form's
// "file" part, or the raw body.
func (h *handler) body(w http.ResponseWriter, r *http.Request) (*shelfhttp.FileBody, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		return h.srv.FormFileBody(w, r, "file")
	}
	return h.srv.RawFileBody(w, r)
}

// putContents is F8's PUT: the body becomes the file's new version.
func (h *handler) putContents(w http.ResponseWriter, r *http.Request) {
	lib, it, err := h.file(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if it.Type != shelf.TypeFile {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "%q is a directory and has no contents", it.Name))
		return
	}
	fb, err := h.body(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	defer fb.Close()
	up, err := h.svc.WriteFile(r.Context(), library.FileWrite{LibraryID: lib.ID, Path: it.Path, Body: fb.Body,
		Size: fb.Size, ContentType: fb.ContentType})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, toFile(lib, up.Item))
}

// --- F9 by path ---

// pathOf is the {path...} of a contents route, checked.
func pathOf(r *http.Request) (string, error) {
	return library.CleanPath(strings.Trim(r.PathValue("path"), "/"))
}

// atPath resolves the library and the item at the {path...} of a
// contents route.
func (h *handler) atPath(r *http.Request) (*shelf.Library, *shelf.Item, error) {
	path, err := pathOf(r)
	if err != nil {
		return nil, nil, err
	}
	lib, err := h.library(r)
	if err != nil {
		return nil, nil, err
	}
	it, err := h.svc.ItemAt(r.Context(), lib.ID, path)
	return lib, it, err
}

func (h *handler) getPathContents(w http.ResponseWriter, r *http.Request) {
	_, it, err := h.atPath(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.serve(w, r, it.ID)
}

// putPathContents writes the raw body at the path, making the folders
// above it: 201 with a new file, 200 with a new version (or the same
// bytes).
func (h *handler) putPathContents(w http.ResponseWriter, r *http.Request) {
	path, err := pathOf(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	lib, err := h.library(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	fb, err := h.body(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	defer fb.Close()
	up, err := h.svc.WriteFile(r.Context(), library.FileWrite{LibraryID: lib.ID, Path: path, Body: fb.Body,
		Size: fb.Size, ContentType: fb.ContentType})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if up.Status == library.StatusIndexed && up.Version != nil && up.Version.Number == 1 {
		status = http.StatusCreated
		w.Header().Set("Location", "/api/libraries/"+lib.ID+"/files/"+up.Item.ID)
	}
	shelfhttp.WriteJSON(w, status, toFile(lib, up.Item))
}

// patchPathContents is F9's partial update, by the request's type:
// application/json-patch+json applies an RFC 6902 patch to a JSON file;
// application/x-sabredav-partialupdate with X-Update-Range replaces a
// byte range (bytes=START-END, inclusive), writes from START to the end of
// the body (bytes=START-), writes the body over the last N bytes
// (bytes=-N), or appends (append). Either writes one new version, and
// refuses to if the file changed meanwhile (409).
func (h *handler) patchPathContents(w http.ResponseWriter, r *http.Request) {
	lib, it, err := h.atPath(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if it.Type != shelf.TypeFile {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "%q is a directory and has no contents", it.Name))
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var edit func([]byte) ([]byte, error)
	switch mt {
	case typeJSONPatch, "application/json":
		edit, err = h.jsonPatchEdit(w, r)
	case typeRangeReplace:
		edit, err = h.rangeEdit(w, r)
	default:
		err = shelf.Errorf(shelf.EINVALID, "a partial update is %s (RFC 6902, for JSON files) or %s with X-Update-Range", typeJSONPatch, typeRangeReplace)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	up, err := h.svc.EditFile(r.Context(), it.ID, maxContentPatch, edit)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, toFile(lib, up.Item))
}

// jsonPatchEdit reads an RFC 6902 patch and returns the edit applying it.
func (h *handler) jsonPatchEdit(w http.ResponseWriter, r *http.Request) (func([]byte) ([]byte, error), error) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.srv.MaxJSONBytes()))
	if err != nil {
		return nil, shelf.Errorf(shelf.ETOOLARGE, "a patch is at most %d bytes", h.srv.MaxJSONBytes())
	}
	if !utf8.Valid(raw) {
		return nil, shelf.Errorf(shelf.EINVALID, "a JSON Patch must be valid UTF-8")
	}
	patch, err := jsonpatch.DecodePatch(raw)
	if err != nil {
		return nil, shelf.Errorf(shelf.EINVALID, "malformed JSON Patch: %v", err)
	}
	if len(patch) == 0 || len(patch) > library.MaxPatchOps {
		return nil, shelf.Errorf(shelf.EINVALID, "a patch holds 1 to %d operations", library.MaxPatchOps)
	}
	for i, op := range patch {
		switch k := op.Kind(); k {
		case "add", "remove", "replace", "move", "copy", "test":
		default:
			return nil, shelf.Errorf(shelf.EINVALID, "operation %d: unknown op %q", i, k)
		}
	}
	opts := jsonpatch.NewApplyOptions()
	opts.AccumulatedCopySizeLimit = maxContentPatch
	return func(old []byte) ([]byte, error) {
		out, err := patch.ApplyWithOptions(old, opts)
		switch {
		case err == nil:
			return out, nil
		case errors.Is(err, jsonpatch.ErrTestFailed):
			return nil, shelf.Errorf(shelf.ECONFLICT, "a test operation failed; nothing was changed")
		case errors.Is(err, jsonpatch.ErrBadJSONDoc):
			return nil, shelf.Errorf(shelf.EINVALID, "the file is not a JSON document")
		}
		return nil, shelf.Errorf(shelf.EINVALID, "the patch does not apply: %v", err)
	}, nil
}

// rangeEdit reads SabreDAV's partial update: the body and X-Update-Range.
func (h *handler) rangeEdit(w http.ResponseWriter, r *http.Request) (func([]byte) ([]byte, error), error) {
	spec := strings.TrimSpace(r.Header.Get("X-Update-Range"))
	if spec == "" {
		return nil, shelf.Errorf(shelf.EINVALID, "X-Update-Range is required: bytes=START-END, bytes=START-, bytes=-N or append")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxContentPatch))
	if err != nil {
		return nil, shelf.Errorf(shelf.ETOOLARGE, "a partial update carries at most %d bytes", maxContentPatch)
	}
	start, end, err := parseUpdateRange(spec, int64(len(body)))
	if err != nil {
		return nil, err
	}
	return func(old []byte) ([]byte, error) {
		size := int64(len(old))
		s, e := start, end
		switch {
		case s == appendAt:
			s, e = size, size
		case s < 0: // the last -s bytes
			s = max(size+s, 0)
			e = size
		case e < 0: // from s, as long as the body
			e = min(s+int64(len(body)), size)
		default:
			e++ // inclusive
		}
		if s > size || e > size || s > e {
			return nil, shelf.Errorf(shelf.EINVALID, "range %s is outside the file's %d bytes", spec, size)
		}
		out := make([]byte, 0, s+int64(len(body))+size-e)
		out = append(append(append(out, old[:s]...), body...), old[e:]...)
		return out, nil
	}, nil
}

// appendAt marks an append in parseUpdateRange's answer.
const appendAt = int64(-1 << 62)

// parseUpdateRange reads X-Update-Range. It returns start and end
// (inclusive); end -1 for "bytes=START-"; a negative start -N for
// "bytes=-N"; appendAt for "append". An inclusive range must be as long
// as the body.
func parseUpdateRange(spec string, bodyLen int64) (int64, int64, error) {
	bad := shelf.Errorf(shelf.EINVALID, "X-Update-Range %q is not bytes=START-END, bytes=START-, bytes=-N or append", spec)
	if spec == "append" {
		return appendAt, 0, nil
	}
	rest, ok := strings.CutPrefix(spec, "bytes=")
	if !ok {
		return 0, 0, bad
	}
	a, b, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, 0, bad
	}
	num := func(s string) (int64, bool) {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil && n >= 0 && n < 1<<50
	}
	switch {
	case a == "":
		n, ok := num(b)
		if !ok || n == 0 {
			return 0, 0, bad
		}
		return -n, 0, nil
	case b == "":
		s, ok := num(a)
		if !ok {
			return 0, 0, bad
		}
		return s, -1, nil
	}
	s, ok1 := num(a)
	e, ok2 := num(b)
	if !ok1 || !ok2 || e < s {
		return 0, 0, bad
	}
	if e-s+1 != bodyLen {
		return 0, 0, shelf.Errorf(shelf.EINVALID, "range %s covers %d bytes but the body has %d", spec, e-s+1, bodyLen)
	}
	return s, e, nil
}
