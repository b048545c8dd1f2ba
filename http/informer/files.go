package informer

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	shelf "github.com/shelfmem/shelf"
	shelfhttp "github.com/shelfmem/shelf/http"
	"github.com/shelfmem/shelf/internal/glob"
	"github.com/shelfmem/shelf/library"
)

// --- F1 upload ---

// libraryUpload attaches an upload session whose parts have all arrived
// (made by the native POST /v1/uploads or MemoryLake's upload route) as a
// file of a library, at path (folders made), replacing the content of a
// file already there with a new version. An upload is used once.
func (h *handler) libraryUpload(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UploadID  string `json:"uploadId"`
		LibraryID string `json:"libraryId"`
		Path      string `json:"path"`
		Progress  string `json:"progress"`
	}
	if err := h.decode(w, r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.UploadID == "" {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "uploadId is required"))
		return
	}
	var lib *shelf.Library
	var err error
	if req.LibraryID == "" {
		lib, err = h.svc.UploadsLibrary(r.Context())
	} else {
		r.SetPathValue("id", req.LibraryID)
		lib, err = h.library(r)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	path := strings.Trim(req.Path, "/")
	if path == "" {
		path = req.UploadID // no name given: the upload's id names the file
	}
	it, err := h.svc.AttachUpload(r.Context(), req.UploadID, library.FileTarget{LibraryID: lib.ID, Path: path,
		Conflict: library.ConflictOverwrite})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/libraries/"+lib.ID+"/files/"+it.ID)
	shelfhttp.WriteJSON(w, http.StatusCreated, toFile(lib, it))
}

// --- F2, F3 listings ---

// pageLimitHeader tells a client its page was cut to the largest Shelf
// serves (maxFilesPage), with that size as its value.
const pageLimitHeader = "X-Page-Limit"

// sortColumns maps Informer's column ids to the store's sort keys.
var sortColumns = map[string]string{
	"filename": shelf.ListByName, "name": shelf.ListByName, "path": shelf.ListByPath, "size": shelf.ListBySize,
	"modifiedAt": shelf.ListByUpdated, "updatedAt": shelf.ListByUpdated, "createdAt": shelf.ListByCreated,
	"directory": shelf.ListByType,
}

// parseSortQuery reads F2's sort from a query: sort=… (parseSort), or the
// form the qs library gives the array, sort[0][colId]=…&sort[0][sort]=…
// (its first entry counts). Any other sort[…] parameter, or one with no
// colId, is EINVALID: a sort is never ignored.
func parseSortQuery(q url.Values) (string, bool, error) {
	entries := map[int]map[string]string{}
	for k, vs := range q {
		if k == "sort" || !strings.HasPrefix(k, "sort") {
			continue
		}
		var i int
		var field string
		if n, err := fmt.Sscanf(k, "sort[%d][%s", &i, &field); err != nil || n != 2 || i < 0 || i > 100 ||
			!strings.HasSuffix(field, "]") || len(vs) != 1 {
			return "", false, shelf.Errorf(shelf.EINVALID, "unreadable sort parameter %q; use sort[0][colId]=filename&sort[0][sort]=asc", k)
		}
		field = strings.TrimSuffix(field, "]")
		if field != "colId" && field != "sort" {
			return "", false, shelf.Errorf(shelf.EINVALID, "unreadable sort parameter %q: an entry has colId and sort", k)
		}
		if entries[i] == nil {
			entries[i] = map[string]string{}
		}
		entries[i][field] = vs[0]
	}
	if len(entries) == 0 {
		return parseSort(q.Get("sort"))
	}
	if q.Has("sort") {
		return "", false, shelf.Errorf(shelf.EINVALID, "give sort or sort[0][…], not both")
	}
	first, ok := entries[0]
	if !ok || first["colId"] == "" {
		return "", false, shelf.Errorf(shelf.EINVALID, "sort[0][colId] is required")
	}
	b, _ := json.Marshal([]map[string]string{first})
	return parseSort(string(b))
}

// parseSort reads F2's sort: the array form [{"colId":"filename","sort":"asc"}]
// (its first entry; the order within equal values is the name's), or a
// column id with "-" for descending.
func parseSort(v string) (string, bool, error) {
	if v == "" {
		return shelf.ListByName, false, nil
	}
	col, desc := v, false
	if strings.HasPrefix(strings.TrimSpace(v), "[") {
		var keys []struct {
			ColID string `json:"colId"`
			Sort  string `json:"sort"`
		}
		if err := json.Unmarshal([]byte(v), &keys); err != nil || len(keys) == 0 {
			return "", false, shelf.Errorf(shelf.EINVALID, `sort must be an array like [{"colId":"filename","sort":"asc"}]`)
		}
		col = keys[0].ColID
		switch strings.ToLower(keys[0].Sort) {
		case "", "asc":
		case "desc":
			desc = true
		default:
			return "", false, shelf.Errorf(shelf.EINVALID, "sort direction %q is neither asc nor desc", keys[0].Sort)
		}
	} else {
		col, desc = strings.CutPrefix(v, "-")
	}
	key, ok := sortColumns[col]
	if !ok {
		return "", false, shelf.Errorf(shelf.EINVALID, "cannot sort by %q", col)
	}
	return key, desc, nil
}

func (h *handler) listFiles(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start, err := queryInt(r, "start", 0)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	end, err := queryInt(r, "end", start+defaultFilesEnd)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// The docs call end "Pagination limit (max results)": a client may
	// mean an index or a count. Both readings are served where they can be
	// told apart: past start, end is an exclusive end; at or before it, a
	// count from start.
	count := end - start
	if end <= start {
		count = end
	}
	if count > maxFilesPage { // served, capped, and said so
		count = maxFilesPage
		w.Header().Set(pageLimitHeader, strconv.Itoa(maxFilesPage))
	}
	dirOnly, err := queryBool(r, "dirOnly")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	sort, desc, err := parseSortQuery(q)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	lib, err := h.library(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := []fileJSON{}
	if count == 0 {
		shelfhttp.WriteJSON(w, http.StatusOK, out)
		return
	}
	fl := library.FolderList{LibraryID: lib.ID, FolderID: q.Get("parentId"), Dir: q.Get("dir"), NameContains: q.Get("q"),
		Sort: sort, Desc: desc, Offset: start, Limit: count}
	if dirOnly {
		fl.Type = shelf.TypeFolder
	}
	items, _, err := h.svc.ListFolder(r.Context(), fl)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	for _, it := range items {
		f := toFile(lib, it)
		n := 0 // a file has no descendants: 0, on every row
		if it.Type == shelf.TypeFolder {
			if n, err = h.svc.IndexingBelow(r.Context(), it.ID); err != nil {
				h.writeError(w, r, err)
				return
			}
		}
		f.RunningDescendantsCount = &n
		out = append(out, f)
	}
	shelfhttp.WriteJSON(w, http.StatusOK, out)
}

// flatList is F3: every item of the library in path order, paged with
// start and limit, without the per-directory counts.
func (h *handler) flatList(w http.ResponseWriter, r *http.Request) {
	start, err := queryInt(r, "start", 0)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	limit, err := queryInt(r, "limit", defaultFilesEnd)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if limit < 1 || limit > maxFilesPage {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "limit must be between 1 and %d", maxFilesPage))
		return
	}
	lib, err := h.library(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	items, total, err := h.svc.ListFolder(r.Context(), library.FolderList{LibraryID: lib.ID, Recursive: true,
		Offset: start, Limit: limit, Count: true})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := make([]fileJSON, len(items))
	for i, it := range items {
		out[i] = toFile(lib, it)
	}
	// HAL links: self is the route's template; next and prev are the
	// queries that continue, so that walking next from the first page
	// visits every item once.
	base := "/api/libraries/" + lib.ID + "/files-list"
	links := map[string]link{"self": {Href: base + "{?start,limit}", Templated: true}}
	page := func(at int) link { return link{Href: fmt.Sprintf("%s?start=%d&limit=%d", base, at, limit)} }
	if len(out) > 0 && start+len(out) < total {
		links["next"] = page(start + len(out))
	}
	if start > 0 {
		links["prev"] = page(max(start-limit, 0))
	}
	shelfhttp.WriteJSON(w, http.StatusOK, map[string]any{
		"_links":    links,
		"_embedded": map[string]any{"inf:file": out},
		"start":     start, "count": len(out), "total": total,
	})
}

// --- F5–F7 one file ---

func (h *handler) getFile(w http.ResponseWriter, r *http.Request) {
	lib, it, err := h.file(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, toFile(lib, it))
}

func (h *handler) deleteFile(w http.ResponseWriter, r *http.Request) {
	_, it, err := h.file(r)
	if err == nil {
		_, err = h.svc.Delete(r.Context(), it.ID)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// patchOp is one RFC 6902 operation.
type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
	From  string          `json:"from,omitempty"`
}

// settable are the properties a patch may replace (Informer's list).
var settable = []string{"filename", "contentType", "remoteUrl", "modifiedAt", "indexingErroredAt",
	"indexingErrorMessage", "indexingStartedAt", "indexedAt"}

// maxFilePatchOps bounds the operations of one file's patch.
const maxFilePatchOps = 100

// edit is what a set of replace operations asks of one item.
type edit struct {
	props  library.ItemProps
	rename *string
	parent *string
}

// set records one replace of prop with value.
func (e *edit) set(prop string, value json.RawMessage) error {
	if len(value) == 0 {
		return shelf.Errorf(shelf.EINVALID, "a replace of %q needs a value", prop)
	}
	null := string(value) == "null"
	str := func() (string, error) {
		var s string
		if err := json.Unmarshal(value, &s); err != nil {
			return "", shelf.Errorf(shelf.EINVALID, "%s must be a string", prop)
		}
		return s, nil
	}
	tm := func() (*time.Time, error) {
		if null {
			return &time.Time{}, nil
		}
		s, err := str()
		if err != nil {
			return nil, err
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, shelf.Errorf(shelf.EINVALID, "%s must be an ISO 8601 time such as 2024-02-09T12:00:00Z", prop)
		}
		return &t, nil
	}
	var err error
	switch prop {
	case "filename":
		var s string
		if s, err = str(); err == nil {
			e.rename = &s
		}
	case "parentId":
		s := "" // null: the library's root
		if !null {
			s, err = str()
		}
		e.parent = &s
	case "contentType":
		var s string
		if s, err = str(); err == nil {
			e.props.ContentType = &s
		}
	case "remoteUrl":
		s := ""
		if !null {
			s, err = str()
		}
		if e.props.XAttrs == nil {
			e.props.XAttrs = map[string]string{}
		}
		e.props.XAttrs[remoteURLKey] = s
	case "modifiedAt":
		if null {
			return shelf.Errorf(shelf.EINVALID, "modifiedAt cannot be null")
		}
		e.props.ModifiedAt, err = tm()
	case "indexedAt":
		e.props.IndexedAt, err = tm()
	case "indexingStartedAt":
		e.props.IndexingStartedAt, err = tm()
	case "indexingErroredAt":
		e.props.IndexingErroredAt, err = tm()
	case "indexingErrorMessage":
		s := ""
		if !null {
			s, err = str()
		}
		e.props.IndexingError = &s
	case "size", "directory":
		// Informer's docs list them, but they are derived: a file's size
		// is its content's, and a file or a directory stays one.
		return shelf.Errorf(shelf.EINVALID, "%s cannot be patched: it is derived (size from the content, which a PUT of "+
			"…/contents replaces; directory from the item's kind)", prop)
	case "indexed":
		return shelf.Errorf(shelf.EINVALID, "indexed cannot be patched; use PUT …/files/{fileId}/indexed or POST …/files/_bulk-index")
	default:
		return shelf.Errorf(shelf.EINVALID, "property %q cannot be changed; allowed: %s", prop, strings.Join(settable, ", "))
	}
	return err
}

// readOps reads a JSON Patch array of at most limit operations.
func (h *handler) readOps(w http.ResponseWriter, r *http.Request, limit int) ([]patchOp, error) {
	var ops []patchOp
	if err := h.decode(w, r, &ops); err != nil {
		return nil, err
	}
	if len(ops) == 0 || len(ops) > limit {
		return nil, shelf.Errorf(shelf.EINVALID, "a patch holds 1 to %d operations", limit)
	}
	return ops, nil
}

// patchFile is F6: replace operations on one file's properties (filename
// renames, parentId moves, the others as F4 allows), and test operations
// that must hold for any of it to happen.
func (h *handler) patchFile(w http.ResponseWriter, r *http.Request) {
	ops, err := h.readOps(w, r, maxFilePatchOps)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	lib, it, err := h.file(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var e edit
	var tests []patchOp
	for _, op := range ops {
		prop, ok := strings.CutPrefix(op.Path, "/")
		if !ok || prop == "" || strings.Contains(prop, "/") {
			h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "path %q must name one property, like /filename", op.Path))
			return
		}
		switch op.Op {
		case "replace":
			if err := e.set(prop, op.Value); err != nil {
				h.writeError(w, r, err)
				return
			}
		case "test":
			tests = append(tests, op)
		default:
			h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "op %q is not supported here; use replace (or test)", op.Op))
			return
		}
	}
	if e.parent != nil && *e.parent == "" {
		root := lib.RootID
		e.parent = &root
	}
	check := func(cur *shelf.Item) error {
		fields, err := fieldsOf(toFile(lib, cur))
		if err != nil {
			return err
		}
		for _, t := range tests {
			if !jsonEqual(fields[strings.TrimPrefix(t.Path, "/")], t.Value) {
				return shelf.Errorf(shelf.ECONFLICT, "test failed: %s is not %s", t.Path, t.Value)
			}
		}
		return nil
	}
	it, err = h.svc.PatchItem(r.Context(), it.ID, library.ItemUpdate{Name: e.rename, ParentID: e.parent}, e.props, check)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, toFile(lib, it))
}

// fieldsOf is a file object's fields as JSON values.
func fieldsOf(f fileJSON) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	return m, json.Unmarshal(b, &m)
}

// jsonEqual compares two JSON values by meaning (a missing value is null).
func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if len(a) == 0 {
		a = json.RawMessage("null")
	}
	if len(b) == 0 {
		b = json.RawMessage("null")
	}
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// --- F4 bulk patch ---

// bulkPatch is F4: replace operations whose path is a glob over the
// library's paths and a property; the core checks them all, then writes
// them in batches (library.PatchItems).
func (h *handler) bulkPatch(w http.ResponseWriter, r *http.Request) {
	ops, err := h.readOps(w, r, library.MaxPatchOps)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	patches := make([]library.PropPatch, 0, len(ops))
	for _, op := range ops {
		if op.Op != "replace" {
			h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "op %q is not supported; a bulk patch takes replace operations", op.Op))
			return
		}
		pattern, prop, err := glob.SplitProperty(op.Path, append(settable, "indexed"))
		if err != nil {
			h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "%s", err.Error()))
			return
		}
		var e edit
		if err := e.set(prop, op.Value); err != nil {
			h.writeError(w, r, err)
			return
		}
		patches = append(patches, library.PropPatch{Glob: pattern, Props: e.props, Rename: e.rename})
	}
	lib, err := h.library(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	n, err := h.svc.PatchItems(r.Context(), lib.ID, patches)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, map[string]any{"status": "success", "updated": n})
}

// --- F10–F12 indexing ---

func (h *handler) bulkIndex(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Files []string `json:"files"`
		Value *bool    `json:"value"`
	}
	if err := h.decode(w, r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if len(req.Files) == 0 || req.Value == nil {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "files (globs) and value are required"))
		return
	}
	lib, err := h.library(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var n int
	if *req.Value {
		n, err = h.svc.IndexGlobs(r.Context(), lib.ID, req.Files)
	} else {
		n, err = h.svc.ClearGlobs(r.Context(), lib.ID, req.Files)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, map[string]int{"updated": n})
}

func (h *handler) getIndexed(w http.ResponseWriter, r *http.Request) {
	lib, it, err := h.file(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, toIndexed(lib, it))
}

// putIndexed is F11's PUT: true queues the file's indexing (its state is
// queued until a worker finishes it), false clears its index. A file
// whose type holds no text is not queued: the request is recorded
// (indexedAt) and the file reads indexed, with canIndex false saying
// there is nothing in it to search.
func (h *handler) putIndexed(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Indexed *bool `json:"indexed"`
	}
	if err := h.decode(w, r, &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.Indexed == nil {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "indexed is required"))
		return
	}
	lib, it, err := h.file(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if *req.Indexed {
		it, err = h.svc.IndexFile(r.Context(), it.ID)
	} else {
		it, err = h.svc.ClearIndex(r.Context(), it.ID)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, toIndexed(lib, it))
}

func (h *handler) deleteIndexed(w http.ResponseWriter, r *http.Request) {
	_, it, err := h.file(r)
	if err == nil {
		_, err = h.svc.ClearIndex(r.Context(), it.ID)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// retryIndexing is F12: a file whose indexing failed is queued again. On
// a file without an error it changes nothing and answers the file's
// current status ("none" when it has no index state).
func (h *handler) retryIndexing(w http.ResponseWriter, r *http.Request) {
	_, it, err := h.file(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if it.Index.ErroredAt.IsZero() {
		status := it.Index.State
		if status == shelf.IndexNone {
			status = "none"
		}
		shelfhttp.WriteJSON(w, http.StatusOK, map[string]any{"status": status, "indexingStartedAt": timePtr(it.Index.StartedAt)})
		return
	}
	queued := time.Now().UTC()
	if _, err := h.svc.IndexFile(r.Context(), it.ID); err != nil {
		h.writeError(w, r, err)
		return
	}
	shelfhttp.WriteJSON(w, http.StatusOK, map[string]any{"status": "queued", "indexingStartedAt": jsTime(queued)})
}
