package library

import (
	"context"
	"errors"
	"slices"
	"strings"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/internal/glob"
)

// Limits of a bulk (re)index request.
const (
	MaxIndexGlobs = 32
	treePage      = 500
)

// IndexFile queues a file's head version to be indexed again: a retry of a
// failed file, or a fresh index of one whose index was cleared. Its chunks
// stay until the new ones replace them.
func (s *Service) IndexFile(ctx context.Context, itemID string) (*shelf.Item, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	var it *shelf.Item
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		if it, err = getItem(ctx, tx, p, itemID); err != nil {
			return err
		}
		lib, err := tx.Library(ctx, p.WorkspaceID, it.LibraryID)
		if err != nil {
			return err
		}
		if err := indexable(lib, it); err != nil {
			return err
		}
		return s.queueFileTx(ctx, tx, it)
	})
	return it, err
}

// indexable refuses what is never indexed: folders and files of embedded
// libraries.
func indexable(lib *shelf.Library, it *shelf.Item) error {
	if it.Type != shelf.TypeFile {
		return shelf.Errorf(shelf.EINVALID, "%q is a folder; only files are indexed", it.Name)
	}
	if lib.Embedded {
		return shelf.Errorf(shelf.EINVALID, "the library of %q is embedded; its files are never indexed", it.Name)
	}
	return nil
}

// queueFileTx queues a job for the file's head, replacing any job it has,
// and marks it queued; the chunks it has stay until the job replaces them.
// A file whose type holds no text is not queued: it is IndexSkipped, and
// IndexedAt records when indexing was asked for, so a client that asked
// sees its request taken (there is still nothing to search).
func (s *Service) queueFileTx(ctx context.Context, tx shelf.Tx, it *shelf.Item) error {
	if !Extractable(it) {
		if err := tx.DeleteIndexJob(ctx, it.WorkspaceID, it.ID); err != nil {
			return err
		}
		if err := tx.ReplaceChunks(ctx, it.WorkspaceID, it.ID, nil); err != nil {
			return err
		}
		it.Index = shelf.IndexStatus{State: shelf.IndexSkipped, IndexedAt: s.now()}
		return tx.SetIndexStatus(ctx, it.WorkspaceID, it.ID, it.Index)
	}
	it.Index.State = shelf.IndexQueued
	if err := tx.SetIndexStatus(ctx, it.WorkspaceID, it.ID, it.Index); err != nil {
		return err
	}
	return s.putIndexJobTx(ctx, tx, it)
}

// ClearIndex removes a file's chunks and embeddings and cancels its job;
// the file is no longer found by search until it is indexed again.
func (s *Service) ClearIndex(ctx context.Context, itemID string) (*shelf.Item, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	var it *shelf.Item
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		if it, err = getItem(ctx, tx, p, itemID); err != nil {
			return err
		}
		if it.Type != shelf.TypeFile {
			return shelf.Errorf(shelf.EINVALID, "%q is a folder; only files are indexed", it.Name)
		}
		return s.clearIndexTx(ctx, tx, it)
	})
	return it, err
}

func (s *Service) clearIndexTx(ctx context.Context, tx shelf.Tx, it *shelf.Item) error {
	if err := tx.ReplaceChunks(ctx, it.WorkspaceID, it.ID, nil); err != nil {
		return err
	}
	if err := tx.DeleteIndexJob(ctx, it.WorkspaceID, it.ID); err != nil {
		return err
	}
	it.Index = shelf.IndexStatus{}
	return tx.SetIndexStatus(ctx, it.WorkspaceID, it.ID, it.Index)
}

// IndexGlobs queues every file of a library whose path ("/docs/a.md")
// matches one of globs (see internal/glob), in one transaction, and
// returns how many it queued. Files of an embedded library are never
// indexed: EINVALID.
func (s *Service) IndexGlobs(ctx context.Context, libraryID string, globs []string) (int, error) {
	return s.eachGlobFile(ctx, libraryID, globs, true, s.queueFileTx)
}

// ClearGlobs clears the index of every file of a library whose path
// matches one of globs, in one transaction, and returns how many.
func (s *Service) ClearGlobs(ctx context.Context, libraryID string, globs []string) (int, error) {
	return s.eachGlobFile(ctx, libraryID, globs, false, s.clearIndexTx)
}

// eachGlobFile calls fn, in one transaction, for every file of a library
// the caller sees whose path matches one of globs, and counts them. With
// indexing set, an embedded library is refused.
func (s *Service) eachGlobFile(ctx context.Context, libraryID string, globs []string, indexing bool,
	fn func(context.Context, shelf.Tx, *shelf.Item) error) (int, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return 0, err
	}
	pats, err := compileGlobs(globs)
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		lib, err := libraryTx(ctx, tx, p, libraryID)
		if err != nil {
			return err
		}
		if indexing && lib.Embedded {
			return shelf.Errorf(shelf.EINVALID, "library %q is embedded; its files are never indexed", libraryID)
		}
		return s.matchFilesTx(ctx, tx, p, lib, pats, func(it *shelf.Item) error {
			n++
			return fn(ctx, tx, it)
		})
	})
	return n, err
}

// compileGlobs compiles a request's globs, at most MaxIndexGlobs.
func compileGlobs(globs []string) ([]*glob.Pattern, error) {
	if len(globs) == 0 {
		return nil, shelf.Errorf(shelf.EINVALID, "no globs given")
	}
	if len(globs) > MaxIndexGlobs {
		return nil, shelf.Errorf(shelf.EINVALID, "at most %d globs", MaxIndexGlobs)
	}
	out := make([]*glob.Pattern, len(globs))
	for i, g := range globs {
		// Paths are built from names in NFC, so a pattern is matched in NFC.
		pat, err := glob.Compile(NameKey(g), glob.DefaultLimits)
		if errors.Is(err, glob.ErrPattern) {
			return nil, shelf.Errorf(shelf.EINVALID, "%s", err.Error())
		} else if err != nil {
			return nil, err
		}
		out[i] = pat
	}
	return out, nil
}

// matchFilesTx calls fn once for every file of lib the caller sees whose
// path matches one of pats. It reads the tree in pages below the patterns'
// literal prefixes (each subtree once), so memory stays bounded however
// many files match.
func (s *Service) matchFilesTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, lib *shelf.Library, pats []*glob.Pattern, fn func(*shelf.Item) error) error {
	return s.walkTx(ctx, tx, p, lib, pats, shelf.TypeFile, shelf.ItemFilter{Viewer: p.Owner()}, fn)
}

// walkItemsTx is matchFilesTx for folders and files.
func (s *Service) walkItemsTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, lib *shelf.Library, pats []*glob.Pattern, fn func(*shelf.Item) error) error {
	return s.walkTx(ctx, tx, p, lib, pats, "", shelf.ItemFilter{Viewer: p.Owner()}, fn)
}

// walkFilesTx is matchFilesTx over the files filter lets through.
func (s *Service) walkFilesTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, lib *shelf.Library, pats []*glob.Pattern, filter shelf.ItemFilter, fn func(*shelf.Item) error) error {
	return s.walkTx(ctx, tx, p, lib, pats, shelf.TypeFile, filter, fn)
}

// walkTx calls fn for every item of type typ ("" for any) of lib that
// filter lets through and whose path matches one of pats.
func (s *Service) walkTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, lib *shelf.Library, pats []*glob.Pattern, typ shelf.ItemType, filter shelf.ItemFilter, fn func(*shelf.Item) error) error {
	visible := func(it *shelf.Item) bool {
		return (!it.Hidden || filter.WithHidden) && (filter.AllScopes || it.VisibleTo(p))
	}
	match := func(it *shelf.Item) bool {
		for _, q := range pats {
			if q.Match("/" + it.Path) {
				return true
			}
		}
		return false
	}
	for _, under := range scanRoots(pats) {
		// A match is the prefix itself or below it.
		if under != "" {
			it, err := tx.ItemByPath(ctx, p.WorkspaceID, lib.ID, under)
			if err != nil && shelf.ErrorCode(err) != shelf.ENOTFOUND {
				return err
			}
			if err == nil && (typ == "" || it.Type == typ) && visible(it) && match(it) {
				if err := fn(it); err != nil {
					return err
				}
			}
		}
		after := ""
		for {
			page, err := tx.Tree(ctx, p.WorkspaceID, shelf.TreeQuery{LibraryID: lib.ID, Under: under, After: after,
				Type: typ, Filter: filter, Limit: treePage})
			if err != nil {
				return err
			}
			for _, it := range page {
				if match(it) {
					if err := fn(it); err != nil {
						return err
					}
				}
			}
			if len(page) < treePage {
				break
			}
			after = page[len(page)-1].Path
		}
	}
	return nil
}

// scanRoots returns the patterns' literal prefixes as store paths (no
// leading "/"), leaving out any below another, so the subtrees they name
// are disjoint.
func scanRoots(pats []*glob.Pattern) []string {
	var roots []string
	for _, pat := range pats {
		roots = append(roots, strings.TrimPrefix(pat.Prefix(), "/"))
	}
	slices.Sort(roots)
	roots = slices.Compact(roots)
	var out []string
	for _, r := range roots {
		if !slices.ContainsFunc(out, func(kept string) bool { return kept == "" || strings.HasPrefix(r, kept+"/") }) {
			out = append(out, r)
		}
	}
	return out
}

// IndexCounts counts the caller's workspace's files by index state.
func (s *Service) IndexCounts(ctx context.Context) (map[string]int, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	var out map[string]int
	err = s.store.View(ctx, func(tx shelf.Tx) (err error) {
		out, err = tx.IndexCounts(ctx, p.WorkspaceID)
		return err
	})
	return out, err
}

// IndexingBelow counts the files below a folder still queued or being
// indexed.
func (s *Service) IndexingBelow(ctx context.Context, folderID string) (int, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return 0, err
	}
	var n int
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		f, err := getFolder(ctx, tx, p, folderID)
		if err != nil {
			return err
		}
		n, err = tx.IndexingBelow(ctx, p.WorkspaceID, f.LibraryID, f.Path)
		return err
	})
	return n, err
}
