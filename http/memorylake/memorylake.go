package memorylake

import (
	"context"
	"net/http"

	shelf "github.com/shelfmem/shelf"
	shelfhttp "github.com/shelfmem/shelf/http"
	"github.com/shelfmem/shelf/library"
)

// Prefix is where the MemoryLake Library API is mounted: a MemoryLake
// client's base URL is the server's address plus /openapi/memorylake.
const Prefix = "/openapi/memorylake/api/v1"

// maxPageSize and defaultPageSize bound List Items' page_size.
const (
	defaultPageSize = 50
	maxPageSize     = 50
)

type handler struct {
	srv *shelfhttp.Server
	svc core
	d   *shelfhttp.Dialect
}

// Register mounts the MemoryLake Library API (endpoints L1–L9 of the
// reference), the v1 projects and documents (P1–P5, D1–D6) and the v3
// family (V1–V6) on srv. Part uploads (L4) go to the native signed part
// route whose URLs Create Upload hands out.
func Register(srv *shelfhttp.Server) {
	h := &handler{srv: srv, svc: srv.Service()}
	h.d = &shelfhttp.Dialect{Name: "memorylake", WriteError: h.writeError}
	read, write := shelf.ScopeRead, shelf.ScopeWrite

	srv.Handle("POST "+Prefix+"/drives/items/upload", write, h.d, h.createUpload)
	srv.Handle("POST "+Prefix+"/drives/items", write, h.d, h.createItem)
	srv.Handle("GET "+Prefix+"/drives/items/{item_id}", read, h.d, h.getItem)
	srv.Handle("GET "+Prefix+"/drives/items/{item_id}/children", read, h.d, h.listChildren)
	srv.Handle("DELETE "+Prefix+"/drives/items/{item_id}", write, h.d, h.deleteItem)
	srv.Handle("GET "+Prefix+"/drives/items/{item_id}/binary", read, h.d, h.download)
	srv.Handle("PUT "+Prefix+"/drives/items/{item_id}/xattrs", write, h.d, h.setXAttrs)
	srv.Handle("DELETE "+Prefix+"/drives/items/{item_id}/xattrs", write, h.d, h.deleteXAttrs)
	h.projectRoutes()
	h.memoryRoutes()
	h.v3Routes()
	h.keyRoutes()

	// Anything else under /openapi/memorylake/ (an unknown path, or a
	// method a path does not take) is a 404 in MemoryLake's envelope
	// rather than net/http's plain text. More specific routes win.
	srv.Handle("/openapi/memorylake/", read, h.d, h.notFound)
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	writeFailure(w, http.StatusNotFound, wireErrors[shelf.ENOTFOUND].Code, "No such endpoint: "+r.Method+" "+r.URL.Path)
}

// resolve turns the id a request names into an item id: MY_SPACE is the
// caller's default library root.
func (h *handler) resolve(ctx context.Context, id string) (string, error) {
	if id != MySpace {
		return id, nil
	}
	l, err := h.svc.DefaultLibrary(ctx)
	if err != nil {
		return "", err
	}
	return l.RootID, nil
}

// createUpload is L3: POST /drives/items/upload {file_size}.
func (h *handler) createUpload(w http.ResponseWriter, r *http.Request) {
	var req struct {
		FileSize *int64 `json:"file_size"`
	}
	if err := shelfhttp.DecodeJSON(w, r, h.srv.MaxJSONBytes(), &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.FileSize == nil {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "file_size is required"))
		return
	}
	u, parts, err := h.srv.CreateUpload(r, *req.FileSize)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeData(w, map[string]any{"upload_id": u.ID, "part_items": parts})
}

// createItemRequest is L5's body, folder and file modes together.
type createItemRequest struct {
	ItemType             *string           `json:"item_type"`
	ParentItemID         *string           `json:"parent_item_id"`
	Name                 *string           `json:"name"`
	NameConflictStrategy string            `json:"name_conflict_strategy"`
	XAttrs               map[string]string `json:"x_attrs"`
	From                 *struct {
		UploadID  string `json:"upload_id"`
		PartETags []struct {
			Number int    `json:"number"`
			ETag   string `json:"etag"`
		} `json:"part_etags"`
	} `json:"from"`
}

// createItem is L5: POST /drives/items, a folder or a finalized upload.
func (h *handler) createItem(w http.ResponseWriter, r *http.Request) {
	var req createItemRequest
	// A file of 10,000 parts lists 10,000 ETags: more room than other bodies.
	if err := shelfhttp.DecodeJSON(w, r, 4*h.srv.MaxJSONBytes(), &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	var missing string
	switch {
	case req.ItemType == nil:
		missing = "item_type"
	case req.ParentItemID == nil:
		missing = "parent_item_id"
	case req.Name == nil:
		missing = "name"
	}
	if missing != "" {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "%s is required", missing))
		return
	}
	parent, err := h.resolve(r.Context(), *req.ParentItemID)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	conflict := library.Conflict(req.NameConflictStrategy)
	var it *shelf.Item
	switch *req.ItemType {
	case "folder":
		if req.From != nil {
			h.writeError(w, r, shelf.Errorf(shelf.EINVALID, `from applies to item_type "file" only`))
			return
		}
		it, err = h.svc.CreateFolder(r.Context(), parent, *req.Name, conflict, req.XAttrs)
	case "file":
		switch {
		case req.From == nil:
			err = shelf.Errorf(shelf.EINVALID, `from is required for item_type "file"`)
		case req.From.UploadID == "":
			err = shelf.Errorf(shelf.EINVALID, "from.upload_id is required")
		case len(req.From.PartETags) == 0:
			err = shelf.Errorf(shelf.EINVALID, "from.part_etags must list every uploaded part")
		}
		if err != nil {
			break
		}
		etags := make([]library.PartETag, len(req.From.PartETags))
		for i, p := range req.From.PartETags {
			etags[i] = library.PartETag{Number: p.Number, ETag: p.ETag}
		}
		it, err = h.svc.Finalize(r.Context(), req.From.UploadID, etags, library.FileTarget{
			ParentID: parent, Name: *req.Name, Conflict: conflict, XAttrs: req.XAttrs})
	default:
		err = shelf.Errorf(shelf.EINVALID, `item_type must be "folder" or "file", not %q`, *req.ItemType)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeData(w, map[string]string{"item_id": it.ID, "name": it.Name})
}

// item reads the item a path names, MY_SPACE included.
func (h *handler) item(r *http.Request) (*shelf.Item, error) {
	id, err := h.resolve(r.Context(), r.PathValue("item_id"))
	if err != nil {
		return nil, err
	}
	return h.svc.Item(r.Context(), id)
}

// xattrKeys returns the keys with_xattr_keys selects, or nil for all.
func xattrKeys(r *http.Request) []string {
	return splitList(r.URL.Query()["with_xattr_keys"])
}

// getItem is L1: GET /drives/items/{item_id}.
func (h *handler) getItem(w http.ResponseWriter, r *http.Request) {
	it, err := h.item(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := toItem(it, xattrKeys(r))
	writeData(w, map[string]any{"item": out})
}

// listChildren is L2: GET /drives/items/{item_id}/children.
func (h *handler) listChildren(w http.ResponseWriter, r *http.Request) {
	size, err := shelfhttp.QueryInt(r, "page_size", defaultPageSize)
	if err == nil && (size < 1 || size > maxPageSize) {
		err = shelf.Errorf(shelf.EINVALID, "page_size must be between 1 and %d", maxPageSize)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	id, err := h.resolve(r.Context(), r.PathValue("item_id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	children, next, err := h.svc.Children(r.Context(), id, r.URL.Query().Get("continuation_token"), size)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	keys := xattrKeys(r)
	items := make([]item, len(children))
	for i, c := range children {
		items[i] = toItem(c, keys)
	}
	var token *string // null on the last page
	if next != "" {
		token = &next
	}
	writeData(w, map[string]any{"items": items, "continuation_token": token})
}

// deleteItem is L6: DELETE /drives/items/{item_id}, recursive.
func (h *handler) deleteItem(w http.ResponseWriter, r *http.Request) {
	id, err := h.resolve(r.Context(), r.PathValue("item_id"))
	if err == nil {
		_, err = h.svc.Delete(r.Context(), id)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeOK(w)
}

// download is L7: GET /drives/items/{item_id}/binary. Shelf streams the
// bytes (the docs' 200 form) rather than redirecting.
func (h *handler) download(w http.ResponseWriter, r *http.Request) {
	id, err := h.resolve(r.Context(), r.PathValue("item_id"))
	var it *shelf.Item
	var v *shelf.Version
	if err == nil {
		it, v, err = h.svc.Content(r.Context(), id, 0)
	}
	switch shelf.ErrorCode(err) {
	case "":
		if err := h.srv.ServeVersion(w, r, it.Name, v); err != nil {
			h.writeError(w, r, err) // never ENOTFOUND: the item was found
		}
	case shelf.ENOTFOUND:
		w.WriteHeader(http.StatusNotFound) // the docs' 404 has no body
	case shelf.ENOTIMPL:
		writeFailure(w, http.StatusBadRequest, "DOWNLOAD_NOT_SUPPORTED", msgNoDownload)
	default:
		h.writeError(w, r, err)
	}
}

// setXAttrs is L8: PUT /drives/items/{item_id}/xattrs {x_attrs}, a merge.
func (h *handler) setXAttrs(w http.ResponseWriter, r *http.Request) {
	var req struct {
		XAttrs map[string]string `json:"x_attrs"`
	}
	if err := shelfhttp.DecodeJSON(w, r, h.srv.MaxJSONBytes(), &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.XAttrs == nil {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "x_attrs is required (an empty object is allowed)"))
		return
	}
	id, err := h.resolve(r.Context(), r.PathValue("item_id"))
	if err == nil {
		_, err = h.svc.SetXAttrs(r.Context(), id, req.XAttrs)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeOK(w)
}

// deleteXAttrs is L9: DELETE /drives/items/{item_id}/xattrs?key=a,b.
func (h *handler) deleteXAttrs(w http.ResponseWriter, r *http.Request) {
	keys := splitList(r.URL.Query()["key"])
	if len(keys) == 0 {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "query parameter key is required (comma-separated x_attrs keys)"))
		return
	}
	id, err := h.resolve(r.Context(), r.PathValue("item_id"))
	if err == nil {
		_, err = h.svc.DeleteXAttrs(r.Context(), id, keys)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeOK(w)
}
