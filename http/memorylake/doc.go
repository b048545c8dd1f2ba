// Package memorylake speaks the MemoryLake Library ("drive") API on Shelf's
// core, so that MemoryLake clients work against Shelf by changing their
// base URL to <shelf>/openapi/memorylake. It mounts, under
// /openapi/memorylake/api/v1:
//
//	POST   /drives/items/upload              create a chunked upload session (L3)
//	POST   /drives/items                     create a folder, or a file from an upload (L5)
//	GET    /drives/items/{item_id}           get an item (L1)
//	GET    /drives/items/{item_id}/children  list a folder, by continuation token (L2)
//	DELETE /drives/items/{item_id}           delete an item, recursively (L6)
//	GET    /drives/items/{item_id}/binary    download a file (L7)
//	PUT    /drives/items/{item_id}/xattrs    merge x_attrs (L8)
//	DELETE /drives/items/{item_id}/xattrs    remove x_attrs keys, ?key=a,b (L9)
//
// and the v1 projects (P1–P5, D1–D7 of the reference; D8, the legacy
// quick add, is not served):
//
//	POST   /projects                                       create a project
//	GET    /projects                                       list, ?page&size&name_fuzzy
//	GET    /projects/{id}                                  get
//	PUT    /projects/{id}                                  update name and/or description
//	DELETE /projects/{id}                                  delete (files stay)
//	POST   /projects/{id}/documents                        add Library files and folders
//	GET    /projects/{id}/documents                        list, ?page&size
//	DELETE /projects/{id}/documents                        remove, {"ids":[…]}
//	GET    /projects/{id}/documents/{documentId}           get
//	GET    /projects/{id}/documents/{documentId}/download  the file's bytes
//	POST   /projects/{id}/documents/search                 search the project's documents
//	POST   /projects/{id}/search                           documents and a user's memories (D7)
//
// and, under /openapi/memorylake/api/v2, a project's memories (each a
// message stored word for word: Shelf extracts no facts):
//
//	POST   /projects/{id}/memories                      store messages, one memory each
//	GET    /projects/{id}/memories                      list, ?page&size&user_id&keyword
//	GET    /projects/{id}/memories/{memoryId}           get
//	POST   /projects/{id}/memories/{memoryId}/forget    forget (kept, expired, never found)
//	DELETE /projects/{id}/memories/{memoryId}           delete (Shelf's extra)
//
// and, under /openapi/memorylake/api/v3, the v3 family (V1–V6), where a
// v3 workspace is a project group (library.CreateProjectGroup) inside the
// key's Shelf workspace; {ws} and {projectId} are custom ids with
// ?by_custom_id=true:
//
//	POST   /workspaces                                              create {name, custom_id, description?, metadata?}
//	GET    /workspaces                                              list, ?page_size&continuation_token&name_fuzzy
//	GET    /workspaces/{ws}                                         get (a Shelf extra)
//	DELETE /workspaces/{ws}                                         delete with its projects (a Shelf extra)
//	POST   /workspaces/{ws}/projects                                create {name, custom_id, description?, metadata?}
//	GET    /workspaces/{ws}/projects                                list, as workspaces
//	GET    /workspaces/{ws}/projects/{projectId}                    get
//	PATCH  /workspaces/{ws}/projects/{projectId}                    update name and/or description
//	DELETE /workspaces/{ws}/projects/{projectId}                    delete (files stay)
//	POST   /workspaces/{ws}/projects/{projectId}/memories/documents import Library files and folders
//	GET    /workspaces/{ws}/projects/{projectId}/memories/documents list, as workspaces
//	DELETE /workspaces/{ws}/projects/{projectId}/memories/documents remove, {"ids":[…]}
//	GET    …/memories/documents/{documentId}                        get
//	GET    …/memories/documents/{documentId}/download               the document's bytes
//	POST   /workspaces/{ws}/memories/search                         documents (grouped) and facts
//
// and, under /openapi/memorylake/admin/v1, the Management API's key routes
// (K1–K5), which need the admin scope:
//
//	GET    /api-keys              list, ?page_size&continuation_token&name_fuzzy
//	POST   /api-keys              create {name, expires_at?, member_principal_id?, scopes?} → 201
//	GET    /api-keys/{id}         get
//	DELETE /api-keys/{id}         revoke (not the calling key: 409 STATE_NOT_READY)
//	POST   /api-keys/{id}/rotate  a new secret for the same key
//
// The three writes take Idempotency-Key (http.Server.Idempotent over the
// core's library.BeginIdempotent).
//
// The part uploads (L4) go to the URLs Create Upload hands out, which are
// the native signed route PUT /v1/uploads/{id}/parts/{n}: no Authorization,
// answers the part's quoted ETag, and errors in the native format, as a
// storage backend's would be.
//
// The package is a translation layer and nothing more: it turns request
// shapes, names and the MY_SPACE alias into calls of library.Service, and
// the answers into MemoryLake's envelopes, {"success":true,"message"?,
// "data"?} and {"success":false,"message","error_code"}. Every rule of the
// tree (names, conflict strategies, part checks, roots) is the core's; this
// package must not add one, touch a store, or detail an internal error.
//
// # Choices where MemoryLake's documentation is silent
//
//   - Errors: one table (wireErrors) maps the core's codes. Invalid input
//     and a size over the limit (ETOOLARGE, such as a file_size above the
//     server's maximum file size or a JSON body above its cap) are 400
//     INVALID_ARGUMENT: the maximum file size is a property of the request,
//     not of the caller's quota. Out of storage (EINSUFFICIENT) is 402
//     QUOTA_EXCEEDED, the status the Errors page gives quota failures.
//     Permission failures are 403 ACCESS_DENIED (the Errors page; the
//     authentication page's FORBIDDEN is not used). A missing or unknown
//     key is 401 UNAUTHORIZED with the documented message "Invalid or
//     missing API key". A key over its rate limit, or an address over its
//     failed authentications (ERATELIMIT), is 429 RATE_LIMIT_EXCEEDED with
//     Retry-After, as MemoryLake's rate-limit page says. A busy server
//     (EUNAVAILABLE) is 503 SERVICE_UNAVAILABLE, a code MemoryLake does
//     not list. Internal
//     errors are 500 INTERNAL_ERROR with a fixed message; the cause is
//     logged, never sent. Expired things (EGONE) are 404 NOT_FOUND: an
//     expired upload session is, as the docs say, to be started over.
//   - Unknown paths and methods under /openapi/memorylake/ answer 404
//     NOT_FOUND in the envelope (after authentication, like every route).
//   - MY_SPACE is the caller's default library root, in the path and in
//     parent_item_id, spelled exactly so. Items show the root's concrete
//     id, never the alias. Get Item on the root shows the library's name,
//     "My Space" (what MemoryLake's UI calls it; the core names every root
//     after its library), type "directory" and parent_item_id null.
//   - Deleting MY_SPACE, or changing its x_attrs, is 403 ACCESS_DENIED, as
//     the docs say for system roots: the core refuses any change to a
//     library root with EFORBIDDEN.
//   - Items: times are RFC 3339 in UTC to the second (2024-01-15T10:30:00Z);
//     etag is the file's SHA-256 in hex (unquoted); folders omit size and
//     etag; x_attrs is always an object. parent_item_id is null only for a
//     root.
//   - Names are the core's rule: kept byte for byte as sent and compared
//     under NFC, so the NFD and NFC spellings of a name conflict (deny is
//     409 DRIVE_ITEM_CONFLICT; rename answers the first _N free under
//     NFC, spelt as sent; overwrite adds a version to the twin and answers
//     its name; replace makes a new item named as sent now).
//   - List Items orders children by name (byte order of the names as
//     sent). continuation_token is null on the last page. page_size must
//     be an integer from 1 to 50 (default 50); a token the server did not
//     make is 400.
//     with_xattr_keys=k1,k2 narrows x_attrs to those keys; it is accepted
//     by Get Item too. An empty with_xattr_keys shows every key.
//   - Create Item requires item_type ("folder" or "file"; "directory" is
//     the read-side spelling and is refused here), parent_item_id and
//     name; a file requires from.upload_id and a non-empty
//     from.part_etags, and a folder refuses from. name_conflict_strategy
//     defaults to rename. An empty x_attrs map is accepted (the official
//     CLI says MemoryLake rejects it; Shelf is lenient, since {} and no
//     x_attrs mean the same thing). The answer is {item_id, name}, name
//     being the effective (possibly suffixed) name; the uri field the
//     official CLI's test stubs show is undocumented and not sent.
//     Finalizing an upload
//     again answers the item it made the first time.
//   - Create Upload requires file_size as a JSON integer; the part layout
//     is the core's (5 MiB parts, larger for very big files), and the part
//     URLs are absolute and live as long as the upload session.
//   - Download answers 200 with the bytes (the docs' form for storage that
//     cannot be read by plain URL), as an attachment named after the item,
//     with ranges and nosniff; folders are 400 DOWNLOAD_NOT_SUPPORTED and
//     an unknown id is 404 with no body, as documented.
//   - Set xattrs requires x_attrs (an empty object is a no-op); Delete
//     xattrs requires key, comma-separated (repeated key parameters are
//     joined; empty entries are dropped); absent keys are ignored.
//   - Reserved x_attrs keys are MemoryLake's x_source and x_thumbnail_uri
//     and every key starting with "shelf." (Shelf's own). Create Item,
//     Set xattrs and Delete xattrs pass over them silently and do the
//     rest: they are never stored, changed or removed by a client, and
//     never refused (the docs say reserved keys are ignored on set; on
//     delete Shelf ignores them too, rather than refusing the request).
//     The rule is the core's, for every API that writes x_attrs.
//   - API keys: see "Management API" in docs/API.md for the choices
//     (admin scope, the scopes a key gets, the master key, key_prefix,
//     status, last_used_at, member_principal_id, idempotency). Their
//     rules (expiry, rotation, the refusal to revoke the calling key,
//     paging) are the core's; keyErrors maps its ECONFLICT to 409
//     STATE_NOT_READY, the one 409 the Management API documents.
//   - Projects: see the "Projects" part of docs/API.md for the choices
//     (ids, statuses, limits, ordering, search result shape). A project is
//     the core's shelf.Project, a document a shelf.ProjectDocument (a copy
//     of the version it imported); the rules (what may be added, what a
//     document keeps, status from index state) are the core's.
//   - Memories and D7: see "Memories (v2) and project search (D7)" in
//     docs/API.md (what a memory is, infer, the score in [0, 1] and the
//     threshold, top_n above 100, with_conflicts). The rules are the
//     core's (library/memories.go).
//   - v3: see the "v3" part of docs/API.md for the choices (what each
//     kind of key sees, ids, continuation tokens, error objects, the
//     search's grouping, facts, agents). The package only shapes: a
//     workspace id is "ws-" and the 32 hex digits of its group's UUID
//     (anything else is 404), a continuation token is the unpadded
//     base64url of "<unix nanoseconds>.<id>" of a page's last item after
//     "v3."; which project belongs to which workspace, what a search
//     covers and refuses, are the core's (GroupProject, SearchGroup).
package memorylake
