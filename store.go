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

// Tx is one transaction: every role of the store at once. Code that
// needs only one role should take that role's interface (TreeReader,
// UploadStore…), which names what it touches and lets a test hand it a
// small fake.
//
// The error contract, for every method of every role unless its comment
// says otherwise:
//
//   - Every lookup of a workspace's rows takes the workspace id, and a row
//     of another workspace is not there: ENOTFOUND, as for a row that does
//     not exist. Only methods documented as "of any workspace" cross
//     workspaces (authentication, the core's sweeps and workers).
//   - A lookup or a write of one named row that finds none: ENOTFOUND.
//     Listings that find nothing return an empty result and no error.
//   - An insert that breaks a uniqueness rule: ECONFLICT. An insert that
//     refers to a row that is not there (a library of another workspace,
//     a missing parent): ENOTFOUND.
//   - A limit that is not positive, where one is taken: EINVALID.
//   - A full disk: EINSUFFICIENT. A store that cannot serve for a while
//     (busy, read-only): EUNAVAILABLE. Anything else: EINTERNAL, with the
//     cause wrapped.
//   - An error does not spoil the transaction unless it is EINTERNAL: the
//     caller may go on and commit (an insert that met ECONFLICT wrote
//     nothing). The core relies on this, e.g. to try the next free name
//     after a conflict; a database that aborts a whole transaction on a
//     failed statement (PostgreSQL) needs a savepoint around each such
//     statement.
//
// A Tx must not be used after its function returns, nor from two
// goroutines at once.
type Tx interface {
	AdminStore
	KeyStore
	IdempotencyStore
	LibraryStore
	TreeReader
	TreeWriter
	TreeOpStore
	VersionStore
	UploadStore
	InlineBlobStore
	IndexJobStore
	ChunkStore
	EmbeddingStore
	SearchTx
	SnapshotStore
	ProjectStore
}

// AdminStore holds the server's settings and its workspaces.
type AdminStore interface {
	// Setting returns the value stored under name; ENOTFOUND if none is.
	Setting(ctx context.Context, name string) (string, error)
	// SetSetting stores value under name, replacing any earlier value.
	SetSetting(ctx context.Context, name, value string) error

	// CreateWorkspace inserts w; ECONFLICT if its id is taken.
	CreateWorkspace(ctx context.Context, w *Workspace) error
	// Workspace returns a workspace; ENOTFOUND if there is none.
	Workspace(ctx context.Context, id string) (*Workspace, error)
	// Workspaces lists every workspace, oldest first.
	Workspaces(ctx context.Context) ([]*Workspace, error)
}

// KeyStore holds API keys. Keys are the one table authentication reads
// across workspaces.
type KeyStore interface {
	// CreateKey inserts a key with every field of k (a nil RateLimit, and
	// one whose PerSecond is 0, are kept apart); ECONFLICT if its id is
	// taken, ENOTFOUND if its workspace does not exist.
	CreateKey(ctx context.Context, k *Key) error
	// Key finds a key by id in any workspace (authentication needs this);
	// ENOTFOUND if there is none.
	Key(ctx context.Context, id string) (*Key, error)
	// Keys lists a workspace's keys, oldest first.
	Keys(ctx context.Context, workspaceID string) ([]*Key, error)
	// ListKeys returns the page of the workspace's keys that q selects,
	// ordered by (CreatedAt, ID), and how many keys q's name filter keeps
	// in all pages. EINVALID for a q.Limit that is not positive.
	ListKeys(ctx context.Context, workspaceID string, q KeyQuery) ([]*Key, int, error)
	// UpdateKey writes Name, Scopes, Hash, ExpiresAt and RateLimit (nil
	// clears it) of the key k.ID of k.WorkspaceID; ENOTFOUND if there is
	// none.
	UpdateKey(ctx context.Context, k *Key) error
	// TouchKeys sets each named key's LastUsedAt to the later of its own
	// and the time given (never back), in any workspace; ids that name no
	// key are ignored.
	TouchKeys(ctx context.Context, used map[string]time.Time) error
	// DeleteKey deletes a key; ENOTFOUND if the workspace has none with
	// the id.
	DeleteKey(ctx context.Context, workspaceID, id string) error
}

// IdempotencyStore keeps the answers to requests sent with an idempotency
// key, so that a retry gets the first answer.
type IdempotencyStore interface {
	// IdempotencyRecord returns the record of (workspaceID, caller, key);
	// ENOTFOUND if there is none.
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
}

// LibraryStore holds libraries: the roots of the workspace's trees.
type LibraryStore interface {
	// CreateLibrary inserts a library; ECONFLICT if its id, or its slug in
	// the workspace, is taken; ENOTFOUND if the workspace does not exist.
	// The root item is created separately with CreateItem.
	CreateLibrary(ctx context.Context, l *Library) error
	// Library returns a library of the workspace; ENOTFOUND if none.
	Library(ctx context.Context, workspaceID, id string) (*Library, error)
	// LibraryBySlug returns the workspace's library with the slug;
	// ENOTFOUND if none.
	LibraryBySlug(ctx context.Context, workspaceID, slug string) (*Library, error)
	// UpdateLibrary writes every field of l but ID, WorkspaceID and
	// CreatedAt; ENOTFOUND if the workspace has no library l.ID,
	// ECONFLICT if the new slug is taken.
	UpdateLibrary(ctx context.Context, l *Library) error
	// Libraries lists a workspace's libraries of a kind ("" for all),
	// oldest first.
	Libraries(ctx context.Context, workspaceID, kind string) ([]*Library, error)
	// ListLibraries pages through the libraries q selects, ordered by
	// (created_at, id), ascending or descending. EINVALID for a q.Limit
	// that is not positive.
	ListLibraries(ctx context.Context, workspaceID string, q LibraryQuery) ([]*Library, error)
	// DeleteLibrary deletes a library with all of its items and their
	// versions, in this transaction (the core deletes a large library in
	// batches with DeleteBelow first); ENOTFOUND if there is none.
	DeleteLibrary(ctx context.Context, workspaceID, id string) error
}

// TreeReader reads the items of libraries: files, folders and documents
// by id, path or external id, and listings of them.
type TreeReader interface {
	// Item returns an item of the workspace; ENOTFOUND if none.
	Item(ctx context.Context, workspaceID, id string) (*Item, error)
	// ItemByPath returns the item at path in a library (the root at "");
	// ENOTFOUND if none, or if the library is not the workspace's.
	ItemByPath(ctx context.Context, workspaceID, libraryID, path string) (*Item, error)
	// ItemByExternalID finds an item by its external id in a library;
	// ENOTFOUND if none.
	ItemByExternalID(ctx context.Context, workspaceID, libraryID, externalID string) (*Item, error)
	// Children lists the children of a folder that f lets through, ordered
	// by name (byte order), starting after the name `after` ("" from the
	// first), at most limit. A folder that is not there has none.
	Children(ctx context.Context, workspaceID, parentID, after string, limit int, f ItemFilter) ([]*Item, error)
	// Tree lists the items below a path of a library that q selects,
	// ordered by path (byte order). EINVALID for a q.Limit that is not
	// positive.
	Tree(ctx context.Context, workspaceID string, q TreeQuery) ([]*Item, error)
	// QueryItems lists the items q selects, oldest first (created_at, id).
	// EINVALID for a q.Limit that is not positive.
	QueryItems(ctx context.Context, workspaceID string, q ItemQuery) ([]*Item, error)
	// ListItems returns the page of items q selects. EINVALID for a q.Limit
	// that is not positive or a q.Sort it does not know.
	ListItems(ctx context.Context, workspaceID string, q ListQuery) ([]*Item, error)
	// CountItems counts the items q selects, paging (Offset, After, Limit)
	// aside.
	CountItems(ctx context.Context, workspaceID string, q ListQuery) (int, error)
	// TakenPaths returns those of paths that an item of the library has
	// (any type, hidden or private alike), each mapped to true; paths of
	// another workspace's library are never taken. Paths compare byte for
	// byte. Any number of paths may be asked for at once.
	TakenPaths(ctx context.Context, workspaceID, libraryID string, paths []string) (map[string]bool, error)
	// OthersBelow reports whether an item strictly below path in a library
	// ("" for the whole library) is private to a principal other than
	// viewer.
	OthersBelow(ctx context.Context, workspaceID, libraryID, path, viewer string) (bool, error)
}

// TreeWriter changes the items of libraries. Paths are the tree's
// truth: a store keeps an item's path unique in its library and rewrites
// the paths below a folder that moves.
type TreeWriter interface {
	// CreateItem inserts an item; ECONFLICT if its id is taken or its path
	// (or its external id) is taken in the library; ENOTFOUND if the
	// library is not one of it.WorkspaceID's.
	CreateItem(ctx context.Context, it *Item) error
	// UpdateItem writes every mutable field of it (parent, name, path,
	// x_attrs, head fields, external id, title, scope, owner, metadata,
	// hidden, updated_at); ENOTFOUND if the workspace has no item it.ID,
	// ECONFLICT if the new path or external id is taken.
	UpdateItem(ctx context.Context, it *Item) error
	// MovePaths rewrites the paths of every item strictly below oldPath in
	// the library so that they start with newPath instead, in this
	// transaction (MoveBelow is the bounded form); ECONFLICT if a new path
	// is taken.
	MovePaths(ctx context.Context, workspaceID, libraryID, oldPath, newPath string) error
	// MoveBelow rewrites the paths of up to limit items strictly below
	// oldPath in a library, least path first, so that they start with
	// newPath instead, and returns how many it rewrote: the bounded batch
	// of a folder's move. 0 when none is left. EINVALID for a root path
	// ("") or a limit that is not positive.
	MoveBelow(ctx context.Context, workspaceID, libraryID, oldPath, newPath string, limit int) (int, error)
	// DeleteTree deletes the item with id, everything below it, and their
	// versions, and returns how many items it deleted; ENOTFOUND if the
	// workspace has no item id.
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
}

// TreeOpStore keeps the bulk changes of a tree (recursive delete or
// move, library deletion, restore) that run in batches, so that any
// process can take over one whose process stopped.
type TreeOpStore interface {
	// CreateTreeOp inserts op; ECONFLICT if its id is taken, ENOTFOUND if
	// its library is not one of op.WorkspaceID's.
	CreateTreeOp(ctx context.Context, op *TreeOp) error
	// TreeOp returns an op of the workspace; ENOTFOUND if none.
	TreeOp(ctx context.Context, workspaceID, id string) (*TreeOp, error)
	// TreeOps lists the ops of a library, oldest first.
	TreeOps(ctx context.Context, workspaceID, libraryID string) ([]*TreeOp, error)
	// UpdateTreeOp writes Phase, Cursor, Done, Token, LeaseUntil and
	// UpdatedAt of op; ENOTFOUND if it is gone.
	UpdateTreeOp(ctx context.Context, op *TreeOp) error
	// DeleteTreeOp deletes an op; ENOTFOUND if there is none. Deleting its
	// library deletes it too.
	DeleteTreeOp(ctx context.Context, workspaceID, id string) error
	// ClaimTreeOps claims up to n ops of any workspace whose lease ended
	// before now, oldest first: each gets token and leaseUntil. Two
	// processes claiming at once never both get one op.
	ClaimTreeOps(ctx context.Context, now, leaseUntil time.Time, token string, n int) ([]*TreeOp, error)
	// ExpiredTreeOps reports whether some op's lease, in any workspace,
	// ended before now.
	ExpiredTreeOps(ctx context.Context, now time.Time) (bool, error)
}

// VersionStore keeps the versions of files, and answers which blobs the
// metadata still names (for garbage collection and fsck).
type VersionStore interface {
	// CreateVersion inserts a version; ECONFLICT if its id, or its number
	// for the item, is taken; ENOTFOUND if the item is not one of
	// v.WorkspaceID's.
	CreateVersion(ctx context.Context, v *Version) error
	// Version returns a version of an item; ENOTFOUND if none.
	Version(ctx context.Context, workspaceID, itemID string, number int64) (*Version, error)
	// Versions lists an item's versions, newest first.
	Versions(ctx context.Context, workspaceID, itemID string) ([]*Version, error)

	// BlobReferenced reports whether any version, upload or snapshot, of
	// any workspace, names hash.
	BlobReferenced(ctx context.Context, hash string) (bool, error)
	// WalkBlobRefs calls fn once for every hash a version, an upload or
	// a snapshot of any workspace references, for garbage collection and
	// fsck. An error from fn stops the walk and is returned.
	WalkBlobRefs(ctx context.Context, fn func(hash string) error) error
}

// UploadStore keeps chunked upload sessions and the parts received.
// Upload ids are unique across workspaces; the sweeps of expired uploads
// and staging areas work across them.
type UploadStore interface {
	// CreateUpload inserts u; ECONFLICT if its id is taken, ENOTFOUND if
	// its workspace does not exist.
	CreateUpload(ctx context.Context, u *Upload) error
	// Upload returns an upload of the workspace; ENOTFOUND if none.
	Upload(ctx context.Context, workspaceID, id string) (*Upload, error)
	// UpdateUpload writes State, Hash, ItemID, Version and ExpiresAt;
	// ENOTFOUND if the workspace has no upload u.ID.
	UpdateUpload(ctx context.Context, u *Upload) error
	// UploadExists reports whether an upload of any workspace has this id
	// (for the sweep of staging areas no session owns).
	UploadExists(ctx context.Context, id string) (bool, error)
	// DeleteUpload deletes an upload of any workspace and its parts;
	// ENOTFOUND if there is none.
	DeleteUpload(ctx context.Context, id string) error
	// ExpiredUploads lists uploads of any workspace whose ExpiresAt is
	// before t, soonest first, at most limit.
	ExpiredUploads(ctx context.Context, t time.Time, limit int) ([]*Upload, error)
	// PutPart inserts a part or replaces the part with its number;
	// ENOTFOUND if the upload does not exist.
	PutPart(ctx context.Context, p *Part) error
	// DeletePart deletes a part; ENOTFOUND if there is none.
	DeletePart(ctx context.Context, uploadID string, number int) error
	// Parts lists an upload's parts by number.
	Parts(ctx context.Context, uploadID string) ([]*Part, error)
}

// InlineBlobStore keeps small blobs in the store itself, named by their
// hash, so that a small file costs no file of its own.
type InlineBlobStore interface {
	// PutInlineBlob keeps a small blob's bytes, named by their hash;
	// putting a hash that is there already is a no-op.
	PutInlineBlob(ctx context.Context, hash string, data []byte) error
	// InlineBlob returns a small blob's bytes; ENOTFOUND if none.
	InlineBlob(ctx context.Context, hash string) ([]byte, error)
	// DeleteUnreferencedInlineBlobs deletes the inline blobs no version
	// or snapshot names, at most limit, and returns how many it deleted.
	DeleteUnreferencedInlineBlobs(ctx context.Context, limit int) (int, error)
	// WalkInlineBlobs calls fn for every inline blob, for fsck. An error
	// from fn stops the walk and is returned.
	WalkInlineBlobs(ctx context.Context, fn func(hash string, data []byte) error) error
}

// IndexJobStore keeps the index jobs of files and their index state: the
// queue the indexing workers of every process claim from.
type IndexJobStore interface {
	// PutIndexJob inserts the job for j.ItemID, replacing the file's job
	// if it has one; Attempts and Stops are kept as given. ENOTFOUND if
	// the file is not one of j.WorkspaceID's.
	PutIndexJob(ctx context.Context, j *IndexJob) error
	// IndexJob returns a file's job; ENOTFOUND if it has none.
	IndexJob(ctx context.Context, workspaceID, itemID string) (*IndexJob, error)
	// ClaimIndexJobs claims up to n jobs of any workspace that are queued
	// with RunAfter not after now, or running with a lease ended before
	// now: each becomes running with the lease and token given and one more
	// attempt (and, if it was running, one more stop), and its file's index
	// state becomes running, started at now (the other index fields kept).
	// Files are claimed oldest RunAfter first. Two processes claiming at
	// once never both get one job.
	ClaimIndexJobs(ctx context.Context, now, leaseUntil time.Time, token string, n int) ([]*IndexJob, error)
	// DeleteIndexJob deletes a file's job; a file without one is no
	// error.
	DeleteIndexJob(ctx context.Context, workspaceID, itemID string) error
	// SetIndexStatus writes only a file's index state and its times, so
	// the indexer touches no other column (nor the indexes over them);
	// ENOTFOUND if the workspace has no item id.
	SetIndexStatus(ctx context.Context, workspaceID, id string, st IndexStatus) error
	// IndexCounts counts a workspace's files by index state (IndexNone
	// left out).
	IndexCounts(ctx context.Context, workspaceID string) (map[string]int, error)
	// IndexingBelow counts the files below a folder's path whose state is
	// queued or running.
	IndexingBelow(ctx context.Context, workspaceID, libraryID, path string) (int, error)
}

// ChunkStore keeps the text chunks of indexed files and searches them by
// keyword.
type ChunkStore interface {
	// ReplaceChunks replaces a file's chunks (and their full-text entries
	// and embeddings) with chunks; nil clears them. A chunk with a Vector
	// keeps it, with its Model, as its embedding; one without is pending
	// (ChunksToEmbed). ENOTFOUND if chunks are given for a file that is
	// not one of the workspace's. Chunk ids only grow: an id is never
	// handed out twice.
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
	// EINVALID for a q.Limit that is not positive.
	SearchChunks(ctx context.Context, workspaceID string, q ChunkQuery) ([]*ChunkHit, error)
	// CheckIndex looks, across workspaces, for broken invariants of the
	// index, at most limit of each kind: chunks of no file
	// ("orphan_chunk"), embeddings of no chunk ("orphan_vector"), chunks
	// of a version that is not their file's head ("stale_chunk"), and a
	// full-text index out of step with the chunks ("fts_mismatch").
	CheckIndex(ctx context.Context, limit int) ([]IndexProblem, error)
}

// EmbeddingStore keeps the embeddings of chunks, the queue of chunks
// waiting for one, and reads them back for vector search.
type EmbeddingStore interface {
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
	// any model but keepModel, in any workspace, which makes their chunks
	// pending again: a change of model. It returns how many it deleted.
	DropEmbeddings(ctx context.Context, keepModel string, limit int) (int, error)
	// EmbeddingsPending counts a workspace's files with pending embeddings
	// and their pending chunks.
	EmbeddingsPending(ctx context.Context, workspaceID string) (files, chunks int, err error)
	// Vectors lists a workspace's embeddings of model with ids above
	// afterID, in id order, at most limit. This and the other readers of
	// embeddings below never return a refusal (an embedding without a
	// vector, see PutEmbeddings). Embedding ids only grow.
	Vectors(ctx context.Context, workspaceID, model string, afterID int64, limit int) ([]VectorRow, error)
	// CountVectors counts a workspace's embeddings of model, refusals
	// included (it sizes the in-memory index; a count of the index alone).
	CountVectors(ctx context.Context, workspaceID, model string) (int, error)
}

// SnapshotStore keeps snapshots of libraries: copies of a tree's rows
// (the blobs are shared) that a library can be restored to.
type SnapshotStore interface {
	// CreateSnapshot records snap and copies the rows of its library's
	// tree (every item but the root) into it; it sets snap.FileCount.
	// ENOTFOUND if the library is not one of snap.WorkspaceID's,
	// ECONFLICT if the id is taken.
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
	// Snapshot returns a snapshot of a library; ENOTFOUND if none.
	Snapshot(ctx context.Context, workspaceID, libraryID, id string) (*Snapshot, error)
	// DeleteSnapshot deletes a snapshot with its remaining rows; ENOTFOUND
	// if there is none.
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
}

// ProjectStore keeps MemoryLake projects and the documents they
// imported.
type ProjectStore interface {
	// Project returns a project of the workspace; ENOTFOUND if none.
	Project(ctx context.Context, workspaceID, id string) (*Project, error)
	// ProjectByCustomID returns the project of a group (groupID "" for
	// none) with the custom id; ENOTFOUND if none.
	ProjectByCustomID(ctx context.Context, workspaceID, groupID, customID string) (*Project, error)
	// CreateProject inserts a project; ENOTFOUND if its workspace does not
	// exist, ECONFLICT if its id, or its custom id in its group, is taken.
	CreateProject(ctx context.Context, p *Project) error
	// ListProjects returns the page of the workspace's projects that q
	// selects and how many projects q's filters (GroupID, NameContains)
	// keep in all pages.
	ListProjects(ctx context.Context, workspaceID string, q ProjectQuery) ([]*Project, int, error)
	// UpdateProject writes Name, Description, Metadata, LibraryID and
	// UpdatedAt; ENOTFOUND if the workspace has no project p.ID.
	UpdateProject(ctx context.Context, p *Project) error
	// DeleteProject deletes a project and its documents (not the items
	// of its library: the caller deletes the library); ENOTFOUND if there
	// is none.
	DeleteProject(ctx context.Context, workspaceID, id string) error
	// AddProjectDocument inserts a document. ENOTFOUND if the project or
	// the item is not one of d.WorkspaceID's; ECONFLICT if the item, or a
	// non-empty SourceID, is in the project already (or d.ID is taken).
	AddProjectDocument(ctx context.Context, d *ProjectDocument) error
	// ProjectDocuments returns the page of a project's documents that q
	// selects, each with its Item, and how many documents q's filters
	// (Filter, NameContains) keep in all pages. A project of another
	// workspace has none.
	ProjectDocuments(ctx context.Context, workspaceID, projectID string, q DocumentQuery) ([]*ProjectDocument, int, error)
	// ProjectDocument returns a document of a project, with its Item;
	// ENOTFOUND if none.
	ProjectDocument(ctx context.Context, workspaceID, projectID, id string) (*ProjectDocument, error)
	// UpdateProjectDocument writes a document's ItemID and SourceID;
	// ENOTFOUND if the document or the new item is not the workspace's,
	// ECONFLICT as AddProjectDocument.
	UpdateProjectDocument(ctx context.Context, d *ProjectDocument) error
	// ProjectDocumentBySource returns the document of a project imported
	// from the file sourceID, with its Item; ENOTFOUND if none.
	ProjectDocumentBySource(ctx context.Context, workspaceID, projectID, sourceID string) (*ProjectDocument, error)
	// ProjectDocumentsOf returns the project's documents whose own items
	// itemIDs names, keyed by item id, without their Items; items that
	// are no document of the project are left out.
	ProjectDocumentsOf(ctx context.Context, workspaceID, projectID string, itemIDs []string) (map[string]*ProjectDocument, error)
}
