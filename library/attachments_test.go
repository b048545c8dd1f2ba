package library_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/fetch"
	"github.com/shelfmem/shelf/library"
)

// attachEnv is an env whose fetcher reads a loopback server that answers
// "<path> v<v>" for any path, v from the query (default 1).
func attachEnv(t *testing.T) (*env, string) { return attachEnvWith(t, library.Config{}) }

func attachEnvWith(t *testing.T, cfg library.Config) (*env, string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query().Get("v")
		if v == "" {
			v = "1"
		}
		fmt.Fprintf(w, "%s v%s", r.URL.Path, v)
	}))
	t.Cleanup(srv.Close)
	allow, err := fetch.ParseAllow("127.0.0.0/8,::1/128")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Fetcher = fetch.New(fetch.Config{Allow: allow})
	return newEnv(t, cfg), srv.URL
}

// withAttachments is d with attachments named by file: "y.txt?v=2" is
// the file y.txt, fetched with that query.
func withAttachments(d library.Doc, base string, files ...string) library.Doc {
	for _, f := range files {
		name, _, _ := strings.Cut(f, "?")
		d.Attachments = append(d.Attachments, library.Attachment{URL: base + "/" + f, Filename: name})
	}
	return d
}

// TestAttachmentIdentity: an attachment is keyed by its relation to its
// document, so no client external id, however it reads, names it, and
// neither overwrites the other, in either order.
func TestAttachmentIdentity(t *testing.T) {
	e, files := attachEnv(t)
	ctx := e.ctx
	for _, tt := range []struct {
		source, parentExt, parentPath, lookalike string
		lookalikeFirst                           bool
	}{
		{"s1", "rev", "", "rev#y.txt", false},
		{"s2", "rev", "", "rev#y.txt", true},
		{"s3", "", "docs/rev", "path:docs/rev#y.txt", false},
		{"s4", "ticket#123", "", "ticket#123#y.txt", false},
	} {
		parentDoc := func() library.Doc {
			d := withAttachments(doc(tt.parentExt, tt.parentPath, "parent"), files, "y.txt")
			d.SourceName = tt.source
			return d
		}
		lookDoc := func() library.Doc {
			d := doc(tt.lookalike, "", "look-alike")
			d.SourceName = tt.source
			return d
		}
		var parent, look *library.Upserted
		if tt.lookalikeFirst {
			look, parent = e.ingest(t, ctx, lookDoc()), e.ingest(t, ctx, parentDoc())
		} else {
			parent, look = e.ingest(t, ctx, parentDoc()), e.ingest(t, ctx, lookDoc())
		}
		att := parent.Attachments[0].Item
		if look.Status != library.StatusIndexed || look.Item.ID == att.ID || look.Item.ExternalID != tt.lookalike {
			t.Fatalf("%s: look-alike %+v, attachment %+v", tt.source, look.Item, att)
		}
		if att.ExternalID != shelf.AttachmentKey(parent.Item.ID, "y.txt", 1) || att.AttachmentOf() != parent.Item.ID ||
			att.Title != "y.txt" || att.Path != parent.Item.Path+".attachments/y.txt" {
			t.Fatalf("%s: attachment %+v", tt.source, att)
		}
		if b := e.read(t, ctx, att.ID); string(b) != "/y.txt v1" {
			t.Fatalf("%s: attachment = %q", tt.source, b)
		}
		if b := e.read(t, ctx, look.Item.ID); string(b) != "look-alike" {
			t.Fatalf("%s: look-alike = %q", tt.source, b)
		}
		// Each again: unchanged, one version each.
		if u := e.ingest(t, ctx, parentDoc()); u.Attachments[0].Status != library.StatusUnchanged || u.Attachments[0].Item.ID != att.ID {
			t.Fatalf("%s: parent again: %+v", tt.source, u.Attachments[0])
		}
		if u := e.ingest(t, ctx, lookDoc()); u.Status != library.StatusUnchanged || u.Item.ID != look.Item.ID {
			t.Fatalf("%s: look-alike again: %+v", tt.source, u)
		}
		for _, id := range []string{att.ID, look.Item.ID} {
			if ns, _ := e.versions(t, ctx, id); len(ns) != 1 {
				t.Fatalf("%s: %s has versions %v", tt.source, id, ns)
			}
		}
	}
	// A selector never names an attachment's key: control characters
	// are refused, in a look-up and a delete.
	parent := e.ingest(t, ctx, withAttachments(doc("p", "", "p"), files, "y.txt"))
	key := parent.Attachments[0].Item.ExternalID
	_, err := e.svc.FindItems(ctx, library.Selector{ExternalIDs: []string{key}, Limit: 10})
	wantCode(t, err, shelf.EINVALID)
	_, err = e.svc.RemoveItems(ctx, library.Selector{ExternalIDs: []string{key}})
	wantCode(t, err, shelf.EINVALID)
	// Nor can a document take one.
	_, err = e.svc.Ingest(ctx, doc(key, "", "forged"))
	wantCode(t, err, shelf.EINVALID)
	if b := e.read(t, ctx, parent.Attachments[0].Item.ID); string(b) != "/y.txt v1" {
		t.Fatalf("attachment = %q", b)
	}
}

// TestAttachmentPathIsNotAKey: writes by path never overwrite an
// attachment, and an attachment never overwrites the item at its path.
func TestAttachmentPathIsNotAKey(t *testing.T) {
	e, files := attachEnv(t)
	ctx := e.ctx
	mine := e.ingest(t, ctx, doc("", "d.attachments/y.txt", "mine"))
	parent := e.ingest(t, ctx, withAttachments(doc("", "d", "the doc"), files, "y.txt"))
	att := parent.Attachments[0].Item
	if att.ID == mine.Item.ID || att.Path != "d.attachments/y_1.txt" || att.Title != "y.txt" || parent.Attachments[0].Filename != "y.txt" {
		t.Fatalf("attachment %+v beside %+v", att, mine.Item)
	}
	if b := e.read(t, ctx, mine.Item.ID); string(b) != "mine" {
		t.Fatalf("the client's item = %q", b)
	}
	// An ingest keyed by the attachment's path, one by external id that
	// would move there, and a write by path: refused.
	_, err := e.svc.Ingest(ctx, doc("", att.Path, "clobber"))
	wantCode(t, err, shelf.ECONFLICT)
	_, err = e.svc.Ingest(ctx, doc("other", att.Path, "clobber"))
	wantCode(t, err, shelf.ECONFLICT)
	_, err = e.svc.Ingest(ctx, doc("d-key", "", "x")) // a document of its own …
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Ingest(ctx, doc("d-key", att.Path, "clobber")) // … cannot move onto it
	wantCode(t, err, shelf.ECONFLICT)
	w := fileWrite(att.Path, "clobber")
	w.LibraryID = parent.Source.ID
	_, err = e.svc.WriteFile(ctx, w)
	wantCode(t, err, shelf.ECONFLICT)
	// An upload that overwrites by path: refused too.
	u, err := e.svc.CreateUpload(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.PutWhole(ctx, u.ID, bytes.NewReader([]byte("clobber")), 7,
		library.FileTarget{LibraryID: parent.Source.ID, Path: att.Path, Conflict: library.ConflictOverwrite}); shelf.ErrorCode(err) != shelf.ECONFLICT {
		t.Fatalf("upload over an attachment: %v", err)
	}
	if b := e.read(t, ctx, att.ID); string(b) != "/y.txt v1" {
		t.Fatalf("attachment after refused writes = %q", b)
	}
	if ns, _ := e.versions(t, ctx, att.ID); len(ns) != 1 {
		t.Fatalf("attachment versions = %v", ns)
	}
	// The client's item keeps being written by its path.
	if u := e.ingest(t, ctx, doc("", "d.attachments/y.txt", "mine 2")); u.Item.ID != mine.Item.ID || u.Status != library.StatusIndexed {
		t.Fatalf("the client's item again: %+v", u)
	}
}

// TestSameNamedAttachmentsAreTwoItems: the n-th attachment of a name is
// its own item, found again by the same request, never replaced by its
// sibling.
func TestSameNamedAttachmentsAreTwoItems(t *testing.T) {
	e, files := attachEnv(t)
	ctx := e.ctx
	d := func(list ...string) library.Doc { return withAttachments(doc("doc", "", "the doc"), files, list...) }
	first := e.ingest(t, ctx, d("y.txt?v=a", "y.txt?v=b"))
	a, b := first.Attachments[0], first.Attachments[1]
	if a.Status != library.StatusIndexed || b.Status != library.StatusIndexed || a.Item.ID == b.Item.ID ||
		a.Filename != "y.txt" || b.Filename != "y.txt" {
		t.Fatalf("attachments = %+v", first.Attachments)
	}
	if a.Item.Path != "doc.attachments/y.txt" || b.Item.Path != "doc.attachments/y_1.txt" || b.Item.Title != "y.txt" ||
		b.Item.ExternalID != shelf.AttachmentKey(first.Item.ID, "y.txt", 2) {
		t.Fatalf("items = %+v, %+v", a.Item, b.Item)
	}
	if got := string(e.read(t, ctx, a.Item.ID)) + "|" + string(e.read(t, ctx, b.Item.ID)); got != "/y.txt va|/y.txt vb" {
		t.Fatalf("bytes = %q", got)
	}
	// Again: both unchanged, in place. The second changed: a version of it.
	again := e.ingest(t, ctx, d("y.txt?v=a", "y.txt?v=b"))
	if again.Attachments[0].Status != library.StatusUnchanged || again.Attachments[1].Status != library.StatusUnchanged ||
		again.Attachments[0].Item.ID != a.Item.ID || again.Attachments[1].Item.ID != b.Item.ID {
		t.Fatalf("again = %+v", again.Attachments)
	}
	changed := e.ingest(t, ctx, d("y.txt?v=a", "y.txt?v=c"))
	if changed.Attachments[0].Status != library.StatusUnchanged || changed.Attachments[1].Status != library.StatusIndexed ||
		changed.Attachments[1].Item.ID != b.Item.ID || changed.Attachments[1].Item.Path != "doc.attachments/y_1.txt" {
		t.Fatalf("changed = %+v", changed.Attachments)
	}
	if got := string(e.read(t, ctx, a.Item.ID)) + "|" + string(e.read(t, ctx, b.Item.ID)); got != "/y.txt va|/y.txt vc" {
		t.Fatalf("bytes = %q", got)
	}
	// The first y.txt removed by hand: the next ingest makes it again at
	// its name, and the second stays where it is.
	if _, err := e.svc.RemoveItems(ctx, library.Selector{IDs: []string{a.Item.ID}}); err != nil {
		t.Fatal(err)
	}
	back := e.ingest(t, ctx, d("y.txt?v=a", "y.txt?v=c"))
	if back.Attachments[0].Status != library.StatusIndexed || back.Attachments[0].Item.Path != "doc.attachments/y.txt" ||
		back.Attachments[1].Status != library.StatusUnchanged || back.Attachments[1].Item.ID != b.Item.ID ||
		back.Attachments[1].Item.Path != "doc.attachments/y_1.txt" {
		t.Fatalf("back = %+v", back.Attachments)
	}
}

// TestAttachmentsFollowTheDocumentsScope: a private document's new
// attachment is private too, even when the request leaves scope out.
func TestAttachmentsFollowTheDocumentsScope(t *testing.T) {
	e, files := attachEnv(t)
	alice, aliceID := e.keyCtx(t, "alice", shelf.ScopeWrite)
	bob, _ := e.keyCtx(t, "bob", shelf.ScopeWrite)
	d := doc("secret", "", "s")
	d.Scope = shelf.VisiblePrivate
	e.ingest(t, alice, d)
	u := e.ingest(t, alice, withAttachments(doc("secret", "", "s"), files, "a.txt"))
	if it := u.Attachments[0].Item; it.Scope != shelf.VisiblePrivate || it.Owner != aliceID {
		t.Fatalf("attachment = %+v", it)
	}
	if got := e.find(t, bob, library.Selector{}); len(got) != 0 {
		t.Fatalf("bob sees %v", foundIDs(got))
	}
}

// TestRemoveItemsTakesAttachments: a document's attachments are removed
// with it, by their relation (wherever they are), counted and reported
// once each; the folder goes when it is left empty.
func TestRemoveItemsTakesAttachments(t *testing.T) {
	e, files := attachEnv(t)
	ctx := e.ctx
	up := e.ingest(t, ctx, withAttachments(doc("doc", "", "d"), files, "a.txt", "b.txt", "a.txt"))
	// One attachment moved elsewhere by hand is still the document's.
	moved, err := e.svc.MoveFile(ctx, up.Attachments[1].Item.ID, "elsewhere/b.txt", library.ConflictDeny)
	if err != nil {
		t.Fatal(err)
	}
	other := e.ingest(t, ctx, withAttachments(doc("other", "", "o"), files, "a.txt"))
	// The selector names an attachment and its document.
	rm, err := e.svc.RemoveItems(ctx, library.Selector{IDs: []string{up.Attachments[2].Item.ID, up.Item.ID}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range rm.HardDeleted {
		got = append(got, f.Item.Path)
		if f.Source == nil || f.Source.ID != up.Source.ID {
			t.Fatalf("%s: source %+v", f.Item.Path, f.Source)
		}
	}
	slices.Sort(got)
	if rm.Matched != 4 || len(rm.Hidden) != 0 || !slices.Equal(got, []string{"doc", "doc.attachments/a.txt", "doc.attachments/a_1.txt", moved.Path}) {
		t.Fatalf("removed %d: %q", rm.Matched, got)
	}
	for _, a := range up.Attachments {
		_, err := e.svc.Item(ctx, a.Item.ID)
		wantCode(t, err, shelf.ENOTFOUND)
	}
	_, err = e.byPath(t, up.Source.ID, "doc.attachments")
	wantCode(t, err, shelf.ENOTFOUND)
	if _, err := e.byPath(t, up.Source.ID, "elsewhere"); err != nil {
		t.Fatalf("a folder that held a moved attachment: %v", err)
	}
	// Another document's attachments are untouched.
	if b := e.read(t, ctx, other.Attachments[0].Item.ID); string(b) != "/a.txt v1" {
		t.Fatalf("other's attachment = %q", b)
	}
}

// TestRemoveItemsCapCountsAttachments: the cap on one removal counts the
// attachments that go with the documents; over it, nothing is removed.
func TestRemoveItemsCapCountsAttachments(t *testing.T) {
	e, files := attachEnvWith(t, library.Config{MaxRemove: 10})
	ctx := e.ctx
	in := func(d library.Doc) library.Doc { d.SourceName = "capped"; return d }
	for i := range 8 {
		e.ingest(t, ctx, in(doc(fmt.Sprintf("d%d", i), "", "x")))
	}
	// Later, d0 gets two attachments, and d1 one.
	e.clock.Add(time.Minute)
	since := e.clock.Now()
	e.ingest(t, ctx, in(withAttachments(doc("d0", "", "x"), files, "a.txt", "b.txt")))
	e.ingest(t, ctx, in(withAttachments(doc("d1", "", "x"), files, "a.txt")))
	all := func() int { return len(e.find(t, ctx, library.Selector{SourceName: "capped"})) }
	// The 8 documents made before the attachments, and their 3: over 10.
	_, err := e.svc.RemoveItems(ctx, library.Selector{SourceName: "capped", CreatedBefore: since})
	wantCode(t, err, shelf.ETOOLARGE)
	if n := all(); n != 11 {
		t.Fatalf("%d items after a refused removal, want 11", n)
	}
	// Every item selected directly: over 10 as well.
	_, err = e.svc.RemoveItems(ctx, library.Selector{SourceName: "capped"})
	wantCode(t, err, shelf.ETOOLARGE)
	// d7 gone: 7 documents and their 3 attachments, at the cap.
	if rm, err := e.svc.RemoveItems(ctx, library.Selector{ExternalIDs: []string{"d7"}}); err != nil || rm.Matched != 1 {
		t.Fatalf("RemoveItems(d7) = %+v, %v", rm, err)
	}
	rm, err := e.svc.RemoveItems(ctx, library.Selector{SourceName: "capped", CreatedBefore: since})
	if err != nil || rm.Matched != 10 || len(rm.HardDeleted) != 10 {
		t.Fatalf("RemoveItems at the cap = %+v, %v", rm, err)
	}
	if n := all(); n != 0 {
		t.Fatalf("%d items left", n)
	}
}

// TestDeleteTakesAttachments: deleting a document by id (the native API)
// deletes its attachments, wherever they are, and the folder they leave
// empty; a sibling's attachments stay.
func TestDeleteTakesAttachments(t *testing.T) {
	e, files := attachEnv(t)
	ctx := e.ctx
	doc1 := e.ingest(t, ctx, withAttachments(doc("d1", "", "one"), files, "a.txt", "b.txt"))
	doc2 := e.ingest(t, ctx, withAttachments(doc("d2", "", "two"), files, "c.txt"))
	n, err := e.svc.Delete(ctx, doc1.Item.ID)
	if err != nil || n != 3 {
		t.Fatalf("Delete = %d, %v; want the document and its 2 attachments", n, err)
	}
	for _, a := range doc1.Attachments {
		if _, err := e.svc.Item(ctx, a.Item.ID); shelf.ErrorCode(err) != shelf.ENOTFOUND {
			t.Fatalf("attachment %s after its document's delete: %v", a.Filename, err)
		}
	}
	if _, err := e.svc.ItemAt(ctx, doc1.Source.ID, doc1.Item.Path+".attachments"); shelf.ErrorCode(err) != shelf.ENOTFOUND {
		t.Fatalf("the emptied attachments folder: %v", err)
	}
	e.item(t, doc2.Attachments[0].Item.ID)
}
