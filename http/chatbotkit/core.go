package chatbotkit

import (
	"context"
	"io"
	"net/url"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/library"
)

// core is what ChatBotKit's routes need of the core, and all they may
// call of it; *library.Service is the implementation. Declaring it on
// the dialect's side keeps its reach into the core visible and small.
type core interface {
	Children(ctx context.Context, folderID, token string, limit int) ([]*shelf.Item, string, error)
	Config() library.Config
	Content(ctx context.Context, itemID string, version int64) (*shelf.Item, *shelf.Version, error)
	CopyFile(ctx context.Context, id string, t library.FileTarget) (*shelf.Item, error)
	CreateLibrary(ctx context.Context, spec library.Spec) (*shelf.Library, error)
	CreateWholeUpload(ctx context.Context, size int64) (*shelf.Upload, error)
	Delete(ctx context.Context, id string) (int, error)
	DeleteLibrary(ctx context.Context, kind, ref string) (*shelf.Library, error)
	GetLibrary(ctx context.Context, kind, ref string) (*shelf.Library, error)
	ItemAt(ctx context.Context, libraryID, path string) (*shelf.Item, error)
	ListLibraries(ctx context.Context, q library.ListOptions) ([]*shelf.Library, error)
	ListTree(ctx context.Context, q library.TreeList) ([]*shelf.Item, string, error)
	MoveFile(ctx context.Context, id, path string, c library.Conflict) (*shelf.Item, error)
	PutWhole(ctx context.Context, id string, r io.Reader, length int64, t library.FileTarget) (*shelf.Item, error)
	SetXAttrs(ctx context.Context, id string, attrs map[string]string) (*shelf.Item, error)
	Sign(ctx context.Context, sd library.Signed, exp time.Time) (url.Values, error)
	UpdateLibrary(ctx context.Context, kind, ref string, u library.Update) (*shelf.Library, error)
	Verify(ctx context.Context, sd library.Signed, q url.Values) (*shelf.Principal, library.Signed, error)
	WriteFile(ctx context.Context, w library.FileWrite) (*library.Upserted, error)
}

var _ core = (*library.Service)(nil)
