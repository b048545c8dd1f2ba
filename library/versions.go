package library

import (
	"context"
	"time"

	shelf "github.com/shelfmem/shelf"
)

// Versions lists a file's versions, newest first.
func (s *Service) Versions(ctx context.Context, itemID string) ([]*shelf.Version, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	var vs []*shelf.Version
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		it, err := getItem(ctx, tx, p, itemID)
		if err != nil {
			return err
		}
		if it.Type != shelf.TypeFile {
			return shelf.Errorf(shelf.ENOTIMPL, "item %q is a folder and has no versions", itemID)
		}
		vs, err = tx.Versions(ctx, p.WorkspaceID, itemID)
		return err
	})
	return vs, err
}

// RestoreVersion makes version n's content the new head: a new version
// with the old bytes, so history is never rewritten. Restoring bytes that
// equal the head's makes no version.
func (s *Service) RestoreVersion(ctx context.Context, itemID string, n int64) (*Upserted, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	var out *Upserted
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		it, err := getItem(ctx, tx, p, itemID)
		if err != nil {
			return err
		}
		if it.Type != shelf.TypeFile {
			return shelf.Errorf(shelf.ENOTIMPL, "item %q is a folder and has no versions", itemID)
		}
		old, err := tx.Version(ctx, p.WorkspaceID, itemID, n)
		if shelf.ErrorCode(err) == shelf.ENOTFOUND {
			return shelf.Errorf(shelf.ENOTFOUND, "version %d of item %q not found", n, itemID)
		} else if err != nil {
			return err
		}
		if old.Hash == it.Hash {
			head, err := tx.Version(ctx, p.WorkspaceID, itemID, it.Head)
			out = &Upserted{Status: StatusUnchanged, Item: it, Version: head}
			return err
		}
		now := s.now()
		v := &shelf.Version{ID: newID(), ItemID: it.ID, WorkspaceID: p.WorkspaceID, Number: it.Head + 1,
			Hash: old.Hash, Size: old.Size, ContentType: old.ContentType, CreatedAt: now}
		if err := tx.CreateVersion(ctx, v); err != nil {
			return err
		}
		it.Head, it.Hash, it.Size, it.ContentType, it.UpdatedAt = v.Number, v.Hash, v.Size, v.ContentType, now
		out = &Upserted{Status: StatusIndexed, Item: it, Version: v}
		lib, err := tx.Library(ctx, p.WorkspaceID, it.LibraryID)
		if err != nil {
			return err
		}
		return s.indexNewHeadTx(ctx, tx, lib, it)
	})
	return out, err
}

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

// Removed is what RemoveItems did.
type Removed struct {
	Matched     int
	HardDeleted []Found
	Hidden      []Found
}

// maxRemove caps the items one RemoveItems call touches.
const maxRemove = 10000

// RemoveItems deletes the ingested items q selects: items of an "api"
// source for good (their bytes go to garbage collection), items of a
// connector's source are hidden and kept. A selector that names nothing is
// refused, so a request can never remove everything by omission. All of it
// happens in one transaction.
func (s *Service) RemoveItems(ctx context.Context, q Selector) (*Removed, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	if q.Empty() {
		return nil, shelf.Errorf(shelf.EINVALID, "name at least one selector: ids, external_ids, source_name, type, created_after or created_before")
	}
	q.Limit, q.Status = maxRemove+1, StatusAll
	var out *Removed
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		found, err := s.findTx(ctx, tx, p, q)
		if err != nil {
			return err
		}
		if len(found) > maxRemove {
			return shelf.Errorf(shelf.ETOOLARGE, "the selectors match more than %d items; narrow them", maxRemove)
		}
		out = &Removed{Matched: len(found), HardDeleted: []Found{}, Hidden: []Found{}}
		for _, f := range found {
			if HardDeletes(f.Source) {
				// A document selected together with its attachments
				// may be gone already with their folder.
				if _, err := tx.DeleteTree(ctx, p.WorkspaceID, f.Item.ID); err != nil && shelf.ErrorCode(err) != shelf.ENOTFOUND {
					return err
				}
				if err := s.removeAttachmentsTx(ctx, tx, p, f, true); err != nil {
					return err
				}
				out.HardDeleted = append(out.HardDeleted, f)
				continue
			}
			if err := s.hideTx(ctx, tx, f.Item); err != nil {
				return err
			}
			if err := s.removeAttachmentsTx(ctx, tx, p, f, false); err != nil {
				return err
			}
			out.Hidden = append(out.Hidden, f)
		}
		return nil
	})
	return out, err
}

func (s *Service) hideTx(ctx context.Context, tx shelf.Tx, it *shelf.Item) error {
	if it.Hidden {
		return nil
	}
	it.Hidden, it.UpdatedAt = true, s.now()
	return tx.UpdateItem(ctx, it)
}

// removeAttachmentsTx deletes or hides what a document's attachments
// folder (<document path>.attachments) holds, so they go with it.
func (s *Service) removeAttachmentsTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, f Found, hard bool) error {
	folder, err := tx.ItemByPath(ctx, p.WorkspaceID, f.Item.LibraryID, f.Item.Path+attachmentsSuffix)
	if shelf.ErrorCode(err) == shelf.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if hard {
		_, err := tx.DeleteTree(ctx, p.WorkspaceID, folder.ID)
		return err
	}
	after := ""
	for {
		kids, err := tx.Children(ctx, p.WorkspaceID, folder.ID, after, 500, shelf.ItemFilter{Viewer: p.Owner()})
		if err != nil {
			return err
		}
		for _, k := range kids {
			if err := s.hideTx(ctx, tx, k); err != nil {
				return err
			}
		}
		if len(kids) < 500 {
			return nil
		}
		after = kids[len(kids)-1].Name
	}
}
