package http

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/library"
)

// nativeRoutes mounts the native /v1 API. docs/API.md and
// /v1/openapi.json describe it.
func (s *Server) nativeRoutes() {
	d := s.native
	s.Handle("GET /v1/openapi.json", shelf.ScopeRead, d, s.getOpenAPI)

	s.Handle("POST /v1/workspaces", shelf.ScopeAdmin, d, s.createWorkspace)
	s.Handle("GET /v1/workspaces/{id}", shelf.ScopeRead, d, s.getWorkspace)
	s.Handle("POST /v1/keys", shelf.ScopeAdmin, d, s.createKey)
	s.Handle("GET /v1/keys", shelf.ScopeAdmin, d, s.listKeys)
	s.Handle("PATCH /v1/keys/{id}", shelf.ScopeAdmin, d, s.patchKey)
	s.Handle("DELETE /v1/keys/{id}", shelf.ScopeAdmin, d, s.revokeKey)

	s.Handle("GET /v1/libraries/default", shelf.ScopeRead, d, s.getDefaultLibrary)
	s.Handle("POST /v1/items", shelf.ScopeWrite, d, s.createFolder)
	s.Handle("GET /v1/items/{id}", shelf.ScopeRead, d, s.getItem)
	s.Handle("PATCH /v1/items/{id}", shelf.ScopeWrite, d, s.patchItem)
	s.Handle("DELETE /v1/items/{id}", shelf.ScopeWrite, d, s.deleteItem)
	s.Handle("GET /v1/items/{id}/children", shelf.ScopeRead, d, s.listChildren)
	s.HandleSigned("GET /v1/items/{id}/content", shelf.ScopeRead, d, s.verifyDownload, s.getContent)
	s.Handle("GET /v1/items/{id}/versions", shelf.ScopeRead, d, s.listVersions)
	s.Handle("GET /v1/items/{id}/versions/{n}/content", shelf.ScopeRead, d, s.getVersionContent)
	s.Handle("POST /v1/items/{id}/versions/{n}/restore", shelf.ScopeWrite, d, s.restoreVersion)
	s.Handle("POST /v1/items/{id}/index", shelf.ScopeWrite, d, s.indexItem)
	s.Handle("DELETE /v1/items/{id}/index", shelf.ScopeWrite, d, s.clearItemIndex)
	s.Handle("POST /v1/search", shelf.ScopeRead, d, s.search)
	s.Handle("GET /v1/index/status", shelf.ScopeRead, d, s.indexStatus)
	s.Handle("POST /v1/index/reindex", shelf.ScopeWrite, d, s.reindex)
	s.Handle("PUT /v1/items/{id}/xattrs", shelf.ScopeWrite, d, s.setXAttrs)
	s.Handle("DELETE /v1/items/{id}/xattrs", shelf.ScopeWrite, d, s.deleteXAttrs)

	s.Handle("PUT /v1/files/{path...}", shelf.ScopeWrite, d, s.writeFile)
	s.Handle("POST /v1/files/{path...}", shelf.ScopeWrite, d, s.writeFile)
	s.Handle("POST /v1/sources", shelf.ScopeWrite, d, s.createSource)

	s.Handle("POST /v1/uploads", shelf.ScopeWrite, d, s.createUpload)
	s.Handle("GET /v1/uploads/{id}", shelf.ScopeWrite, d, s.getUpload)
	s.Handle("DELETE /v1/uploads/{id}", shelf.ScopeWrite, d, s.abortUpload)
	s.HandleSigned("PUT /v1/uploads/{id}/parts/{n}", shelf.ScopeWrite, d, s.verifyPart, s.putPart)
	s.Handle("POST /v1/uploads/{id}/finalize", shelf.ScopeWrite, d, s.finalizeUpload)
}

func (s *Server) nativeError(w http.ResponseWriter, r *http.Request, err error) {
	s.native.WriteError(w, r, err)
}

// ItemID resolves the id a request names: "root" is the caller's default
// library root (the native spelling of MY_SPACE).
func (s *Server) itemID(r *http.Request, id string) (string, error) {
	if id != "root" {
		return id, nil
	}
	l, err := s.svc.DefaultLibrary(r.Context())
	if err != nil {
		return "", err
	}
	return l.RootID, nil
}

func (s *Server) getOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDoc)
}

func (s *Server) createWorkspace(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if err := DecodeJSON(w, r, s.opts.MaxJSONBytes, &req); err != nil {
		s.nativeError(w, r, err)
		return
	}
	ws, err := s.svc.CreateWorkspace(r.Context(), req.Name)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusCreated, ws)
}

func (s *Server) getWorkspace(w http.ResponseWriter, r *http.Request) {
	ws, err := s.svc.Workspace(r.Context(), r.PathValue("id"))
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, ws)
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	var req struct {
		WorkspaceID string        `json:"workspace_id"`
		Name        string        `json:"name"`
		Scopes      []shelf.Scope `json:"scopes"`
		ExpiresAt   *time.Time    `json:"expires_at"` // RFC 3339; absent or null: never
		// RateLimit is the key's own limit (master key only); absent or
		// null: the server's.
		RateLimit *shelf.RateLimit `json:"rate_limit"`
	}
	if err := DecodeJSON(w, r, s.opts.MaxJSONBytes, &req); err != nil {
		s.nativeError(w, r, err)
		return
	}
	if len(req.Scopes) == 0 {
		req.Scopes = []shelf.Scope{} // required here: refused, not defaulted
	}
	spec := library.KeySpec{Name: req.Name, Scopes: req.Scopes, RateLimit: req.RateLimit}
	if req.ExpiresAt != nil {
		spec.ExpiresAt = *req.ExpiresAt
	}
	k, token, err := s.svc.IssueKey(r.Context(), req.WorkspaceID, spec)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	type keyWithToken struct {
		*shelf.Key
		Token string `json:"key"`
	}
	WriteJSON(w, http.StatusCreated, keyWithToken{k, token})
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := s.svc.Keys(r.Context(), r.URL.Query().Get("workspace_id"))
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	if keys == nil {
		keys = []*shelf.Key{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

// patchKey sets a key's own rate limit: {"rate_limit": {"per_second",
// "burst"}} or {"rate_limit": null} to follow the server's again. Only the
// master key may (the core says so).
func (s *Server) patchKey(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RateLimit json.RawMessage `json:"rate_limit"`
	}
	if err := DecodeJSON(w, r, s.opts.MaxJSONBytes, &req); err != nil {
		s.nativeError(w, r, err)
		return
	}
	if req.RateLimit == nil {
		s.nativeError(w, r, shelf.Errorf(shelf.EINVALID, "rate_limit is required: an object, or null for the server's"))
		return
	}
	var l *shelf.RateLimit
	if err := json.Unmarshal(req.RateLimit, &l); err != nil {
		s.nativeError(w, r, shelf.Errorf(shelf.EINVALID, "rate_limit must be {\"per_second\": number, \"burst\": integer} or null"))
		return
	}
	k, err := s.svc.SetKeyRateLimit(r.Context(), r.PathValue("id"), l)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, k)
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.RevokeKey(r.Context(), r.PathValue("id")); err != nil {
		s.nativeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getDefaultLibrary(w http.ResponseWriter, r *http.Request) {
	l, err := s.svc.DefaultLibrary(r.Context())
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, l)
}

func (s *Server) createFolder(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ParentID string            `json:"parent_id"`
		Name     string            `json:"name"`
		Type     string            `json:"type"`
		Conflict string            `json:"conflict"`
		XAttrs   map[string]string `json:"x_attrs"`
	}
	if err := DecodeJSON(w, r, s.opts.MaxJSONBytes, &req); err != nil {
		s.nativeError(w, r, err)
		return
	}
	if req.Type != "" && req.Type != string(shelf.TypeFolder) {
		s.nativeError(w, r, shelf.Errorf(shelf.EINVALID, `type must be "folder"; files are written with PUT or POST /v1/files/{path}, or POST /v1/uploads and finalize`))
		return
	}
	parent, err := s.itemID(r, req.ParentID)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	it, err := s.svc.CreateFolder(r.Context(), parent, req.Name, library.Conflict(req.Conflict), req.XAttrs)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusCreated, it)
}

func (s *Server) getItem(w http.ResponseWriter, r *http.Request) {
	id, err := s.itemID(r, r.PathValue("id"))
	if err == nil {
		var it *shelf.Item
		if it, err = s.svc.Item(r.Context(), id); err == nil && it.Type == shelf.TypeFolder {
			// A folder says how many files below it are still being
			// indexed.
			var n int
			if n, err = s.svc.IndexingBelow(r.Context(), it.ID); err == nil {
				WriteJSON(w, http.StatusOK, folderJSON{it, n})
				return
			}
		} else if err == nil {
			WriteJSON(w, http.StatusOK, it)
			return
		}
	}
	s.nativeError(w, r, err)
}

// folderJSON is a folder as GET /v1/items/{id} shows it: the item's own
// JSON (shelf.Item's MarshalJSON, which an embedding struct would let
// swallow any field of its own) and "indexing".
type folderJSON struct {
	it       *shelf.Item
	indexing int
}

func (f folderJSON) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(f.it) // an object: {…}
	if err != nil {
		return nil, err
	}
	return fmt.Appendf(b[:len(b)-1], `,"indexing":%d}`, f.indexing), nil
}

func (s *Server) patchItem(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name     *string `json:"name"`
		ParentID *string `json:"parent_id"`
		Conflict string  `json:"conflict"`
	}
	if err := DecodeJSON(w, r, s.opts.MaxJSONBytes, &req); err != nil {
		s.nativeError(w, r, err)
		return
	}
	if req.ParentID != nil {
		id, err := s.itemID(r, *req.ParentID)
		if err != nil {
			s.nativeError(w, r, err)
			return
		}
		req.ParentID = &id
	}
	id, err := s.itemID(r, r.PathValue("id"))
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	it, err := s.svc.UpdateItem(r.Context(), id, library.ItemUpdate{Name: req.Name, ParentID: req.ParentID, Conflict: library.Conflict(req.Conflict)})
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, it)
}

func (s *Server) deleteItem(w http.ResponseWriter, r *http.Request) {
	id, err := s.itemID(r, r.PathValue("id"))
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	n, err := s.svc.Delete(r.Context(), id)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]int{"deleted": n})
}

func (s *Server) listChildren(w http.ResponseWriter, r *http.Request) {
	limit, err := QueryInt(r, "limit", 100)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	id, err := s.itemID(r, r.PathValue("id"))
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	items, next, err := s.svc.Children(r.Context(), id, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	views := make([]shelf.ItemView, len(items)) // cheaper to marshal than items
	for i, it := range items {
		views[i] = it.View()
	}
	WriteJSON(w, http.StatusOK, map[string]any{"items": views, "next_cursor": next})
}

func (s *Server) getContent(w http.ResponseWriter, r *http.Request) {
	var version int64
	if v := r.URL.Query().Get("version"); v != "" {
		n, err := versionNumber(v)
		if err != nil {
			s.nativeError(w, r, err)
			return
		}
		version = n
	}
	s.serveContent(w, r, version)
}

// serveContent streams version (0: the head) of the item the path names.
func (s *Server) serveContent(w http.ResponseWriter, r *http.Request, version int64) {
	id, err := s.itemID(r, r.PathValue("id"))
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	it, v, err := s.svc.Content(r.Context(), id, version)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	if err := s.ServeVersion(w, r, it.Name, v); err != nil {
		s.nativeError(w, r, err)
	}
}

// versionNumber parses a version number: a positive integer.
func versionNumber(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, shelf.Errorf(shelf.EINVALID, "version must be a positive integer")
	}
	return n, nil
}

func (s *Server) listVersions(w http.ResponseWriter, r *http.Request) {
	id, err := s.itemID(r, r.PathValue("id"))
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	vs, err := s.svc.Versions(r.Context(), id)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	if vs == nil {
		vs = []*shelf.Version{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"versions": vs})
}

func (s *Server) getVersionContent(w http.ResponseWriter, r *http.Request) {
	n, err := versionNumber(r.PathValue("n"))
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	s.serveContent(w, r, n)
}

// restoreVersion makes an old version's bytes the head, as a new version.
func (s *Server) restoreVersion(w http.ResponseWriter, r *http.Request) {
	n, err := versionNumber(r.PathValue("n"))
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	id, err := s.itemID(r, r.PathValue("id"))
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	up, err := s.svc.RestoreVersion(r.Context(), id, n)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, upserted(up))
}

// upserted is the native shape of a write by path or a restore.
func upserted(up *library.Upserted) map[string]any {
	return map[string]any{"status": up.Status, "item": up.Item, "version": up.Version}
}

// writeFile writes the file at a path of the default library (or of
// ?library=<id>) from the bytes the request carries in any of the forms
// RequestFileBody reads: 201 for a new file, 200 for a new version or
// unchanged bytes.
func (s *Server) writeFile(w http.ResponseWriter, r *http.Request) {
	path := r.PathValue("path")
	// The core checks the path again; checking it first refuses a bad one
	// before a URL is fetched or a body read.
	if _, err := library.CleanPath(path); err != nil {
		s.nativeError(w, r, err)
		return
	}
	fb, err := s.RequestFileBody(w, r)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	defer fb.Close()
	up, err := s.svc.WriteFile(r.Context(), library.FileWrite{LibraryID: r.URL.Query().Get("library"), Path: path,
		Body: fb.Body, Size: fb.Size, ContentType: fb.ContentType})
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	status := http.StatusOK
	if up.Status == library.StatusIndexed && up.Version != nil && up.Version.Number == 1 {
		status = http.StatusCreated
		w.Header().Set("Location", "/v1/items/"+up.Item.ID)
	}
	WriteJSON(w, status, upserted(up))
}

// createSource makes a source library; a type other than "api" (the
// default) names a connector, whose items are hidden rather than deleted.
func (s *Server) createSource(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	if err := DecodeJSON(w, r, s.opts.MaxJSONBytes, &req); err != nil {
		s.nativeError(w, r, err)
		return
	}
	if req.Type == "" {
		req.Type = library.SourceAPI
	}
	l, err := s.svc.CreateSource(r.Context(), req.Name, req.Type)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusCreated, l)
}

func (s *Server) setXAttrs(w http.ResponseWriter, r *http.Request) {
	var req struct {
		XAttrs map[string]string `json:"x_attrs"`
	}
	if err := DecodeJSON(w, r, s.opts.MaxJSONBytes, &req); err != nil {
		s.nativeError(w, r, err)
		return
	}
	id, err := s.itemID(r, r.PathValue("id"))
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	it, err := s.svc.SetXAttrs(r.Context(), id, req.XAttrs)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, it)
}

func (s *Server) deleteXAttrs(w http.ResponseWriter, r *http.Request) {
	var keys []string
	for _, k := range r.URL.Query()["key"] {
		keys = append(keys, strings.Split(k, ",")...)
	}
	id, err := s.itemID(r, r.PathValue("id"))
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	it, err := s.svc.DeleteXAttrs(r.Context(), id, keys)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, it)
}

// PartURL is one part of an upload's layout, with its pre-signed PUT URL.
type PartURL struct {
	Number int    `json:"number"`
	Size   int64  `json:"size"`
	URL    string `json:"upload_url"`
}

// PartURLs returns the signed PUT URLs of the given parts (all when nil).
func (s *Server) PartURLs(r *http.Request, u *shelf.Upload, numbers []int) ([]PartURL, error) {
	if numbers == nil {
		for n := 1; n <= u.PartCount(); n++ {
			numbers = append(numbers, n)
		}
	}
	base := s.BaseURL(r)
	out := make([]PartURL, 0, len(numbers))
	for _, n := range numbers {
		path := "/v1/uploads/" + u.ID + "/parts/" + strconv.Itoa(n)
		sd, exp, err := s.svc.SignPart(u, n, path)
		if err != nil {
			return nil, err
		}
		q, err := s.svc.Sign(r.Context(), sd, exp)
		if err != nil {
			return nil, err
		}
		out = append(out, PartURL{Number: n, Size: sd.Length, URL: base + path + "?" + q.Encode()})
	}
	return out, nil
}

// CreateUpload starts an upload and returns it with its part URLs; the
// MemoryLake dialect shares it.
func (s *Server) CreateUpload(r *http.Request, size int64) (*shelf.Upload, []PartURL, error) {
	u, err := s.svc.CreateUpload(r.Context(), size)
	if err != nil {
		return nil, nil, err
	}
	parts, err := s.PartURLs(r, u, nil)
	return u, parts, err
}

func (s *Server) createUpload(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Size *int64 `json:"size"`
	}
	if err := DecodeJSON(w, r, s.opts.MaxJSONBytes, &req); err != nil {
		s.nativeError(w, r, err)
		return
	}
	if req.Size == nil {
		s.nativeError(w, r, shelf.Errorf(shelf.EINVALID, "size is required"))
		return
	}
	u, parts, err := s.CreateUpload(r, *req.Size)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusCreated, map[string]any{"upload": u, "parts": parts})
}

func (s *Server) getUpload(w http.ResponseWriter, r *http.Request) {
	u, received, err := s.svc.GetUpload(r.Context(), r.PathValue("id"))
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	have := map[int]bool{}
	for _, p := range received {
		have[p.Number] = true
	}
	missing := []int{}
	if u.State == shelf.UploadOpen {
		for n := 1; n <= u.PartCount(); n++ {
			if !have[n] {
				missing = append(missing, n)
			}
		}
	}
	urls, err := s.PartURLs(r, u, missing)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	if received == nil {
		received = []*shelf.Part{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"upload": u, "received": received, "missing": urls})
}

func (s *Server) abortUpload(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.AbortUpload(r.Context(), r.PathValue("id")); err != nil {
		s.nativeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// verifyPart authenticates a part PUT by its signature.
func (s *Server) verifyPart(r *http.Request, vals map[string]string) (*shelf.Principal, error) {
	n, err := strconv.Atoi(vals["n"])
	if err != nil {
		return nil, shelf.Errorf(shelf.EFORBIDDEN, "signed URL does not match")
	}
	p, _, err := s.svc.Verify(r.Context(), library.Signed{Method: r.Method, Path: r.URL.EscapedPath(), Upload: vals["id"], Part: n}, r.URL.Query())
	return p, err
}

// verifyDownload authenticates a content GET by its signature, which
// binds the version it reads.
func (s *Server) verifyDownload(r *http.Request, vals map[string]string) (*shelf.Principal, error) {
	q := r.URL.Query()
	p, _, err := s.svc.Verify(r.Context(), library.Signed{Method: http.MethodGet, Path: r.URL.EscapedPath(), Upload: vals["id"],
		Extra: "v=" + q.Get("version")}, q)
	return p, err
}

// SignedContentURL returns a link that reads version v of item id without
// a key until it expires: the native content route with a signature.
func (s *Server) SignedContentURL(r *http.Request, id string, v int64) (string, error) {
	path := "/v1/items/" + url.PathEscape(id) + "/content"
	sd, exp, err := s.svc.SignDownload(r.Context(), id, v, path)
	if err != nil {
		return "", err
	}
	q, err := s.svc.Sign(r.Context(), sd, exp)
	if err != nil {
		return "", err
	}
	q.Set("version", strconv.FormatInt(v, 10))
	return s.BaseURL(r) + path + "?" + q.Encode(), nil
}

// partIdle is how long a part upload may stall before the server hangs up.
const partIdle = 60 * time.Second

func (s *Server) putPart(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		s.nativeError(w, r, shelf.Errorf(shelf.EINVALID, "part number must be an integer"))
		return
	}
	if r.ContentLength < 0 {
		s.nativeError(w, r, shelf.Errorf(shelf.EINVALID, "a part upload needs a Content-Length"))
		return
	}
	etag, err := s.svc.WritePart(r.Context(), r.PathValue("id"), n, StreamBody(w, r, r.ContentLength, partIdle), r.ContentLength)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	w.Header().Set("ETag", `"`+etag+`"`)
	w.WriteHeader(http.StatusOK)
}

func (s *Server) finalizeUpload(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ParentID    string            `json:"parent_id"`
		Name        string            `json:"name"`
		Conflict    string            `json:"conflict"`
		XAttrs      map[string]string `json:"x_attrs"`
		ContentType string            `json:"content_type"`
		Parts       []struct {
			Number int    `json:"number"`
			ETag   string `json:"etag"`
		} `json:"parts"`
	}
	// 10,000 part entries need more room than other JSON bodies.
	if err := DecodeJSON(w, r, 4*s.opts.MaxJSONBytes, &req); err != nil {
		s.nativeError(w, r, err)
		return
	}
	parent, err := s.itemID(r, req.ParentID)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	etags := make([]library.PartETag, len(req.Parts))
	for i, p := range req.Parts {
		etags[i] = library.PartETag{Number: p.Number, ETag: p.ETag}
	}
	it, err := s.svc.Finalize(r.Context(), r.PathValue("id"), etags, library.FileTarget{
		ParentID: parent, Name: req.Name, Conflict: library.Conflict(req.Conflict), XAttrs: req.XAttrs, ContentType: req.ContentType})
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, it)
}
