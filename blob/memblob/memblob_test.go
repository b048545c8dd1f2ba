package memblob_test

import (
	"testing"

	"github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/blob/blobtest"
	"github.com/shelfmem/shelf/blob/memblob"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) shelf.BlobStore { return memblob.New() })
}

// coreOnly hides every capability of the store it holds.
type coreOnly struct{ shelf.BlobStore }

// TestConformanceCoreOnly: a store with the core contract alone passes the
// suite, which skips the tests of the capabilities it lacks.
func TestConformanceCoreOnly(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) shelf.BlobStore { return coreOnly{memblob.New()} })
}
