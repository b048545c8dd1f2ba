package library

import (
	"context"
	"encoding/json"
	"strings"

	shelf "github.com/shelfmem/shelf"
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

// A project's library (kind shelf.KindProject) holds, under
// documentsFolder, one folder per document named by its id with the
// document's own file in it, and under memoriesFolder its memories.
const (
	projectSlugPrefix = "project:"
	documentsFolder   = "documents"
	memoriesFolder    = "memories"
)

// Document statuses: where a document's own file is in indexing, in
// MemoryLake's words.
const (
	DocumentPending = "pending"
	DocumentRunning = "running"
	DocumentOkay    = "okay"
	DocumentError   = "error"
)

// DocumentStatus is the status of a document whose own file has index
// state state. A document has no state of its own: it is its file's.
//
//	queued  → pending (waiting for a worker, or for a retry)
//	running → running
//	indexed → okay    (searchable)
//	failed  → error   (retries used up)
//	skipped → error   (no text; not reached, as such files are never
//	                   made documents)
//	""      → error   (not indexed and nothing queued: its index was
//	                   cleared, so it will not become searchable by itself;
//	                   adding the file to the project again queues it)
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

// projectTx returns a project of the caller's workspace.
func projectTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, id string) (*shelf.Project, error) {
	proj, err := tx.Project(ctx, p.WorkspaceID, id)
	if shelf.ErrorCode(err) == shelf.ENOTFOUND {
		return nil, shelf.Errorf(shelf.ENOTFOUND, "project %q not found", id)
	}
	return proj, err
}

// project is projectTx in a transaction of its own.
func (s *Service) project(ctx context.Context, p *shelf.Principal, id string) (*shelf.Project, error) {
	var proj *shelf.Project
	err := s.store.View(ctx, func(tx shelf.Tx) (err error) {
		proj, err = projectTx(ctx, tx, p, id)
		return err
	})
	return proj, err
}

// projectLibraryTx returns a project's own library.
func projectLibraryTx(ctx context.Context, tx shelf.Tx, proj *shelf.Project) (*shelf.Library, error) {
	if proj.LibraryID == "" {
		return nil, shelf.Errorf(shelf.EUNAVAILABLE, "project %q is being upgraded; try again", proj.ID)
	}
	return tx.Library(ctx, proj.WorkspaceID, proj.LibraryID)
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

// checkCustomID checks a caller's own id of a project or a group: a label
// without slashes, so that it can stand in a URL path.
func checkCustomID(id string) error {
	if strings.TrimSpace(id) == "" || strings.ContainsAny(id, "/\\") {
		return shelf.Errorf(shelf.EINVALID, "custom_id must not be empty or contain a slash")
	}
	return checkLabel("custom_id", id)
}

// checkSpec checks the fields a project and a project group share, and
// returns the metadata compacted.
func checkSpec(name, description, customID string, metadata json.RawMessage) (json.RawMessage, error) {
	if err := checkProjectName(name); err != nil {
		return nil, err
	}
	if err := checkProjectDescription(description); err != nil {
		return nil, err
	}
	if customID != "" {
		if err := checkCustomID(customID); err != nil {
			return nil, err
		}
	}
	return compactObject("metadata", metadata)
}

// ProjectSpec describes a project to make.
type ProjectSpec struct {
	Name        string
	Description string
	// GroupID is the id of a project group (MemoryLake's v3 workspace)
	// of the caller's workspace, or "" for none.
	GroupID string
	// CustomID is the caller's own id for the project, unique in its
	// group; "" for none.
	CustomID string
	Metadata json.RawMessage // a JSON object, or nil
}

// CreateProject makes a project, and its library, in the caller's
// workspace. Names need not be unique; a custom id taken in the group is
// ECONFLICT, an unknown group ENOTFOUND.
func (s *Service) CreateProject(ctx context.Context, spec ProjectSpec) (*shelf.Project, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	meta, err := checkSpec(spec.Name, spec.Description, spec.CustomID, spec.Metadata)
	if err != nil {
		return nil, err
	}
	now := s.now()
	proj := &shelf.Project{ID: prefixedID(projectIDPrefix), WorkspaceID: p.WorkspaceID, GroupID: spec.GroupID,
		CustomID: spec.CustomID, Name: spec.Name, Description: spec.Description, Metadata: meta, CreatedAt: now, UpdatedAt: now}
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		if spec.GroupID != "" {
			if _, err := projectGroupTx(ctx, tx, p, spec.GroupID); err != nil {
				return err
			}
		}
		if spec.CustomID != "" {
			if _, err := tx.ProjectByCustomID(ctx, p.WorkspaceID, spec.GroupID, spec.CustomID); err == nil {
				return shelf.Errorf(shelf.ECONFLICT, "a project with custom_id %q exists", spec.CustomID)
			} else if shelf.ErrorCode(err) != shelf.ENOTFOUND {
				return err
			}
		}
		return s.createProjectTx(ctx, tx, proj)
	})
	if err != nil {
		return nil, err
	}
	return proj, nil
}

// createProjectTx makes proj's library and stores proj.
func (s *Service) createProjectTx(ctx context.Context, tx shelf.Tx, proj *shelf.Project) error {
	lib, err := s.createLibraryTx(ctx, tx, proj.WorkspaceID, projectSlugPrefix+proj.ID, proj.ID, shelf.KindProject)
	if err != nil {
		return err
	}
	proj.LibraryID = lib.ID
	return tx.CreateProject(ctx, proj)
}

// GetProject returns a project of the caller's workspace.
func (s *Service) GetProject(ctx context.Context, id string) (*shelf.Project, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	return s.project(ctx, p, id)
}

// ProjectByCustomID returns the project of a group ("" for none) with a
// custom id.
func (s *Service) ProjectByCustomID(ctx context.Context, groupID, customID string) (*shelf.Project, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	var proj *shelf.Project
	err = s.store.View(ctx, func(tx shelf.Tx) (err error) {
		proj, err = tx.ProjectByCustomID(ctx, p.WorkspaceID, groupID, customID)
		return err
	})
	if shelf.ErrorCode(err) == shelf.ENOTFOUND {
		return nil, shelf.Errorf(shelf.ENOTFOUND, "no project with custom_id %q", customID)
	}
	return proj, err
}

// ListProjects returns a page of the caller's workspace's projects (of one
// group when q.GroupID is set), oldest first, and how many the filters
// keep in all. q.NameContains is a literal substring, ASCII letters
// compared without case.
func (s *Service) ListProjects(ctx context.Context, q shelf.ProjectQuery) ([]*shelf.Project, int, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, 0, err
	}
	if err := checkPage(q.Offset, q.Limit); err != nil {
		return nil, 0, err
	}
	if err := checkNameFilter(q.NameContains); err != nil {
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

func checkNameFilter(f string) error {
	if len(f) > MaxProjectName {
		return shelf.Errorf(shelf.EINVALID, "the name filter is longer than %d bytes", MaxProjectName)
	}
	return checkText("the name filter", f)
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

// DeleteProject deletes a project with its documents and memories (its
// libraries, which go as DeleteLibrary's do: hidden at once, their items
// in batches); the library files its documents came from stay.
func (s *Service) DeleteProject(ctx context.Context, id string) error {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return err
	}
	var ops []*shelf.TreeOp
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		proj, err := projectTx(ctx, tx, p, id)
		if err != nil {
			return err
		}
		ops, err = s.deleteProjectTx(ctx, tx, proj, s.newBudget())
		return err
	})
	if err != nil {
		return err
	}
	return s.runTreeOps(ctx, ops)
}

// runTreeOps runs ops that a request's transaction started, in turn.
func (s *Service) runTreeOps(ctx context.Context, ops []*shelf.TreeOp) error {
	for _, op := range ops {
		if _, err := s.runTreeOp(context.WithoutCancel(ctx), op); err != nil {
			return err
		}
	}
	return nil
}

// deleteProjectTx deletes a project and starts the purge of its
// libraries, within b; it returns the purges to finish after the
// transaction.
func (s *Service) deleteProjectTx(ctx context.Context, tx shelf.Tx, proj *shelf.Project, b *budget) ([]*shelf.TreeOp, error) {
	if err := tx.DeleteProject(ctx, proj.WorkspaceID, proj.ID); err != nil {
		return nil, err
	}
	libs := []string{proj.LibraryID}
	if mem, err := tx.LibraryBySlug(ctx, proj.WorkspaceID, memoriesSlugPrefix+proj.ID); err == nil {
		libs = append(libs, mem.ID)
	} else if shelf.ErrorCode(err) != shelf.ENOTFOUND {
		return nil, err
	}
	var ops []*shelf.TreeOp
	for _, id := range libs {
		if id == "" {
			continue
		}
		l, err := tx.Library(ctx, proj.WorkspaceID, id)
		if shelf.ErrorCode(err) == shelf.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		op, err := s.purgeLibraryTx(ctx, tx, l, b)
		if err != nil {
			return nil, err
		}
		if op != nil {
			ops = append(ops, op)
		}
	}
	return ops, nil
}

// What importing a file into a project did (DocumentResult.Result).
const (
	ImportAdded     = "added"     // a new document
	ImportRefreshed = "refreshed" // the document's copy took the file's new bytes
	ImportDuplicate = "duplicate" // the document holds the file's bytes already
	ImportFailed    = "failed"    // not imported; Reason says why
)

// DocumentResult is what became of one file, or of one id that names
// nothing importable, in AddDocuments.
type DocumentResult struct {
	SourceID   string // the library file (or the id given)
	DocumentID string // "" when it failed
	Result     string
	Reason     string // for ImportFailed
}

// Imported is what AddDocuments did, a result per file in the order met.
type Imported struct {
	Results                              []DocumentResult
	Added, Refreshed, Duplicates, Failed int
}

// AddDocuments imports library files into a project, each id naming a
// file or a folder the caller sees (a folder stands for every file below
// it, at any depth). A document is a copy of the file's head version in
// the project's own library, indexed there, so it keeps its bytes and its
// chunks whatever later happens to the file. Per file:
//
//   - not in the project yet: a new document (ImportAdded);
//   - in the project, with other bytes than the file's now: the document's
//     copy takes them, a new version indexed again (ImportRefreshed);
//   - in the project with the same bytes: nothing changes
//     (ImportDuplicate);
//   - a file named twice (directly, or through folders) counts once.
//
// Failures: an id that names nothing the caller sees (unknown, another
// workspace's, hidden), a file of an embedded library (never indexed), a
// file named directly whose type the extractor does not read (judged by
// content type and extension). A file of such a type met inside a folder
// is skipped silently: it is in no result. A document whose copy's index
// was cleared or failed is queued again. An unknown project is ENOTFOUND.
// At most MaxDocumentIDs ids and MaxDocumentFiles files, or EINVALID and
// nothing changes.
func (s *Service) AddDocuments(ctx context.Context, projectID string, itemIDs []string) (*Imported, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	switch {
	case len(itemIDs) == 0:
		return nil, shelf.Errorf(shelf.EINVALID, "no item ids given")
	case len(itemIDs) > MaxDocumentIDs:
		return nil, shelf.Errorf(shelf.EINVALID, "at most %d item ids per request", MaxDocumentIDs)
	}
	var out *Imported
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		proj, err := projectTx(ctx, tx, p, projectID)
		if err != nil {
			return err
		}
		lib, err := projectLibraryTx(ctx, tx, proj)
		if err != nil {
			return err
		}
		a := &docAdder{s: s, tx: tx, p: p, proj: proj, lib: lib, libs: map[string]*shelf.Library{},
			seen: map[string]bool{}, out: &Imported{}}
		for _, id := range itemIDs {
			if err := a.addItem(ctx, id); err != nil {
				return err
			}
		}
		out = a.out // fn may run more than once: only the last run's counts
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// docAdder is one AddDocuments transaction.
type docAdder struct {
	s    *Service
	tx   shelf.Tx
	p    *shelf.Principal
	proj *shelf.Project
	lib  *shelf.Library // the project's
	libs map[string]*shelf.Library
	seen map[string]bool // files met
	out  *Imported
}

func (a *docAdder) result(r DocumentResult) {
	a.out.Results = append(a.out.Results, r)
	switch r.Result {
	case ImportAdded:
		a.out.Added++
	case ImportRefreshed:
		a.out.Refreshed++
	case ImportDuplicate:
		a.out.Duplicates++
	default:
		a.out.Failed++
	}
}

func (a *docAdder) fail(sourceID, reason string) {
	a.result(DocumentResult{SourceID: sourceID, Result: ImportFailed, Reason: reason})
}

// addItem imports the file id names, or every file below the folder it
// names.
func (a *docAdder) addItem(ctx context.Context, id string) error {
	it, err := getItem(ctx, a.tx, a.p, id)
	switch {
	case shelf.ErrorCode(err) == shelf.ENOTFOUND:
		a.fail(id, "no such file or folder")
		return nil
	case err != nil:
		return err
	case it.Hidden:
		a.fail(id, "no such file or folder")
		return nil
	}
	lib, err := a.library(ctx, it.LibraryID)
	if err != nil {
		return err
	}
	if internalKind(lib.Kind) {
		a.fail(id, "no such file or folder") // internal: not a library file
		return nil
	}
	if it.Type == shelf.TypeFile {
		return a.addFile(ctx, lib, it, false)
	}
	after := ""
	for {
		page, err := a.tx.Tree(ctx, a.p.WorkspaceID, shelf.TreeQuery{LibraryID: it.LibraryID, Under: it.Path, After: after,
			Type: shelf.TypeFile, Filter: shelf.ItemFilter{Viewer: a.p.Owner()}, Limit: treePage})
		if err != nil {
			return err
		}
		for _, f := range page {
			if err := a.addFile(ctx, lib, f, true); err != nil {
				return err
			}
		}
		if len(page) < treePage {
			return nil
		}
		after = page[len(page)-1].Path
	}
}

func (a *docAdder) library(ctx context.Context, id string) (*shelf.Library, error) {
	if l := a.libs[id]; l != nil {
		return l, nil
	}
	l, err := a.tx.Library(ctx, a.p.WorkspaceID, id)
	if err != nil {
		return nil, err
	}
	a.libs[id] = l
	return l, nil
}

// addFile imports one file of lib; inFolder tells that a folder named it,
// so that a type the extractor does not read is skipped, not failed.
func (a *docAdder) addFile(ctx context.Context, lib *shelf.Library, it *shelf.Item, inFolder bool) error {
	if a.seen[it.ID] {
		return nil
	}
	a.seen[it.ID] = true
	if len(a.seen) > MaxDocumentFiles {
		return shelf.Errorf(shelf.EINVALID, "the items name more than %d files; add fewer at a time", MaxDocumentFiles)
	}
	switch {
	case lib.Embedded:
		a.fail(it.ID, "the file's library is embedded: it is never indexed")
		return nil
	case !Extractable(it):
		if !inFolder {
			a.fail(it.ID, "Shelf cannot read files of type "+it.ContentType)
		}
		return nil
	}
	d, err := a.tx.ProjectDocumentBySource(ctx, a.p.WorkspaceID, a.proj.ID, it.ID)
	switch {
	case shelf.ErrorCode(err) == shelf.ENOTFOUND:
		d, err = a.s.copyDocumentTx(ctx, a.tx, a.p, a.proj, a.lib, it)
		if err != nil {
			return err
		}
		a.result(DocumentResult{SourceID: it.ID, DocumentID: d.ID, Result: ImportAdded})
		return nil
	case err != nil:
		return err
	}
	res := DocumentResult{SourceID: it.ID, DocumentID: d.ID, Result: ImportDuplicate}
	cp := d.Item
	if cp.Hash != it.Hash {
		res.Result = ImportRefreshed
		if err := a.s.refreshCopyTx(ctx, a.tx, a.lib, cp, it); err != nil {
			return err
		}
	} else if cp.Index.State == shelf.IndexNone || cp.Index.State == shelf.IndexFailed {
		if err := a.s.queueFileTx(ctx, a.tx, cp); err != nil {
			return err
		}
	}
	a.result(res)
	return nil
}

// copyDocumentTx makes a new document of proj from the library file src:
// its own file at documents/<document id>/<name> in the project's library
// lib, whose version 1 holds src's head bytes (the same blob), indexed
// with src's chunks or queued to be.
func (s *Service) copyDocumentTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, proj *shelf.Project, lib *shelf.Library, src *shelf.Item) (*shelf.ProjectDocument, error) {
	d := &shelf.ProjectDocument{ID: prefixedID(documentIDPrefix), ProjectID: proj.ID, WorkspaceID: proj.WorkspaceID,
		SourceID: src.ID, CreatedAt: s.now()}
	// A private file is seen only by its owner, so p owns the copy too.
	cp, err := s.copyFileTx(ctx, tx, p, lib, d.ID, src)
	if err != nil {
		return nil, err
	}
	d.ItemID, d.Item = cp.ID, cp
	if err := tx.AddProjectDocument(ctx, d); err != nil {
		return nil, err
	}
	return d, nil
}

// copyFileTx makes the own file of document docID in the project library
// lib: documents/<docID>/<name>, whose version 1 holds src's head bytes
// (the same blob, so no byte is copied), owned by p when src is private,
// with src's chunks when it has them (reuseChunksTx), else queued to be
// indexed.
func (s *Service) copyFileTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, lib *shelf.Library, docID string, src *shelf.Item) (*shelf.Item, error) {
	doc := Doc{Path: documentsFolder + "/" + docID + "/" + src.Name, Title: src.Name, Scope: src.Scope,
		Metadata: src.Metadata, ContentType: src.ContentType}
	up, err := s.createAtTx(ctx, tx, p, lib, &doc, &content{ref: shelf.BlobRef{Hash: src.Hash, Size: src.Size}}, ConflictDeny)
	if err != nil {
		return nil, err
	}
	return up.Item, s.reuseChunksTx(ctx, tx, src, up.Item)
}

// reuseChunksTx gives a document's own file cp, just queued to be indexed,
// the chunks (and embeddings) of the library file src when src is indexed
// and holds the same bytes: no second extraction or embedding, and the
// document is searchable at once. Otherwise cp stays queued.
func (s *Service) reuseChunksTx(ctx context.Context, tx shelf.Tx, src, cp *shelf.Item) error {
	if src.Index.State != shelf.IndexIndexed || src.Hash != cp.Hash || cp.Index.State != shelf.IndexQueued {
		return nil
	}
	if _, err := tx.CopyChunks(ctx, cp.WorkspaceID, src.ID, cp.ID, cp.Head); err != nil {
		return err
	}
	if err := tx.DeleteIndexJob(ctx, cp.WorkspaceID, cp.ID); err != nil && shelf.ErrorCode(err) != shelf.ENOTFOUND {
		return err
	}
	cp.Index = shelf.IndexStatus{State: shelf.IndexIndexed, IndexedAt: s.now()}
	return tx.SetIndexStatus(ctx, cp.WorkspaceID, cp.ID, cp.Index)
}

// refreshCopyTx gives a document's own file cp the head bytes, type, name
// and metadata of the library file src, as a new version indexed again.
func (s *Service) refreshCopyTx(ctx context.Context, tx shelf.Tx, lib *shelf.Library, cp, src *shelf.Item) error {
	now := s.now()
	v := &shelf.Version{ID: newID(), ItemID: cp.ID, WorkspaceID: cp.WorkspaceID, Number: cp.Head + 1,
		Hash: src.Hash, Size: src.Size, ContentType: src.ContentType, CreatedAt: now}
	if err := tx.CreateVersion(ctx, v); err != nil {
		return err
	}
	if cp.Name != src.Name { // the copy is alone in its folder
		dir, _ := splitPath(cp.Path)
		cp.Name, cp.Path, cp.Title = src.Name, JoinPath(dir, NameKey(src.Name)), src.Name
	}
	cp.Head, cp.Hash, cp.Size, cp.ContentType = v.Number, v.Hash, v.Size, v.ContentType
	cp.Metadata, cp.UpdatedAt = src.Metadata, now
	if err := s.indexNewHeadTx(ctx, tx, lib, cp); err != nil {
		return err
	}
	return s.reuseChunksTx(ctx, tx, src, cp)
}

// ListDocuments returns a page of a project's documents (q's paging and
// name filter), oldest first, each with its own file, and how many the
// filter keeps in all. Documents of files the caller does not see
// (private to another key) are left out.
func (s *Service) ListDocuments(ctx context.Context, projectID string, q shelf.DocumentQuery) ([]*shelf.ProjectDocument, int, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, 0, err
	}
	if err := checkPage(q.Offset, q.Limit); err != nil {
		return nil, 0, err
	}
	if err := checkNameFilter(q.NameContains); err != nil {
		return nil, 0, err
	}
	q.Filter = shelf.ItemFilter{Viewer: p.Owner()}
	var out []*shelf.ProjectDocument
	var total int
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		if _, err := projectTx(ctx, tx, p, projectID); err != nil {
			return err
		}
		out, total, err = tx.ProjectDocuments(ctx, p.WorkspaceID, projectID, q)
		return err
	})
	return out, total, err
}

// GetDocument returns a document of a project, with its own file.
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
		d, err = documentTx(ctx, tx, p, projectID, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

func documentTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, projectID, id string) (*shelf.ProjectDocument, error) {
	d, err := tx.ProjectDocument(ctx, p.WorkspaceID, projectID, id)
	if shelf.ErrorCode(err) == shelf.ENOTFOUND || (err == nil && (d.Item.Hidden || !d.Item.VisibleTo(p))) {
		return nil, shelf.Errorf(shelf.ENOTFOUND, "document %q not found in project %q", id, projectID)
	}
	return d, err
}

// RemoveDocuments removes documents from a project, with their own files
// (the library files they came from stay), and returns how many it
// removed; ids that name no document of the project the caller sees are
// ignored. An unknown project is ENOTFOUND.
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
		n = 0
		if _, err := projectTx(ctx, tx, p, projectID); err != nil {
			return err
		}
		for _, id := range ids {
			d, err := documentTx(ctx, tx, p, projectID, id)
			if shelf.ErrorCode(err) == shelf.ENOTFOUND {
				continue
			} else if err != nil {
				return err
			}
			// The document's folder holds its own file; the document
			// goes with it.
			if _, err := tx.DeleteTree(ctx, p.WorkspaceID, d.Item.ParentID); err != nil && shelf.ErrorCode(err) != shelf.ENOTFOUND {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// DocumentHit is a search hit and the project document of its file.
type DocumentHit struct {
	SearchHit
	Document *shelf.ProjectDocument // without its Item: SearchHit.Item is the document's own file
}

// SearchDocuments searches the documents of projects: Search within the
// projects' documents, topN hits at most (1 to MaxTopK), each with its
// document, best first. A hit whose document was removed meanwhile is
// left out.
func (s *Service) SearchDocuments(ctx context.Context, projectIDs []string, query string, topN int) ([]DocumentHit, error) {
	if topN < 1 || topN > MaxTopK {
		return nil, shelf.Errorf(shelf.EINVALID, "the number of results must be between 1 and %d", MaxTopK)
	}
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	projs, err := s.projects(ctx, p, projectIDs)
	if err != nil {
		return nil, err
	}
	return s.searchDocuments(ctx, p, projs, query, topN)
}

// searchDocuments is SearchDocuments over projects found already. No
// project finds nothing, once the query is checked.
func (s *Service) searchDocuments(ctx context.Context, p *shelf.Principal, projs []*shelf.Project, query string, topN int) ([]DocumentHit, error) {
	if len(projs) == 0 { // no library to search: never search them all
		sq := SearchQuery{Query: query, TopK: topN}
		if err := sq.check(); err != nil {
			return nil, err
		}
		return []DocumentHit{}, nil
	}
	libs := make([]string, len(projs))
	byLib := map[string]*shelf.Project{}
	for i, proj := range projs {
		libs[i], byLib[proj.LibraryID] = proj.LibraryID, proj
	}
	res, err := s.Search(ctx, SearchQuery{Query: query, TopK: topN,
		Filters: SearchFilters{libraryIDs: libs, PathPrefix: documentsFolder}})
	if err != nil {
		return nil, err
	}
	if len(res.Hits) == 0 {
		return []DocumentHit{}, nil
	}
	itemIDs := map[string][]string{} // by project
	for _, h := range res.Hits {
		proj := byLib[h.Item.LibraryID]
		itemIDs[proj.ID] = append(itemIDs[proj.ID], h.Item.ID)
	}
	docs := map[string]*shelf.ProjectDocument{}
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		for projID, ids := range itemIDs {
			of, err := tx.ProjectDocumentsOf(ctx, p.WorkspaceID, projID, ids)
			if err != nil {
				return err
			}
			for id, d := range of {
				docs[id] = d
			}
		}
		return nil
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

// projects returns the projects ids names, each of the caller's
// workspace, or ENOTFOUND naming the first that is not.
func (s *Service) projects(ctx context.Context, p *shelf.Principal, ids []string) ([]*shelf.Project, error) {
	if len(ids) == 0 {
		return nil, shelf.Errorf(shelf.EINVALID, "no project named")
	}
	if len(ids) > MaxProjectPage {
		return nil, shelf.Errorf(shelf.EINVALID, "at most %d projects at once", MaxProjectPage)
	}
	out := make([]*shelf.Project, 0, len(ids))
	err := s.store.View(ctx, func(tx shelf.Tx) error {
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			proj, err := projectTx(ctx, tx, p, id)
			if err != nil {
				return err
			}
			if proj.LibraryID == "" {
				return shelf.Errorf(shelf.EUNAVAILABLE, "project %q is being upgraded; try again", proj.ID)
			}
			out = append(out, proj)
		}
		return nil
	})
	return out, err
}
