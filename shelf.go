// Package shelf holds Shelf's domain types, its error type, and the
// interfaces of the adapters that the core (package library) is built on:
// the metadata Store and the BlobStore. It imports only the standard
// library and contains no I/O.
package shelf

import (
	"context"
	"encoding/json"
	"time"
)

// Workspace is the tenant. Every row carries its workspace id and nothing
// crosses workspaces.
type Workspace struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Scope is a permission a key holds. The scopes are ordered: admin implies
// write, write implies read.
type Scope string

const (
	ScopeRead  Scope = "read"
	ScopeWrite Scope = "write"
	ScopeAdmin Scope = "admin"
)

// Rank orders scopes; an unknown scope ranks 0.
func (s Scope) Rank() int {
	switch s {
	case ScopeRead:
		return 1
	case ScopeWrite:
		return 2
	case ScopeAdmin:
		return 3
	}
	return 0
}

// Key is an API key of one workspace. Only the SHA-256 of its secret is
// kept; the secret itself is shown once, when the key is made or rotated.
type Key struct {
	ID          string    `json:"id"`
	WorkspaceID string    `json:"workspace_id"`
	Name        string    `json:"name"`
	Scopes      []Scope   `json:"scopes"`
	Hash        []byte    `json:"-"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`   // zero: never; refused from this instant on
	LastUsedAt  time.Time `json:"last_used_at,omitzero"` // zero: never used (kept about to the minute)
	// RateLimit is the key's own request rate limit; nil: the server's.
	// PerSecond 0 exempts the key.
	RateLimit *RateLimit `json:"rate_limit,omitempty"`
}

// Principal is who a request acts as: a workspace key, the master key
// (which acts in the default workspace unless a route names another), or a
// signed URL that allows exactly one operation.
type Principal struct {
	WorkspaceID string
	KeyID       string // "" for the master key and for signed URLs
	Scope       Scope  // the highest scope held
	Master      bool
	Signed      bool // authenticated by a signed URL rather than a key
	// IssuedBy is, for a signed URL, the id of the key that issued it
	// ("master" for the master key): the URL works only while that key
	// does, and its requests count against that key's rate limit.
	IssuedBy string
	// RateLimit is the own limit of the key the principal acts for (the
	// issuing key for a signed URL); nil: the server's.
	RateLimit *RateLimit
}

// Owner names the principal as the owner of the private items it writes:
// its key id, "master" for the master key, "" for a signed URL.
func (p *Principal) Owner() string {
	switch {
	case p == nil || p.Signed:
		return ""
	case p.Master:
		return "master"
	}
	return p.KeyID
}

// Can reports whether p holds scope s (or a higher one).
func (p *Principal) Can(s Scope) bool { return p != nil && p.Scope.Rank() >= s.Rank() }

type principalKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// Library kinds.
const (
	KindDefault = "default" // the workspace's own tree, root MY_SPACE
	KindSource  = "source"  // one per ingest source
	KindSpace   = "space"   // one per space-storage space
	KindLibrary = "library" // a library made through the library API
	// KindProject is a project's own library: its documents' copies and
	// its memories. It is internal: found only through its project, never
	// listed, and searched only by a search of its project.
	KindProject = "project"
	// KindProjectGroup is a group of projects (MemoryLake's v3
	// workspace). Its tree holds nothing.
	KindProjectGroup = "project_group"
)

// Library is one tree of folders and files in a workspace.
type Library struct {
	ID          string `json:"id"`
	WorkspaceID string `json:"workspace_id"`
	Slug        string `json:"slug"` // natural id, unique per workspace
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Kind        string `json:"kind"`
	Embedded    bool   `json:"embedded"` // never indexed
	Shared      bool   `json:"shared"`
	RootID      string `json:"root_id"` // the root folder item
	// SourceType is, for a source library, where its items come from:
	// "api" for ingest through the API, a connector's name otherwise.
	SourceType string `json:"source_type,omitempty"`
	// Metadata is a JSON object of the caller's, or nil.
	Metadata json.RawMessage `json:"metadata,omitempty"`
	// XAttrs are string attributes a dialect keeps for the library (a
	// space's blueprint and contact ids, for one).
	XAttrs    map[string]string `json:"x_attrs,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// ItemType is folder or file.
type ItemType string

const (
	TypeFolder ItemType = "folder"
	TypeFile   ItemType = "file"
)

// Item visibility (memory.inc's "scope").
const (
	VisibleWorkspace = "workspace" // every key of the workspace sees it
	VisiblePrivate   = "private"   // only the principal that wrote it (Owner) sees it
)

// Item is a folder or a file in a library. Path is the item's full path
// from the library root ("" for the root itself, "a/b.txt" below it) and is
// unique per library. For files the Head* fields describe the head version.
// ExternalID, when set, is the item's natural key in its library (ingest);
// an attachment's is the key AttachmentKey makes, which JSON never shows.
type Item struct {
	ID          string            `json:"id"`
	WorkspaceID string            `json:"workspace_id"`
	LibraryID   string            `json:"library_id"`
	ParentID    string            `json:"parent_id,omitempty"` // "" for a library root
	Type        ItemType          `json:"type"`
	Name        string            `json:"name"`
	Path        string            `json:"path"`
	XAttrs      map[string]string `json:"x_attrs"`
	Head        int64             `json:"version,omitempty"` // head version number; 0 for folders
	Size        int64             `json:"size,omitempty"`
	Hash        string            `json:"sha256,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	ExternalID  string            `json:"external_id,omitempty"`
	Title       string            `json:"title,omitempty"`
	Scope       string            `json:"scope"`              // VisibleWorkspace or VisiblePrivate
	Owner       string            `json:"-"`                  // the Principal.Owner that wrote a private item
	Metadata    json.RawMessage   `json:"metadata,omitempty"` // a JSON object, or nil
	Hidden      bool              `json:"hidden"`
	Index       IndexStatus       `json:"index"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

// VisibleTo reports whether p may see it: private items only to their owner.
func (it *Item) VisibleTo(p *Principal) bool {
	return it.Scope != VisiblePrivate || (it.Owner != "" && it.Owner == p.Owner())
}

// IsRoot reports whether it is a library root.
func (it *Item) IsRoot() bool { return it.ParentID == "" }

// Version is one immutable content state of a file.
type Version struct {
	ID          string    `json:"id"`
	ItemID      string    `json:"item_id"`
	WorkspaceID string    `json:"-"`
	Number      int64     `json:"version"`
	Hash        string    `json:"sha256"`
	Size        int64     `json:"size"`
	ContentType string    `json:"content_type"`
	CreatedAt   time.Time `json:"created_at"`
}

// Upload states.
const (
	UploadOpen       = "open"       // parts are being received
	UploadCommitting = "committing" // the bytes are hashed (Hash set) and being made a blob
	UploadDone       = "done"       // finalized into ItemID at version Version
)

// Upload is a chunked upload session. The server picks the layout: every
// part is PartSize bytes except the last.
type Upload struct {
	ID          string    `json:"id"`
	WorkspaceID string    `json:"-"`
	Size        int64     `json:"size"`
	PartSize    int64     `json:"part_size"`
	State       string    `json:"state"`
	Hash        string    `json:"sha256,omitempty"` // set while committing; the version holds it once done
	ItemID      string    `json:"item_id,omitempty"`
	Version     int64     `json:"version,omitempty"`
	ExpiresAt   time.Time `json:"expires_at"`
	CreatedAt   time.Time `json:"created_at"`
}

// PartCount is the number of parts in the layout.
func (u *Upload) PartCount() int {
	if u.Size <= 0 || u.PartSize <= 0 {
		return 0
	}
	return int((u.Size + u.PartSize - 1) / u.PartSize)
}

// PartRange returns the offset and length of part n (1-based), or ok=false
// when n is outside the layout.
func (u *Upload) PartRange(n int) (off, length int64, ok bool) {
	if n < 1 || n > u.PartCount() {
		return 0, 0, false
	}
	off = int64(n-1) * u.PartSize
	length = u.PartSize
	if off+length > u.Size {
		length = u.Size - off
	}
	return off, length, true
}

// Part is one received part of an upload.
type Part struct {
	UploadID   string    `json:"-"`
	Number     int       `json:"number"`
	Size       int64     `json:"size"`
	ETag       string    `json:"etag"` // unquoted
	ReceivedAt time.Time `json:"received_at"`
}
