package library

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	shelf "github.com/shelfmem/shelf"
)

// Sources: a source is a library of kind source, made on first use, whose
// SourceType says where its items come from. Items of an "api" source are
// deleted for good; items of any other (a connector's) are hidden instead.
const (
	SourceAPI         = "api"
	DefaultSourceName = "API ingest"
	sourceSlugPrefix  = "source:"
	maxExternalID     = 512
	maxTitle          = 1024
	maxMetadata       = 64 << 10
)

// Upsert statuses.
const (
	StatusIndexed   = "indexed"   // a new item, or a new version of one
	StatusUnchanged = "unchanged" // the bytes equal the head's; no version made
)

// Doc is one document to ingest: content addressed by a natural key in a
// source, the external id, or (without one) the path.
type Doc struct {
	SourceName string // default DefaultSourceName
	// Name, for an attachment, is its file name; "" otherwise.
	Name        string
	ExternalID  string
	Path        string // slash-separated; also where the item sits in the source's tree
	Title       string // default: the external id, else the path's last segment
	Scope       string // shelf.VisibleWorkspace (default) or shelf.VisiblePrivate
	Metadata    json.RawMessage
	Content     io.Reader
	Size        int64 // -1 when unknown
	ContentType string
	// Attachments are fetched at request time, each becoming an item of
	// the same source attached to the document (see attachTx).
	Attachments []Attachment
}

// MaxAttachments caps a document's attachments.
const MaxAttachments = 10

// attachmentsSuffix names the folder beside a document that holds its
// attachments: report.md's are in report.md.attachments/.
const attachmentsSuffix = ".attachments"

// Attachment is a file a document names by URL.
type Attachment struct {
	URL      string
	Filename string // "" to take the name the server or the URL gives
}

// AttachmentResult is what became of one attachment: Status is
// StatusIndexed, StatusUnchanged or StatusFailed (then Error says why).
type AttachmentResult struct {
	URL      string
	Filename string
	Status   string
	Item     *shelf.Item
	Error    string
}

// StatusFailed marks an attachment whose server failed; the document and
// the other attachments are ingested all the same.
const StatusFailed = "failed"

// Upserted is what an ingest or a write by path did.
type Upserted struct {
	Status      string
	Source      *shelf.Library // for ingest
	Item        *shelf.Item
	Version     *shelf.Version
	Attachments []AttachmentResult // for ingest, one per attachment sent
}

// check validates and normalises a document's own fields.
func (d *Doc) check() error {
	if d.SourceName == "" {
		d.SourceName = DefaultSourceName
	}
	if err := checkLabel("source_name", d.SourceName); err != nil {
		return err
	}
	if d.ExternalID == "" && d.Path == "" {
		return shelf.Errorf(shelf.EINVALID, "external_id or path is required")
	}
	if d.ExternalID != "" {
		if len(d.ExternalID) > maxExternalID || !utf8.ValidString(d.ExternalID) || strings.ContainsFunc(d.ExternalID, isControl) {
			return shelf.Errorf(shelf.EINVALID, "external_id must be 1 to %d bytes of UTF-8 without control characters", maxExternalID)
		}
	}
	if d.Path != "" {
		p, err := CleanPath(d.Path)
		if err != nil {
			return err
		}
		d.Path = p
	}
	if len(d.Title) > maxTitle || !utf8.ValidString(d.Title) {
		return shelf.Errorf(shelf.EINVALID, "title must be UTF-8 of at most %d bytes", maxTitle)
	}
	if err := CheckMediaType(d.ContentType); err != nil {
		return err
	}
	switch d.Scope {
	case "", shelf.VisibleWorkspace, shelf.VisiblePrivate:
	default:
		return shelf.Errorf(shelf.EINVALID, "scope must be %q or %q, not %q", shelf.VisibleWorkspace, shelf.VisiblePrivate, d.Scope)
	}
	if len(d.Metadata) > 0 {
		if len(d.Metadata) > maxMetadata {
			return shelf.Errorf(shelf.EINVALID, "metadata is larger than %d bytes", maxMetadata)
		}
		var m map[string]any
		if err := json.Unmarshal(d.Metadata, &m); err != nil {
			return shelf.Errorf(shelf.EINVALID, "metadata must be a JSON object")
		}
		if m == nil { // null
			d.Metadata = nil
		} else {
			var buf bytes.Buffer
			_ = json.Compact(&buf, d.Metadata)
			d.Metadata = buf.Bytes()
		}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// Ingest upserts a document into its source: new content makes a new
// item or a new version of the item with the same natural key; the same
// bytes as the head are unchanged (no version). A title, metadata or scope
// the request gives replaces the item's; one it leaves out keeps the
// item's (a new item's title defaults to its external id, else its name,
// and its scope to the workspace). A hidden item stays hidden.
//
// Attachments are fetched before anything is written. A URL that breaks a
// rule (not http(s), an internal address, reached by a redirect or not,
// too many redirects, over the size cap, or not finished in time) refuses
// the whole request; an attachment whose server fails (an error answer, an
// unknown host, a refused connection) is reported as failed and the rest
// is ingested. The document and its attachments commit in one transaction.
func (s *Service) Ingest(ctx context.Context, d Doc) (*Upserted, error) {
	defer s.pinWrites()() // its blobs, until its transaction ends
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	if d.Scope == shelf.VisiblePrivate && p.Owner() == "" {
		return nil, shelf.Errorf(shelf.EFORBIDDEN, "only a key can own a private item")
	}
	if len(d.Attachments) > MaxAttachments {
		return nil, shelf.Errorf(shelf.EINVALID, "at most %d attachments", MaxAttachments)
	}
	for i, a := range d.Attachments {
		if err := s.checkURL(a.URL); err != nil {
			return nil, attachmentError(i, err)
		}
	}
	c, err := s.putBlob(ctx, d.Content, d.Size, true)
	if err != nil {
		return nil, err
	}
	atts, err := s.fetchAttachments(ctx, &d)
	if err != nil {
		return nil, err
	}
	var out *Upserted
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		src, err := s.sourceTx(ctx, tx, p.WorkspaceID, d.SourceName, SourceAPI, true)
		if err != nil {
			return err
		}
		if out, err = s.upsertTx(ctx, tx, p, src, &d, &c); err != nil {
			return err
		}
		out.Source = src
		seen := map[string]int{} // attachments of each name so far
		for i := range atts {
			a := &atts[i]
			seen[NameKey(a.doc.Name)]++
			if a.err != "" {
				out.Attachments = append(out.Attachments, AttachmentResult{URL: a.url, Filename: a.doc.Title, Status: StatusFailed, Error: a.err})
				continue
			}
			up, err := s.attachTx(ctx, tx, p, src, out.Item, a, seen[NameKey(a.doc.Name)])
			if err != nil {
				return attachmentError(i, err)
			}
			out.Attachments = append(out.Attachments, AttachmentResult{URL: a.url, Filename: a.doc.Title, Status: up.Status, Item: up.Item})
		}
		return nil
	})
	return out, err
}

// fetched is one attachment read into the blob store, or the reason its
// server failed.
type fetched struct {
	url string
	doc Doc
	c   content
	err string
}

// fetchAttachments reads every attachment at once into the blob store.
func (s *Service) fetchAttachments(ctx context.Context, d *Doc) ([]fetched, error) {
	out := make([]fetched, len(d.Attachments))
	errs := make([]error, len(d.Attachments))
	var wg sync.WaitGroup
	for i, a := range d.Attachments {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = s.fetchAttachment(ctx, d, i, a)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, attachmentError(i, err)
		}
	}
	return out, nil
}

func (s *Service) fetchAttachment(ctx context.Context, d *Doc, i int, a Attachment) (fetched, error) {
	f := fetched{url: a.URL}
	resp, err := s.cfg.Fetcher.Fetch(ctx, a.URL)
	if err == nil {
		defer resp.Body.Close()
		f.c, err = s.putBlob(ctx, resp.Body, resp.Size, false)
	}
	name := a.Filename
	if name == "" && resp != nil {
		name = resp.Name
	}
	if c, nerr := CleanName(name); nerr == nil {
		name = c
	} else {
		name = fmt.Sprintf("attachment-%d", i+1)
	}
	f.doc = Doc{SourceName: d.SourceName, Name: name, Title: name}
	if resp != nil {
		if CheckMediaType(resp.ContentType) == nil { // a server's invalid type is none
			f.doc.ContentType = resp.ContentType
		}
	}
	switch shelf.ErrorCode(err) {
	case "":
	case shelf.EUNAVAILABLE:
		f.err = shelf.ErrorMessage(err) // the remote failed: reported, not refused
		return f, nil
	default:
		return f, err
	}
	return f, nil
}

// attachTx writes the n-th attachment named a.doc.Name of the request
// (n from 1) as an attachment of doc: an item of doc's library keyed by
// shelf.AttachmentKey(doc.ID, name, n), a key no client's external id can
// spell, with doc's scope. An attachment already there gets a new version
// (or is unchanged) and stays where it is; a new one goes in the folder
// <doc path>.attachments under its name, or under a free one (name_1.ext,
// …) when an item, a sibling or a client's, holds that name: it never
// overwrites another item.
func (s *Service) attachTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, lib *shelf.Library, doc *shelf.Item, a *fetched, n int) (*Upserted, error) {
	d := a.doc
	d.ExternalID, d.Scope = shelf.AttachmentKey(doc.ID, NameKey(d.Name), n), doc.Scope
	it, err := tx.ItemByExternalID(ctx, p.WorkspaceID, lib.ID, d.ExternalID)
	switch {
	case shelf.ErrorCode(err) == shelf.ENOTFOUND:
		d.Path = doc.Path + attachmentsSuffix + "/" + d.Name
		if len(NameKey(d.Path)) > MaxPathBytes {
			return nil, shelf.Errorf(shelf.EINVALID, "the attachment's path would be longer than %d bytes", MaxPathBytes)
		}
		return s.createAtTx(ctx, tx, p, lib, &d, &a.c, ConflictRename)
	case err != nil:
		return nil, err
	case !it.VisibleTo(p):
		return nil, shelf.Errorf(shelf.ECONFLICT, "the attachment is another principal's private item")
	}
	return s.updateTx(ctx, tx, p, lib, it, &d, &a.c)
}

// attachmentError names the attachment an error is about; a fetch that
// timed out is the request's fault, so it becomes EINVALID.
func attachmentError(i int, err error) error {
	code := shelf.ErrorCode(err)
	if code == shelf.ETIMEOUT || code == shelf.EUNAVAILABLE {
		code = shelf.EINVALID
	}
	return &shelf.Error{Code: code, Message: fmt.Sprintf("attachment %d: %s", i+1, shelf.ErrorMessage(err)), Err: err}
}

// sourceTx finds the source library named name, making it with typ when
// create is set.
func (s *Service) sourceTx(ctx context.Context, tx shelf.Tx, ws, name, typ string, create bool) (*shelf.Library, error) {
	l, err := tx.LibraryBySlug(ctx, ws, sourceSlugPrefix+name)
	if shelf.ErrorCode(err) == shelf.ENOTFOUND && create {
		l, err = s.createLibraryTx(ctx, tx, ws, sourceSlugPrefix+name, name, shelf.KindSource)
		if err == nil {
			l.SourceType = typ
			err = tx.UpdateLibrary(ctx, l)
		}
	}
	return l, err
}

// CreateSource makes a source library of a type: SourceAPI, or a
// connector's name, whose items are hidden rather than deleted.
func (s *Service) CreateSource(ctx context.Context, name, typ string) (*shelf.Library, error) {
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	if err := checkLabel("source name", name); err != nil {
		return nil, err
	}
	if err := checkLabel("source type", typ); err != nil {
		return nil, err
	}
	var l *shelf.Library
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		if _, err := s.sourceTx(ctx, tx, p.WorkspaceID, name, "", false); err == nil {
			return shelf.Errorf(shelf.ECONFLICT, "a source named %q exists", name)
		}
		l, err = s.sourceTx(ctx, tx, p.WorkspaceID, name, typ, true)
		return err
	})
	return l, err
}

// upsertTx writes ref as the content of the item d names in lib: by
// external id, else by path. It makes the item (and the folders above its
// path), adds a version, or finds the bytes unchanged. A path that holds
// a document's attachment is refused: only its document writes it.
func (s *Service) upsertTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, lib *shelf.Library, d *Doc, c *content) (*Upserted, error) {
	ws := p.WorkspaceID
	var it *shelf.Item
	var err error
	if d.ExternalID != "" {
		it, err = tx.ItemByExternalID(ctx, ws, lib.ID, d.ExternalID)
	} else {
		it, err = tx.ItemByPath(ctx, ws, lib.ID, NameKey(d.Path))
	}
	if err != nil && shelf.ErrorCode(err) != shelf.ENOTFOUND {
		return nil, err
	}
	if it == nil {
		return s.createAtTx(ctx, tx, p, lib, d, c, ConflictDeny)
	}
	if it.Type != shelf.TypeFile {
		return nil, shelf.Errorf(shelf.EINVALID, "%q is a folder", d.Path)
	}
	if !it.VisibleTo(p) {
		return nil, shelf.Errorf(shelf.ECONFLICT, "the key is taken by another principal's private item")
	}
	if it.AttachmentOf() != "" {
		return nil, errAttachmentPath(it.Path)
	}
	if d.ExternalID != "" && d.Path != "" && NameKey(d.Path) != it.Path {
		if err := s.moveToPathTx(ctx, tx, p, lib, it, d.Path); err != nil {
			return nil, err
		}
	}
	return s.updateTx(ctx, tx, p, lib, it, d, c)
}

// errAttachmentPath refuses a write by path onto a document's attachment.
func errAttachmentPath(path string) error {
	return shelf.Errorf(shelf.ECONFLICT, "%q is an attachment of a document; only an ingest of that document writes it", path)
}

// updateTx writes c as the content of the file it, with the title,
// metadata and scope d gives: a new version, or unchanged for the head's
// bytes.
func (s *Service) updateTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, lib *shelf.Library, it *shelf.Item, d *Doc, c *content) (*Upserted, error) {
	ref := c.ref
	ws := p.WorkspaceID
	now := s.now()
	var err error
	out := &Upserted{Status: StatusUnchanged, Item: it}
	if d.Title != "" {
		it.Title = d.Title
	}
	if d.Metadata != nil {
		it.Metadata = d.Metadata
	}
	if d.Scope != "" {
		it.Scope = d.Scope
		if d.Scope == shelf.VisiblePrivate {
			it.Owner = p.Owner()
		}
	}
	if it.Hash == ref.Hash {
		if out.Version, err = tx.Version(ctx, ws, it.ID, it.Head); err != nil {
			return nil, err
		}
	} else {
		v := &shelf.Version{ID: newID(), ItemID: it.ID, WorkspaceID: ws, Number: it.Head + 1,
			Hash: ref.Hash, Size: ref.Size, ContentType: s.typeOfTx(ctx, tx, it.Name, d.ContentType, ref, c.inline), CreatedAt: now}
		if err := c.saveTx(ctx, tx); err != nil {
			return nil, err
		}
		if err := tx.CreateVersion(ctx, v); err != nil {
			return nil, err
		}
		it.Head, it.Hash, it.Size, it.ContentType = v.Number, v.Hash, v.Size, v.ContentType
		out.Status, out.Version = StatusIndexed, v
		it.UpdatedAt = now
		return out, s.indexNewHeadTx(ctx, tx, lib, it)
	}
	it.UpdatedAt = now
	return out, tx.UpdateItem(ctx, it)
}

// createAtTx makes a new file for d: at d.Path (making its folders), or,
// keyed by external id alone, at the source's root under a name made from
// the external id. taken says what a name that is taken at d.Path does:
// ConflictDeny refuses, ConflictRename takes a free name; a name made
// from the external id is always renamed.
func (s *Service) createAtTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, lib *shelf.Library, d *Doc, c *content, taken Conflict) (*Upserted, error) {
	ref := c.ref
	var parent *shelf.Item
	var name string
	var err error
	conflict := taken
	if d.Path != "" {
		dir, leaf := splitPath(d.Path)
		if parent, err = s.mkdirAllTx(ctx, tx, p, lib, dir); err != nil {
			return nil, err
		}
		name = leaf
	} else {
		parent, name, conflict = rootOf(lib), nameFor(d.ExternalID), ConflictRename
	}
	final := name
	now := s.now()
	it := &shelf.Item{ID: newID(), WorkspaceID: p.WorkspaceID, LibraryID: lib.ID, ParentID: parent.ID,
		Type: shelf.TypeFile, Name: final, Path: childPath(parent, final), XAttrs: map[string]string{},
		Head: 1, Size: ref.Size, Hash: ref.Hash, ContentType: s.typeOfTx(ctx, tx, final, d.ContentType, ref, c.inline),
		ExternalID: d.ExternalID, Title: d.Title, Scope: d.Scope, Metadata: d.Metadata, CreatedAt: now, UpdatedAt: now}
	if it.Scope == "" {
		it.Scope = shelf.VisibleWorkspace
	}
	if it.Title == "" { // titled by its key
		it.Title = d.ExternalID
		if it.Title == "" {
			it.Title = final
		}
	}
	if it.Scope == shelf.VisiblePrivate {
		it.Owner = p.Owner()
	}
	if len(it.Path) > MaxPathBytes {
		return nil, shelf.Errorf(shelf.EINVALID, "path is longer than %d bytes", MaxPathBytes)
	}
	v := &shelf.Version{ID: newID(), ItemID: it.ID, WorkspaceID: p.WorkspaceID, Number: 1,
		Hash: ref.Hash, Size: ref.Size, ContentType: it.ContentType, CreatedAt: now}
	if err := c.saveTx(ctx, tx); err != nil {
		return nil, err
	}
	if err := s.queueIndexTx(ctx, tx, lib, it); err != nil {
		return nil, err
	}
	// The name is usually free: insert, and only when it is taken ask
	// place for the strategy's answer and insert again.
	err = createItemTx(ctx, tx, it)
	if shelf.ErrorCode(err) == shelf.ECONFLICT {
		if final, _, err = place(ctx, tx, parent, name, shelf.TypeFile, conflict); err != nil {
			return nil, err
		}
		it.Name, it.Path = final, childPath(parent, final)
		if it.Title == name && d.ExternalID == "" {
			it.Title = final
		}
		if len(it.Path) > MaxPathBytes {
			return nil, shelf.Errorf(shelf.EINVALID, "path is longer than %d bytes", MaxPathBytes)
		}
		err = createItemTx(ctx, tx, it)
	}
	if err != nil {
		return nil, err
	}
	if err := tx.CreateVersion(ctx, v); err != nil {
		return nil, err
	}
	if err := s.putIndexJobTx(ctx, tx, it); err != nil {
		return nil, err
	}
	return &Upserted{Status: StatusIndexed, Item: it, Version: v}, nil
}

// nameFor makes a file name from an external id: characters a name may
// not hold become "_", and an id that still is no valid name becomes "item".
func nameFor(externalID string) string {
	b := []rune{}
	for _, r := range externalID {
		if r == '/' || r == '\\' || isControl(r) || isBidiControl(r) {
			r = '_'
		}
		b = append(b, r)
	}
	name := strings.TrimRight(string(b), ". ")
	for len(name) > 200 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if c, err := CleanName(name); err == nil {
		return c
	}
	return "item"
}

// FileWrite is a file written by path in one request.
type FileWrite struct {
	LibraryID   string // "" for the default library
	Path        string
	Body        io.Reader
	Size        int64 // -1 when unknown; the limit holds while reading either way
	ContentType string
	// Conflict says what a file already at the path does: "" (or
	// ConflictOverwrite) takes a new version; ConflictRename makes a new
	// file under a free name beside it (name_1.ext, …).
	Conflict Conflict
}

// WriteFile writes a file by path, making the folders above it: a new
// file, or a new version of the file there (the same bytes are
// unchanged), or with ConflictRename a new file beside it. A folder at
// the path is refused. The body streams to the
// blob store and is never held whole in memory.
func (s *Service) WriteFile(ctx context.Context, w FileWrite) (*Upserted, error) {
	defer s.pinWrites()() // its blobs, until its transaction ends
	p, err := need(ctx, shelf.ScopeWrite)
	if err != nil {
		return nil, err
	}
	d := Doc{Path: w.Path, ContentType: w.ContentType}
	if d.Path, err = CleanPath(w.Path); err != nil {
		return nil, err
	}
	if err := CheckMediaType(d.ContentType); err != nil {
		return nil, err
	}
	switch w.Conflict {
	case "", ConflictOverwrite, ConflictRename:
	default:
		return nil, shelf.Errorf(shelf.EINVALID, "a write by path overwrites or renames, not %q", w.Conflict)
	}
	lib, err := s.library(ctx, p, w.LibraryID)
	if err != nil {
		return nil, err
	}
	// Refuse a path that cannot take a file before reading the body; the
	// write transaction checks again.
	err = s.store.View(ctx, func(tx shelf.Tx) error {
		if err := checkFilePathTx(ctx, tx, p, lib, d.Path); err != nil {
			return err
		}
		if it, err := tx.ItemByPath(ctx, p.WorkspaceID, lib.ID, d.Path); err == nil && it.AttachmentOf() != "" {
			return errAttachmentPath(it.Path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c, err := s.putBlob(ctx, w.Body, w.Size, false)
	if err != nil {
		return nil, err
	}
	var out *Upserted
	err = s.store.Update(ctx, func(tx shelf.Tx) error {
		if w.Conflict == ConflictRename {
			out, err = s.createAtTx(ctx, tx, p, lib, &d, &c, ConflictRename)
		} else {
			out, err = s.upsertTx(ctx, tx, p, lib, &d, &c)
		}
		return err
	})
	return out, err
}

// checkFilePathTx refuses a path (clean) that is a folder, or that has a
// file where one of its folders would be.
func checkFilePathTx(ctx context.Context, tx shelf.Tx, p *shelf.Principal, lib *shelf.Library, path string) error {
	segs := strings.Split(NameKey(path), "/")
	for i := range segs {
		sub := strings.Join(segs[:i+1], "/")
		it, err := tx.ItemByPath(ctx, p.WorkspaceID, lib.ID, sub)
		switch {
		case shelf.ErrorCode(err) == shelf.ENOTFOUND:
			return nil // the rest is made as needed
		case err != nil:
			return err
		case i < len(segs)-1 && it.Type != shelf.TypeFolder:
			return shelf.Errorf(shelf.ECONFLICT, "%q is a file, not a folder", sub)
		case i == len(segs)-1 && it.Type == shelf.TypeFolder:
			return shelf.Errorf(shelf.EINVALID, "%q is a folder", sub)
		}
	}
	return nil
}
