package library_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/library"
)

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// doc is a document of content, keyed by ext and/or path.
func doc(ext, path, content string) library.Doc {
	return library.Doc{ExternalID: ext, Path: path, Content: strings.NewReader(content), Size: int64(len(content))}
}

func (e *env) ingest(t *testing.T, ctx context.Context, d library.Doc) *library.Upserted {
	t.Helper()
	u, err := e.svc.Ingest(ctx, d)
	if err != nil {
		t.Fatalf("Ingest(%q, %q): %v", d.ExternalID, d.Path, err)
	}
	return u
}

func (e *env) write(t *testing.T, ctx context.Context, w library.FileWrite) *library.Upserted {
	t.Helper()
	u, err := e.svc.WriteFile(ctx, w)
	if err != nil {
		t.Fatalf("WriteFile(%q): %v", w.Path, err)
	}
	return u
}

func fileWrite(path, content string) library.FileWrite {
	return library.FileWrite{Path: path, Body: strings.NewReader(content), Size: int64(len(content))}
}

// ws is the default workspace, where e.ctx acts.
func (e *env) ws() string { return shelf.PrincipalFrom(e.ctx).WorkspaceID }

// sources lists the workspace's source libraries, straight from the store.
func (e *env) sources(t *testing.T) []*shelf.Library {
	t.Helper()
	var ls []*shelf.Library
	err := e.store.View(context.Background(), func(tx shelf.Tx) (err error) {
		ls, err = tx.Libraries(context.Background(), e.ws(), shelf.KindSource)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

// byPath reads an item of lib by path straight from the store.
func (e *env) byPath(t *testing.T, lib, path string) (*shelf.Item, error) {
	t.Helper()
	var it *shelf.Item
	err := e.store.View(context.Background(), func(tx shelf.Tx) (err error) {
		it, err = tx.ItemByPath(context.Background(), e.ws(), lib, path)
		return err
	})
	return it, err
}

func (e *env) referenced(t *testing.T, hash string) bool {
	t.Helper()
	var ref bool
	err := e.store.View(context.Background(), func(tx shelf.Tx) (err error) {
		ref, err = tx.BlobReferenced(context.Background(), hash)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// blobHashes lists the stored blobs, sorted.
func (e *env) blobHashes(t *testing.T) []string {
	t.Helper()
	var hs []string
	if err := e.blobs.Walk(context.Background(), func(b shelf.BlobInfo) error { hs = append(hs, b.Hash); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(hs)
	return hs
}

func (e *env) find(t *testing.T, ctx context.Context, q library.Selector) []library.Found {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 1000
	}
	f, err := e.svc.FindItems(ctx, q)
	if err != nil {
		t.Fatalf("FindItems(%+v): %v", q, err)
	}
	return f
}

func foundIDs(fs []library.Found) []string {
	ids := make([]string, len(fs))
	for i, f := range fs {
		ids[i] = f.Item.ID
	}
	return ids
}

func ids(items ...*shelf.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

// versions returns (number, hash) of every version of id, newest first.
func (e *env) versions(t *testing.T, ctx context.Context, id string) ([]int64, []string) {
	t.Helper()
	vs, err := e.svc.Versions(ctx, id)
	if err != nil {
		t.Fatalf("Versions(%s): %v", id, err)
	}
	var ns []int64
	var hs []string
	for _, v := range vs {
		if v.ItemID != id {
			t.Fatalf("Versions(%s) holds a version of %s", id, v.ItemID)
		}
		ns = append(ns, v.Number)
		hs = append(hs, v.Hash)
	}
	return ns, hs
}

func (e *env) readVersion(t *testing.T, ctx context.Context, id string, n int64) []byte {
	t.Helper()
	_, v, err := e.svc.Content(ctx, id, n)
	if err != nil {
		t.Fatalf("Content(%s, %d): %v", id, n, err)
	}
	r, err := e.svc.Read(ctx, v, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keyCtx makes a key of the default workspace with scopes and returns a
// context acting as it, and the key's id (its Owner).
func (e *env) keyCtx(t *testing.T, name string, scopes ...shelf.Scope) (context.Context, string) {
	t.Helper()
	k, token, err := e.svc.CreateKey(e.ctx, "", name, scopes)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.svc.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return shelf.NewContext(context.Background(), p), k.ID
}

func TestIngestByExternalID(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := e.ctx
	d := doc("doc-1", "", "hello")
	d.Metadata = []byte(`{ "a" : 1, "b": ["x", "ü"] }`)
	u1 := e.ingest(t, ctx, d)
	if u1.Status != library.StatusIndexed || u1.Version == nil || u1.Version.Number != 1 {
		t.Fatalf("first ingest = %+v, want indexed at version 1", u1)
	}
	src := u1.Source
	if src == nil || src.Name != "API ingest" || src.Kind != shelf.KindSource ||
		src.SourceType != "api" || src.WorkspaceID != e.ws() {
		t.Fatalf("source = %+v, want the %q source of type api", src, library.DefaultSourceName)
	}
	it := u1.Item
	if it.ExternalID != "doc-1" || it.Title != "doc-1" || it.LibraryID != src.ID || it.ParentID != src.RootID ||
		it.Name != "doc-1" || it.Path != "doc-1" || it.Head != 1 || it.Size != 5 || it.Hash != sha("hello") ||
		it.Scope != shelf.VisibleWorkspace || it.Owner != "" || it.Hidden || it.Type != shelf.TypeFile {
		t.Fatalf("item = %+v", it)
	}
	if string(it.Metadata) != `{"a":1,"b":["x","ü"]}` {
		t.Fatalf("metadata = %s, want the object, compacted", it.Metadata)
	}
	if v := u1.Version; v.ItemID != it.ID || v.Hash != sha("hello") || v.Size != 5 {
		t.Fatalf("version = %+v", v)
	}
	if ls := e.sources(t); len(ls) != 1 || ls[0].ID != src.ID || ls[0].SourceType != "api" || ls[0].Name != "API ingest" {
		t.Fatalf("sources in the store = %+v, want the one API ingest source", ls)
	}

	// The same bytes again: unchanged, the same item and version; title and
	// metadata follow the request.
	d = doc("doc-1", "", "hello")
	d.Title, d.Metadata = "Second title", []byte(`{"b":2}`)
	u2 := e.ingest(t, ctx, d)
	if u2.Status != library.StatusUnchanged || u2.Item.ID != it.ID || u2.Version.ID != u1.Version.ID ||
		u2.Version.Number != 1 || u2.Item.Head != 1 || u2.Source.ID != src.ID {
		t.Fatalf("same bytes again = %+v (version %+v), want unchanged, item %s version %s", u2, u2.Version, it.ID, u1.Version.ID)
	}
	if ns, hs := e.versions(t, ctx, it.ID); !slices.Equal(ns, []int64{1}) || !slices.Equal(hs, []string{sha("hello")}) {
		t.Fatalf("versions after unchanged = %v %v, want [1]", ns, hs)
	}
	got, err := e.svc.Item(ctx, it.ID)
	if err != nil || got.Title != "Second title" || string(got.Metadata) != `{"b":2}` || got.Head != 1 {
		t.Fatalf("item after unchanged = %+v, %v; want the new title and metadata", got, err)
	}

	// New bytes: version 2 of the same item.
	d = doc("doc-1", "", "hello v2")
	d.Title, d.Metadata = "Third", []byte(`{"c":[3]}`)
	u3 := e.ingest(t, ctx, d)
	if u3.Status != library.StatusIndexed || u3.Item.ID != it.ID || u3.Version.Number != 2 || u3.Version.ID == u1.Version.ID ||
		u3.Version.Hash != sha("hello v2") || u3.Item.Head != 2 || u3.Item.Size != 8 {
		t.Fatalf("new bytes = %+v (version %+v), want version 2 of %s", u3, u3.Version, it.ID)
	}
	got, err = e.svc.Item(ctx, it.ID)
	if err != nil || got.Title != "Third" || string(got.Metadata) != `{"c":[3]}` || got.Head != 2 || got.Hash != sha("hello v2") ||
		got.Path != "doc-1" {
		t.Fatalf("item after version 2 = %+v, %v", got, err)
	}
	if ns, hs := e.versions(t, ctx, it.ID); !slices.Equal(ns, []int64{2, 1}) || !slices.Equal(hs, []string{sha("hello v2"), sha("hello")}) {
		t.Fatalf("versions = %v %v, want [2 1]", ns, hs)
	}
	if b := e.read(t, ctx, it.ID); string(b) != "hello v2" {
		t.Fatalf("head bytes = %q", b)
	}
	if b := e.readVersion(t, ctx, it.ID, 1); string(b) != "hello" {
		t.Fatalf("version 1 bytes = %q", b)
	}
	// A request without a title keeps the item's.
	u4 := e.ingest(t, ctx, doc("doc-1", "", "hello v2"))
	if u4.Status != library.StatusUnchanged || u4.Item.Title != "Third" || u4.Version.Number != 2 || u4.Version.ID != u3.Version.ID {
		t.Fatalf("ingest without a title = %+v, want unchanged with the title %q", u4.Item, "Third")
	}

	// JSON content is bytes: stored exactly as given.
	raw := "{ \"b\" : 1,\n  \"a\": [1, 2.50, \"\\u00fc\"] }\n"
	jd := doc("json-doc", "", raw)
	jd.ContentType = "application/json"
	ju := e.ingest(t, ctx, jd)
	if ju.Item.ContentType != "application/json" || ju.Item.Size != int64(len(raw)) || ju.Item.Hash != sha(raw) {
		t.Fatalf("json item = %+v", ju.Item)
	}
	if b := e.read(t, ctx, ju.Item.ID); string(b) != raw {
		t.Fatalf("json bytes = %q, want %q", b, raw)
	}
	if ls := e.sources(t); len(ls) != 1 {
		t.Fatalf("%d sources, want 1", len(ls))
	}
	if f := e.find(t, ctx, library.Selector{}); !slices.Equal(foundIDs(f), []string{it.ID, ju.Item.ID}) {
		t.Fatalf("FindItems = %v, want [doc-1 json-doc]", foundIDs(f))
	}
}

func TestIngestByPath(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := e.ctx
	u1 := e.ingest(t, ctx, doc("", "notes/2024/jan.md", "january"))
	it := u1.Item
	if u1.Status != library.StatusIndexed || it.Path != "notes/2024/jan.md" || it.Name != "jan.md" || it.Title != "jan.md" ||
		it.ExternalID != "" || it.Head != 1 || it.LibraryID != u1.Source.ID {
		t.Fatalf("ingest by path = %+v", it)
	}
	src := u1.Source
	notes, err := e.byPath(t, src.ID, "notes")
	if err != nil || notes.Type != shelf.TypeFolder || notes.ParentID != src.RootID {
		t.Fatalf("folder notes = %+v, %v", notes, err)
	}
	y2024, err := e.byPath(t, src.ID, "notes/2024")
	if err != nil || y2024.Type != shelf.TypeFolder || y2024.ParentID != notes.ID || it.ParentID != y2024.ID {
		t.Fatalf("folder notes/2024 = %+v, %v (item parent %s)", y2024, err, it.ParentID)
	}
	if got := e.names(t, ctx, src.RootID); fmt.Sprint(got) != "[notes]" {
		t.Fatalf("source root = %v", got)
	}

	// The same path again updates in place.
	u2 := e.ingest(t, ctx, doc("", "notes/2024/jan.md", "january, edited"))
	if u2.Status != library.StatusIndexed || u2.Item.ID != it.ID || u2.Version.Number != 2 || u2.Item.Path != it.Path {
		t.Fatalf("same path, new bytes = %+v", u2.Item)
	}
	u3 := e.ingest(t, ctx, doc("", "notes/2024/jan.md", "january, edited"))
	if u3.Status != library.StatusUnchanged || u3.Item.ID != it.ID || u3.Version.ID != u2.Version.ID {
		t.Fatalf("same path, same bytes = %+v", u3)
	}
	u4 := e.ingest(t, ctx, doc("", "notes/feb.md", "february"))
	if u4.Item.ParentID != notes.ID || u4.Item.ID == it.ID {
		t.Fatalf("second path = %+v, want it under the existing notes folder", u4.Item)
	}
	if got := e.names(t, ctx, notes.ID); fmt.Sprint(got) != "[2024 feb.md]" {
		t.Fatalf("notes = %v", got)
	}
	if got := e.names(t, ctx, y2024.ID); fmt.Sprint(got) != "[jan.md]" {
		t.Fatalf("notes/2024 = %v", got)
	}
	if ns, _ := e.versions(t, ctx, it.ID); !slices.Equal(ns, []int64{2, 1}) {
		t.Fatalf("versions = %v", ns)
	}
	// A folder at the path, or a file in the way of a folder, is refused.
	_, err = e.svc.Ingest(ctx, doc("", "notes/2024", "x"))
	wantCode(t, err, shelf.EINVALID)
	_, err = e.svc.Ingest(ctx, doc("", "notes/feb.md/x.md", "x"))
	wantCode(t, err, shelf.ECONFLICT)
	if got := e.names(t, ctx, notes.ID); fmt.Sprint(got) != "[2024 feb.md]" {
		t.Fatalf("notes after refused ingests = %v", got)
	}
}

func TestIngestExternalIDAndPath(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := e.ctx
	u1 := e.ingest(t, ctx, doc("x1", "inbox/a.txt", "one"))
	it, src := u1.Item, u1.Source
	if it.Path != "inbox/a.txt" || it.Name != "a.txt" || it.Title != "x1" || it.ExternalID != "x1" {
		t.Fatalf("item = %+v", it)
	}
	inbox, _ := e.byPath(t, src.ID, "inbox")

	// Another path moves it, the same bytes or not.
	u2 := e.ingest(t, ctx, doc("x1", "archive/2024/a.txt", "one"))
	if u2.Status != library.StatusUnchanged || u2.Item.ID != it.ID || u2.Item.Path != "archive/2024/a.txt" {
		t.Fatalf("moved = %+v", u2.Item)
	}
	got, err := e.svc.Item(ctx, it.ID)
	archive, _ := e.byPath(t, src.ID, "archive/2024")
	if err != nil || archive == nil || got.Path != "archive/2024/a.txt" || got.ParentID != archive.ID || got.Name != "a.txt" {
		t.Fatalf("item after move = %+v, %v (archive %+v)", got, err, archive)
	}
	_, err = e.byPath(t, src.ID, "inbox/a.txt")
	wantCode(t, err, shelf.ENOTFOUND)
	if got := e.names(t, ctx, inbox.ID); len(got) != 0 {
		t.Fatalf("inbox after move = %v", got)
	}
	u3 := e.ingest(t, ctx, doc("x1", "archive/2024/b.txt", "two"))
	if u3.Status != library.StatusIndexed || u3.Item.ID != it.ID || u3.Version.Number != 2 || u3.Item.Path != "archive/2024/b.txt" {
		t.Fatalf("moved with new bytes = %+v", u3.Item)
	}
	if got := e.names(t, ctx, archive.ID); fmt.Sprint(got) != "[b.txt]" {
		t.Fatalf("archive/2024 = %v", got)
	}
	// Without a path it stays where it is.
	u4 := e.ingest(t, ctx, doc("x1", "", "two"))
	if u4.Status != library.StatusUnchanged || u4.Item.Path != "archive/2024/b.txt" {
		t.Fatalf("without a path = %+v", u4.Item)
	}
	// A path taken by another item is a conflict, and nothing moves.
	other := e.ingest(t, ctx, doc("x2", "archive/2024/c.txt", "three"))
	_, err = e.svc.Ingest(ctx, doc("x1", "archive/2024/c.txt", "four"))
	wantCode(t, err, shelf.ECONFLICT)
	if got, _ := e.svc.Item(ctx, it.ID); got.Path != "archive/2024/b.txt" || got.Head != 2 {
		t.Fatalf("x1 after a refused move = %+v", got)
	}
	if got, _ := e.svc.Item(ctx, other.Item.ID); got.Path != "archive/2024/c.txt" || got.Head != 1 || got.ExternalID != "x2" {
		t.Fatalf("x2 after a refused move = %+v", got)
	}
}

func TestIngestExternalIDOnly(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := e.ctx
	ab := e.ingest(t, ctx, doc("a/b", "", "1"))
	src := ab.Source
	if ab.Item.Name != "a_b" || ab.Item.Path != "a_b" || ab.Item.ParentID != src.RootID || ab.Item.Title != "a/b" {
		t.Fatalf("a/b = %+v", ab.Item)
	}
	under := e.ingest(t, ctx, doc("a_b", "", "2"))
	back := e.ingest(t, ctx, doc(`a\b`, "", "3"))
	ext := e.ingest(t, ctx, doc("x/y.txt", "", "4"))
	ext2 := e.ingest(t, ctx, doc("x_y.txt", "", "5"))
	for _, c := range []struct {
		u          *library.Upserted
		name, ext  string
		parentRoot bool
	}{
		{under, "a_b_1", "a_b", true},
		{back, "a_b_2", `a\b`, true},
		{ext, "x_y.txt", "x/y.txt", true},
		{ext2, "x_y_1.txt", "x_y.txt", true},
	} {
		if c.u.Item.Name != c.name || c.u.Item.Path != c.name || c.u.Item.ExternalID != c.ext || c.u.Item.ParentID != src.RootID {
			t.Fatalf("external id %q = %+v, want the name %q at the source root", c.ext, c.u.Item, c.name)
		}
	}
	// A new version keeps its name.
	again := e.ingest(t, ctx, doc("a/b", "", "1 again"))
	if again.Item.ID != ab.Item.ID || again.Item.Path != "a_b" || again.Version.Number != 2 {
		t.Fatalf("a/b again = %+v", again.Item)
	}
	if got := e.names(t, ctx, src.RootID); fmt.Sprint(got) != "[a_b a_b_1 a_b_2 x_y.txt x_y_1.txt]" {
		t.Fatalf("source root = %v", got)
	}
}

func TestIngestPrivate(t *testing.T) {
	e := newEnv(t, library.Config{})
	k2, id2 := e.keyCtx(t, "writer", shelf.ScopeWrite)
	k3, _ := e.keyCtx(t, "other", shelf.ScopeWrite)
	pd := doc("secret", "", "for key 2")
	pd.Scope = shelf.VisiblePrivate
	priv := e.ingest(t, k2, pd)
	if priv.Item.Scope != shelf.VisiblePrivate || priv.Item.Owner != id2 {
		t.Fatalf("private item = %+v, want owner %s", priv.Item, id2)
	}
	pub := e.ingest(t, k2, doc("public", "", "for everyone"))
	md := doc("master-secret", "", "for the master")
	md.Scope = shelf.VisiblePrivate
	mine := e.ingest(t, e.ctx, md)
	if mine.Item.Owner != "master" || mine.Item.Scope != shelf.VisiblePrivate {
		t.Fatalf("master's private item = %+v, want owner master", mine.Item)
	}
	root := priv.Source.RootID

	for _, c := range []struct {
		who  string
		ctx  context.Context
		sees []*shelf.Item
		not  []*shelf.Item
	}{
		{"writer", k2, []*shelf.Item{priv.Item, pub.Item}, []*shelf.Item{mine.Item}},
		{"other key", k3, []*shelf.Item{pub.Item}, []*shelf.Item{priv.Item, mine.Item}},
		{"master", e.ctx, []*shelf.Item{pub.Item, mine.Item}, []*shelf.Item{priv.Item}},
	} {
		if got, want := foundIDs(e.find(t, c.ctx, library.Selector{})), ids(c.sees...); !slices.Equal(got, want) {
			t.Fatalf("%s: FindItems = %v, want %v", c.who, got, want)
		}
		if got, want := foundIDs(e.find(t, c.ctx, library.Selector{ExternalIDs: []string{"secret", "master-secret", "public"}})), ids(c.sees...); !slices.Equal(got, want) {
			t.Fatalf("%s: FindItems(by external ids) = %v, want %v", c.who, got, want)
		}
		var names []string
		for _, it := range c.sees {
			names = append(names, it.Name)
		}
		slices.Sort(names)
		if got := e.names(t, c.ctx, root); !slices.Equal(got, names) {
			t.Fatalf("%s: Children = %v, want %v", c.who, got, names)
		}
		for _, it := range c.sees {
			if _, err := e.svc.Item(c.ctx, it.ID); err != nil {
				t.Fatalf("%s: Item(%s): %v", c.who, it.Name, err)
			}
		}
		for _, it := range c.not {
			_, err := e.svc.Item(c.ctx, it.ID)
			wantCode(t, err, shelf.ENOTFOUND)
			_, _, err = e.svc.Content(c.ctx, it.ID, 0)
			wantCode(t, err, shelf.ENOTFOUND)
			_, err = e.svc.Versions(c.ctx, it.ID)
			wantCode(t, err, shelf.ENOTFOUND)
			_, err = e.svc.RestoreVersion(c.ctx, it.ID, 1)
			wantCode(t, err, shelf.ENOTFOUND)
		}
	}
	// A read key finds and reads, and writes nothing.
	reader, _ := e.keyCtx(t, "reader", shelf.ScopeRead)
	if got := foundIDs(e.find(t, reader, library.Selector{})); !slices.Equal(got, ids(pub.Item)) {
		t.Fatalf("reader: FindItems = %v, want [public]", got)
	}
	_, err := e.svc.Ingest(reader, doc("by-reader", "", "x"))
	wantCode(t, err, shelf.EFORBIDDEN)
	_, err = e.svc.WriteFile(reader, fileWrite("by-reader", "x"))
	wantCode(t, err, shelf.EFORBIDDEN)
	_, err = e.svc.RemoveItems(reader, library.Selector{ExternalIDs: []string{"public"}})
	wantCode(t, err, shelf.EFORBIDDEN)
	_, err = e.svc.RestoreVersion(reader, pub.Item.ID, 1)
	wantCode(t, err, shelf.EFORBIDDEN)
	_, err = e.svc.CreateSource(reader, "Reader", "gmail")
	wantCode(t, err, shelf.EFORBIDDEN)

	// Another key cannot remove it, nor write over it.
	rm, err := e.svc.RemoveItems(k3, library.Selector{ExternalIDs: []string{"secret"}})
	if err != nil || rm.Matched != 0 {
		t.Fatalf("RemoveItems by another key = %+v, %v; want nothing matched", rm, err)
	}
	_, err = e.svc.Ingest(k3, doc("secret", "", "overwritten"))
	wantCode(t, err, shelf.ECONFLICT)
	if b := e.read(t, k2, priv.Item.ID); string(b) != "for key 2" {
		t.Fatalf("private bytes after another key's attempts = %q", b)
	}
	if ns, _ := e.versions(t, k2, priv.Item.ID); !slices.Equal(ns, []int64{1}) {
		t.Fatalf("private versions = %v, want [1]", ns)
	}
}

func TestIngestRejects(t *testing.T) {
	const max = 1024
	e := newEnv(t, library.Config{MaxFileSize: max})
	ctx := e.ctx
	big := strings.Repeat("x", max+1)
	with := func(d library.Doc, f func(*library.Doc)) library.Doc { f(&d); return d }
	for _, c := range []struct {
		name string
		d    library.Doc
		code string
	}{
		{"neither external id nor path", doc("", "", "content 1"), shelf.EINVALID},
		{"empty content", doc("e", "", ""), shelf.EINVALID},
		{"empty content of unknown size", with(doc("e", "", ""), func(d *library.Doc) { d.Size = -1 }), shelf.EINVALID},
		{"scope public", with(doc("e", "", "content 2"), func(d *library.Doc) { d.Scope = "public" }), shelf.EINVALID},
		{"metadata array", with(doc("e", "", "content 3"), func(d *library.Doc) { d.Metadata = []byte("[1]") }), shelf.EINVALID},
		{"metadata number", with(doc("e", "", "content 4"), func(d *library.Doc) { d.Metadata = []byte("3") }), shelf.EINVALID},
		{"metadata string", with(doc("e", "", "content 5"), func(d *library.Doc) { d.Metadata = []byte(`"s"`) }), shelf.EINVALID},
		{"metadata malformed", with(doc("e", "", "content 6"), func(d *library.Doc) { d.Metadata = []byte(`{"a":`) }), shelf.EINVALID},
		{"path with ..", doc("", "a/../b", "content 7"), shelf.EINVALID},
		{"path starting with ..", doc("e", "../b", "content 8"), shelf.EINVALID},
		{"absolute path", doc("", "/b", "content 9"), shelf.EINVALID},
		{"path with an empty segment", doc("", "a//b", "content 10"), shelf.EINVALID},
		{"external id with a control char", doc("a\x01b", "", "content 11"), shelf.EINVALID},
		{"external id with a newline", doc("a\nb", "", "content 12"), shelf.EINVALID},
		{"external id with DEL", doc("a\x7fb", "", "content 13"), shelf.EINVALID},
		{"external id not UTF-8", doc("a\xffb", "", "content 14"), shelf.EINVALID},
		{"external id of 513 bytes", doc(strings.Repeat("é", 256)+"x", "", "content 15"), shelf.EINVALID},
		{"source name with a control char", with(doc("e", "", "content 16"), func(d *library.Doc) { d.SourceName = "a\tb" }), shelf.EINVALID},
		{"content over the limit", doc("e", "", big), shelf.ETOOLARGE},
		{"content over the limit, size unknown", with(doc("e", "", big), func(d *library.Doc) { d.Size = -1 }), shelf.ETOOLARGE},
		{"content over the limit, size lies", with(doc("e", "", big), func(d *library.Doc) { d.Size = 10 }), shelf.EINVALID},
	} {
		_, err := e.svc.Ingest(ctx, c.d)
		if got := shelf.ErrorCode(err); got != c.code {
			t.Errorf("%s: error code %q (%v), want %q", c.name, got, err, c.code)
		}
	}
	if ls := e.sources(t); len(ls) != 0 {
		t.Fatalf("refused ingests made %d source libraries: %+v", len(ls), ls[0])
	}
	if f := e.find(t, ctx, library.Selector{}); len(f) != 0 {
		t.Fatalf("refused ingests made %d items", len(f))
	}
	// At most the empty blob was written (by the body of unknown size that
	// turned out empty), and nothing references it.
	for _, h := range e.blobHashes(t) {
		if h != sha("") {
			t.Errorf("a refused ingest left blob %s", h)
		}
		if e.referenced(t, h) {
			t.Errorf("a refused ingest left blob %s referenced", h)
		}
	}
	for i := 1; i <= 16; i++ {
		if e.referenced(t, sha(fmt.Sprintf("content %d", i))) {
			t.Errorf("content %d is referenced", i)
		}
	}

	// The limits themselves are allowed.
	long := strings.Repeat("é", 256) // 512 bytes
	u := e.ingest(t, ctx, doc(long, "", strings.Repeat("y", max)))
	if u.Item.ExternalID != long || u.Item.Size != max || len(u.Item.Name) > library.MaxNameBytes {
		t.Fatalf("limits = %+v", u.Item)
	}
	u = e.ingest(t, ctx, with(doc("unknown size", "", strings.Repeat("z", max)), func(d *library.Doc) { d.Size = -1 }))
	if u.Item.Size != max {
		t.Fatalf("size = %d", u.Item.Size)
	}
	if ls := e.sources(t); len(ls) != 1 {
		t.Fatalf("%d sources, want 1", len(ls))
	}
}

// endless yields n bytes of 'x' in small reads, then EOF.
type endless struct{ n int64 }

func (r *endless) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), r.n, 100)
	for i := range k {
		p[i] = 'x'
	}
	r.n -= k
	return int(k), nil
}

func TestWriteFile(t *testing.T) {
	const max = 4096
	e := newEnv(t, library.Config{MaxFileSize: max})
	ctx := e.ctx
	root, _ := e.svc.Root(ctx)
	w := fileWrite("docs/2024/report.json", `{"v":1}`)
	u1 := e.write(t, ctx, w)
	it := u1.Item
	if u1.Status != library.StatusIndexed || u1.Version.Number != 1 || it.Path != "docs/2024/report.json" || it.Name != "report.json" ||
		it.LibraryID != root.LibraryID || it.ContentType != "application/json" || it.Head != 1 || it.Hash != sha(`{"v":1}`) {
		t.Fatalf("WriteFile = %+v", it)
	}
	docs, err := e.byPath(t, root.LibraryID, "docs")
	if err != nil || docs.Type != shelf.TypeFolder || docs.ParentID != root.ID {
		t.Fatalf("docs = %+v, %v", docs, err)
	}
	y2024, err := e.byPath(t, root.LibraryID, "docs/2024")
	if err != nil || y2024.Type != shelf.TypeFolder || y2024.ParentID != docs.ID || it.ParentID != y2024.ID {
		t.Fatalf("docs/2024 = %+v, %v", y2024, err)
	}

	u2 := e.write(t, ctx, fileWrite("docs/2024/report.json", `{"v":2}`))
	if u2.Status != library.StatusIndexed || u2.Item.ID != it.ID || u2.Version.Number != 2 || u2.Item.Head != 2 {
		t.Fatalf("second write = %+v", u2.Item)
	}
	u3 := e.write(t, ctx, fileWrite("docs/2024/report.json", `{"v":2}`))
	if u3.Status != library.StatusUnchanged || u3.Item.ID != it.ID || u3.Version.ID != u2.Version.ID || u3.Item.Head != 2 {
		t.Fatalf("same bytes = %+v", u3)
	}
	if ns, hs := e.versions(t, ctx, it.ID); !slices.Equal(ns, []int64{2, 1}) || !slices.Equal(hs, []string{sha(`{"v":2}`), sha(`{"v":1}`)}) {
		t.Fatalf("versions = %v %v", ns, hs)
	}
	if b := e.read(t, ctx, it.ID); string(b) != `{"v":2}` {
		t.Fatalf("bytes = %q", b)
	}
	ct := fileWrite("docs/raw", "raw")
	ct.ContentType = "application/x-shelf-test"
	if u := e.write(t, ctx, ct); u.Item.ContentType != "application/x-shelf-test" || u.Version.ContentType != "application/x-shelf-test" {
		t.Fatalf("content type = %q / %q", u.Item.ContentType, u.Version.ContentType)
	}
	if u := e.write(t, ctx, fileWrite("docs/empty", "")); u.Item.Size != 0 || u.Item.Hash != sha("") {
		t.Fatalf("empty file = %+v", u.Item)
	}

	before := e.blobHashes(t)
	_, err = e.svc.WriteFile(ctx, fileWrite("docs/2024", "folder"))
	wantCode(t, err, shelf.EINVALID)
	_, err = e.svc.WriteFile(ctx, fileWrite("docs/2024/report.json/x", "under a file"))
	wantCode(t, err, shelf.ECONFLICT)
	_, err = e.svc.WriteFile(ctx, fileWrite("docs/../x", "dots"))
	wantCode(t, err, shelf.EINVALID)
	_, err = e.svc.WriteFile(ctx, library.FileWrite{LibraryID: "nope", Path: "x", Body: strings.NewReader("x"), Size: 1})
	wantCode(t, err, shelf.ENOTFOUND)
	_, err = e.svc.WriteFile(ctx, library.FileWrite{Path: "big/declared", Body: &endless{n: max + 1}, Size: max + 1})
	wantCode(t, err, shelf.ETOOLARGE)
	_, err = e.svc.WriteFile(ctx, library.FileWrite{Path: "big/streamed", Body: &endless{n: 10 * max}, Size: -1})
	wantCode(t, err, shelf.ETOOLARGE)
	_, err = e.svc.WriteFile(ctx, library.FileWrite{Path: "big/just-over", Body: &endless{n: max + 1}, Size: -1})
	wantCode(t, err, shelf.ETOOLARGE)
	if got := e.names(t, ctx, root.ID); fmt.Sprint(got) != "[docs]" {
		t.Fatalf("root after refused writes = %v", got)
	}
	if got := e.names(t, ctx, y2024.ID); fmt.Sprint(got) != "[report.json]" {
		t.Fatalf("docs/2024 after refused writes = %v", got)
	}
	// The refused bodies left blobs only where the tree is refused after
	// the bytes are stored, and nothing references them.
	for _, h := range e.blobHashes(t) {
		if !slices.Contains(before, h) && h != sha("folder") && h != sha("under a file") {
			t.Errorf("a refused write left blob %s", h)
		}
	}
	for _, s := range []string{"folder", "under a file", "dots"} {
		if e.referenced(t, sha(s)) {
			t.Errorf("refused body %q is referenced", s)
		}
	}
	if ns, _ := e.versions(t, ctx, it.ID); !slices.Equal(ns, []int64{2, 1}) {
		t.Fatalf("versions after refused writes = %v", ns)
	}

	// Exactly the limit, of unknown size, is fine.
	u := e.write(t, ctx, library.FileWrite{Path: "big/max", Body: &endless{n: max}, Size: -1})
	if u.Item.Size != max || u.Item.Hash != sha(strings.Repeat("x", max)) {
		t.Fatalf("a file of the maximum size = %+v", u.Item)
	}
}

func TestVersionsAndRestore(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := e.ctx
	v1 := e.write(t, ctx, fileWrite("r.txt", "one"))
	v2 := e.write(t, ctx, fileWrite("r.txt", "two"))
	id := v1.Item.ID
	if v2.Item.ID != id || v2.Version.Number != 2 {
		t.Fatalf("v2 = %+v", v2.Item)
	}
	r, err := e.svc.RestoreVersion(ctx, id, 1)
	if err != nil || r.Status != library.StatusIndexed || r.Version.Number != 3 || r.Version.Hash != sha("one") ||
		r.Item.Head != 3 || r.Item.Hash != sha("one") || r.Item.Size != 3 || r.Version.ID == v1.Version.ID {
		t.Fatalf("restore v1 = %+v (version %+v), %v", r, r.Version, err)
	}
	if ns, hs := e.versions(t, ctx, id); !slices.Equal(ns, []int64{3, 2, 1}) || !slices.Equal(hs, []string{sha("one"), sha("two"), sha("one")}) {
		t.Fatalf("versions = %v %v", ns, hs)
	}
	if b := e.read(t, ctx, id); string(b) != "one" {
		t.Fatalf("head bytes = %q", b)
	}
	for _, n := range []int64{3, 1} { // the head itself, and an older version with the head's bytes
		r, err := e.svc.RestoreVersion(ctx, id, n)
		if err != nil || r.Status != library.StatusUnchanged || r.Version.Number != 3 || r.Item.Head != 3 {
			t.Fatalf("restore v%d onto equal bytes = %+v, %v; want unchanged at 3", n, r, err)
		}
	}
	r, err = e.svc.RestoreVersion(ctx, id, 2)
	if err != nil || r.Version.Number != 4 || r.Version.Hash != sha("two") {
		t.Fatalf("restore v2 = %+v, %v", r, err)
	}
	for _, n := range []int64{0, 5, 99, -1} {
		_, err = e.svc.RestoreVersion(ctx, id, n)
		wantCode(t, err, shelf.ENOTFOUND)
	}
	_, err = e.svc.RestoreVersion(ctx, "no-such-item", 1)
	wantCode(t, err, shelf.ENOTFOUND)
	_, err = e.svc.Versions(ctx, "no-such-item")
	wantCode(t, err, shelf.ENOTFOUND)
	root, _ := e.svc.Root(ctx)
	dir, _ := e.svc.CreateFolder(ctx, root.ID, "dir", "", nil)
	_, err = e.svc.RestoreVersion(ctx, dir.ID, 1)
	wantCode(t, err, shelf.ENOTIMPL)
	_, err = e.svc.Versions(ctx, dir.ID)
	wantCode(t, err, shelf.ENOTIMPL)
	if ns, _ := e.versions(t, ctx, id); !slices.Equal(ns, []int64{4, 3, 2, 1}) {
		t.Fatalf("versions after refused restores = %v", ns)
	}
}

func TestRemoveItemsHidesOrDeletes(t *testing.T) {
	// Blobs in the blob store, so their collection can be watched.
	e := newEnv(t, library.Config{UploadTTL: time.Minute, BlobGrace: time.Hour, InlineMax: -1})
	ctx := e.ctx
	gmail, err := e.svc.CreateSource(ctx, "Gmail", "gmail")
	if err != nil || gmail.Kind != shelf.KindSource || gmail.SourceType != "gmail" || gmail.Name != "Gmail" {
		t.Fatalf("CreateSource = %+v, %v", gmail, err)
	}
	_, err = e.svc.CreateSource(ctx, "Gmail", "api")
	wantCode(t, err, shelf.ECONFLICT)
	mail := func(ext, content string) *shelf.Item {
		d := doc(ext, "", content)
		d.SourceName = "Gmail"
		u := e.ingest(t, ctx, d)
		if u.Source.ID != gmail.ID || u.Source.SourceType != "gmail" {
			t.Fatalf("ingest into Gmail went to %+v", u.Source)
		}
		return u.Item
	}
	g1, g2 := mail("m1", "mail one"), mail("m2", "mail two")
	a1 := e.ingest(t, ctx, doc("a1", "", "api one")).Item
	a2 := e.ingest(t, ctx, doc("a2", "", "api two")).Item
	if ls := e.sources(t); len(ls) != 2 || ls[0].ID != gmail.ID || ls[1].SourceType != "api" {
		t.Fatalf("sources = %+v", ls)
	}

	rm, err := e.svc.RemoveItems(ctx, library.Selector{ExternalIDs: []string{"m1", "a1"}})
	if err != nil || rm.Matched != 2 || len(rm.Hidden) != 1 || len(rm.HardDeleted) != 1 ||
		rm.Hidden[0].Item.ID != g1.ID || rm.HardDeleted[0].Item.ID != a1.ID ||
		rm.Hidden[0].Source.ID != gmail.ID || rm.HardDeleted[0].Source.SourceType != "api" {
		t.Fatalf("RemoveItems = %+v, %v", rm, err)
	}
	// The connector's item is hidden and kept.
	if got := foundIDs(e.find(t, ctx, library.Selector{Status: library.StatusHidden})); !slices.Equal(got, ids(g1)) {
		t.Fatalf("hidden = %v, want [m1]", got)
	}
	if got := foundIDs(e.find(t, ctx, library.Selector{Status: library.StatusActive})); !slices.Equal(got, ids(g2, a2)) {
		t.Fatalf("active = %v, want [m2 a2]", got)
	}
	if got := foundIDs(e.find(t, ctx, library.Selector{Status: library.StatusAll})); !slices.Equal(got, ids(g1, g2, a2)) {
		t.Fatalf("all = %v, want [m1 m2 a2]", got)
	}
	if got, err := e.svc.Item(ctx, g1.ID); err != nil || !got.Hidden {
		t.Fatalf("hidden item = %+v, %v", got, err)
	}
	if b := e.read(t, ctx, g1.ID); string(b) != "mail one" {
		t.Fatalf("hidden bytes = %q", b)
	}
	if got := e.names(t, ctx, gmail.RootID); fmt.Sprint(got) != "[m2]" {
		t.Fatalf("Gmail listing = %v, want only the active item", got)
	}
	// The API item is gone for good, and its bytes go at the next GC past
	// the grace period.
	_, err = e.svc.Item(ctx, a1.ID)
	wantCode(t, err, shelf.ENOTFOUND)
	if e.referenced(t, sha("api one")) {
		t.Fatal("the deleted item's blob is still referenced")
	}
	if n, err := e.svc.GC(context.Background()); err != nil || n != 0 {
		t.Fatalf("GC within grace = %d, %v", n, err)
	}
	e.clock.Add(2 * time.Hour)
	if n, err := e.svc.GC(context.Background()); err != nil || n != 1 {
		t.Fatalf("GC = %d, %v; want 1", n, err)
	}
	_, err = e.blobs.Stat(context.Background(), sha("api one"))
	wantCode(t, err, shelf.ENOTFOUND)
	for _, s := range []string{"mail one", "mail two", "api two"} {
		if _, err := e.blobs.Stat(context.Background(), sha(s)); err != nil {
			t.Fatalf("blob of %q: %v", s, err)
		}
	}

	// Removing a hidden item again counts it, and keeps it.
	rm, err = e.svc.RemoveItems(ctx, library.Selector{SourceName: "Gmail"})
	if err != nil || rm.Matched != 2 || len(rm.Hidden) != 2 || len(rm.HardDeleted) != 0 {
		t.Fatalf("RemoveItems(Gmail) = %+v, %v", rm, err)
	}
	if got := foundIDs(e.find(t, ctx, library.Selector{Status: library.StatusHidden})); !slices.Equal(got, ids(g1, g2)) {
		t.Fatalf("hidden = %v, want [m1 m2]", got)
	}
	problems, err := e.svc.Fsck(context.Background(), true)
	if err != nil || len(problems) != 0 {
		t.Fatalf("fsck = %v, %v", problems, err)
	}
}

func TestRemoveItemsSelectors(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := e.ctx
	if _, err := e.svc.CreateSource(ctx, "Gmail", "gmail"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateSource(ctx, "Drive", "gdrive"); err != nil {
		t.Fatal(err)
	}
	in := func(src, ext, content string) *shelf.Item {
		d := doc(ext, "", content)
		d.SourceName = src
		return e.ingest(t, ctx, d).Item
	}
	t0 := e.clock.Now().UTC()
	a1, m1 := in("", "a1", "a1"), in("Gmail", "m1", "m1")
	e.clock.Add(time.Minute)
	a2, d1 := in("", "a2", "a2"), in("Drive", "d1", "d1")
	e.clock.Add(time.Minute)
	a3, m2 := in("", "a3", "a3"), in("Gmail", "m2", "m2")
	e.clock.Add(time.Minute)
	a4 := in("", "a4", "a4")
	notes := e.ingest(t, ctx, doc("", "notes/x.txt", "by path")).Item
	if !a2.CreatedAt.Equal(t0.Add(time.Minute)) || !a4.CreatedAt.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("created_at = %v, %v; want the clock's", a2.CreatedAt, a4.CreatedAt)
	}
	all := func() []string { return foundIDs(e.find(t, ctx, library.Selector{})) }
	everything := all()
	if want := ids(a1, m1, a2, d1, a3, m2, a4, notes); !slices.Equal(everything, want) {
		t.Fatalf("FindItems = %v, want %v", everything, want)
	}

	// Empty selectors are refused, and remove nothing.
	for _, q := range []library.Selector{{}, {Status: library.StatusAll}, {Limit: 5}, {IDs: []string{}}, {ExternalIDs: []string{}}} {
		_, err := e.svc.RemoveItems(ctx, q)
		wantCode(t, err, shelf.EINVALID)
	}
	_, err := e.svc.RemoveItems(ctx, library.Selector{CreatedAfter: t0.Add(time.Minute), CreatedBefore: t0.Add(time.Minute)})
	wantCode(t, err, shelf.EINVALID)
	if got := all(); !slices.Equal(got, everything) {
		t.Fatalf("refused removes changed the items: %v", got)
	}

	// FindItems with each selector.
	for _, c := range []struct {
		name string
		q    library.Selector
		want []*shelf.Item
	}{
		{"ids", library.Selector{IDs: []string{m2.ID, a1.ID, "unknown"}}, []*shelf.Item{a1, m2}},
		{"external ids", library.Selector{ExternalIDs: []string{"a3", "d1"}}, []*shelf.Item{d1, a3}},
		{"source name", library.Selector{SourceName: "Gmail"}, []*shelf.Item{m1, m2}},
		{"source name, default", library.Selector{SourceName: library.DefaultSourceName}, []*shelf.Item{a1, a2, a3, a4, notes}},
		{"unknown source", library.Selector{SourceName: "Nope"}, nil},
		{"type", library.Selector{SourceType: "gdrive"}, []*shelf.Item{d1}},
		{"type and name disagree", library.Selector{SourceType: "gdrive", SourceName: "Gmail"}, nil},
		{"after, inclusive", library.Selector{CreatedAfter: t0.Add(2 * time.Minute)}, []*shelf.Item{a3, m2, a4, notes}},
		{"before, exclusive", library.Selector{CreatedBefore: t0.Add(time.Minute)}, []*shelf.Item{a1, m1}},
		{"range", library.Selector{CreatedAfter: t0.Add(time.Minute), CreatedBefore: t0.Add(2 * time.Minute)}, []*shelf.Item{a2, d1}},
		{"range and type", library.Selector{CreatedAfter: t0.Add(time.Minute), SourceType: "api"}, []*shelf.Item{a2, a3, a4, notes}},
		{"limit", library.Selector{Limit: 3}, []*shelf.Item{a1, m1, a2}},
	} {
		if got := foundIDs(e.find(t, ctx, c.q)); !slices.Equal(got, ids(c.want...)) {
			t.Fatalf("FindItems(%s) = %v, want %v", c.name, got, ids(c.want...))
		}
	}

	remove := func(q library.Selector, deleted, hidden []*shelf.Item) {
		t.Helper()
		rm, err := e.svc.RemoveItems(ctx, q)
		if err != nil {
			t.Fatalf("RemoveItems(%+v): %v", q, err)
		}
		var gotDel, gotHid []string
		for _, f := range rm.HardDeleted {
			gotDel = append(gotDel, f.Item.ID)
		}
		for _, f := range rm.Hidden {
			gotHid = append(gotHid, f.Item.ID)
		}
		if rm.Matched != len(deleted)+len(hidden) || !slices.Equal(gotDel, ids(deleted...)) || !slices.Equal(gotHid, ids(hidden...)) {
			t.Fatalf("RemoveItems(%+v) = matched %d, deleted %v, hidden %v; want deleted %v, hidden %v",
				q, rm.Matched, gotDel, gotHid, ids(deleted...), ids(hidden...))
		}
	}
	remove(library.Selector{IDs: []string{a1.ID}}, []*shelf.Item{a1}, nil)
	remove(library.Selector{CreatedAfter: t0.Add(time.Minute), CreatedBefore: t0.Add(2 * time.Minute)}, []*shelf.Item{a2}, []*shelf.Item{d1})
	remove(library.Selector{ExternalIDs: []string{"a3", "m2"}}, []*shelf.Item{a3}, []*shelf.Item{m2})
	remove(library.Selector{SourceType: "gmail"}, nil, []*shelf.Item{m1, m2})
	remove(library.Selector{SourceName: library.DefaultSourceName, CreatedAfter: t0.Add(3 * time.Minute)}, []*shelf.Item{a4, notes}, nil)
	remove(library.Selector{SourceType: "api"}, nil, nil)

	for _, it := range []*shelf.Item{a1, a2, a3, a4, notes} {
		_, err := e.svc.Item(ctx, it.ID)
		wantCode(t, err, shelf.ENOTFOUND)
	}
	if got := foundIDs(e.find(t, ctx, library.Selector{})); !slices.Equal(got, ids(m1, d1, m2)) {
		t.Fatalf("left = %v, want the hidden connector items", got)
	}
	if got := foundIDs(e.find(t, ctx, library.Selector{Status: library.StatusActive})); len(got) != 0 {
		t.Fatalf("active = %v, want none", got)
	}
}

func TestIngestConcurrent(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := e.ctx
	const n = 32

	// The same document 32 times at once: one item, one version.
	same := make([]*library.Upserted, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			u, err := e.svc.Ingest(ctx, doc("same", "", "the same bytes"))
			if err != nil {
				t.Errorf("Ingest %d: %v", i, err)
				return
			}
			same[i] = u
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	indexed := 0
	for _, u := range same {
		if u.Item.ID != same[0].Item.ID || u.Version.ID != same[0].Version.ID || u.Version.Number != 1 {
			t.Fatalf("concurrent ingests of the same bytes: item %s version %s (%d), and item %s version %s",
				u.Item.ID, u.Version.ID, u.Version.Number, same[0].Item.ID, same[0].Version.ID)
		}
		if u.Status == library.StatusIndexed {
			indexed++
		}
	}
	if indexed != 1 {
		t.Fatalf("%d ingests report indexed, want exactly 1", indexed)
	}
	if ns, _ := e.versions(t, ctx, same[0].Item.ID); !slices.Equal(ns, []int64{1}) {
		t.Fatalf("versions = %v, want [1]", ns)
	}
	if f := e.find(t, ctx, library.Selector{ExternalIDs: []string{"same"}}); len(f) != 1 {
		t.Fatalf("%d items with the external id, want 1", len(f))
	}
	if ls := e.sources(t); len(ls) != 1 {
		t.Fatalf("%d sources, want 1", len(ls))
	}

	// 32 different contents at once: one chain 1..32, nothing lost.
	checkChain(t, e, func(i int, content string) (*library.Upserted, error) {
		return e.svc.Ingest(ctx, doc("chain", "", content))
	})
	if f := e.find(t, ctx, library.Selector{}); len(f) != 2 {
		t.Fatalf("%d items, want 2", len(f))
	}
}

func TestWriteFileConcurrent(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := e.ctx
	const n = 32
	same := make([]*library.Upserted, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			u, err := e.svc.WriteFile(ctx, fileWrite("a/b/same.txt", "the same bytes"))
			if err != nil {
				t.Errorf("WriteFile %d: %v", i, err)
				return
			}
			same[i] = u
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	indexed := 0
	for _, u := range same {
		if u.Item.ID != same[0].Item.ID || u.Version.ID != same[0].Version.ID || u.Version.Number != 1 {
			t.Fatalf("concurrent writes of the same bytes: item %s version %s, and item %s version %s",
				u.Item.ID, u.Version.ID, same[0].Item.ID, same[0].Version.ID)
		}
		if u.Status == library.StatusIndexed {
			indexed++
		}
	}
	if indexed != 1 {
		t.Fatalf("%d writes report indexed, want exactly 1", indexed)
	}
	if ns, _ := e.versions(t, ctx, same[0].Item.ID); !slices.Equal(ns, []int64{1}) {
		t.Fatalf("versions = %v, want [1]", ns)
	}
	checkChain(t, e, func(i int, content string) (*library.Upserted, error) {
		return e.svc.WriteFile(ctx, fileWrite("a/b/chain.txt", content))
	})
	root, _ := e.svc.Root(ctx)
	if got := e.names(t, ctx, root.ID); fmt.Sprint(got) != "[a]" {
		t.Fatalf("root = %v", got)
	}
	ab, _ := e.byPath(t, root.LibraryID, "a/b")
	if got := e.names(t, ctx, ab.ID); fmt.Sprint(got) != "[chain.txt same.txt]" {
		t.Fatalf("a/b = %v", got)
	}
}

// checkChain runs 32 writes of different contents to one item at once and
// checks that they made one item whose versions are 1..32, each holding
// exactly the content its write reported.
func checkChain(t *testing.T, e *env, write func(i int, content string) (*library.Upserted, error)) {
	t.Helper()
	const n = 32
	res := make([]*library.Upserted, n)
	contents := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		contents[i] = fmt.Sprintf("content number %d", i)
		wg.Go(func() {
			u, err := write(i, contents[i])
			if err != nil {
				t.Errorf("write %d: %v", i, err)
				return
			}
			res[i] = u
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	id := res[0].Item.ID
	var numbers []int64
	byNumber := map[int64]string{}
	for i, u := range res {
		if u.Item.ID != id || u.Status != library.StatusIndexed || u.Version.Hash != sha(contents[i]) {
			t.Fatalf("write %d = item %s, %s, hash %s; want a new version of %s with its own bytes", i, u.Item.ID, u.Status, u.Version.Hash, id)
		}
		numbers = append(numbers, u.Version.Number)
		byNumber[u.Version.Number] = u.Version.Hash
	}
	slices.Sort(numbers)
	ns, hs := e.versions(t, e.ctx, id)
	want := make([]int64, n)
	for i := range want {
		want[i] = int64(n - i)
	}
	if !slices.Equal(ns, want) {
		t.Fatalf("versions = %v, want %d..1 without a gap", ns, n)
	}
	if slices.Reverse(ns); !slices.Equal(numbers, ns) {
		t.Fatalf("the writes reported versions %v, want 1..%d once each", numbers, n)
	}
	wantHashes := make([]string, n)
	for i, c := range contents {
		wantHashes[i] = sha(c)
	}
	got := slices.Clone(hs)
	slices.Sort(got)
	slices.Sort(wantHashes)
	if !slices.Equal(got, wantHashes) {
		t.Fatalf("version hashes are not exactly the %d contents", n)
	}
	for i, h := range hs {
		if byNumber[int64(n-i)] != h {
			t.Fatalf("version %d holds %s, but its write reported %s", n-i, h, byNumber[int64(n-i)])
		}
	}
	it, err := e.svc.Item(e.ctx, id)
	if err != nil || it.Head != n || it.Hash != hs[0] {
		t.Fatalf("head = %+v, %v; want version %d", it, err, n)
	}
	if b := e.read(t, e.ctx, id); sha(string(b)) != hs[0] {
		t.Fatalf("head bytes do not match the head version")
	}
}

func TestWriteFileDataURL(t *testing.T) {
	e := newEnv(t, library.Config{MaxFileSize: 1 << 20})
	ctx := e.ctx
	payload := make([]byte, 300_000)
	for i := range payload {
		payload[i] = byte(i*31 + i>>8)
	}
	for _, c := range []struct {
		url, path, mt string
		want          []byte
	}{
		{"data:application/octet-stream;base64," + base64.StdEncoding.EncodeToString(payload), "d/blob.bin", "application/octet-stream", payload},
		{"data:application/json;base64," + base64.StdEncoding.EncodeToString([]byte(`{"a": 1}`)), "d/x.json", "application/json", []byte(`{"a": 1}`)},
		{"data:,Hello%2C%20World%21", "d/hello.txt", "text/plain; charset=US-ASCII", []byte("Hello, World!")},
		{"data:text/plain;charset=utf-8,gr%C3%BC%C3%9Fe", "d/gruss.txt", "text/plain; charset=utf-8", []byte("grüße")},
	} {
		mt, body, err := library.ParseDataURL(strings.NewReader(c.url))
		if err != nil || mt != c.mt {
			t.Fatalf("ParseDataURL(%.40s) = %q, %v", c.url, mt, err)
		}
		u := e.write(t, ctx, library.FileWrite{Path: c.path, Body: body, Size: -1, ContentType: mt})
		if u.Item.ContentType != c.mt || u.Item.Size != int64(len(c.want)) || u.Item.Hash != sha(string(c.want)) {
			t.Fatalf("%s = %+v", c.path, u.Item)
		}
		if b := e.read(t, ctx, u.Item.ID); !bytes.Equal(b, c.want) {
			t.Fatalf("%s: bytes differ (%d, want %d)", c.path, len(b), len(c.want))
		}
	}
	// Malformed data and data over the limit fail while streaming, and
	// nothing is made.
	for _, c := range []struct{ url, code string }{
		{"data:;base64,QUJD@@@=", shelf.EINVALID},
		{"data:,bad%zzescape", shelf.EINVALID},
		{"data:;base64," + base64.StdEncoding.EncodeToString(make([]byte, 1<<20+1)), shelf.ETOOLARGE},
	} {
		mt, body, err := library.ParseDataURL(strings.NewReader(c.url))
		if err != nil {
			t.Fatalf("ParseDataURL(%.30s): %v", c.url, err)
		}
		_, err = e.svc.WriteFile(ctx, library.FileWrite{Path: "bad/x", Body: body, Size: -1, ContentType: mt})
		wantCode(t, err, c.code)
	}
	root, _ := e.svc.Root(ctx)
	if got := e.names(t, ctx, root.ID); fmt.Sprint(got) != "[d]" {
		t.Fatalf("root = %v", got)
	}
}

// Ingest must bound the content type as WriteFile and FileTarget do (255
// bytes): it is stored on the item and on every version.
func TestIngestRejectsLongContentType(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := e.ctx
	w := fileWrite("long-type", "x")
	w.ContentType = "text/" + strings.Repeat("x", 300)
	_, err := e.svc.WriteFile(ctx, w)
	wantCode(t, err, shelf.EINVALID)

	d := doc("long-type", "", "content with a long type")
	d.ContentType = "text/" + strings.Repeat("x", 300)
	_, err = e.svc.Ingest(ctx, d)
	wantCode(t, err, shelf.EINVALID)
	if ls := e.sources(t); len(ls) != 0 {
		t.Fatalf("a refused ingest made %d source libraries", len(ls))
	}
	if e.referenced(t, sha("content with a long type")) {
		t.Fatal("a refused ingest left its blob referenced")
	}
}

// TestIngestOmittedFieldsKeep: a re-ingest that leaves out the scope or
// metadata keeps the item's, so a private document never becomes visible
// to the workspace by omission; and only a key can own a private item.
func TestIngestOmittedFieldsKeep(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := e.ctx
	d := doc("secret", "", "v1")
	d.Scope, d.Metadata = shelf.VisiblePrivate, []byte(`{"k":1}`)
	first := e.ingest(t, ctx, d)
	again := e.ingest(t, ctx, doc("secret", "", "v2"))
	if again.Item.ID != first.Item.ID || again.Item.Scope != shelf.VisiblePrivate || string(again.Item.Metadata) != `{"k":1}` || again.Item.Owner != "master" {
		t.Fatalf("after an ingest without scope or metadata: %+v", again.Item)
	}
	signed := shelf.NewContext(context.Background(), &shelf.Principal{WorkspaceID: shelf.PrincipalFrom(ctx).WorkspaceID, Scope: shelf.ScopeWrite, Signed: true})
	d = doc("by-url", "", "x")
	d.Scope = shelf.VisiblePrivate
	_, err := e.svc.Ingest(signed, d)
	wantCode(t, err, shelf.EFORBIDDEN)
}

// TestInlineContent: small contents live in the store, larger ones in the
// blob store; both read back whole and by range, survive fsck, and the
// inline ones are collected once no version names them.
func TestInlineContent(t *testing.T) {
	e := newEnv(t, library.Config{InlineMax: 64})
	ctx := e.ctx
	small := e.ingest(t, ctx, doc("small", "", "tiny body"))
	large := e.ingest(t, ctx, doc("large", "", strings.Repeat("L", 65)))
	if _, err := e.blobs.Stat(context.Background(), small.Item.Hash); shelf.ErrorCode(err) != shelf.ENOTFOUND {
		t.Fatalf("a 9-byte content went to the blob store: %v", err)
	}
	if _, err := e.blobs.Stat(context.Background(), large.Item.Hash); err != nil {
		t.Fatalf("a 65-byte content is not in the blob store: %v", err)
	}
	if b := e.read(t, ctx, small.Item.ID); string(b) != "tiny body" {
		t.Fatalf("inline content = %q", b)
	}
	_, v, _ := e.svc.Content(ctx, small.Item.ID, 0)
	r, err := e.svc.Read(ctx, v, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(r)
	if string(part) != "bod" {
		t.Fatalf("range of inline content = %q", part)
	}
	if _, err := e.svc.Read(ctx, v, 10, -1); shelf.ErrorCode(err) != shelf.EINVALID {
		t.Fatalf("offset past the end: %v", err)
	}
	if p, err := e.svc.Fsck(context.Background(), true); err != nil || len(p) != 0 {
		t.Fatalf("fsck = %v, %v", p, err)
	}
	// A declared size that the body does not match is refused.
	d := doc("liar", "", "twelve bytes")
	d.Size = 5
	_, err = e.svc.Ingest(ctx, d)
	wantCode(t, err, shelf.EINVALID)
	// Deleted, and collected at the next GC.
	if _, err := e.svc.RemoveItems(ctx, library.Selector{ExternalIDs: []string{"small"}}); err != nil {
		t.Fatal(err)
	}
	if n, err := e.svc.GC(context.Background()); err != nil || n != 1 {
		t.Fatalf("GC = %d, %v; want the inline blob", n, err)
	}
	var inline int
	e.store.View(context.Background(), func(tx shelf.Tx) error {
		return tx.WalkInlineBlobs(context.Background(), func(string, []byte) error { inline++; return nil })
	})
	if inline != 0 {
		t.Fatalf("%d inline blobs left", inline)
	}
}
