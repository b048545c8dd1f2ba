package informer

import (
	"context"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/library"
)

// core is what Informer's routes need of the core, and all they may
// call of it; *library.Service is the implementation. Declaring it on
// the dialect's side keeps its reach into the core visible and small.
type core interface {
	AttachUpload(ctx context.Context, id string, t library.FileTarget) (*shelf.Item, error)
	ClearGlobs(ctx context.Context, libraryID string, globs []string) (int, error)
	ClearIndex(ctx context.Context, itemID string) (*shelf.Item, error)
	Content(ctx context.Context, itemID string, version int64) (*shelf.Item, *shelf.Version, error)
	CreateLibrary(ctx context.Context, spec library.Spec) (*shelf.Library, error)
	CreateSnapshot(ctx context.Context, libraryID, trigger string, limit int) (*shelf.Snapshot, error)
	Delete(ctx context.Context, id string) (int, error)
	DeleteLibrary(ctx context.Context, kind, ref string) (*shelf.Library, error)
	DeleteSnapshot(ctx context.Context, libraryID, id string) error
	EditFile(ctx context.Context, itemID string, maxSize int64, edit func(old []byte) ([]byte, error)) (*library.Upserted, error)
	GetLibrary(ctx context.Context, kind, ref string) (*shelf.Library, error)
	IndexFile(ctx context.Context, itemID string) (*shelf.Item, error)
	IndexGlobs(ctx context.Context, libraryID string, globs []string) (int, error)
	IndexingBelow(ctx context.Context, folderID string) (int, error)
	Item(ctx context.Context, id string) (*shelf.Item, error)
	ItemAt(ctx context.Context, libraryID, path string) (*shelf.Item, error)
	Key(ctx context.Context, wsID, id string) (*shelf.Key, error)
	ListFolder(ctx context.Context, q library.FolderList) ([]*shelf.Item, int, error)
	ListKeys(ctx context.Context, wsID, nameContains, token string, limit int) (*library.KeyPage, error)
	PatchItem(ctx context.Context, id string, u library.ItemUpdate, props library.ItemProps, check func(*shelf.Item) error) (*shelf.Item, error)
	PatchItems(ctx context.Context, libraryID string, patches []library.PropPatch) (int, error)
	RestoreSnapshot(ctx context.Context, libraryID, id string) (*shelf.Snapshot, error)
	SearchLibraries(ctx context.Context, q library.SearchOptions) ([]*shelf.Library, int, error)
	Snapshots(ctx context.Context, libraryID string) ([]*shelf.Snapshot, error)
	UpdateLibrary(ctx context.Context, kind, ref string, u library.Update) (*shelf.Library, error)
	UploadsLibrary(ctx context.Context) (*shelf.Library, error)
	Workspace(ctx context.Context, id string) (*shelf.Workspace, error)
	WriteFile(ctx context.Context, w library.FileWrite) (*library.Upserted, error)
}

var _ core = (*library.Service)(nil)
