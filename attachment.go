package shelf

import (
	"encoding/json"
	"strconv"
	"strings"
)

// An attachment is a file a document names by URL at ingest. It is an item
// of the document's library whose external id is a key AttachmentKey
// makes from the document's item id: its identity is its relation to the
// document, never a string a client can spell. The key's separator is
// U+001F, a control character, and client external ids may hold none, so
// no client id ever equals an attachment's key, whatever it looks like
// (`rev#y.txt`, a URL with a fragment). Stores keep external ids as opaque
// strings; only this file knows the key's form.
const attachmentSep = "\x1f"

// AttachmentKey returns the external id of the n-th attachment (n from 1)
// named name of the document whose item id is docID: n counts the
// attachments of that name in one ingest request, so two `y.txt` of one
// request are two items, and the same request again finds the same two.
func AttachmentKey(docID, name string, n int) string {
	return AttachmentPrefix(docID) + name + attachmentSep + strconv.Itoa(n)
}

// AttachmentPrefix returns what every attachment key of the document
// docID starts with, and no other external id does: item ids hold no
// separator.
func AttachmentPrefix(docID string) string { return docID + attachmentSep }

// ParseAttachmentKey splits an attachment key into the document's item
// id, the file name and the occurrence number; ok is false for any other
// external id.
func ParseAttachmentKey(key string) (docID, name string, n int, ok bool) {
	docID, rest, ok := strings.Cut(key, attachmentSep)
	if !ok || docID == "" {
		return "", "", 0, false
	}
	name, num, ok := strings.Cut(rest, attachmentSep)
	if !ok || name == "" || strings.Contains(num, attachmentSep) {
		return "", "", 0, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || strconv.Itoa(n) != num {
		return "", "", 0, false
	}
	return docID, name, n, true
}

// AttachmentOf returns the item id of the document it is an attachment
// of, or "" when it is none.
func (it *Item) AttachmentOf() string {
	doc, _, _, ok := ParseAttachmentKey(it.ExternalID)
	if !ok {
		return ""
	}
	return doc
}

// ItemView is an item as JSON shows it: its fields, except that an
// attachment's reserved key is left out and AttachmentOf names its
// document instead. Item's MarshalJSON writes one, so no item ever shows
// the key; a list of many items marshals their views directly, which
// spares encoding/json's second pass over every MarshalJSON's output
// (it more than doubles the cost of a page).
type ItemView struct {
	itemFields
	ExternalID   string `json:"external_id,omitempty"` // the item's, "" for an attachment
	AttachmentOf string `json:"attachment_of,omitempty"`
}

// itemFields is Item without its methods, so that its fields marshal
// plainly inside an ItemView.
type itemFields Item

// View returns how JSON shows it.
func (it *Item) View() ItemView {
	v := ItemView{itemFields: itemFields(*it), ExternalID: it.ExternalID}
	if doc := it.AttachmentOf(); doc != "" {
		v.ExternalID, v.AttachmentOf = "", doc
	}
	return v
}

// MarshalJSON writes its View: an attachment's reserved key is never
// shown.
func (it Item) MarshalJSON() ([]byte, error) { return json.Marshal(it.View()) }
