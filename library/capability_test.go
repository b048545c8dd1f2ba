package library_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/blob/memblob"
	"github.com/shelfmem/shelf/library"
)

// coreOnly hides every capability of the blob store it holds.
type coreOnly struct{ shelf.BlobStore }

// TestNoStagingCapability: over a blob store with the core contract alone,
// chunked and one-part uploads are refused with ENOTIMPL before anything
// is made, and what needs no staging (writes by path, sweep, fsck) works.
func TestNoStagingCapability(t *testing.T) {
	e := newEnvWith(t, library.Config{}, func(st shelf.Store, bs shelf.BlobStore) (shelf.Store, shelf.BlobStore) {
		return st, coreOnly{bs}
	})
	ctx := e.ctx
	_, err := e.svc.CreateUpload(ctx, 5000)
	wantCode(t, err, shelf.ENOTIMPL)
	_, err = e.svc.CreateWholeUpload(ctx, 5000)
	wantCode(t, err, shelf.ENOTIMPL)
	_, err = e.svc.WritePart(ctx, "no-such-upload", 1, strings.NewReader("x"), 1)
	wantCode(t, err, shelf.ENOTIMPL)

	data := bytes.Repeat([]byte("core only "), 3000)
	up, err := e.svc.WriteFile(ctx, library.FileWrite{Path: "a/b.txt", Body: bytes.NewReader(data), Size: int64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.read(t, ctx, up.Item.ID); !bytes.Equal(got, data) {
		t.Fatal("read back bytes that differ from those written")
	}
	if n, err := e.svc.Sweep(context.Background()); err != nil || n != 0 {
		t.Fatalf("Sweep = %d, %v", n, err)
	}
	if problems, err := e.svc.Fsck(context.Background(), true); err != nil || len(problems) != 0 {
		t.Fatalf("Fsck = %v, %v", problems, err)
	}
}

// TestUploadOverMemblob: the core finds the staging capability of a store
// other than fsblob, and a chunked upload goes through it.
func TestUploadOverMemblob(t *testing.T) {
	e := newEnvWith(t, library.Config{}, func(st shelf.Store, _ shelf.BlobStore) (shelf.Store, shelf.BlobStore) {
		return st, memblob.New()
	})
	ctx := e.ctx
	root, err := e.svc.Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("0123456789"), 1000) // 10 parts of 1 KiB or less
	it, err := e.upload(t, ctx, root.ID, "mem.bin", library.ConflictDeny, data)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.read(t, ctx, it.ID); !bytes.Equal(got, data) {
		t.Fatal("read back bytes that differ from those uploaded")
	}
}
