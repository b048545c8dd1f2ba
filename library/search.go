package library

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/index/search"
)

// Search modes.
const (
	ModeKeyword  = "keyword"  // BM25 over the full-text index
	ModeSemantic = "semantic" // nearest neighbours of the query's embedding
	ModeHybrid   = "hybrid"   // both, fused by reciprocal rank
)

// Search limits.
const (
	DefaultTopK    = 10
	MaxTopK        = 100
	MaxQueryBytes  = 4096
	maxQueryTerms  = 64
	maxFilterTypes = 20
)

// SearchQuery asks for the chunks that best answer Query.
type SearchQuery struct {
	Query   string
	TopK    int    // default DefaultTopK, at most MaxTopK
	Mode    string // "" picks hybrid with an embedder, else keyword
	Filters SearchFilters
}

// SearchFilters narrow a search; set fields are ANDed.
type SearchFilters struct {
	Library       string            // a library id
	PathPrefix    string            // a folder path; files below it
	Project       string            // a project id: its documents only
	Metadata      map[string]string // equality on metadata keys
	ContentTypes  []string          // media types, parameters ignored
	CreatedAfter  time.Time
	CreatedBefore time.Time
	// Assistant searches as an assistant: only libraries whose owner
	// allows assistants (SetAssistantAccess).
	Assistant bool
	// libraryIDs, set by the core alone, searches these libraries
	// (internal ones included) instead of Library's.
	libraryIDs []string
}

// SearchHit is one matching chunk and its file.
type SearchHit struct {
	Item      *shelf.Item
	Chunk     shelf.Chunk
	Highlight string // the chunk's text with matched terms in « »
	Score     float64
}

// SearchResult is a search's answer. Mode is the mode that ran, which is
// keyword when hybrid was asked for without an embedder; Notice says why.
type SearchResult struct {
	Hits   []SearchHit
	Mode   string
	Notice string
}

// Highlight marks.
const (
	HighlightOpen  = "«"
	HighlightClose = "»"
)

// Search runs q in the caller's workspace. Hidden files, and private files
// of other principals, are never found.
func (s *Service) Search(ctx context.Context, q SearchQuery) (*SearchResult, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	if err := q.check(); err != nil {
		return nil, err
	}
	res := &SearchResult{Mode: q.Mode}
	if res.Mode == "" {
		res.Mode = ModeKeyword
		if s.cfg.Embedder != nil {
			res.Mode = ModeHybrid
		}
	}
	if res.Mode != ModeKeyword && s.cfg.Embedder == nil {
		if res.Mode == ModeSemantic {
			return nil, shelf.Errorf(shelf.EINVALID, "semantic search needs an embedder, and this server has none configured; use mode %q", ModeKeyword)
		}
		res.Mode, res.Notice = ModeKeyword, "no embedder is configured: searched by keyword only"
	}
	cq, ok, err := s.chunkQuery(ctx, p, q)
	if err != nil || !ok {
		return res, err
	}
	switch res.Mode {
	case ModeKeyword:
		res.Hits, err = s.keywordSearch(ctx, p, q.Query, cq)
	case ModeSemantic:
		// Asked for by meaning, a search cannot answer by keyword: with
		// the embedder failing it fails too, at once while the breaker is
		// open.
		var vec []float32
		if vec, err = s.embedQuery(ctx, q.Query); err != nil {
			return nil, err
		}
		res.Hits, err = s.semanticSearch(ctx, p, vec, cq)
	default:
		res.Hits, res.Notice, err = s.hybridSearch(ctx, p, q.Query, cq)
		if res.Notice != "" {
			res.Mode = ModeKeyword
		}
	}
	return res, err
}

func (q *SearchQuery) check() error {
	if strings.TrimSpace(q.Query) == "" {
		return shelf.Errorf(shelf.EINVALID, "query is empty")
	}
	if len(q.Query) > MaxQueryBytes {
		return shelf.Errorf(shelf.EINVALID, "query is longer than %d bytes", MaxQueryBytes)
	}
	if !utf8.ValidString(q.Query) || strings.ContainsRune(q.Query, 0) {
		return shelf.Errorf(shelf.EINVALID, "query is not valid UTF-8 text")
	}
	switch {
	case q.TopK == 0:
		q.TopK = DefaultTopK
	case q.TopK < 1 || q.TopK > MaxTopK:
		return shelf.Errorf(shelf.EINVALID, "top_k must be between 1 and %d", MaxTopK)
	}
	switch q.Mode {
	case "", ModeKeyword, ModeSemantic, ModeHybrid:
	default:
		return shelf.Errorf(shelf.EINVALID, "mode must be %q, %q or %q", ModeKeyword, ModeSemantic, ModeHybrid)
	}
	f := &q.Filters
	// "/docs" and "docs" name the same folder; "/" is the whole library.
	f.PathPrefix = strings.TrimPrefix(f.PathPrefix, "/")
	if f.PathPrefix != "" {
		clean, err := CleanPath(f.PathPrefix)
		if err != nil {
			return err
		}
		f.PathPrefix = NameKey(clean)
	}
	if len(f.ContentTypes) > maxFilterTypes {
		return shelf.Errorf(shelf.EINVALID, "at most %d content types", maxFilterTypes)
	}
	for _, ct := range f.ContentTypes {
		if ct == "" || len(ct) > 255 || strings.ContainsAny(ct, ";\x00") {
			return shelf.Errorf(shelf.EINVALID, "content type %q is not a media type", ct)
		}
	}
	if err := checkMetadataFilter(f.Metadata); err != nil {
		return err
	}
	if !f.CreatedAfter.IsZero() && !f.CreatedBefore.IsZero() && !f.CreatedAfter.Before(f.CreatedBefore) {
		return shelf.Errorf(shelf.EINVALID, "created_after must be before created_before")
	}
	return nil
}

// chunkQuery turns q's filters into the store's query; ok is false when
// they can match nothing.
func (s *Service) chunkQuery(ctx context.Context, p *shelf.Principal, q SearchQuery) (shelf.ChunkQuery, bool, error) {
	f := q.Filters
	cq := shelf.ChunkQuery{PathPrefix: f.PathPrefix, ContentTypes: f.ContentTypes, CreatedAfter: f.CreatedAfter,
		CreatedBefore: f.CreatedBefore, Metadata: f.Metadata, Viewer: p.Owner(), Limit: q.TopK}
	if f.Library != "" {
		var lib *shelf.Library
		err := s.store.View(ctx, func(tx shelf.Tx) (err error) {
			lib, err = libraryTx(ctx, tx, p, f.Library)
			return err
		})
		if err != nil {
			return cq, false, err
		}
		cq.LibraryIDs = []string{lib.ID}
	}
	if f.Project != "" {
		// A project's documents are files of its own library.
		if f.Library != "" || f.PathPrefix != "" {
			return cq, false, shelf.Errorf(shelf.EINVALID, "a project's documents are searched without a library or a path prefix")
		}
		projs, err := s.projects(ctx, p, []string{f.Project})
		if err != nil {
			return cq, false, err
		}
		cq.LibraryIDs, cq.PathPrefix = []string{projs[0].LibraryID}, documentsFolder
	}
	if f.libraryIDs != nil {
		cq.LibraryIDs = f.libraryIDs
	}
	if f.Assistant {
		var allowed []string
		err := s.store.View(ctx, func(tx shelf.Tx) (err error) {
			allowed, err = assistantLibrariesTx(ctx, tx, p.WorkspaceID)
			return err
		})
		if err != nil {
			return cq, false, err
		}
		if cq.LibraryIDs != nil { // only those of the libraries named that allow it
			allowed = slices.DeleteFunc(allowed, func(id string) bool { return !slices.Contains(cq.LibraryIDs, id) })
		}
		if len(allowed) == 0 {
			return cq, false, nil
		}
		cq.LibraryIDs = allowed
	}
	return cq, true, nil
}

// highlight turns the engine's marks into « and ».
func highlight(s string) string { return marks.Replace(s) }

var marks = strings.NewReplacer(search.MarkOpen, HighlightOpen, search.MarkClose, HighlightClose)

// MatchTerms splits a user's text into the terms a keyword search looks
// for: its words (runs of letters, digits and marks) and its
// "double-quoted phrases" (their words joined by spaces), each once.
// Common English words are left out unless nothing else is left.
func MatchTerms(text string) []string {
	var terms, stops []string
	seen := map[string]bool{}
	add := func(t string, phrase bool) {
		key := strings.ToLower(t)
		if t == "" || seen[key] || len(terms)+len(stops) >= maxQueryTerms {
			return
		}
		seen[key] = true
		q := t
		if !phrase && stopWords[key] {
			stops = append(stops, q)
			return
		}
		terms = append(terms, q)
	}
	// Quoted phrases first, then the words outside them.
	rest := text
	var outside strings.Builder
	for {
		i := strings.IndexByte(rest, '"')
		if i < 0 {
			outside.WriteString(rest)
			break
		}
		j := strings.IndexByte(rest[i+1:], '"')
		if j < 0 {
			outside.WriteString(rest[:i] + " " + rest[i+1:])
			break
		}
		outside.WriteString(rest[:i] + " ")
		add(strings.Join(words(rest[i+1:i+1+j]), " "), true)
		rest = rest[i+2+j:]
	}
	for _, w := range words(outside.String()) {
		add(w, false)
	}
	if len(terms) == 0 {
		terms = stops
	}
	return terms
}

// words splits text into runs of letters, digits and marks, the characters
// the full-text tokenizer keeps.
func words(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
	})
}

// stopWords are left out of keyword queries: they match most chunks, cost
// the most to score, and rank nothing.
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a about above after again against all am an and any are as at be because been
		before being below between both but by can could did do does doing down during each few for from further had
		has have having he her here hers herself him himself his how i if in into is it its itself just me more most
		my myself no nor not now of off on once only or other our ours ourselves out over own same she should so some
		such than that the their theirs them themselves then there these they this those through to too under until
		up very was we were what when where which while who whom why will with would you your yours yourself
		yourselves`) {
		m[w] = true
	}
	return m
}()
