package library

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	shelf "github.com/shelfmem/shelf"
)

// Memories are what a project remembers of conversations: each message a
// client submits is kept as one memory, word for word. Shelf has no
// language model, so it extracts no facts and rewrites nothing: a memory's
// content is a message's. Memories are searched with the same search as
// documents.
//
// They live in a second library of the project (kind shelf.KindProject,
// slug memoriesSlugPrefix + the project id, made with the first memory),
// one folder per user (userFolder) holding one file per memory, named by
// the memory's id, which is also its external id. The file's metadata
// holds the user id, the message's role, the chat session and the
// client's metadata. A memory forgotten is hidden: listed as expired,
// never found by a search.
const (
	memoriesSlugPrefix = "memories:"
	memoryIDPrefix     = "mem-"
)

// Memory limits.
const (
	MaxMemoryMessages = 100      // messages per AddMemories
	MaxMemoryBytes    = 16 << 10 // one message's content
	MaxUserID         = 128      // bytes
	maxMemoryScan     = 10000    // memories a keyword-filtered list reads
	maxMemoryUsers    = 20       // users one search names
)

// Message is one message of a conversation.
type Message struct {
	Role    string // "user" or "assistant"
	Content string
}

// MemoryInput is a conversation to remember.
type MemoryInput struct {
	UserID    string // "" for none
	SessionID string // the chat session, "" for none
	Messages  []Message
	Metadata  json.RawMessage // a JSON object, or nil
}

// Memory is one remembered message.
type Memory struct {
	ID        string
	ProjectID string
	UserID    string
	Role      string
	SessionID string
	Content   string
	Metadata  json.RawMessage // the client's, or nil
	Expired   bool            // forgotten
	CreatedAt time.Time
	UpdatedAt time.Time
}

// memoryMeta is a memory file's metadata.
type memoryMeta struct {
	UserID    string          `json:"user_id"`
	Role      string          `json:"role"`
	SessionID string          `json:"chat_session_id,omitempty"`
	Metadata  json.RawMessage `json:"metadata,omitempty"`
}

// userFolder names a user's folder of memories: "u" and the user id in
// unpadded base64url, so any id makes a valid name, or "-" for memories
// of no user.
func userFolder(userID string) string {
	if userID == "" {
		return "-"
	}
	return "u" + base64.RawURLEncoding.EncodeToString([]byte(userID))
}

func checkUserID(id string) error {
	if len(id) > MaxUserID {
		return shelf.Errorf(shelf.EINVALID, "user_id is longer than %d bytes", MaxUserID)
	}
	return checkText("user_id", id)
}

// memoriesLibraryTx returns the library of proj's memories; with create
// set it makes it when missing, else a missing one is ENOTFOUND.
func (s *Service) memoriesLibraryTx(ctx context.Context, tx shelf.Tx, proj *shelf.Project, create bool) (*shelf.Library, error) {
	l, err := tx.LibraryBySlug(ctx, proj.WorkspaceID, memoriesSlugPrefix+proj.ID)
	if shelf.ErrorCode(err) == shelf.ENOTFOUND && create {
		return s.createLibraryTx(ctx, tx, proj.WorkspaceID, memoriesSlugPrefix+proj.ID, proj.ID, shelf.KindProject)
	}
	return l, err
}

// AddMemories remembers each message of a conversation with content as a
// memory of the project, in one transaction, and returns them. Messages
// whose content is empty or only spaces are left out; a conversation
// without any other is EINVALID.
func (s *Service) AddMemories(ctx context.Context, projectID string, in MemoryInput) ([]*Memory, error) {
	defer s.pinWrites()() // its blobs, until its transaction ends
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	if err := checkUserID(in.UserID); err != nil {
		return nil, err
	}
	if len(in.SessionID) > MaxUserID {
		return nil, shelf.Errorf(shelf.EINVALID, "chat_session_id is longer than %d bytes", MaxUserID)
	}
	if err := checkText("chat_session_id", in.SessionID); err != nil {
		return nil, err
	}
	if len(in.Messages) > MaxMemoryMessages {
		return nil, shelf.Errorf(shelf.EINVALID, "at most %d messages at once", MaxMemoryMessages)
	}
	meta, err := compactObject("metadata", in.Metadata)
	if err != nil {
		return nil, err
	}
	var msgs []Message
	for i, m := range in.Messages {
		switch m.Role {
		case "user", "assistant", "system":
		default:
			return nil, shelf.Errorf(shelf.EINVALID, "message %d: role must be user or assistant, not %q", i+1, m.Role)
		}
		if len(m.Content) > MaxMemoryBytes {
			return nil, shelf.Errorf(shelf.EINVALID, "message %d is longer than %d bytes", i+1, MaxMemoryBytes)
		}
		if !utf8.ValidString(m.Content) {
			return nil, shelf.Errorf(shelf.EINVALID, "message %d is not UTF-8", i+1)
		}
		if strings.TrimSpace(m.Content) != "" {
			msgs = append(msgs, m)
		}
	}
	if len(msgs) == 0 {
		return nil, shelf.Errorf(shelf.EINVALID, "messages holds no message with content")
	}
	bodies := make([]content, len(msgs))
	for i, m := range msgs {
		if bodies[i], err = s.putBlob(ctx, strings.NewReader(m.Content), int64(len(m.Content)), true); err != nil {
			return nil, err
		}
	}
	var out []*Memory
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		out = nil
		proj, err := projectTx(ctx, tx, p, projectID)
		if err != nil {
			return err
		}
		lib, err := s.memoriesLibraryTx(ctx, tx, proj, true)
		if err != nil {
			return err
		}
		for i, m := range msgs {
			id := prefixedID(memoryIDPrefix)
			raw, err := json.Marshal(memoryMeta{UserID: in.UserID, Role: m.Role, SessionID: in.SessionID, Metadata: meta})
			if err != nil {
				return err
			}
			d := Doc{Path: userFolder(in.UserID) + "/" + id + ".txt", ExternalID: id, Title: id,
				Scope: shelf.VisibleWorkspace, Metadata: raw, ContentType: "text/plain; charset=utf-8"}
			up, err := s.createAtTx(ctx, tx, p, lib, &d, &bodies[i], ConflictDeny)
			if err != nil {
				return err
			}
			mem := memoryOf(proj.ID, up.Item)
			mem.Content = m.Content
			out = append(out, mem)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// memoryOf reads a memory file's fields but its content.
func memoryOf(projectID string, it *shelf.Item) *Memory {
	var mm memoryMeta
	_ = json.Unmarshal(it.Metadata, &mm) // the core wrote it
	return &Memory{ID: it.ExternalID, ProjectID: projectID, UserID: mm.UserID, Role: mm.Role, SessionID: mm.SessionID,
		Metadata: mm.Metadata, Expired: it.Hidden, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt}
}

// memoryTx finds a memory's file.
func (s *Service) memoryTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, projectID, id string) (*shelf.Project, *shelf.Item, error) {
	proj, err := projectTx(ctx, tx, p, projectID)
	if err != nil {
		return nil, nil, err
	}
	notFound := shelf.Errorf(shelf.ENOTFOUND, "memory %q not found in project %q", id, projectID)
	if !strings.HasPrefix(id, memoryIDPrefix) {
		return nil, nil, notFound
	}
	lib, err := s.memoriesLibraryTx(ctx, tx, proj, false)
	if shelf.ErrorCode(err) == shelf.ENOTFOUND {
		return nil, nil, notFound
	} else if err != nil {
		return nil, nil, err
	}
	it, err := tx.ItemByExternalID(ctx, p.WorkspaceID, lib.ID, id)
	if shelf.ErrorCode(err) == shelf.ENOTFOUND {
		return nil, nil, notFound
	}
	return proj, it, err
}

// GetMemory returns a memory of a project, forgotten or not.
func (s *Service) GetMemory(ctx context.Context, projectID, id string) (*Memory, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	var it *shelf.Item
	var proj *shelf.Project
	err = s.store.View(ctx, func(tx shelf.Tx) (err error) {
		proj, it, err = s.memoryTx(ctx, tx, p, projectID, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	m := memoryOf(proj.ID, it)
	if m.Content, err = s.text(ctx, it); err != nil {
		return nil, err
	}
	return m, nil
}

// ForgetMemory marks a memory forgotten (expired): it stays, listed as
// expired, but no search finds it any more. Forgetting it again changes
// nothing.
func (s *Service) ForgetMemory(ctx context.Context, projectID, id string) error {
	return s.changeMemory(ctx, projectID, id, func(tx shelf.Tx, it *shelf.Item) error { return s.hideTx(ctx, tx, it) })
}

// DeleteMemory deletes a memory for good.
func (s *Service) DeleteMemory(ctx context.Context, projectID, id string) error {
	return s.changeMemory(ctx, projectID, id, func(tx shelf.Tx, it *shelf.Item) error {
		_, err := tx.DeleteTree(ctx, it.WorkspaceID, it.ID)
		return err
	})
}

// changeMemory runs change on a memory's file in a write transaction.
func (s *Service) changeMemory(ctx context.Context, projectID, id string, change func(shelf.Tx, *shelf.Item) error) error {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx shelf.Tx) error {
		_, it, err := s.memoryTx(ctx, tx, p, projectID, id)
		if err != nil {
			return err
		}
		return change(tx, it)
	})
}

// MemoryList asks for a page of a project's memories, oldest first.
type MemoryList struct {
	UserID  string // with ByUser, only this user's ("" for memories of no user)
	ByUser  bool
	Keyword string // a substring of the content, compared without case; "" for any
	Offset  int
	Limit   int // 1..MaxProjectPage
}

// ListMemories returns a page of a project's memories (forgotten ones
// included, marked expired) and how many the filters keep in all. A
// keyword filter reads the memories' contents, so it is refused over
// more than maxMemoryScan memories: name a user.
func (s *Service) ListMemories(ctx context.Context, projectID string, q MemoryList) ([]*Memory, int, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, 0, err
	}
	if err := checkPage(q.Offset, q.Limit); err != nil {
		return nil, 0, err
	}
	if err := checkUserID(q.UserID); err != nil {
		return nil, 0, err
	}
	if len(q.Keyword) > MaxMemoryBytes {
		return nil, 0, shelf.Errorf(shelf.EINVALID, "the keyword is longer than %d bytes", MaxMemoryBytes)
	}
	var items []*shelf.Item
	var total int
	var proj *shelf.Project
	lq := shelf.ListQuery{Type: shelf.TypeFile, Sort: shelf.ListByCreated, Offset: q.Offset, Limit: q.Limit,
		Filter: shelf.ItemFilter{WithHidden: true}}
	scan := q.Keyword != ""
	if scan {
		lq.Offset, lq.Limit = 0, maxMemoryScan+1
	}
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		if proj, err = projectTx(ctx, tx, p, projectID); err != nil {
			return err
		}
		lib, err := s.memoriesLibraryTx(ctx, tx, proj, false)
		if shelf.ErrorCode(err) == shelf.ENOTFOUND {
			return nil // no memory yet
		} else if err != nil {
			return err
		}
		lq.LibraryID, lq.Recursive = lib.ID, !q.ByUser
		if q.ByUser {
			folder, err := tx.ItemByPath(ctx, p.WorkspaceID, lib.ID, userFolder(q.UserID))
			if shelf.ErrorCode(err) == shelf.ENOTFOUND {
				return nil
			} else if err != nil {
				return err
			}
			lq.ParentID = folder.ID
		}
		if items, err = tx.ListItems(ctx, p.WorkspaceID, lq); err != nil {
			return err
		}
		if !scan {
			total, err = tx.CountItems(ctx, p.WorkspaceID, lq)
		}
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	if scan && len(items) > maxMemoryScan {
		return nil, 0, shelf.Errorf(shelf.EINVALID, "a keyword filter reads at most %d memories; name a user_id", maxMemoryScan)
	}
	var out []*Memory
	keyword := strings.ToLower(q.Keyword)
	for _, it := range items {
		m := memoryOf(proj.ID, it)
		if m.Content, err = s.text(ctx, it); err != nil {
			return nil, 0, err
		}
		if scan && !strings.Contains(strings.ToLower(m.Content), keyword) {
			continue
		}
		out = append(out, m)
	}
	if scan {
		total = len(out)
		lo := min(q.Offset, total)
		out = out[lo:min(lo+q.Limit, total)]
	}
	return out, total, nil
}

// text reads a small file's head bytes as text.
func (s *Service) text(ctx context.Context, it *shelf.Item) (string, error) {
	r, err := s.Read(ctx, &shelf.Version{Hash: it.Hash, Size: it.Size}, 0, -1)
	if err != nil {
		return "", err
	}
	defer r.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, io.LimitReader(r, MaxMemoryBytes+1)); err != nil {
		return "", err
	}
	return b.String(), nil
}

// MemorySearch asks for the memories that best answer Query.
type MemorySearch struct {
	ProjectIDs []string
	// UserIDs keeps the memories of these users; nil keeps every user's.
	UserIDs   []string
	Query     string
	TopK      int     // 1..MaxTopK
	Threshold float64 // the least score, in [0, 1]
}

// MemoryHit is a memory a search found and its score in [0, 1].
type MemoryHit struct {
	Memory *Memory
	Score  float64
}

// SearchMemories finds the memories of projects (of some users) that best
// answer a query, best first, each scoring at least the threshold.
//
// The score is in [0, 1]: with an embedder, the cosine similarity of the
// memory's text and the query (below 0 counts as 0); without one, the
// share of the query's words the memory holds, as the keyword index
// matches them (stemmed and folded). Forgotten memories are never found.
func (s *Service) SearchMemories(ctx context.Context, q MemorySearch) ([]MemoryHit, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	if err := q.check(); err != nil {
		return nil, err
	}
	projs, err := s.projects(ctx, p, q.ProjectIDs)
	if err != nil {
		return nil, err
	}
	return s.searchMemories(ctx, projs, q)
}

// check checks a memory search but its projects.
func (q *MemorySearch) check() error {
	if q.TopK < 1 || q.TopK > MaxTopK {
		return shelf.Errorf(shelf.EINVALID, "the number of results must be between 1 and %d", MaxTopK)
	}
	if q.Threshold < 0 || q.Threshold > 1 {
		return shelf.Errorf(shelf.EINVALID, "threshold must be between 0 and 1")
	}
	if q.UserIDs != nil && len(q.UserIDs) > maxMemoryUsers {
		return shelf.Errorf(shelf.EINVALID, "at most %d users at once", maxMemoryUsers)
	}
	for _, u := range q.UserIDs {
		if err := checkUserID(u); err != nil {
			return err
		}
	}
	return nil
}

// searchMemories is SearchMemories, checked, over projects found already.
// No project finds nothing.
func (s *Service) searchMemories(ctx context.Context, projs []*shelf.Project, q MemorySearch) ([]MemoryHit, error) {
	var libs []string
	byLib := map[string]*shelf.Project{}
	err := s.store.View(ctx, func(tx shelf.Tx) error {
		for _, proj := range projs {
			lib, err := s.memoriesLibraryTx(ctx, tx, proj, false)
			if shelf.ErrorCode(err) == shelf.ENOTFOUND {
				continue
			} else if err != nil {
				return err
			}
			libs, byLib[lib.ID] = append(libs, lib.ID), proj
		}
		return nil
	})
	if err != nil || len(libs) == 0 {
		return []MemoryHit{}, err
	}
	mode := ModeKeyword
	if s.cfg.Embedder != nil {
		mode = ModeSemantic
	}
	prefixes := []string{""}
	if q.UserIDs != nil {
		prefixes = nil
		for _, u := range slices.Compact(slices.Sorted(slices.Values(q.UserIDs))) {
			prefixes = append(prefixes, userFolder(u))
		}
	}
	terms := len(MatchTerms(q.Query))
	type found struct {
		hit  MemoryHit
		item *shelf.Item
		rank int // in its search, which breaks ties
	}
	best := map[string]found{} // by memory file id
	for _, prefix := range prefixes {
		sq := SearchQuery{Query: q.Query, TopK: q.TopK, Mode: mode, Filters: SearchFilters{libraryIDs: libs, PathPrefix: prefix}}
		res, err := s.Search(ctx, sq)
		if code := shelf.ErrorCode(err); mode == ModeSemantic && (code == shelf.EUNAVAILABLE || code == shelf.ETIMEOUT) {
			// The embedder is down: rank by keyword, as hybrid search does
			// (the breaker logs when it opens and closes).
			s.log.Debug("memory search: the embedder failed; answering by keyword", "err", err)
			mode, sq.Mode = ModeKeyword, ModeKeyword
			res, err = s.Search(ctx, sq)
		}
		if err != nil {
			return nil, err
		}
		for rank, h := range res.Hits {
			score := h.Score
			if res.Mode == ModeKeyword {
				score = coverage(h.Highlight, terms)
			}
			score = min(max(score, 0), 1)
			if score < q.Threshold {
				continue
			}
			if old, ok := best[h.Item.ID]; ok && old.hit.Score >= score {
				continue
			}
			best[h.Item.ID] = found{MemoryHit{Memory: memoryOf(byLib[h.Item.LibraryID].ID, h.Item), Score: score}, h.Item, rank}
		}
	}
	all := slices.Collect(maps.Values(best))
	slices.SortFunc(all, func(a, b found) int {
		switch {
		case a.hit.Score > b.hit.Score:
			return -1
		case a.hit.Score < b.hit.Score:
			return 1
		}
		return a.rank - b.rank
	})
	out := make([]MemoryHit, 0, min(len(all), q.TopK))
	for _, f := range all[:min(len(all), q.TopK)] {
		if f.hit.Memory.Content, err = s.text(ctx, f.item); err != nil {
			return nil, err
		}
		out = append(out, f.hit)
	}
	return out, nil
}

// coverage is the share of a query's terms (n) that a keyword hit holds:
// the distinct words its highlight marks, at most n.
func coverage(highlight string, n int) float64 {
	if n == 0 {
		return 0
	}
	marked := map[string]bool{}
	for {
		i := strings.Index(highlight, HighlightOpen)
		if i < 0 {
			break
		}
		highlight = highlight[i+len(HighlightOpen):]
		j := strings.Index(highlight, HighlightClose)
		if j < 0 {
			break
		}
		marked[strings.ToLower(highlight[:j])] = true
		highlight = highlight[j+len(HighlightClose):]
	}
	return min(float64(len(marked))/float64(n), 1)
}
