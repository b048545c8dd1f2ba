package informer

import (
	"net/http"
	"time"

	shelf "github.com/shelfmem/shelf"
	shelfhttp "github.com/shelfmem/shelf/http"
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
	OwnerName       string          `json:"ownerName"`
	Shared          bool            `json:"shared"`
	AssistantAccess bool            `json:"assistantAccess"`
	Embedded        bool            `json:"embedded"`
	SyncedAt        *jsTime         `json:"syncedAt"`
	SyncInterval    *int            `json:"syncInterval"`
	CreatedAt       jsTime          `json:"createdAt"`
	UpdatedAt       jsTime          `json:"updatedAt"`
}

// toLibrary shapes a library of the workspace named owner (its ownerName;
// ownerId is the workspace's id).
func toLibrary(l *shelf.Library, owner string) libraryJSON {
	slug := library.NaturalID(l)
	self := "/api/libraries/" + l.ID
	return libraryJSON{
		Links: map[string]link{"self": {Href: self}, "inf:files": {Href: self + "/files"},
			"inf:snapshots": {Href: self + "/snapshots"}},
		ID: l.ID, Type: "local", Name: l.Name, Slug: slug, NaturalID: naturalID(l), Description: l.Description,
		OwnerID: l.WorkspaceID, OwnerName: owner, Shared: l.Shared, AssistantAccess: library.AssistantAccess(l), Embedded: l.Embedded, CreatedAt: jsTime(l.CreatedAt), UpdatedAt: jsTime(l.UpdatedAt),
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
	ID                      string  `json:"id"`
	Filename                string  `json:"filename"`
	Path                    string  `json:"path"`
	LibraryID               string  `json:"libraryId"`
	ParentID                *string `json:"parentId"`
	Directory               bool    `json:"directory"`
	ContentType             *string `json:"contentType"`
	Size                    int64   `json:"size"`
	Indexed                 bool    `json:"indexed"`
	IndexingState           string  `json:"indexingState,omitempty"`
	IndexedAt               *jsTime `json:"indexedAt"`
	IndexingStartedAt       *jsTime `json:"indexingStartedAt"`
	IndexingErroredAt       *jsTime `json:"indexingErroredAt"`
	IndexingErrorMessage    *string `json:"indexingErrorMessage"`
	ModifiedAt              jsTime  `json:"modifiedAt"`
	CreatedAt               jsTime  `json:"createdAt"`
	RemoteURL               *string `json:"remoteUrl"`
	RemoteID                *string `json:"remoteId"`
	OwnerID                 string  `json:"ownerId"`
	Embedded                bool    `json:"embedded"`
	ExpiresAt               *jsTime `json:"expiresAt"`
	CanIndex                bool    `json:"canIndex"`
	Version                 int64   `json:"version,omitempty"`
	RunningDescendantsCount *int    `json:"runningDescendantsCount,omitempty"`
}

// remoteURLKey is the x_attr that holds a file's remoteUrl.
const remoteURLKey = "remoteUrl"

// jsTime is a time as every Informer body writes it, the way JavaScript's
// Date.toISOString does: UTC and exactly three fractional digits
// (2024-02-09T10:05:00.000Z), a fixed width a client can compare as text.
type jsTime time.Time

// jsLayout is Date.toISOString's layout.
const jsLayout = "2006-01-02T15:04:05.000Z"

func (t jsTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(jsLayout) + `"`), nil
}

func timePtr(t time.Time) *jsTime {
	if t.IsZero() {
		return nil
	}
	j := jsTime(t)
	return &j
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
		ModifiedAt: jsTime(it.UpdatedAt), CreatedAt: jsTime(it.CreatedAt), RemoteURL: strPtr(it.XAttrs[remoteURLKey]),
		OwnerID: it.Owner, Embedded: lib.Embedded, Version: it.Head}
	if it.ParentID != "" && it.ParentID != lib.RootID {
		f.ParentID = &it.ParentID
	}
	if f.OwnerID == "" {
		f.OwnerID = it.WorkspaceID
	}
	if it.Type == shelf.TypeFile {
		f.ContentType = &it.ContentType
		// A skipped file (no text to read) reads indexed once indexing
		// was asked for: the request is taken, and canIndex says why
		// nothing is searchable.
		f.Indexed = it.Index.State == shelf.IndexIndexed || lib.Embedded ||
			it.Index.State == shelf.IndexSkipped && !it.Index.IndexedAt.IsZero()
		f.CanIndex = !lib.Embedded && library.Extractable(it)
		if lib.Embedded && f.IndexedAt == nil {
			// Informer sets indexed at once for embedded libraries, which
			// index nothing: the content's own time stands for it.
			f.IndexedAt = timePtr(it.UpdatedAt)
		}
	}
	return f
}

// indexedJSON is F11's status.
type indexedJSON struct {
	Indexed              bool    `json:"indexed"`
	State                string  `json:"state"`
	IndexedAt            *jsTime `json:"indexedAt"`
	IndexingStartedAt    *jsTime `json:"indexingStartedAt"`
	IndexingErroredAt    *jsTime `json:"indexingErroredAt"`
	IndexingErrorMessage *string `json:"indexingErrorMessage"`
}

func toIndexed(lib *shelf.Library, it *shelf.Item) indexedJSON {
	f := toFile(lib, it)
	return indexedJSON{Indexed: f.Indexed, State: it.Index.State, IndexedAt: f.IndexedAt, IndexingStartedAt: f.IndexingStartedAt,
		IndexingErroredAt: f.IndexingErroredAt, IndexingErrorMessage: f.IndexingErrorMessage}
}

// snapshotJSON is a snapshot as Informer shows it.
type snapshotJSON struct {
	ID        string `json:"id"`
	Trigger   string `json:"trigger"`
	FileCount int    `json:"fileCount"`
	CreatedAt jsTime `json:"createdAt"`
}

func toSnapshot(sn *shelf.Snapshot) snapshotJSON {
	return snapshotJSON{ID: sn.ID, Trigger: sn.Trigger, FileCount: sn.FileCount, CreatedAt: jsTime(sn.CreatedAt)}
}
