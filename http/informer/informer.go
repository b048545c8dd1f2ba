package informer

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	shelf "github.com/shelfmem/shelf"
	shelfhttp "github.com/shelfmem/shelf/http"
	"github.com/shelfmem/shelf/library"
)

// Limits of the dialect.
const (
	defaultLibraryLimit = 30   // C1's default page
	defaultFilesEnd     = 100  // F2's default end
	maxFilesPage        = 1000 // F2's most rows (end - start)
	maxContentPatch     = 16 << 20
)

type handler struct {
	srv *shelfhttp.Server
	svc core
	d   *shelfhttp.Dialect
}

// Register mounts the Informer Library API on srv.
func Register(srv *shelfhttp.Server) {
	h := &handler{srv: srv, svc: srv.Service()}
	h.d = &shelfhttp.Dialect{Name: "informer", WriteError: h.writeError}
	read, write := shelf.ScopeRead, shelf.ScopeWrite
	for _, up := range []string{"/api/_library-upload", "/_library-upload"} {
		srv.Handle("POST "+up, write, h.d, h.libraryUpload)
	}
	const lib = "/api/libraries/{id}"
	routes := []struct {
		pattern string
		scope   shelf.Scope
		fn      http.HandlerFunc
	}{
		{"GET /api/libraries", read, h.searchLibraries},
		{"GET /api/libraries-list", read, h.listLibraries},
		{"POST /api/libraries", write, h.createLibrary},
		{"GET " + lib, read, h.getLibrary},
		{"PATCH " + lib, write, h.updateLibrary},
		{"PUT " + lib, write, h.updateLibrary},
		{"DELETE " + lib, write, h.deleteLibrary},
		{"GET " + lib + "/files", read, h.listFiles},
		{"PATCH " + lib + "/files", write, h.bulkPatch},
		{"GET " + lib + "/files-list", read, h.flatList},
		{"POST " + lib + "/files/_bulk-index", write, h.bulkIndex},
		{"GET " + lib + "/files/{fileId}", read, h.getFile},
		{"PATCH " + lib + "/files/{fileId}", write, h.patchFile},
		{"DELETE " + lib + "/files/{fileId}", write, h.deleteFile},
		{"GET " + lib + "/files/{fileId}/contents", read, h.getContents},
		{"PUT " + lib + "/files/{fileId}/contents", write, h.putContents},
		{"GET " + lib + "/files/{fileId}/indexed", read, h.getIndexed},
		{"PUT " + lib + "/files/{fileId}/indexed", write, h.putIndexed},
		{"DELETE " + lib + "/files/{fileId}/indexed", write, h.deleteIndexed},
		{"POST " + lib + "/files/{fileId}/_retry-indexing", write, h.retryIndexing},
		{"GET " + lib + "/contents/{path...}", read, h.getPathContents},
		{"PUT " + lib + "/contents/{path...}", write, h.putPathContents},
		{"PATCH " + lib + "/contents/{path...}", write, h.patchPathContents},
		{"GET " + lib + "/snapshots", read, h.listSnapshots},
		{"POST " + lib + "/snapshots", write, h.createSnapshot},
		{"POST " + lib + "/snapshots/{snapshotId}/_restore", write, h.restoreSnapshot},
		{"DELETE " + lib + "/snapshots/{snapshotId}", write, h.deleteSnapshot},
	}
	for _, rt := range routes {
		srv.Handle(rt.pattern, rt.scope, h.d, rt.fn)
	}
	h.extraRoutes(read, write)
	// Anything else under /api/ answers in this dialect's format (Boom);
	// ChatBotKit's /api/v1/ keeps its own.
	srv.Handle("/api/", read, h.d, h.noRoute)
}

func (h *handler) noRoute(w http.ResponseWriter, r *http.Request) {
	h.writeError(w, r, shelf.Errorf(shelf.ENOTFOUND, "no route for %s %s", r.Method, r.URL.Path))
}

// decode reads a JSON body, refusing unknown fields.
func (h *handler) decode(w http.ResponseWriter, r *http.Request, v any) error {
	var raw json.RawMessage
	if err := shelfhttp.DecodeJSON(w, r, h.srv.MaxJSONBytes(), &raw); err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return shelf.Errorf(shelf.EINVALID, "invalid request payload: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// library resolves the {id} of a route: a library's UUID, its natural id
// owner:slug (the owner is the workspace), or its bare slug.
func (h *handler) library(r *http.Request) (*shelf.Library, error) {
	ref := r.PathValue("id")
	if owner, slug, ok := strings.Cut(ref, ":"); ok {
		p := shelf.PrincipalFrom(r.Context())
		if p == nil || owner != p.WorkspaceID {
			return nil, shelf.Errorf(shelf.ENOTFOUND, "library %q not found", ref)
		}
		ref = slug
	}
	return h.svc.GetLibrary(r.Context(), shelf.KindLibrary, ref)
}

// file resolves {fileId} within the route's library.
func (h *handler) file(r *http.Request) (*shelf.Library, *shelf.Item, error) {
	lib, err := h.library(r)
	if err != nil {
		return nil, nil, err
	}
	id := r.PathValue("fileId")
	it, err := h.svc.Item(r.Context(), id)
	if err == nil && (it.LibraryID != lib.ID || it.IsRoot()) {
		err = shelf.Errorf(shelf.ENOTFOUND, "file %q not found", id)
	}
	return lib, it, err
}

// queryInt reads a non-negative integer query parameter.
func queryInt(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, shelf.Errorf(shelf.EINVALID, "%q must be a whole number, 0 or more", name)
	}
	return n, nil
}

func queryBool(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, shelf.Errorf(shelf.EINVALID, "%q must be true or false", name)
	}
	return b, nil
}

// --- libraries ---

// owner names the caller's workspace, the owner of every library it sees.
func (h *handler) owner(r *http.Request) (string, error) {
	p := shelf.PrincipalFrom(r.Context())
	ws, err := h.svc.Workspace(r.Context(), p.WorkspaceID)
	if err != nil {
		return "", err
	}
	return ws.Name, nil
}

func (h *handler) searchLibraries(w http.ResponseWriter, r *http.Request) {
	start, err := queryInt(r, "start", 0)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	limit, err := queryInt(r, "limit", defaultLibraryLimit)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	sort, desc := strings.CutPrefix(r.URL.Query().Get("sort"), "-")
	libs, total, err := h.svc.SearchLibraries(r.Context(), library.SearchOptions{Kind: shelf.KindLibrary,
		Query: r.URL.Query().Get("q"), Sort: sort, Desc: desc, Start: start, Limit: limit})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	owner, err := h.owner(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := make([]libraryJSON, len(libs))
	for i, l := range libs {
		out[i] = toLibrary(l, owner)
	}
	shelfhttp.WriteJSON(w, http.StatusOK, map[string]any{
		"_links":    map[string]link{"self": {Href: "/api/libraries{?sort,limit,start,q}", Templated: true}},
		"_embedded": map[string]any{"inf:library": out},
		"start":     start, "count": len(out), "total": total,
	})
}

func (h *handler) listLibraries(w http.ResponseWriter, r *http.Request) {
	libs, _, err := h.svc.SearchLibraries(r.Context(), library.SearchOptions{Kind: shelf.KindLibrary, Limit: library.MaxLibraryPage})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	owner, err := h.owner(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := make([]libraryJSON, len(libs))
	for i, l := range libs {
		out[i] = toLibrary(l, owner)
		out[i].Links = nil
	}
	shelfhttp.WriteJSON(w, http.StatusOK, out)
}

// libraryRequest is the body of C3's create and update (Informer's docs
// do not give one; these are its library object's own fields).
type libraryRequest struct {
	Name            *string `json:"name"`
	Slug            *string `json:"slug"`
	Description     *string `json:"description"`
	Type            *string `json:"type"`
	Embedded        *bool   `json:"embedded"`
	Shared          *bool   `json:"shared"`
	AssistantAccess *bool   `json:"assistantAccess"`
}

// readLibrary decodes a create or update body and refuses what Shelf's
// libraries cannot be.
func (h *handler) readLibrary(w http.ResponseWriter, r *http.Request) (*libraryRequest, error) {
	var req libraryRequest
	if err := h.decode(w, r, &req); err != nil {
		return nil, err
	}
	return &req, req.checkType()
}

func (req *libraryRequest) checkType() error {
	if req.Type != nil && *req.Type != "local" {
		return shelf.Errorf(shelf.EINVALID, "type %q is not served here; Shelf's libraries are \"local\"", *req.Type)
	}
	return nil
}

func (h *handler) createLibrary(w http.ResponseWriter, r *http.Request) {
	req, err := h.readLibrary(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.Name == nil || strings.TrimSpace(*req.Name) == "" {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "name is required"))
		return
	}
	spec := library.Spec{Kind: shelf.KindLibrary, Name: *req.Name}
	if req.Slug != nil {
		spec.Slug = *req.Slug
	}
	if req.Description != nil {
		spec.Description = *req.Description
	}
	if req.Embedded != nil {
		spec.Embedded = *req.Embedded
	}
	if req.Shared != nil {
		spec.Shared = *req.Shared
	}
	if req.AssistantAccess != nil {
		spec.AssistantAccess = *req.AssistantAccess
	}
	l, err := h.svc.CreateLibrary(r.Context(), spec)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/libraries/"+l.ID)
	h.writeLibrary(w, r, http.StatusCreated, l)
}

func (h *handler) getLibrary(w http.ResponseWriter, r *http.Request) {
	l, err := h.library(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeLibrary(w, r, http.StatusOK, l)
}

func (h *handler) updateLibrary(w http.ResponseWriter, r *http.Request) {
	req, err := h.readLibrary(w, r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	l, err := h.library(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	l, err = h.svc.UpdateLibrary(r.Context(), shelf.KindLibrary, l.ID, library.Update{Slug: req.Slug, Name: req.Name,
		Description: req.Description, Embedded: req.Embedded, Shared: req.Shared, AssistantAccess: req.AssistantAccess})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeLibrary(w, r, http.StatusOK, l)
}

func (h *handler) deleteLibrary(w http.ResponseWriter, r *http.Request) {
	l, err := h.library(r)
	if err == nil {
		_, err = h.svc.DeleteLibrary(r.Context(), shelf.KindLibrary, l.ID)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- snapshots ---

func (h *handler) listSnapshots(w http.ResponseWriter, r *http.Request) {
	l, err := h.library(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	list, err := h.svc.Snapshots(r.Context(), l.ID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := make([]snapshotJSON, len(list))
	for i, sn := range list {
		out[i] = toSnapshot(sn)
	}
	shelfhttp.WriteJSON(w, http.StatusOK, out)
}

func (h *handler) createSnapshot(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Limit   *int   `json:"limit"`
		Trigger string `json:"trigger"`
	}
	if r.ContentLength != 0 {
		if err := h.decode(w, r, &req); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	limit := 0
	if req.Limit != nil {
		if *req.Limit < 1 || *req.Limit > library.MaxSnapshotLimit {
			h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "limit must be between 1 and %d", library.MaxSnapshotLimit))
			return
		}
		limit = *req.Limit
	}
	l, err := h.library(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	sn, err := h.svc.CreateSnapshot(r.Context(), l.ID, req.Trigger, limit)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusCreated, toSnapshot(sn))
}

func (h *handler) restoreSnapshot(w http.ResponseWriter, r *http.Request) {
	l, err := h.library(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	sn, err := h.svc.RestoreSnapshot(r.Context(), l.ID, r.PathValue("snapshotId"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, map[string]any{"restored": true, "fileCount": sn.FileCount})
}

func (h *handler) deleteSnapshot(w http.ResponseWriter, r *http.Request) {
	l, err := h.library(r)
	if err == nil {
		err = h.svc.DeleteSnapshot(r.Context(), l.ID, r.PathValue("snapshotId"))
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// writeLibrary answers a library with status.
func (h *handler) writeLibrary(w http.ResponseWriter, r *http.Request, status int, l *shelf.Library) {
	owner, err := h.owner(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, status, toLibrary(l, owner))
}
