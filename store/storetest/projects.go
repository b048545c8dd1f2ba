package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shelfmem/shelf"
)

// newProject returns a project of ws named name, made at d, not yet stored.
func newProject(ws *shelf.Workspace, name string, d time.Duration) *shelf.Project {
	return &shelf.Project{ID: "proj-" + newID(), WorkspaceID: ws.ID, Name: name, Description: "about " + name,
		CreatedAt: at(d), UpdatedAt: at(d)}
}

func projectNames(ps []*shelf.Project) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

// testProjects checks project create, read, update, delete, the name
// filter (a literal, without case), offset pages with their total, and
// isolation between workspaces.
func testProjects(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	names := []string{"Alpha", "beta", "ALPHABET", "100% sure", "snake_case", "snakeXcase", `back\slash`}
	var ps []*shelf.Project
	for i, n := range names {
		ps = append(ps, newProject(w.a, n, time.Duration(i)*time.Second))
	}
	ps[2].CreatedAt = ps[1].CreatedAt // a tie, broken by id
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, p := range ps {
			if err := tx.CreateProject(ctx, p); err != nil {
				return err
			}
		}
		return tx.CreateProject(ctx, newProject(w.b, "Alpha of B", 0))
	})
	slices.SortFunc(ps, func(a, b *shelf.Project) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	wantNames := projectNames(ps)
	// pick returns names in the listing's order.
	pick := func(names ...string) []string {
		return slices.DeleteFunc(slices.Clone(wantNames), func(n string) bool { return !slices.Contains(names, n) })
	}

	var got *shelf.Project
	view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		got, err = tx.Project(ctx, w.a.ID, ps[0].ID)
		return err
	})
	same(t, "Project", got, ps[0])
	err := viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.Project(ctx, w.b.ID, ps[0].ID)
		return err
	})
	wantCode(t, "Project(other workspace)", err, shelf.ENOTFOUND)
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateProject(ctx, ps[0]) })
	wantCode(t, "CreateProject(taken id)", err, shelf.ECONFLICT)
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		p := newProject(w.a, "nowhere", 0)
		p.WorkspaceID = newID()
		return tx.CreateProject(ctx, p)
	})
	wantCode(t, "CreateProject(missing workspace)", err, shelf.ENOTFOUND)

	list := func(q shelf.ProjectQuery) ([]string, int) {
		t.Helper()
		var out []*shelf.Project
		var total int
		view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
			out, total, err = tx.ListProjects(ctx, w.a.ID, q)
			return err
		})
		return projectNames(out), total
	}
	for _, c := range []struct {
		q     shelf.ProjectQuery
		want  []string
		total int
	}{
		{shelf.ProjectQuery{Limit: 100}, wantNames, len(names)},
		{shelf.ProjectQuery{Limit: 3}, wantNames[:3], len(names)},
		{shelf.ProjectQuery{Offset: 3, Limit: 3}, wantNames[3:6], len(names)},
		{shelf.ProjectQuery{Offset: 6, Limit: 3}, wantNames[6:], len(names)},
		{shelf.ProjectQuery{Offset: 100, Limit: 3}, nil, len(names)},
		{shelf.ProjectQuery{NameContains: "alpha", Limit: 10}, []string{"Alpha", "ALPHABET"}, 2},
		{shelf.ProjectQuery{NameContains: "alpha", Offset: 1, Limit: 10}, []string{"ALPHABET"}, 2},
		{shelf.ProjectQuery{NameContains: "ET", Limit: 10}, pick("beta", "ALPHABET"), 2},
		{shelf.ProjectQuery{NameContains: "%", Limit: 10}, []string{"100% sure"}, 1},
		{shelf.ProjectQuery{NameContains: "_", Limit: 10}, []string{"snake_case"}, 1},
		{shelf.ProjectQuery{NameContains: `\`, Limit: 10}, []string{`back\slash`}, 1},
		{shelf.ProjectQuery{NameContains: "of B", Limit: 10}, nil, 0},
	} {
		got, total := list(c.q)
		if !slices.Equal(got, c.want) || total != c.total {
			t.Fatalf("ListProjects(%+v) = %q, %d; want %q, %d", c.q, got, total, c.want, c.total)
		}
	}
	changed := *ps[0]
	changed.Name, changed.Description, changed.UpdatedAt = "Renamed", "", at(time.Hour)
	changed.Metadata, changed.LibraryID = json.RawMessage(`{"k":"v"}`), newID()
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateProject(ctx, &changed) })
	view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		got, err = tx.Project(ctx, w.a.ID, ps[0].ID)
		return err
	})
	same(t, "Project after update", got, &changed)
	foreign := changed
	foreign.WorkspaceID, foreign.Name = w.b.ID, "hijacked"
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateProject(ctx, &foreign) })
	wantCode(t, "UpdateProject(other workspace)", err, shelf.ENOTFOUND)

	// Keyset pages continue after a project's (created_at, id); the
	// total ignores the keyset.
	for i := range ps[:len(ps)-1] {
		got, total := list(shelf.ProjectQuery{AfterTime: ps[i].CreatedAt, AfterID: ps[i].ID, Limit: 2})
		want := wantNames[i+1 : min(i+3, len(wantNames))]
		if !slices.Equal(got, want) || total != len(names) {
			t.Fatalf("ListProjects(after %q) = %q, %d; want %q, %d", ps[i].Name, got, total, want, len(names))
		}
	}
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteProject(ctx, w.b.ID, ps[0].ID) })
	wantCode(t, "DeleteProject(other workspace)", err, shelf.ENOTFOUND)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteProject(ctx, w.a.ID, ps[0].ID) })
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteProject(ctx, w.a.ID, ps[0].ID) })
	wantCode(t, "DeleteProject(deleted)", err, shelf.ENOTFOUND)
	if got, total := list(shelf.ProjectQuery{Limit: 100}); !slices.Equal(got, wantNames[1:]) || total != len(names)-1 {
		t.Fatalf("after delete: %q, %d", got, total)
	}
}

// testProjectDocuments checks documents: added once per item and once
// per source, workspace checks, pages with their items and total, the
// visibility and name filters, keyset pages, lookup by id, by source and
// by item, and that a document goes with its own item and with its
// project.
func testProjectDocuments(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	proj, other := newProject(w.a, "p", 0), newProject(w.a, "other", time.Second)
	projB := newProject(w.b, "b", 0)
	var files []*shelf.Item
	for i := range 5 {
		files = append(files, child(w.rootA, fmt.Sprintf("f%d.txt", i), shelf.TypeFile))
	}
	private := child(w.rootA, "private.txt", shelf.TypeFile)
	private.Scope, private.Owner = shelf.VisiblePrivate, "key-1"
	hidden := child(w.rootA, "hidden.txt", shelf.TypeFile)
	hidden.Hidden = true
	fileB := child(w.rootB, "b.txt", shelf.TypeFile)
	spare := child(w.rootA, "spare.txt", shelf.TypeFile)
	createItems(t, s, append(files, private, hidden, fileB, spare)...)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, p := range []*shelf.Project{proj, other, projB} {
			if err := tx.CreateProject(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})

	doc := func(p *shelf.Project, it *shelf.Item, d time.Duration) *shelf.ProjectDocument {
		return &shelf.ProjectDocument{ID: "doc-" + newID(), ProjectID: p.ID, WorkspaceID: p.WorkspaceID, ItemID: it.ID,
			SourceID: "src-" + it.ID, CreatedAt: at(d)}
	}
	var docs []*shelf.ProjectDocument
	for i, it := range append(slices.Clone(files), private, hidden) {
		docs = append(docs, doc(proj, it, time.Duration(i)*time.Second))
	}
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, d := range docs {
			if err := tx.AddProjectDocument(ctx, d); err != nil {
				return err
			}
		}
		// A duplicate and missing references fail without spoiling the
		// transaction: it goes on and commits.
		err := tx.AddProjectDocument(ctx, doc(proj, files[0], time.Hour))
		wantCode(t, "AddProjectDocument(file twice)", err, shelf.ECONFLICT)
		again := doc(proj, fileB, time.Hour) // another item, but a source in the project already
		again.WorkspaceID, again.ItemID, again.SourceID = w.a.ID, spare.ID, docs[1].SourceID
		err = tx.AddProjectDocument(ctx, again)
		wantCode(t, "AddProjectDocument(source twice)", err, shelf.ECONFLICT)
		foreign := doc(projB, fileB, time.Hour)
		foreign.WorkspaceID = w.a.ID
		err = tx.AddProjectDocument(ctx, foreign)
		wantCode(t, "AddProjectDocument(project of another workspace)", err, shelf.ENOTFOUND)
		err = tx.AddProjectDocument(ctx, doc(proj, fileB, time.Hour))
		wantCode(t, "AddProjectDocument(file of another workspace)", err, shelf.ENOTFOUND)
		err = tx.AddProjectDocument(ctx, doc(proj, &shelf.Item{ID: newID()}, time.Hour))
		wantCode(t, "AddProjectDocument(missing file)", err, shelf.ENOTFOUND)
		// The same file in another project is another document.
		return tx.AddProjectDocument(ctx, doc(other, files[0], 0))
	})

	list := func(ws, projectID string, q shelf.DocumentQuery) ([]*shelf.ProjectDocument, int) {
		t.Helper()
		var out []*shelf.ProjectDocument
		var total int
		view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
			out, total, err = tx.ProjectDocuments(ctx, ws, projectID, q)
			return err
		})
		return out, total
	}
	ids := func(ds []*shelf.ProjectDocument) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	docIDs := ids(docs)
	got, total := list(w.a.ID, proj.ID, shelf.DocumentQuery{Filter: shelf.ItemFilter{Viewer: "key-1", WithHidden: true}, Limit: 100})
	if !slices.Equal(ids(got), docIDs) || total != len(docs) {
		t.Fatalf("all documents = %q (%d), want %q", ids(got), total, docIDs)
	}
	for i, d := range got {
		if d.Item == nil || d.Item.ID != docs[i].ItemID || d.Item.Name == "" {
			t.Fatalf("document %d has item %+v", i, d.Item)
		}
		d.Item = nil
		same(t, fmt.Sprintf("document %d", i), d, docs[i])
	}
	// Another viewer sees neither the private file's nor the hidden
	// file's document; pages and total follow the filter.
	got, total = list(w.a.ID, proj.ID, shelf.DocumentQuery{Filter: shelf.ItemFilter{Viewer: "key-2"}, Offset: 2, Limit: 2})
	if !slices.Equal(ids(got), docIDs[2:4]) || total != len(files) {
		t.Fatalf("page 2 of visible = %q (%d), want %q (%d)", ids(got), total, docIDs[2:4], len(files))
	}
	got, total = list(w.a.ID, proj.ID, shelf.DocumentQuery{Filter: shelf.ItemFilter{Viewer: "key-2", AllScopes: true}, Limit: 100})
	if !slices.Equal(ids(got), docIDs[:6]) || total != 6 {
		t.Fatalf("every scope = %q (%d), want %q", ids(got), total, docIDs[:6])
	}
	got, total = list(w.a.ID, proj.ID, shelf.DocumentQuery{Offset: 4, Limit: 2})
	if !slices.Equal(ids(got), docIDs[4:5]) || total != len(files) {
		t.Fatalf("last page = %q (%d)", ids(got), total)
	}
	if got, total = list(w.b.ID, proj.ID, shelf.DocumentQuery{Limit: 10}); len(got) != 0 || total != 0 {
		t.Fatalf("documents from another workspace = %d (%d)", len(got), total)
	}

	var one *shelf.ProjectDocument
	view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		one, err = tx.ProjectDocument(ctx, w.a.ID, proj.ID, docs[1].ID)
		return err
	})
	if one.Item == nil || one.Item.ID != files[1].ID {
		t.Fatalf("ProjectDocument item = %+v", one.Item)
	}
	one.Item = nil
	same(t, "ProjectDocument", one, docs[1])
	for _, c := range []struct{ what, ws, project, id string }{
		{"other workspace", w.b.ID, proj.ID, docs[1].ID},
		{"other project", w.a.ID, other.ID, docs[1].ID},
		{"missing", w.a.ID, proj.ID, "doc-" + newID()},
	} {
		err := viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
			_, err := tx.ProjectDocument(ctx, c.ws, c.project, c.id)
			return err
		})
		wantCode(t, "ProjectDocument("+c.what+")", err, shelf.ENOTFOUND)
	}

	var of map[string]*shelf.ProjectDocument
	view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		of, err = tx.ProjectDocumentsOf(ctx, w.a.ID, proj.ID, []string{files[0].ID, files[3].ID, fileB.ID, newID()})
		return err
	})
	if len(of) != 2 || of[files[0].ID].ID != docs[0].ID || of[files[3].ID].ID != docs[3].ID {
		t.Fatalf("ProjectDocumentsOf = %+v", of)
	}
	view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		of, err = tx.ProjectDocumentsOf(ctx, w.b.ID, proj.ID, []string{files[0].ID})
		return err
	})
	if len(of) != 0 {
		t.Fatalf("ProjectDocumentsOf(other workspace) = %+v", of)
	}

	// By source: the project's own, of the workspace.
	view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		one, err = tx.ProjectDocumentBySource(ctx, w.a.ID, proj.ID, docs[2].SourceID)
		return err
	})
	if one.Item == nil || one.Item.ID != files[2].ID {
		t.Fatalf("ProjectDocumentBySource item = %+v", one.Item)
	}
	one.Item = nil
	same(t, "ProjectDocumentBySource", one, docs[2])
	for _, c := range []struct{ what, ws, project, source string }{
		{"other workspace", w.b.ID, proj.ID, docs[2].SourceID},
		{"other project", w.a.ID, other.ID, docs[2].SourceID},
		{"missing", w.a.ID, proj.ID, "src-" + newID()},
		{"empty", w.a.ID, proj.ID, ""},
	} {
		err := viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
			_, err := tx.ProjectDocumentBySource(ctx, c.ws, c.project, c.source)
			return err
		})
		wantCode(t, "ProjectDocumentBySource("+c.what+")", err, shelf.ENOTFOUND)
	}
	// A document may take another item and source (the core's upgrade
	// of documents made before copies); a source taken is a conflict.
	moved := *docs[4]
	moved.ItemID, moved.SourceID = spare.ID, "src-moved"
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateProjectDocument(ctx, &moved) })
	view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		one, err = tx.ProjectDocumentBySource(ctx, w.a.ID, proj.ID, "src-moved")
		return err
	})
	if one.ID != docs[4].ID || one.Item == nil || one.Item.ID != spare.ID {
		t.Fatalf("after UpdateProjectDocument: %+v", one)
	}
	clash := *docs[3]
	clash.SourceID = "src-moved"
	err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateProjectDocument(ctx, &clash) })
	wantCode(t, "UpdateProjectDocument(source taken)", err, shelf.ECONFLICT)
	foreign := moved
	foreign.WorkspaceID = w.b.ID
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateProjectDocument(ctx, &foreign) })
	wantCode(t, "UpdateProjectDocument(other workspace)", err, shelf.ENOTFOUND)
	foreign = moved
	foreign.ItemID = fileB.ID
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateProjectDocument(ctx, &foreign) })
	wantCode(t, "UpdateProjectDocument(item of another workspace)", err, shelf.ENOTFOUND)

	// The name filter (on the documents' files) and keyset pages.
	got, total = list(w.a.ID, proj.ID, shelf.DocumentQuery{NameContains: "F3", Limit: 10})
	if !slices.Equal(ids(got), docIDs[3:4]) || total != 1 {
		t.Fatalf("documents named like F3 = %q (%d)", ids(got), total)
	}
	got, total = list(w.a.ID, proj.ID, shelf.DocumentQuery{AfterTime: docs[1].CreatedAt, AfterID: docs[1].ID, Limit: 2})
	if !slices.Equal(ids(got), docIDs[2:4]) || total != len(files) {
		t.Fatalf("documents after the second = %q (%d), want %q", ids(got), total, docIDs[2:4])
	}

	// A document goes with its own file.
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, f := range files[1:3] {
			if _, err := tx.DeleteTree(ctx, w.a.ID, f.ID); err != nil {
				return err
			}
		}
		return nil
	})
	got, total = list(w.a.ID, proj.ID, shelf.DocumentQuery{Filter: shelf.ItemFilter{Viewer: "key-1", WithHidden: true}, Limit: 100})
	if want := append(docIDs[:1:1], docIDs[3:]...); !slices.Equal(ids(got), want) || total != len(want) {
		t.Fatalf("after removals = %q (%d), want %q", ids(got), total, want)
	}
	// And with its project; the files stay.
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteProject(ctx, w.a.ID, proj.ID) })
	if got, total = list(w.a.ID, proj.ID, shelf.DocumentQuery{Limit: 10}); len(got) != 0 || total != 0 {
		t.Fatalf("documents of a deleted project = %d (%d)", len(got), total)
	}
	getItem(t, s, w.a.ID, files[3].ID)
	if got, _ = list(w.a.ID, other.ID, shelf.DocumentQuery{Limit: 10}); len(got) != 1 {
		t.Fatalf("other project lost its document: %d", len(got))
	}
}

// testProjectGroups checks a project's group and custom id: unique in the
// group (not across groups, nor across workspaces), found by
// ProjectByCustomID, and the group filter of ListProjects.
func testProjectGroups(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	g1, g2 := newID(), newID()
	mk := func(ws *shelf.Workspace, name, group, custom string, d time.Duration) *shelf.Project {
		p := newProject(ws, name, d)
		p.GroupID, p.CustomID, p.LibraryID = group, custom, newID()
		p.Metadata = json.RawMessage(`{"team":"` + name + `"}`)
		return p
	}
	a := mk(w.a, "a", g1, "alpha", 0)
	b := mk(w.a, "b", g2, "alpha", time.Second) // the same custom id in another group
	c := mk(w.a, "c", g1, "", 2*time.Second)    // none
	d := mk(w.a, "d", g1, "", 3*time.Second)    // none either: not a clash
	e := mk(w.a, "e", "", "alpha", 4*time.Second)
	f := mk(w.b, "f", g1, "alpha", 0) // another workspace
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, p := range []*shelf.Project{a, b, c, d, e, f} {
			if err := tx.CreateProject(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
	err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		return tx.CreateProject(ctx, mk(w.a, "clash", g1, "alpha", time.Hour))
	})
	wantCode(t, "CreateProject(custom id taken in the group)", err, shelf.ECONFLICT)
	for _, c := range []struct {
		ws, group, custom string
		want              *shelf.Project
	}{
		{w.a.ID, g1, "alpha", a}, {w.a.ID, g2, "alpha", b}, {w.a.ID, "", "alpha", e}, {w.b.ID, g1, "alpha", f},
		{w.a.ID, g1, "beta", nil}, {w.a.ID, g2, "", nil}, {w.b.ID, g2, "alpha", nil},
	} {
		var got *shelf.Project
		err := viewErr(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
			got, err = tx.ProjectByCustomID(ctx, c.ws, c.group, c.custom)
			return err
		})
		if c.want == nil {
			wantCode(t, "ProjectByCustomID("+c.custom+")", err, shelf.ENOTFOUND)
			continue
		}
		if err != nil {
			t.Fatalf("ProjectByCustomID(%q): %v", c.custom, err)
		}
		same(t, "ProjectByCustomID", got, c.want)
	}
	var got []*shelf.Project
	var total int
	view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		got, total, err = tx.ListProjects(ctx, w.a.ID, shelf.ProjectQuery{GroupID: g1, Limit: 2})
		return err
	})
	if names := projectNames(got); !slices.Equal(names, []string{"a", "c"}) || total != 3 {
		t.Fatalf("ListProjects(group) = %q, %d", names, total)
	}
	view(t, s, func(ctx context.Context, tx shelf.Tx) (err error) {
		got, total, err = tx.ListProjects(ctx, w.a.ID, shelf.ProjectQuery{GroupID: g1, AfterTime: c.CreatedAt, AfterID: c.ID, Limit: 2})
		return err
	})
	if names := projectNames(got); !slices.Equal(names, []string{"d"}) || total != 3 {
		t.Fatalf("ListProjects(group, after c) = %q, %d", names, total)
	}
}
