package storetest

import (
	"context"
	"crypto/sha256"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shelfmem/shelf"
)

func testSettings(t *testing.T, s shelf.Store) {
	err := viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.Setting(ctx, "missing")
		return err
	})
	wantCode(t, "Setting(missing)", err, shelf.ENOTFOUND)

	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, kv := range [][2]string{{"a", "1"}, {"b", "zwei ü"}, {"empty", ""}, {"a", "3"}} {
			if err := tx.SetSetting(ctx, kv[0], kv[1]); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.SetSetting(ctx, "b", "drei") })

	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for name, want := range map[string]string{"a": "3", "b": "drei", "empty": ""} {
			got, err := tx.Setting(ctx, name)
			if err != nil {
				t.Fatalf("Setting(%q): %v", name, err)
			}
			if got != want {
				t.Errorf("Setting(%q) = %q, want %q", name, got, want)
			}
		}
		return nil
	})
}

func testWorkspaces(t *testing.T, s shelf.Store) {
	a := &shelf.Workspace{ID: newID(), Name: "Alpha", CreatedAt: at(time.Hour)}
	b := &shelf.Workspace{ID: newID(), Name: "Beta ü", CreatedAt: at(0)}
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		if err := tx.CreateWorkspace(ctx, a); err != nil {
			return err
		}
		return tx.CreateWorkspace(ctx, b)
	})

	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.Workspace(ctx, a.ID)
		if err != nil {
			t.Fatalf("Workspace: %v", err)
		}
		same(t, "Workspace", got, a)
		all, err := tx.Workspaces(ctx)
		if err != nil {
			t.Fatalf("Workspaces: %v", err)
		}
		// The contract gives Workspaces no order.
		slices.SortFunc(all, func(x, y *shelf.Workspace) int { return strings.Compare(x.ID, y.ID) })
		want := []*shelf.Workspace{a, b}
		slices.SortFunc(want, func(x, y *shelf.Workspace) int { return strings.Compare(x.ID, y.ID) })
		sameList(t, "Workspaces", all, want)
		return nil
	})

	err := viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.Workspace(ctx, newID())
		return err
	})
	wantCode(t, "Workspace(missing)", err, shelf.ENOTFOUND)

	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		return tx.CreateWorkspace(ctx, &shelf.Workspace{ID: a.ID, Name: "again", CreatedAt: at(0)})
	})
	wantCode(t, "CreateWorkspace(duplicate id)", err, shelf.ECONFLICT)
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.Workspace(ctx, a.ID)
		if err != nil {
			t.Fatalf("Workspace: %v", err)
		}
		same(t, "Workspace after duplicate", got, a)
		return nil
	})
}

func newKey(ws *shelf.Workspace, name string, created time.Time, scopes ...shelf.Scope) *shelf.Key {
	h := sha256.Sum256([]byte(name))
	return &shelf.Key{ID: newID(), WorkspaceID: ws.ID, Name: name, Scopes: scopes, Hash: h[:], CreatedAt: created}
}

func testKeys(t *testing.T, s shelf.Store) {
	w := newWorld(t, s)
	k1 := newKey(w.a, "first", at(time.Second), shelf.ScopeRead)
	k2 := newKey(w.a, "second", at(2*time.Second), shelf.ScopeRead, shelf.ScopeWrite)
	k3 := newKey(w.a, "third", at(3*time.Second), shelf.ScopeAdmin)
	kb := newKey(w.b, "other", at(0), shelf.ScopeWrite)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, k := range []*shelf.Key{k3, k1, kb, k2} { // not in time order
			if err := tx.CreateKey(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})

	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, k := range []*shelf.Key{k1, k2, kb} {
			got, err := tx.Key(ctx, k.ID) // any workspace
			if err != nil {
				t.Fatalf("Key(%s): %v", k.Name, err)
			}
			same(t, "Key", got, k)
		}
		got, err := tx.Keys(ctx, w.a.ID)
		if err != nil {
			t.Fatalf("Keys: %v", err)
		}
		sameList(t, "Keys(A), oldest first", got, []*shelf.Key{k1, k2, k3})
		got, err = tx.Keys(ctx, w.b.ID)
		if err != nil {
			t.Fatalf("Keys: %v", err)
		}
		sameList(t, "Keys(B)", got, []*shelf.Key{kb})
		got, err = tx.Keys(ctx, newID())
		if err != nil || len(got) != 0 {
			t.Fatalf("Keys(unknown workspace) = %d keys, %v; want none", len(got), err)
		}
		return nil
	})

	err := updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteKey(ctx, w.b.ID, k1.ID) })
	wantCode(t, "DeleteKey(other workspace)", err, shelf.ENOTFOUND)
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		return tx.CreateKey(ctx, newKeyWithID(k2.ID, w.a))
	})
	wantCode(t, "CreateKey(duplicate id)", err, shelf.ECONFLICT)

	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteKey(ctx, w.a.ID, k1.ID) })
	err = viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.Key(ctx, k1.ID)
		return err
	})
	wantCode(t, "Key(deleted)", err, shelf.ENOTFOUND)
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.DeleteKey(ctx, w.a.ID, k1.ID) })
	wantCode(t, "DeleteKey(deleted)", err, shelf.ENOTFOUND)

	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.Keys(ctx, w.a.ID)
		if err != nil {
			t.Fatalf("Keys: %v", err)
		}
		sameList(t, "Keys(A) after delete", got, []*shelf.Key{k2, k3})
		return nil
	})
}

func newKeyWithID(id string, ws *shelf.Workspace) *shelf.Key {
	k := newKey(ws, "dup", at(0), shelf.ScopeRead)
	k.ID = id
	return k
}

func testLibraries(t *testing.T, s shelf.Store) {
	w := newWorld(t, s) // libA and libB share the slug "docs"
	other, _ := newLibrary(w.a, "notes")
	other.Embedded, other.Shared, other.Kind = true, true, shelf.KindSource
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateLibrary(ctx, other) })

	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		for _, l := range []*shelf.Library{w.libA, w.libB, other} {
			got, err := tx.Library(ctx, l.WorkspaceID, l.ID)
			if err != nil {
				t.Fatalf("Library(%s): %v", l.Slug, err)
			}
			same(t, "Library", got, l)
			got, err = tx.LibraryBySlug(ctx, l.WorkspaceID, l.Slug)
			if err != nil {
				t.Fatalf("LibraryBySlug(%s): %v", l.Slug, err)
			}
			same(t, "LibraryBySlug", got, l)
		}
		return nil
	})

	err := viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.Library(ctx, w.b.ID, w.libA.ID)
		return err
	})
	wantCode(t, "Library(other workspace)", err, shelf.ENOTFOUND)
	err = viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.LibraryBySlug(ctx, w.b.ID, "notes")
		return err
	})
	wantCode(t, "LibraryBySlug(other workspace)", err, shelf.ENOTFOUND)

	dup, _ := newLibrary(w.a, "docs")
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.CreateLibrary(ctx, dup) })
	wantCode(t, "CreateLibrary(slug taken)", err, shelf.ECONFLICT)

	// Update every mutable field.
	changed := *other
	changed.Slug, changed.Name, changed.Kind = "notes-2", "Notes ü", shelf.KindSpace
	changed.Embedded, changed.Shared, changed.RootID = false, false, newID()
	changed.UpdatedAt = at(time.Hour)
	update(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateLibrary(ctx, &changed) })
	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.LibraryBySlug(ctx, w.a.ID, "notes-2")
		if err != nil {
			t.Fatalf("LibraryBySlug(new slug): %v", err)
		}
		same(t, "Library after update", got, &changed)
		return nil
	})
	err = viewErr(t, s, func(ctx context.Context, tx shelf.Tx) error {
		_, err := tx.LibraryBySlug(ctx, w.a.ID, "notes")
		return err
	})
	wantCode(t, "LibraryBySlug(old slug)", err, shelf.ENOTFOUND)

	taken := changed
	taken.Slug = "docs"
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateLibrary(ctx, &taken) })
	wantCode(t, "UpdateLibrary(slug taken)", err, shelf.ECONFLICT)

	foreign := *w.libA
	foreign.WorkspaceID, foreign.Name = w.b.ID, "stolen"
	err = updateErr(t, s, func(ctx context.Context, tx shelf.Tx) error { return tx.UpdateLibrary(ctx, &foreign) })
	wantCode(t, "UpdateLibrary(other workspace)", err, shelf.ENOTFOUND)

	view(t, s, func(ctx context.Context, tx shelf.Tx) error {
		got, err := tx.Library(ctx, w.a.ID, other.ID)
		if err != nil {
			t.Fatalf("Library: %v", err)
		}
		same(t, "Library after failed updates", got, &changed)
		got, err = tx.Library(ctx, w.a.ID, w.libA.ID)
		if err != nil {
			t.Fatalf("Library: %v", err)
		}
		same(t, "Library A after foreign update", got, w.libA)
		return nil
	})
}
