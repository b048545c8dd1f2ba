package memoryinc

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"

	shelf "github.com/shelfmem/shelf"
	shelfhttp "github.com/shelfmem/shelf/http"
	"github.com/shelfmem/shelf/library"
)

// failure is the envelope of every error answer: {"ok":false,"error":{…}}.
type failure struct {
	OK    bool      `json:"ok"`
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// wireError is how this dialect spells one of the core's error codes.
// wireErrors is the one table from the core's codes to the dialect's. A
// code missing here is answered as EINTERNAL.
var wireErrors = shelfhttp.ErrorTable{
	shelf.EINVALID:      {Status: http.StatusBadRequest, Code: "invalid_request"},
	shelf.ENOTIMPL:      {Status: http.StatusBadRequest, Code: "not_supported"},
	shelf.EUNAUTHORIZED: {Status: http.StatusUnauthorized, Code: "unauthorized"},
	shelf.EFORBIDDEN:    {Status: http.StatusForbidden, Code: "forbidden"}, // a scope too small, or an attachment at an internal address
	shelf.ENOTFOUND:     {Status: http.StatusNotFound, Code: "not_found"},
	shelf.ECONFLICT:     {Status: http.StatusConflict, Code: "conflict"},
	shelf.EGONE:         {Status: http.StatusGone, Code: "gone"},
	shelf.ETOOLARGE:     {Status: http.StatusRequestEntityTooLarge, Code: "too_large"},
	shelf.EINTERNAL:     {Status: http.StatusInternalServerError, Code: "internal"},
	shelf.EUNAVAILABLE:  {Status: http.StatusServiceUnavailable, Code: "unavailable"},
	shelf.ETIMEOUT:      {Status: http.StatusGatewayTimeout, Code: "timeout"},
	shelf.EINSUFFICIENT: {Status: http.StatusInsufficientStorage, Code: "insufficient_storage"},
	shelf.ERATELIMIT:    {Status: http.StatusTooManyRequests, Code: "rate_limited"},
}

// Answers that come from the router rather than the core, and the fixed
// message of an internal error.
const (
	codeMethodNotAllowed = "method_not_allowed"
	msgInternal          = "internal error"
)

// writeError answers err in the dialect's error envelope. It is also the
// dialect's WriteError, which the auth middleware calls for 401 and 403.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	we, msg := wireErrors.Resolve(h.srv, w, r, err, "shelf", msgInternal)
	writeFailure(w, we.Status, we.Code, msg)
}

func writeFailure(w http.ResponseWriter, status int, code, msg string) {
	shelfhttp.WriteJSON(w, status, failure{OK: false, Error: errorBody{Code: code, Message: msg}})
}

// ingested is the answer of POST /sources/api/ingest.
type ingested struct {
	OK           bool   `json:"ok"`
	Status       string `json:"status"` // indexed or unchanged
	SourceID     string `json:"source_id"`
	SourceItemID string `json:"source_item_id"`
	VersionID    string `json:"version_id"`
	// Attachments is present only when the request carried the field.
	Attachments *[]attachmentResult `json:"attachments,omitempty"`
}

type attachmentResult struct {
	URL          string `json:"url"`
	Filename     string `json:"filename"`
	Status       string `json:"status"` // indexed, unchanged or failed
	SourceItemID string `json:"source_item_id,omitempty"`
	Error        string `json:"error,omitempty"`
}

// listed is the answer of GET /sources/api/items.
type listed struct {
	OK    bool   `json:"ok"`
	Count int    `json:"count"`
	Items []item `json:"items"`
}

// Delete behaviours, as the list shows them.
const (
	behaviorHardDelete = "hard_delete"
	behaviorHide       = "hide"
)

// item is an ingested item as the list shows it: the documented fields,
// then Shelf's extras.
type item struct {
	ID             string          `json:"id"`
	ExternalID     *string         `json:"external_id"` // null for an item keyed by path, and for an attachment
	SourceName     string          `json:"source_name"`
	SourceType     string          `json:"source_type"`
	Title          string          `json:"title"`
	Scope          string          `json:"scope"`
	Hidden         bool            `json:"hidden"`
	DeleteBehavior string          `json:"delete_behavior"`
	SourceID       string          `json:"source_id"`
	Path           string          `json:"path"`
	Metadata       json.RawMessage `json:"metadata"` // an object, or null
	Version        int64           `json:"version"`  // the head version's number
	VersionID      string          `json:"version_id"`
	ContentType    string          `json:"content_type"`
	Size           int64           `json:"size"`
	SHA256         string          `json:"sha256"`
	CreatedAt      string          `json:"created_at"`
	UpdatedAt      string          `json:"updated_at"`
	AttachmentOf   *string         `json:"attachment_of"` // an attachment's document (its id), else null
}

func toItem(f library.Found) item {
	it := f.Item
	ext, doc := keyOf(it)
	out := item{ID: it.ID, ExternalID: ext, AttachmentOf: doc, Title: it.Title, Scope: it.Scope,
		Hidden: it.Hidden, Path: it.Path, Metadata: it.Metadata, Version: it.Head,
		ContentType: it.ContentType, Size: it.Size, SHA256: it.Hash,
		CreatedAt: timestamp(it.CreatedAt), UpdatedAt: timestamp(it.UpdatedAt)}
	if f.Version != nil {
		out.VersionID = f.Version.ID
	}
	if f.Source != nil {
		out.SourceID, out.SourceName, out.SourceType = f.Source.ID, f.Source.Name, f.Source.SourceType
		out.DeleteBehavior = deleteBehavior(f.Source)
	}
	return out
}

// deleteBehavior names what RemoveItems does to the items of src.
func deleteBehavior(src *shelf.Library) string {
	if library.HardDeletes(src) {
		return behaviorHardDelete
	}
	return behaviorHide
}

// removed is the answer of DELETE /sources/api/items.
type removed struct {
	OK          bool      `json:"ok"`
	Matched     int       `json:"matched"`
	HardDeleted []removal `json:"hard_deleted"`
	Hidden      []removal `json:"hidden"`
}

type removal struct {
	ID           string  `json:"id"`
	ExternalID   *string `json:"external_id"`
	SourceName   string  `json:"source_name"`
	Path         string  `json:"path"`
	AttachmentOf *string `json:"attachment_of"`
}

func toRemovals(fs []library.Found) []removal {
	out := make([]removal, len(fs))
	for i, f := range fs {
		ext, doc := keyOf(f.Item)
		out[i] = removal{ID: f.Item.ID, ExternalID: ext, AttachmentOf: doc, Path: f.Item.Path}
		if f.Source != nil {
			out[i].SourceName = f.Source.Name
		}
	}
	return out
}

// keyOf returns what the wire shows of an item's key: its external id,
// or, for an attachment, whose key is never shown, null and the item id
// of its document.
func keyOf(it *shelf.Item) (externalID, attachmentOf *string) {
	if doc := it.AttachmentOf(); doc != "" {
		return nil, &doc
	}
	return nullable(it.ExternalID), nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// timestamp formats t as RFC 3339 in UTC with the store's full precision,
// so that a created_at read from the list can be sent back as a bound.
func timestamp(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// isoTime is the grammar of the times created_after and created_before
// take (after upper-casing: t and z are T and Z), the common forms of ISO
// 8601: a date, extended (2026-12-07) or basic (20261207), alone or with a
// time after T or a space, in the same format: hh:mm, hh:mm:ss or
// hhmm, hhmmss, seconds with an optional fraction after "." or ",", then
// an optional offset: Z, ±hh:mm, ±hhmm or ±hh. No offset is UTC.
var isoTime = regexp.MustCompile(`^(?:\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?` + isoZone + `)?` +
	`|\d{8}(?:[T ]\d{4}(?:\d{2}(?:[.,]\d+)?)?` + isoZone + `)?)$`)

const isoZone = `(?:Z|[+-]\d{2}(?::?\d{2})?)?`

// timeLayouts parse what isoTime lets through (a fraction after the
// seconds needs no layout of its own); time.Parse checks the ranges.
var timeLayouts = func() []string {
	var out []string
	for _, date := range []string{"2006-01-02", "20060102"} {
		out = append(out, date)
		for _, sep := range []string{"T", " "} {
			for _, clock := range []string{"15:04:05", "15:04", "150405", "1504"} {
				for _, zone := range []string{"Z07:00", "Z0700", "Z07", ""} {
					out = append(out, date+sep+clock+zone)
				}
			}
		}
	}
	return out
}()

// maxTimeLen caps a time bound; the longest useful one (nanoseconds and
// an offset) is 35 bytes.
const maxTimeLen = 64

// parseTime parses a time bound (isoTime); "" is no bound. In a query
// string an unencoded "+" of an offset arrives as a space: when the
// value does not parse as it is, its last space is read back as "+".
func parseTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if len(v) <= maxTimeLen {
		u := strings.ToUpper(v)
		tries := []string{u}
		if i := strings.LastIndexByte(u, ' '); i >= 0 {
			tries = append(tries, u[:i]+"+"+u[i+1:])
		}
		for _, s := range tries {
			if !isoTime.MatchString(s) {
				continue
			}
			for _, layout := range timeLayouts {
				if t, err := time.Parse(layout, s); err == nil {
					return t.UTC(), nil
				}
			}
		}
	}
	return time.Time{}, shelf.Errorf(shelf.EINVALID,
		"%s must be an ISO 8601 date or time, such as 2026-06-09T10:00:00Z, 2026-06-09T19:00:00+09:00, 2026-06-09 10:00 (UTC) or 2026-06-09, not %q", name, truncate(v, maxTimeLen))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// nonEmpty drops the empty strings of a list of ids.
func nonEmpty(vs []string) []string {
	var out []string
	for _, v := range vs {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// jsonSpace is the white space JSON allows around a value.
const jsonSpace = " \t\r\n"

// decodeContent turns the content field into bytes and a content type: a
// JSON string is its UTF-8 text, typed by name's extension (text/plain
// when it has none); a JSON object or array is stored compact, as
// application/json. Anything else (a number, a boolean, null) is refused.
func decodeContent(raw json.RawMessage, name string) ([]byte, string, error) {
	raw = bytes.Trim(raw, jsonSpace)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, "", shelf.Errorf(shelf.EINVALID, "content (or text) is required: a string, or a JSON object or array")
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, "", shelf.Errorf(shelf.EINVALID, "content is not a valid JSON string")
		}
		return []byte(s), textType(name), nil
	case '{', '[':
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, "", shelf.Errorf(shelf.EINVALID, "content is not valid JSON")
		}
		return buf.Bytes(), "application/json", nil
	}
	return nil, "", shelf.Errorf(shelf.EINVALID, "content must be a string, or a JSON object or array")
}

// textType types text content by its name's extension: Markdown is
// text/markdown (whatever the host's MIME tables say), other known
// extensions take their registered type, and the rest is plain text.
// Text types say their charset, since a JSON string is UTF-8.
func textType(name string) string {
	const plain = "text/plain; charset=utf-8"
	ext := strings.ToLower(path.Ext(name))
	switch ext {
	case "":
		return plain
	case ".md", ".markdown":
		return "text/markdown; charset=utf-8"
	}
	ct := mime.TypeByExtension(ext)
	if ct == "" {
		return plain
	}
	if strings.HasPrefix(ct, "text/") && !strings.Contains(ct, "charset=") {
		ct += "; charset=utf-8"
	}
	return ct
}

// decodePath reads the path field: a string as it is, or an array of
// segments joined with "/". A segment holding "/" is refused, so an array
// always means exactly the folders it lists; the segments' own rules are
// the core's.
func decodePath(raw json.RawMessage) (string, error) {
	raw = bytes.Trim(raw, jsonSpace)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", shelf.Errorf(shelf.EINVALID, "path is not a valid JSON string")
		}
		return s, nil
	case '[':
		var segs []string
		if err := json.Unmarshal(raw, &segs); err != nil {
			return "", shelf.Errorf(shelf.EINVALID, "path must be a string or an array of strings")
		}
		if len(segs) == 0 {
			return "", shelf.Errorf(shelf.EINVALID, "path must have at least one segment")
		}
		for i, s := range segs {
			switch {
			case s == "":
				return "", shelf.Errorf(shelf.EINVALID, "path segment %d is empty", i+1)
			case strings.Contains(s, "/"):
				return "", shelf.Errorf(shelf.EINVALID, "path segment %d must not contain \"/\"", i+1)
			}
		}
		return strings.Join(segs, "/"), nil
	}
	return "", shelf.Errorf(shelf.EINVALID, "path must be a string or an array of strings")
}
