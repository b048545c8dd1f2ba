package memoryinc

import (
	"context"

	"github.com/shelfmem/shelf/library"
)

// core is what memory.inc's routes need of the core, and all they may
// call of it; *library.Service is the implementation. Declaring it on
// the dialect's side keeps its reach into the core visible and small.
type core interface {
	FindItems(ctx context.Context, q library.Selector) ([]library.Found, error)
	Ingest(ctx context.Context, d library.Doc) (*library.Upserted, error)
	RemoveItems(ctx context.Context, q library.Selector) (*library.Removed, error)
}

var _ core = (*library.Service)(nil)
