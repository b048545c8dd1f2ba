package library

import (
	"context"

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
