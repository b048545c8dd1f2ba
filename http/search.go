package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/library"
)

// searchRequest is the body of POST /v1/search.
type searchRequest struct {
	Query   string `json:"query"`
	TopK    *int   `json:"top_k"`
	Mode    string `json:"mode"`
	Filters struct {
		Library       string                     `json:"library"`
		PathPrefix    string                     `json:"path_prefix"`
		Project       string                     `json:"project"`
		Metadata      map[string]json.RawMessage `json:"metadata"`
		ContentType   json.RawMessage            `json:"content_type"`
		CreatedAfter  string                     `json:"created_after"`
		CreatedBefore string                     `json:"created_before"`
		// Assistant: only libraries whose owner allows assistants.
		Assistant bool `json:"assistant"`
	} `json:"filters"`
}

type searchHit struct {
	ItemID    string      `json:"item_id"`
	LibraryID string      `json:"library_id"`
	Path      string      `json:"path"`
	Version   int64       `json:"version"`
	Chunk     searchChunk `json:"chunk"`
	Highlight string      `json:"highlight"`
	Score     float64     `json:"score"`
}

type searchChunk struct {
	Index   int    `json:"index"`
	Text    string `json:"text"`
	Start   int    `json:"start"`
	End     int    `json:"end"`
	Page    int    `json:"page"`
	Heading string `json:"heading,omitempty"`
}

// decodeStrict decodes a JSON body refusing unknown fields, so a misspelt
// filter is a 400 rather than a search without it.
func (s *Server) decodeStrict(w http.ResponseWriter, r *http.Request, v any) error {
	var raw json.RawMessage
	if err := DecodeJSON(w, r, s.opts.MaxJSONBytes, &raw); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return shelf.Errorf(shelf.EINVALID, "field %q must be %s, not %s", te.Field, jsonKind(te.Type), te.Value)
		}
		return shelf.Errorf(shelf.EINVALID, "%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req searchRequest
	if err := s.decodeStrict(w, r, &req); err != nil {
		s.nativeError(w, r, err)
		return
	}
	q, err := req.query()
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	res, err := s.svc.Search(r.Context(), q)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	hits := make([]searchHit, len(res.Hits))
	for i, h := range res.Hits {
		c := h.Chunk
		hits[i] = searchHit{ItemID: h.Item.ID, LibraryID: h.Item.LibraryID, Path: h.Item.Path, Version: c.Version,
			Chunk:     searchChunk{Index: c.Index, Text: c.Text, Start: c.Start, End: c.End, Page: c.Page, Heading: c.Heading},
			Highlight: h.Highlight, Score: h.Score}
	}
	out := map[string]any{"hits": hits, "mode": res.Mode, "took_ms": float64(time.Since(start).Microseconds()) / 1000}
	if res.Notice != "" {
		out["notice"] = res.Notice
	}
	WriteJSON(w, http.StatusOK, out)
}

// query turns the request into the core's query.
func (req *searchRequest) query() (library.SearchQuery, error) {
	q := library.SearchQuery{Query: req.Query, Mode: req.Mode}
	if req.TopK != nil {
		if *req.TopK == 0 {
			return q, shelf.Errorf(shelf.EINVALID, "top_k must be between 1 and %d", library.MaxTopK)
		}
		q.TopK = *req.TopK
	}
	f := req.Filters
	q.Filters = library.SearchFilters{Library: f.Library, PathPrefix: f.PathPrefix, Project: f.Project, Assistant: f.Assistant}
	if len(f.Metadata) > 0 {
		q.Filters.Metadata = make(map[string]string, len(f.Metadata))
		for k, raw := range f.Metadata {
			v, err := scalarText(raw)
			if err != nil {
				return q, shelf.Errorf(shelf.EINVALID, "filters.metadata.%s: %s", k, shelf.ErrorMessage(err))
			}
			q.Filters.Metadata[k] = v
		}
	}
	if len(f.ContentType) > 0 && string(f.ContentType) != "null" {
		var one string
		if err := json.Unmarshal(f.ContentType, &one); err == nil {
			q.Filters.ContentTypes = []string{one}
		} else if err := json.Unmarshal(f.ContentType, &q.Filters.ContentTypes); err != nil {
			return q, shelf.Errorf(shelf.EINVALID, "filters.content_type must be a string or an array of strings")
		}
	}
	var err error
	if q.Filters.CreatedAfter, err = timeField("created_after", f.CreatedAfter); err != nil {
		return q, err
	}
	if q.Filters.CreatedBefore, err = timeField("created_before", f.CreatedBefore); err != nil {
		return q, err
	}
	return q, nil
}

// scalarText is the text a metadata value is compared as: a string as
// itself, a number or boolean as written.
func scalarText(raw json.RawMessage) (string, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case float64:
		return string(bytes.TrimSpace(raw)), nil
	}
	return "", shelf.Errorf(shelf.EINVALID, "must be a string, number or boolean")
}

func timeField(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, shelf.Errorf(shelf.EINVALID, "filters.%s must be an RFC 3339 time", name)
	}
	return t, nil
}

func (s *Server) indexStatus(w http.ResponseWriter, r *http.Request) {
	counts, err := s.svc.IndexCounts(r.Context())
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	out := map[string]any{}
	for _, st := range []string{shelf.IndexQueued, shelf.IndexRunning, shelf.IndexIndexed, shelf.IndexFailed, shelf.IndexSkipped} {
		out[st] = counts[st]
	}
	var emb any
	if e := s.svc.Config().Embedder; e != nil {
		st, err := s.svc.EmbeddingStatus(r.Context())
		if err != nil {
			s.nativeError(w, r, err)
			return
		}
		m := map[string]any{"model": e.Model(), "dimensions": e.Dimensions(), "state": st.State,
			"pending_files": st.PendingFiles, "pending_chunks": st.PendingChunks}
		if st.Error != "" {
			m["error"] = st.Error
		}
		emb = m
	}
	out["embedder"] = emb
	WriteJSON(w, http.StatusOK, out)
}

func (s *Server) indexItem(w http.ResponseWriter, r *http.Request) {
	id, err := s.itemID(r, r.PathValue("id"))
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	it, err := s.svc.IndexFile(r.Context(), id)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusAccepted, it)
}

func (s *Server) clearItemIndex(w http.ResponseWriter, r *http.Request) {
	id, err := s.itemID(r, r.PathValue("id"))
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	it, err := s.svc.ClearIndex(r.Context(), id)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, it)
}

func (s *Server) reindex(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Library string   `json:"library"`
		Globs   []string `json:"globs"`
	}
	if err := s.decodeStrict(w, r, &req); err != nil {
		s.nativeError(w, r, err)
		return
	}
	n, err := s.svc.IndexGlobs(r.Context(), req.Library, req.Globs)
	if err != nil {
		s.nativeError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusAccepted, map[string]int{"queued": n})
}
