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
