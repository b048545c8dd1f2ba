package library

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	shelf "github.com/shelfmem/shelf"
)

// Libraries that clients make and manage themselves: a space of the space
// storage API (KindSpace) and a library of the library API (KindLibrary).
// Each has a natural id, its slug, unique among the workspace's libraries
// of its kind. The stored slug carries the kind as a prefix ("space:…"),
// so the kinds never collide with one another or with the default library
// and the sources; a library made without a natural id stores its own id
// in its place. NaturalID reads it back.

// Limits of a managed library's fields.
const (
	maxDescription = 4096
	// MaxLibraryPage is the largest page of ListLibraries.
	MaxLibraryPage = 1000
)

// managedKinds are the kinds CreateLibrary makes.
var managedKinds = map[string]bool{shelf.KindSpace: true, shelf.KindLibrary: true}

func slugPrefix(kind string) string {
	if kind == shelf.KindLibrary {
		return ""
	}
	return kind + ":"
}

// NaturalID returns a managed library's natural id, or "" when it was
// made without one.
func NaturalID(l *shelf.Library) string {
	n := strings.TrimPrefix(l.Slug, slugPrefix(l.Kind))
	if n == l.ID {
		return ""
	}
	return n
}

// Spec describes a library to make.
type Spec struct {
	Kind        string // shelf.KindSpace or shelf.KindLibrary
	Slug        string // the natural id; "" for none
	Name        string // "" for none
	Description string
	Metadata    json.RawMessage // a JSON object, or nil
	XAttrs      map[string]string
	Embedded    bool
	Shared      bool
	// AssistantAccess lets assistants search the library
	// (library.AssistantAccess).
	AssistantAccess bool
}

func checkKind(kind string) error {
	if !managedKinds[kind] {
		return shelf.Errorf(shelf.EINVALID, "libraries of kind %q are not made or changed this way", kind)
	}
	return nil
}

// checkNaturalID refuses a natural id that is not a label, or that could be
// read as a path or an id of another kind.
func checkNaturalID(slug string) error {
	if err := checkLabel("natural id", slug); err != nil {
		return err
	}
	if strings.ContainsAny(slug, "/\\") {
		return shelf.Errorf(shelf.EINVALID, "a natural id must not contain a slash")
	}
	return nil
}

func checkDescription(d string) error {
	if len(d) > maxDescription {
		return shelf.Errorf(shelf.EINVALID, "description is longer than %d bytes", maxDescription)
	}
	return checkText("description", d)
}

// checkText refuses invalid UTF-8 and control characters other than
// newlines and tabs.
func checkText(what, s string) error {
	if !utf8.ValidString(s) {
		return shelf.Errorf(shelf.EINVALID, "%s must be UTF-8", what)
	}
	for _, r := range s {
		if (r < 0x20 && r != '\n' && r != '\t' && r != '\r') || r == 0x7f {
			return shelf.Errorf(shelf.EINVALID, "%s must not contain control characters", what)
		}
	}
	return nil
}

// compactObject checks that raw is a JSON object of at most maxMetadata
// bytes and returns it compacted; null gives nil.
func compactObject(what string, raw json.RawMessage) (json.RawMessage, error) {
	if raw == nil {
		return nil, nil
	}
	if len(raw) > maxMetadata {
		return nil, shelf.Errorf(shelf.EINVALID, "%s is larger than %d bytes", what, maxMetadata)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, shelf.Errorf(shelf.EINVALID, "%s must be a JSON object", what)
	}
	if m == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, shelf.Errorf(shelf.EINVALID, "%s must be a JSON object", what)
	}
	return buf.Bytes(), nil
}

// maxDerivedSlug bounds a natural id made from a name, in bytes.
const maxDerivedSlug = 64

// slugOf makes a natural id from a name: its letters and digits, lower
// case, every other run of characters one "-", at most maxDerivedSlug
// bytes; "library" when nothing is left.
func slugOf(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			if b.Len()+utf8.RuneLen(r) > maxDerivedSlug {
				break
			}
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	if b.Len() == 0 {
		return "library"
	}
	return b.String()
}

// freeSlugTx returns slug, or slug-2, slug-3, … the first not taken by a
// library of kind in the workspace.
func freeSlugTx(ctx context.Context, tx shelf.Tx, ws, kind, slug string) (string, error) {
	for n := 1; n <= 1000; n++ {
		try := slug
		if n > 1 {
			try = fmt.Sprintf("%s-%d", slug, n)
		}
		_, err := tx.LibraryBySlug(ctx, ws, slugPrefix(kind)+try)
		switch shelf.ErrorCode(err) {
		case shelf.ENOTFOUND:
			return try, nil
		case "":
			continue
		default:
			return "", err
		}
	}
	return "", shelf.Errorf(shelf.ECONFLICT, "no natural id is free for %q; give one", slug)
}

// CreateLibrary makes a library of a managed kind with its root folder.
// A natural id taken by another library of the kind is ECONFLICT. A
// library of kind library made without one gets one from its name
// (slugOf, then -2, -3, … while taken); a space without one has none.
func (s *Service) CreateLibrary(ctx context.Context, spec Spec) (*shelf.Library, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	if err := checkKind(spec.Kind); err != nil {
		return nil, err
	}
	if spec.Slug != "" {
		if err := checkNaturalID(spec.Slug); err != nil {
			return nil, err
		}
	}
	if spec.Name != "" {
		if err := checkLabel("name", spec.Name); err != nil {
			return nil, err
		}
	}
	if err := checkDescription(spec.Description); err != nil {
		return nil, err
	}
	if spec.Metadata, err = compactObject("metadata", spec.Metadata); err != nil {
		return nil, err
	}
	if spec.XAttrs, err = cleanXAttrs(spec.XAttrs); err != nil {
		return nil, err
	}
	var l *shelf.Library
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		id := newID()
		slug := spec.Slug
		if slug == "" && spec.Kind == shelf.KindLibrary && spec.Name != "" {
			// A library of the library API always has a natural id:
			// one made from its name, unique in the workspace.
			if slug, err = freeSlugTx(ctx, tx, p.WorkspaceID, spec.Kind, slugOf(spec.Name)); err != nil {
				return err
			}
		}
		if slug == "" {
			slug = id
		}
		now := s.now()
		l = &shelf.Library{ID: id, WorkspaceID: p.WorkspaceID, Slug: slugPrefix(spec.Kind) + slug, Name: spec.Name,
			Description: spec.Description, Kind: spec.Kind, Embedded: spec.Embedded, Shared: spec.Shared,
			Metadata: spec.Metadata, XAttrs: copyAttrs(spec.XAttrs), CreatedAt: now, UpdatedAt: now}
		setAssistantAccess(l, spec.AssistantAccess)
		root := &shelf.Item{ID: newID(), WorkspaceID: p.WorkspaceID, LibraryID: id, Type: shelf.TypeFolder, Name: spec.Name,
			Scope: shelf.VisibleWorkspace, XAttrs: map[string]string{}, CreatedAt: now, UpdatedAt: now}
		l.RootID = root.ID
		if err := tx.CreateLibrary(ctx, l); err != nil {
			if shelf.ErrorCode(err) == shelf.ECONFLICT {
				return shelf.Errorf(shelf.ECONFLICT, "the natural id %q is taken", spec.Slug)
			}
			return err
		}
		return tx.CreateItem(ctx, root)
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// GetLibrary returns a library of kind by its id or its natural id.
func (s *Service) GetLibrary(ctx context.Context, kind, ref string) (*shelf.Library, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	var l *shelf.Library
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		l, err = libraryByRefTx(ctx, tx, p, kind, ref)
		return err
	})
	return l, err
}

// libraryByRefTx finds a library of kind by id, else by natural id.
func libraryByRefTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, kind, ref string) (*shelf.Library, error) {
	notFound := shelf.Errorf(shelf.ENOTFOUND, "%s %q not found", kindName(kind), ref)
	if ref == "" || len(ref) > 256 {
		return nil, notFound
	}
	l, err := tx.Library(ctx, p.WorkspaceID, ref)
	if shelf.ErrorCode(err) == shelf.ENOTFOUND {
		l, err = tx.LibraryBySlug(ctx, p.WorkspaceID, slugPrefix(kind)+ref)
	}
	if shelf.ErrorCode(err) == shelf.ENOTFOUND || (err == nil && l.Kind != kind) {
		return nil, notFound
	}
	return l, err
}

func kindName(kind string) string {
	if kind == shelf.KindLibrary {
		return "library"
	}
	return kind
}

// Update names what UpdateLibrary changes; nil fields stay.
type Update struct {
	Slug        *string // "" removes the natural id
	Name        *string
	Description *string
	// Metadata replaces the metadata, or with MergeMetadata is merged into
	// it: its keys are set, and a key whose value is null is removed.
	Metadata      json.RawMessage
	MergeMetadata bool
	SetXAttrs     map[string]string
	DelXAttrs     []string
	Embedded      *bool
	Shared        *bool
	// AssistantAccess allows (true) or forbids (false) assistants to
	// search the library (library.AssistantAccess).
	AssistantAccess *bool
}

// UpdateLibrary changes a library of kind named by id or natural id.
// A change of Embedded re-indexes the library's files in batches.
func (s *Service) UpdateLibrary(ctx context.Context, kind, ref string, u Update) (*shelf.Library, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	patch, err := u.check()
	if err != nil {
		return nil, err
	}
	var l *shelf.Library
	var op *shelf.TreeOp
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		op = nil
		if l, err = libraryByRefTx(ctx, tx, p, kind, ref); err != nil {
			return err
		}
		reindex, err := u.apply(l, kind, patch)
		if err != nil {
			return err
		}
		l.UpdatedAt = s.now()
		if err := tx.UpdateLibrary(ctx, l); err != nil {
			if shelf.ErrorCode(err) == shelf.ECONFLICT {
				return shelf.Errorf(shelf.ECONFLICT, "the natural id %q is taken", NaturalID(l))
			}
			return err
		}
		if reindex {
			op, err = s.embeddedChangedTx(ctx, tx, p, l)
		}
		return err
	})
	if err == nil && op != nil {
		_, err = s.runTreeOp(context.WithoutCancel(ctx), op)
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

// check refuses an update that breaks a rule of names, labels,
// descriptions, x_attrs or metadata, and cleans its x_attrs. It returns
// the metadata patch decoded (nil when Metadata is).
func (u *Update) check() (patch map[string]json.RawMessage, err error) {
	if u.Slug != nil && *u.Slug != "" {
		if err := checkNaturalID(*u.Slug); err != nil {
			return nil, err
		}
	}
	if u.Name != nil && *u.Name != "" {
		if err := checkLabel("name", *u.Name); err != nil {
			return nil, err
		}
	}
	if u.Description != nil {
		if err := checkDescription(*u.Description); err != nil {
			return nil, err
		}
	}
	if u.SetXAttrs, err = cleanXAttrs(u.SetXAttrs); err != nil {
		return nil, err
	}
	if u.DelXAttrs, err = cleanXAttrKeys(u.DelXAttrs); err != nil {
		return nil, err
	}
	if u.Metadata != nil {
		if len(u.Metadata) > maxMetadata {
			return nil, shelf.Errorf(shelf.EINVALID, "metadata is larger than %d bytes", maxMetadata)
		}
		if err := json.Unmarshal(u.Metadata, &patch); err != nil {
			return nil, shelf.Errorf(shelf.EINVALID, "metadata must be a JSON object")
		}
	}
	return patch, nil
}

// apply makes the checked update's changes to l, a library of kind, and
// reports whether its files must be re-indexed (Embedded changed).
func (u *Update) apply(l *shelf.Library, kind string, patch map[string]json.RawMessage) (reindex bool, err error) {
	if u.Slug != nil {
		slug := *u.Slug
		if slug == "" {
			slug = l.ID
		}
		l.Slug = slugPrefix(kind) + slug
	}
	if u.Name != nil {
		l.Name = *u.Name
	}
	if u.Description != nil {
		l.Description = *u.Description
	}
	if u.Metadata != nil {
		if l.Metadata, err = mergeMetadata(l.Metadata, patch, u.MergeMetadata); err != nil {
			return false, err
		}
	}
	if l.XAttrs == nil {
		l.XAttrs = map[string]string{}
	}
	maps.Copy(l.XAttrs, u.SetXAttrs)
	for _, k := range u.DelXAttrs {
		delete(l.XAttrs, k)
	}
	if len(l.XAttrs) > maxXAttrs {
		return false, shelf.Errorf(shelf.EINVALID, "at most %d x_attrs", maxXAttrs)
	}
	reindex = u.Embedded != nil && *u.Embedded != l.Embedded
	if u.Embedded != nil {
		l.Embedded = *u.Embedded
	}
	if u.Shared != nil {
		l.Shared = *u.Shared
	}
	if u.AssistantAccess != nil {
		setAssistantAccess(l, *u.AssistantAccess)
	}
	return reindex, nil
}

// embeddedChangedTx follows a library's embedded flag: a library made
// embedded loses its files' index; one no longer embedded has them all
// queued. The files are done in batches (a shelf.TreeOp of kind index):
// the first in this transaction; the op returned, if any, does the rest.
// An op already doing it for this library starts again from the first
// file, following the flag as it is now.
func (s *Service) embeddedChangedTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, l *shelf.Library) (*shelf.TreeOp, error) {
	ops, err := tx.TreeOps(ctx, p.WorkspaceID, l.ID)
	if err != nil {
		return nil, err
	}
	for _, op := range ops {
		if op.Kind == shelf.TreeOpIndex {
			op.Cursor, op.UpdatedAt = "", s.now()
			return nil, tx.UpdateTreeOp(ctx, op)
		}
	}
	op := s.newTreeOp(p.WorkspaceID, l.ID, shelf.TreeOpIndex)
	return s.startTreeOpTx(ctx, tx, op, s.newBudget())
}

// indexBatchTx clears or queues (as the library's embedded flag says)
// the index of its files, every principal's, hidden ones too, in path
// order.
func (s *Service) indexBatchTx(ctx context.Context, tx shelf.Tx, op *shelf.TreeOp, b *budget) (bool, error) {
	lib, err := tx.Library(ctx, op.WorkspaceID, op.LibraryID)
	if err != nil {
		return false, err
	}
	for {
		lim := b.take()
		if lim == 0 {
			return false, nil
		}
		page, err := tx.Tree(ctx, op.WorkspaceID, shelf.TreeQuery{LibraryID: lib.ID, After: op.Cursor, Type: shelf.TypeFile,
			Filter: shelf.ItemFilter{WithHidden: true, AllScopes: true}, Limit: lim})
		if err != nil {
			return false, err
		}
		for _, it := range page {
			if lib.Embedded {
				err = s.clearIndexTx(ctx, tx, it)
			} else {
				err = s.queueFileTx(ctx, tx, it)
			}
			if err != nil {
				return false, err
			}
		}
		b.spend(len(page))
		op.Done += len(page)
		if len(page) < lim {
			return true, nil
		}
		op.Cursor = page[len(page)-1].Path
	}
}

// mergeMetadata applies patch to old: replacing it, or setting its keys
// and removing those whose value is null.
func mergeMetadata(old json.RawMessage, patch map[string]json.RawMessage, merge bool) (json.RawMessage, error) {
	if patch == nil { // null
		return nil, nil
	}
	m := map[string]json.RawMessage{}
	if merge && old != nil {
		if err := json.Unmarshal(old, &m); err != nil {
			return nil, shelf.Errorf(shelf.EINTERNAL, "stored metadata is not a JSON object: %v", err)
		}
	}
	for k, v := range patch {
		if string(bytes.TrimSpace(v)) == "null" && merge {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, shelf.Errorf(shelf.EINVALID, "metadata: %v", err)
	}
	if len(b) > maxMetadata {
		return nil, shelf.Errorf(shelf.EINVALID, "metadata is larger than %d bytes", maxMetadata)
	}
	return b, nil
}

// DeleteLibrary deletes a library of kind with everything in it and
// returns it as it was. In its first transaction the library becomes of
// kind shelf.KindDeleted with its natural id freed, so no request finds
// it and no search reaches its files from then on; its items and
// snapshots then go in batches (a shelf.TreeOp of kind purge), and a
// deletion cut short is finished by the server. The bytes are left to
// garbage collection.
func (s *Service) DeleteLibrary(ctx context.Context, kind, ref string) (*shelf.Library, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	var l *shelf.Library
	var op *shelf.TreeOp
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		if l, err = libraryByRefTx(ctx, tx, p, kind, ref); err != nil {
			return err
		}
		op, err = s.purgeLibraryTx(ctx, tx, l, s.newBudget())
		return err
	})
	if err == nil && op != nil {
		_, err = s.runTreeOp(context.WithoutCancel(ctx), op)
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

// purgeLibraryTx hides a library from every lookup and search (kind
// KindDeleted, slug freed) and starts its purge; it returns the op when
// the purge needs more than this transaction's batch (within b). A
// library with a bulk change under way is not deleted (ECONFLICT).
func (s *Service) purgeLibraryTx(ctx context.Context, tx shelf.Tx, l *shelf.Library, b *budget) (*shelf.TreeOp, error) {
	if err := claimRangeTx(ctx, tx, l.WorkspaceID, l.ID, ""); err != nil {
		return nil, err
	}
	gone := *l
	gone.Kind, gone.Slug, gone.UpdatedAt = shelf.KindDeleted, shelf.KindDeleted+":"+l.ID, s.now()
	if err := tx.UpdateLibrary(ctx, &gone); err != nil {
		return nil, err
	}
	return s.startTreeOpTx(ctx, tx, s.newTreeOp(l.WorkspaceID, l.ID, shelf.TreeOpPurge), b)
}

// checkMetadataFilter checks a filter of equality on metadata (or
// x_attrs) keys: at most 16, each a key the store can name in a JSON path.
func checkMetadataFilter(m map[string]string) error {
	if len(m) > 16 {
		return shelf.Errorf(shelf.EINVALID, "at most 16 metadata filters")
	}
	for k, v := range m {
		if k == "" || len(k) > maxXAttrKey || strings.ContainsAny(k, "\"\\") || !utf8.ValidString(k) || len(v) > maxXAttrValue {
			return shelf.Errorf(shelf.EINVALID, "filter key %q is not valid", k)
		}
	}
	return nil
}

// ListOptions selects a page of libraries.
type ListOptions struct {
	Kind string
	// After is the id of the last library of the previous page; "" from
	// the first. An id that names no library of the kind is EINVALID.
	After    string
	Desc     bool
	Metadata map[string]string // equality on metadata keys
	XAttrs   map[string]string // equality on x_attrs keys
	Limit    int               // 1..MaxLibraryPage
}

// ListLibraries returns a page of the caller's libraries of a kind,
// ordered by creation (and id), oldest or newest first.
func (s *Service) ListLibraries(ctx context.Context, q ListOptions) ([]*shelf.Library, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	if q.Limit < 1 || q.Limit > MaxLibraryPage {
		return nil, shelf.Errorf(shelf.EINVALID, "page size must be 1 to %d", MaxLibraryPage)
	}
	for _, m := range []map[string]string{q.Metadata, q.XAttrs} {
		if err := checkMetadataFilter(m); err != nil {
			return nil, err
		}
	}
	var out []*shelf.Library
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		sq := shelf.LibraryQuery{Kind: q.Kind, Desc: q.Desc, Metadata: q.Metadata, XAttrs: q.XAttrs, Limit: q.Limit}
		if q.After != "" {
			last, err := tx.Library(ctx, p.WorkspaceID, q.After)
			if shelf.ErrorCode(err) == shelf.ENOTFOUND || (err == nil && q.Kind != "" && last.Kind != q.Kind) {
				return shelf.Errorf(shelf.EINVALID, "cursor %q names no %s", q.After, kindName(q.Kind))
			} else if err != nil {
				return err
			}
			sq.AfterTime, sq.AfterID = last.CreatedAt, last.ID
		}
		out, err = tx.ListLibraries(ctx, p.WorkspaceID, sq)
		return err
	})
	return out, err
}

// SearchOptions selects libraries of a kind by position, for APIs that
// page by offset.
type SearchOptions struct {
	Kind         string
	Query        string // a case-insensitive substring of the name or description
	Sort         string // "name" (default), "createdAt" or "updatedAt"
	Desc         bool
	Start, Limit int
	WithEmbedded bool // embedded libraries are left out unless set
}

// MaxLibraries bounds the libraries of one kind a search looks through.
const MaxLibraries = 10000

// SearchLibraries returns a page of the caller's libraries of a kind and
// how many match in all. A workspace holds few libraries: they are read,
// filtered and sorted whole.
func (s *Service) SearchLibraries(ctx context.Context, q SearchOptions) ([]*shelf.Library, int, error) {
	if q.Start < 0 || q.Limit < 1 || q.Limit > MaxLibraryPage {
		return nil, 0, shelf.Errorf(shelf.EINVALID, "start must be 0 or more and limit 1 to %d", MaxLibraryPage)
	}
	var less func(a, b *shelf.Library) int
	switch q.Sort {
	case "", "name":
		less = func(a, b *shelf.Library) int {
			return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		}
	case "createdAt":
		less = func(a, b *shelf.Library) int { return a.CreatedAt.Compare(b.CreatedAt) }
	case "updatedAt":
		less = func(a, b *shelf.Library) int { return a.UpdatedAt.Compare(b.UpdatedAt) }
	default:
		return nil, 0, shelf.Errorf(shelf.EINVALID, "sort must be name, createdAt or updatedAt, with - for descending")
	}
	var all []*shelf.Library
	after := ""
	for {
		page, err := s.ListLibraries(ctx, ListOptions{Kind: q.Kind, After: after, Limit: MaxLibraryPage})
		if err != nil {
			return nil, 0, err
		}
		query := strings.ToLower(q.Query)
		for _, l := range page {
			if (l.Embedded && !q.WithEmbedded) ||
				(query != "" && !strings.Contains(strings.ToLower(l.Name), query) && !strings.Contains(strings.ToLower(l.Description), query)) {
				continue
			}
			all = append(all, l)
		}
		if len(page) < MaxLibraryPage || len(all) > MaxLibraries {
			break
		}
		after = page[len(page)-1].ID
	}
	slices.SortStableFunc(all, func(a, b *shelf.Library) int {
		c := less(a, b)
		if c == 0 {
			c = strings.Compare(a.ID, b.ID)
		}
		if q.Desc {
			return -c
		}
		return c
	})
	total := len(all)
	lo := min(q.Start, total)
	return all[lo:min(lo+q.Limit, total)], total, nil
}

// library returns a library of the caller's workspace by id, or the
// default library for "".
func (s *Service) library(ctx context.Context, p *shelf.Principal, id string) (*shelf.Library, error) {
	var l *shelf.Library
	err := s.store.View(ctx, func(tx shelf.Tx) (err error) {
		l, err = libraryTx(ctx, tx, p, id)
		return err
	})
	return l, err
}

// libraryTx returns a library of the caller's workspace by id, or the
// default library for "".
func libraryTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, id string) (*shelf.Library, error) {
	var l *shelf.Library
	var err error
	if id == "" {
		l, err = tx.LibraryBySlug(ctx, p.WorkspaceID, DefaultLibrarySlug)
	} else {
		l, err = tx.Library(ctx, p.WorkspaceID, id)
	}
	if shelf.ErrorCode(err) == shelf.ENOTFOUND || (err == nil && internalKind(l.Kind)) {
		return nil, shelf.Errorf(shelf.ENOTFOUND, "library %q not found", id)
	}
	return l, err
}

// internalKind reports whether libraries of kind are the core's own: a
// project's library or a project group, reached only through them, or a
// library being deleted, reached by nothing.
func internalKind(kind string) bool {
	return kind == shelf.KindProject || kind == shelf.KindProjectGroup || kind == shelf.KindDeleted
}

// DefaultLibrarySlug is the natural id of every workspace's default
// library, whose root is what MemoryLake calls MY_SPACE.
const DefaultLibrarySlug = "my-space"

// createLibraryTx makes a library and its root folder.
func (s *Service) createLibraryTx(ctx context.Context, tx shelf.Tx, ws, slug, name, kind string) (*shelf.Library, error) {
	now := s.now()
	l := &shelf.Library{ID: newID(), WorkspaceID: ws, Slug: slug, Name: name, Kind: kind, CreatedAt: now, UpdatedAt: now}
	// The root takes the library's name; its path is "".
	root := &shelf.Item{ID: newID(), WorkspaceID: ws, LibraryID: l.ID, Type: shelf.TypeFolder, Name: name, Scope: shelf.VisibleWorkspace,
		XAttrs: map[string]string{}, CreatedAt: now, UpdatedAt: now}
	l.RootID = root.ID
	if err := tx.CreateLibrary(ctx, l); err != nil {
		return nil, err
	}
	if err := tx.CreateItem(ctx, root); err != nil {
		return nil, err
	}
	return l, nil
}

// DefaultLibrary returns the caller's default library.
func (s *Service) DefaultLibrary(ctx context.Context) (*shelf.Library, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	var l *shelf.Library
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		l, err = tx.LibraryBySlug(ctx, p.WorkspaceID, DefaultLibrarySlug)
		return err
	})
	return l, err
}
