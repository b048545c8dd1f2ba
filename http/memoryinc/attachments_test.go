package memoryinc_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/shelfmem/shelf/http/memoryinc"
	"github.com/shelfmem/shelf/internal/shelftest"
	"github.com/shelfmem/shelf/library"
)

// echoFiles serves "<path> v<n>" for any path, n from the query's v
// (default 1), so that a test can change an attachment's bytes.
func echoFiles(t *testing.T) *fileServer {
	return serve(t, func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query().Get("v")
		if v == "" {
			v = "1"
		}
		fmt.Fprintf(w, "%s v%s", r.URL.Path, v)
	})
}

func atts(base string, files ...string) []map[string]string {
	out := make([]map[string]string, len(files))
	for i, f := range files {
		name, query, _ := strings.Cut(f, "?")
		out[i] = map[string]string{"url": base + "/" + name, "filename": name}
		if query != "" {
			out[i]["url"] += "?" + query
		}
	}
	return out
}

// nativeRaw reads an item's native JSON with the master key.
func (c *tc) nativeRaw(id string) (int, string) {
	c.t.Helper()
	r := c.env.Do(c.t, http.MethodGet, "/v1/items/"+id, shelftest.MasterKey, nil)
	return r.Status, string(r.Body)
}

// TestAttachmentNeverOverwritesAnItem: a client's external id that reads
// like an attachment's old key ("<document>#<file>") is a document of its
// own, in either order, and no wire shows an attachment's key.
func TestAttachmentNeverOverwritesAnItem(t *testing.T) {
	c := newTC(t, library.Config{})
	files := echoFiles(t)
	type doc struct{ ext, path string }
	for _, tt := range []struct {
		name        string
		parent      map[string]any // the document with the attachment y.txt
		lookalike   map[string]any // a client's document whose key reads like the attachment's
		attachFirst bool
	}{
		{"attachment first", map[string]any{"source_name": "s1", "external_id": "rev"},
			map[string]any{"source_name": "s1", "external_id": "rev#y.txt"}, true},
		{"document first", map[string]any{"source_name": "s2", "external_id": "rev"},
			map[string]any{"source_name": "s2", "external_id": "rev#y.txt"}, false},
		{"keyed by path", map[string]any{"source_name": "s3", "path": "docs/rev"},
			map[string]any{"source_name": "s3", "external_id": "path:docs/rev#y.txt"}, true},
		{"a URL with a fragment", map[string]any{"source_name": "s4", "external_id": "https://x.example/t"},
			map[string]any{"source_name": "s4", "external_id": "https://x.example/t#y.txt"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ingestParent := func() ingestOut {
				body := map[string]any{"content": "the parent", "attachments": atts(files.URL, "y.txt")}
				for k, v := range tt.parent {
					body[k] = v
				}
				return c.ingest(c.key, body)
			}
			ingestLookalike := func() ingestOut {
				body := map[string]any{"content": "the look-alike"}
				for k, v := range tt.lookalike {
					body[k] = v
				}
				return c.ingest(c.key, body)
			}
			var parent, look ingestOut
			if tt.attachFirst {
				parent, look = ingestParent(), ingestLookalike()
			} else {
				look, parent = ingestLookalike(), ingestParent()
			}
			att := parent.Attachments[0]
			if look.Status != "indexed" || att.Status != "indexed" || look.SourceItemID == att.SourceItemID ||
				look.SourceItemID == parent.SourceItemID {
				t.Fatalf("parent %+v, look-alike %+v", parent, look)
			}
			if b, _ := c.content(att.SourceItemID, 0); string(b) != "/y.txt v1" {
				t.Fatalf("attachment = %q", b)
			}
			if b, _ := c.content(look.SourceItemID, 0); string(b) != "the look-alike" {
				t.Fatalf("look-alike = %q", b)
			}
			// Both again: each unchanged, in place, one version each.
			if p, l := ingestParent(), ingestLookalike(); p.Attachments[0].Status != "unchanged" ||
				p.Attachments[0].SourceItemID != att.SourceItemID || l.Status != "unchanged" || l.SourceItemID != look.SourceItemID {
				t.Fatalf("again: parent %+v, look-alike %+v", p, l)
			}
			for _, id := range []string{att.SourceItemID, look.SourceItemID} {
				if _, it := c.native(id); it.Head != 1 {
					t.Fatalf("%s has %d versions", it.Path, it.Head)
				}
			}

			// The list: the look-alike by its external id; the attachment
			// with none, naming its document.
			src := url.QueryEscape(tt.parent["source_name"].(string))
			l := c.list(c.key, "source_name="+src)
			var seen int
			for _, it := range l.Items {
				switch it.ID {
				case look.SourceItemID:
					seen++
					if it.ExternalID == nil || *it.ExternalID != tt.lookalike["external_id"] || it.AttachmentOf != nil {
						t.Fatalf("look-alike listed as %+v", it)
					}
				case att.SourceItemID:
					seen++
					if it.ExternalID != nil || it.AttachmentOf == nil || *it.AttachmentOf != parent.SourceItemID || it.Title != "y.txt" {
						t.Fatalf("attachment listed as %+v", it)
					}
				}
			}
			if seen != 2 {
				t.Fatalf("list = %v", ids(l.Items))
			}
			// Looking the old key up finds the look-alike only.
			if got := c.list(c.key, "source_name="+src+"&external_id="+url.QueryEscape(tt.lookalike["external_id"].(string))); len(got.Items) != 1 ||
				got.Items[0].ID != look.SourceItemID {
				t.Fatalf("look-up of the look-alike's key = %v", ids(got.Items))
			}
		})
	}

	// No wire shows the reserved key: the list, the native item, a delete.
	raw := c.env.Do(t, http.MethodGet, memoryinc.ItemsPath+"?limit=200", c.key, nil)
	if strings.Contains(string(raw.Body), `\u001f`) || !strings.Contains(string(raw.Body), `"attachment_of":"`) {
		t.Fatalf("list: %s", raw.Body)
	}
	out := c.ingest(c.key, map[string]any{"external_id": "n", "content": "x", "attachments": atts(files.URL, "n.txt")})
	st, body := c.nativeRaw(out.Attachments[0].SourceItemID)
	if st != http.StatusOK || strings.Contains(body, `\u001f`) || strings.Contains(body, `"external_id"`) ||
		!strings.Contains(body, `"attachment_of":"`+out.SourceItemID+`"`) {
		t.Fatalf("native attachment: %d %s", st, body)
	}
	_, att := c.native(out.Attachments[0].SourceItemID)
	kids := c.env.Do(t, http.MethodGet, "/v1/items/"+att.ParentID+"/children", shelftest.MasterKey, nil)
	if kids.Status != http.StatusOK || strings.Contains(string(kids.Body), `\u001f`) ||
		!strings.Contains(string(kids.Body), `"attachment_of":"`+out.SourceItemID+`"`) {
		t.Fatalf("native children: %d %s", kids.Status, kids.Body)
	}
	if st, body := c.nativeRaw(out.SourceItemID); st != http.StatusOK || !strings.Contains(body, `"external_id":"n"`) ||
		strings.Contains(body, "attachment_of") {
		t.Fatalf("native document: %d %s", st, body)
	}
	// A selector can never spell a key: control characters are refused.
	key := out.SourceItemID + "\x1fn.txt\x1f1"
	fails(t, c.env.Do(t, http.MethodGet, memoryinc.ItemsPath+"?external_id="+url.QueryEscape(key), c.key, nil),
		http.StatusBadRequest, "invalid_request", "control")
	fails(t, c.del(c.key, map[string]any{"external_ids": []string{key}}, ""), http.StatusBadRequest, "invalid_request", "control")
	if st, _ := c.native(out.Attachments[0].SourceItemID); st != http.StatusOK {
		t.Fatalf("attachment after refused deletes: %d", st)
	}
	del := c.del(c.key, map[string]any{"ids": []string{out.SourceItemID}}, "")
	if strings.Contains(string(del.Body), `\u001f`) || !strings.Contains(string(del.Body), `"attachment_of":"`+out.SourceItemID+`"`) {
		t.Fatalf("delete: %s", del.Body)
	}
}

// TestPathWritesNeverOverwriteAnAttachment: a document keyed by the path
// of an attachment, or a native write to it, is refused and changes
// nothing; an attachment created where a client's item is takes a free
// name.
func TestPathWritesNeverOverwriteAnAttachment(t *testing.T) {
	c := newTC(t, library.Config{})
	files := echoFiles(t)
	// A client's own item in the folder where attachments go.
	mine := c.ingest(c.key, map[string]any{"path": "doc.attachments/y.txt", "content": "mine"})
	out := c.ingest(c.key, map[string]any{"path": "doc", "content": "the doc", "attachments": atts(files.URL, "y.txt")})
	att := out.Attachments[0]
	if att.Status != "indexed" || att.Filename != "y.txt" || att.SourceItemID == mine.SourceItemID {
		t.Fatalf("attachment = %+v", att)
	}
	if _, it := c.native(att.SourceItemID); it.Path != "doc.attachments/y_1.txt" || it.Title != "y.txt" {
		t.Fatalf("attachment item = %+v", it)
	}
	if b, _ := c.content(mine.SourceItemID, 0); string(b) != "mine" {
		t.Fatalf("the client's item = %q", b)
	}

	before := c.snapshot(c.key)
	fails(t, c.post(c.key, map[string]any{"path": "doc.attachments/y_1.txt", "content": "clobber"}),
		http.StatusConflict, "conflict", "attachment")
	fails(t, c.post(c.key, map[string]any{"external_id": "other", "path": "doc.attachments/y_1.txt", "content": "clobber"}),
		http.StatusConflict, "conflict")
	r := c.env.Do(t, http.MethodPut, "/v1/files/doc.attachments/y_1.txt?library="+out.SourceID, c.key, []byte("clobber"))
	if r.Status != http.StatusConflict {
		t.Fatalf("native write by path onto an attachment = %d %s", r.Status, r.Body)
	}
	if after := c.snapshot(c.key); after != before {
		t.Fatalf("refused writes changed items:\n%s\nwas\n%s", after, before)
	}
	if b, _ := c.content(att.SourceItemID, 0); string(b) != "/y.txt v1" {
		t.Fatalf("attachment = %q", b)
	}
	// The client's own item there is still written by its path.
	if again := c.ingest(c.key, map[string]any{"path": "doc.attachments/y.txt", "content": "mine, v2"}); again.SourceItemID != mine.SourceItemID ||
		again.Status != "indexed" {
		t.Fatalf("client's item again = %+v", again)
	}
}

// TestSameNamedAttachments: two attachments of one name in one request
// are two items, each reported with its own id, and stay two on every
// ingest after.
func TestSameNamedAttachments(t *testing.T) {
	c := newTC(t, library.Config{})
	files := echoFiles(t)
	body := func(list ...string) map[string]any {
		return map[string]any{"external_id": "doc", "content": "the doc", "attachments": atts(files.URL, list...)}
	}
	// Three named y.txt (their bytes differ by the query), one z.txt.
	first := c.ingest(c.key, body("y.txt?v=a", "z.txt", "y.txt?v=b", "y.txt?v=c"))
	if len(first.Attachments) != 4 {
		t.Fatalf("attachments = %+v", first.Attachments)
	}
	want := map[int]string{0: "/y.txt va", 1: "/z.txt v1", 2: "/y.txt vb", 3: "/y.txt vc"}
	seen := map[string]bool{}
	paths := []string{}
	for i, a := range first.Attachments {
		if a.Status != "indexed" || a.SourceItemID == "" || seen[a.SourceItemID] {
			t.Fatalf("attachment %d: %+v", i, a)
		}
		seen[a.SourceItemID] = true
		wantName := "y.txt"
		if i == 1 {
			wantName = "z.txt"
		}
		if a.Filename != wantName {
			t.Fatalf("attachment %d: filename %q", i, a.Filename)
		}
		if b, _ := c.content(a.SourceItemID, 0); string(b) != want[i] {
			t.Fatalf("attachment %d = %q, want %q", i, b, want[i])
		}
		_, it := c.native(a.SourceItemID)
		paths = append(paths, it.Path)
	}
	if !slices.Equal(paths, []string{"doc.attachments/y.txt", "doc.attachments/z.txt", "doc.attachments/y_1.txt", "doc.attachments/y_2.txt"}) {
		t.Fatalf("paths = %q", paths)
	}
	l := c.list(c.key, "")
	if got := ids(l.Items); !slices.Equal(got, []string{"doc", "doc.attachments/y.txt", "doc.attachments/z.txt",
		"doc.attachments/y_1.txt", "doc.attachments/y_2.txt"}) {
		t.Fatalf("list = %v", got)
	}

	// The same request: every one unchanged, the same ids.
	again := c.ingest(c.key, body("y.txt?v=a", "z.txt", "y.txt?v=b", "y.txt?v=c"))
	for i, a := range again.Attachments {
		if a.Status != "unchanged" || a.SourceItemID != first.Attachments[i].SourceItemID {
			t.Fatalf("again, attachment %d: %+v", i, a)
		}
	}
	// The second y.txt changes: a new version of that one only, in place.
	changed := c.ingest(c.key, body("y.txt?v=a", "z.txt", "y.txt?v=B", "y.txt?v=c"))
	for i, a := range changed.Attachments {
		wantStatus := "unchanged"
		if i == 2 {
			wantStatus = "indexed"
		}
		if a.Status != wantStatus || a.SourceItemID != first.Attachments[i].SourceItemID {
			t.Fatalf("changed, attachment %d: %+v", i, a)
		}
	}
	if b, _ := c.content(first.Attachments[2].SourceItemID, 0); string(b) != "/y.txt vB" {
		t.Fatalf("changed attachment = %q", b)
	}
	if b, _ := c.content(first.Attachments[2].SourceItemID, 1); string(b) != "/y.txt vb" {
		t.Fatalf("its first version = %q", b)
	}
	// Fewer: the first ones are found again and the last y.txt is kept.
	fewer := c.ingest(c.key, body("y.txt?v=a", "y.txt?v=B"))
	if fewer.Attachments[0].SourceItemID != first.Attachments[0].SourceItemID || fewer.Attachments[0].Status != "unchanged" ||
		fewer.Attachments[1].SourceItemID != first.Attachments[2].SourceItemID || fewer.Attachments[1].Status != "unchanged" {
		t.Fatalf("fewer = %+v", fewer.Attachments)
	}
	if n := len(c.list(c.key, "").Items); n != 5 {
		t.Fatalf("%d items after fewer attachments, want 5", n)
	}
	// A fourth y.txt: a new item under the next free name.
	more := c.ingest(c.key, body("y.txt?v=a", "y.txt?v=B", "y.txt?v=c", "y.txt?v=d"))
	if more.Attachments[3].Status != "indexed" || seen[more.Attachments[3].SourceItemID] {
		t.Fatalf("more = %+v", more.Attachments)
	}
	if _, it := c.native(more.Attachments[3].SourceItemID); it.Path != "doc.attachments/y_3.txt" {
		t.Fatalf("the fourth y.txt is at %q", it.Path)
	}
}

// TestDeleteReportsAttachments: deleting (or hiding) a document does the
// same to its attachments, and the answer counts and lists each item
// once, the attachments naming their document.
func TestDeleteReportsAttachments(t *testing.T) {
	c := newTC(t, library.Config{})
	files := echoFiles(t)
	if _, err := c.env.Service.CreateSource(c.env.Context(t), "Gmail", "gmail"); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"API ingest", "Gmail"} {
		t.Run(src, func(t *testing.T) {
			out := c.ingest(c.key, map[string]any{"source_name": src, "external_id": "doc-" + src, "content": "body",
				"attachments": atts(files.URL, "a.pdf", "b.pdf", "a.pdf")})
			attIDs := []string{}
			for _, a := range out.Attachments {
				attIDs = append(attIDs, a.SourceItemID)
			}
			res := c.remove(c.key, map[string]any{"external_ids": []string{"doc-" + src}}, "")
			list := res.HardDeleted
			if src == "Gmail" {
				list = res.Hidden
			}
			if res.Matched != 4 || len(list) != 4 {
				t.Fatalf("matched %d: %+v", res.Matched, res)
			}
			got := map[string]removalOut{}
			for _, r := range list {
				got[r.ID] = r
			}
			if d, ok := got[out.SourceItemID]; !ok || d.ExternalID == nil || *d.ExternalID != "doc-"+src || d.AttachmentOf != nil {
				t.Fatalf("document in the answer: %+v", list)
			}
			for _, id := range attIDs {
				a, ok := got[id]
				if !ok || a.ExternalID != nil || a.AttachmentOf == nil || *a.AttachmentOf != out.SourceItemID || a.SourceName != src {
					t.Fatalf("attachment %s in the answer: %+v", id, list)
				}
				st, it := c.native(id)
				switch src {
				case "API ingest":
					if st != http.StatusNotFound {
						t.Fatalf("attachment of a deleted document: %d", st)
					}
				case "Gmail":
					if st != http.StatusOK || !it.Hidden {
						t.Fatalf("attachment of a hidden document: %d %+v", st, it)
					}
				}
			}
		})
	}
	// The deleted document's folder went with its attachments.
	r := c.env.Do(t, http.MethodGet, "/sources/api/items?source_name=API+ingest", c.key, nil)
	if strings.Contains(string(r.Body), "doc-API ingest") {
		t.Fatalf("left: %s", r.Body)
	}

	// A selector that matches a document and its attachment, the
	// attachment first: each listed once.
	out := c.ingest(c.key, map[string]any{"external_id": "twice", "content": "x", "attachments": atts(files.URL, "t.txt", "u.txt")})
	res := c.remove(c.key, map[string]any{"ids": []string{out.Attachments[0].SourceItemID, out.SourceItemID}}, "")
	if res.Matched != 3 || len(res.HardDeleted) != 3 {
		t.Fatalf("matched %d: %+v", res.Matched, res)
	}
	if got := removedIDs(res.HardDeleted); !slices.Equal(got, []string{"twice", "twice.attachments/t.txt", "twice.attachments/u.txt"}) {
		t.Fatalf("deleted = %v", got)
	}

	// A source selector matches documents and attachments alike: once each.
	c.ingest(c.key, map[string]any{"source_name": "many", "external_id": "m1", "content": "x", "attachments": atts(files.URL, "a.txt")})
	c.ingest(c.key, map[string]any{"source_name": "many", "external_id": "m2", "content": "x", "attachments": atts(files.URL, "a.txt", "b.txt")})
	res = c.remove(c.key, map[string]any{"source_name": "many"}, "")
	if got := removedIDs(res.HardDeleted); res.Matched != 5 || !slices.Equal(got, []string{"m1", "m1.attachments/a.txt", "m2",
		"m2.attachments/a.txt", "m2.attachments/b.txt"}) {
		t.Fatalf("source: matched %d, %v", res.Matched, got)
	}

	// An item a client put in the attachments folder is no attachment:
	// it stays, and so does the folder.
	out = c.ingest(c.key, map[string]any{"path": "keep", "content": "x", "attachments": atts(files.URL, "k.txt")})
	mine := c.ingest(c.key, map[string]any{"path": "keep.attachments/mine.txt", "content": "mine"})
	res = c.remove(c.key, map[string]any{"ids": []string{out.SourceItemID}}, "")
	if got := removedIDs(res.HardDeleted); res.Matched != 2 || !slices.Equal(got, []string{"keep", "keep.attachments/k.txt"}) {
		t.Fatalf("keep: matched %d, %v", res.Matched, got)
	}
	if b, _ := c.content(mine.SourceItemID, 0); string(b) != "mine" {
		t.Fatalf("the client's item = %q", b)
	}
}

// TestTimeForms: created_after and created_before take the common ISO
// 8601 forms, in the list's query and in a delete's body; anything else
// is a 400 that shows an accepted form.
func TestTimeForms(t *testing.T) {
	c, _ := filtersTC(t) // a and mail-1 on the 8th, b and mail-2 on the 9th at 12:02 and 12:03, …
	for _, tt := range []struct {
		bound string
		want  []string
	}{
		{"2026-06-09T12:02:00+0000", []string{"b", "mail-2", "c", "mail-3"}},
		{"2026-06-09T21:02:00+0900", []string{"b", "mail-2", "c", "mail-3"}},
		{"2026-06-09T21:03:00+09", []string{"mail-2", "c", "mail-3"}},
		{"2026-06-09T12:03Z", []string{"mail-2", "c", "mail-3"}},
		{"2026-06-09T12:03", []string{"mail-2", "c", "mail-3"}},
		{"20260609T120300Z", []string{"mail-2", "c", "mail-3"}},
		{"20260609T1203Z", []string{"mail-2", "c", "mail-3"}},
		{"20260609", []string{"b", "mail-2", "c", "mail-3"}},
		{"2026-06-09 12:03:00", []string{"mail-2", "c", "mail-3"}},
		{"2026-06-09 12:03:00Z", []string{"mail-2", "c", "mail-3"}},
	} {
		for _, q := range []string{url.QueryEscape(tt.bound), strings.ReplaceAll(tt.bound, " ", "%20")} {
			l := c.list(c.key, "created_after="+q)
			if got := ids(l.Items); !slices.Equal(got, tt.want) {
				t.Errorf("created_after=%s: %v, want %v", q, got, tt.want)
			}
		}
	}
	// An unencoded "+" arrives as a space, in any of the offset forms.
	for _, q := range []string{"2026-06-09T21:03:00+0900", "2026-06-09+21:03:00+09:00", "2026-06-09T21:03+09"} {
		if got := ids(c.list(c.key, "created_after="+q).Items); !slices.Equal(got, []string{"mail-2", "c", "mail-3"}) {
			t.Errorf("created_after=%s: %v", q, got)
		}
	}
	for _, bad := range []string{"yesterday", "2026-06-09T12", "2026-06-09T1203Z", "06/09/2026", "2026-06-09T12:03:00+9"} {
		fails(t, c.env.Do(t, http.MethodGet, memoryinc.ItemsPath+"?created_before="+url.QueryEscape(bad), c.key, nil),
			http.StatusBadRequest, "invalid_request", "created_before", "2026-06-09T10:00:00Z")
		fails(t, c.del(c.key, map[string]any{"created_before": bad}, ""), http.StatusBadRequest, "invalid_request", "created_before")
	}
	// A delete by a basic-format range: the 9th's items.
	res := c.remove(c.key, map[string]any{"created_after": "20260609T0000Z", "created_before": "2026-06-10 00:00+0000"}, "")
	if got := append(removedIDs(res.HardDeleted), removedIDs(res.Hidden)...); res.Matched != 2 || !slices.Equal(got, []string{"b", "mail-2"}) {
		t.Fatalf("delete by range: %+v", res)
	}
}
