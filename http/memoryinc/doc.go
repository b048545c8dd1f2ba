// Package memoryinc speaks memory.inc's Memory API, "Collection &
// management" (its public documentation describes ingest, look-up and
// delete, and nothing else), on Shelf's core, so that a memory.inc client
// works against Shelf by changing its base URL to the server's address.
// It mounts, at the server's root:
//
//	POST   /sources/api/ingest  upsert one document (+ attachments) by external_id or path   (scope write)
//	GET    /sources/api/items   look ingested items up by selectors                          (scope read)
//	DELETE /sources/api/items   delete (api sources) or hide (connector sources) by selectors (scope write)
//
// The package is a translation layer and nothing more: it turns the
// request shapes into library.Doc and library.Selector, calls
// library.Service (Ingest, FindItems, RemoveItems), and turns the answers
// into memory.inc's {"ok":true,…} shapes. Every rule of the domain —
// natural keys, attachments and their identity, defaults (source "API
// ingest", title, scope "workspace"), unchanged-by-hash, private items,
// attachment fetching and its SSRF checks, delete versus hide and what goes
// with a document, the refusal of an empty selector, the cap on a delete —
// is the core's; this package must not add one, touch a store or the
// fetcher, or detail an internal error.
//
// # Choices where memory.inc's documentation is silent
//
// docs/API.md lists the same choices, for clients; the two must agree.
//
// Errors and status codes
//
//   - Success is 200, for indexed and unchanged alike, and for deletes.
//   - Errors are {"ok":false,"error":{"code","message"}}; one table
//     (wireErrors) maps the core's codes: EINVALID 400 invalid_request,
//     ENOTIMPL 400 not_supported, EUNAUTHORIZED 401 unauthorized (with
//     WWW-Authenticate), EFORBIDDEN 403 forbidden (a key without the scope,
//     or an attachment URL at an internal address, before or after a
//     redirect), ENOTFOUND 404 not_found, ECONFLICT 409 conflict (an
//     external_id held by another key's private item; a write onto an
//     attachment's path), EGONE 410 gone, ETOOLARGE 413 too_large (an
//     attachment over the fetch cap, content over the maximum file size, a
//     body over its cap, a delete of more than 10,000 items), ERATELIMIT
//     429 rate_limited (with Retry-After), EUNAVAILABLE 503 unavailable,
//     ETIMEOUT 504 timeout, EINSUFFICIENT 507 insufficient_storage,
//     EINTERNAL 500 internal with a fixed message (the cause is logged,
//     never sent).
//   - Another path under /sources/api/ is 404 not_found; a known path with
//     another method is 405 method_not_allowed with an Allow header. Both
//     come after authentication, like every route.
//
// Ingest
//
//   - The body is capped at 8 MiB (MaxIngestJSON, or the server's JSON cap
//     if larger): the content travels inside the JSON and is held in
//     memory to decode it anyway. Larger files belong to the upload APIs.
//     The core's maximum file size still applies to the content.
//   - content and text are aliases; sending both is 400. A JSON string is
//     stored as its UTF-8 bytes, exactly as given. Its content type comes
//     from the extension of the item's name (the path's last segment, else
//     the external_id): .md and .markdown are text/markdown, other
//     extensions take their registered MIME type, and no extension (or an
//     unknown one) is text/plain; text types carry charset=utf-8. The
//     content is never sniffed: a Markdown-looking document keyed
//     "doc-2026-06-09-001" is text/plain (Markdown is plain text to every
//     reader); name it ….md to have it typed text/markdown.
//   - A JSON object or array is stored compact (json.Compact) as
//     application/json, so the same JSON with other whitespace is
//     unchanged. Key order is kept, so reordered keys are a new version.
//     A number, a boolean or null is 400; an empty string is 400 (the core
//     refuses empty content).
//   - path is a string, or an array of segments joined with "/"; an empty
//     array, an empty segment or a segment holding "/" is 400, so an array
//     always means exactly the folders it lists. The path's rules (relative,
//     no "."/"..", no control characters, …) are the core's: "/docs/a.md"
//     is refused, not trimmed. Neither external_id nor path is 400; an
//     external_id over 512 bytes or with a control character is 400.
//   - Unknown body fields are ignored. metadata must be a JSON object; the
//     core refuses anything else. A re-ingest that leaves out title, scope
//     or metadata (or sends metadata null) keeps the item's; {} clears the
//     metadata. The dialect sends no defaults of its own: a new item's title
//     (the external_id, else the file name), scope ("workspace") and source
//     ("API ingest") are the core's. A hidden item stays hidden when it is
//     ingested again (the core's rule).
//   - attachments: at most 10, each at most the fetch cap, fetched during
//     the request. A URL that breaks a rule (not http(s), an internal
//     address, a redirect to one, over the size cap, not finished in time)
//     refuses the whole request and nothing is written; an attachment whose
//     server fails (an error status, a refused connection, an unknown host)
//     is reported with status "failed" and an error, and the document and
//     the other attachments are ingested. The answer's attachments list is
//     present whenever the request carried an attachments array, even an
//     empty one (so a client can always iterate it), and absent otherwise;
//     it has one entry per attachment sent, in order: the URL echoed as
//     sent, filename the attachment's file name (the filename sent, else
//     the name the server or the URL gives, made a valid file name, or
//     attachment-N for the N-th attachment when none can be made), status
//     and source_item_id.
//   - An attachment is an item of the document's source whose identity is
//     its relation to the document (shelf.AttachmentKey): the document, its
//     file name, and which of the request's attachments of that name it is.
//     It has no external id (null wherever one is shown); attachment_of
//     names its document's item id. No client external_id, however it
//     reads ("rev#y.txt", "ticket#123"), names an attachment, so neither
//     overwrites the other. Two attachments of one name in one request are
//     two items, each with its own source_item_id; the same request again
//     finds the same ones (unchanged, or a new version). Attachments a later
//     request leaves out are kept (they go with their document).
//   - A new attachment is put in <document path>.attachments/ under its
//     file name, or, when an item holds that name (a sibling of the same
//     name, or a client's own item), under the first free one (y_1.txt,
//     …); its title and filename stay y.txt. An attachment already there
//     stays where it is. Its scope follows its document's.
//   - A write by path onto an attachment (an ingest keyed by that path, one
//     whose external_id item would move there, a native PUT /v1/files/…, an
//     upload that overwrites) is 409 conflict and changes nothing.
//   - Attachments keyed the old way ("<document key>#<file name>") are
//     converted when the database is upgraded; where those keys had
//     already collided, the one item holding both histories is kept as
//     the attachment.
//
// Look up
//
//   - A query string that url.Values would cut short without a word (a bad
//     %-escape, a ";", more than 10,000 parameters) is 400, here and on
//     delete, so that a filter is never silently lost.
//   - Filters are ANDed. external_id repeats (?external_id=a&external_id=b);
//     empty values are ignored; an external id with a control character is
//     400 (the core's rule: no selector can spell an attachment's key).
//     Other, unknown query parameters are ignored.
//   - created_after is inclusive, created_before exclusive. Both take the
//     common ISO 8601 forms (isoTime): a date, extended (2026-12-07) or
//     basic (20261207), alone (its midnight, UTC) or with a time after T or
//     a space, in the same format (16:56, 16:56:00; 1656, 165600), seconds
//     with an optional fraction after "." or ",", then an optional offset
//     Z, +09:00, +0900 or +09 (none is UTC); t and z may be lower case. An
//     unencoded "+" of an offset, which a query string turns into a space,
//     is read back as "+". Anything else is 400, and the message shows
//     accepted forms.
//   - status is active, hidden or all (default all, as documented); limit
//     is an integer from 1 to 200 (default 50); anything else is 400.
//   - Items come oldest first (by created_at, then id), and count is the
//     number returned. There is no cursor: to read past a page, send
//     created_after = the last item's created_at (inclusive, so that item
//     comes again). created_at is given with the store's nanoseconds for
//     this reason.
//   - Each item has the documented fields (id, external_id, source_name,
//     source_type, title, scope, hidden, delete_behavior) and extras:
//     source_id, path (in the source's tree), metadata (an object or null),
//     version (the head's number) and version_id (the head's id, as ingest
//     answers it), content_type, size, sha256, created_at and updated_at
//     (RFC 3339 UTC), and attachment_of. external_id is null for an item
//     keyed by path and for an attachment; attachment_of is an attachment's
//     document's item id, else null. delete_behavior is "hard_delete" for
//     a source of type "api" and "hide" for any other (a connector's).
//   - Attachments are listed among the items of their document's source.
//
// Delete
//
//   - Selectors come in a JSON body (ids, external_ids, source_name, type,
//     created_after, created_before — the list's time forms). When the
//     body is empty they may come as query parameters instead, under the
//     same names (ids and external_ids repeat; id and external_id are
//     accepted as their singular spellings; the other selectors may appear
//     once). Selectors in both places are 400; so is any unknown body field
//     or query parameter, because a misspelt selector must never widen a
//     delete. Empty strings in ids and external_ids are dropped; a request
//     that then names no selector is 400 and deletes nothing (the core
//     refuses an empty selector).
//   - Items of api sources are deleted for good; items of connector
//     sources are hidden (still readable by id, listed as hidden).
//   - A document's attachments go with it, deleted or hidden as it is,
//     wherever they are now (found by their relation, not by folder);
//     attachments another key's private scope hides from the caller stay.
//   - matched counts every item deleted or hidden: the items the selectors
//     name and the attachments of the documents among them, each once even
//     when the selectors also named it. hard_deleted and hidden list each
//     of them once as {id, external_id, source_name, path, attachment_of};
//     both are always arrays. An item that was hidden already is listed
//     under hidden again.
//   - The folder <document path>.attachments goes when its deleted
//     attachments leave it empty; an item a client put there keeps it.
//   - One delete removes at most 10,000 items, attachments included; more
//     is 413 too_large and nothing is deleted. What to remove is found, and
//     the cap checked, before anything changes; the items then go in
//     batches, each its own transaction, so a delete cut short leaves the
//     batches before it done, and sending it again removes the rest.
package memoryinc
