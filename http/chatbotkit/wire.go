package chatbotkit

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	shelf "github.com/shelfmem/shelf"
	shelfhttp "github.com/shelfmem/shelf/http"
	"github.com/shelfmem/shelf/library"
)

// failure is ChatBotKit's error body: {"message","code"}.
type failure struct {
	Message string `json:"message"`
	Code    string `json:"code"`
}

// wireErrors is the one table from the core's codes to ChatBotKit's
// statuses and codes (its @chatbotkit-dev/http-codes table). A file over
// the size limit is LIMITS_REACHED, as the docs say.
var wireErrors = shelfhttp.ErrorTable{
	shelf.EINVALID:      {Status: http.StatusBadRequest, Code: "BAD_REQUEST"},
	shelf.EUNAUTHORIZED: {Status: http.StatusUnauthorized, Code: "NOT_AUTHENTICATED"},
	shelf.EFORBIDDEN:    {Status: http.StatusForbidden, Code: "NOT_AUTHORIZED"},
	shelf.ENOTFOUND:     {Status: http.StatusNotFound, Code: "NOT_FOUND"},
	shelf.EGONE:         {Status: http.StatusNotFound, Code: "NOT_FOUND"},
	shelf.ECONFLICT:     {Status: http.StatusConflict, Code: "CONFLICT"},
	shelf.ETOOLARGE:     {Status: http.StatusTooManyRequests, Code: "LIMITS_REACHED"},
	shelf.ETIMEOUT:      {Status: http.StatusGatewayTimeout, Code: "GATEWAY_TIMEOUT"},
	shelf.ENOTIMPL:      {Status: http.StatusNotImplemented, Code: "NOT_IMPLEMENTED"},
	shelf.EUNAVAILABLE:  {Status: http.StatusServiceUnavailable, Code: "SERVICE_UNAVAILABLE"},
	shelf.EINSUFFICIENT: {Status: http.StatusInsufficientStorage, Code: "INSUFFICIENT_STORAGE"},
	shelf.ERATELIMIT:    {Status: http.StatusTooManyRequests, Code: "LIMITS_REACHED"},
	shelf.EINTERNAL:     {Status: http.StatusInternalServerError, Code: "INTERNAL_SERVER_ERROR"},
}

const (
	codeMethodNotAllowed = "METHOD_NOT_ALLOWED"
	msgInternal          = "Internal server error"
)

// writeError answers err in ChatBotKit's format; 403 and 429 carry the
// code in X-Failure-Code as well, as ChatBotKit's do.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	we, msg := wireErrors.Resolve(h.srv, w, r, err, "chatbotkit", msgInternal)
	writeFailure(w, we.Status, we.Code, msg)
}

func writeFailure(w http.ResponseWriter, status int, code, msg string) {
	if status == http.StatusForbidden || status == http.StatusTooManyRequests {
		w.Header().Set("X-Failure-Code", code)
	}
	shelfhttp.WriteJSON(w, status, failure{Message: msg, Code: code})
}

// space is a space as ChatBotKit shows it. Times are milliseconds.
type space struct {
	ID          string          `json:"id"`
	Alias       string          `json:"alias,omitempty"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Meta        json.RawMessage `json:"meta,omitempty"`
	BlueprintID string          `json:"blueprintId,omitempty"`
	ContactID   string          `json:"contactId,omitempty"`
	CreatedAt   int64           `json:"createdAt"`
	UpdatedAt   int64           `json:"updatedAt"`
}

// The x_attrs a space keeps ChatBotKit's associations in.
const (
	attrBlueprint = "blueprintId"
	attrContact   = "contactId"
)

func toSpace(l *shelf.Library) space {
	return space{ID: l.ID, Alias: library.NaturalID(l), Name: l.Name, Description: l.Description, Meta: l.Metadata,
		BlueprintID: l.XAttrs[attrBlueprint], ContactID: l.XAttrs[attrContact],
		CreatedAt: l.CreatedAt.UnixMilli(), UpdatedAt: l.UpdatedAt.UnixMilli()}
}

// idOnly is the answer of create, update and delete.
type idOnly struct {
	ID string `json:"id"`
}

// spaceList is the answer of list: cursor is the last item's id, absent
// on an empty page.
type spaceList struct {
	Items  []space `json:"items"`
	Cursor string  `json:"cursor,omitempty"`
}

// streamItem is one line of a list streamed as JSON lines.
type streamItem struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

// streamResult ends a stream: the cursor of its last item ("" for none).
type streamResult struct {
	Cursor string `json:"cursor,omitempty"`
}

// storageItem is an entry of a storage listing. The spec names the path
// id "id" and ChatBotKit's server "pathId": both are given.
type storageItem struct {
	ID          string `json:"id"`
	PathID      string `json:"pathId"`
	Path        string `json:"path"`
	Size        int64  `json:"size"`
	UpdatedAt   int64  `json:"updatedAt"`
	IsDirectory bool   `json:"isDirectory"`
}

type storageList struct {
	Items     []storageItem `json:"items"`
	NextToken string        `json:"nextToken,omitempty"`
}

// uploaded is the answer of an upload; UploadRequest only for the
// two-stage form.
type uploaded struct {
	ID            string         `json:"id"`
	Path          string         `json:"path"`
	UploadRequest *uploadRequest `json:"uploadRequest,omitempty"`
}

type uploadRequest struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
}

type pathOnly struct {
	Path string `json:"path"`
}

type downloadLink struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// PathID is the id of a path: its standard, padded base64, what Node's
// Buffer.from(path).toString('base64') and Python's b64encode give (and
// the docs' example, cGhvdG9zL3Byb2ZpbGUucG5n), so a client's own
// encoding of a path matches the id Shelf answers.
func PathID(path string) string { return base64.StdEncoding.EncodeToString([]byte(path)) }

// DecodePathID reads a path id in the standard or the URL-safe alphabet,
// with or without padding.
func DecodePathID(id string) (string, error) {
	s := strings.TrimRight(id, "=")
	s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil || len(id)-len(s) > 2 {
		return "", shelf.Errorf(shelf.EINVALID, "the path id %q is not base64", truncate(id, 64))
	}
	return string(b), nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
