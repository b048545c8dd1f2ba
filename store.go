package shelf

import (
	"context"
	"time"
)

// Store keeps Shelf's metadata. All access goes through transactions.
// Implementations are safe for concurrent use.
type Store interface {
	// View runs fn in a read-only transaction that sees one consistent
	// snapshot. Writes inside fn fail.
	View(ctx context.Context, fn func(Tx) error) error

	// Update runs fn in a read-write transaction: all of its writes commit
	// together when fn returns nil, and none do when it returns an error. A
	// store may run fn more than once (on a serialization failure), so fn must
	// have no effects outside the transaction. Writes are durable when Update
	// returns nil.
	Update(ctx context.Context, fn func(Tx) error) error

	Close() error
}

// ItemFilter narrows a listing: private items of other owners and hidden
// items are left out unless asked for.
type ItemFilter struct {
	Viewer     string // a Principal.Owner; private items of others are left out
	WithHidden bool   // include hidden items
	// AllScopes includes every principal's private items (Tree,
	// DeleteBelow and ProjectDocuments only: for the core's own sweeps,
	// never for a caller's view).
	AllScopes bool
}

// ItemQuery selects items across libraries. Empty fields select all; the
// set fields are ANDed. Only non-root items are returned.
type ItemQuery struct {
	LibraryIDs    []string // nil: any library
	IDs           []string
	ExternalIDs   []string
	Type          ItemType
	CreatedAfter  time.Time // inclusive
	CreatedBefore time.Time // exclusive
	Hidden        *bool     // nil: both
	Viewer        string    // as in ItemFilter
	Limit         int       // > 0

	// ExternalIDPrefix selects the items whose external id starts with
	// it, compared bytewise (no pattern characters, no case folding);
	// "" selects all. A store serves it as a range of the external id
	// index of each library.
	ExternalIDPrefix string
}

// LibraryQuery selects a page of libraries. The set fields are ANDed.
type LibraryQuery struct {
	Kind string // "" for any
	// After is the (CreatedAt, ID) of the last library of the previous
	// page; zero from the first.
	AfterTime time.Time
	AfterID   string
	Desc      bool
	// Metadata selects libraries whose metadata holds each key with the
	// value: a JSON string equal to it, or a number or boolean whose JSON
	// text is.
	Metadata map[string]string
	// XAttrs selects libraries whose x_attrs hold each key with the value.
	XAttrs map[string]string
	// NameContains selects libraries whose name contains it, ASCII
	// letters compared without case; a literal (% and _ are no
	// wildcards).
	NameContains string
	Limit        int // > 0
}

// TreeQuery selects items strictly below a folder's path, at any depth.
type TreeQuery struct {
	LibraryID string
	Under     string // a folder's path; "" for the library root
	After     string // a path; the page starts after it ("" from the first)
	Type      ItemType
	Filter    ItemFilter
	Limit     int // > 0
}

// ListQuery lists a folder's children, or every item of a library, by
// offset in a sort order: for APIs that page by position.
type ListQuery struct {
	LibraryID    string
	ParentID     string // a folder's children; ignored when Recursive
	Recursive    bool   // every item of the library but its root
	NameContains string // a case-insensitive substring of the name; "" for any
	Type         ItemType
	// Sort is ListByName (the default for children), ListByPath (the
	// default when recursive), ListBySize, ListByCreated, ListByUpdated or
	// ListByType; ties go by name (path when recursive), which is unique.
	Sort string
	Desc bool
	// After continues a list sorted by name (by path when recursive) after
	// that name or path, instead of counting Offset rows from the start.
	After  string
	Offset int
	Limit  int // > 0
	Filter ItemFilter
}

// ListQuery sort keys.
const (
	ListByName    = "name"
	ListByPath    = "path"
	ListBySize    = "size"
	ListByCreated = "created_at"
	ListByUpdated = "updated_at"
	ListByType    = "type"
)

// Tx is one transaction. Every lookup of a workspace's rows takes the
// workspace id and finds nothing (ENOTFOUND) in another workspace. Methods
// that find nothing return ENOTFOUND; inserts that break a uniqueness rule
// return ECONFLICT. A Tx must not be used after its function returns.
type Tx interface {
	// Setting returns the value stored under name, or ENOTFOUND.
	Setting(ctx context.Context, name string) (string, error)
	// SetSetting stores value under name, replacing any earlier value.
	SetSetting(ctx context.Context, name, value string) error

	CreateWorkspace(ctx context.Context, w *Workspace) error
	Workspace(ctx context.Context, id string) (*Workspace, error)
	Workspaces(ctx context.Context) ([]*Workspace, error)

	// CreateKey inserts a key with every field of k (a nil RateLimit, and
	// one whose PerSecond is 0, are kept apart); ECONFLICT if its id is
	// taken, ENOTFOUND if its workspace does not exist.
	CreateKey(ctx context.Context, k *Key) error
	// Key finds a key by id in any workspace (authentication needs this).
	Key(ctx context.Context, id string) (*Key, error)
	// Keys lists a workspace's keys, oldest first.
	Keys(ctx context.Context, workspaceID string) ([]*Key, error)
	// ListKeys returns the page of the workspace's keys that q selects,
	// ordered by (CreatedAt, ID), and how many keys q's name filter keeps
	// in all pages.
	ListKeys(ctx context.Context, workspaceID string, q KeyQuery) ([]*Key, int, error)
	// UpdateKey writes Name, Scopes, Hash, ExpiresAt and RateLimit (nil
	// clears it) of the key k.ID of k.WorkspaceID; ENOTFOUND if there is
	// none.
	UpdateKey(ctx context.Context, k *Key) error
	// TouchKeys sets each named key's LastUsedAt to the later of its own
	// and the time given (never back); ids that name no key are ignored.
	TouchKeys(ctx context.Context, used map[string]time.Time) error
	DeleteKey(ctx context.Context, workspaceID, id string) error

	// IdempotencyRecord returns the record of (workspaceID, caller, key),
	// or ENOTFOUND.
	IdempotencyRecord(ctx context.Context, workspaceID, caller, key string) (*IdempotencyRecord, error)
	// CreateIdempotencyRecord inserts r; ECONFLICT if (WorkspaceID,
	// Caller, Key) has a record already (two first attempts racing: one
	// insert wins), ENOTFOUND if the workspace does not exist.
	CreateIdempotencyRecord(ctx context.Context, r *IdempotencyRecord) error
	// UpdateIdempotencyRecord writes Fingerprint, Token, Done, Status,
	// ContentType, Body and CreatedAt of r's record; ENOTFOUND if none.
	UpdateIdempotencyRecord(ctx context.Context, r *IdempotencyRecord) error
	// DeleteIdempotencyRecord deletes a record; ENOTFOUND if none.
	DeleteIdempotencyRecord(ctx context.Context, workspaceID, caller, key string) error
	// DeleteIdempotencyRecordsBefore deletes records of any workspace
	// created before t, at most limit, and returns how many it deleted.
	DeleteIdempotencyRecordsBefore(ctx context.Context, t time.Time, limit int) (int, error)

	// CreateLibrary inserts a library; ECONFLICT if the slug is taken in
	// the workspace. The root item is created separately with CreateItem.
	CreateLibrary(ctx context.Context, l *Library) error
	Library(ctx context.Context, workspaceID, id string) (*Library, error)
	LibraryBySlug(ctx context.Context, workspaceID, slug string) (*Library, error)
	UpdateLibrary(ctx context.Context, l *Library) error
	// Libraries lists a workspace's libraries of a kind ("" for all), oldest first.
	Libraries(ctx context.Context, workspaceID, kind string) ([]*Library, error)
	// ListLibraries pages through the libraries q selects, ordered by
	// (created_at, id), ascending or descending.
	ListLibraries(ctx context.Context, workspaceID string, q LibraryQuery) ([]*Library, error)
	// DeleteLibrary deletes a library with all of its items and their
	// versions.
	DeleteLibrary(ctx context.Context, workspaceID, id string) error

	// CreateItem inserts an item; ECONFLICT if its path is taken in the
	// library.
	CreateItem(ctx context.Context, it *Item) error
	Item(ctx context.Context, workspaceID, id string) (*Item, error)
	ItemByPath(ctx context.Context, workspaceID, libraryID, path string) (*Item, error)
	// ItemByExternalID finds an item by its external id in a library.
	ItemByExternalID(ctx context.Context, workspaceID, libraryID, externalID string) (*Item, error)
	// Children lists the children of a folder that f lets through, ordered
	// by name (byte order), starting after the name `after` ("" from the
	// first), at most limit.
	Children(ctx context.Context, workspaceID, parentID, after string, limit int, f ItemFilter) ([]*Item, error)
	// Tree lists the items below a path of a library that q selects,
	// ordered by path (byte order).
	Tree(ctx context.Context, workspaceID string, q TreeQuery) ([]*Item, error)
	// QueryItems lists the items q selects, oldest first (created_at, id).
	QueryItems(ctx context.Context, workspaceID string, q ItemQuery) ([]*Item, error)
	// ListItems returns the page of items q selects.
	ListItems(ctx context.Context, workspaceID string, q ListQuery) ([]*Item, error)
	// CountItems counts the items q selects, paging (Offset, After, Limit)
	// aside.
	CountItems(ctx context.Context, workspaceID string, q ListQuery) (int, error)
	// TakenPaths returns those of paths that an item of the library has
	// (any type, hidden or private alike), each mapped to true; paths of
	// another workspace's library are never taken. Paths compare byte for
	// byte. Any number of paths may be asked for at once.
	TakenPaths(ctx context.Context, workspaceID, libraryID string, paths []string) (map[string]bool, error)
	// UpdateItem writes every mutable field of it (parent, name, path,
	// x_attrs, head fields, external id, title, scope, owner, metadata,
	// hidden, updated_at); ECONFLICT if the new path or external id is taken.
	UpdateItem(ctx context.Context, it *Item) error
	// SetIndexStatus writes only a file's index state and its times, so
	// the indexer touches no other column (nor the indexes over them).
	SetIndexStatus(ctx context.Context, workspaceID, id string, st IndexStatus) error
	// MovePaths rewrites the paths of every item strictly below oldPath in
	// the library so that they start with newPath instead.
	MovePaths(ctx context.Context, workspaceID, libraryID, oldPath, newPath string) error
	// DeleteTree deletes the item with id, everything below it, and their
	// versions, and returns how many items it deleted.
	DeleteTree(ctx context.Context, workspaceID, id string) (int, error)
	// DeleteBelow deletes some of the items strictly below the path under
	// of a library (every item but the root when under is ""), the bounded
	// batch of a recursive delete: it looks at up to limit of the items f
	// lets through (hidden ones always), greatest path first, starting
	// below the path before ("" from the greatest), and deletes each with
	// its versions, chunks and index job, but a folder only when no item
	// at all is left in it. It returns how many it deleted and the path of
	// the last item it looked at, where the next call starts; "" when it
	// looked at fewer than limit (none is left below before).
	DeleteBelow(ctx context.Context, workspaceID, libraryID, under, before string, f ItemFilter, limit int) (deleted int, next string, err error)
	// MoveBelow rewrites the paths of up to limit items strictly below
	// oldPath in a library, least path first, so that they start with
	// newPath instead, and returns how many it rewrote: the bounded batch
	// of a folder's move (MovePaths in one go). 0 when none is left.
	// EINVALID for a root path ("").
	MoveBelow(ctx context.Context, workspaceID, libraryID, oldPath, newPath string, limit int) (int, error)
	// OthersBelow reports whether an item strictly below path in a library
	// ("" for the whole library) is private to a principal other than
	// viewer.
	OthersBelow(ctx context.Context, workspaceID, libraryID, path, viewer string) (bool, error)

	// CreateTreeOp inserts op; ECONFLICT if its id is taken, ENOTFOUND if
	// its library is not one of op.WorkspaceID's.
	CreateTreeOp(ctx context.Context, op *TreeOp) error
	// TreeOp returns an op of the workspace, or ENOTFOUND.
	TreeOp(ctx context.Context, workspaceID, id string) (*TreeOp, error)
	// TreeOps lists the ops of a library, oldest first; none is no error.
	TreeOps(ctx context.Context, workspaceID, libraryID string) ([]*TreeOp, error)
	// UpdateTreeOp writes Phase, Cursor, Done, Token, LeaseUntil and
	// UpdatedAt of op; ENOTFOUND if it is gone.
	UpdateTreeOp(ctx context.Context, op *TreeOp) error
	// DeleteTreeOp deletes an op; ENOTFOUND if there is none. Deleting its
	// library deletes it too.
	DeleteTreeOp(ctx context.Context, workspaceID, id string) error
	// ClaimTreeOps claims up to n ops of any workspace whose lease ended
	// before now, oldest first: each gets token and leaseUntil.
	ClaimTreeOps(ctx context.Context, now, leaseUntil time.Time, token string, n int) ([]*TreeOp, error)
	// ExpiredTreeOps reports whether some op's lease ended before now.
	ExpiredTreeOps(ctx context.Context, now time.Time) (bool, error)

	// CreateVersion inserts a version; ECONFLICT if its number is taken for
	// the item.
	CreateVersion(ctx context.Context, v *Version) error
	Version(ctx context.Context, workspaceID, itemID string, number int64) (*Version, error)
	// Versions lists an item's versions, newest first.
	Versions(ctx context.Context, workspaceID, itemID string) ([]*Version, error)

	CreateUpload(ctx context.Context, u *Upload) error
	Upload(ctx context.Context, workspaceID, id string) (*Upload, error)
	// UpdateUpload writes State, Hash, ItemID, Version and ExpiresAt.
	UpdateUpload(ctx context.Context, u *Upload) error
	// UploadExists reports whether an upload of any workspace has this id
	// (for the sweep of staging areas no session owns).
	UploadExists(ctx context.Context, id string) (bool, error)
	// DeleteUpload deletes an upload and its parts.
	DeleteUpload(ctx context.Context, id string) error
	// ExpiredUploads lists uploads of any workspace whose ExpiresAt is before t.
	ExpiredUploads(ctx context.Context, t time.Time, limit int) ([]*Upload, error)
	// PutPart inserts or replaces a part.
	PutPart(ctx context.Context, p *Part) error
	DeletePart(ctx context.Context, uploadID string, number int) error
	// Parts lists an upload's parts by number.
	Parts(ctx context.Context, uploadID string) ([]*Part, error)

	// PutInlineBlob keeps a small blob's bytes in the store itself, named by
	// their hash; putting a hash that is there already is a no-op.
	PutInlineBlob(ctx context.Context, hash string, data []byte) error
	// InlineBlob returns a small blob's bytes, or ENOTFOUND.
	InlineBlob(ctx context.Context, hash string) ([]byte, error)
	// DeleteUnreferencedInlineBlobs deletes the inline blobs no version
	// or snapshot names, at most limit, and returns how many it deleted.
	DeleteUnreferencedInlineBlobs(ctx context.Context, limit int) (int, error)
	// WalkInlineBlobs calls fn for every inline blob, for fsck.
	WalkInlineBlobs(ctx context.Context, fn func(hash string, data []byte) error) error

	// PutIndexJob inserts the job for j.ItemID, replacing the file's job
	// if it has one.
	PutIndexJob(ctx context.Context, j *IndexJob) error
	IndexJob(ctx context.Context, workspaceID, itemID string) (*IndexJob, error)
	// ClaimIndexJobs claims up to n jobs of any workspace that are queued
	// with RunAfter not after now, or running with a lease ended before
	// now: each becomes running with the lease and token given and one more
	// attempt (and, if it was running, one more stop), and its file's index
	// state becomes running, started at now (the other index fields kept).
	// Files are claimed oldest RunAfter first. PutIndexJob keeps Attempts
	// and Stops as given.
	ClaimIndexJobs(ctx context.Context, now, leaseUntil time.Time, token string, n int) ([]*IndexJob, error)
	DeleteIndexJob(ctx context.Context, workspaceID, itemID string) error
	// ReplaceChunks replaces a file's chunks (and their full-text entries
	// and embeddings) with chunks; nil clears them. A chunk with a Vector
	// keeps it, with its Model, as its embedding; one without is pending
	// (ChunksToEmbed).
	ReplaceChunks(ctx context.Context, workspaceID, itemID string, chunks []Chunk) error
	// CopyChunks replaces the chunks of the file toItemID (and their
	// full-text entries and embeddings) with copies of fromItemID's,
	// made chunks of version, and returns how many it copied (a copy of a
	// chunk whose embedding is pending is pending too); a file
	// without chunks copies none. Either file missing in the workspace is
	// ENOTFOUND.
	CopyChunks(ctx context.Context, workspaceID, fromItemID, toItemID string, version int64) (int, error)
	// Chunks lists a file's chunks in order.
	Chunks(ctx context.Context, workspaceID, itemID string) ([]Chunk, error)
	// SearchChunks returns the chunks that match q, best BM25 first.
	SearchChunks(ctx context.Context, workspaceID string, q ChunkQuery) ([]*ChunkHit, error)
	// IndexCounts counts a workspace's files by index state (IndexNone
	// left out).
	IndexCounts(ctx context.Context, workspaceID string) (map[string]int, error)
	// IndexingBelow counts the files below a folder's path whose state is
	// queued or running.
	IndexingBelow(ctx context.Context, workspaceID, libraryID, path string) (int, error)
	// Vectors lists a workspace's embeddings of model with ids above
	// afterID, in id order, at most limit. This and the other readers of
	// embeddings below never return a refusal (an embedding without a
	// vector, see PutEmbeddings).
	Vectors(ctx context.Context, workspaceID, model string, afterID int64, limit int) ([]VectorRow, error)
	// VectorChunks returns the chunks of the embeddings with ids that
	// pass q's filters (q.Terms and q.Limit are ignored), keyed by id; an
	// id that names no embedding, or one whose chunk is filtered out, is
	// left out.
	VectorChunks(ctx context.Context, workspaceID string, ids []int64, q ChunkQuery) (map[int64]*ChunkHit, error)
	// VectorIDs returns the ids of the workspace's embeddings of model
	// whose chunks pass q's filters, at most limit.
	VectorIDs(ctx context.Context, workspaceID, model string, q ChunkQuery, limit int) ([]int64, error)
	// CountVectors counts a workspace's embeddings of model, refusals
	// included (it sizes the in-memory index; a count of the index alone).
	CountVectors(ctx context.Context, workspaceID, model string) (int, error)
	// CheckIndex looks for broken invariants of the index, at most limit
	// of each kind: chunks of no file ("orphan_chunk"), embeddings of no
	// chunk ("orphan_vector"), chunks of a version that is not their
	// file's head ("stale_chunk"), and a full-text index out of step with
	// the chunks ("fts_mismatch").
	CheckIndex(ctx context.Context, limit int) ([]IndexProblem, error)
	// CreateSnapshot records snap and copies the rows of its library's
	// tree (every item but the root) into it; it sets snap.FileCount.
	CreateSnapshot(ctx context.Context, snap *Snapshot) error
	// PutSnapshot records snap with no rows (and its FileCount as given),
	// for AddSnapshotItems to fill; ENOTFOUND if its library is not one of
	// snap.WorkspaceID's, ECONFLICT if its id is taken.
	PutSnapshot(ctx context.Context, snap *Snapshot) error
	// AddSnapshotItems copies items, as they are (no index state), into
	// the rows of a snapshot of their library and adds the files among
	// them to its FileCount. ENOTFOUND if the snapshot is not one of the
	// workspace's; ECONFLICT if it holds one of their paths already.
	AddSnapshotItems(ctx context.Context, workspaceID, snapshotID string, items []*Item) error
	// Snapshots lists a library's snapshots, newest first.
	Snapshots(ctx context.Context, workspaceID, libraryID string) ([]*Snapshot, error)
	Snapshot(ctx context.Context, workspaceID, libraryID, id string) (*Snapshot, error)
	DeleteSnapshot(ctx context.Context, workspaceID, libraryID, id string) error
	// SnapshotItems returns a page of a snapshot's items as they were (no
	// index state), in path order after the path after.
	SnapshotItems(ctx context.Context, workspaceID, snapshotID, after string, limit int) ([]*Item, error)
	// SnapshotItemsAt returns those of a snapshot's items whose paths are
	// among paths, keyed by path; any number of paths may be asked for.
	SnapshotItemsAt(ctx context.Context, workspaceID, snapshotID string, paths []string) (map[string]*Item, error)
	// DeleteSnapshotItems deletes up to limit of a snapshot's item rows
	// and returns how many, so that a large snapshot can be deleted in
	// bounded batches before DeleteSnapshot; 0 when none is left.
	DeleteSnapshotItems(ctx context.Context, workspaceID, snapshotID string, limit int) (int, error)
	// Project returns a project of the workspace.
	Project(ctx context.Context, workspaceID, id string) (*Project, error)
	// ProjectByCustomID returns the project of a group (groupID "" for
	// none) with the custom id, or ENOTFOUND.
	ProjectByCustomID(ctx context.Context, workspaceID, groupID, customID string) (*Project, error)
	// CreateProject inserts a project; ENOTFOUND if its workspace does not
	// exist, ECONFLICT if its id, or its custom id in its group, is taken.
	CreateProject(ctx context.Context, p *Project) error
	// ListProjects returns the page of the workspace's projects that q
	// selects and how many projects q's filters (GroupID, NameContains)
	// keep in all pages.
	ListProjects(ctx context.Context, workspaceID string, q ProjectQuery) ([]*Project, int, error)
	// UpdateProject writes Name, Description, Metadata, LibraryID and
	// UpdatedAt.
	UpdateProject(ctx context.Context, p *Project) error
	// DeleteProject deletes a project and its documents (not the items
	// of its library: the caller deletes the library).
	DeleteProject(ctx context.Context, workspaceID, id string) error
	// AddProjectDocument inserts a document. ENOTFOUND if the project or
	// the item is not one of d.WorkspaceID's; ECONFLICT if the item, or a
	// non-empty SourceID, is in the project already (or d.ID is taken).
	// Neither error spoils the transaction: it may go on.
	AddProjectDocument(ctx context.Context, d *ProjectDocument) error
	// ProjectDocuments returns the page of a project's documents that q
	// selects, each with its Item, and how many documents q's filters
	// (Filter, NameContains) keep in all pages. A project of another
	// workspace has none.
	ProjectDocuments(ctx context.Context, workspaceID, projectID string, q DocumentQuery) ([]*ProjectDocument, int, error)
	// ProjectDocument returns a document of a project, with its Item.
	ProjectDocument(ctx context.Context, workspaceID, projectID, id string) (*ProjectDocument, error)
	// UpdateProjectDocument writes a document's ItemID and SourceID;
	// ECONFLICT as AddProjectDocument.
	UpdateProjectDocument(ctx context.Context, d *ProjectDocument) error
	// ProjectDocumentBySource returns the document of a project imported
	// from the file sourceID, with its Item, or ENOTFOUND.
	ProjectDocumentBySource(ctx context.Context, workspaceID, projectID, sourceID string) (*ProjectDocument, error)
	// ProjectDocumentsOf returns the project's documents whose own items
	// itemIDs names, keyed by item id, without their Items; items that
	// are no document of the project are left out.
	ProjectDocumentsOf(ctx context.Context, workspaceID, projectID string, itemIDs []string) (map[string]*ProjectDocument, error)
	// ChunksToEmbed lists up to limit chunks, of any workspace, whose
	// embedding is pending: chunks ReplaceChunks or CopyChunks stored
	// without one, and chunks whose embedding DropEmbeddings removed. Files
	// come in item id order (oldest first), a file's chunks in order.
	ChunksToEmbed(ctx context.Context, limit int) ([]ChunkToEmbed, error)
	// PutEmbeddings stores each embedding as its chunk's and returns how
	// many it stored. One whose chunk is gone (its file deleted, or its
	// chunks replaced since ChunksToEmbed read them; chunk ids are never
	// reused) or that has an embedding already is skipped, so two
	// embedders racing over one chunk store one. An Embedding with an
	// empty Vector records a refusal. EINVALID for one without a model.
	PutEmbeddings(ctx context.Context, embs []Embedding) (int, error)
	// DropEmbeddings deletes up to limit embeddings (refusals included) of
	// any model but keepModel, which makes their chunks pending again: a
	// change of model. It returns how many it deleted.
	DropEmbeddings(ctx context.Context, keepModel string, limit int) (int, error)
	// EmbeddingsPending counts a workspace's files with pending embeddings
	// and their pending chunks.
	EmbeddingsPending(ctx context.Context, workspaceID string) (files, chunks int, err error)

	// BlobReferenced reports whether any version, upload or snapshot
	// names hash.
	BlobReferenced(ctx context.Context, hash string) (bool, error)
	// WalkBlobRefs calls fn once for every hash a version, an upload or
	// a snapshot references, for garbage collection and fsck.
	WalkBlobRefs(ctx context.Context, fn func(hash string) error) error
}
