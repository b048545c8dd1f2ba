package library

import (
	"context"
	"strings"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/index/extract"
)

// Project limits.
const (
	MaxProjectName        = 255   // bytes
	MaxProjectDescription = 2000  // bytes
	MaxProjectPage        = 100   // projects or documents per page
	MaxDocumentIDs        = 100   // ids per AddDocuments or RemoveDocuments
	MaxDocumentFiles      = 10000 // files per AddDocuments, folders flattened
)

// Project and document ids are a prefix and 32 hex digits, the shape of
// MemoryLake's (proj-…, doc-…): a UUIDv7 without its dashes, so they
// still sort by time.
const (
	projectIDPrefix  = "proj-"
	documentIDPrefix = "doc-"
)

func prefixedID(prefix string) string { return prefix + strings.ReplaceAll(newID(), "-", "") }

// Document statuses: where a document's file is in indexing, in
// MemoryLake's words.
const (
	DocumentPending = "pending"
	DocumentRunning = "running"
	DocumentOkay    = "okay"
	DocumentError   = "error"
)

// DocumentStatus is the status of a document whose file has index state
// state. A document has no state of its own: it is its file's.
//
//	queued  → pending (waiting for a worker, or for a retry)
//	running → running
//	indexed → okay    (searchable)
//	failed  → error   (retries used up)
//	""      → error   (not indexed and nothing queued: its index was
//	                   cleared, so it will not become searchable by itself;
//	                   adding the file to a project again queues it)
func DocumentStatus(state string) string {
	switch state {
	case shelf.IndexQueued:
		return DocumentPending
	case shelf.IndexRunning:
		return DocumentRunning
	case shelf.IndexIndexed:
		return DocumentOkay
	}
	return DocumentError
}

// project returns a project of the caller's workspace.
func (s *Service) project(ctx context.Context, p *shelf.Principal, id string) (*shelf.Project, error) {
	var proj *shelf.Project
	err := s.store.View(ctx, func(tx shelf.Tx) (err error) {
		proj, err = tx.Project(ctx, p.WorkspaceID, id)
		return err
	})
	if shelf.ErrorCode(err) == shelf.ENOTFOUND {
		return nil, shelf.Errorf(shelf.ENOTFOUND, "project %q not found", id)
	}
	return proj, err
}

// projectTx is project inside a transaction.
func projectTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, id string) (*shelf.Project, error) {
	proj, err := tx.Project(ctx, p.WorkspaceID, id)
	if shelf.ErrorCode(err) == shelf.ENOTFOUND {
		return nil, shelf.Errorf(shelf.ENOTFOUND, "project %q not found", id)
	}
	return proj, err
}

func checkProjectName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return shelf.Errorf(shelf.EINVALID, "name is empty")
	case len(name) > MaxProjectName:
		return shelf.Errorf(shelf.EINVALID, "name is longer than %d bytes", MaxProjectName)
	}
	return checkText("name", name)
}

func checkProjectDescription(d string) error {
	if len(d) > MaxProjectDescription {
		return shelf.Errorf(shelf.EINVALID, "description is longer than %d bytes", MaxProjectDescription)
	}
	return checkText("description", d)
}

// CreateProject makes a project in the caller's workspace. Names need not
// be unique.
func (s *Service) CreateProject(ctx context.Context, name, description string) (*shelf.Project, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	if err := checkProjectName(name); err != nil {
		return nil, err
	}
	if err := checkProjectDescription(description); err != nil {
		return nil, err
	}
	now := s.now()
	proj := &shelf.Project{ID: prefixedID(projectIDPrefix), WorkspaceID: p.WorkspaceID, Name: name,
		Description: description, CreatedAt: now, UpdatedAt: now}
	err = s.store.Update(ctx, func(tx shelf.Tx) error { return tx.CreateProject(ctx, proj) })
	if err != nil {
		return nil, err
	}
	return proj, nil
}

// GetProject returns a project of the caller's workspace.
func (s *Service) GetProject(ctx context.Context, id string) (*shelf.Project, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	return s.project(ctx, p, id)
}

// ListProjects returns a page of the caller's workspace's projects, oldest
// first, and how many the name filter keeps in all. q.NameContains is a
// literal substring, ASCII letters compared without case.
func (s *Service) ListProjects(ctx context.Context, q shelf.ProjectQuery) ([]*shelf.Project, int, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, 0, err
	}
	if err := checkPage(q.Offset, q.Limit); err != nil {
		return nil, 0, err
	}
	if len(q.NameContains) > MaxProjectName {
		return nil, 0, shelf.Errorf(shelf.EINVALID, "the name filter is longer than %d bytes", MaxProjectName)
	}
	if err := checkText("the name filter", q.NameContains); err != nil {
		return nil, 0, err
	}
	var out []*shelf.Project
	var total int
	err = s.store.View(ctx, func(tx shelf.Tx) (err error) {
		out, total, err = tx.ListProjects(ctx, p.WorkspaceID, q)
		return err
	})
	return out, total, err
}

func checkPage(offset, limit int) error {
	if limit < 1 || limit > MaxProjectPage {
		return shelf.Errorf(shelf.EINVALID, "page size must be 1 to %d", MaxProjectPage)
	}
	if offset < 0 {
		return shelf.Errorf(shelf.EINVALID, "page offset must not be negative")
	}
	return nil
}

// ProjectUpdate changes the fields that are set.
type ProjectUpdate struct {
	Name        *string
	Description *string
}

// UpdateProject changes a project's name or description; with neither set
// it returns the project unchanged.
func (s *Service) UpdateProject(ctx context.Context, id string, u ProjectUpdate) (*shelf.Project, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	if u.Name != nil {
		if err := checkProjectName(*u.Name); err != nil {
			return nil, err
		}
	}
	if u.Description != nil {
		if err := checkProjectDescription(*u.Description); err != nil {
			return nil, err
		}
	}
	var proj *shelf.Project
	err = s.store.Update(ctx, func(tx shelf.Tx) (err error) {
		if proj, err = projectTx(ctx, tx, p, id); err != nil {
			return err
		}
		if u.Name == nil && u.Description == nil {
			return nil
		}
		if u.Name != nil {
			proj.Name = *u.Name
		}
		if u.Description != nil {
			proj.Description = *u.Description
		}
		proj.UpdatedAt = s.now()
		return tx.UpdateProject(ctx, proj)
	})
	if err != nil {
		return nil, err
	}
	return proj, nil
}

// DeleteProject deletes a project and its documents; their files stay.
func (s *Service) DeleteProject(ctx context.Context, id string) error {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return err
	}
	err = s.store.Update(ctx, func(tx shelf.Tx) error { return tx.DeleteProject(ctx, p.WorkspaceID, id) })
	if shelf.ErrorCode(err) == shelf.ENOTFOUND {
		return shelf.Errorf(shelf.ENOTFOUND, "project %q not found", id)
	}
	return err
}

// AddDocuments adds files to a project, each id naming a file or a folder
// the caller sees (a folder stands for every file below it, at any depth).
// It returns how many files are in the project because of the request
// (success) and how many ids or files could not be added (failure):
//
//   - a file already in the project is a success, and stays one document;
//   - a file named twice (directly, or through folders) counts once;
//   - an id that names nothing the caller sees, or a hidden item, is a
//     failure;
//   - a file of an embedded library (never indexed), or of a type the
//     extractor does not read (judged by content type and extension), is a
//     failure and is not added.
//
// A file added whose index state is none (cleared) or failed is queued to
// be indexed again. An unknown project is ENOTFOUND. At most
// MaxDocumentIDs ids and MaxDocumentFiles files, or EINVALID and nothing
// changes.
func (s *Service) AddDocuments(ctx context.Context, projectID string, itemIDs []string) (success, failure int, err error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return 0, 0, err
	}
	switch {
	case len(itemIDs) == 0:
		return 0, 0, shelf.Errorf(shelf.EINVALID, "no item ids given")
	case len(itemIDs) > MaxDocumentIDs:
		return 0, 0, shelf.Errorf(shelf.EINVALID, "at most %d item ids per request", MaxDocumentIDs)
	}
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		success, failure = 0, 0 // fn may run more than once
		proj, err := projectTx(ctx, tx, p, projectID)
		if err != nil {
			return err
		}
		a := &docAdder{s: s, tx: tx, p: p, proj: proj, libs: map[string]*shelf.Library{}, seen: map[string]bool{}}
		for _, id := range itemIDs {
			if err := a.addItem(ctx, id); err != nil {
				return err
			}
		}
		success, failure = a.success, a.failure
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return success, failure, nil
}

// docAdder is one AddDocuments transaction.
type docAdder struct {
	s                *Service
	tx               shelf.Tx
	p                *shelf.Principal
	proj             *shelf.Project
	libs             map[string]*shelf.Library
	seen             map[string]bool // files counted
	success, failure int
}

// addItem adds the file id names, or every file below the folder it names.
func (a *docAdder) addItem(ctx context.Context, id string) error {
	it, err := getItem(ctx, a.tx, a.p, id)
	switch {
	case shelf.ErrorCode(err) == shelf.ENOTFOUND:
		a.failure++
		return nil
	case err != nil:
		return err
	case it.Hidden:
		a.failure++
		return nil
	case it.Type == shelf.TypeFile:
		return a.addFile(ctx, it)
	}
	after := ""
	for {
		page, err := a.tx.Tree(ctx, a.p.WorkspaceID, shelf.TreeQuery{LibraryID: it.LibraryID, Under: it.Path, After: after,
			Type: shelf.TypeFile, Filter: shelf.ItemFilter{Viewer: a.p.Owner()}, Limit: treePage})
		if err != nil {
			return err
		}
		for _, f := range page {
			if err := a.addFile(ctx, f); err != nil {
				return err
			}
		}
		if len(page) < treePage {
			return nil
		}
		after = page[len(page)-1].Path
	}
}

func (a *docAdder) addFile(ctx context.Context, it *shelf.Item) error {
	if a.seen[it.ID] {
		return nil
	}
	a.seen[it.ID] = true
	if len(a.seen) > MaxDocumentFiles {
		return shelf.Errorf(shelf.EINVALID, "the items name more than %d files; add fewer at a time", MaxDocumentFiles)
	}
	lib := a.libs[it.LibraryID]
	if lib == nil {
		var err error
		if lib, err = a.tx.Library(ctx, a.p.WorkspaceID, it.LibraryID); err != nil {
			return err
		}
		a.libs[lib.ID] = lib
	}
	if lib.Embedded || !extract.Supported(it.ContentType, it.Name) {
		a.failure++
		return nil
	}
	err := a.tx.AddProjectDocument(ctx, &shelf.ProjectDocument{ID: prefixedID(documentIDPrefix), ProjectID: a.proj.ID,
		WorkspaceID: a.p.WorkspaceID, ItemID: it.ID, CreatedAt: a.s.now()})
	if err != nil && shelf.ErrorCode(err) != shelf.ECONFLICT { // ECONFLICT: in the project already
		return err
	}
	a.success++
	if it.Index.State == shelf.IndexNone || it.Index.State == shelf.IndexFailed {
		return a.s.queueFileTx(ctx, a.tx, it)
	}
	return nil
}

// ListDocuments returns a page of a project's documents, oldest first,
// each with its file, and how many there are in all. Documents of files
// the caller does not see (hidden, or private to another key) are left
// out.
func (s *Service) ListDocuments(ctx context.Context, projectID string, offset, limit int) ([]*shelf.ProjectDocument, int, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, 0, err
	}
	if err := checkPage(offset, limit); err != nil {
		return nil, 0, err
	}
	var out []*shelf.ProjectDocument
	var total int
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		if _, err := projectTx(ctx, tx, p, projectID); err != nil {
			return err
		}
		out, total, err = tx.ProjectDocuments(ctx, p.WorkspaceID, projectID,
			shelf.DocumentQuery{Filter: shelf.ItemFilter{Viewer: p.Owner()}, Offset: offset, Limit: limit})
		return err
	})
	return out, total, err
}

// GetDocument returns a document of a project, with its file.
func (s *Service) GetDocument(ctx context.Context, projectID, id string) (*shelf.ProjectDocument, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	var d *shelf.ProjectDocument
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		if _, err := projectTx(ctx, tx, p, projectID); err != nil {
			return err
		}
		d, err = tx.ProjectDocument(ctx, p.WorkspaceID, projectID, id)
		if shelf.ErrorCode(err) == shelf.ENOTFOUND || (err == nil && (d.Item.Hidden || !d.Item.VisibleTo(p))) {
			return shelf.Errorf(shelf.ENOTFOUND, "document %q not found in project %q", id, projectID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// RemoveDocuments removes documents from a project (their files stay) and
// returns how many it removed; ids that name no document of the project
// are ignored. An unknown project is ENOTFOUND.
func (s *Service) RemoveDocuments(ctx context.Context, projectID string, ids []string) (int, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return 0, err
	}
	switch {
	case len(ids) == 0:
		return 0, shelf.Errorf(shelf.EINVALID, "no document ids given")
	case len(ids) > MaxDocumentIDs:
		return 0, shelf.Errorf(shelf.EINVALID, "at most %d document ids per request", MaxDocumentIDs)
	}
	var n int
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		if _, err := projectTx(ctx, tx, p, projectID); err != nil {
			return err
		}
		n, err = tx.DeleteProjectDocuments(ctx, p.WorkspaceID, projectID, ids)
		return err
	})
	return n, err
}

// DocumentHit is a search hit and the project document of its file.
type DocumentHit struct {
	SearchHit
	Document *shelf.ProjectDocument // without its Item: SearchHit.Item is the file
}

// SearchDocuments searches a project's documents: Search with the project
// filter, topN hits at most (1 to MaxTopK), each with its document. A hit
// whose document was removed meanwhile is left out.
func (s *Service) SearchDocuments(ctx context.Context, projectID, query string, topN int) ([]DocumentHit, error) {
	if topN < 1 || topN > MaxTopK {
		return nil, shelf.Errorf(shelf.EINVALID, "the number of results must be between 1 and %d", MaxTopK)
	}
	res, err := s.Search(ctx, SearchQuery{Query: query, TopK: topN, Filters: SearchFilters{Project: projectID}})
	if err != nil {
		return nil, err
	}
	if len(res.Hits) == 0 {
		return []DocumentHit{}, nil
	}
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var itemIDs []string
	for _, h := range res.Hits {
		itemIDs = append(itemIDs, h.Item.ID)
	}
	var docs map[string]*shelf.ProjectDocument
	err = s.store.View(ctx, func(tx shelf.Tx) (err error) {
		docs, err = tx.ProjectDocumentsOf(ctx, p.WorkspaceID, projectID, itemIDs)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]DocumentHit, 0, len(res.Hits))
	for _, h := range res.Hits {
		if d := docs[h.Item.ID]; d != nil {
			out = append(out, DocumentHit{SearchHit: h, Document: d})
		}
	}
	return out, nil
}
