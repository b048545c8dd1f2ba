// Package storetest is the conformance suite for shelf.Store: every store
// (store/sqlite, store/postgres) runs Run from its own tests, so that they
// all keep the same contract. It tests only what store.go promises, plus
// the points below where that contract is read one way, never one
// backend's specifics; it must not import a store.
//
// Readings of the contract the suite holds every store to:
//   - A lookup by id, path or slug of another workspace's row is ENOTFOUND;
//     a list (Keys, Children, TakenPaths, Versions) of another workspace's
//     rows is empty, not an error.
//   - CreateItem into a library of another workspace, and CreateVersion for
//     an item of another workspace, are ENOTFOUND; so are PutPart for a
//     missing upload and DeleteKey, DeletePart, DeleteUpload, UpdateItem,
//     UpdateLibrary and UpdateUpload of a missing row.
//   - View and Update return fn's error unchanged (errors.Is holds), and so
//     does WalkBlobRefs, which stops at fn's first error.
//   - Times read back in UTC and equal to within a microsecond.
//   - An expected error is always the last statement of its transaction,
//     because PostgreSQL aborts a transaction after a failed statement.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/shelfmem/shelf"
)

// Run runs the suite. open must return a new, empty store for each call
// and close it when t ends (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) shelf.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s shelf.Store)
	}{
		{"Settings", testSettings},
		{"Workspaces", testWorkspaces},
		{"Keys", testKeys},
		{"KeyFields", testKeyFields},
		{"KeyRateLimits", testKeyRateLimits},
		{"TouchKeys", testTouchKeys},
		{"ListKeys", testListKeys},
		{"IdempotencyRecords", testIdempotencyRecords},
		{"Libraries", testLibraries},
		{"Items", testItems},
		{"UpdateItem", testUpdateItem},
		{"Children", testChildren},
		{"TakenPaths", testTakenPaths},
		{"MovePaths", testMovePaths},
		{"DeleteTree", testDeleteTree},
		{"DeleteTreeRoot", testDeleteTreeRoot},
		{"DeleteBelow", testDeleteBelow},
		{"MoveBelow", testMoveBelow},
		{"OthersBelow", testOthersBelow},
		{"TreeOps", testTreeOps},
		{"SnapshotBatches", testSnapshotBatches},
		{"Versions", testVersions},
		{"Uploads", testUploads},
		{"Parts", testParts},
		{"ExpiredUploads", testExpiredUploads},
		{"BlobReferenced", testBlobReferenced},
		{"WalkBlobRefs", testWalkBlobRefs},
		{"UpdateRollback", testUpdateRollback},
		{"ViewReadOnly", testViewReadOnly},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"Timestamps", testTimestamps},
		{"IngestFields", testIngestFields},
		{"ItemByExternalID", testItemByExternalID},
		{"ChildrenFilter", testChildrenFilter},
		{"QueryItems", testQueryItems},
		{"QueryItemsPrefix", testQueryItemsPrefix},
		{"LibrariesByKind", testLibrariesByKind},
		{"InlineBlobs", testInlineBlobs},
		{"LibraryFields", testLibraryFields},
		{"ListLibraries", testListLibraries},
		{"DeleteLibrary", testDeleteLibrary},
		{"Tree", testTree},
		{"IndexJobs", testIndexJobs},
		{"SearchChunks", testSearchChunks},
		{"IndexCounts", testIndexCounts},
		{"SetIndexStatus", testSetIndexStatus},
		{"Vectors", testVectors},
		{"CopyChunks", testCopyChunks},
		{"Embeddings", testEmbeddings},
		{"Snapshots", testSnapshots},
		{"ListItems", testListItems},
		{"ListDeep", testListDeep},
		{"Projects", testProjects},
		{"ProjectDocuments", testProjectDocuments},
		{"ProjectGroups", testProjectGroups},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// t0 is the base of the suite's times: not UTC, and with microseconds, so
// that a store that drops the zone's offset or truncates to seconds fails.
var t0 = time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.FixedZone("UTC+5:30", 5*3600+1800))

// at returns t0 + d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// newID returns a random UUID (version 4), the shape of Shelf's ids.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// hashOf returns the hex SHA-256 of s, the shape of a blob hash.
func hashOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func update(t *testing.T, s shelf.Store, fn func(ctx context.Context, tx shelf.Tx) error) {
	t.Helper()
	ctx := t.Context()
	if err := s.Update(ctx, func(tx shelf.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// updateErr runs fn in an Update and returns its error, for a write that
// is expected to fail.
func updateErr(t *testing.T, s shelf.Store, fn func(ctx context.Context, tx shelf.Tx) error) error {
	ctx := t.Context()
	return s.Update(ctx, func(tx shelf.Tx) error { return fn(ctx, tx) })
}

func view(t *testing.T, s shelf.Store, fn func(ctx context.Context, tx shelf.Tx) error) {
	t.Helper()
	ctx := t.Context()
	if err := s.View(ctx, func(tx shelf.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// viewErr runs fn in a View and returns its error, for a read that is
// expected to fail.
func viewErr(t *testing.T, s shelf.Store, fn func(ctx context.Context, tx shelf.Tx) error) error {
	ctx := t.Context()
	return s.View(ctx, func(tx shelf.Tx) error { return fn(ctx, tx) })
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := shelf.ErrorCode(err); got != code {
		t.Fatalf("%s: code %q, want %q (err = %v)", what, got, code, err)
	}
}

// same fails t unless got equals want, comparing times as instants and
// treating nil and empty maps and slices alike; every time in got must be
// in UTC.
func same[T any](t *testing.T, what string, got, want *T) {
	t.Helper()
	if got == nil || want == nil {
		if got != want {
			t.Fatalf("%s: got %+v, want %+v", what, got, want)
		}
		return
	}
	if err := checkUTC(reflect.ValueOf(*got)); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	g, w := normalize(*got), normalize(*want)
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

// sameList is same for each element of two lists, in order.
func sameList[T any](t *testing.T, what string, got, want []*T) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d, want %d:\n got %s\nwant %s", what, len(got), len(want), dump(got), dump(want))
	}
	for i := range got {
		same(t, fmt.Sprintf("%s[%d]", what, i), got[i], want[i])
	}
}

func dump[T any](xs []*T) string {
	s := "["
	for _, x := range xs {
		s += fmt.Sprintf("%+v ", normalize(*x))
	}
	return s + "]"
}

// normalize returns a copy of the struct v with its times in a canonical
// UTC form and its empty maps and slices nil.
func normalize[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	if rv.Kind() != reflect.Struct {
		return v
	}
	for i := range rv.NumField() {
		f := rv.Field(i)
		switch x := f.Interface().(type) {
		case time.Time:
			if !x.IsZero() {
				f.Set(reflect.ValueOf(time.Unix(x.Unix(), int64(x.Nanosecond())).UTC()))
			}
		default:
			if (f.Kind() == reflect.Map || f.Kind() == reflect.Slice) && f.Len() == 0 {
				f.Set(reflect.Zero(f.Type()))
			}
		}
	}
	return v
}

// checkUTC reports a non-zero time field of the struct v that is not UTC.
func checkUTC(v reflect.Value) error {
	for i := range v.NumField() {
		if x, ok := v.Field(i).Interface().(time.Time); ok && !x.IsZero() && x.Location() != time.UTC {
			return fmt.Errorf("%s is in %v, want UTC", v.Type().Field(i).Name, x.Location())
		}
	}
	return nil
}

// world is two workspaces, A and B, each with a library whose root item
// exists. B's library has the same slug as A's.
type world struct {
	a, b       *shelf.Workspace
	libA, libB *shelf.Library
	rootA      *shelf.Item
	rootB      *shelf.Item
}

func newWorld(t *testing.T, s shelf.Store) *world {
	t.Helper()
	w := &world{
		a: &shelf.Workspace{ID: newID(), Name: "A", CreatedAt: at(0)},
		b: &shelf.Workspace{ID: newID(), Name: "B", CreatedAt: at(time.Second)},
	}
	w.libA, w.rootA = newLibrary(w.a, "docs")
	w.libB, w.rootB = newLibrary(w.b, "docs")
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, ws := range []*shelf.Workspace{w.a, w.b} {
			if err := tx.CreateWorkspace(ctx, ws); err != nil {
				return err
			}
		}
		for _, l := range []*shelf.Library{w.libA, w.libB} {
			if err := tx.CreateLibrary(ctx, l); err != nil {
				return err
			}
		}
		for _, r := range []*shelf.Item{w.rootA, w.rootB} {
			if err := tx.CreateItem(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	return w
}

// newLibrary returns a library of ws and its root folder, not yet stored.
func newLibrary(ws *shelf.Workspace, slug string) (*shelf.Library, *shelf.Item) {
	l := &shelf.Library{
		ID: newID(), WorkspaceID: ws.ID, Slug: slug, Name: "Library " + slug, Kind: shelf.KindLibrary,
		CreatedAt: at(2 * time.Second), UpdatedAt: at(3 * time.Second),
	}
	root := &shelf.Item{
		ID: newID(), WorkspaceID: ws.ID, LibraryID: l.ID, Type: shelf.TypeFolder, Name: "MY_SPACE",
		Path: "", CreatedAt: l.CreatedAt, UpdatedAt: l.CreatedAt,
	}
	l.RootID = root.ID
	return l, root
}

// child returns an item named name under parent, not yet stored. Files get
// head fields.
func child(parent *shelf.Item, name string, typ shelf.ItemType) *shelf.Item {
	it := &shelf.Item{
		ID: newID(), WorkspaceID: parent.WorkspaceID, LibraryID: parent.LibraryID, ParentID: parent.ID,
		Type: typ, Name: name, Path: name, XAttrs: map[string]string{},
		CreatedAt: at(time.Minute), UpdatedAt: at(2 * time.Minute),
	}
	if parent.Path != "" {
		it.Path = parent.Path + "/" + name
	}
	if typ == shelf.TypeFile {
		it.Head, it.Size, it.Hash, it.ContentType = 1, int64(len(name)), hashOf(it.Path), "text/plain"
	}
	return it
}

// createItems stores items in one transaction, in order.
func createItems(t *testing.T, s shelf.Store, items ...*shelf.Item) {
	t.Helper()
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, it := range items {
			if err := tx.CreateItem(ctx, it); err != nil {
				return fmt.Errorf("%q: %w", it.Path, err)
			}
		}
		return nil
	})
}

// getItem reads an item by id, failing t if it is not there.
func getItem(t *testing.T, s shelf.Store, ws, id string) *shelf.Item {
	t.Helper()
	var it *shelf.Item
	view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		it, err = tx.Item(ctx, ws, id)
		return err
	})
	return it
}

// errSentinel is returned by test functions to check that a store hands an
// fn's error back unchanged.
var errSentinel = errors.New("storetest: sentinel")
