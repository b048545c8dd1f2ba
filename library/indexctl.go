package library

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

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
// matches one of globs (see internal/glob), and returns how many it
// queued. Files of an embedded library are never indexed: EINVALID. The
// files are queued in batches, each its own transaction (see bulkWalk):
// should the request be cut short, the files of the batches before are
// queued, and sending it again queues them all.
func (s *Service) IndexGlobs(ctx context.Context, libraryID string, globs []string) (int, error) {
	return s.eachGlobFile(ctx, libraryID, globs, true, s.queueFileTx)
}

// ClearGlobs clears the index of every file of a library whose path
// matches one of globs, in batches as IndexGlobs, and returns how many.
func (s *Service) ClearGlobs(ctx context.Context, libraryID string, globs []string) (int, error) {
	return s.eachGlobFile(ctx, libraryID, globs, false, s.clearIndexTx)
}

// eachGlobFile calls fn for every file of a library the caller sees whose
// path matches one of globs, in batches, and counts them. With indexing
// set, an embedded library is refused.
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
	var lib *shelf.Library
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		lib, err = libraryTx(ctx, tx, p, libraryID)
		return err
	})
	if err != nil {
		return 0, err
	}
	if indexing && lib.Embedded {
		return 0, shelf.Errorf(shelf.EINVALID, "library %q is embedded; its files are never indexed", libraryID)
	}
	w := newWalker(p, lib.ID, pats, shelf.TypeFile, shelf.ItemFilter{Viewer: p.Owner()})
	n, _, err := s.bulkWalk(ctx, w, func(tx shelf.Tx, it *shelf.Item) (bool, error) {
		return false, fn(ctx, tx, it)
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

// walker walks the items of a library that a filter lets through and
// whose paths match one of a set of globs, reading the tree in pages below
// the globs' literal prefixes (each subtree once), so memory stays bounded
// however many match. Its position is kept between calls of step, so a
// walk can span transactions.
type walker struct {
	p      *shelf.Principal
	libID  string
	pats   []*glob.Pattern
	roots  []string
	typ    shelf.ItemType // "" for any
	filter shelf.ItemFilter
	i      int    // roots[i] is being walked
	began  bool   // roots[i]'s own item was looked at
	after  string // the last path read below roots[i]
}

func newWalker(p *shelf.Principal, libraryID string, pats []*glob.Pattern, typ shelf.ItemType, filter shelf.ItemFilter) *walker {
	return &walker{p: p, libID: libraryID, pats: pats, roots: scanRoots(pats), typ: typ, filter: filter}
}

func (w *walker) match(it *shelf.Item) bool {
	if (it.Hidden && !w.filter.WithHidden) || !(w.filter.AllScopes || it.VisibleTo(w.p)) || (w.typ != "" && it.Type != w.typ) {
		return false
	}
	for _, q := range w.pats {
		if q.Match("/" + it.Path) {
			return true
		}
	}
	return false
}

// step looks at up to lim items and calls fn for each that matches. It
// returns how many it looked at and whether the walk is over.
func (w *walker) step(ctx context.Context, tx shelf.Tx, lim int, fn func(*shelf.Item) error) (int, bool, error) {
	ws := w.p.WorkspaceID
	for w.i < len(w.roots) {
		under := w.roots[w.i]
		if !w.began {
			w.began = true
			if under != "" { // a match is the prefix itself or below it
				it, err := tx.ItemByPath(ctx, ws, w.libID, under)
				if err != nil && shelf.ErrorCode(err) != shelf.ENOTFOUND {
					return 0, false, err
				}
				if err == nil && w.match(it) {
					if err := fn(it); err != nil {
						return 0, false, err
					}
				}
				return 1, false, nil
			}
		}
		page, err := tx.Tree(ctx, ws, shelf.TreeQuery{LibraryID: w.libID, Under: under, After: w.after,
			Type: w.typ, Filter: w.filter, Limit: lim})
		if err != nil {
			return 0, false, err
		}
		for _, it := range page {
			if w.match(it) {
				if err := fn(it); err != nil {
					return 0, false, err
				}
			}
		}
		if len(page) == lim {
			w.after = page[len(page)-1].Path
			return len(page), false, nil
		}
		w.i, w.began, w.after = w.i+1, false, ""
		if len(page) > 0 {
			return len(page), w.i == len(w.roots), nil
		}
	}
	return 0, true, nil
}

// bulkWalk calls fn for every item w walks, in batches, each its own
// transaction bounded by Config.BulkRows (items looked at) and BulkTime,
// giving the writer way between two batches. It returns how many items
// matched and the ids of those for which fn said keep, once their batch
// committed. A batch that fails stops the walk; the batches before it
// stay.
func (s *Service) bulkWalk(ctx context.Context, w *walker, fn func(tx shelf.Tx, it *shelf.Item) (keep bool, err error)) (int, []string, error) {
	total := 0
	var kept []string
	last := time.Duration(-1)
	for {
		if last >= 0 {
			pace(ctx, last)
		}
		saved := *w
		var done bool
		var n int
		var batch []string
		start := time.Now()
		err := s.store.Update(ctx, func(tx shelf.Tx) error {
			*w, done, n, batch = saved, false, 0, batch[:0] // a store may run fn again
			b := s.newBudget()
			for {
				lim := b.take()
				if lim == 0 {
					return nil
				}
				looked, over, err := w.step(ctx, tx, lim, func(it *shelf.Item) error {
					n++
					keep, err := fn(tx, it)
					if keep {
						batch = append(batch, it.ID)
					}
					return err
				})
				if err != nil {
					return err
				}
				b.spend(looked)
				if over {
					done = true
					return nil
				}
			}
		})
		last = time.Since(start)
		if err != nil {
			return total, kept, err
		}
		total, kept = total+n, append(kept, batch...)
		if done {
			return total, kept, nil
		}
		s.hook("bulk-batch")
	}
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
