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
	return s.store.Update(ctx, func(tx shelf.Tx) error {
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
		for _, proj := range projs {
			if err := deleteProjectTx(ctx, tx, proj); err != nil {
				return err
			}
		}
		return tx.DeleteLibrary(ctx, p.WorkspaceID, g.ID)
	})
}

// ProjectsOfGroup returns every project of a group (at most
// MaxProjectPage, or EINVALID), for searches over all of them.
func (s *Service) ProjectsOfGroup(ctx context.Context, groupID string) ([]*shelf.Project, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	var out []*shelf.Project
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		if _, err := projectGroupTx(ctx, tx, p, groupID); err != nil {
			return err
		}
		var total int
		out, total, err = tx.ListProjects(ctx, p.WorkspaceID, shelf.ProjectQuery{GroupID: groupID, Limit: MaxProjectPage})
		if err == nil && total > len(out) {
			err = shelf.Errorf(shelf.EINVALID, "the workspace holds more than %d projects; name the projects to search", MaxProjectPage)
		}
		return err
	})
	return out, err
}
