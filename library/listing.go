package library

import (
	"context"
	"strings"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/internal/bounded"
)

// FolderList selects items of a library by position: a folder's children
// (FolderID, else the folder at Dir, else the root), or with Recursive
// every item of the library.
type FolderList struct {
	LibraryID    string
	FolderID     string
	Dir          string // a folder's path, "/docs" or "docs"
	Recursive    bool
	NameContains string
	Type         shelf.ItemType
	Sort         string // a shelf.ListBy* key
	Desc         bool
	Offset       int
	Limit        int // 1..MaxListPage
	Count        bool
}

// MaxListPage bounds a page of ListFolder.
const MaxListPage = 1000

// ListFolder returns a page of the items q selects, and, when q.Count is
// set, how many it selects in all.
func (s *Service) ListFolder(ctx context.Context, q FolderList) ([]*shelf.Item, int, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, 0, err
	}
	if q.Offset < 0 || q.Limit < 1 || q.Limit > MaxListPage {
		return nil, 0, shelf.Errorf(shelf.EINVALID, "the offset must be 0 or more and the page 1 to %d items", MaxListPage)
	}
	if len(q.NameContains) > MaxNameBytes {
		return nil, 0, shelf.Errorf(shelf.EINVALID, "the name filter is longer than %d bytes", MaxNameBytes)
	}
	var items []*shelf.Item
	total := -1
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		lib, err := libraryTx(ctx, tx, p, q.LibraryID)
		if err != nil {
			return err
		}
		lq := shelf.ListQuery{LibraryID: lib.ID, Recursive: q.Recursive, NameContains: q.NameContains, Type: q.Type,
			Sort: q.Sort, Desc: q.Desc, Offset: q.Offset, Limit: q.Limit, Filter: shelf.ItemFilter{Viewer: p.Owner()}}
		if !q.Recursive {
			folder, err := s.folderOfTx(ctx, tx, p, lib, q.FolderID, q.Dir)
			if err != nil {
				return err
			}
			lq.ParentID = folder.ID
		}
		key, keyed := listCursorKey(p, lq)
		if keyed && lq.Offset > 0 {
			if after, ok := s.cursors.Get(key); ok {
				lq.After, lq.Offset = after, 0
			}
		}
		if items, err = tx.ListItems(ctx, p.WorkspaceID, lq); err != nil {
			return err
		}
		if keyed && len(items) == q.Limit {
			last := items[len(items)-1].Name
			if q.Recursive {
				last = items[len(items)-1].Path
			}
			key.offset = q.Offset + len(items)
			s.cursors.Put(key, last)
		}
		if q.Count {
			total, err = tx.CountItems(ctx, p.WorkspaceID, lq)
		}
		return err
	})
	return items, total, err
}

// A list read page by page in order asks for offset 0, n, 2n, …; counting
// each offset again from the start costs more the deeper the page. So the
// end of each full page of a list sorted by its unique key (name, or path
// when recursive) is remembered, and a page asked for at that offset
// continues after that key instead. Should the list change between two
// pages, the next page follows the key, as a cursor would: nothing is
// skipped or repeated, which counting would do.
type listCursors = bounded.Map[cursorKey, string]

// maxCursors bounds the remembered page ends.
const maxCursors = 4096

type cursorKey struct {
	ws, viewer, lib, parent string
	recursive, desc         bool
	name                    string
	typ                     shelf.ItemType
	offset                  int
}

// listCursorKey is lq's key, and whether its order allows continuing by
// key.
func listCursorKey(p *shelf.Principal, lq shelf.ListQuery) (cursorKey, bool) {
	switch {
	case lq.Sort == "", lq.Sort == shelf.ListByName && !lq.Recursive, lq.Sort == shelf.ListByPath && lq.Recursive:
	default:
		return cursorKey{}, false
	}
	return cursorKey{ws: p.WorkspaceID, viewer: p.Owner(), lib: lq.LibraryID, parent: lq.ParentID, recursive: lq.Recursive,
		desc: lq.Desc, name: lq.NameContains, typ: lq.Type, offset: lq.Offset}, true
}

// folderOfTx returns the folder of lib an id or a path names, or its root.
func (s *Service) folderOfTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, lib *shelf.Library, id, dir string) (*shelf.Item, error) {
	if id != "" {
		f, err := getFolder(ctx, tx, p, id)
		if err == nil && f.LibraryID != lib.ID {
			return nil, shelf.Errorf(shelf.ENOTFOUND, "folder %q not found", id)
		}
		return f, err
	}
	dir = strings.Trim(dir, "/")
	if dir == "" {
		return getFolder(ctx, tx, p, lib.RootID)
	}
	clean, err := CleanPath(dir)
	if err != nil {
		return nil, err
	}
	f, err := tx.ItemByPath(ctx, p.WorkspaceID, lib.ID, NameKey(clean))
	if shelf.ErrorCode(err) == shelf.ENOTFOUND || (err == nil && (f.Type != shelf.TypeFolder || !f.VisibleTo(p))) {
		return nil, shelf.Errorf(shelf.ENOTFOUND, "folder %q not found", "/"+clean)
	}
	return f, err
}
