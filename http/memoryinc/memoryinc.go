package memoryinc

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	shelf "github.com/shelfmem/shelf"
	shelfhttp "github.com/shelfmem/shelf/http"
	"github.com/shelfmem/shelf/library"
)

// The routes, at the server's root: a memory.inc client's base URL is the
// server's address.
const (
	IngestPath = "/sources/api/ingest"
	ItemsPath  = "/sources/api/items"
)

// Limits of the list, and the JSON body cap of an ingest.
const (
	defaultLimit = 50
	maxLimit     = 200
	// MaxIngestJSON caps an ingest body (content travels inside the JSON,
	// so it is held in memory either way): 8 MiB, or the server's JSON cap
	// if that is larger.
	MaxIngestJSON = 8 << 20
)

type handler struct {
	srv *shelfhttp.Server
	svc core
	d   *shelfhttp.Dialect
}

// Register mounts the memory.inc Memory API ("Collection & management":
// ingest, look up, delete) on srv.
func Register(srv *shelfhttp.Server) {
	h := &handler{srv: srv, svc: srv.Service()}
	h.d = &shelfhttp.Dialect{Name: "memoryinc", WriteError: h.writeError}
	srv.Handle("POST "+IngestPath, shelf.ScopeWrite, h.d, h.ingest)
	srv.Handle("GET "+ItemsPath, shelf.ScopeRead, h.d, h.listItems)
	srv.Handle("DELETE "+ItemsPath, shelf.ScopeWrite, h.d, h.deleteItems)
	// Anything else under /sources/api/ answers in this dialect's
	// envelope: 405 for a known path and another method, else 404.
	srv.Handle("/sources/api/", shelf.ScopeRead, h.d, h.noRoute)
}

func (h *handler) noRoute(w http.ResponseWriter, r *http.Request) {
	allow := map[string]string{IngestPath: "POST", ItemsPath: "GET, HEAD, DELETE"}[r.URL.Path]
	if allow != "" {
		w.Header().Set("Allow", allow)
		writeFailure(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+"; use "+allow)
		return
	}
	writeFailure(w, http.StatusNotFound, wireErrors[shelf.ENOTFOUND].Code, "no such endpoint: "+r.Method+" "+r.URL.Path)
}

// ingestRequest is the body of POST /sources/api/ingest. Content, text,
// path and metadata take more than one JSON type, so they are read raw.
type ingestRequest struct {
	Content     json.RawMessage  `json:"content"`
	Text        json.RawMessage  `json:"text"`
	ExternalID  string           `json:"external_id"`
	Path        json.RawMessage  `json:"path"`
	Title       string           `json:"title"`
	SourceName  string           `json:"source_name"`
	Scope       string           `json:"scope"`
	Metadata    json.RawMessage  `json:"metadata"`
	Attachments *[]attachmentRef `json:"attachments"`
}

type attachmentRef struct {
	URL      string `json:"url"`
	Filename string `json:"filename"`
}

func given(raw json.RawMessage) bool {
	raw = bytes.Trim(raw, jsonSpace)
	return len(raw) > 0 && string(raw) != "null"
}

// ingest is POST /sources/api/ingest: one document, and its attachments,
// upserted by external_id (else path) into its source.
func (h *handler) ingest(w http.ResponseWriter, r *http.Request) {
	var req ingestRequest
	if err := shelfhttp.DecodeJSON(w, r, max(MaxIngestJSON, h.srv.MaxJSONBytes()), &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	d, err := req.doc()
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	up, err := h.svc.Ingest(r.Context(), d)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := ingested{OK: true, Status: up.Status, SourceID: up.Source.ID, SourceItemID: up.Item.ID, VersionID: up.Version.ID}
	if req.Attachments != nil {
		atts := make([]attachmentResult, len(up.Attachments))
		for i, a := range up.Attachments {
			atts[i] = attachmentResult{URL: a.URL, Filename: a.Filename, Status: a.Status, Error: a.Error}
			if a.Item != nil {
				atts[i].SourceItemID = a.Item.ID
			}
		}
		out.Attachments = &atts
	}
	shelfhttp.WriteJSON(w, http.StatusOK, out)
}

// doc translates the request into the core's document.
func (req *ingestRequest) doc() (library.Doc, error) {
	content := req.Content
	if given(req.Text) {
		if given(req.Content) {
			return library.Doc{}, shelf.Errorf(shelf.EINVALID, "give content or text, not both")
		}
		content = req.Text
	}
	p, err := decodePath(req.Path)
	if err != nil {
		return library.Doc{}, err
	}
	name := req.ExternalID
	if p != "" {
		name = p
	}
	body, ct, err := decodeContent(content, name)
	if err != nil {
		return library.Doc{}, err
	}
	d := library.Doc{SourceName: req.SourceName, ExternalID: req.ExternalID, Path: p, Title: req.Title,
		Scope: req.Scope, Content: bytes.NewReader(body), Size: int64(len(body)), ContentType: ct}
	if given(req.Metadata) {
		d.Metadata = req.Metadata
	}
	if req.Attachments != nil {
		for _, a := range *req.Attachments {
			d.Attachments = append(d.Attachments, library.Attachment{URL: a.URL, Filename: a.Filename})
		}
	}
	return d, nil
}

// listItems is GET /sources/api/items.
func (h *handler) listItems(w http.ResponseWriter, r *http.Request) {
	q, err := query(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	limit, err := shelfhttp.QueryInt(r, "limit", defaultLimit)
	if err == nil && (limit < 1 || limit > maxLimit) {
		err = shelf.Errorf(shelf.EINVALID, "limit must be an integer from 1 to %d", maxLimit)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	sel := selector{library.Selector{SourceName: q.Get("source_name"), SourceType: q.Get("type"),
		ExternalIDs: nonEmpty(q["external_id"]), Status: q.Get("status"), Limit: limit}}
	if err := sel.times(q.Get("created_after"), q.Get("created_before")); err != nil {
		h.writeError(w, r, err)
		return
	}
	found, err := h.svc.FindItems(r.Context(), sel.Selector)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	items := make([]item, len(found))
	for i, f := range found {
		items[i] = toItem(f)
	}
	shelfhttp.WriteJSON(w, http.StatusOK, listed{OK: true, Count: len(items), Items: items})
}

// selector is the core's Selector, filled from the wire.
type selector struct{ library.Selector }

func (s *selector) times(after, before string) error {
	var err error
	if s.CreatedAfter, err = parseTime("created_after", after); err != nil {
		return err
	}
	s.CreatedBefore, err = parseTime("created_before", before)
	return err
}

// deleteRequest is the body of DELETE /sources/api/items.
type deleteRequest struct {
	IDs           []string `json:"ids"`
	ExternalIDs   []string `json:"external_ids"`
	SourceName    string   `json:"source_name"`
	Type          string   `json:"type"`
	CreatedAfter  string   `json:"created_after"`
	CreatedBefore string   `json:"created_before"`
}

// deleteFields are the body's fields; any other is refused, so a
// misspelt selector never widens a delete.
var deleteFields = []string{"ids", "external_ids", "source_name", "type", "created_after", "created_before"}

// deleteQuery are the query parameters a body-less delete takes: the
// body's names, and the list's spelling external_id (all lists repeatable).
var deleteQuery = []string{"ids", "id", "external_ids", "external_id", "source_name", "type", "created_after", "created_before"}

// deleteItems is DELETE /sources/api/items: selectors in a JSON body, or,
// when the body is empty, in the query string.
func (h *handler) deleteItems(w http.ResponseWriter, r *http.Request) {
	req, err := h.deleteSelectors(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	sel := selector{library.Selector{IDs: nonEmpty(req.IDs), ExternalIDs: nonEmpty(req.ExternalIDs),
		SourceName: req.SourceName, SourceType: req.Type}}
	if err := sel.times(req.CreatedAfter, req.CreatedBefore); err != nil {
		h.writeError(w, r, err)
		return
	}
	res, err := h.svc.RemoveItems(r.Context(), sel.Selector)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, removed{OK: true, Matched: res.Matched,
		HardDeleted: toRemovals(res.HardDeleted), Hidden: toRemovals(res.Hidden)})
}

// deleteSelectors reads the selectors of a delete from its body or, when
// the body is empty, its query. Selectors in both, and names neither
// place knows, are refused.
func (h *handler) deleteSelectors(w http.ResponseWriter, r *http.Request) (deleteRequest, error) {
	var req deleteRequest
	limit := h.srv.MaxJSONBytes()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return req, shelf.Errorf(shelf.ETOOLARGE, "request body exceeds %d bytes", limit)
	case err != nil:
		return req, &shelf.Error{Code: shelf.EINVALID, Message: "could not read the request body", Err: err}
	}
	q, err := query(r)
	if err != nil {
		return req, err
	}
	if unknown := unknownNames(keysOf(q), deleteQuery); unknown != "" {
		return req, shelf.Errorf(shelf.EINVALID, "unknown query parameter %q; selectors are %s", unknown, strings.Join(deleteFields, ", "))
	}
	if len(bytes.Trim(body, jsonSpace)) == 0 {
		for _, name := range []string{"source_name", "type", "created_after", "created_before"} {
			if len(q[name]) > 1 {
				return req, shelf.Errorf(shelf.EINVALID, "query parameter %q is given more than once", name)
			}
		}
		req = deleteRequest{IDs: append(q["ids"], q["id"]...), ExternalIDs: append(q["external_ids"], q["external_id"]...),
			SourceName: q.Get("source_name"), Type: q.Get("type"),
			CreatedAfter: q.Get("created_after"), CreatedBefore: q.Get("created_before")}
		return req, nil
	}
	if len(q) > 0 {
		return req, shelf.Errorf(shelf.EINVALID, "give the selectors in the JSON body or in the query string, not both")
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := shelfhttp.DecodeJSON(w, r, limit, &req); err != nil {
		return req, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return req, shelf.Errorf(shelf.EINVALID, "the request body must be a JSON object")
	}
	if unknown := unknownNames(keysOf(fields), deleteFields); unknown != "" {
		return req, shelf.Errorf(shelf.EINVALID, "unknown field %q; selectors are %s", unknown, strings.Join(deleteFields, ", "))
	}
	return req, nil
}

// query parses the query string, refusing what url.Values would drop
// without a word (a bad escape, a semicolon, more than 10,000
// parameters): a filter silently lost would widen a look-up or a delete.
func query(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &shelf.Error{Code: shelf.EINVALID, Message: "malformed query string: " + err.Error(), Err: err}
	}
	return q, nil
}

// keysOf returns a map's keys in order.
func keysOf[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// unknownNames returns the first of names not in known, or "".
func unknownNames(names, known []string) string {
	for _, n := range names {
		if !slices.Contains(known, n) {
			return n
		}
	}
	return ""
}
