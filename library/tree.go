package library

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"strings"
	"unicode/utf8"

	shelf "github.com/shelfmem/shelf"
)

// Conflict is what to do when a new item's name is taken in its folder.
type Conflict string

const (
	// ConflictRename appends _N before the extension: report_1.pdf, Q2 Reports_1.
	ConflictRename Conflict = "rename"
	// ConflictDeny fails with ECONFLICT.
	ConflictDeny Conflict = "deny"
	// ConflictOverwrite (files only) keeps the item and adds a version.
	ConflictOverwrite Conflict = "overwrite"
	// ConflictReplace (files only) deletes the old item and makes a new one.
	ConflictReplace Conflict = "replace"
)

// ParseConflict checks a strategy name; "" is ConflictRename.
func ParseConflict(s string) (Conflict, error) {
	switch c := Conflict(s); c {
	case "":
		return ConflictRename, nil
	case ConflictRename, ConflictDeny, ConflictOverwrite, ConflictReplace:
		return c, nil
	}
	return "", shelf.Errorf(shelf.EINVALID, "unknown name conflict strategy %q (want rename, deny, overwrite or replace)", s)
}

// Limits on x_attrs.
const (
	maxXAttrs     = 128
	maxXAttrKey   = 128
	maxXAttrValue = 4096
)

// Reserved x_attrs keys: keys starting with Shelf's own prefix, and the
// two names MemoryLake keeps for its system (its clients read them as set
// by the server). No client of any API stores, changes or removes them: a
// create, a set or a delete that names one passes over it silently, as
// MemoryLake documents, and does the rest.
const reservedXAttrPrefix = "shelf."

var reservedXAttrNames = map[string]bool{"x_source": true, "x_thumbnail_uri": true}

// reservedXAttr reports whether k is a reserved x_attrs key.
func reservedXAttr(k string) bool {
	return strings.HasPrefix(k, reservedXAttrPrefix) || reservedXAttrNames[k]
}

// Root returns the root folder of the caller's default library (MY_SPACE).
func (s *Service) Root(ctx context.Context) (*shelf.Item, error) {
	l, err := s.DefaultLibrary(ctx)
	if err != nil {
		return nil, err
	}
	return s.Item(ctx, l.RootID)
}

// Item returns an item of the caller's workspace; ENOTFOUND for another's.
func (s *Service) Item(ctx context.Context, id string) (*shelf.Item, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, err
	}
	var it *shelf.Item
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		it, err = getItem(ctx, tx, p, id)
		return err
	})
	return it, err
}

// getItem reads an item the caller may see, with a client-facing
// not-found message: another workspace's item, and another principal's
// private item, are not found.
func getItem(ctx context.Context, tx shelf.Tx, p *shelf.Principal, id string) (*shelf.Item, error) {
	it, err := tx.Item(ctx, p.WorkspaceID, id)
	if shelf.ErrorCode(err) == shelf.ENOTFOUND || (err == nil && !it.VisibleTo(p)) {
		return nil, shelf.Errorf(shelf.ENOTFOUND, "item %q not found", id)
	}
	return it, err
}

// getFolder reads an item that must be a folder.
func getFolder(ctx context.Context, tx shelf.Tx, p *shelf.Principal, id string) (*shelf.Item, error) {
	it, err := getItem(ctx, tx, p, id)
	if err != nil {
		return nil, err
	}
	if it.Type != shelf.TypeFolder {
		return nil, shelf.Errorf(shelf.EINVALID, "item %q is not a folder", id)
	}
	return it, nil
}

// Children lists a folder's children in name order, a page at a time. The
// token is "" for the first page; the returned token is "" on the last.
func (s *Service) Children(ctx context.Context, folderID, token string, limit int) ([]*shelf.Item, string, error) {
	p, err := need(ctx, shelf.ScopeRead)
	if err != nil {
		return nil, "", err
	}
	if limit < 1 || limit > 1000 {
		return nil, "", shelf.Errorf(shelf.EINVALID, "page size must be between 1 and 1000")
	}
	after, err := decodeCursor(token)
	if err != nil {
		return nil, "", err
	}
	var items []*shelf.Item
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		if _, err := getFolder(ctx, tx, p, folderID); err != nil {
			return err
		}
		items, err = tx.Children(ctx, p.WorkspaceID, folderID, after, limit+1, shelf.ItemFilter{Viewer: p.Owner()})
		return err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(items) > limit {
		items = items[:limit]
		next = encodeCursor(items[limit-1].Name)
	}
	return items, next, nil
}

const cursorPrefix = "n1."

func encodeCursor(name string) string {
	return cursorPrefix + base64.RawURLEncoding.EncodeToString([]byte(name))
}

func decodeCursor(token string) (string, error) {
	if token == "" {
		return "", nil
	}
	rest, ok := strings.CutPrefix(token, cursorPrefix)
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if !ok || err != nil || len(b) == 0 || len(b) > MaxNameBytes || !utf8.Valid(b) {
		return "", shelf.Errorf(shelf.EINVALID, "invalid continuation token")
	}
	return string(b), nil
}

// CreateFolder makes a folder under parentID. Only the rename and deny
// strategies apply to folders.
func (s *Service) CreateFolder(ctx context.Context, parentID, name string, c Conflict, xattrs map[string]string) (*shelf.Item, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	if name, err = CleanName(name); err != nil {
		return nil, err
	}
	if c == ConflictOverwrite || c == ConflictReplace {
		return nil, shelf.Errorf(shelf.EINVALID, "the %s strategy applies to files only", c)
	}
	if c, err = ParseConflict(string(c)); err != nil {
		return nil, err
	}
	if xattrs, err = cleanXAttrs(xattrs); err != nil {
		return nil, err
	}
	var it *shelf.Item
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		parent, err := getFolder(ctx, tx, p, parentID)
		if err != nil {
			return err
		}
		final, _, err := place(ctx, tx, parent, name, shelf.TypeFolder, c)
		if err != nil {
			return err
		}
		now := s.now()
		it = &shelf.Item{ID: newID(), WorkspaceID: p.WorkspaceID, LibraryID: parent.LibraryID, ParentID: parent.ID, Scope: shelf.VisibleWorkspace,
			Type: shelf.TypeFolder, Name: final, Path: childPath(parent, final), XAttrs: copyAttrs(xattrs),
			CreatedAt: now, UpdatedAt: now}
		if len(it.Path) > MaxPathBytes {
			return shelf.Errorf(shelf.EINVALID, "path is longer than %d bytes", MaxPathBytes)
		}
		return createItemTx(ctx, tx, it)
	})
	return it, err
}

// place decides the name a new item takes under parent. It returns the
// final name and, for overwrite and replace, the file that is there. A name
// is taken when an item's name has the same key (NFC form): its path.
func place(ctx context.Context, tx shelf.Tx, parent *shelf.Item, name string, typ shelf.ItemType, c Conflict) (string, *shelf.Item, error) {
	existing, err := tx.ItemByPath(ctx, parent.WorkspaceID, parent.LibraryID, childPath(parent, name))
	if shelf.ErrorCode(err) == shelf.ENOTFOUND {
		return name, nil, nil
	} else if err != nil {
		return "", nil, err
	}
	switch c {
	case ConflictDeny:
		return "", nil, shelf.Errorf(shelf.ECONFLICT, "an item named %q already exists in this folder", name)
	case ConflictOverwrite, ConflictReplace:
		if existing.Type != shelf.TypeFile || typ != shelf.TypeFile {
			return "", nil, shelf.Errorf(shelf.ECONFLICT, "a folder named %q already exists in this folder", name)
		}
		return name, existing, nil
	}
	final, err := freeName(ctx, tx, parent, name, typ)
	return final, nil, err
}

// freeName finds the first of name_1, name_2, … (the suffix before the
// extension for files) that is free under parent, compared under NFC: a
// candidate is taken when its path is. The name keeps the bytes it was
// sent with.
func freeName(ctx context.Context, tx shelf.Tx, parent *shelf.Item, name string, typ shelf.ItemType) (string, error) {
	base, ext := name, ""
	if typ == shelf.TypeFile {
		base, ext = splitExt(name)
	}
	const batch = 64
	for start := 1; start < 1<<20; start += batch {
		cands := make([]string, 0, batch)
		paths := make([]string, 0, batch)
		for n := start; n < start+batch; n++ {
			c := fmt.Sprintf("%s_%d%s", base, n, ext)
			p := childPath(parent, c)
			if len(c) > MaxNameBytes || len(NameKey(c)) > MaxNameBytes {
				return "", shelf.Errorf(shelf.EINVALID, "name %q is too long to be made unique", name)
			}
			cands, paths = append(cands, c), append(paths, p)
		}
		taken, err := tx.TakenPaths(ctx, parent.WorkspaceID, parent.LibraryID, paths)
		if err != nil {
			return "", err
		}
		for i, c := range cands {
			if !taken[paths[i]] {
				return c, nil
			}
		}
	}
	return "", shelf.Errorf(shelf.ECONFLICT, "no free name for %q", name)
}

// ItemUpdate names what UpdateItem changes; nil fields stay.
type ItemUpdate struct {
	Name     *string
	ParentID *string
	Conflict Conflict // rename or deny; "" is deny
}

// UpdateItem renames and/or moves an item. A folder cannot move into
// itself or below itself, nor to another library; a root never moves.
func (s *Service) UpdateItem(ctx context.Context, id string, u ItemUpdate) (*shelf.Item, error) {
	return s.PatchItem(ctx, id, u, ItemProps{}, nil)
}

// moveTx gives it a new parent and name (already clean), following c
// when the name is taken there. A folder that holds another principal's
// private items does not move (ECONFLICT): they stay where they are, and
// a folder cannot be both here and there. A folder's descendants follow
// it in batches (a shelf.TreeOp): the first in this transaction; when
// more are left, the op is recorded and returned, for runTreeOp to finish
// once the transaction has committed.
func (s *Service) moveTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, it *shelf.Item, parentID, newName string, c Conflict) (*shelf.TreeOp, error) {
	if it.IsRoot() {
		return nil, shelf.Errorf(shelf.EFORBIDDEN, "a library root cannot be renamed or moved")
	}
	parent, err := getFolder(ctx, tx, p, parentID)
	if err != nil {
		return nil, err
	}
	if parent.LibraryID != it.LibraryID {
		return nil, shelf.Errorf(shelf.EINVALID, "an item cannot move to another library")
	}
	if parent.ID == it.ID || (it.Type == shelf.TypeFolder && strings.HasPrefix(parent.Path+"/", it.Path+"/")) {
		return nil, shelf.Errorf(shelf.EINVALID, "a folder cannot move into itself or its own subtree")
	}
	if parent.ID == it.ParentID && NameKey(newName) == NameKey(it.Name) {
		// The same name under NFC, so the same path: at most the bytes
		// of the name change.
		if newName == it.Name {
			return nil, nil // nothing changes
		}
		it.Name, it.UpdatedAt = newName, s.now()
		return nil, tx.UpdateItem(ctx, it)
	}
	final, _, err := place(ctx, tx, parent, newName, it.Type, c)
	if err != nil {
		return nil, err
	}
	oldPath, newPath := it.Path, childPath(parent, final)
	if len(newPath) > MaxPathBytes {
		return nil, shelf.Errorf(shelf.EINVALID, "path is longer than %d bytes", MaxPathBytes)
	}
	if err := guardTx(ctx, tx, p.WorkspaceID, it.LibraryID, newPath); err != nil {
		return nil, err
	}
	if it.Type == shelf.TypeFolder {
		if err := claimRangeTx(ctx, tx, p.WorkspaceID, it.LibraryID, oldPath, newPath); err != nil {
			return nil, err
		}
		others, err := tx.OthersBelow(ctx, p.WorkspaceID, it.LibraryID, oldPath, p.Owner())
		if err != nil {
			return nil, err
		}
		if others {
			return nil, shelf.Errorf(shelf.ECONFLICT, "%q holds items of another key, which stay where they are; it cannot move", it.Name)
		}
	}
	it.ParentID, it.Name, it.Path, it.UpdatedAt = parent.ID, final, newPath, s.now()
	if err := tx.UpdateItem(ctx, it); err != nil {
		return nil, err
	}
	if it.Type != shelf.TypeFolder {
		return nil, nil
	}
	op := s.newTreeOp(p.WorkspaceID, it.LibraryID, shelf.TreeOpMove)
	op.ItemID, op.Path, op.NewPath = it.ID, oldPath, newPath
	return s.startTreeOpTx(ctx, tx, op, s.newBudget())
}

// Delete removes an item and returns how many items went. A folder goes
// with everything below it that the caller may see: another principal's
// private items stay where they are, with the folders that hold them, and
// are not counted. A large folder goes in batches (a shelf.TreeOp, see
// treeops.go): items vanish as their batches commit, and a delete cut
// short by a crash is finished by the server. The bytes are left to
// garbage collection.
func (s *Service) Delete(ctx context.Context, id string) (int, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return 0, err
	}
	var n int
	var op *shelf.TreeOp
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		n, op = 0, nil
		it, err := getItem(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if it.IsRoot() {
			return shelf.Errorf(shelf.EFORBIDDEN, "a library root cannot be deleted")
		}
		if it.Type == shelf.TypeFolder {
			if err := claimRangeTx(ctx, tx, p.WorkspaceID, it.LibraryID, it.Path); err != nil {
				return err
			}
			op = s.newTreeOp(p.WorkspaceID, it.LibraryID, shelf.TreeOpDelete)
			op.ItemID, op.Path, op.Viewer = it.ID, it.Path, p.Owner()
			started, err := s.startTreeOpTx(ctx, tx, op, s.newBudget())
			n, op = op.Done, started
			return err
		}
		if n, err = tx.DeleteTree(ctx, p.WorkspaceID, id); err != nil {
			return err
		}
		m, err := s.deleteAttachmentsTx(ctx, tx, p, it)
		n += m
		return err
	})
	if err != nil || op == nil {
		return n, err
	}
	return s.runTreeOp(context.WithoutCancel(ctx), op)
}

// deleteAttachmentsTx deletes the attachments of a document that is being
// deleted, found by their relation to it wherever they are, and the
// attachments folders they leave empty; it returns how many items it
// deleted. Another principal's private attachment stays.
func (s *Service) deleteAttachmentsTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, doc *shelf.Item) (int, error) {
	if doc.Type != shelf.TypeFile || doc.AttachmentOf() != "" {
		return 0, nil
	}
	r := &remover{s: s, tx: tx, p: p, inList: map[string]bool{}, out: &Removed{}}
	n := 0
	for {
		// Each page is deleted before the next is read: the query
		// starts over.
		atts, err := tx.QueryItems(ctx, p.WorkspaceID, shelf.ItemQuery{LibraryIDs: []string{doc.LibraryID},
			ExternalIDPrefix: shelf.AttachmentPrefix(doc.ID), Type: shelf.TypeFile, Viewer: p.Owner(), Limit: treePage})
		if err != nil {
			return 0, err
		}
		for _, a := range atts {
			if err := r.deleteAttachment(ctx, a); err != nil {
				return 0, err
			}
		}
		n += len(atts)
		if len(atts) < treePage {
			return n, r.dropEmptyFolders(ctx)
		}
	}
}

// SetXAttrs merges attrs into an item's x_attrs: keys sent are set, others
// kept; reserved keys are passed over. A library root's attributes cannot
// be changed.
func (s *Service) SetXAttrs(ctx context.Context, id string, attrs map[string]string) (*shelf.Item, error) {
	attrs, err := cleanXAttrs(attrs)
	if err != nil {
		return nil, err
	}
	return s.editXAttrs(ctx, id, func(m map[string]string) {
		for k, v := range attrs {
			m[k] = v
		}
	})
}

// DeleteXAttrs removes keys from an item's x_attrs; absent keys and
// reserved keys are passed over.
func (s *Service) DeleteXAttrs(ctx context.Context, id string, keys []string) (*shelf.Item, error) {
	if len(keys) == 0 {
		return nil, shelf.Errorf(shelf.EINVALID, "name at least one key to delete")
	}
	keys, err := cleanXAttrKeys(keys)
	if err != nil {
		return nil, err
	}
	return s.editXAttrs(ctx, id, func(m map[string]string) {
		for _, k := range keys {
			delete(m, k)
		}
	})
}

func (s *Service) editXAttrs(ctx context.Context, id string, edit func(map[string]string)) (*shelf.Item, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	var it *shelf.Item
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		it, err = getItem(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if it.IsRoot() {
			return shelf.Errorf(shelf.EFORBIDDEN, "a library root's attributes cannot be changed")
		}
		before := copyAttrs(it.XAttrs)
		if it.XAttrs == nil {
			it.XAttrs = map[string]string{}
		}
		edit(it.XAttrs)
		if maps.Equal(before, it.XAttrs) {
			return nil // a no-op leaves updated_at alone
		}
		if len(it.XAttrs) > maxXAttrs {
			return shelf.Errorf(shelf.EINVALID, "an item holds at most %d x_attrs", maxXAttrs)
		}
		it.UpdatedAt = s.now()
		return tx.UpdateItem(ctx, it)
	})
	return it, err
}

// cleanXAttrs returns the x_attrs a client sent without the reserved keys
// (m itself when it holds none), or EINVALID when the rest breaks a limit.
func cleanXAttrs(m map[string]string) (map[string]string, error) {
	for k := range m {
		if reservedXAttr(k) {
			m = maps.Clone(m)
			maps.DeleteFunc(m, func(k, _ string) bool { return reservedXAttr(k) })
			break
		}
	}
	if len(m) > maxXAttrs {
		return nil, shelf.Errorf(shelf.EINVALID, "at most %d x_attrs", maxXAttrs)
	}
	for k, v := range m {
		if err := checkXAttrKey(k); err != nil {
			return nil, err
		}
		if len(v) > maxXAttrValue || !utf8.ValidString(v) {
			return nil, shelf.Errorf(shelf.EINVALID, "x_attrs value of %q must be UTF-8 of at most %d bytes", k, maxXAttrValue)
		}
	}
	return m, nil
}

// cleanXAttrKeys returns the keys a client asked to delete without the
// reserved ones, or EINVALID when one of the rest is not a valid key.
func cleanXAttrKeys(keys []string) ([]string, error) {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if reservedXAttr(k) {
			continue
		}
		if err := checkXAttrKey(k); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

func checkXAttrKey(k string) error {
	if k == "" || len(k) > maxXAttrKey || !utf8.ValidString(k) {
		return shelf.Errorf(shelf.EINVALID, "x_attrs key must be 1 to %d bytes of UTF-8", maxXAttrKey)
	}
	for _, r := range k {
		if r < 0x20 || r == 0x7f {
			return shelf.Errorf(shelf.EINVALID, "x_attrs key %q contains a control character", k)
		}
	}
	return nil
}

func copyAttrs(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
