package shelf

import "time"

// Project groups library files as documents to search together (the
// MemoryLake project). A document refers to a file; its processing status
// is the file's index state.
type Project struct {
	ID          string    `json:"id"`
	WorkspaceID string    `json:"workspace_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// ProjectDocument is a file of a project. It lives as long as both do:
// deleting the file or the project deletes it. Item is the file, when the
// store joined it.
type ProjectDocument struct {
	ID          string    `json:"id"`
	ProjectID   string    `json:"project_id"`
	WorkspaceID string    `json:"workspace_id"`
	ItemID      string    `json:"item_id"`
	CreatedAt   time.Time `json:"created_at"`
	Item        *Item     `json:"item,omitempty"`
}

// ProjectQuery selects a page of a workspace's projects, oldest first
// (created_at, id).
type ProjectQuery struct {
	// NameContains keeps the projects whose name contains it, ASCII
	// letters compared without case; "" keeps all. It is a literal: % and
	// _ are not wildcards.
	NameContains string
	Offset       int // >= 0
	Limit        int // > 0
}

// DocumentQuery selects a page of a project's documents, oldest first
// (created_at, id).
type DocumentQuery struct {
	Filter ItemFilter // on the documents' files
	Offset int        // >= 0
	Limit  int        // > 0
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
