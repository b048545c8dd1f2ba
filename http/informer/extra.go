package informer

import (
	"net/http"
	"strconv"

	shelf "github.com/shelfmem/shelf"
	shelfhttp "github.com/shelfmem/shelf/http"
	"github.com/shelfmem/shelf/library"
)

// extraRoutes mounts the routes beyond the file management page: the
// Storage API (S1–S2), assistant access (A1), shares (H1–H2), and the
// cloud-drive routes (I1–I3), which answer 501.
func (h *handler) extraRoutes(read, write shelf.Scope) {
	const lib = "/api/libraries/{id}"
	for _, rt := range []struct {
		pattern string
		scope   shelf.Scope
		fn      http.HandlerFunc
	}{
		{"POST /api/files", write, h.storeFile},
		{"GET /api/files", read, h.searchStoredFiles},
		{"GET /api/files/{fileId}", read, h.getStoredFile},
		{"GET /api/files/{fileId}/download", read, h.downloadStoredFile},
		{"GET " + lib + "/assistant-access", read, h.getAssistantAccess},
		{"PUT " + lib + "/assistant-access", write, h.putAssistantAccess},
		{"DELETE " + lib + "/assistant-access", write, h.deleteAssistantAccess},
		{"GET " + lib + "/shares", shelf.ScopeAdmin, h.listShares},
		{"GET " + lib + "/shares/{principalId}", shelf.ScopeAdmin, h.getShare},
		{"PUT " + lib + "/shares/{principalId}", shelf.ScopeAdmin, h.putShare},
		{"DELETE " + lib + "/shares/{principalId}", shelf.ScopeAdmin, h.deleteShare},
		{"GET " + lib + "/integration", read, h.noCloud},
		{"PUT " + lib + "/integration", write, h.noCloud},
		{"GET " + lib + "/connection", read, h.noCloud},
		{"DELETE " + lib + "/connection", write, h.noCloud},
		{"POST " + lib + "/_sync", write, h.noCloud},
	} {
		h.srv.Handle(rt.pattern, rt.scope, h.d, rt.fn)
	}
}

// --- S1–S2: the Storage API ---

// Files of the Storage API live at the root of the workspace's uploads
// library (the one _library-upload writes to without a libraryId), each
// a file of its own: a name taken gets a free one (name_1.ext).

// storedFile is a Storage API file.
type storedFile struct {
	ID          string          `json:"id"`
	Filename    string          `json:"filename"`
	ContentType string          `json:"contentType"`
	Size        int64           `json:"size"`
	Embedded    *bool           `json:"embedded,omitempty"`
	CreatedAt   jsTime          `json:"createdAt"`
	UpdatedAt   *jsTime         `json:"updatedAt,omitempty"`
	Links       map[string]link `json:"_links"`
}

func toStoredFile(lib *shelf.Library, it *shelf.Item, full bool) storedFile {
	self := "/api/files/" + it.ID
	f := storedFile{ID: it.ID, Filename: it.Name, ContentType: it.ContentType, Size: it.Size, CreatedAt: jsTime(it.CreatedAt),
		Links: map[string]link{"self": {Href: self}, "inf:download": {Href: self + "/download"}}}
	if full {
		embedded := lib.Embedded
		f.Embedded, f.UpdatedAt = &embedded, timePtr(it.UpdatedAt)
	}
	return f
}

// storeFile is S1: POST /api/files, a multipart form's "file" part → 201
// with Location.
func (h *handler) storeFile(w http.ResponseWriter, r *http.Request) {
	fb, err := h.srv.FormFileBody(w, r, "file")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	defer fb.Close()
	name := fb.Name
	if name == "" {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, `the "file" part needs a filename`))
		return
	}
	lib, err := h.svc.UploadsLibrary(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	up, err := h.svc.WriteFile(r.Context(), library.FileWrite{LibraryID: lib.ID, Path: name, Body: fb.Body, Size: fb.Size,
		ContentType: fb.ContentType, Conflict: library.ConflictRename})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/files/"+up.Item.ID)
	shelfhttp.WriteJSON(w, http.StatusCreated, toStoredFile(lib, up.Item, false))
}

// storedItem resolves {fileId}: a file of the uploads library, else 404.
func (h *handler) storedItem(r *http.Request) (*shelf.Library, *shelf.Item, error) {
	lib, err := h.svc.UploadsLibrary(r.Context())
	if err != nil {
		return nil, nil, err
	}
	it, err := h.svc.Item(r.Context(), r.PathValue("fileId"))
	if err == nil && (it.LibraryID != lib.ID || it.Type != shelf.TypeFile) {
		err = shelf.Errorf(shelf.ENOTFOUND, "file %q not found", r.PathValue("fileId"))
	}
	return lib, it, err
}

func (h *handler) getStoredFile(w http.ResponseWriter, r *http.Request) {
	lib, it, err := h.storedItem(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, toStoredFile(lib, it, true))
}

// downloadStoredFile is GET /api/files/{id}/download: the bytes as an
// attachment.
func (h *handler) downloadStoredFile(w http.ResponseWriter, r *http.Request) {
	_, it, err := h.storedItem(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	it, v, err := h.svc.Content(r.Context(), it.ID, 0)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.srv.ServeVersion(w, r, it.Name, v); err != nil {
		h.writeError(w, r, err)
	}
}

// searchStoredFiles is GET /api/files?q&start&limit: Storage API files
// whose name holds q (any case), by name, as HAL.
func (h *handler) searchStoredFiles(w http.ResponseWriter, r *http.Request) {
	start, err := queryInt(r, "start", 0)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	limit, err := queryInt(r, "limit", defaultLibraryLimit)
	if err == nil && (limit < 1 || limit > maxFilesPage) {
		err = shelf.Errorf(shelf.EINVALID, "limit must be between 1 and %d", maxFilesPage)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	lib, err := h.svc.UploadsLibrary(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	items, total, err := h.svc.ListFolder(r.Context(), library.FolderList{LibraryID: lib.ID, NameContains: r.URL.Query().Get("q"),
		Type: shelf.TypeFile, Offset: start, Limit: limit, Count: true})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := make([]storedFile, len(items))
	for i, it := range items {
		out[i] = toStoredFile(lib, it, true)
	}
	shelfhttp.WriteJSON(w, http.StatusOK, map[string]any{
		"_links":    map[string]link{"self": {Href: "/api/files{?q,start,limit}", Templated: true}},
		"_embedded": map[string]any{"inf:file": out},
		"start":     start, "count": len(out), "total": total,
	})
}

// --- A1: assistant access ---

func (h *handler) getAssistantAccess(w http.ResponseWriter, r *http.Request) {
	l, err := h.library(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, map[string]bool{"enabled": library.AssistantAccess(l)})
}

func (h *handler) putAssistantAccess(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Enabled *bool `json:"enabled"`
	}
	if err := h.decode(w, r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.Enabled == nil {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "enabled is required"))
		return
	}
	l, err := h.setAssistantAccess(r, *req.Enabled)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, map[string]bool{"enabled": library.AssistantAccess(l)})
}

func (h *handler) deleteAssistantAccess(w http.ResponseWriter, r *http.Request) {
	if _, err := h.setAssistantAccess(r, false); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) setAssistantAccess(r *http.Request, on bool) (*shelf.Library, error) {
	l, err := h.library(r)
	if err != nil {
		return nil, err
	}
	return h.svc.UpdateLibrary(r.Context(), shelf.KindLibrary, l.ID, library.Update{AssistantAccess: &on})
}

// --- H1–H2: shares ---

// Shelf has no per-library grants: a key of the workspace reaches every
// library of it with its scope. So a library's shares are the workspace's
// keys, each at the access level its scope gives (1 read, 2 write, for
// write and admin keys), and a share can only be set to what it is.

// Access levels of a share.
const (
	accessRead  = 1
	accessWrite = 2
)

// share is a share of a library with a principal (a key).
type share struct {
	PrincipalID   string `json:"principalId"`
	PrincipalName string `json:"principalName"`
	LibraryID     string `json:"libraryId"`
	AccessLevel   int    `json:"accessLevel"`
}

func toShare(lib *shelf.Library, k *shelf.Key) share {
	level := accessRead
	for _, sc := range k.Scopes {
		if sc.Rank() >= shelf.ScopeWrite.Rank() {
			level = accessWrite
		}
	}
	return share{PrincipalID: k.ID, PrincipalName: k.Name, LibraryID: lib.ID, AccessLevel: level}
}

// listShares is H1: every key of the workspace, as HAL, paged by start and
// limit.
func (h *handler) listShares(w http.ResponseWriter, r *http.Request) {
	lib, err := h.library(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	page, err := h.svc.ListKeys(r.Context(), "", "", r.URL.Query().Get("cursor"), library.MaxKeyPage)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := make([]share, len(page.Keys))
	for i, k := range page.Keys {
		out[i] = toShare(lib, k)
	}
	links := map[string]link{"self": {Href: "/api/libraries/" + lib.ID + "/shares"}}
	if page.Next != "" {
		links["next"] = link{Href: "/api/libraries/" + lib.ID + "/shares?cursor=" + page.Next}
	}
	shelfhttp.WriteJSON(w, http.StatusOK, map[string]any{
		"_links":    links,
		"_embedded": map[string]any{"inf:share": out},
		"start":     0, "count": len(out), "total": page.Total,
	})
}

// shareOf resolves {principalId}: a key of the workspace, else 404.
func (h *handler) shareOf(r *http.Request) (share, error) {
	lib, err := h.library(r)
	if err != nil {
		return share{}, err
	}
	k, err := h.svc.Key(r.Context(), "", r.PathValue("principalId"))
	if err != nil {
		return share{}, err
	}
	return toShare(lib, k), nil
}

func (h *handler) getShare(w http.ResponseWriter, r *http.Request) {
	sh, err := h.shareOf(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, sh)
}

// putShare is H2's PUT: the share's level as it is answers 200; another
// is 501, since a level would be a per-library grant Shelf does not keep.
func (h *handler) putShare(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AccessLevel *int `json:"accessLevel"`
	}
	if err := h.decode(w, r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.AccessLevel == nil || *req.AccessLevel < 0 || *req.AccessLevel > accessWrite {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "accessLevel must be 0 (none), 1 (read) or 2 (write)"))
		return
	}
	sh, err := h.shareOf(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if *req.AccessLevel != sh.AccessLevel {
		h.writeNotImplemented(w, "a key's access to a library is its scope, workspace-wide (level "+
			strconv.Itoa(sh.AccessLevel)+" here); Shelf keeps no per-library shares: change the key's scope, or revoke it")
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, sh)
}

// deleteShare is H2's DELETE: 501, for the same reason.
func (h *handler) deleteShare(w http.ResponseWriter, r *http.Request) {
	if _, err := h.shareOf(r); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeNotImplemented(w, "a key reaches every library of its workspace; Shelf keeps no per-library shares: revoke the key instead")
}

// --- I1–I3: cloud drives ---

// noCloud answers the integration, connection and sync routes: Shelf's
// libraries are local, and connect to no cloud drive.
func (h *handler) noCloud(w http.ResponseWriter, r *http.Request) {
	if _, err := h.library(r); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeNotImplemented(w, "cloud drives are not connected: Shelf's libraries are local (type \"local\"), with no integration, connection or sync")
}

func (h *handler) writeNotImplemented(w http.ResponseWriter, msg string) {
	shelfhttp.WriteJSON(w, http.StatusNotImplemented, errorBody{StatusCode: http.StatusNotImplemented,
		Error: http.StatusText(http.StatusNotImplemented), Message: msg})
}
