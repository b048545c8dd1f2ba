package memorylake

import (
	"net/http"
	"strings"
	"time"

	shelf "github.com/shelfmem/shelf"
	shelfhttp "github.com/shelfmem/shelf/http"
)

// MySpace is the alias MemoryLake accepts wherever an item id is: the
// caller's default library root.
const MySpace = "MY_SPACE"

// okMessage is the message of the answers that carry no data.
const okMessage = "Operation completed successfully"

// success is the envelope of every successful JSON answer.
type success struct {
	Success bool   `json:"success"`
	Message string `json:"message,omitempty"`
	Data    any    `json:"data,omitempty"`
}

// failure is the envelope of every error answer.
type failure struct {
	Success   bool   `json:"success"`
	Message   string `json:"message"`
	ErrorCode string `json:"error_code"`
}

// wireError is how MemoryLake spells one of the core's error codes.
// wireErrors is the one table from the core's codes to MemoryLake's. A
// code missing here is answered as EINTERNAL.
var wireErrors = shelfhttp.ErrorTable{
	shelf.EINVALID:      {Status: http.StatusBadRequest, Code: "INVALID_ARGUMENT"},
	shelf.ETOOLARGE:     {Status: http.StatusBadRequest, Code: "INVALID_ARGUMENT"}, // a size outside the limits is a bad argument
	shelf.ENOTIMPL:      {Status: http.StatusBadRequest, Code: "INVALID_ARGUMENT"}, // the download route says DOWNLOAD_NOT_SUPPORTED
	shelf.ENOTFOUND:     {Status: http.StatusNotFound, Code: "NOT_FOUND"},
	shelf.EGONE:         {Status: http.StatusNotFound, Code: "NOT_FOUND"}, // MemoryLake has no "gone": start over
	shelf.ECONFLICT:     {Status: http.StatusConflict, Code: "DRIVE_ITEM_CONFLICT"},
	shelf.EFORBIDDEN:    {Status: http.StatusForbidden, Code: "ACCESS_DENIED"},
	shelf.EUNAUTHORIZED: {Status: http.StatusUnauthorized, Code: "UNAUTHORIZED"},
	shelf.EINSUFFICIENT: {Status: http.StatusPaymentRequired, Code: "QUOTA_EXCEEDED"},
	shelf.EUNAVAILABLE:  {Status: http.StatusServiceUnavailable, Code: "SERVICE_UNAVAILABLE"},
	shelf.ERATELIMIT:    {Status: http.StatusTooManyRequests, Code: "RATE_LIMIT_EXCEEDED"},
	shelf.EINTERNAL:     {Status: http.StatusInternalServerError, Code: "INTERNAL_ERROR"},
}

// Fixed messages for the codes whose detail is not the client's business,
// or whose wording MemoryLake documents.
const (
	msgUnauthorized = "Invalid or missing API key"
	msgInternal     = "Internal server error"
	msgNoDownload   = "This resource does not support download"
)

// writeError answers err in MemoryLake's error envelope. It is also the
// dialect's WriteError, which the auth middleware calls for 401 and 403 on
// these routes.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	we, msg := wireErrors.Resolve(h.srv, w, r, err, "memorylake", msgInternal)
	if shelf.ErrorCode(err) == shelf.EUNAUTHORIZED {
		msg = msgUnauthorized
	}
	writeFailure(w, we.Status, we.Code, msg)
}

func writeFailure(w http.ResponseWriter, status int, code, msg string) {
	shelfhttp.WriteJSON(w, status, failure{Success: false, Message: msg, ErrorCode: code})
}

func writeData(w http.ResponseWriter, data any) {
	shelfhttp.WriteJSON(w, http.StatusOK, success{Success: true, Data: data})
}

func writeOK(w http.ResponseWriter) {
	shelfhttp.WriteJSON(w, http.StatusOK, success{Success: true, Message: okMessage})
}

// item is a Library item as Get Item and List Items show it.
type item struct {
	ItemID       string            `json:"item_id"`
	Name         string            `json:"name"`
	Type         string            `json:"type"` // "file" or "directory"
	Size         *int64            `json:"size,omitempty"`
	ETag         string            `json:"etag,omitempty"`
	ParentItemID *string           `json:"parent_item_id"` // null for a root
	CreatedAt    string            `json:"created_at"`
	UpdatedAt    string            `json:"updated_at"`
	XAttrs       map[string]string `json:"x_attrs"`
}

// toItem shows it; keys, when not nil, select the x_attrs shown.
func toItem(it *shelf.Item, keys []string) item {
	out := item{ItemID: it.ID, Name: it.Name, Type: "directory",
		CreatedAt: timestamp(it.CreatedAt), UpdatedAt: timestamp(it.UpdatedAt), XAttrs: map[string]string{}}
	if it.Type == shelf.TypeFile {
		size := it.Size
		out.Type, out.Size, out.ETag = "file", &size, it.Hash
	}
	if it.ParentID != "" {
		parent := it.ParentID
		out.ParentItemID = &parent
	}
	if keys == nil {
		for k, v := range it.XAttrs {
			out.XAttrs[k] = v
		}
	} else {
		for _, k := range keys {
			if v, ok := it.XAttrs[k]; ok {
				out.XAttrs[k] = v
			}
		}
	}
	return out
}

// timestamp formats t as the docs do: RFC 3339, UTC, whole seconds.
func timestamp(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// splitList splits a comma-separated query value (the comma may arrive
// URL-encoded as %2C), dropping empty entries.
func splitList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			if s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// mapped is f of every element of xs, in order; never nil, so that an
// empty list is [] on the wire.
func mapped[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}
