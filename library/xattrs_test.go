package library_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/library"
)

// TestReservedXAttrs: reserved keys (Shelf's prefix, MemoryLake's two
// names) are passed over by every way of setting or deleting x_attrs:
// never stored, never refused.
func TestReservedXAttrs(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := e.ctx
	root, _ := e.svc.Root(ctx)
	reserved := map[string]string{"x_source": "s", "x_thumbnail_uri": "t", "shelf.internal": "i", "shelf.": "p"}
	with := func(kv ...string) map[string]string {
		m := maps.Clone(reserved)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	wantAttrs := func(what string, got map[string]string, want string) {
		t.Helper()
		if fmt.Sprint(got) != want {
			t.Fatalf("%s: x_attrs %v, want %s", what, got, want)
		}
	}

	folder, err := e.svc.CreateFolder(ctx, root.ID, "f", "", with("a", "1"))
	if err != nil {
		t.Fatal(err)
	}
	wantAttrs("folder", folder.XAttrs, "map[a:1]")

	u, _ := e.svc.CreateUpload(ctx, 1)
	etag, _ := e.svc.WritePart(ctx, u.ID, 1, strings.NewReader("x"), 1)
	file, err := e.svc.Finalize(ctx, u.ID, []library.PartETag{{Number: 1, ETag: `"` + etag + `"`}},
		library.FileTarget{ParentID: root.ID, Name: "x.txt", XAttrs: with("b", "2")})
	if err != nil {
		t.Fatal(err)
	}
	wantAttrs("file", file.XAttrs, "map[b:2]")

	it, err := e.svc.SetXAttrs(ctx, folder.ID, with("c", "3"))
	if err != nil {
		t.Fatal(err)
	}
	wantAttrs("set", it.XAttrs, "map[a:1 c:3]")
	before := it.UpdatedAt
	e.clock.Add(1e9)
	it, err = e.svc.SetXAttrs(ctx, folder.ID, reserved)
	if err != nil || !it.UpdatedAt.Equal(before) {
		t.Fatalf("a set of reserved keys only = %+v, %v; want a no-op", it, err)
	}
	wantAttrs("set of reserved keys", it.XAttrs, "map[a:1 c:3]")

	it, err = e.svc.DeleteXAttrs(ctx, folder.ID, []string{"a", "x_source", "shelf.internal", "x_thumbnail_uri"})
	if err != nil {
		t.Fatal(err)
	}
	wantAttrs("delete", it.XAttrs, "map[c:3]")
	if _, err := e.svc.DeleteXAttrs(ctx, folder.ID, []string{"x_source"}); err != nil {
		t.Fatalf("a delete of reserved keys only: %v", err)
	}

	// Properties (Informer's) and libraries' x_attrs pass them over too.
	it, err = e.svc.SetProps(ctx, file.ID, library.ItemProps{XAttrs: with("remoteUrl", "https://x")})
	if err != nil {
		t.Fatal(err)
	}
	wantAttrs("props", it.XAttrs, "map[b:2 remoteUrl:https://x]")
	lib, err := e.svc.CreateLibrary(ctx, library.Spec{Kind: shelf.KindSpace, XAttrs: with("contactId", "c1")})
	if err != nil {
		t.Fatal(err)
	}
	wantAttrs("library", lib.XAttrs, "map[contactId:c1]")
	lib, err = e.svc.UpdateLibrary(ctx, shelf.KindSpace, lib.ID, library.Update{SetXAttrs: with("blueprintId", "b1"), DelXAttrs: []string{"shelf.x"}})
	if err != nil {
		t.Fatal(err)
	}
	wantAttrs("library update", lib.XAttrs, "map[blueprintId:b1 contactId:c1]")

	// The limit counts the keys kept: 128 keys and the reserved ones fit.
	many := with()
	for i := range 128 {
		many[fmt.Sprintf("k%03d", i)] = "v"
	}
	if _, err := e.svc.CreateFolder(ctx, root.ID, "many", "", many); err != nil {
		t.Fatalf("128 keys and reserved ones: %v", err)
	}

	// A reserved key already in a row (written before the rule, or by the
	// server) is not a client's to remove.
	err = e.store.Update(context.Background(), func(tx shelf.Tx) error {
		it, err := tx.Item(context.Background(), folder.WorkspaceID, folder.ID)
		if err != nil {
			return err
		}
		it.XAttrs["x_source"] = "system"
		return tx.UpdateItem(context.Background(), it)
	})
	if err != nil {
		t.Fatal(err)
	}
	it, err = e.svc.DeleteXAttrs(ctx, folder.ID, []string{"x_source", "c"})
	if err != nil {
		t.Fatal(err)
	}
	wantAttrs("delete beside a stored reserved key", it.XAttrs, "map[x_source:system]")
}
