package chatbotkit

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	shelf "github.com/shelfmem/shelf"
	shelfhttp "github.com/shelfmem/shelf/http"
	"github.com/shelfmem/shelf/library"
)

// Prefixes serves the API under both of ChatBotKit's prefixes: /api/v1
// (what the SDK calls on any host but api.chatbotkit.com) and /v1 (the
// spec's, and the SDK's on api.chatbotkit.com).
var Prefixes = []string{"/api/v1", "/v1"}

// Limits of the dialect.
const (
	defaultTake    = 100  // spaces per list page
	maxTake        = 100  // ChatBotKit clamps take to 1..100
	storagePage    = 1000 // storage entries per listing page, S3's default
	maxObjectBody  = 64 << 10
	putIdle        = 60 * time.Second
	maxMetaEntries = 64
)

type handler struct {
	srv *shelfhttp.Server
	svc *library.Service
	d   *shelfhttp.Dialect
}

// Register mounts ChatBotKit's spaces and space storage API on srv.
func Register(srv *shelfhttp.Server) {
	h := &handler{srv: srv, svc: srv.Service()}
	h.d = &shelfhttp.Dialect{Name: "chatbotkit", WriteError: h.writeError}
	for _, p := range Prefixes {
		srv.Handle("POST "+p+"/space/create", shelf.ScopeWrite, h.d, h.createSpace)
		srv.Handle("GET "+p+"/space/list", shelf.ScopeRead, h.d, h.listSpaces)
		srv.Handle("GET "+p+"/space/export", shelf.ScopeRead, h.d, h.listSpaces)
		srv.Handle("GET "+p+"/space/{spaceId}/fetch", shelf.ScopeRead, h.d, h.fetchSpace)
		srv.Handle("POST "+p+"/space/{spaceId}/update", shelf.ScopeWrite, h.d, h.updateSpace)
		srv.Handle("POST "+p+"/space/{spaceId}/delete", shelf.ScopeWrite, h.d, h.deleteSpace)
		srv.Handle("GET "+p+"/space/{spaceId}/storage/{rest...}", shelf.ScopeRead, h.d, h.storage)
		srv.Handle("POST "+p+"/space/{spaceId}/storage/{rest...}", shelf.ScopeWrite, h.d, h.storage)
		srv.HandleSigned("PUT "+p+"/space/{spaceId}/storage/{rest...}", shelf.ScopeWrite, h.d, h.verifyPut, h.storage)
		// Anything else under /space/ answers in this dialect's format.
		srv.Handle(p+"/space/", shelf.ScopeRead, h.d, h.noRoute)
	}
}

func (h *handler) noRoute(w http.ResponseWriter, r *http.Request) {
	writeFailure(w, http.StatusNotFound, "NOT_FOUND", "no such endpoint: "+r.Method+" "+r.URL.Path)
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	writeFailure(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, r.Method+" is not allowed here; use "+allow)
}

// prefix returns the API prefix the request came in on.
func prefix(r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return "/api/v1"
	}
	return "/v1"
}

// --- spaces ---

// spaceFields are the fields of create and update. The associations and
// alias take null (remove) as well as a string, so they are read raw from
// the object: a json.RawMessage field cannot tell null from absent.
type spaceFields struct {
	Alias       json.RawMessage
	Name        *string
	Description *string
	Meta        json.RawMessage
	BlueprintID json.RawMessage
	ContactID   json.RawMessage
}

// readSpaceFields decodes a create or update body.
func (h *handler) readSpaceFields(w http.ResponseWriter, r *http.Request) (spaceFields, error) {
	var f spaceFields
	var raw map[string]json.RawMessage
	if err := h.decode(w, r, &raw, true); err != nil {
		return f, err
	}
	for k, v := range raw {
		if v == nil { // encoding/json leaves a null RawMessage nil
			raw[k] = json.RawMessage("null")
		}
	}
	str := func(key string) (*string, error) {
		v, ok := raw[key]
		if !ok || string(v) == "null" {
			return nil, nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, shelf.Errorf(shelf.EINVALID, "%q must be a string", key)
		}
		return &s, nil
	}
	var err error
	if f.Name, err = str("name"); err != nil {
		return f, err
	}
	if f.Description, err = str("description"); err != nil {
		return f, err
	}
	f.Alias, f.Meta, f.BlueprintID, f.ContactID = raw["alias"], raw["meta"], raw["blueprintId"], raw["contactId"]
	if f.Meta != nil && string(f.Meta) != "null" && !bytes.HasPrefix(bytes.TrimSpace(f.Meta), []byte("{")) {
		return f, shelf.Errorf(shelf.EINVALID, `"meta" must be an object`)
	}
	return f, nil
}

// optString reads a field that may be absent (nil, false), null ("",
// true) or a string.
func optString(field string, raw json.RawMessage) (string, bool, error) {
	if raw == nil {
		return "", false, nil
	}
	if string(bytes.TrimSpace(raw)) == "null" {
		return "", true, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, shelf.Errorf(shelf.EINVALID, "%q must be a string", field)
	}
	return s, true, nil
}

func (h *handler) createSpace(w http.ResponseWriter, r *http.Request) {
	f, err := h.readSpaceFields(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	spec := library.LibrarySpec{Kind: shelf.KindSpace, XAttrs: map[string]string{}, Metadata: f.Meta}
	if spec.Slug, _, err = optString("alias", f.Alias); err != nil {
		h.writeError(w, r, err)
		return
	}
	if f.Name != nil {
		spec.Name = *f.Name
	}
	if f.Description != nil {
		spec.Description = *f.Description
	}
	for _, a := range []struct {
		key string
		raw json.RawMessage
	}{{attrBlueprint, f.BlueprintID}, {attrContact, f.ContactID}} {
		v, _, err := optString(a.key, a.raw)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		if v != "" {
			spec.XAttrs[a.key] = v
		}
	}
	l, err := h.svc.CreateLibrary(r.Context(), spec)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, idOnly{ID: l.ID})
}

func (h *handler) fetchSpace(w http.ResponseWriter, r *http.Request) {
	l, err := h.svc.GetLibrary(r.Context(), shelf.KindSpace, r.PathValue("spaceId"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, toSpace(l))
}

func (h *handler) updateSpace(w http.ResponseWriter, r *http.Request) {
	f, err := h.readSpaceFields(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	u := library.LibraryUpdate{Name: f.Name, Description: f.Description, Metadata: f.Meta, MergeMetadata: true,
		SetXAttrs: map[string]string{}}
	alias, given, err := optString("alias", f.Alias)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if given {
		u.Slug = &alias
	}
	for _, a := range []struct {
		key string
		raw json.RawMessage
	}{{attrBlueprint, f.BlueprintID}, {attrContact, f.ContactID}} {
		v, given, err := optString(a.key, a.raw)
		switch {
		case err != nil:
			h.writeError(w, r, err)
			return
		case given && v == "":
			u.DelXAttrs = append(u.DelXAttrs, a.key)
		case given:
			u.SetXAttrs[a.key] = v
		}
	}
	l, err := h.svc.UpdateLibrary(r.Context(), shelf.KindSpace, r.PathValue("spaceId"), u)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, idOnly{ID: l.ID})
}

func (h *handler) deleteSpace(w http.ResponseWriter, r *http.Request) {
	var body map[string]any // {} by the spec; ignored
	if err := h.decode(w, r, &body, true); err != nil {
		h.writeError(w, r, err)
		return
	}
	l, err := h.svc.DeleteLibrary(r.Context(), shelf.KindSpace, r.PathValue("spaceId"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, idOnly{ID: l.ID})
}

// listQuery reads a list's query: cursor, order, take, and the filters
// meta.<key> (the SDK's form), meta[key] (the spec's deepObject form),
// contactId and blueprintId.
func listQuery(q url.Values) (library.LibraryList, int, error) {
	lq := library.LibraryList{Kind: shelf.KindSpace, After: q.Get("cursor"), Desc: true,
		Metadata: map[string]string{}, XAttrs: map[string]string{}}
	switch q.Get("order") {
	case "", "desc":
	case "asc":
		lq.Desc = false
	default:
		return lq, 0, shelf.Errorf(shelf.EINVALID, `order must be "asc" or "desc"`)
	}
	take := 0
	if t := q.Get("take"); t != "" {
		n, err := strconv.Atoi(t)
		if err == nil && n < 0 {
			return lq, 0, shelf.Errorf(shelf.EINVALID, "take must not be negative")
		}
		take = n // NaN (an error) and 0 take the default, as ChatBotKit's do
	}
	for k, vs := range q {
		var key string
		switch {
		case strings.HasPrefix(k, "meta."):
			key = k[len("meta."):]
		case strings.HasPrefix(k, "meta[") && strings.HasSuffix(k, "]"):
			key = k[len("meta[") : len(k)-1]
		case k == attrContact || k == attrBlueprint:
			lq.XAttrs[k] = vs[0]
			continue
		default:
			continue
		}
		if len(lq.Metadata) >= maxMetaEntries {
			return lq, 0, shelf.Errorf(shelf.EINVALID, "too many meta filters")
		}
		lq.Metadata[key] = vs[0]
	}
	return lq, take, nil
}

func (h *handler) listSpaces(w http.ResponseWriter, r *http.Request) {
	lq, take, err := listQuery(r.URL.Query())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if wantsJSONLines(r) {
		h.streamSpaces(w, r, lq, take)
		return
	}
	lq.Limit = defaultTake
	if take > 0 {
		lq.Limit = min(take, maxTake)
	}
	ls, err := h.svc.ListLibraries(r.Context(), lq)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := spaceList{Items: make([]space, 0, len(ls))}
	for _, l := range ls {
		out.Items = append(out.Items, toSpace(l))
	}
	if len(ls) > 0 {
		out.Cursor = ls[len(ls)-1].ID
	}
	shelfhttp.WriteJSON(w, http.StatusOK, out)
}

func wantsJSONLines(r *http.Request) bool {
	for _, a := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, _ := mime.ParseMediaType(strings.TrimSpace(a)); mt == "application/jsonl" || mt == "application/x-ndjson" {
			return true
		}
	}
	return false
}

// streamSpaces writes every space the query selects (at most take, when
// given) as JSON lines, {"type":"item","data":…}, a page at a time. An
// error after the first line ends the stream with an error line.
func (h *handler) streamSpaces(w http.ResponseWriter, r *http.Request, lq library.LibraryList, take int) {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	started := false
	sent := 0
	for {
		lq.Limit = maxTake
		if take > 0 {
			lq.Limit = min(maxTake, take-sent)
		}
		ls, err := h.svc.ListLibraries(r.Context(), lq)
		if err != nil {
			if !started {
				h.writeError(w, r, err)
				return
			}
			_ = enc.Encode(streamItem{Type: "error", Data: failure{Message: shelf.ErrorMessage(err), Code: "INTERNAL_SERVER_ERROR"}})
			break
		}
		if !started {
			w.Header().Set("Content-Type", "application/jsonl")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		for _, l := range ls {
			if err := enc.Encode(streamItem{Type: "item", Data: toSpace(l)}); err != nil {
				return
			}
		}
		sent += len(ls)
		if len(ls) < lq.Limit || (take > 0 && sent >= take) {
			break
		}
		lq.After = ls[len(ls)-1].ID
		if err := bw.Flush(); err != nil {
			return
		}
	}
	_ = bw.Flush()
}

// decode reads a JSON object body into v; with optional, an empty body is
// an empty object.
func (h *handler) decode(w http.ResponseWriter, r *http.Request, v any, optional bool) error {
	if optional && r.ContentLength == 0 {
		return nil
	}
	body := http.MaxBytesReader(w, r.Body, h.srv.MaxJSONBytes())
	br := bufio.NewReader(body)
	if optional {
		if _, err := br.Peek(1); err == io.EOF {
			return nil
		}
	}
	r.Body = io.NopCloser(br)
	return shelfhttp.DecodeJSON(w, r, h.srv.MaxJSONBytes(), v)
}

// --- storage ---

// Storage operations and the methods they take.
var storageOps = map[string]string{
	"upload": http.MethodPost, "list": http.MethodGet, "download": http.MethodGet,
	"delete": http.MethodPost, "copy": http.MethodPost, "move": http.MethodPost,
}

// parseStorage splits the URL tail after /storage/ into an operation and
// a path: "<op>/<path…>" (the SDK's form, a plain path) or "<pathId>/<op>"
// (the documented form, a base64 path id). A tail whose first segment is
// an operation's name is read the first way.
func parseStorage(rest string) (op, path string, err error) {
	first, tail, _ := strings.Cut(rest, "/")
	if _, ok := storageOps[first]; ok {
		return first, strings.TrimLeft(tail, "/"), nil
	}
	// A standard-alphabet path id may hold slashes: the operation is the
	// last segment, the id everything before it.
	i := strings.LastIndexByte(rest, '/')
	id, op := rest[:max(i, 0)], rest[i+1:]
	if _, known := storageOps[op]; i < 0 || !known {
		return "", "", shelf.Errorf(shelf.ENOTFOUND, "unknown storage operation in %q; use upload, list, download, delete, copy or move", truncate(rest, 200))
	}
	path, err = DecodePathID(id)
	if err != nil {
		return "", "", err
	}
	return op, strings.TrimLeft(path, "/"), nil
}

// cleanPath checks a storage path ("" stays the root).
func cleanPath(p string) (string, error) {
	p = strings.TrimLeft(p, "/")
	if p == "" {
		return "", nil
	}
	return library.CleanPath(p)
}

// storage routes every storage request by its operation.
func (h *handler) storage(w http.ResponseWriter, r *http.Request) {
	op, raw, err := parseStorage(r.PathValue("rest"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if want := storageOps[op]; r.Method != want && !(op == "upload" && r.Method == http.MethodPut) {
		methodNotAllowed(w, r, want)
		return
	}
	path, err := cleanPath(raw)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	sp, err := h.svc.GetLibrary(r.Context(), shelf.KindSpace, r.PathValue("spaceId"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	switch op {
	case "upload":
		if r.Method == http.MethodPut {
			h.putUpload(w, r, sp, path)
		} else {
			h.upload(w, r, sp, path)
		}
	case "list":
		h.list(w, r, sp, path)
	case "download":
		h.download(w, r, sp, path)
	case "delete":
		h.delete(w, r, sp, path)
	case "copy", "move":
		h.copyMove(w, r, sp, path, op == "move")
	}
}

// upload writes the file at path from the request, by its Content-Type:
// JSON {"file": URL | data URL | {type,size,meta}}, a multipart form's
// "file" part, or else the raw body.
func (h *handler) upload(w http.ResponseWriter, r *http.Request, sp *shelf.Library, path string) {
	if path == "" {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "Cannot upload into the root path"))
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var fb *shelfhttp.FileBody
	var err error
	switch mt {
	case "application/json":
		var twoStage *fileObject
		fb, twoStage, err = h.jsonFile(w, r)
		if err == nil && twoStage != nil {
			h.twoStage(w, r, sp, path, twoStage)
			return
		}
	case "multipart/form-data":
		fb, err = h.srv.FormFileBody(w, r, "file")
	default:
		fb, err = h.srv.RawFileBody(w, r)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	defer fb.Close()
	_, err = h.svc.WriteFile(r.Context(), library.FileWrite{LibraryID: sp.ID, Path: path, Body: fb.Body, Size: fb.Size, ContentType: fb.ContentType})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, uploaded{ID: PathID(library.NameKey(path)), Path: library.NameKey(path)})
}

// fileObject is the two-stage form's file: its type, size and metadata.
type fileObject struct {
	Type *string           `json:"type"`
	Size *int64            `json:"size"`
	Meta map[string]string `json:"meta"`
}

// jsonFile reads a JSON upload body: the content of the URL in "file",
// or the two-stage form's object. A body that fits maxObjectBody is
// decoded whole; a larger one can only be a data: URL, and streams.
func (h *handler) jsonFile(w http.ResponseWriter, r *http.Request) (*shelfhttp.FileBody, *fileObject, error) {
	limit := 3*h.svc.Config().MaxFileSize + h.srv.MaxJSONBytes()
	if r.ContentLength > limit {
		return nil, nil, shelf.Errorf(shelf.ETOOLARGE, "the request body of %d bytes exceeds the maximum of %d", r.ContentLength, limit)
	}
	br := bufio.NewReaderSize(http.MaxBytesReader(w, r.Body, limit), maxObjectBody+1)
	head, err := br.Peek(maxObjectBody + 1)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, nil, shelf.Errorf(shelf.ETOOLARGE, "the request body exceeds %d bytes", limit)
		}
		return nil, nil, err
	}
	if len(head) <= maxObjectBody {
		var body struct {
			File json.RawMessage `json:"file"`
		}
		if err := json.Unmarshal(head, &body); err != nil {
			return nil, nil, shelf.Errorf(shelf.EINVALID, "malformed JSON body: %v", err)
		}
		raw := bytes.TrimSpace(body.File)
		switch {
		case len(raw) == 0 || string(raw) == "null":
			return nil, nil, shelf.Errorf(shelf.EINVALID, `"file" is required: a URL, a data: URL, or {"type","size"}`)
		case raw[0] == '{':
			var fo fileObject
			if err := json.Unmarshal(raw, &fo); err != nil {
				return nil, nil, shelf.Errorf(shelf.EINVALID, `"file" must be {"type": string, "size": integer, "meta": {string: string}}`)
			}
			return nil, &fo, nil
		case raw[0] == '"':
			var u string
			if err := json.Unmarshal(raw, &u); err != nil {
				return nil, nil, shelf.Errorf(shelf.EINVALID, `"file" must be a string`)
			}
			fb, err := h.urlFile(r, strings.NewReader(u))
			return fb, nil, err
		}
		return nil, nil, shelf.Errorf(shelf.EINVALID, `"file" must be a URL string or an object`)
	}
	u, err := shelfhttp.JSONStringField(br, "file")
	if err != nil {
		return nil, nil, err
	}
	fb, err := h.urlFile(r, u)
	return fb, nil, err
}

// urlFile opens the content of a URL a client gave. A URL the server may
// not read (an internal address) is the client's bad request here, not a
// permission: 400 BAD_REQUEST.
func (h *handler) urlFile(r *http.Request, u io.Reader) (*shelfhttp.FileBody, error) {
	br := bufio.NewReader(u)
	head, _ := br.Peek(8)
	lower := strings.ToLower(string(head))
	if !strings.HasPrefix(lower, "data:") && !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
		return nil, shelf.Errorf(shelf.EINVALID, `"file" must be an http(s) URL or a data: URL`)
	}
	fb, err := h.srv.URLBody(r.Context(), br)
	if shelf.ErrorCode(err) == shelf.EFORBIDDEN {
		return nil, &shelf.Error{Code: shelf.EINVALID, Message: shelf.ErrorMessage(err), Err: err}
	}
	return fb, err
}

// twoStage answers the two-stage form: a PUT URL, signed for the path,
// the exact size, the type and metadata, that takes the bytes once before
// it expires.
func (h *handler) twoStage(w http.ResponseWriter, r *http.Request, sp *shelf.Library, path string, fo *fileObject) {
	if fo.Type == nil || fo.Size == nil {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, `"file.type" and "file.size" are required`))
		return
	}
	ct := *fo.Type
	if mt, params, err := mime.ParseMediaType(ct); err != nil {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "file.type %q is not a media type", truncate(ct, 100)))
		return
	} else {
		ct = mime.FormatMediaType(mt, params)
	}
	if *fo.Size < 1 {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "file.size must be at least 1 byte"))
		return
	}
	if len(fo.Meta) > maxMetaEntries {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "file.meta has more than %d entries", maxMetaEntries))
		return
	}
	// The path must be able to take a file before the URL is handed out.
	if it, err := h.svc.ItemAt(r.Context(), sp.ID, path); err == nil && it.Type == shelf.TypeFolder {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "%q is a directory", path))
		return
	}
	u, err := h.svc.CreateWholeUpload(r.Context(), *fo.Size)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	extra, err := json.Marshal(putTarget{Type: ct, Meta: fo.Meta})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	x := base64.RawURLEncoding.EncodeToString(extra)
	urlPath := prefix(r) + "/space/" + url.PathEscape(sp.ID) + "/storage/upload/" + escapePath(path)
	q, err := h.svc.Sign(r.Context(), library.Signed{Method: http.MethodPut, Path: urlPath, Workspace: u.WorkspaceID, Upload: u.ID,
		Part: 1, Length: u.Size, Extra: x}, u.ExpiresAt)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	q.Set("upload", u.ID)
	q.Set("x", x)
	name := path[strings.LastIndexByte(path, '/')+1:]
	shelfhttp.WriteJSON(w, http.StatusOK, uploaded{ID: PathID(library.NameKey(path)), Path: library.NameKey(path), UploadRequest: &uploadRequest{
		Method: http.MethodPut, URL: h.srv.BaseURL(r) + urlPath + "?" + q.Encode(),
		Headers: map[string]string{"Content-Type": ct, "Content-Length": strconv.FormatInt(u.Size, 10),
			"Content-Disposition": "attachment; filename=" + url.PathEscape(name)},
	}})
}

// putTarget is what a two-stage URL binds besides the path and size.
type putTarget struct {
	Type string            `json:"t"`
	Meta map[string]string `json:"m,omitempty"`
}

// verifyPut authenticates the two-stage PUT by its signature.
func (h *handler) verifyPut(r *http.Request, _ map[string]string) (*shelf.Principal, error) {
	q := r.URL.Query()
	p, _, err := h.svc.Verify(r.Context(), library.Signed{Method: http.MethodPut, Path: r.URL.EscapedPath(), Upload: q.Get("upload"),
		Part: 1, Extra: q.Get("x")}, q)
	return p, err
}

// putUpload takes the bytes of a two-stage upload and writes the file.
// Only a signed URL gets here: a PUT with a key is refused, as uploads
// are POSTs.
func (h *handler) putUpload(w http.ResponseWriter, r *http.Request, sp *shelf.Library, path string) {
	if p := shelf.PrincipalFrom(r.Context()); p == nil || !p.Signed {
		methodNotAllowed(w, r, http.MethodPost)
		return
	}
	raw, err := base64.RawURLEncoding.DecodeString(r.URL.Query().Get("x"))
	var t putTarget
	if err == nil {
		err = json.Unmarshal(raw, &t)
	}
	if err != nil {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "the upload URL is malformed"))
		return
	}
	if r.ContentLength < 0 {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "the upload needs a Content-Length"))
		return
	}
	_, err = h.svc.PutWhole(r.Context(), r.URL.Query().Get("upload"), shelfhttp.StreamBody(w, r, r.ContentLength, putIdle),
		r.ContentLength, library.FileTarget{LibraryID: sp.ID, Path: path, Conflict: library.ConflictOverwrite,
			ContentType: t.Type, XAttrs: t.Meta})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, uploaded{ID: PathID(library.NameKey(path)), Path: library.NameKey(path)})
}

// list answers a directory's entries: its children, or with
// recursive=true every file below it, with paths relative to it.
func (h *handler) list(w http.ResponseWriter, r *http.Request, sp *shelf.Library, dir string) {
	q := r.URL.Query()
	token := q.Get("nextToken")
	if token == "" {
		token = q.Get("cursor")
	}
	limit := storagePage
	if t := q.Get("take"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 {
			h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "take must be a positive integer"))
			return
		}
		limit = min(n, storagePage)
	}
	var items []*shelf.Item
	var next string
	var err error
	if q.Get("recursive") == "true" {
		items, next, err = h.svc.ListTree(r.Context(), library.TreeList{LibraryID: sp.ID, Under: dir, FilesOnly: true, Token: token, Limit: limit})
	} else {
		var folder *shelf.Item
		folder, err = h.svc.ItemAt(r.Context(), sp.ID, dir)
		if err == nil && folder.Type != shelf.TypeFolder {
			err = shelf.Errorf(shelf.ENOTFOUND, "%q is not a directory", dir)
		}
		if err == nil {
			items, next, err = h.svc.Children(r.Context(), folder.ID, token, limit)
		}
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := storageList{Items: make([]storageItem, 0, len(items)), NextToken: next}
	for _, it := range items {
		rel := it.Path // built from the NFC form of each name
		if dir != "" {
			rel = strings.TrimPrefix(rel, library.NameKey(dir)+"/")
		}
		e := storageItem{ID: PathID(rel), PathID: PathID(rel), Path: rel, IsDirectory: it.Type == shelf.TypeFolder}
		if !e.IsDirectory {
			e.Size, e.UpdatedAt = it.Size, it.UpdatedAt.UnixMilli()
		}
		out.Items = append(out.Items, e)
	}
	shelfhttp.WriteJSON(w, http.StatusOK, out)
}

// fileAt returns the file at path; a directory or nothing is ENOTFOUND.
func (h *handler) fileAt(r *http.Request, sp *shelf.Library, path string) (*shelf.Item, error) {
	it, err := h.svc.ItemAt(r.Context(), sp.ID, path)
	if err == nil && it.Type != shelf.TypeFile {
		err = shelf.Errorf(shelf.ENOTFOUND, "%q is a directory, not a file", path)
	}
	return it, err
}

// download streams the file, or with Accept: application/json answers a
// signed, short-lived link to it.
func (h *handler) download(w http.ResponseWriter, r *http.Request, sp *shelf.Library, path string) {
	if path == "" {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "Cannot download the root path"))
		return
	}
	it, err := h.fileAt(r, sp, path)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if acceptsJSON(r) {
		link, err := h.srv.SignedContentURL(r, it.ID, it.Head)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		shelfhttp.WriteJSON(w, http.StatusOK, downloadLink{ID: PathID(it.Path), URL: link})
		return
	}
	_, v, err := h.svc.Content(r.Context(), it.ID, 0)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.srv.ServeVersion(w, r, it.Name, v); err != nil {
		h.writeError(w, r, err)
	}
}

func acceptsJSON(r *http.Request) bool {
	for _, a := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, _ := mime.ParseMediaType(strings.TrimSpace(a)); mt == "application/json" {
			return true
		}
	}
	return false
}

// delete removes a file, or with {"recursive": true} a directory and
// everything below it.
func (h *handler) delete(w http.ResponseWriter, r *http.Request, sp *shelf.Library, path string) {
	var body struct {
		Recursive *bool `json:"recursive"`
	}
	if err := h.decode(w, r, &body, true); err != nil {
		h.writeError(w, r, err)
		return
	}
	if path == "" {
		h.writeError(w, r, shelf.Errorf(shelf.ENOTFOUND, "Cannot delete the root path"))
		return
	}
	recursive := body.Recursive != nil && *body.Recursive
	it, err := h.svc.ItemAt(r.Context(), sp.ID, path)
	if err == nil && (it.Type == shelf.TypeFolder) != recursive {
		if recursive {
			err = shelf.Errorf(shelf.ENOTFOUND, "%q is not a directory", path)
		} else {
			err = shelf.Errorf(shelf.ENOTFOUND, "%q is a directory; delete it with recursive: true", path)
		}
	}
	if err == nil {
		_, err = h.svc.Delete(r.Context(), it.ID)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, pathOnly{Path: library.NameKey(path)})
}

// copyMove copies or moves a file to {"destinationPath"}, overwriting a
// file there.
func (h *handler) copyMove(w http.ResponseWriter, r *http.Request, sp *shelf.Library, path string, move bool) {
	var body struct {
		DestinationPath *string `json:"destinationPath"`
	}
	if err := h.decode(w, r, &body, false); err != nil {
		h.writeError(w, r, err)
		return
	}
	if body.DestinationPath == nil {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, `"destinationPath" is required`))
		return
	}
	dest, err := cleanPath(*body.DestinationPath)
	if err == nil && dest == "" {
		err = shelf.Errorf(shelf.EINVALID, "the destination cannot be the root path")
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if path == "" {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "Cannot copy or move the root path"))
		return
	}
	it, err := h.fileAt(r, sp, path)
	if err == nil {
		if move {
			_, err = h.svc.MoveFile(r.Context(), it.ID, dest, library.ConflictReplace)
		} else {
			_, err = h.svc.CopyFile(r.Context(), it.ID, library.FileTarget{LibraryID: sp.ID, Path: dest, Conflict: library.ConflictOverwrite})
		}
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, pathOnly{Path: library.NameKey(dest)})
}

// escapePath escapes each segment of a path as the SDK does.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
