package shelf

import "time"

// A file's index states. A file is indexed in the background: each new
// head version queues a job, a worker claims it with a lease, and the
// chunks of the version replace the file's old ones.
const (
	IndexNone    = ""        // not indexed: a folder, a file of an embedded library, or cleared
	IndexQueued  = "queued"  // waiting for a worker (also between retries)
	IndexRunning = "running" // a worker holds the job's lease
	IndexIndexed = "indexed"
	IndexFailed  = "failed" // retries used up; Error says why
	// IndexSkipped: the file's type holds no text Shelf reads (an image, a
	// binary), so there is nothing to index. It is not a failure: no error
	// is recorded and no retry comes. IndexedAt, when set, marks that
	// indexing was asked for (see library.Service.IndexFile).
	IndexSkipped = "skipped"
)

// IndexStatus is a file's place in the indexing pipeline.
type IndexStatus struct {
	State     string    `json:"state"`
	IndexedAt time.Time `json:"indexed_at,omitzero"`
	StartedAt time.Time `json:"indexing_started_at,omitzero"`
	ErroredAt time.Time `json:"indexing_errored_at,omitzero"`
	Error     string    `json:"indexing_error_message,omitempty"`
}

// IndexJob asks for a file's version to be indexed. There is at most one
// per file: queueing a newer version replaces it, which cancels the work
// on the old one (a worker's result is kept only while its Token holds).
type IndexJob struct {
	ItemID      string
	WorkspaceID string
	Version     int64
	State       string // IndexQueued, IndexRunning or IndexFailed
	Attempts    int
	RunAfter    time.Time // not claimed before
	LeaseUntil  time.Time // a running job whose lease ended is claimed again
	Token       string    // the current claim's
	// Stops counts the claims that took the job back from a worker that
	// stopped while running it: killed, out of memory, or stuck past its
	// lease.
	Stops     int
	Error     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Chunk is a piece of a version's extracted text.
type Chunk struct {
	ItemID      string
	WorkspaceID string
	Version     int64
	Index       int
	Text        string
	Heading     string // the headings above it, "A > B"
	Start, End  int    // byte offsets in the version's extracted text
	Page        int    // 1-based, or 0
	// Model and Vector are the chunk's embedding, when it has one: the
	// embedding model's name and a vector of its dimensions.
	Model  string
	Vector []float32
}

// VectorRow is a stored embedding, its id and its chunk's. Ids are never
// reused.
type VectorRow struct {
	ID      int64
	ChunkID int64
	Vector  []float32
}

// ChunkToEmbed is a chunk whose embedding is pending, with the store's id
// for it (PutEmbeddings names the chunk by it).
type ChunkToEmbed struct {
	ID          int64
	WorkspaceID string
	ItemID      string
	Text        string
	Heading     string
}

// Embedding is a chunk's vector and the model that made it. An empty
// Vector records that the embedder refused the chunk's text: the chunk is
// not pending any more, and no search finds it by meaning.
type Embedding struct {
	ChunkID int64
	Model   string
	Vector  []float32
}

// ItemRef names an item of a workspace.
type ItemRef struct {
	WorkspaceID string
	ItemID      string
}

// ChunkQuery selects chunks by their words and filters on their items.
// Set fields are ANDed.
type ChunkQuery struct {
	// Terms are what a chunk must hold one of: each a word, or a phrase
	// (words joined by single spaces, matched in order), its words runs
	// of letters, digits and marks. Words match by stem, without case or
	// diacritics; a term of any other character is EINVALID. No query
	// syntax: each store builds its own full-text query from them. The
	// store may leave out the terms most chunks hold when the others
	// suffice (see store/sqlite's SearchChunks).
	Terms []string
	// LibraryIDs keeps the chunks of these libraries; nil keeps those of
	// every library but the internal ones (KindProject), which a search
	// reaches only by naming them, and those being deleted (KindDeleted).
	LibraryIDs    []string
	PathPrefix    string   // a folder path; items below it
	ContentTypes  []string // media types without parameters
	CreatedAfter  time.Time
	CreatedBefore time.Time
	Metadata      map[string]string // equality on metadata keys, as LibraryQuery
	Viewer        string            // private items of others are left out
	Limit         int               // > 0
}

// ChunkHit is a chunk that matched, its item, its BM25 score (higher is
// better) and the matched text with the terms marked.
type ChunkHit struct {
	Chunk     Chunk
	Item      *Item
	Score     float64
	Highlight string
}

// IndexProblem is a broken invariant of the index that CheckIndex found.
type IndexProblem struct {
	Kind   string
	Detail string
}
