package memorylake

import (
	"context"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/library"
)

// core is what MemoryLake's routes need of the core, and all they may
// call of it; *library.Service is the implementation. Declaring it on
// the dialect's side keeps its reach into the core visible and small.
type core interface {
	AddDocuments(ctx context.Context, projectID string, itemIDs []string) (*library.Imported, error)
	AddMemories(ctx context.Context, projectID string, in library.MemoryInput) ([]*library.Memory, error)
	Children(ctx context.Context, folderID, token string, limit int) ([]*shelf.Item, string, error)
	Content(ctx context.Context, itemID string, version int64) (*shelf.Item, *shelf.Version, error)
	CreateFolder(ctx context.Context, parentID, name string, c library.Conflict, xattrs map[string]string) (*shelf.Item, error)
	CreateProject(ctx context.Context, spec library.ProjectSpec) (*shelf.Project, error)
	CreateProjectGroup(ctx context.Context, spec library.GroupSpec) (*shelf.Library, error)
	DefaultLibrary(ctx context.Context) (*shelf.Library, error)
	Delete(ctx context.Context, id string) (int, error)
	DeleteMemory(ctx context.Context, projectID, id string) error
	DeleteProject(ctx context.Context, id string) error
	DeleteProjectGroup(ctx context.Context, id string) error
	DeleteXAttrs(ctx context.Context, id string, keys []string) (*shelf.Item, error)
	Finalize(ctx context.Context, id string, etags []library.PartETag, t library.FileTarget) (*shelf.Item, error)
	ForgetMemory(ctx context.Context, projectID, id string) error
	GetDocument(ctx context.Context, projectID, id string) (*shelf.ProjectDocument, error)
	GetMemory(ctx context.Context, projectID, id string) (*library.Memory, error)
	GetProject(ctx context.Context, id string) (*shelf.Project, error)
	GetProjectGroup(ctx context.Context, ref string, byCustomID bool) (*shelf.Library, error)
	GroupProject(ctx context.Context, groupID, ref string, byCustomID bool) (*shelf.Project, error)
	IssueKey(ctx context.Context, wsID string, spec library.KeySpec) (*shelf.Key, string, error)
	Item(ctx context.Context, id string) (*shelf.Item, error)
	Key(ctx context.Context, wsID, id string) (*shelf.Key, error)
	KeyStatus(k *shelf.Key) string
	ListDocuments(ctx context.Context, projectID string, q shelf.DocumentQuery) ([]*shelf.ProjectDocument, int, error)
	ListKeys(ctx context.Context, wsID, nameContains, token string, limit int) (*library.KeyPage, error)
	ListMemories(ctx context.Context, projectID string, q library.MemoryList) ([]*library.Memory, int, error)
	ListProjectGroups(ctx context.Context, q library.GroupList) ([]*shelf.Library, error)
	ListProjects(ctx context.Context, q shelf.ProjectQuery) ([]*shelf.Project, int, error)
	RemoveDocuments(ctx context.Context, projectID string, ids []string) (int, error)
	RevokeKeyIn(ctx context.Context, wsID, id string) error
	RotateKey(ctx context.Context, wsID, id string) (*shelf.Key, string, error)
	SearchDocuments(ctx context.Context, projectIDs []string, query string, topN int) ([]library.DocumentHit, error)
	SearchGroup(ctx context.Context, q library.GroupSearch) (*library.GroupFound, error)
	SearchMemories(ctx context.Context, q library.MemorySearch) ([]library.MemoryHit, error)
	SetXAttrs(ctx context.Context, id string, attrs map[string]string) (*shelf.Item, error)
	UpdateProject(ctx context.Context, id string, u library.ProjectUpdate) (*shelf.Project, error)
}

var _ core = (*library.Service)(nil)
