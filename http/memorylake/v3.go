package memorylake

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	shelf "github.com/shelfmem/shelf"
	shelfhttp "github.com/shelfmem/shelf/http"
	"github.com/shelfmem/shelf/library"
)

// PrefixV3 is where MemoryLake's v3 family (workspaces, projects,
// documents, search) is mounted.
const PrefixV3 = "/openapi/memorylake/api/v3"

// v3 limits and defaults.
const (
	defaultV3PageSize = 20
	defaultV3TopK     = 10
	// maxImportDetails caps the details an import lists; past it,
	// details_truncated is true (the counts still count every file).
	maxImportDetails = 1000
	// chunksPerDocument is how many chunks a search fetches per document
	// asked for, so that top_k documents can be kept after grouping.
	chunksPerDocument = 4
)

// Id prefixes of the v3 wire. A v3 workspace is a project group, a
// library whose id is a UUID: its wire id is "ws-" and the UUID's 32 hex
// digits.
const (
	workspacePrefix = "ws-"
	projectPrefix   = "proj-"
	documentPrefix  = "doc-"
)

// v3Routes mounts the v3 family (V1–V6 of the reference) and two
// extras: GET and DELETE of one workspace.
func (h *handler) v3Routes() {
	read, write := shelf.ScopeRead, shelf.ScopeWrite
	const ws = PrefixV3 + "/workspaces"
	const proj = ws + "/{ws}/projects/{projectId}"
	const docs = proj + "/memories/documents"
	h.srv.Handle("POST "+ws, write, h.d, h.createWorkspace)
	h.srv.Handle("GET "+ws, read, h.d, h.listWorkspaces)
	h.srv.Handle("GET "+ws+"/{ws}", read, h.d, h.getWorkspace)
	h.srv.Handle("DELETE "+ws+"/{ws}", write, h.d, h.deleteWorkspace)
	h.srv.Handle("POST "+ws+"/{ws}/projects", write, h.d, h.createV3Project)
	h.srv.Handle("GET "+ws+"/{ws}/projects", read, h.d, h.listV3Projects)
	h.srv.Handle("GET "+proj, read, h.d, h.getV3Project)
	h.srv.Handle("PATCH "+proj, write, h.d, h.updateV3Project)
	h.srv.Handle("DELETE "+proj, write, h.d, h.deleteV3Project)
	h.srv.Handle("POST "+docs, write, h.d, h.importDocuments)
	h.srv.Handle("GET "+docs, read, h.d, h.listV3Documents)
	h.srv.Handle("DELETE "+docs, write, h.d, h.deleteV3Documents)
	h.srv.Handle("GET "+docs+"/{documentId}", read, h.d, h.getV3Document)
	h.srv.Handle("GET "+docs+"/{documentId}/download", read, h.d, h.downloadV3Document)
	h.srv.Handle("POST "+ws+"/{ws}/memories/search", read, h.d, h.searchV3)
}

// workspaceID shows a project group's id as a v3 workspace id.
func workspaceID(groupID string) string {
	return workspacePrefix + strings.ReplaceAll(groupID, "-", "")
}

// groupIDOf reads a v3 workspace id back into its group's id (a UUID);
// ok is false when wire is not the shape workspaceID makes.
func groupIDOf(wire string) (id string, ok bool) {
	h, ok := strings.CutPrefix(wire, workspacePrefix)
	if !ok || !isWireHex(h) {
		return "", false
	}
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], true
}

// isWireHex reports whether s is 32 lowercase hex digits, the tail of
// every v3 id.
func isWireHex(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// A v3 continuation token is "v3." and the unpadded base64url of
// "<unix nanoseconds>.<wire id>" of the last item of the page before:
// the lists are ordered by (created_at, id), and the next page starts
// after that key. The id's prefix names the list, so a token of another
// list is refused.
const (
	tokenPrefix = "v3."
	maxToken    = 128
)

// cursor is the key a page continues after.
type cursor struct {
	At time.Time
	ID string // a wire id: ws-…, proj-… or doc-…
}

func encodeToken(c cursor) string {
	return tokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.At.UnixNano(), 10)+"."+c.ID))
}

// decodeToken reads a token of the list whose ids start with idPrefix;
// "" is the first page (a zero cursor). Anything the server did not make
// is EINVALID.
func decodeToken(token, idPrefix string) (cursor, error) {
	if token == "" {
		return cursor{}, nil
	}
	bad := shelf.Errorf(shelf.EINVALID, "invalid continuation_token")
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok || len(token) > maxToken {
		return cursor{}, bad
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	if err != nil {
		return cursor{}, bad
	}
	ns, id, ok := strings.Cut(string(b), ".")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || n <= 0 || ns != strconv.FormatInt(n, 10) {
		return cursor{}, bad
	}
	if tail, ok := strings.CutPrefix(id, idPrefix); !ok || !isWireHex(tail) {
		return cursor{}, bad
	}
	return cursor{At: time.Unix(0, n).UTC(), ID: id}, nil
}

// v3Page reads a v3 list's query: page_size (1 to library.MaxProjectPage,
// default 20), continuation_token (of ids starting with idPrefix) and
// name_fuzzy.
type v3Page struct {
	size  int
	after cursor
	name  string
}

func readV3Page(r *http.Request, idPrefix string) (v3Page, error) {
	size, err := shelfhttp.QueryInt(r, "page_size", defaultV3PageSize)
	if err != nil {
		return v3Page{}, err
	}
	if size < 1 || size > library.MaxProjectPage {
		return v3Page{}, shelf.Errorf(shelf.EINVALID, "page_size must be between 1 and %d", library.MaxProjectPage)
	}
	q := r.URL.Query()
	after, err := decodeToken(q.Get("continuation_token"), idPrefix)
	if err != nil {
		return v3Page{}, err
	}
	return v3Page{size: size, after: after, name: q.Get("name_fuzzy")}, nil
}

// keysetPage lists a page of size items after pg.after with list, and
// the token of the page after it: when the page is full, it asks for one
// more item, so that the token is null exactly on the last page.
func keysetPage[T any](pg v3Page, list func(after cursor, limit int) ([]T, error), key func(T) cursor) ([]T, *string, error) {
	items, err := list(pg.after, pg.size)
	if err != nil {
		return nil, nil, err
	}
	if items == nil {
		items = []T{}
	}
	if len(items) < pg.size {
		return items, nil, nil
	}
	last := key(items[len(items)-1])
	more, err := list(last, 1)
	if err != nil || len(more) == 0 {
		return items, nil, err
	}
	tok := encodeToken(last)
	return items, &tok, nil
}

// v3List is the envelope of the v3 lists.
type v3List[T any] struct {
	Items             []T     `json:"items"`
	ContinuationToken *string `json:"continuation_token"` // null on the last page
}

// byCustomID reads ?by_custom_id: "true" makes the {ws} and {projectId}
// path segments custom ids.
func byCustomID(r *http.Request) (bool, error) {
	switch v := r.URL.Query().Get("by_custom_id"); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, shelf.Errorf(shelf.EINVALID, "by_custom_id must be true or false, not %q", v)
	}
}

// group returns the v3 workspace (project group) the path's {ws} names.
func (h *handler) group(r *http.Request) (*shelf.Library, error) {
	byCustom, err := byCustomID(r)
	if err != nil {
		return nil, err
	}
	ref := r.PathValue("ws")
	id := ref
	if !byCustom {
		var ok bool
		if id, ok = groupIDOf(ref); !ok {
			return nil, shelf.Errorf(shelf.ENOTFOUND, "workspace %q not found", ref)
		}
	}
	g, err := h.svc.GetProjectGroup(r.Context(), id, byCustom)
	if shelf.ErrorCode(err) == shelf.ENOTFOUND {
		return nil, shelf.Errorf(shelf.ENOTFOUND, "workspace %q not found", ref)
	}
	return g, err
}

// v3Project returns the project the path's {ws} and {projectId} name.
func (h *handler) v3Project(r *http.Request) (*shelf.Project, error) {
	g, err := h.group(r)
	if err != nil {
		return nil, err
	}
	byCustom, _ := byCustomID(r) // group checked it
	return h.svc.GroupProject(r.Context(), g.ID, r.PathValue("projectId"), byCustom)
}

// workspace is a v3 workspace. metadata is always an object.
type workspace struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Metadata    json.RawMessage `json:"metadata"`
	CustomID    *string         `json:"custom_id"`
	CreatedAt   string          `json:"created_at"`
	UpdatedAt   string          `json:"updated_at"`
}

func toWorkspace(g *shelf.Library) workspace {
	return workspace{ID: workspaceID(g.ID), Name: g.Name, Description: g.Description, Metadata: object(g.Metadata),
		CustomID: nullable(library.GroupCustomID(g)), CreatedAt: timestamp(g.CreatedAt), UpdatedAt: timestamp(g.UpdatedAt)}
}

// object shows a stored JSON object, {} for none.
func object(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("{}")
	}
	return raw
}

// nullable is s, or nil (JSON null) for "".
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// workspaceSpec is the body of Create Workspace and Create Project.
type workspaceSpec struct {
	Name        *string         `json:"name"`
	CustomID    *string         `json:"custom_id"`
	Description string          `json:"description"`
	Metadata    json.RawMessage `json:"metadata"`
}

// read decodes the body and checks the required fields.
func (s *workspaceSpec) read(h *handler, w http.ResponseWriter, r *http.Request) error {
	if err := shelfhttp.DecodeJSON(w, r, h.srv.MaxJSONBytes(), s); err != nil {
		return err
	}
	switch {
	case s.Name == nil:
		return shelf.Errorf(shelf.EINVALID, "name is required")
	case s.CustomID == nil || *s.CustomID == "":
		return shelf.Errorf(shelf.EINVALID, "custom_id is required")
	}
	return nil
}

// createWorkspace is V1: POST /workspaces {name, custom_id, description?,
// metadata?}. A custom_id taken in the Shelf workspace is 409.
func (h *handler) createWorkspace(w http.ResponseWriter, r *http.Request) {
	var req workspaceSpec
	if err := req.read(h, w, r); err != nil {
		h.writeError(w, r, err)
		return
	}
	g, err := h.svc.CreateProjectGroup(r.Context(), library.GroupSpec{Name: *req.Name, Description: req.Description,
		CustomID: *req.CustomID, Metadata: req.Metadata})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeData(w, toWorkspace(g))
}

// listWorkspaces is V1: GET /workspaces?page_size&continuation_token&name_fuzzy.
func (h *handler) listWorkspaces(w http.ResponseWriter, r *http.Request) {
	pg, err := readV3Page(r, workspacePrefix)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	gs, next, err := keysetPage(pg, func(after cursor, limit int) ([]*shelf.Library, error) {
		q := library.GroupList{NameContains: pg.name, Limit: limit}
		if after.ID != "" {
			q.AfterTime = after.At
			q.AfterID, _ = groupIDOf(after.ID) // decodeToken checked its shape
		}
		return h.svc.ListProjectGroups(r.Context(), q)
	}, func(g *shelf.Library) cursor { return cursor{g.CreatedAt, workspaceID(g.ID)} })
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	items := mapped(gs, toWorkspace)
	writeData(w, v3List[workspace]{Items: items, ContinuationToken: next})
}

// getWorkspace is GET /workspaces/{ws}, a Shelf extra (the way to look a
// workspace up by custom id).
func (h *handler) getWorkspace(w http.ResponseWriter, r *http.Request) {
	g, err := h.group(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeData(w, toWorkspace(g))
}

// deleteWorkspace is DELETE /workspaces/{ws}, a Shelf extra: the
// workspace goes with its projects, their documents and memories; the
// Library files stay.
func (h *handler) deleteWorkspace(w http.ResponseWriter, r *http.Request) {
	g, err := h.group(r)
	if err == nil {
		err = h.svc.DeleteProjectGroup(r.Context(), g.ID)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeData(w, struct{}{})
}

// v3ProjectView is a v3 project; metadata is Shelf's addition (the docs
// take it on create and do not show it).
type v3ProjectView struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	CustomID    *string         `json:"custom_id"`
	Metadata    json.RawMessage `json:"metadata"`
	CreatedAt   string          `json:"created_at"`
	UpdatedAt   string          `json:"updated_at"`
}

func toV3Project(p *shelf.Project) v3ProjectView {
	return v3ProjectView{ID: p.ID, Name: p.Name, Description: p.Description, CustomID: nullable(p.CustomID),
		Metadata: object(p.Metadata), CreatedAt: timestamp(p.CreatedAt), UpdatedAt: timestamp(p.UpdatedAt)}
}

// createV3Project is V2: POST /workspaces/{ws}/projects {name, custom_id,
// description?, metadata?}. A custom_id taken in the workspace is 409.
func (h *handler) createV3Project(w http.ResponseWriter, r *http.Request) {
	var req workspaceSpec
	if err := req.read(h, w, r); err != nil {
		h.writeError(w, r, err)
		return
	}
	g, err := h.group(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.svc.CreateProject(r.Context(), library.ProjectSpec{Name: *req.Name, Description: req.Description,
		GroupID: g.ID, CustomID: *req.CustomID, Metadata: req.Metadata})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeData(w, toV3Project(p))
}

// listV3Projects is V2: GET /workspaces/{ws}/projects?page_size&continuation_token&name_fuzzy.
func (h *handler) listV3Projects(w http.ResponseWriter, r *http.Request) {
	pg, err := readV3Page(r, projectPrefix)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	g, err := h.group(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ps, next, err := keysetPage(pg, func(after cursor, limit int) ([]*shelf.Project, error) {
		ps, _, err := h.svc.ListProjects(r.Context(), shelf.ProjectQuery{GroupID: g.ID, NameContains: pg.name,
			AfterTime: after.At, AfterID: after.ID, Limit: limit})
		return ps, err
	}, func(p *shelf.Project) cursor { return cursor{p.CreatedAt, p.ID} })
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	items := mapped(ps, toV3Project)
	writeData(w, v3List[v3ProjectView]{Items: items, ContinuationToken: next})
}

// getV3Project is V3: GET /workspaces/{ws}/projects/{projectId}.
func (h *handler) getV3Project(w http.ResponseWriter, r *http.Request) {
	p, err := h.v3Project(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeData(w, toV3Project(p))
}

// updateV3Project is V3: PATCH /workspaces/{ws}/projects/{projectId}
// {name?, description?}, a partial update.
func (h *handler) updateV3Project(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
	}
	if err := shelfhttp.DecodeJSON(w, r, h.srv.MaxJSONBytes(), &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.v3Project(r)
	if err == nil {
		p, err = h.svc.UpdateProject(r.Context(), p.ID, library.ProjectUpdate{Name: req.Name, Description: req.Description})
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeData(w, toV3Project(p))
}

// deleteV3Project is V3: DELETE /workspaces/{ws}/projects/{projectId};
// its documents and memories go, the Library files stay.
func (h *handler) deleteV3Project(w http.ResponseWriter, r *http.Request) {
	p, err := h.v3Project(r)
	if err == nil {
		err = h.svc.DeleteProject(r.Context(), p.ID)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeData(w, struct{}{})
}

// importDetail is what became of one file of an import. reason is
// Shelf's addition, on failures.
type importDetail struct {
	Result      string `json:"result"` // success, failed or duplicate
	DriveItemID string `json:"drive_item_id"`
	DocumentID  string `json:"document_id,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// importResult names a core import result in v3's words: a new document
// and a refreshed one are both a success.
func importResult(r string) string {
	switch r {
	case library.ImportAdded, library.ImportRefreshed:
		return "success"
	case library.ImportDuplicate:
		return "duplicate"
	}
	return "failed"
}

// importDocuments is V4: POST …/projects/{projectId}/memories/documents
// {drive_item_ids}.
func (h *handler) importDocuments(w http.ResponseWriter, r *http.Request) {
	var req struct {
		DriveItemIDs []string `json:"drive_item_ids"`
	}
	if err := shelfhttp.DecodeJSON(w, r, h.srv.MaxJSONBytes(), &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	switch {
	case len(req.DriveItemIDs) == 0:
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "drive_item_ids is required and must not be empty"))
		return
	case len(req.DriveItemIDs) > library.MaxDocumentIDs:
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "drive_item_ids holds more than %d ids", library.MaxDocumentIDs))
		return
	}
	p, err := h.v3Project(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ids := make([]string, len(req.DriveItemIDs))
	for i, id := range req.DriveItemIDs {
		if id == RootAlias {
			id = MySpace
		}
		if ids[i], err = h.resolve(r.Context(), id); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	res, err := h.svc.AddDocuments(r.Context(), p.ID, ids)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	details := make([]importDetail, 0, min(len(res.Results), maxImportDetails))
	for _, d := range res.Results[:min(len(res.Results), maxImportDetails)] {
		details = append(details, importDetail{Result: importResult(d.Result), DriveItemID: d.SourceID,
			DocumentID: d.DocumentID, Reason: d.Reason})
	}
	writeData(w, map[string]any{"success_count": res.Added + res.Refreshed, "failure_count": res.Failed,
		"duplicate_count": res.Duplicates, "details": details, "details_truncated": len(res.Results) > maxImportDetails})
}

// v3Document is a v3 document. drive_item_id is Shelf's addition (v1
// shows it): the Library file it was imported from.
type v3Document struct {
	ID           string         `json:"id"`
	Name         string         `json:"name"`
	Status       string         `json:"status"`
	Error        *documentError `json:"error"` // null unless status is "error"
	Usage        documentUsage  `json:"usage"`
	DocumentType string         `json:"document_type"`
	DriveItemID  string         `json:"drive_item_id"`
	CreatedAt    string         `json:"created_at"`
}

// documentError says why a document is in status "error".
type documentError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// documentUsage counts the tokens processing a document took: Shelf
// counts none, so it is 0.
type documentUsage struct {
	FilesProcessTokens int64 `json:"files_process_tokens"`
}

// A v3 document's error codes: indexing failed for good, or the
// document's index was cleared and nothing will index it again.
const (
	codeIndexFailed = "INDEX_FAILED"
	codeNotIndexed  = "NOT_INDEXED"
	msgNotIndexed   = "the document is not indexed; import its file again to index it"
	msgIndexFailed  = "indexing the document failed"
)

func toV3Document(d *shelf.ProjectDocument) v3Document {
	out := v3Document{ID: d.ID, Name: d.Item.Name, Status: library.DocumentStatus(d.Item.Index.State),
		DocumentType: "drive_file", DriveItemID: d.SourceID, CreatedAt: timestamp(d.CreatedAt)}
	if out.Status == library.DocumentError {
		out.Error = &documentError{Code: codeNotIndexed, Message: msgNotIndexed}
		if d.Item.Index.State == shelf.IndexFailed {
			out.Error = &documentError{Code: codeIndexFailed, Message: msgIndexFailed}
			if d.Item.Index.Error != "" {
				out.Error.Message = d.Item.Index.Error
			}
		}
	}
	return out
}

// listV3Documents is V4: GET …/memories/documents?page_size&continuation_token&name_fuzzy.
func (h *handler) listV3Documents(w http.ResponseWriter, r *http.Request) {
	pg, err := readV3Page(r, documentPrefix)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.v3Project(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ds, next, err := keysetPage(pg, func(after cursor, limit int) ([]*shelf.ProjectDocument, error) {
		ds, _, err := h.svc.ListDocuments(r.Context(), p.ID, shelf.DocumentQuery{NameContains: pg.name,
			AfterTime: after.At, AfterID: after.ID, Limit: limit})
		return ds, err
	}, func(d *shelf.ProjectDocument) cursor { return cursor{d.CreatedAt, d.ID} })
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	items := mapped(ds, toV3Document)
	writeData(w, v3List[v3Document]{Items: items, ContinuationToken: next})
}

// getV3Document is V5: GET …/memories/documents/{documentId}.
func (h *handler) getV3Document(w http.ResponseWriter, r *http.Request) {
	d, err := h.v3Document(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeData(w, toV3Document(d))
}

func (h *handler) v3Document(r *http.Request) (*shelf.ProjectDocument, error) {
	p, err := h.v3Project(r)
	if err != nil {
		return nil, err
	}
	return h.svc.GetDocument(r.Context(), p.ID, r.PathValue("documentId"))
}

// downloadV3Document is V5: GET …/memories/documents/{documentId}/download,
// the document's copy streamed (200), as v1's download.
func (h *handler) downloadV3Document(w http.ResponseWriter, r *http.Request) {
	d, err := h.v3Document(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	it, v, err := h.svc.Content(r.Context(), d.ItemID, 0)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if err := h.srv.ServeVersion(w, r, it.Name, v); err != nil {
		h.writeError(w, r, err)
	}
}

// deleteV3Documents is V4: DELETE …/memories/documents {ids}. Ids that
// name no document of the project are ignored.
func (h *handler) deleteV3Documents(w http.ResponseWriter, r *http.Request) {
	var req struct {
		IDs []string `json:"ids"`
	}
	if err := shelfhttp.DecodeJSON(w, r, h.srv.MaxJSONBytes(), &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	switch {
	case len(req.IDs) == 0:
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "ids is required and must not be empty"))
		return
	case len(req.IDs) > library.MaxDocumentIDs:
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "ids holds more than %d ids", library.MaxDocumentIDs))
		return
	}
	p, err := h.v3Project(r)
	if err == nil {
		_, err = h.svc.RemoveDocuments(r.Context(), p.ID, req.IDs)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeData(w, struct{}{})
}

// Memory types a v3 search asks for.
const (
	typeDocument = "document"
	typeFact     = "fact"
)

// v3SearchRequest is V6's body.
type v3SearchRequest struct {
	Query       *string  `json:"query"`
	ProjectIDs  []string `json:"project_ids"`
	ActorIDs    []string `json:"actor_ids"`
	AgentIDs    []string `json:"agent_ids"`
	MemoryTypes []string `json:"memory_types"`
	TopK        *int     `json:"top_k"`
}

// v3DocumentResult is one document a search found, with the chunks of
// it that answer the query, best first. project_id is Shelf's addition.
type v3DocumentResult struct {
	DocumentID      string           `json:"document_id"`
	DocumentName    string           `json:"document_name"`
	FileName        string           `json:"file_name"`
	DocumentSummary *string          `json:"document_summary"` // Shelf writes no summaries: null
	SourceType      string           `json:"source_type"`
	SheetName       *string          `json:"sheet_name"` // Shelf finds no sheets: null
	ProjectID       string           `json:"project_id"`
	Items           []highlightChunk `json:"items"`
}

// v3Fact is a memory a search found: a message kept word for word.
type v3Fact struct {
	ID        string         `json:"id"`
	Fact      string         `json:"fact"`
	Score     float64        `json:"score"`
	Metadata  map[string]any `json:"metadata"`
	CreatedAt string         `json:"created_at"`
	UpdatedAt string         `json:"updated_at"`
}

// toV3Fact shows a memory. Its metadata holds what Shelf knows of it
// (project_id, user_id, role, chat_session_id) and, under "metadata", the
// client's own metadata, so that no key of either hides the other.
func toV3Fact(hit library.MemoryHit) v3Fact {
	m := hit.Memory
	meta := map[string]any{"project_id": m.ProjectID, "role": m.Role}
	if m.UserID != "" {
		meta["user_id"] = m.UserID
	}
	if m.SessionID != "" {
		meta["chat_session_id"] = m.SessionID
	}
	if len(m.Metadata) != 0 {
		meta["metadata"] = m.Metadata
	}
	return v3Fact{ID: m.ID, Fact: m.Content, Score: hit.Score, Metadata: meta,
		CreatedAt: timestamp(m.CreatedAt), UpdatedAt: timestamp(m.UpdatedAt)}
}

// groupByDocument turns chunk hits, best first, into documents in the
// order of their best chunk, each with its chunks in rank order, keeping
// the first topK documents.
func groupByDocument(hits []library.DocumentHit, topK int) []v3DocumentResult {
	out := []v3DocumentResult{}
	at := map[string]int{} // document id → index in out
	for _, hit := range hits {
		i, ok := at[hit.Document.ID]
		if !ok {
			if len(out) == topK {
				continue
			}
			i = len(out)
			at[hit.Document.ID] = i
			out = append(out, v3DocumentResult{DocumentID: hit.Document.ID, DocumentName: hit.Item.Name,
				FileName: hit.Item.Name, SourceType: "drive_file", ProjectID: hit.Document.ProjectID, Items: []highlightChunk{}})
		}
		out[i].Items = append(out[i].Items, highlightChunk{Text: hit.Chunk.Text, Range: chunkRange(hit.Chunk)})
	}
	return out
}

// searchV3 is V6: POST /workspaces/{ws}/memories/search {query,
// project_ids?, actor_ids?, agent_ids?, memory_types?, top_k?}.
func (h *handler) searchV3(w http.ResponseWriter, r *http.Request) {
	var req v3SearchRequest
	if err := shelfhttp.DecodeJSON(w, r, h.srv.MaxJSONBytes(), &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.Query == nil {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "query is required"))
		return
	}
	topK := defaultV3TopK
	if req.TopK != nil {
		topK = *req.TopK
	}
	if topK < 1 || topK > library.MaxTopK {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "top_k must be between 1 and %d", library.MaxTopK))
		return
	}
	docs, facts := len(req.MemoryTypes) == 0, len(req.MemoryTypes) == 0
	for _, t := range req.MemoryTypes {
		switch t {
		case typeDocument:
			docs = true
		case typeFact:
			facts = true
		default:
			h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "memory_types may hold %q and %q, not %q", typeDocument, typeFact, t))
			return
		}
	}
	// An empty list filters nothing, as a list left out.
	q := library.GroupSearch{ProjectIDs: req.ProjectIDs, Query: *req.Query, AgentIDs: req.AgentIDs}
	if len(req.ActorIDs) > 0 {
		q.UserIDs = req.ActorIDs
	}
	if docs {
		q.DocumentTopN = min(chunksPerDocument*topK, library.MaxTopK)
	}
	if facts {
		q.MemoryTopK = topK
	}
	g, err := h.group(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	q.GroupID = g.ID
	found, err := h.svc.SearchGroup(r.Context(), q)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	out := struct {
		Documents []v3DocumentResult `json:"documents"`
		Facts     []v3Fact           `json:"facts"`
	}{Documents: groupByDocument(found.Documents, topK), Facts: make([]v3Fact, len(found.Memories))}
	for i, m := range found.Memories {
		out.Facts[i] = toV3Fact(m)
	}
	writeData(w, out)
}
