package chatbotkit

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	shelf "github.com/shelfmem/shelf"
	shelfhttp "github.com/shelfmem/shelf/http"
	"github.com/shelfmem/shelf/internal/jsonfield"
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
	svc core
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
		srv.Handle("GET "+p+"/contact/{contactId}/space/list", shelf.ScopeRead, h.d, h.listSpaces)
		srv.Handle("GET "+p+"/space/{spaceId}/fetch", shelf.ScopeRead, h.d, h.fetchSpace)
		srv.Handle("POST "+p+"/space/{spaceId}/update", shelf.ScopeWrite, h.d, h.updateSpace)
		srv.Handle("POST "+p+"/space/{spaceId}/delete", shelf.ScopeWrite, h.d, h.deleteSpace)
		srv.Handle("GET "+p+"/space/{spaceId}/storage/{rest...}", shelf.ScopeRead, h.d, h.storage)
		srv.Handle("POST "+p+"/space/{spaceId}/storage/{rest...}", shelf.ScopeWrite, h.d, h.storage)
		srv.HandleSigned("PUT "+p+"/space/{spaceId}/storage/{rest...}", shelf.ScopeWrite, h.d, h.verifyPut, h.storage)
		// Anything else under /space/ and /contact/ answers in this
		// dialect's format: 405 with Allow for a known path, else 404.
		srv.Handle(p+"/space/", shelf.ScopeRead, h.d, h.noRoute)
		srv.Handle(p+"/contact/", shelf.ScopeRead, h.d, h.noRoute)
	}
	// The rest of /api/v1/ is ChatBotKit's too (the rest of /api/ answers
	// in Informer's shape; /v1/ is the native API's).
	srv.Handle("/api/v1/", shelf.ScopeRead, h.d, h.noRoute)
}

// spaceRoutes are the space routes' paths below a prefix, the method
// each takes, for the 405 of another method.
var spaceRoutes = []struct {
	segs  []string // "*" matches one segment
	allow string
}{
	{[]string{"space", "create"}, "POST"},
	{[]string{"space", "list"}, "GET, HEAD"},
	{[]string{"space", "export"}, "GET, HEAD"},
	{[]string{"space", "*", "fetch"}, "GET, HEAD"},
	{[]string{"space", "*", "update"}, "POST"},
	{[]string{"space", "*", "delete"}, "POST"},
	{[]string{"contact", "*", "space", "list"}, "GET, HEAD"},
}

// noRoute answers a request no route took: 405 with Allow when its path
// is a space route's, else 404.
func (h *handler) noRoute(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, prefix(r)+"/")
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	for _, rt := range spaceRoutes {
		if len(rt.segs) != len(segs) {
			continue
		}
		match := true
		for i, s := range rt.segs {
			match = match && (s == "*" && segs[i] != "" || s == segs[i])
		}
		if match {
			methodNotAllowed(w, r, rt.allow)
			return
		}
	}
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
	spec := library.Spec{Kind: shelf.KindSpace, XAttrs: map[string]string{}, Metadata: f.Meta}
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
	u := library.Update{Name: f.Name, Description: f.Description, Metadata: f.Meta, MergeMetadata: true,
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
func listQuery(q url.Values) (library.ListOptions, int, error) {
	lq := library.ListOptions{Kind: shelf.KindSpace, After: q.Get("cursor"), Desc: true,
		Metadata: map[string]string{}, XAttrs: map[string]string{}}
	switch q.Get("order") {
	case "", "desc":
	case "asc":
		lq.Desc = false
	default:
		return lq, 0, shelf.Errorf(shelf.EINVALID, `order must be "asc" or "desc"`)
	}
	take := 0 // the default
	if n, ok := parseTake(q.Get("take")); ok {
		take = min(max(n, 1), maxTake) // clamped to 1..100, as ChatBotKit's is
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

// listSpaces is the space list, the export, and a contact's list (whose
// contactId is the path's).
// parseTake reads take as JavaScript's parseInt does, which ChatBotKit
// uses: optional spaces and sign, then the leading digits ("2.9" is 2);
// ok is false when there are none (NaN: the default).
func parseTake(s string) (n int, ok bool) {
	s = strings.TrimLeft(s, " \t\n\r")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if n < 1<<20 { // past any take that matters
			n = n*10 + int(s[i]-'0')
		}
		i++
	}
	if i == 0 {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

func (h *handler) listSpaces(w http.ResponseWriter, r *http.Request) {
	lq, take, err := listQuery(r.URL.Query())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if c := r.PathValue("contactId"); c != "" {
		lq.XAttrs[attrContact] = c
	}
	if f := streamFormat(r); f != "" {
		h.streamSpaces(w, r, lq, take, f)
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

// Stream formats a list answers in, by Accept.
const (
	streamJSONL = "application/jsonl"
	streamSSE   = "text/event-stream"
	streamCSV   = "text/csv"
)

// streamFormat is the stream format the request's Accept asks for, or ""
// for a page of JSON.
func streamFormat(r *http.Request) string {
	for _, a := range strings.Split(r.Header.Get("Accept"), ",") {
		switch mt, _, _ := mime.ParseMediaType(strings.TrimSpace(a)); mt {
		case "application/jsonl", "application/x-ndjson":
			return streamJSONL
		case streamSSE:
			return streamSSE
		case streamCSV:
			return streamCSV
		}
	}
	return ""
}

// csvColumns are the columns of a space list in CSV, in order.
var csvColumns = []string{"id", "alias", "name", "description", "meta", "blueprintId", "contactId", "createdAt", "updatedAt"}

// spaceStream writes a list's items in one of the stream formats: JSON
// lines {"type":"item","data":…} and a last {"type":"result",…}; server-
// sent events "item" and a last "result"; or CSV, a header row and a row
// per space (RFC 4180 quoting; meta as JSON text).
type spaceStream struct {
	format string
	bw     *bufio.Writer
	csv    *csv.Writer
}

func newSpaceStream(w http.ResponseWriter, format string) *spaceStream {
	st := &spaceStream{format: format, bw: bufio.NewWriter(w)}
	ct := format
	switch format {
	case streamCSV:
		ct = "text/csv; charset=utf-8"
		st.csv = csv.NewWriter(st.bw)
		_ = st.csv.Write(csvColumns)
	case streamSSE:
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	return st
}

// event writes one event of type typ ("item", "result" or "error").
func (st *spaceStream) event(typ string, data any) error {
	switch st.format {
	case streamCSV:
		sp, ok := data.(space)
		if !ok {
			return nil // CSV has no room for a result; an error cuts it short
		}
		meta := ""
		if sp.Meta != nil {
			meta = string(sp.Meta)
		}
		return st.csv.Write([]string{sp.ID, sp.Alias, sp.Name, sp.Description, meta,
			sp.BlueprintID, sp.ContactID, strconv.FormatInt(sp.CreatedAt, 10), strconv.FormatInt(sp.UpdatedAt, 10)})
	case streamSSE:
		b, err := json.Marshal(data)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(st.bw, "event: %s\ndata: %s\n\n", typ, b)
		return err
	}
	b, err := json.Marshal(streamItem{Type: typ, Data: data})
	if err != nil {
		return err
	}
	_, err = st.bw.Write(append(b, '\n'))
	return err
}

func (st *spaceStream) flush() error {
	if st.csv != nil {
		st.csv.Flush()
		if err := st.csv.Error(); err != nil {
			return err
		}
	}
	return st.bw.Flush()
}

// streamSpaces writes every space the query selects (at most take, when
// given) in a stream format, a page at a time, then a result (the cursor
// of the last space). An error after the stream began ends it with an
// error event.
func (h *handler) streamSpaces(w http.ResponseWriter, r *http.Request, lq library.ListOptions, take int, format string) {
	var st *spaceStream
	sent := 0
	cursor := ""
	for {
		lq.Limit = maxTake
		if take > 0 {
			lq.Limit = min(maxTake, take-sent)
		}
		ls, err := h.svc.ListLibraries(r.Context(), lq)
		if err != nil {
			if st == nil {
				h.writeError(w, r, err)
				return
			}
			_ = st.event("error", failure{Message: shelf.ErrorMessage(err), Code: "INTERNAL_SERVER_ERROR"})
			_ = st.flush()
			return
		}
		if st == nil {
			st = newSpaceStream(w, format)
		}
		for _, l := range ls {
			if err := st.event("item", toSpace(l)); err != nil {
				return
			}
		}
		sent += len(ls)
		if len(ls) > 0 {
			cursor = ls[len(ls)-1].ID
		}
		if len(ls) < lq.Limit || (take > 0 && sent >= take) {
			break
		}
		lq.After = cursor
		if err := st.flush(); err != nil {
			return
		}
	}
	_ = st.event("result", streamResult{Cursor: cursor})
	_ = st.flush()
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
	// Leading slashes go (ChatBotKit's server drops them), and a trailing
	// one names the folder before it ("docs/" is docs).
	p = strings.TrimRight(strings.TrimLeft(p, "/"), "/")
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
		if !utf8.Valid(head) {
			return nil, nil, shelf.Errorf(shelf.EINVALID, "the request body is not valid UTF-8: JSON text must be")
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
	u, err := jsonfield.String(br, "file")
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
	if *fo.Size < 0 {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "file.size must not be negative"))
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
	// An empty file needs no upload session: its URL names none, and the
	// PUT of its zero bytes writes it.
	u := &shelf.Upload{WorkspaceID: shelf.PrincipalFrom(r.Context()).WorkspaceID, ExpiresAt: time.Now().Add(emptyPutTTL)}
	if *fo.Size > 0 {
		var err error
		if u, err = h.svc.CreateWholeUpload(r.Context(), *fo.Size); err != nil {
			h.writeError(w, r, err)
			return
		}
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
	if u.ID != "" {
		q.Set("upload", u.ID)
	}
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
	if r.URL.Query().Get("upload") == "" { // a two-stage upload of an empty file
		if err := h.putEmpty(r, sp, path, t); err != nil {
			h.writeError(w, r, err)
			return
		}
		shelfhttp.WriteJSON(w, http.StatusOK, uploaded{ID: PathID(library.NameKey(path)), Path: library.NameKey(path)})
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

// emptyPutTTL is how long the PUT URL of an empty file's two-stage
// upload lives, as long as an upload session's would.
const emptyPutTTL = 24 * time.Hour

// putEmpty writes the empty file of a two-stage upload whose size was 0,
// with its type and meta; its signed URL (length 0) took no other body.
func (h *handler) putEmpty(r *http.Request, sp *shelf.Library, path string, t putTarget) error {
	if r.ContentLength != 0 {
		return shelf.Errorf(shelf.EINVALID, "this upload takes 0 bytes, not %d", r.ContentLength)
	}
	up, err := h.svc.WriteFile(r.Context(), library.FileWrite{LibraryID: sp.ID, Path: path, Body: strings.NewReader(""),
		Size: 0, ContentType: t.Type})
	if err != nil || len(t.Meta) == 0 {
		return err
	}
	_, err = h.svc.SetXAttrs(r.Context(), up.Item.ID, t.Meta)
	return err
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
	if n, ok := parseTake(q.Get("take")); ok {
		limit = min(max(n, 1), storagePage)
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
// jsonBool reads a flag given as a JSON boolean or as the string "true"
// or "false" (what a form or a careless client sends); absent or null is
// false.
func jsonBool(name string, raw json.RawMessage) (bool, error) {
	switch strings.TrimSpace(string(raw)) {
	case "", "null", "false", `"false"`:
		return false, nil
	case "true", `"true"`:
		return true, nil
	}
	return false, shelf.Errorf(shelf.EINVALID, "%s must be true or false", name)
}

func (h *handler) delete(w http.ResponseWriter, r *http.Request, sp *shelf.Library, path string) {
	var body struct {
		Recursive json.RawMessage `json:"recursive"`
	}
	if err := h.decode(w, r, &body, true); err != nil {
		h.writeError(w, r, err)
		return
	}
	recursive, err := jsonBool("recursive", body.Recursive)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if path == "" {
		h.writeError(w, r, shelf.Errorf(shelf.ENOTFOUND, "Cannot delete the root path"))
		return
	}
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
