package library

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	shelf "github.com/shelfmem/shelf"
)

// A project group (MemoryLake's v3 workspace) is a library of kind
// shelf.KindProjectGroup whose tree stays empty: its name, description,
// metadata and custom id are the library's, and its projects name it as
// their GroupID. Its stored slug is groupSlugPrefix and the custom id, or
// its own id when it has none, so custom ids are unique in the workspace.
const groupSlugPrefix = "group:"

// GroupSpec describes a project group to make.
type GroupSpec struct {
	Name        string
	Description string
	CustomID    string          // "" for none
	Metadata    json.RawMessage // a JSON object, or nil
}

// GroupCustomID returns a group's custom id, or "" when it has none.
func GroupCustomID(g *shelf.Library) string {
	id := strings.TrimPrefix(g.Slug, groupSlugPrefix)
	if id == g.ID {
		return ""
	}
	return id
}

// projectGroupTx returns a project group of the caller's workspace.
func projectGroupTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, id string) (*shelf.Library, error) {
	g, err := tx.Library(ctx, p.WorkspaceID, id)
	if shelf.ErrorCode(err) == shelf.ENOTFOUND || (err == nil && g.Kind != shelf.KindProjectGroup) {
		return nil, shelf.Errorf(shelf.ENOTFOUND, "workspace %q not found", id)
	}
	return g, err
}

// CreateProjectGroup makes a project group in the caller's workspace. A
// custom id taken by another group is ECONFLICT.
func (s *Service) CreateProjectGroup(ctx context.Context, spec GroupSpec) (*shelf.Library, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	meta, err := checkSpec(spec.Name, spec.Description, spec.CustomID, spec.Metadata)
	if err != nil {
		return nil, err
	}
	var g *shelf.Library
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		id := newID()
		slug := groupSlugPrefix + id
		if spec.CustomID != "" {
			slug = groupSlugPrefix + spec.CustomID
		}
		if _, err := tx.LibraryBySlug(ctx, p.WorkspaceID, slug); err == nil {
			return shelf.Errorf(shelf.ECONFLICT, "a workspace with custom_id %q exists", spec.CustomID)
		} else if shelf.ErrorCode(err) != shelf.ENOTFOUND {
			return err
		}
		if g, err = s.createLibraryTx(ctx, tx, p.WorkspaceID, slug, spec.Name, shelf.KindProjectGroup); err != nil {
			return err
		}
		if spec.CustomID == "" { // the slug names the library's own id
			g.Slug = groupSlugPrefix + g.ID
		}
		g.Description, g.Metadata = spec.Description, meta
		return tx.UpdateLibrary(ctx, g)
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// GetProjectGroup returns a project group of the caller's workspace by
// id, or by custom id when byCustomID is set.
func (s *Service) GetProjectGroup(ctx context.Context, ref string, byCustomID bool) (*shelf.Library, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	var g *shelf.Library
	err = s.store.View(ctx, func(tx shelf.Tx) (err error) {
		if !byCustomID {
			g, err = projectGroupTx(ctx, tx, p, ref)
			return err
		}
		g, err = tx.LibraryBySlug(ctx, p.WorkspaceID, groupSlugPrefix+ref)
		if shelf.ErrorCode(err) == shelf.ENOTFOUND || (err == nil && GroupCustomID(g) != ref) {
			return shelf.Errorf(shelf.ENOTFOUND, "no workspace with custom_id %q", ref)
		}
		return err
	})
	return g, err
}

// GroupList asks for a page of project groups, oldest first.
type GroupList struct {
	NameContains string
	// AfterTime and AfterID continue after the group with that
	// (CreatedAt, ID); zero from the first.
	AfterTime time.Time
	AfterID   string
	Limit     int // 1..MaxProjectPage
}

// ListProjectGroups returns a page of the caller's project groups.
func (s *Service) ListProjectGroups(ctx context.Context, q GroupList) ([]*shelf.Library, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	if err := checkPage(0, q.Limit); err != nil {
		return nil, err
	}
	if err := checkNameFilter(q.NameContains); err != nil {
		return nil, err
	}
	var out []*shelf.Library
	err = s.store.View(ctx, func(tx shelf.Tx) (err error) {
		out, err = tx.ListLibraries(ctx, p.WorkspaceID, shelf.LibraryQuery{Kind: shelf.KindProjectGroup,
			NameContains: q.NameContains, AfterTime: q.AfterTime, AfterID: q.AfterID, Limit: q.Limit})
		return err
	})
	return out, err
}

// maxGroupProjects bounds the projects DeleteProjectGroup deletes in one
// transaction.
const maxGroupProjects = 1000

// DeleteProjectGroup deletes a project group with its projects (their
// documents and memories); the library files they came from stay. A
// group of more than maxGroupProjects projects is EINVALID: delete some
// of its projects first.
func (s *Service) DeleteProjectGroup(ctx context.Context, id string) error {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return err
	}
	var ops []*shelf.TreeOp
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		ops = nil
		g, err := projectGroupTx(ctx, tx, p, id)
		if err != nil {
			return err
		}
		projs, total, err := tx.ListProjects(ctx, p.WorkspaceID, shelf.ProjectQuery{GroupID: g.ID, Limit: maxGroupProjects})
		if err != nil {
			return err
		}
		if total > len(projs) {
			return shelf.Errorf(shelf.EINVALID, "the workspace holds more than %d projects; delete some of them first", maxGroupProjects)
		}
		b := s.newBudget() // one batch for all of them
		for _, proj := range projs {
			more, err := s.deleteProjectTx(ctx, tx, proj, b)
			if err != nil {
				return err
			}
			ops = append(ops, more...)
		}
		return tx.DeleteLibrary(ctx, p.WorkspaceID, g.ID)
	})
	if err != nil {
		return err
	}
	return s.runTreeOps(ctx, ops)
}

// ProjectsOfGroup returns every project of a group (at most
// MaxProjectPage, or EINVALID), for searches over all of them.
func (s *Service) ProjectsOfGroup(ctx context.Context, groupID string) ([]*shelf.Project, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	return s.groupProjects(ctx, p, groupID, nil)
}

// groupProjects returns the projects ids names, each a project of the
// group, or ENOTFOUND naming the first that is not; no ids is every
// project of the group (at most MaxProjectPage, or EINVALID).
func (s *Service) groupProjects(ctx context.Context, p *shelf.Principal, groupID string, ids []string) ([]*shelf.Project, error) {
	if len(ids) > MaxProjectPage {
		return nil, shelf.Errorf(shelf.EINVALID, "at most %d projects at once", MaxProjectPage)
	}
	var out []*shelf.Project
	err := s.store.View(ctx, func(tx shelf.Tx) error {
		out = nil
		g, err := projectGroupTx(ctx, tx, p, groupID)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			var total int
			out, total, err = tx.ListProjects(ctx, p.WorkspaceID, shelf.ProjectQuery{GroupID: g.ID, Limit: MaxProjectPage})
			if err == nil && total > len(out) {
				err = shelf.Errorf(shelf.EINVALID, "the workspace holds more than %d projects; name the projects to search", MaxProjectPage)
			}
			return err
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			proj, err := groupProjectTx(ctx, tx, p, g, id, false)
			if err != nil {
				return err
			}
			out = append(out, proj)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, proj := range out {
		if proj.LibraryID == "" {
			return nil, shelf.Errorf(shelf.EUNAVAILABLE, "project %q is being upgraded; try again", proj.ID)
		}
	}
	return out, nil
}

// groupProjectTx returns the project of group g that ref names: its id,
// or its custom id when byCustomID is set. A project of another group, or
// of none, is ENOTFOUND.
func groupProjectTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, g *shelf.Library, ref string, byCustomID bool) (*shelf.Project, error) {
	var proj *shelf.Project
	var err error
	if byCustomID {
		proj, err = tx.ProjectByCustomID(ctx, p.WorkspaceID, g.ID, ref)
	} else {
		proj, err = tx.Project(ctx, p.WorkspaceID, ref)
	}
	if shelf.ErrorCode(err) == shelf.ENOTFOUND || (err == nil && proj.GroupID != g.ID) {
		what := "project"
		if byCustomID {
			what = "project with custom_id"
		}
		return nil, shelf.Errorf(shelf.ENOTFOUND, "%s %q not found in this workspace", what, ref)
	}
	return proj, err
}

// GroupProject returns the project of a group that ref names: its id, or
// its custom id when byCustomID is set. A project of another group, or
// of none, is ENOTFOUND, as is a group that is not the caller's.
func (s *Service) GroupProject(ctx context.Context, groupID, ref string, byCustomID bool) (*shelf.Project, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	var proj *shelf.Project
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		g, err := projectGroupTx(ctx, tx, p, groupID)
		if err != nil {
			return err
		}
		proj, err = groupProjectTx(ctx, tx, p, g, ref, byCustomID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return proj, nil
}

// GroupSearch asks the projects of a project group for the document
// chunks and the memories that best answer Query.
type GroupSearch struct {
	GroupID string
	// ProjectIDs are the projects to search, each of the group; none
	// searches every project of the group.
	ProjectIDs []string
	Query      string
	// DocumentTopN is how many document chunks to find (1 to MaxTopK),
	// or 0 to search no document.
	DocumentTopN int
	// MemoryTopK is how many memories to find (1 to MaxTopK), or 0 to
	// search no memory; UserIDs and Threshold narrow them as
	// MemorySearch's do.
	MemoryTopK int
	UserIDs    []string
	Threshold  float64
	// AgentIDs name agents whose memories to search. Shelf keeps no
	// agents, so naming any is ENOTFOUND.
	AgentIDs []string
}

// GroupFound is what SearchGroup found: document chunks as
// SearchDocuments finds them, memories as SearchMemories does, each best
// first; a list not asked for is empty.
type GroupFound struct {
	Documents []DocumentHit
	Memories  []MemoryHit
}

// SearchGroup searches the documents and the memories of a group's
// projects. Naming a project outside the group, or any agent, refuses the
// whole search (ENOTFOUND); a group without projects finds nothing. Every input is
// checked first, whether or not there is anything to search.
func (s *Service) SearchGroup(ctx context.Context, q GroupSearch) (*GroupFound, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	if q.DocumentTopN == 0 && q.MemoryTopK == 0 {
		return nil, shelf.Errorf(shelf.EINVALID, "nothing to search: ask for documents, memories or both")
	}
	sq := SearchQuery{Query: q.Query, TopK: q.DocumentTopN}
	if q.DocumentTopN == 0 {
		sq.TopK = DefaultTopK
	}
	if err := sq.check(); err != nil {
		return nil, err
	}
	ms := MemorySearch{UserIDs: q.UserIDs, Query: q.Query, TopK: q.MemoryTopK, Threshold: q.Threshold}
	if q.MemoryTopK != 0 {
		if err := ms.check(); err != nil {
			return nil, err
		}
	}
	projs, err := s.groupProjects(ctx, p, q.GroupID, q.ProjectIDs)
	if err != nil {
		return nil, err
	}
	if len(q.AgentIDs) > 0 {
		// An agent Shelf does not keep is one the caller cannot search:
		// the whole search is refused.
		return nil, shelf.Errorf(shelf.ENOTFOUND, "agent %q not found: Shelf keeps no agents", q.AgentIDs[0])
	}
	out := &GroupFound{Documents: []DocumentHit{}, Memories: []MemoryHit{}}
	if q.DocumentTopN != 0 {
		if out.Documents, err = s.searchDocuments(ctx, p, projs, q.Query, q.DocumentTopN); err != nil {
			return nil, err
		}
	}
	if q.MemoryTopK != 0 {
		if out.Memories, err = s.searchMemories(ctx, projs, ms); err != nil {
			return nil, err
		}
	}
	return out, nil
}
