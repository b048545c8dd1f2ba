package shelf

import (
	"encoding/json"
	"time"
)

// Project groups documents to search together (the MemoryLake project). A
// document is a frozen copy of a library file: importing a file copies its
// head version into the project's own library (LibraryID, of kind
// KindProject), where it is indexed on its own, so the document keeps the
// bytes and chunks it was imported with whatever later happens to the
// file. Importing the file again refreshes the copy. The project's
// library also holds its memories.
type Project struct {
	ID          string `json:"id"`
	WorkspaceID string `json:"workspace_id"`
	// GroupID is the project group (a library of kind KindProjectGroup,
	// MemoryLake's v3 workspace) the project belongs to, or "" for none.
	GroupID string `json:"group_id,omitempty"`
	// CustomID is the caller's own id for the project, unique in its
	// group; "" for none.
	CustomID    string          `json:"custom_id,omitempty"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Metadata    json.RawMessage `json:"metadata,omitempty"` // a JSON object, or nil
	// LibraryID is the project's own library (kind KindProject).
	LibraryID string    `json:"library_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ProjectDocument is a document of a project: its own file (ItemID, in
// the project's library) holding a copy of the library file it was
// imported from (SourceID, which may be gone since). It lives as long as
// its own file and the project do: deleting either deletes it. Item is
// its own file, when the store joined it.
type ProjectDocument struct {
	ID          string    `json:"id"`
	ProjectID   string    `json:"project_id"`
	WorkspaceID string    `json:"workspace_id"`
	ItemID      string    `json:"item_id"`
	SourceID    string    `json:"source_id"`
	CreatedAt   time.Time `json:"created_at"`
	Item        *Item     `json:"item,omitempty"`
}

// ProjectQuery selects a page of a workspace's projects, oldest first
// (created_at, id).
type ProjectQuery struct {
	// GroupID keeps the projects of one group; "" keeps every project.
	GroupID string
	// NameContains keeps the projects whose name contains it, ASCII
	// letters compared without case; "" keeps all. It is a literal: % and
	// _ are not wildcards.
	NameContains string
	// AfterTime and AfterID continue after the project with that
	// (CreatedAt, ID); zero from the first. Offset is counted after it.
	AfterTime time.Time
	AfterID   string
	Offset    int // >= 0
	Limit     int // > 0
}

// DocumentQuery selects a page of a project's documents, oldest first
// (created_at, id).
type DocumentQuery struct {
	Filter ItemFilter // on the documents' own files
	// NameContains keeps the documents whose file name contains it, as
	// ProjectQuery's.
	NameContains string
	// AfterTime and AfterID continue after the document with that
	// (CreatedAt, ID); zero from the first. Offset is counted after it.
	AfterTime time.Time
	AfterID   string
	Offset    int // >= 0
	Limit     int // > 0
}

// Snapshot is a library's tree as it was: its rows, not its bytes.
type Snapshot struct {
	ID          string
	WorkspaceID string
	LibraryID   string
	Trigger     string // manual, refresh or scheduled
	FileCount   int
	CreatedAt   time.Time
}
