package informer

import (
	"net/http"
	"time"

	shelf "github.com/shelfmem/shelf"
	shelfhttp "github.com/shelfmem/shelf/http"
	"github.com/shelfmem/shelf/index/extract"
	"github.com/shelfmem/shelf/library"
)

// wireErrors maps the core's codes to HTTP statuses; the body is Boom's.
var wireErrors = shelfhttp.ErrorTable{
	shelf.EINVALID:      {Status: http.StatusBadRequest},
	shelf.ENOTIMPL:      {Status: http.StatusBadRequest},
	shelf.EUNAUTHORIZED: {Status: http.StatusUnauthorized},
	shelf.EFORBIDDEN:    {Status: http.StatusForbidden},
	shelf.ENOTFOUND:     {Status: http.StatusNotFound},
	shelf.ECONFLICT:     {Status: http.StatusConflict},
	shelf.EGONE:         {Status: http.StatusGone},
	shelf.ETOOLARGE:     {Status: http.StatusRequestEntityTooLarge},
	shelf.EINSUFFICIENT: {Status: http.StatusInsufficientStorage},
	shelf.EUNAVAILABLE:  {Status: http.StatusServiceUnavailable},
	shelf.ETIMEOUT:      {Status: http.StatusGatewayTimeout},
	shelf.ERATELIMIT:    {Status: http.StatusTooManyRequests},
	shelf.EINTERNAL:     {Status: http.StatusInternalServerError},
}

// errorBody is Boom's error payload.
type errorBody struct {
	StatusCode int    `json:"statusCode"`
	Error      string `json:"error"`
	Message    string `json:"message"`
}

func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	we, msg := wireErrors.Resolve(h.srv, w, r, err, "informer", "An internal server error occurred")
	shelfhttp.WriteJSON(w, we.Status, errorBody{StatusCode: we.Status, Error: http.StatusText(we.Status), Message: msg})
}

// link is a HAL link.
type link struct {
	Href      string `json:"href"`
	Templated bool   `json:"templated,omitempty"`
}

// libraryJSON is a library as Informer shows it.
type libraryJSON struct {
	Links           map[string]link `json:"_links,omitempty"`
	ID              string          `json:"id"`
	Type            string          `json:"type"`
	Name            string          `json:"name"`
	Slug            string          `json:"slug"`
	NaturalID       string          `json:"naturalId"`
	Description     string          `json:"description"`
	OwnerID         string          `json:"ownerId"`
	Shared          bool            `json:"shared"`
	AssistantAccess bool            `json:"assistantAccess"`
	Embedded        bool            `json:"embedded"`
	SyncedAt        *time.Time      `json:"syncedAt"`
	SyncInterval    *int            `json:"syncInterval"`
	CreatedAt       time.Time       `json:"createdAt"`
	UpdatedAt       time.Time       `json:"updatedAt"`
}

func toLibrary(l *shelf.Library) libraryJSON {
	slug := library.NaturalID(l)
	self := "/api/libraries/" + l.ID
	return libraryJSON{
		Links: map[string]link{"self": {Href: self}, "inf:files": {Href: self + "/files"},
			"inf:snapshots": {Href: self + "/snapshots"}},
		ID: l.ID, Type: "local", Name: l.Name, Slug: slug, NaturalID: naturalID(l), Description: l.Description,
		OwnerID: l.WorkspaceID, Shared: l.Shared, Embedded: l.Embedded, CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt,
	}
}

// naturalID is Informer's owner:slug; the owner of a Shelf library is its
// workspace. A library without a slug has none.
func naturalID(l *shelf.Library) string {
	if slug := library.NaturalID(l); slug != "" {
		return l.WorkspaceID + ":" + slug
	}
	return ""
}

// fileJSON is a file or directory as Informer shows it.
type fileJSON struct {
	ID                      string     `json:"id"`
	Filename                string     `json:"filename"`
	Path                    string     `json:"path"`
	LibraryID               string     `json:"libraryId"`
	ParentID                *string    `json:"parentId"`
	Directory               bool       `json:"directory"`
	ContentType             *string    `json:"contentType"`
	Size                    int64      `json:"size"`
	Indexed                 bool       `json:"indexed"`
	IndexingState           string     `json:"indexingState,omitempty"`
	IndexedAt               *time.Time `json:"indexedAt"`
	IndexingStartedAt       *time.Time `json:"indexingStartedAt"`
	IndexingErroredAt       *time.Time `json:"indexingErroredAt"`
	IndexingErrorMessage    *string    `json:"indexingErrorMessage"`
	ModifiedAt              time.Time  `json:"modifiedAt"`
	CreatedAt               time.Time  `json:"createdAt"`
	RemoteURL               *string    `json:"remoteUrl"`
	RemoteID                *string    `json:"remoteId"`
	OwnerID                 string     `json:"ownerId"`
	Embedded                bool       `json:"embedded"`
	ExpiresAt               *time.Time `json:"expiresAt"`
	CanIndex                bool       `json:"canIndex"`
	Version                 int64      `json:"version,omitempty"`
	RunningDescendantsCount *int       `json:"runningDescendantsCount,omitempty"`
}

// remoteURLKey is the x_attr that holds a file's remoteUrl.
const remoteURLKey = "remoteUrl"

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// toFile shapes an item of lib. A file of an embedded library reads as
// indexed, as Informer's do: they are never indexed and need not be.
func toFile(lib *shelf.Library, it *shelf.Item) fileJSON {
	f := fileJSON{ID: it.ID, Filename: it.Name, Path: "/" + it.Path, LibraryID: it.LibraryID,
		Directory: it.Type == shelf.TypeFolder, Size: it.Size, IndexingState: it.Index.State,
		IndexedAt: timePtr(it.Index.IndexedAt), IndexingStartedAt: timePtr(it.Index.StartedAt),
		IndexingErroredAt: timePtr(it.Index.ErroredAt), IndexingErrorMessage: strPtr(it.Index.Error),
		ModifiedAt: it.UpdatedAt, CreatedAt: it.CreatedAt, RemoteURL: strPtr(it.XAttrs[remoteURLKey]),
		OwnerID: it.Owner, Embedded: lib.Embedded, Version: it.Head}
	if it.ParentID != "" && it.ParentID != lib.RootID {
		f.ParentID = &it.ParentID
	}
	if f.OwnerID == "" {
		f.OwnerID = it.WorkspaceID
	}
	if it.Type == shelf.TypeFile {
		f.ContentType = &it.ContentType
		f.Indexed = it.Index.State == shelf.IndexIndexed || lib.Embedded
		f.CanIndex = !lib.Embedded && extract.Supported(it.ContentType, it.Name)
	}
	return f
}

// indexedJSON is F11's status.
type indexedJSON struct {
	Indexed              bool       `json:"indexed"`
	State                string     `json:"state"`
	IndexedAt            *time.Time `json:"indexedAt"`
	IndexingStartedAt    *time.Time `json:"indexingStartedAt"`
	IndexingErroredAt    *time.Time `json:"indexingErroredAt"`
	IndexingErrorMessage *string    `json:"indexingErrorMessage"`
}

func toIndexed(lib *shelf.Library, it *shelf.Item) indexedJSON {
	f := toFile(lib, it)
	return indexedJSON{Indexed: f.Indexed, State: it.Index.State, IndexedAt: f.IndexedAt, IndexingStartedAt: f.IndexingStartedAt,
		IndexingErroredAt: f.IndexingErroredAt, IndexingErrorMessage: f.IndexingErrorMessage}
}

// snapshotJSON is a snapshot as Informer shows it.
type snapshotJSON struct {
	ID        string    `json:"id"`
	Trigger   string    `json:"trigger"`
	FileCount int       `json:"fileCount"`
	CreatedAt time.Time `json:"createdAt"`
}

func toSnapshot(sn *shelf.Snapshot) snapshotJSON {
	return snapshotJSON{ID: sn.ID, Trigger: sn.Trigger, FileCount: sn.FileCount, CreatedAt: sn.CreatedAt}
}
