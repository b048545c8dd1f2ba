package memorylake

import (
	"net/http"
	"strconv"

	shelf "github.com/shelfmem/shelf"
	shelfhttp "github.com/shelfmem/shelf/http"
	"github.com/shelfmem/shelf/library"
)

// Paging of the v1 lists (projects, documents): page is 1-based.
const (
	defaultListSize = 20
	maxPage         = 1_000_000 // keeps (page-1)*size far from overflowing
	defaultTopN     = 10
)

// Messages the docs give the project routes.
const (
	msgProjectUpdated   = "Project updated successfully"
	msgProjectDeleted   = "Project deleted successfully"
	msgDocumentsRemoved = "Documents removed successfully"
)

// RootAlias is the id v1 Add Documents accepts for "every file the user
// can access": for a MemoryLake client of Shelf that is MY_SPACE.
const RootAlias = "ROOT"

// projectRoutes mounts the v1 projects and documents (P1–P5, D1–D6).
func (h *handler) projectRoutes() {
	read, write := shelf.ScopeRead, shelf.ScopeWrite
	const p = Prefix + "/projects"
	h.srv.Handle("POST "+p, write, h.d, h.createProject)
	h.srv.Handle("GET "+p, read, h.d, h.listProjects)
	h.srv.Handle("GET "+p+"/{id}", read, h.d, h.getProject)
	h.srv.Handle("PUT "+p+"/{id}", write, h.d, h.updateProject)
	h.srv.Handle("DELETE "+p+"/{id}", write, h.d, h.deleteProject)
	h.srv.Handle("POST "+p+"/{id}/documents", write, h.d, h.addDocuments)
	h.srv.Handle("GET "+p+"/{id}/documents", read, h.d, h.listDocuments)
	h.srv.Handle("DELETE "+p+"/{id}/documents", write, h.d, h.removeDocuments)
	h.srv.Handle("GET "+p+"/{id}/documents/{documentId}", read, h.d, h.getDocument)
	h.srv.Handle("GET "+p+"/{id}/documents/{documentId}/download", read, h.d, h.downloadDocument)
	h.srv.Handle("POST "+p+"/{id}/documents/search", read, h.d, h.searchDocuments)
}

// project is a v1 project; Statistics is left out of Create's answer, as
// in the docs.
type project struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	CreatedAt   string      `json:"created_at"`
	UpdatedAt   string      `json:"updated_at"`
	Statistics  *statistics `json:"statistics,omitempty"`
}

// statistics are the usage counters of a project. Shelf counts no tokens
// and no retrievals, so each is 0.
type statistics struct {
	TotalHistoryDocumentRetrieveTokens int64 `json:"total_history_document_retrieve_tokens"`
	TotalHistoryDocumentTokens         int64 `json:"total_history_document_tokens"`
	TotalHistoryMemoryRetrieveTokens   int64 `json:"total_history_memory_retrieve_tokens"`
	TotalHistoryMemoryTokens           int64 `json:"total_history_memory_tokens"`
	TotalDocumentTokens                int64 `json:"total_document_tokens"`
	TotalMemoryTokens                  int64 `json:"total_memory_tokens"`
	DocumentRetrieveCount              int64 `json:"document_retrieve_count"`
	MemoryRetrieveCount                int64 `json:"memory_retrieve_count"`
}

func toProject(p *shelf.Project, withStats bool) project {
	out := project{ID: p.ID, Name: p.Name, Description: p.Description,
		CreatedAt: timestamp(p.CreatedAt), UpdatedAt: timestamp(p.UpdatedAt)}
	if withStats {
		out.Statistics = &statistics{}
	}
	return out
}

// document is a v1 document: its status is its own file's index state,
// drive_item_id the library file it was imported from.
type document struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Status      string `json:"status"`
	DriveItemID string `json:"drive_item_id"`
	CreatedAt   string `json:"created_at"`
}

func toDocument(d *shelf.ProjectDocument) document {
	return document{ID: d.ID, Name: d.Item.Name, Status: library.DocumentStatus(d.Item.Index.State),
		DriveItemID: d.SourceID, CreatedAt: timestamp(d.CreatedAt)}
}

// listPage is the envelope of the v1 lists.
type listPage[T any] struct {
	Items      []T `json:"items"`
	Total      int `json:"total"`
	Page       int `json:"page"`
	Size       int `json:"size"`
	TotalPages int `json:"total_pages"`
}

func newListPage[T any](items []T, total, page, size int) listPage[T] {
	if items == nil {
		items = []T{}
	}
	return listPage[T]{Items: items, Total: total, Page: page, Size: size, TotalPages: (total + size - 1) / size}
}

// pageParams reads page (default 1) and size (default 20, at most 100).
func pageParams(r *http.Request) (page, size int, err error) {
	if page, err = shelfhttp.QueryInt(r, "page", 1); err != nil {
		return 0, 0, err
	}
	if page < 1 || page > maxPage {
		return 0, 0, shelf.Errorf(shelf.EINVALID, "page must be between 1 and %d", maxPage)
	}
	if size, err = shelfhttp.QueryInt(r, "size", defaultListSize); err != nil {
		return 0, 0, err
	}
	if size < 1 || size > library.MaxProjectPage {
		return 0, 0, shelf.Errorf(shelf.EINVALID, "size must be between 1 and %d", library.MaxProjectPage)
	}
	return page, size, nil
}

func writeMessage(w http.ResponseWriter, msg string, data any) {
	shelfhttp.WriteJSON(w, http.StatusOK, success{Success: true, Message: msg, Data: data})
}

// createProject is P1: POST /projects {name, description?}.
func (h *handler) createProject(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name        *string `json:"name"`
		Description string  `json:"description"`
	}
	if err := shelfhttp.DecodeJSON(w, r, h.srv.MaxJSONBytes(), &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.Name == nil {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "name is required"))
		return
	}
	p, err := h.svc.CreateProject(r.Context(), library.ProjectSpec{Name: *req.Name, Description: req.Description})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeMessage(w, okMessage, toProject(p, false))
}

// listProjects is P2: GET /projects?page&size&name_fuzzy.
func (h *handler) listProjects(w http.ResponseWriter, r *http.Request) {
	page, size, err := pageParams(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ps, total, err := h.svc.ListProjects(r.Context(), shelf.ProjectQuery{
		NameContains: r.URL.Query().Get("name_fuzzy"), Offset: (page - 1) * size, Limit: size})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	items := make([]project, len(ps))
	for i, p := range ps {
		items[i] = toProject(p, true)
	}
	writeData(w, newListPage(items, total, page, size))
}

// getProject is P3: GET /projects/{id}.
func (h *handler) getProject(w http.ResponseWriter, r *http.Request) {
	p, err := h.svc.GetProject(r.Context(), r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeData(w, toProject(p, true))
}

// updateProject is P4: PUT /projects/{id} {name?, description?}, a partial
// update.
func (h *handler) updateProject(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
	}
	if err := shelfhttp.DecodeJSON(w, r, h.srv.MaxJSONBytes(), &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	p, err := h.svc.UpdateProject(r.Context(), r.PathValue("id"), library.ProjectUpdate{Name: req.Name, Description: req.Description})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeMessage(w, msgProjectUpdated, toProject(p, true))
}

// deleteProject is P5: DELETE /projects/{id}; its documents go, their
// files stay.
func (h *handler) deleteProject(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteProject(r.Context(), r.PathValue("id")); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeMessage(w, msgProjectDeleted, nil)
}

// addDocuments is D1: POST /projects/{id}/documents {drive_item_ids}.
func (h *handler) addDocuments(w http.ResponseWriter, r *http.Request) {
	var req struct {
		DriveItemIDs []string `json:"drive_item_ids"`
	}
	if err := shelfhttp.DecodeJSON(w, r, h.srv.MaxJSONBytes(), &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if len(req.DriveItemIDs) == 0 {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "drive_item_ids is required and must not be empty"))
		return
	}
	if len(req.DriveItemIDs) > library.MaxDocumentIDs {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "drive_item_ids holds more than %d ids", library.MaxDocumentIDs))
		return
	}
	ids := make([]string, len(req.DriveItemIDs))
	for i, id := range req.DriveItemIDs {
		if id == RootAlias {
			id = MySpace
		}
		var err error
		if ids[i], err = h.resolve(r.Context(), id); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	res, err := h.svc.AddDocuments(r.Context(), r.PathValue("id"), ids)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// v1 counts a file already in the project as a success.
	writeData(w, map[string]int{"success_count": res.Added + res.Refreshed + res.Duplicates, "failure_count": res.Failed})
}

// listDocuments is D2: GET /projects/{id}/documents?page&size.
func (h *handler) listDocuments(w http.ResponseWriter, r *http.Request) {
	page, size, err := pageParams(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ds, total, err := h.svc.ListDocuments(r.Context(), r.PathValue("id"), shelf.DocumentQuery{Offset: (page - 1) * size, Limit: size})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	items := mapped(ds, toDocument)
	writeData(w, newListPage(items, total, page, size))
}

// getDocument is D3: GET /projects/{id}/documents/{documentId}.
func (h *handler) getDocument(w http.ResponseWriter, r *http.Request) {
	d, err := h.svc.GetDocument(r.Context(), r.PathValue("id"), r.PathValue("documentId"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeData(w, toDocument(d))
}

// removeDocuments is D4: DELETE /projects/{id}/documents {ids}. Ids that
// name no document of the project are ignored.
func (h *handler) removeDocuments(w http.ResponseWriter, r *http.Request) {
	var req struct {
		IDs []string `json:"ids"`
	}
	if err := shelfhttp.DecodeJSON(w, r, h.srv.MaxJSONBytes(), &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if len(req.IDs) == 0 {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "ids is required and must not be empty"))
		return
	}
	if _, err := h.svc.RemoveDocuments(r.Context(), r.PathValue("id"), req.IDs); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeMessage(w, msgDocumentsRemoved, nil)
}

// downloadDocument is D5: GET /projects/{id}/documents/{documentId}/download,
// the document's file streamed as L7 streams it. Errors are in the
// envelope (L7's bodiless 404 is particular to L7).
func (h *handler) downloadDocument(w http.ResponseWriter, r *http.Request) {
	d, err := h.svc.GetDocument(r.Context(), r.PathValue("id"), r.PathValue("documentId"))
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

// searchResult is one D6 result. Shelf's chunks are all paragraphs: it
// finds no tables or figures.
type searchResult struct {
	Type             string         `json:"type"`
	DocumentID       string         `json:"document_id"`
	DocumentName     string         `json:"document_name"`
	ParagraphBlockID int            `json:"paragraph_block_id"`
	SourceDocument   sourceDocument `json:"source_document"`
	Highlight        highlight      `json:"highlight"`
}

type sourceDocument struct {
	FileName string `json:"file_name"`
}

type highlight struct {
	Chunks []highlightChunk `json:"chunks"`
}

type highlightChunk struct {
	Text  string `json:"text"`
	Range string `json:"range"`
}

// chunkRange is where a chunk is: "p<page>" when its file has pages (PDF),
// else "c<start>-<end>", its byte offsets in the file's extracted text.
func chunkRange(c shelf.Chunk) string {
	if c.Page > 0 {
		return "p" + strconv.Itoa(c.Page)
	}
	return "c" + strconv.Itoa(c.Start) + "-" + strconv.Itoa(c.End)
}

// toSearchResult shows a chunk hit as D6 does: a paragraph.
func toSearchResult(hit library.DocumentHit) searchResult {
	return searchResult{Type: "paragraph", DocumentID: hit.Document.ID, DocumentName: hit.Item.Name,
		ParagraphBlockID: hit.Chunk.Index, SourceDocument: sourceDocument{FileName: hit.Item.Name},
		Highlight: highlight{Chunks: []highlightChunk{{Text: hit.Chunk.Text, Range: chunkRange(hit.Chunk)}}}}
}

// searchDocuments is D6: POST /projects/{id}/documents/search {query,
// top_n?}.
func (h *handler) searchDocuments(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Query *string `json:"query"`
		TopN  *int    `json:"top_n"`
	}
	if err := shelfhttp.DecodeJSON(w, r, h.srv.MaxJSONBytes(), &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.Query == nil {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "query is required"))
		return
	}
	topN := defaultTopN
	if req.TopN != nil {
		topN = *req.TopN
	}
	if topN < 1 || topN > library.MaxTopK {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "top_n must be between 1 and %d", library.MaxTopK))
		return
	}
	hits, err := h.svc.SearchDocuments(r.Context(), []string{r.PathValue("id")}, *req.Query, topN)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	results := mapped(hits, toSearchResult)
	writeData(w, map[string]any{"count": len(results), "results": results})
}
