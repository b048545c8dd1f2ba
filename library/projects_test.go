package library_test

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/blob/fsblob"
	"github.com/shelfmem/shelf/library"
	"github.com/shelfmem/shelf/store/sqlite"
)

// write writes a file of the default library by path.
func (e *env) writeText(t *testing.T, path, content string) *shelf.Item {
	t.Helper()
	up, err := e.svc.WriteFile(e.ctx, library.FileWrite{Path: path, Body: strings.NewReader(content), Size: int64(len(content))})
	if err != nil {
		t.Fatal(err)
	}
	return up.Item
}

func (e *env) project(t *testing.T, name string) *shelf.Project {
	t.Helper()
	p, err := e.svc.CreateProject(e.ctx, library.ProjectSpec{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) add(t *testing.T, proj string, ids ...string) *library.Imported {
	t.Helper()
	res, err := e.svc.AddDocuments(e.ctx, proj, ids)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// docText is what a project's search finds for query: "document text"
// for each hit.
func (e *env) docHits(t *testing.T, proj, query string) []string {
	t.Helper()
	hits, err := e.svc.SearchDocuments(e.ctx, []string{proj}, query, 10)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range hits {
		out = append(out, h.Document.ID+" "+h.Chunk.Text)
	}
	return out
}

func results(res *library.Imported) []string {
	var out []string
	for _, r := range res.Results {
		out = append(out, r.Result)
	}
	return out
}

// TestDocumentKeepsItsVersion checks that a document keeps the bytes and
// the chunks it was imported with while its library file changes, is
// replaced, and is deleted and its blob collected, and that importing the
// file again refreshes it (or finds it a duplicate).
func TestDocumentKeepsItsVersion(t *testing.T) {
	e := newEnv(t, library.Config{})
	// Past the inline limit, so that the bytes are a blob of the blob
	// store, which garbage collection could delete.
	first := "The first okapi report. " + strings.Repeat("padding words here. ", 1200)
	f := e.writeText(t, "docs/report.txt", first)
	proj := e.project(t, "p")
	res := e.add(t, proj.ID, f.ID)
	if !slices.Equal(results(res), []string{library.ImportAdded}) || res.Added != 1 {
		t.Fatalf("import = %+v", res)
	}
	docID := res.Results[0].DocumentID
	e.drain(t)
	if got := e.docHits(t, proj.ID, "okapi"); len(got) != 1 || !strings.HasPrefix(got[0], docID+" The first okapi") {
		t.Fatalf("search okapi = %q", got)
	}
	d, err := e.svc.GetDocument(e.ctx, proj.ID, docID)
	if err != nil {
		t.Fatal(err)
	}
	if d.SourceID != f.ID || d.ItemID == f.ID || library.DocumentStatus(d.Item.Index.State) != library.DocumentOkay {
		t.Fatalf("document = %+v (item %+v)", d, d.Item)
	}

	// A new version of the file: the document keeps the old one.
	second := "The second zebra report."
	e.writeText(t, "docs/report.txt", second)
	e.drain(t)
	if got := e.docHits(t, proj.ID, "zebra"); len(got) != 0 {
		t.Fatalf("the document took the file's new version: %q", got)
	}
	if b := e.read(t, e.ctx, d.ItemID); string(b) != first {
		t.Fatalf("document bytes changed to %.40q", b)
	}

	// The file is deleted and its old blob is collected: the document
	// still has its bytes and its chunks.
	junk := "Junk. " + strings.Repeat("more junk here. ", 1200) // to show that GC ran
	j := e.writeText(t, "junk.txt", junk)
	for _, id := range []string{f.ID, j.ID} {
		if _, err := e.svc.Delete(e.ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Add(48 * time.Hour)
	if _, err := e.svc.GC(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.blobs.Stat(context.Background(), sha(junk)); shelf.ErrorCode(err) != shelf.ENOTFOUND {
		t.Fatalf("GC kept an unreferenced blob: %v", err)
	}
	if _, err := e.blobs.Stat(context.Background(), sha(first)); err != nil {
		t.Fatalf("the document's blob is gone: %v", err)
	}
	if b := e.read(t, e.ctx, d.ItemID); string(b) != first {
		t.Fatalf("document bytes after delete and GC = %.40q", b)
	}
	if got := e.docHits(t, proj.ID, "okapi"); len(got) != 1 {
		t.Fatalf("search after delete = %q", got)
	}
	// A search of the library does not find the project's copies.
	lib, err := e.svc.Search(e.ctx, library.SearchQuery{Query: "okapi"})
	if err != nil || len(lib.Hits) != 0 {
		t.Fatalf("library search found %d hits (%v)", len(lib.Hits), err)
	}

	// A file made anew at the path is another file: importing it adds a
	// document; importing it again is a duplicate; a change then refreshes
	// its document, which takes the new name too.
	g := e.writeText(t, "docs/report.txt", second)
	if res := e.add(t, proj.ID, g.ID); !slices.Equal(results(res), []string{library.ImportAdded}) {
		t.Fatalf("import the new file = %+v", res)
	}
	res = e.add(t, proj.ID, g.ID)
	if !slices.Equal(results(res), []string{library.ImportDuplicate}) {
		t.Fatalf("import again = %+v", res)
	}
	gDoc := res.Results[0].DocumentID
	e.writeText(t, "docs/report.txt", "The third quokka report.")
	if _, err := e.svc.UpdateItem(e.ctx, g.ID, library.ItemUpdate{Name: ptr("renamed.txt")}); err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	if got := e.docHits(t, proj.ID, "quokka"); len(got) != 0 {
		t.Fatalf("refreshed before the import: %q", got)
	}
	res = e.add(t, proj.ID, g.ID)
	if !slices.Equal(results(res), []string{library.ImportRefreshed}) || res.Results[0].DocumentID != gDoc {
		t.Fatalf("import the changed file = %+v", res)
	}
	e.drain(t)
	if got := e.docHits(t, proj.ID, "quokka"); len(got) != 1 || !strings.HasPrefix(got[0], gDoc) {
		t.Fatalf("search quokka = %q", got)
	}
	if got := e.docHits(t, proj.ID, "zebra"); len(got) != 0 {
		t.Fatalf("the refreshed document kept its old chunks: %q", got)
	}
	d, err = e.svc.GetDocument(e.ctx, proj.ID, gDoc)
	if err != nil || d.Item.Name != "renamed.txt" || d.Item.Head != 2 {
		t.Fatalf("refreshed document = %+v, %v", d.Item, err)
	}

	// Removing documents and deleting the project leave the library's
	// files; the project's copies go.
	if n, err := e.svc.RemoveDocuments(e.ctx, proj.ID, []string{gDoc, "doc-none"}); err != nil || n != 1 {
		t.Fatalf("remove = %d, %v", n, err)
	}
	if got := e.docHits(t, proj.ID, "quokka"); len(got) != 0 {
		t.Fatalf("a removed document is found: %q", got)
	}
	e.item(t, g.ID)
	if err := e.svc.DeleteProject(e.ctx, proj.ID); err != nil {
		t.Fatal(err)
	}
	e.item(t, g.ID)
	_, err = e.svc.Item(e.ctx, d.ItemID)
	wantCode(t, err, shelf.ENOTFOUND)
}

func ptr[T any](v T) *T { return &v }

// TestAddDocumentsSkipsUnreadableInFolders checks that a folder's files of
// a type Shelf cannot read are skipped silently, while such a file named
// directly, an unknown id and a file of an embedded library fail.
func TestAddDocumentsSkipsUnreadableInFolders(t *testing.T) {
	e := newEnv(t, library.Config{})
	a := e.writeText(t, "f/a.md", "# A\n\nreadable")
	bin := e.writeText(t, "f/sub/blob.bin", string(bytes.Repeat([]byte{0, 1, 2}, 10)))
	folder, err := e.svc.ItemAt(e.ctx, "", "f")
	if err != nil {
		t.Fatal(err)
	}
	proj := e.project(t, "p")
	res := e.add(t, proj.ID, folder.ID)
	if len(res.Results) != 1 || res.Results[0].SourceID != a.ID || res.Added != 1 || res.Failed != 0 {
		t.Fatalf("import the folder = %+v", res)
	}
	res = e.add(t, proj.ID, bin.ID, "no-such-id")
	if res.Failed != 2 || res.Results[0].SourceID != bin.ID || res.Results[0].Reason == "" || res.Results[1].SourceID != "no-such-id" {
		t.Fatalf("import the file and an unknown id = %+v", res)
	}
}

// TestProjectsUpgrade checks the upgrade of projects made before
// documents were copies: each gets its library, each document its own
// copy of its file, and from then on it outlives the file.
func TestProjectsUpgrade(t *testing.T) {
	e := newEnv(t, library.Config{})
	f := e.writeText(t, "old.txt", "an ancient aardvark")
	e.drain(t)
	ctx := context.Background()
	now := time.Now().UTC()
	legacy := &shelf.Project{ID: "proj-00000000000000000000000000000001", WorkspaceID: f.WorkspaceID, Name: "legacy",
		CreatedAt: now, UpdatedAt: now}
	doc := &shelf.ProjectDocument{ID: "doc-00000000000000000000000000000001", ProjectID: legacy.ID,
		WorkspaceID: f.WorkspaceID, ItemID: f.ID, CreatedAt: now}
	// As a Shelf before store migration 14 left them.
	err := e.store.Update(ctx, func(tx shelf.Tx) error {
		if err := tx.CreateProject(ctx, legacy); err != nil {
			return err
		}
		if err := tx.AddProjectDocument(ctx, doc); err != nil {
			return err
		}
		return tx.SetSetting(ctx, "projects_copies_upgraded", "")
	})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := library.Open(ctx, e.store, e.blobs, library.Config{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	if _, err := svc.EnsureMasterKey(ctx, testMasterKey); err != nil {
		t.Fatal(err)
	}
	d, err := svc.GetDocument(e.ctx, legacy.ID, doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.SourceID != f.ID || d.ItemID == f.ID || d.CreatedAt.Unix() != now.Unix() {
		t.Fatalf("upgraded document = %+v", d)
	}
	p, err := svc.GetProject(e.ctx, legacy.ID)
	if err != nil || p.LibraryID == "" {
		t.Fatalf("upgraded project = %+v, %v", p, err)
	}
	if _, err := svc.Delete(e.ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	if got := e.docHits(t, legacy.ID, "aardvark"); len(got) != 1 {
		t.Fatalf("search the upgraded project = %q", got)
	}
	// Opening again changes nothing.
	st2, err := sqlite.Open(filepath.Join(e.dir, "shelf.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	bs2, err := fsblob.Open(filepath.Join(e.dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	defer bs2.Close()
	if _, err := library.Open(ctx, st2, bs2, library.Config{}); err != nil {
		t.Fatal(err)
	}
	if again, err := svc.GetDocument(e.ctx, legacy.ID, doc.ID); err != nil || again.ItemID != d.ItemID {
		t.Fatalf("after a second open: %+v, %v", again, err)
	}
}

func TestDocumentStatus(t *testing.T) {
	for _, c := range []struct{ state, want string }{
		{shelf.IndexQueued, library.DocumentPending},
		{shelf.IndexRunning, library.DocumentRunning},
		{shelf.IndexIndexed, library.DocumentOkay},
		{shelf.IndexFailed, library.DocumentError},
		{shelf.IndexNone, library.DocumentError},
		{"something new", library.DocumentError},
	} {
		if got := library.DocumentStatus(c.state); got != c.want {
			t.Errorf("DocumentStatus(%q) = %q, want %q", c.state, got, c.want)
		}
	}
}

// TestImportReusesChunks checks that importing an indexed file gives its
// document the file's chunks and embeddings: searchable at once, with no
// second extraction or embedding; a file not indexed yet is queued.
func TestImportReusesChunks(t *testing.T) {
	emb := &bagEmbedder{model: "bag"}
	e := newEnv(t, library.Config{Embedder: emb})
	f := e.writeText(t, "notes.txt", "a yak on the plateau")
	e.drain(t)
	calls := emb.calls.Load()
	proj := e.project(t, "p")
	res := e.add(t, proj.ID, f.ID)
	d, err := e.svc.GetDocument(e.ctx, proj.ID, res.Results[0].DocumentID)
	if err != nil || d.Item.Index.State != shelf.IndexIndexed {
		t.Fatalf("document = %+v, %v", d.Item, err)
	}
	if n, err := e.svc.IndexOnce(context.Background()); err != nil || n != 0 {
		t.Fatalf("jobs after the import = %d, %v", n, err)
	}
	if got := emb.calls.Load(); got != calls {
		t.Fatalf("the import embedded again: %d calls, want %d", got, calls)
	}
	hits, err := e.svc.Search(e.ctx, library.SearchQuery{Query: "yak plateau", Mode: library.ModeSemantic,
		Filters: library.SearchFilters{Project: proj.ID}})
	if err != nil || len(hits.Hits) != 1 || hits.Hits[0].Item.ID != d.ItemID {
		t.Fatalf("semantic search of the project = %+v, %v", hits, err)
	}
	// A file not indexed yet: its document is queued, and indexed apart.
	g := e.writeText(t, "fresh.txt", "a fresh gnu")
	res = e.add(t, proj.ID, g.ID)
	d, err = e.svc.GetDocument(e.ctx, proj.ID, res.Results[0].DocumentID)
	if err != nil || d.Item.Index.State != shelf.IndexQueued {
		t.Fatalf("document of a file not indexed = %+v, %v", d.Item, err)
	}
	e.drain(t)
	if got := e.docHits(t, proj.ID, "gnu"); len(got) == 0 || !strings.HasSuffix(got[0], "a fresh gnu") {
		t.Fatalf("search gnu = %q", got)
	}
}
