package library_test

import (
	"fmt"
	"slices"
	"testing"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/library"
)

// Paging a folder in order continues from the last page's key: the pages
// are the offsets' pages, and a file made before the cursor between two
// pages neither repeats nor skips a row.
func TestListFolderPages(t *testing.T) {
	e := newEnv(t, library.Config{})
	for i := range 250 {
		e.write(t, e.ctx, fileWrite(fmt.Sprintf("big/f%03d.txt", i*2), "x"))
	}
	page := func(offset, limit int, desc bool) []string {
		t.Helper()
		items, total, err := e.svc.ListFolder(e.ctx, library.FolderList{Dir: "/big", Offset: offset, Limit: limit, Desc: desc, Count: true})
		if err != nil || total < 250 {
			t.Fatalf("ListFolder(%d): %v, total %d", offset, err, total)
		}
		var out []string
		for _, it := range items {
			out = append(out, it.Name)
		}
		return out
	}
	var all []string
	for off := 0; off < 250; off += 100 {
		all = append(all, page(off, 100, false)...)
	}
	if len(all) != 250 || all[0] != "f000.txt" || all[249] != "f498.txt" || !slices.IsSorted(all) {
		t.Fatalf("pages in order: %d names, %v … %v", len(all), all[0], all[len(all)-1])
	}
	// Random access still counts.
	if got := page(137, 2, false); !slices.Equal(got, []string{"f274.txt", "f276.txt"}) {
		t.Fatalf("page at 137 = %v", got)
	}
	// A new first file between pages: the next page follows the key.
	first := page(0, 100, false)
	e.write(t, e.ctx, fileWrite("big/a-first.txt", "x"))
	second := page(100, 100, false)
	if first[99] != "f198.txt" || second[0] != "f200.txt" {
		t.Fatalf("after an insert between pages: %v then %v", first[99], second[0])
	}
	// Descending, and a name filter, page the same way.
	desc := append(page(0, 100, true), page(100, 100, true)...)
	if desc[0] != "f498.txt" || desc[199] != "f100.txt" {
		t.Fatalf("descending pages: %v … %v", desc[0], desc[199])
	}
	items, _, err := e.svc.ListFolder(e.ctx, library.FolderList{Dir: "/big", NameContains: "F1", Limit: 10, Offset: 10})
	if err != nil || len(items) != 10 || items[0].Name != "f120.txt" {
		t.Fatalf("filtered page: %v, %v", items, err)
	}
	_, _, err = e.svc.ListFolder(e.ctx, library.FolderList{Dir: "/big", Limit: 0})
	wantCode(t, err, shelf.EINVALID)
	_, _, err = e.svc.ListFolder(e.ctx, library.FolderList{Dir: "/nope", Limit: 1})
	wantCode(t, err, shelf.ENOTFOUND)
}

// EditFile writes the edit as a new version, nothing for the same bytes,
// and refuses (ECONFLICT) when the file got another version meanwhile.
func TestEditFile(t *testing.T) {
	e := newEnv(t, library.Config{})
	it := e.write(t, e.ctx, fileWrite("notes.txt", "hello world")).Item
	up, err := e.svc.EditFile(e.ctx, it.ID, 1<<20, func(old []byte) ([]byte, error) {
		return append(old, '!'), nil
	})
	if err != nil || up.Version.Number != 2 || string(e.read(t, e.ctx, it.ID)) != "hello world!" {
		t.Fatalf("EditFile = %+v, %v", up, err)
	}
	wantState(t, e.item(t, it.ID), shelf.IndexQueued)
	up, err = e.svc.EditFile(e.ctx, it.ID, 1<<20, func(old []byte) ([]byte, error) { return old, nil })
	if err != nil || up.Status != library.StatusUnchanged || up.Version.Number != 2 {
		t.Fatalf("EditFile with the same bytes = %+v, %v", up, err)
	}
	_, err = e.svc.EditFile(e.ctx, it.ID, 1<<20, func(old []byte) ([]byte, error) {
		e.write(t, e.ctx, fileWrite("notes.txt", "written meanwhile"))
		return []byte("edited"), nil
	})
	wantCode(t, err, shelf.ECONFLICT)
	if got := string(e.read(t, e.ctx, it.ID)); got != "written meanwhile" {
		t.Fatalf("after a refused edit: %q", got)
	}
	_, err = e.svc.EditFile(e.ctx, it.ID, 4, func(old []byte) ([]byte, error) { return old, nil })
	wantCode(t, err, shelf.ETOOLARGE)
}
