package library

import (
	"bytes"
	"context"
	"io"

	shelf "github.com/shelfmem/shelf"
)

// Content returns a file's version (0 for the head) for reading.
func (s *Service) Content(ctx context.Context, itemID string, version int64) (*shelf.Item, *shelf.Version, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, nil, err
	}
	var it *shelf.Item
	var v *shelf.Version
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		if it, err = getItem(ctx, tx, p, itemID); err != nil {
			return err
		}
		if it.Type != shelf.TypeFile {
			return shelf.Errorf(shelf.ENOTIMPL, "item %q is a folder and has no content", itemID)
		}
		n := version
		if n == 0 {
			n = it.Head
		}
		v, err = tx.Version(ctx, p.WorkspaceID, it.ID, n)
		if shelf.ErrorCode(err) == shelf.ENOTFOUND {
			return shelf.Errorf(shelf.ENOTFOUND, "version %d of item %q not found", n, itemID)
		}
		return err
	})
	return it, v, err
}

// Read opens n bytes of a version's content from off (n < 0: to the end).
// The version must come from Content, which checked the caller may see it.
// Small contents are kept inline in the store; the rest in the blob store.
func (s *Service) Read(ctx context.Context, v *shelf.Version, off, n int64) (io.ReadCloser, error) {
	if v.Size <= int64(max(s.cfg.InlineMax, maxInlineEver)) {
		var data []byte
		err := s.store.View(ctx, func(tx shelf.Tx) error {
			var err error
			data, err = tx.InlineBlob(ctx, v.Hash)
			return err
		})
		switch shelf.ErrorCode(err) {
		case "":
			if off < 0 || off > int64(len(data)) {
				return nil, shelf.Errorf(shelf.EINVALID, "offset %d is past the end", off)
			}
			data = data[off:]
			if n >= 0 && n < int64(len(data)) {
				data = data[:n]
			}
			return io.NopCloser(bytes.NewReader(data)), nil
		case shelf.ENOTFOUND:
		default:
			return nil, err
		}
	}
	return s.blobs.Open(ctx, v.Hash, off, n)
}

// maxInlineEver bounds the sizes looked for inline whatever InlineMax is
// now, so content kept inline under an earlier setting is still found.
const maxInlineEver = 1 << 20
