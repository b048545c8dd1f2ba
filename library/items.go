package library

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	shelf "github.com/shelfmem/shelf"
)

// Item statuses for FindItems.
const (
	StatusActive = "active"
	StatusHidden = "hidden"
	StatusAll    = "all"
)

// Selector picks ingested items (files of source libraries). Set fields
// are ANDed.
type Selector struct {
	SourceName    string
	SourceType    string
	IDs           []string
	ExternalIDs   []string
	CreatedAfter  time.Time // inclusive
	CreatedBefore time.Time // exclusive
	Status        string    // StatusActive, StatusHidden or StatusAll ("" is all)
	Limit         int
}

// Empty reports whether the selector names nothing to narrow by.
func (q *Selector) Empty() bool {
	return q.SourceName == "" && q.SourceType == "" && len(q.IDs) == 0 && len(q.ExternalIDs) == 0 &&
		q.CreatedAfter.IsZero() && q.CreatedBefore.IsZero()
}

// Found is an item with its source and, from FindItems, its head version.
type Found struct {
	Item    *shelf.Item
	Source  *shelf.Library
	Version *shelf.Version
}

// HardDeletes reports whether RemoveItems deletes the items of src for
// good (an "api" source) rather than hiding them (a connector's source).
func HardDeletes(src *shelf.Library) bool { return src.SourceType == SourceAPI }

// maxSelectorIDs caps the ids and external ids one selector names.
const maxSelectorIDs = 1000

// FindItems lists the files of source libraries that q selects, oldest
// first, with their sources.
func (s *Service) FindItems(ctx context.Context, q Selector) ([]Found, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	var out []Found
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		if out, err = s.findTx(ctx, tx, p, q); err != nil {
			return err
		}
		for i := range out {
			if out[i].Version, err = tx.Version(ctx, p.WorkspaceID, out[i].Item.ID, out[i].Item.Head); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

func (s *Service) findTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, q Selector) ([]Found, error) {
	if q.Limit < 1 {
		return nil, shelf.Errorf(shelf.EINVALID, "limit must be positive")
	}
	if len(q.IDs) > maxSelectorIDs || len(q.ExternalIDs) > maxSelectorIDs {
		return nil, shelf.Errorf(shelf.EINVALID, "name at most %d ids and %d external ids at once", maxSelectorIDs, maxSelectorIDs)
	}
	for _, id := range q.ExternalIDs {
		// No client id holds one, and an attachment's key, which does,
		// is no one's to name: attachments are selected by id.
		if strings.ContainsFunc(id, isControl) {
			return nil, shelf.Errorf(shelf.EINVALID, "an external id holds no control characters")
		}
	}
	if !q.CreatedAfter.IsZero() && !q.CreatedBefore.IsZero() && !q.CreatedAfter.Before(q.CreatedBefore) {
		return nil, shelf.Errorf(shelf.EINVALID, "created_after must be before created_before")
	}
	libs, err := tx.Libraries(ctx, p.WorkspaceID, shelf.KindSource)
	if err != nil {
		return nil, err
	}
	byID := map[string]*shelf.Library{}
	ids := []string{}
	for _, l := range libs {
		if (q.SourceName == "" || l.Name == q.SourceName) && (q.SourceType == "" || l.SourceType == q.SourceType) {
			byID[l.ID] = l
			ids = append(ids, l.ID)
		}
	}
	iq := shelf.ItemQuery{LibraryIDs: ids, IDs: q.IDs, ExternalIDs: q.ExternalIDs, Type: shelf.TypeFile,
		CreatedAfter: q.CreatedAfter, CreatedBefore: q.CreatedBefore, Viewer: p.Owner(), Limit: q.Limit}
	switch q.Status {
	case "", StatusAll:
	case StatusActive, StatusHidden:
		h := q.Status == StatusHidden
		iq.Hidden = &h
	default:
		return nil, shelf.Errorf(shelf.EINVALID, "status must be active, hidden or all, not %q", q.Status)
	}
	items, err := tx.QueryItems(ctx, p.WorkspaceID, iq)
	if err != nil {
		return nil, err
	}
	out := make([]Found, len(items))
	for i, it := range items {
		out[i] = Found{Item: it, Source: byID[it.LibraryID]}
	}
	return out, nil
}

// Removed is what RemoveItems did: every item it deleted or hid, each
// once, and how many that is.
type Removed struct {
	Matched     int
	HardDeleted []Found
	Hidden      []Found
}

// RemoveItems deletes the ingested items q selects: items of an "api"
// source for good (their bytes go to garbage collection), items of a
// connector's source are hidden and kept. A document's attachments go
// with it, found by their relation to it (not by folder), and are
// reported like the items q selected; each item is reported once. A
// folder of attachments that is left empty is deleted; items a client put
// in it keep it. A selector that names nothing is refused, so a request
// can never remove everything by omission; one that, attachments
// included, names more than Config.MaxRemove items is ETOOLARGE.
//
// What to remove is found, and the cap checked, in a read transaction
// before anything changes (an error there changes nothing); the items are
// then removed in batches, each its own transaction (Config.BulkRows,
// BulkTime), giving the writer way between them. A request cut short
// leaves the batches before it removed; sending it again removes the
// rest. An item gone meanwhile is not reported.
func (s *Service) RemoveItems(ctx context.Context, q Selector) (*Removed, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	if q.Empty() {
		return nil, shelf.Errorf(shelf.EINVALID, "name at least one selector: ids, external_ids, source_name, type, created_after or created_before")
	}
	limit := s.cfg.MaxRemove
	q.Limit, q.Status = limit+1, StatusAll
	var todo []Found
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		found, err := s.findTx(ctx, tx, p, q)
		if err != nil {
			return err
		}
		if len(found) > limit {
			return shelf.Errorf(shelf.ETOOLARGE, "the selectors match more than %d items; narrow them", limit)
		}
		// Everything to remove, each item once: what q selects, and the
		// attachments of the documents among it. The cap counts them all
		// before anything is touched.
		todo = make([]Found, 0, len(found))
		seen := make(map[string]bool, len(found))
		add := func(f Found) error {
			if seen[f.Item.ID] {
				return nil
			}
			if len(todo) == limit {
				return shelf.Errorf(shelf.ETOOLARGE, "the selectors match more than %d items with their attachments; narrow them", limit)
			}
			seen[f.Item.ID] = true
			todo = append(todo, f)
			return nil
		}
		for _, f := range found {
			if err := add(f); err != nil {
				return err
			}
			if f.Item.AttachmentOf() != "" {
				continue
			}
			atts, err := tx.QueryItems(ctx, p.WorkspaceID, shelf.ItemQuery{LibraryIDs: []string{f.Item.LibraryID},
				ExternalIDPrefix: shelf.AttachmentPrefix(f.Item.ID), Type: shelf.TypeFile, Viewer: p.Owner(), Limit: limit + 1})
			if err != nil {
				return err
			}
			for _, a := range atts {
				if err := add(Found{Item: a, Source: f.Source}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &Removed{HardDeleted: []Found{}, Hidden: []Found{}}
	var folders []string // of deleted attachments, to drop when empty
	inList := map[string]bool{}
	last := time.Duration(-1)
	for len(todo) > 0 {
		if last >= 0 {
			pace(ctx, last)
		}
		var did int
		var r *remover
		start := time.Now()
		err := s.store.Update(ctx, func(tx shelf.Tx) error {
			did = 0
			r = &remover{s: s, tx: tx, p: p, inList: maps.Clone(inList), folders: slices.Clone(folders),
				out: &Removed{HardDeleted: []Found{}, Hidden: []Found{}}}
			b := s.newBudget()
			for did < len(todo) && b.take() > 0 {
				f := todo[did]
				did++
				b.spend(1)
				cur, err := tx.Item(ctx, p.WorkspaceID, f.Item.ID)
				switch {
				case err == nil:
					f.Item = cur
				case shelf.ErrorCode(err) == shelf.ENOTFOUND && HardDeletes(f.Source):
					// Gone already: it is reported as deleted, as it is.
				case shelf.ErrorCode(err) == shelf.ENOTFOUND:
					continue
				default:
					return err
				}
				if err := r.remove(ctx, f); err != nil {
					return err
				}
			}
			return nil
		})
		last = time.Since(start)
		if err != nil {
			return nil, err
		}
		todo = todo[did:]
		out.HardDeleted = append(out.HardDeleted, r.out.HardDeleted...)
		out.Hidden = append(out.Hidden, r.out.Hidden...)
		folders, inList = r.folders, r.inList
	}
	for chunk := range slices.Chunk(folders, treePage) {
		err := s.store.Update(ctx, func(tx shelf.Tx) error {
			r := &remover{s: s, tx: tx, p: p, folders: chunk}
			return r.dropEmptyFolders(ctx)
		})
		if err != nil {
			return nil, err
		}
	}
	out.Matched = len(out.HardDeleted) + len(out.Hidden)
	return out, nil
}

// remover is one RemoveItems batch's progress.
type remover struct {
	s       *Service
	tx      shelf.Tx
	p       *shelf.Principal
	folders []string        // folders of deleted attachments, to drop when empty
	inList  map[string]bool // the ids in folders
	out     *Removed
}

// remove deletes or hides f.Item.
func (r *remover) remove(ctx context.Context, f Found) error {
	if !HardDeletes(f.Source) {
		r.out.Hidden = append(r.out.Hidden, f)
		return r.s.hideTx(ctx, r.tx, f.Item)
	}
	if err := r.deleteAttachment(ctx, f.Item); err != nil {
		return err
	}
	r.out.HardDeleted = append(r.out.HardDeleted, f)
	return nil
}

// deleteAttachment deletes it (a document or an attachment, which may be
// gone already with its folder) and, for an attachment, remembers its
// folder for dropEmptyFolders.
func (r *remover) deleteAttachment(ctx context.Context, it *shelf.Item) error {
	if _, err := r.tx.DeleteTree(ctx, r.p.WorkspaceID, it.ID); err != nil && shelf.ErrorCode(err) != shelf.ENOTFOUND {
		return err
	}
	if it.AttachmentOf() != "" && !r.inList[it.ParentID] {
		r.folders, r.inList[it.ParentID] = append(r.folders, it.ParentID), true
	}
	return nil
}

// dropEmptyFolders deletes the attachments folders (<document
// path>.attachments) that deleted attachments left empty; anything in
// one, of any principal, hidden or not, keeps it.
func (r *remover) dropEmptyFolders(ctx context.Context) error {
	ws := r.p.WorkspaceID
	for _, id := range r.folders {
		folder, err := r.tx.Item(ctx, ws, id)
		if shelf.ErrorCode(err) == shelf.ENOTFOUND {
			continue
		} else if err != nil {
			return err
		}
		if folder.IsRoot() || folder.Type != shelf.TypeFolder || !strings.HasSuffix(folder.Name, attachmentsSuffix) {
			continue // an attachment moved elsewhere leaves its folder be
		}
		left, err := r.tx.Tree(ctx, ws, shelf.TreeQuery{LibraryID: folder.LibraryID, Under: folder.Path,
			Filter: shelf.ItemFilter{WithHidden: true, AllScopes: true}, Limit: 1})
		if err != nil {
			return err
		}
		if len(left) > 0 {
			continue
		}
		if _, err := r.tx.DeleteTree(ctx, ws, folder.ID); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) hideTx(ctx context.Context, tx shelf.Tx, it *shelf.Item) error {
	if it.Hidden {
		return nil
	}
	it.Hidden, it.UpdatedAt = true, s.now()
	return tx.UpdateItem(ctx, it)
}
