package memorylake

import (
	"encoding/json"
	"net/http"

	shelf "github.com/shelfmem/shelf"
	shelfhttp "github.com/shelfmem/shelf/http"
	"github.com/shelfmem/shelf/library"
)

// PrefixV2 is where MemoryLake's v2 routes (a project's memories) are
// mounted.
const PrefixV2 = "/openapi/memorylake/api/v2"

// Limits and defaults of the memory routes.
const (
	defaultThreshold   = 0.3 // D7's documented default
	maxTopNDocumented  = 1000
	msgMemoryForgotten = "Memory forgotten successfully"
	msgMemoryDeleted   = "Memory deleted successfully"
	msgMemoryStored    = "Memory stored"
	statusStored       = "SUCCEEDED"
)

// memoryRoutes mounts the v2 memory routes and D7, the project search over
// documents and memories.
func (h *handler) memoryRoutes() {
	read, write := shelf.ScopeRead, shelf.ScopeWrite
	const p = PrefixV2 + "/projects/{id}/memories"
	h.srv.Handle("POST "+p, write, h.d, h.addMemories)
	h.srv.Handle("GET "+p, read, h.d, h.listMemories)
	h.srv.Handle("GET "+p+"/{memoryId}", read, h.d, h.getMemory)
	h.srv.Handle("POST "+p+"/{memoryId}/forget", write, h.d, h.forgetMemory)
	h.srv.Handle("DELETE "+p+"/{memoryId}", write, h.d, h.deleteMemory)
	h.srv.Handle("POST "+Prefix+"/projects/{id}/search", read, h.d, h.searchProject)
}

// memory is a memory as the v2 routes and D7 show it: the documented
// fields, then Shelf's extras (role, chat_session_id, metadata).
type memory struct {
	ID                    string          `json:"id"`
	Content               string          `json:"content"`
	UserID                string          `json:"user_id"`
	Expired               bool            `json:"expired"`
	HasUnresolvedConflict bool            `json:"has_unresolved_conflict"`
	CreatedAt             string          `json:"created_at"`
	UpdatedAt             string          `json:"updated_at"`
	Role                  string          `json:"role"`
	SessionID             string          `json:"chat_session_id,omitempty"`
	Metadata              json.RawMessage `json:"metadata,omitempty"`
	Score                 *float64        `json:"score,omitempty"` // in a search's answer
}

func toMemory(m *library.Memory) memory {
	return memory{ID: m.ID, Content: m.Content, UserID: m.UserID, Expired: m.Expired, Role: m.Role,
		SessionID: m.SessionID, Metadata: m.Metadata, CreatedAt: timestamp(m.CreatedAt), UpdatedAt: timestamp(m.UpdatedAt)}
}

// addMemories is POST /v2/projects/{id}/memories {messages, user_id?,
// chat_session_id?, infer?, metadata?}. Every message with content is
// stored as it is, one memory each: Shelf infers nothing, so infer is
// accepted and makes no difference.
func (h *handler) addMemories(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Messages *[]struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
		UserID    string          `json:"user_id"`
		SessionID string          `json:"chat_session_id"`
		Infer     *bool           `json:"infer"`
		Metadata  json.RawMessage `json:"metadata"`
	}
	if err := shelfhttp.DecodeJSON(w, r, h.srv.MaxJSONBytes(), &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.Messages == nil || len(*req.Messages) == 0 {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "messages is required and must not be empty"))
		return
	}
	in := library.MemoryInput{UserID: req.UserID, SessionID: req.SessionID}
	if given(req.Metadata) {
		in.Metadata = req.Metadata
	}
	for _, m := range *req.Messages {
		in.Messages = append(in.Messages, library.Message{Role: m.Role, Content: m.Content})
	}
	ms, err := h.svc.AddMemories(r.Context(), r.PathValue("id"), in)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	type result struct {
		Message  string `json:"message"`
		Status   string `json:"status"`
		EventID  string `json:"event_id"`
		MemoryID string `json:"memory_id"`
		Memory   memory `json:"memory"`
	}
	results := make([]result, len(ms))
	for i, m := range ms {
		results[i] = result{Message: msgMemoryStored, Status: statusStored, EventID: m.ID, MemoryID: m.ID, Memory: toMemory(m)}
	}
	writeMessage(w, okMessage, map[string]any{"results": results})
}

// given reports whether a raw JSON field was sent and is not null.
func given(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

// listMemories is GET /v2/projects/{id}/memories?page&size&user_id&keyword.
func (h *handler) listMemories(w http.ResponseWriter, r *http.Request) {
	page, size, err := pageParams(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	_, byUser := q["user_id"]
	ms, total, err := h.svc.ListMemories(r.Context(), r.PathValue("id"), library.MemoryList{UserID: q.Get("user_id"),
		ByUser: byUser, Keyword: q.Get("keyword"), Offset: (page - 1) * size, Limit: size})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	items := mapped(ms, toMemory)
	writeData(w, newListPage(items, total, page, size))
}

// getMemory is GET /v2/projects/{id}/memories/{memoryId}.
func (h *handler) getMemory(w http.ResponseWriter, r *http.Request) {
	m, err := h.svc.GetMemory(r.Context(), r.PathValue("id"), r.PathValue("memoryId"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeData(w, toMemory(m))
}

// forgetMemory is POST /v2/projects/{id}/memories/{memoryId}/forget.
func (h *handler) forgetMemory(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.ForgetMemory(r.Context(), r.PathValue("id"), r.PathValue("memoryId")); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeMessage(w, msgMemoryForgotten, nil)
}

// deleteMemory is DELETE /v2/projects/{id}/memories/{memoryId}, a Shelf
// extra: the memory goes for good.
func (h *handler) deleteMemory(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.DeleteMemory(r.Context(), r.PathValue("id"), r.PathValue("memoryId")); err != nil {
		h.writeError(w, r, err)
		return
	}
	writeMessage(w, msgMemoryDeleted, nil)
}

// searchProject is D7: POST /v1/projects/{id}/search {query, user_id,
// top_n?, threshold?, with_conflicts?}: the project's documents as D6
// finds them, and the memories of user_id that score at least threshold.
func (h *handler) searchProject(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Query         *string  `json:"query"`
		UserID        *string  `json:"user_id"`
		TopN          *int     `json:"top_n"`
		Threshold     *float64 `json:"threshold"`
		WithConflicts *bool    `json:"with_conflicts"`
	}
	if err := shelfhttp.DecodeJSON(w, r, h.srv.MaxJSONBytes(), &req); err != nil {
		h.writeError(w, r, err)
		return
	}
	switch {
	case req.Query == nil:
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "query is required"))
		return
	case req.UserID == nil:
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "user_id is required"))
		return
	}
	topN, threshold := defaultTopN, defaultThreshold
	if req.TopN != nil {
		topN = *req.TopN
	}
	if topN < 1 || topN > maxTopNDocumented {
		h.writeError(w, r, shelf.Errorf(shelf.EINVALID, "top_n must be between 1 and %d", maxTopNDocumented))
		return
	}
	topN = min(topN, library.MaxTopK) // each list holds at most library.MaxTopK
	if req.Threshold != nil {
		threshold = *req.Threshold
	}
	id := r.PathValue("id")
	hits, err := h.svc.SearchDocuments(r.Context(), []string{id}, *req.Query, topN)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	mems, err := h.svc.SearchMemories(r.Context(), library.MemorySearch{ProjectIDs: []string{id}, UserIDs: []string{*req.UserID},
		Query: *req.Query, TopK: topN, Threshold: threshold})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	docs := mapped(hits, toSearchResult)
	out := make([]memory, len(mems))
	for i, m := range mems {
		out[i] = toMemory(m.Memory)
		score := m.Score
		out[i].Score = &score
	}
	writeData(w, map[string]any{"documents": docs, "memories": out})
}
