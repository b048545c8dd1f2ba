package library_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/library"
)

// pauser is a Config.Hook that stops the first time a point is reached
// until released, and says when it has.
type pauser struct {
	point   string
	off     atomic.Bool // passes the point by while set
	once    sync.Once
	reached chan struct{}
	release chan struct{}
}

func newPauser(point string) *pauser {
	return &pauser{point: point, reached: make(chan struct{}), release: make(chan struct{})}
}

func (p *pauser) hook(point string) {
	if point != p.point || p.off.Load() {
		return
	}
	first := false
	p.once.Do(func() { first = true })
	if first {
		close(p.reached)
		// A test that fails before it releases the point must not hang
		// the server's shutdown: the point lets go on its own in time.
		select {
		case <-p.release:
		case <-time.After(2 * time.Minute):
		}
	}
}

func (p *pauser) wait(t *testing.T) {
	t.Helper()
	select {
	case <-p.reached:
	case <-time.After(30 * time.Second):
		t.Fatalf("the hook %q was never reached", p.point)
	}
}

// treeOps lists the ops recorded for a library.
func (e *env) treeOps(t *testing.T, libraryID string) []*shelf.TreeOp {
	t.Helper()
	var ops []*shelf.TreeOp
	err := e.store.View(context.Background(), func(tx shelf.Tx) (err error) {
		ops, err = tx.TreeOps(context.Background(), e.ws(), libraryID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ops
}

// paths lists every item below a library's root, every principal's,
// hidden ones too, in path order.
func (e *env) paths(t *testing.T, libraryID string) []string {
	t.Helper()
	var out []string
	err := e.store.View(context.Background(), func(tx shelf.Tx) error {
		items, err := tx.Tree(context.Background(), e.ws(), shelf.TreeQuery{LibraryID: libraryID,
			Filter: shelf.ItemFilter{WithHidden: true, AllScopes: true}, Limit: 10000})
		for _, it := range items {
			out = append(out, it.Path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// managed makes a library of kind library with files at paths (content:
// the path).
func (e *env) managed(t *testing.T, slug string, paths ...string) *shelf.Library {
	t.Helper()
	lib, err := e.svc.CreateLibrary(e.ctx, library.Spec{Kind: shelf.KindLibrary, Slug: slug, Name: slug})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		w := fileWrite(p, "content of "+p)
		w.LibraryID = lib.ID
		e.write(t, e.ctx, w)
	}
	return lib
}

func manyPaths(dirs, files int) []string {
	var out []string
	for d := range dirs {
		for f := range files {
			out = append(out, fmt.Sprintf("big/d%d/f%03d.txt", d, f))
		}
	}
	return out
}

// Point 4 of issue 16: a recursive delete takes only what the caller may
// see. Another key's private files stay where they are, with the folders
// that hold them, and the count is the caller's items only. The same in
// one transaction and in batches of one row.
func TestDeleteKeepsOthersPrivateItems(t *testing.T) {
	for _, rows := range []int{0, 1} {
		t.Run(fmt.Sprintf("BulkRows=%d", rows), func(t *testing.T) {
			e := newEnv(t, library.Config{BulkRows: rows})
			k2, _ := e.keyCtx(t, "writer", shelf.ScopeWrite)
			private := func(path string) *shelf.Item {
				d := doc("", path, "private "+path)
				d.Scope = shelf.VisiblePrivate
				return e.ingest(t, k2, d).Item
			}
			theirs := []*shelf.Item{private("team/a/theirs.md"), private("team/a/deep/theirs2.md")}
			mine := []*shelf.Item{
				e.ingest(t, e.ctx, doc("", "team/a/mine.md", "mine")).Item,
				e.ingest(t, e.ctx, doc("", "team/b/mine.md", "mine")).Item,
				e.ingest(t, e.ctx, doc("", "team/c.md", "mine")).Item,
			}
			lib := mine[0].LibraryID
			team, err := e.svc.ItemAt(e.ctx, lib, "team")
			if err != nil {
				t.Fatal(err)
			}
			n, err := e.svc.Delete(e.ctx, team.ID)
			if err != nil {
				t.Fatal(err)
			}
			// The caller's three files and the folder team/b; team,
			// team/a and team/a/deep hold another's files.
			if n != 4 {
				t.Fatalf("Delete counted %d, want 4 (the caller's items only)", n)
			}
			if got, want := e.paths(t, lib), []string{"team", "team/a", "team/a/deep", "team/a/deep/theirs2.md", "team/a/theirs.md"}; !slices.Equal(got, want) {
				t.Fatalf("after the delete: %q, want %q", got, want)
			}
			for _, it := range theirs {
				got, err := e.svc.Item(k2, it.ID)
				if err != nil || got.Path != it.Path {
					t.Fatalf("their file %s after the delete: %+v, %v", it.Path, got, err)
				}
				_, v, err := e.svc.Content(k2, it.ID, 0)
				if err != nil || v.Hash != it.Hash {
					t.Fatalf("their file's content: %v", err)
				}
			}
			for _, it := range mine {
				_, err := e.svc.Item(e.ctx, it.ID)
				wantCode(t, err, shelf.ENOTFOUND)
			}
			// The folder is still there, empty to the caller.
			kids, _, err := e.svc.Children(e.ctx, team.ID, "", 10)
			if err != nil || len(kids) != 1 || kids[0].Name != "a" {
				t.Fatalf("the caller's view of team: %v, %v", kids, err)
			}
			if ops := e.treeOps(t, lib); len(ops) != 0 {
				t.Fatalf("ops left: %+v", ops)
			}
			e.fsckClean(t)
		})
	}
}

// A large delete runs in batches, each its own transaction, with its op
// recorded between them; it ends with nothing left and no op.
func TestDeleteInBatches(t *testing.T) {
	p := newPauser("tree-op-batch")
	e := newEnv(t, library.Config{BulkRows: 4, Hook: p.hook})
	lib := e.managed(t, "big", manyPaths(3, 10)...)
	big, err := e.svc.ItemAt(e.ctx, lib.ID, "big")
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := e.svc.Delete(e.ctx, big.ID)
		done <- result{n, err}
	}()
	p.wait(t)
	// The first batch has committed and the op is recorded.
	ops := e.treeOps(t, lib.ID)
	if len(ops) != 1 || ops[0].Kind != shelf.TreeOpDelete || ops[0].ItemID != big.ID || ops[0].Done != 4 || ops[0].Cursor == "" {
		t.Fatalf("ops after the first batch: %+v", ops)
	}
	if got := len(e.paths(t, lib.ID)); got != 34-4 {
		t.Fatalf("%d items left after the first batch, want 30", got)
	}
	close(p.release)
	r := <-done
	if r.err != nil || r.n != 34 {
		t.Fatalf("Delete = %d, %v; want 34 (30 files, 3 folders and big)", r.n, r.err)
	}
	if got := e.paths(t, lib.ID); len(got) != 0 {
		t.Fatalf("left: %q", got)
	}
	if ops := e.treeOps(t, lib.ID); len(ops) != 0 {
		t.Fatalf("ops left: %+v", ops)
	}
	e.fsckClean(t)
}

// While a delete runs in batches, nothing can be made, moved or deleted
// in its subtree or above it, and no snapshot of the library is taken;
// the rest of the library takes writes.
func TestTreeOpGuards(t *testing.T) {
	p := newPauser("tree-op-batch")
	e := newEnv(t, library.Config{BulkRows: 2, Hook: p.hook})
	lib := e.managed(t, "lib", append(manyPaths(1, 10), "top/other.txt", "elsewhere/x.txt")...)
	big, _ := e.svc.ItemAt(e.ctx, lib.ID, "big")
	d0, _ := e.svc.ItemAt(e.ctx, lib.ID, "big/d0")
	other, _ := e.svc.ItemAt(e.ctx, lib.ID, "top/other.txt")
	top, _ := e.svc.ItemAt(e.ctx, lib.ID, "top")
	elsewhere, _ := e.svc.ItemAt(e.ctx, lib.ID, "elsewhere")
	done := make(chan error, 1)
	go func() {
		_, err := e.svc.Delete(e.ctx, big.ID)
		done <- err
	}()
	p.wait(t)
	in := fileWrite("big/d0/new.txt", "x")
	in.LibraryID = lib.ID
	_, err := e.svc.WriteFile(e.ctx, in)
	wantCode(t, err, shelf.ECONFLICT)
	_, err = e.svc.CreateFolder(e.ctx, d0.ID, "sub", library.ConflictDeny, nil)
	wantCode(t, err, shelf.ECONFLICT)
	_, err = e.svc.UpdateItem(e.ctx, other.ID, library.ItemUpdate{ParentID: &d0.ID})
	wantCode(t, err, shelf.ECONFLICT)
	_, err = e.svc.UpdateItem(e.ctx, top.ID, library.ItemUpdate{ParentID: &d0.ID})
	wantCode(t, err, shelf.ECONFLICT)
	_, err = e.svc.UpdateItem(e.ctx, elsewhere.ID, library.ItemUpdate{ParentID: &big.ID})
	wantCode(t, err, shelf.ECONFLICT)
	_, err = e.svc.Delete(e.ctx, d0.ID)
	wantCode(t, err, shelf.ECONFLICT)
	_, err = e.svc.CreateSnapshot(e.ctx, lib.ID, "", 0)
	wantCode(t, err, shelf.ECONFLICT)
	_, err = e.svc.DeleteLibrary(e.ctx, shelf.KindLibrary, lib.ID)
	wantCode(t, err, shelf.ECONFLICT)
	// Elsewhere in the library, and in another workspace, writes go on.
	out := fileWrite("top/new.txt", "y")
	out.LibraryID = lib.ID
	e.write(t, e.ctx, out)
	if _, err := e.svc.UpdateItem(e.ctx, other.ID, library.ItemUpdate{ParentID: &elsewhere.ID}); err != nil {
		t.Fatal(err)
	}
	e.write(t, e.otherWorkspace(t), fileWrite("big/d0/x.txt", "another workspace"))
	close(p.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, want := e.paths(t, lib.ID), []string{"elsewhere", "elsewhere/other.txt", "elsewhere/x.txt", "top", "top/new.txt"}; !slices.Equal(got, want) {
		t.Fatalf("after: %q, want %q", got, want)
	}
	// Once it is done, the paths are free again.
	in = fileWrite("big/d0/new.txt", "x")
	in.LibraryID = lib.ID
	e.write(t, e.ctx, in)
}

// A process that dies in the middle of a delete leaves its op; once the
// lease has ended another process claims it and finishes it, and the first
// stops at its next batch.
func TestTreeOpResumedByAnotherProcess(t *testing.T) {
	p := newPauser("tree-op-batch")
	e := newEnv(t, library.Config{BulkRows: 3, OpLease: time.Minute, Hook: p.hook})
	lib := e.managed(t, "big", manyPaths(2, 10)...)
	big, _ := e.svc.ItemAt(e.ctx, lib.ID, "big")
	done := make(chan error, 1)
	go func() {
		_, err := e.svc.Delete(e.ctx, big.ID)
		done <- err
	}()
	p.wait(t)
	// A second process on the same store.
	other, err := library.Open(context.Background(), e.store, e.blobs,
		library.Config{BulkRows: 3, OpLease: time.Minute, Now: e.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go other.RunTreeOps(ctx)
	time.Sleep(100 * time.Millisecond)
	if len(e.treeOps(t, lib.ID)) != 1 {
		t.Fatal("the op was taken before its lease ended")
	}
	e.clock.Add(2 * time.Minute)
	deadline := time.Now().Add(30 * time.Second)
	for len(e.treeOps(t, lib.ID)) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the other process never finished the op")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := e.paths(t, lib.ID); len(got) != 0 {
		t.Fatalf("left: %q", got)
	}
	close(p.release)
	if err := <-done; err != nil {
		t.Fatalf("the first process, after losing its op: %v", err)
	}
	e.fsckClean(t)
}

// A folder that holds another key's private items is not moved or
// renamed (409): they stay where they are. A folder without them moves
// in batches; while it does, nothing can be made in its old or new place.
func TestMoveFolder(t *testing.T) {
	p := newPauser("tree-op-batch")
	e := newEnv(t, library.Config{BulkRows: 2, Hook: p.hook})
	k2, _ := e.keyCtx(t, "writer", shelf.ScopeWrite)
	d := doc("", "team/a/theirs.md", "private")
	d.Scope = shelf.VisiblePrivate
	theirs := e.ingest(t, k2, d).Item
	mine := e.ingest(t, e.ctx, doc("", "team/mine.md", "mine")).Item
	src := theirs.LibraryID
	team, _ := e.svc.ItemAt(e.ctx, src, "team")
	root, _ := e.svc.ItemAt(e.ctx, src, "")
	archive, err := e.svc.CreateFolder(e.ctx, root.ID, "archive", library.ConflictDeny, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := e.paths(t, src)
	_, err = e.svc.UpdateItem(e.ctx, team.ID, library.ItemUpdate{ParentID: &archive.ID})
	wantCode(t, err, shelf.ECONFLICT)
	name := "renamed"
	_, err = e.svc.UpdateItem(e.ctx, team.ID, library.ItemUpdate{Name: &name})
	wantCode(t, err, shelf.ECONFLICT)
	if got := e.paths(t, src); !slices.Equal(got, before) {
		t.Fatalf("a refused move changed %q into %q", before, got)
	}
	// The key that owns them may: it sees everything below.
	_, _ = mine, k2

	// A folder of many files moves in batches.
	lib := e.managed(t, "big", manyPaths(2, 5)...)
	big, _ := e.svc.ItemAt(e.ctx, lib.ID, "big")
	dest, err := e.svc.CreateFolder(e.ctx, rootOf(t, e, lib), "dest", library.ConflictDeny, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := e.svc.UpdateItem(e.ctx, big.ID, library.ItemUpdate{ParentID: &dest.ID})
		done <- err
	}()
	p.wait(t)
	for _, path := range []string{"big/d0/new.txt", "big/new.txt", "dest/big/d1/new.txt", "dest/big/new.txt"} {
		w := fileWrite(path, "x")
		w.LibraryID = lib.ID
		_, err := e.svc.WriteFile(e.ctx, w)
		wantCode(t, err, shelf.ECONFLICT)
	}
	close(p.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	w := fileWrite("dest/big/new.txt", "x")
	w.LibraryID = lib.ID
	e.write(t, e.ctx, w)
	want := []string{"dest", "dest/big"}
	for d := range 2 {
		want = append(want, fmt.Sprintf("dest/big/d%d", d))
		for f := range 5 {
			want = append(want, fmt.Sprintf("dest/big/d%d/f%03d.txt", d, f))
		}
	}
	want = append(want, "dest/big/new.txt")
	slices.Sort(want)
	if got := e.paths(t, lib.ID); !slices.Equal(got, want) {
		t.Fatalf("after the move: %q, want %q", got, want)
	}
	e.fsckClean(t)
}

func rootOf(t *testing.T, e *env, lib *shelf.Library) string {
	t.Helper()
	return lib.RootID
}

// read returns the head content of the file at path.
func (e *env) readAt(t *testing.T, libraryID, path string) string {
	t.Helper()
	it, err := e.svc.ItemAt(e.ctx, libraryID, path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	_, v, err := e.svc.Content(e.ctx, it.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := e.svc.Read(e.ctx, v, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

// A restore in batches of two rows puts every item back where it was,
// with its id, through renames, moves, deletions, new items at the
// snapshot's paths and new bytes; it leaves nothing parked, and items in
// their place are not written.
func TestRestoreInBatches(t *testing.T) {
	e := newEnv(t, library.Config{BulkRows: 2})
	lib := e.managed(t, "lib", "a/1.txt", "a/2.txt", "b/3.txt", "c.txt", "keep/k.txt")
	ids := map[string]string{}
	for _, p := range e.paths(t, lib.ID) {
		it, _ := e.svc.ItemAt(e.ctx, lib.ID, p)
		ids[p] = it.ID
	}
	keep, _ := e.svc.ItemAt(e.ctx, lib.ID, "keep/k.txt")
	sn, err := e.svc.CreateSnapshot(e.ctx, lib.ID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	// Change it all.
	z := "z"
	if _, err := e.svc.UpdateItem(e.ctx, ids["a"], library.ItemUpdate{Name: &z}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.MoveFile(e.ctx, ids["a/2.txt"], "2.txt", library.ConflictDeny); err != nil {
		t.Fatal(err)
	}
	for _, w := range []library.FileWrite{fileWrite("c.txt", "new bytes"), fileWrite("a/1.txt", "a new file where one was"), fileWrite("d/4.txt", "new")} {
		w.LibraryID = lib.ID
		e.write(t, e.ctx, w)
	}
	if _, err := e.svc.Delete(e.ctx, ids["b"]); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RestoreSnapshot(e.ctx, lib.ID, sn.ID); err != nil {
		t.Fatal(err)
	}
	got := e.paths(t, lib.ID)
	want := []string{"a", "a/1.txt", "a/2.txt", "b", "b/3.txt", "c.txt", "keep", "keep/k.txt"}
	if !slices.Equal(got, want) {
		t.Fatalf("after the restore: %q, want %q", got, want)
	}
	for _, p := range want {
		it, err := e.svc.ItemAt(e.ctx, lib.ID, p)
		if err != nil || it.ID != ids[p] || it.Hidden {
			t.Fatalf("%s after the restore: %+v, %v; want id %s", p, it, err, ids[p])
		}
		if strings.HasSuffix(p, ".txt") {
			if got := e.readAt(t, lib.ID, p); got != "content of "+p {
				t.Fatalf("%s reads %q", p, got)
			}
		}
	}
	if after, _ := e.svc.Item(e.ctx, keep.ID); !after.UpdatedAt.Equal(keep.UpdatedAt) {
		t.Fatal("an item in its place was written")
	}
	if ops := e.treeOps(t, lib.ID); len(ops) != 0 {
		t.Fatalf("ops left: %+v", ops)
	}
	e.fsckClean(t)
}

// Deleting a library hides it at once (no lookup finds it, its natural
// id is free) and purges its items and snapshots in batches.
func TestDeleteLibraryInBatches(t *testing.T) {
	p := newPauser("tree-op-batch")
	e := newEnv(t, library.Config{BulkRows: 3, Hook: p.hook})
	lib := e.managed(t, "big", manyPaths(2, 6)...)
	p.off.Store(true)
	if _, err := e.svc.CreateSnapshot(e.ctx, lib.ID, "", 0); err != nil {
		t.Fatal(err)
	}
	p.off.Store(false)
	done := make(chan error, 1)
	go func() {
		_, err := e.svc.DeleteLibrary(e.ctx, shelf.KindLibrary, "big")
		done <- err
	}()
	p.wait(t)
	_, err := e.svc.GetLibrary(e.ctx, shelf.KindLibrary, "big")
	wantCode(t, err, shelf.ENOTFOUND)
	_, err = e.svc.GetLibrary(e.ctx, shelf.KindLibrary, lib.ID)
	wantCode(t, err, shelf.ENOTFOUND)
	again, err := e.svc.CreateLibrary(e.ctx, library.Spec{Kind: shelf.KindLibrary, Slug: "big", Name: "again"})
	if err != nil {
		t.Fatalf("the natural id of a library being deleted: %v", err)
	}
	close(p.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	err = e.store.View(context.Background(), func(tx shelf.Tx) error {
		_, err := tx.Library(context.Background(), e.ws(), lib.ID)
		return err
	})
	wantCode(t, err, shelf.ENOTFOUND)
	if got, err := e.svc.GetLibrary(e.ctx, shelf.KindLibrary, "big"); err != nil || got.ID != again.ID {
		t.Fatalf("big = %+v, %v", got, err)
	}
	e.fsckClean(t)
}

// A bulk patch is checked whole before anything is written, even when it
// is written in batches of one row; then it is written whole.
func TestPatchItemsInBatches(t *testing.T) {
	e := newEnv(t, library.Config{BulkRows: 1})
	lib := e.managed(t, "lib", "docs/a.md", "docs/b.md", "docs/guide/c.md", "x.txt")
	ct := "text/x-patched"
	same := "same.md"
	_, err := e.svc.PatchItems(e.ctx, lib.ID, []library.PropPatch{
		{Glob: "/**/*.md", Props: library.ItemProps{ContentType: &ct}},
		{Glob: "/docs/*.md", Rename: &same},
	})
	wantCode(t, err, shelf.ECONFLICT)
	for _, p := range []string{"docs/a.md", "docs/b.md", "docs/guide/c.md"} {
		if it, _ := e.svc.ItemAt(e.ctx, lib.ID, p); it.ContentType == ct {
			t.Fatalf("a refused patch changed %s", p)
		}
	}
	n, err := e.svc.PatchItems(e.ctx, lib.ID, []library.PropPatch{
		{Glob: "/**/*.md", Props: library.ItemProps{ContentType: &ct}},
		{Glob: "/docs/guide", Rename: &same},
	})
	if err != nil || n != 4 {
		t.Fatalf("PatchItems = %d, %v; want 4", n, err)
	}
	for _, p := range []string{"docs/a.md", "docs/b.md", "docs/same.md/c.md"} {
		if it, err := e.svc.ItemAt(e.ctx, lib.ID, p); err != nil || it.ContentType != ct {
			t.Fatalf("%s after the patch: %+v, %v", p, it, err)
		}
	}
	e.fsckClean(t)
}

// Making a library embedded clears its files' index, and making it not
// embedded queues them all again, in batches.
func TestEmbeddedToggleInBatches(t *testing.T) {
	e := newEnv(t, library.Config{BulkRows: 2})
	lib := e.managed(t, "lib", manyPaths(1, 7)...)
	yes, no := true, false
	states := func() map[string]int {
		out := map[string]int{}
		for _, p := range e.paths(t, lib.ID) {
			it, _ := e.svc.ItemAt(e.ctx, lib.ID, p)
			if it.Type == shelf.TypeFile {
				out[it.Index.State]++
			}
		}
		return out
	}
	if got := states(); got[shelf.IndexQueued] != 7 {
		t.Fatalf("before: %v", got)
	}
	if _, err := e.svc.UpdateLibrary(e.ctx, shelf.KindLibrary, lib.ID, library.Update{Embedded: &yes}); err != nil {
		t.Fatal(err)
	}
	if got := states(); got[""] != 7 {
		t.Fatalf("embedded: %v, want every file cleared", got)
	}
	if _, err := e.svc.UpdateLibrary(e.ctx, shelf.KindLibrary, lib.ID, library.Update{Embedded: &no}); err != nil {
		t.Fatal(err)
	}
	if got := states(); got[shelf.IndexQueued] != 7 {
		t.Fatalf("not embedded again: %v, want every file queued", got)
	}
	if ops := e.treeOps(t, lib.ID); len(ops) != 0 {
		t.Fatalf("ops left: %+v", ops)
	}
}

// fsck finds an item whose parent is not the folder at the rest of its
// path: what a delete or move in batches must never leave.
func TestFsckFindsOrphans(t *testing.T) {
	e := newEnv(t, library.Config{})
	lib := e.managed(t, "lib", "a/b.txt")
	a, _ := e.svc.ItemAt(e.ctx, lib.ID, "a")
	err := e.store.Update(context.Background(), func(tx shelf.Tx) error {
		now := time.Now()
		return tx.CreateItem(context.Background(), &shelf.Item{ID: "orphan", WorkspaceID: e.ws(), LibraryID: lib.ID,
			ParentID: a.ID, Type: shelf.TypeFile, Name: "c.txt", Path: "gone/c.txt", Scope: shelf.VisibleWorkspace,
			CreatedAt: now, UpdatedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	problems, err := e.svc.Fsck(context.Background(), false)
	if err != nil || len(problems) != 1 || problems[0].Kind != "orphan_item" {
		t.Fatalf("fsck = %+v, %v; want one orphan_item", problems, err)
	}
}

// A snapshot of a large library is copied in batches from one read
// transaction: it is the tree of one instant (a file written during the
// copy is not in it), it is not listed until complete, and it restores
// and deletes in batches too. One whose process dies is deleted by the
// process that claims it.
func TestSnapshotInBatches(t *testing.T) {
	p := newPauser("tree-op-batch")
	e := newEnv(t, library.Config{BulkRows: 4, Hook: p.hook})
	lib := e.managed(t, "lib", manyPaths(2, 10)...)
	type result struct {
		sn  *shelf.Snapshot
		err error
	}
	done := make(chan result, 1)
	go func() {
		sn, err := e.svc.CreateSnapshot(e.ctx, lib.ID, "", 0)
		done <- result{sn, err}
	}()
	p.wait(t)
	if list, err := e.svc.Snapshots(e.ctx, lib.ID); err != nil || len(list) != 0 {
		t.Fatalf("snapshots while one is being made: %v, %v", list, err)
	}
	w := fileWrite("late.txt", "written during the copy")
	w.LibraryID = lib.ID
	e.write(t, e.ctx, w)
	close(p.release)
	r := <-done
	if r.err != nil || r.sn.FileCount != 20 {
		t.Fatalf("CreateSnapshot = %+v, %v; want 20 files", r.sn, r.err)
	}
	if list, _ := e.svc.Snapshots(e.ctx, lib.ID); len(list) != 1 || list[0].ID != r.sn.ID {
		t.Fatalf("snapshots after: %v", list)
	}
	if _, err := e.svc.RestoreSnapshot(e.ctx, lib.ID, r.sn.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.paths(t, lib.ID); len(got) != 23 || slices.Contains(got, "late.txt") {
		t.Fatalf("after the restore: %q", got)
	}
	if err := e.svc.DeleteSnapshot(e.ctx, lib.ID, r.sn.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := e.svc.Snapshots(e.ctx, lib.ID); len(list) != 0 {
		t.Fatalf("snapshots after the delete: %v", list)
	}
	if ops := e.treeOps(t, lib.ID); len(ops) != 0 {
		t.Fatalf("ops left: %+v", ops)
	}
	e.fsckClean(t)
}

func TestSnapshotOfADeadProcessIsDropped(t *testing.T) {
	p := newPauser("tree-op-batch")
	e := newEnv(t, library.Config{BulkRows: 4, OpLease: time.Minute, Hook: p.hook})
	lib := e.managed(t, "lib", manyPaths(2, 10)...)
	done := make(chan error, 1)
	go func() {
		_, err := e.svc.CreateSnapshot(e.ctx, lib.ID, "", 0)
		done <- err
	}()
	p.wait(t)
	other, err := library.Open(context.Background(), e.store, e.blobs,
		library.Config{BulkRows: 4, OpLease: time.Minute, Now: e.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.clock.Add(2 * time.Minute)
	go other.RunTreeOps(ctx)
	deadline := time.Now().Add(30 * time.Second)
	for len(e.treeOps(t, lib.ID)) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the abandoned snapshot was never dropped")
		}
		time.Sleep(20 * time.Millisecond)
	}
	err = e.store.View(context.Background(), func(tx shelf.Tx) error {
		all, err := tx.Snapshots(context.Background(), e.ws(), lib.ID)
		if err == nil && len(all) != 0 {
			t.Errorf("snapshots left: %+v", all)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	close(p.release)
	if err := <-done; shelf.ErrorCode(err) != shelf.ECONFLICT {
		t.Fatalf("the first process, after its snapshot was dropped: %v", err)
	}
}
