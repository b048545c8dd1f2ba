package library_test

import (
	"encoding/json"
	"slices"
	"testing"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/library"
)

func (e *env) group(t *testing.T, name, customID string) *shelf.Library {
	t.Helper()
	g, err := e.svc.CreateProjectGroup(e.ctx, library.GroupSpec{Name: name, CustomID: customID})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func (e *env) groupProject(t *testing.T, groupID, name, customID string) *shelf.Project {
	t.Helper()
	p, err := e.svc.CreateProject(e.ctx, library.ProjectSpec{Name: name, GroupID: groupID, CustomID: customID})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func projectIDs(ps []*shelf.Project) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

// TestGroupProject checks that a project is found in its group by id or
// by custom id, and never through another group, the group of another
// workspace, or no group.
func TestGroupProject(t *testing.T) {
	e := newEnv(t, library.Config{})
	g1, g2 := e.group(t, "one", "g-one"), e.group(t, "two", "g-two")
	a := e.groupProject(t, g1.ID, "a", "same")
	b := e.groupProject(t, g2.ID, "b", "same") // custom ids are unique per group only
	loose := e.project(t, "loose")

	for _, c := range []struct {
		group, ref string
		byCustom   bool
		want       string
	}{
		{g1.ID, a.ID, false, a.ID},
		{g1.ID, "same", true, a.ID},
		{g2.ID, "same", true, b.ID},
		{g2.ID, b.ID, false, b.ID},
	} {
		got, err := e.svc.GroupProject(e.ctx, c.group, c.ref, c.byCustom)
		if err != nil || got.ID != c.want {
			t.Fatalf("GroupProject(%s, %s, %v) = %v, %v; want %s", c.group, c.ref, c.byCustom, got, err, c.want)
		}
	}
	for _, c := range []struct {
		group, ref string
		byCustom   bool
	}{
		{g1.ID, b.ID, false},     // another group's
		{g2.ID, a.ID, false},     // another group's
		{g1.ID, loose.ID, false}, // of no group
		{g1.ID, a.ID, true},      // an id is not a custom id
		{g1.ID, "nothing", true},
		{loose.LibraryID, a.ID, false}, // not a group
		{"no-such-group", a.ID, false},
	} {
		_, err := e.svc.GroupProject(e.ctx, c.group, c.ref, c.byCustom)
		wantCode(t, err, shelf.ENOTFOUND)
	}
	// Another workspace sees neither the group nor the project.
	other := e.otherWorkspace(t)
	_, err := e.svc.GroupProject(other, g1.ID, a.ID, false)
	wantCode(t, err, shelf.ENOTFOUND)
	_, err = e.svc.GetProjectGroup(other, "g-one", true)
	wantCode(t, err, shelf.ENOTFOUND)
	if _, err := e.svc.CreateProjectGroup(other, library.GroupSpec{Name: "theirs", CustomID: "g-one"}); err != nil {
		t.Fatalf("a custom id is unique per workspace only: %v", err)
	}
	_, err = e.svc.CreateProjectGroup(e.ctx, library.GroupSpec{Name: "again", CustomID: "g-one"})
	wantCode(t, err, shelf.ECONFLICT)

	got, err := e.svc.ProjectsOfGroup(e.ctx, g1.ID)
	if err != nil || !slices.Equal(projectIDs(got), []string{a.ID}) {
		t.Fatalf("ProjectsOfGroup = %v, %v", projectIDs(got), err)
	}
}

// TestSearchGroup checks that a group search covers the group's projects,
// refuses naming one outside it, and checks its inputs even when the
// group has nothing to search.
func TestSearchGroup(t *testing.T) {
	e := newEnv(t, library.Config{})
	g, empty := e.group(t, "g", "g"), e.group(t, "empty", "empty")
	p1 := e.groupProject(t, g.ID, "p1", "p1")
	p2 := e.groupProject(t, g.ID, "p2", "p2")
	outside := e.project(t, "outside")
	f1 := e.writeText(t, "one.txt", "The heron stands in the reeds.")
	f2 := e.writeText(t, "two.txt", "A heron flies over the lake.")
	f3 := e.writeText(t, "three.txt", "No heron here, says the outside file.")
	e.add(t, p1.ID, f1.ID)
	e.add(t, p2.ID, f2.ID)
	e.add(t, outside.ID, f3.ID)
	if _, err := e.svc.AddMemories(e.ctx, p1.ID, library.MemoryInput{UserID: "ann", Metadata: json.RawMessage(`{"k":"v"}`),
		Messages: []library.Message{{Role: "user", Content: "I saw a heron today"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddMemories(e.ctx, outside.ID, library.MemoryInput{UserID: "ann",
		Messages: []library.Message{{Role: "user", Content: "a heron outside"}}}); err != nil {
		t.Fatal(err)
	}
	e.drain(t)

	search := func(q library.GroupSearch) *library.GroupFound {
		t.Helper()
		found, err := e.svc.SearchGroup(e.ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return found
	}
	docNames := func(f *library.GroupFound) []string {
		var out []string
		for _, h := range f.Documents {
			out = append(out, h.Item.Name)
		}
		slices.Sort(out)
		return out
	}
	all := search(library.GroupSearch{GroupID: g.ID, Query: "heron", DocumentTopN: 10, MemoryTopK: 10})
	if got := docNames(all); !slices.Equal(got, []string{"one.txt", "two.txt"}) {
		t.Fatalf("documents of every project = %q", got)
	}
	if len(all.Memories) != 1 || all.Memories[0].Memory.Content != "I saw a heron today" || all.Memories[0].Memory.ProjectID != p1.ID {
		t.Fatalf("memories = %+v", all.Memories)
	}
	one := search(library.GroupSearch{GroupID: g.ID, ProjectIDs: []string{p2.ID, p2.ID}, Query: "heron", DocumentTopN: 10, MemoryTopK: 10})
	if got := docNames(one); !slices.Equal(got, []string{"two.txt"}) || len(one.Memories) != 0 {
		t.Fatalf("p2 only = %q, %d memories", got, len(one.Memories))
	}
	docsOnly := search(library.GroupSearch{GroupID: g.ID, Query: "heron", DocumentTopN: 10})
	if len(docsOnly.Documents) != 2 || docsOnly.Memories == nil || len(docsOnly.Memories) != 0 {
		t.Fatalf("documents only = %+v", docsOnly)
	}
	memOnly := search(library.GroupSearch{GroupID: g.ID, Query: "heron", MemoryTopK: 10, UserIDs: []string{"bob"}})
	if len(memOnly.Memories) != 0 || memOnly.Documents == nil || len(memOnly.Documents) != 0 {
		t.Fatalf("bob's memories only = %+v", memOnly)
	}
	if f := search(library.GroupSearch{GroupID: empty.ID, Query: "heron", DocumentTopN: 10, MemoryTopK: 10}); len(f.Documents)+len(f.Memories) != 0 {
		t.Fatalf("an empty group found %+v", f)
	}

	for _, bad := range []library.GroupSearch{
		{GroupID: g.ID, Query: "heron"}, // nothing asked for
		{GroupID: g.ID, Query: "", DocumentTopN: 10},
		{GroupID: empty.ID, Query: " ", DocumentTopN: 10},
		{GroupID: empty.ID, Query: "heron", DocumentTopN: 101},
		{GroupID: empty.ID, Query: "heron", MemoryTopK: -1},
		{GroupID: empty.ID, Query: "heron", MemoryTopK: 10, Threshold: 2},
		{GroupID: empty.ID, Query: "heron", MemoryTopK: 10, UserIDs: []string{"bad\x00user"}},
	} {
		_, err := e.svc.SearchGroup(e.ctx, bad)
		wantCode(t, err, shelf.EINVALID)
	}
	for _, bad := range []library.GroupSearch{
		{GroupID: g.ID, ProjectIDs: []string{p1.ID, outside.ID}, Query: "heron", DocumentTopN: 10},
		{GroupID: empty.ID, ProjectIDs: []string{p1.ID}, Query: "heron", MemoryTopK: 10},
		{GroupID: "no-such-group", Query: "heron", DocumentTopN: 10},
		{GroupID: g.ID, Query: "heron", MemoryTopK: 10, AgentIDs: []string{"bot"}}, // Shelf keeps no agents
	} {
		_, err := e.svc.SearchGroup(e.ctx, bad)
		wantCode(t, err, shelf.ENOTFOUND)
	}
	_, err := e.svc.SearchGroup(e.otherWorkspace(t), library.GroupSearch{GroupID: g.ID, Query: "heron", DocumentTopN: 10})
	wantCode(t, err, shelf.ENOTFOUND)
}

// TestDeleteProjectGroup checks that deleting a group deletes its
// projects, their documents and memories, and nothing else: the Library
// files they came from and the projects of other groups stay.
func TestDeleteProjectGroup(t *testing.T) {
	e := newEnv(t, library.Config{})
	g, keep := e.group(t, "g", "g"), e.group(t, "keep", "keep")
	p := e.groupProject(t, g.ID, "p", "p")
	kept := e.groupProject(t, keep.ID, "kept", "kept")
	f := e.writeText(t, "notes.txt", "An ibis wades.")
	e.add(t, p.ID, f.ID)
	e.add(t, kept.ID, f.ID)
	if _, err := e.svc.AddMemories(e.ctx, p.ID, library.MemoryInput{Messages: []library.Message{{Role: "user", Content: "an ibis"}}}); err != nil {
		t.Fatal(err)
	}
	e.drain(t)
	if err := e.svc.DeleteProjectGroup(e.ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.GetProjectGroup(e.ctx, "g", true)
	wantCode(t, err, shelf.ENOTFOUND)
	_, err = e.svc.GetProject(e.ctx, p.ID)
	wantCode(t, err, shelf.ENOTFOUND)
	if got := e.read(t, e.ctx, f.ID); string(got) != "An ibis wades." {
		t.Fatalf("the library file reads %q", got)
	}
	if hits := e.docHits(t, kept.ID, "ibis"); len(hits) != 1 {
		t.Fatalf("the other group's project finds %q", hits)
	}
	err = e.svc.DeleteProjectGroup(e.ctx, g.ID)
	wantCode(t, err, shelf.ENOTFOUND)
	e.fsckClean(t)
}
