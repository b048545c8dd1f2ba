// Package chatbotkit serves ChatBotKit's Spaces and Space Storage API
// (docs.cbk.ai, and the official @chatbotkit/sdk), so a client of it works
// against Shelf by changing its base URL. The routes live under /api/v1
// and /v1, as ChatBotKit's do.
//
// A space is a library of kind space; its alias is the library's natural
// id, meta its metadata, blueprintId and contactId its x_attrs. Its
// storage is the library's tree: a file's path is its path in the space.
// A path a request names is found under any Unicode spelling (the core
// compares names under NFC); the paths and path ids answered are the
// stored ones, built from the NFC form of each name, while a file or
// folder an upload makes keeps the name the request spelt.
//
// Storage routes take either of two URL forms: the SDK's
// /space/{spaceId}/storage/{op}/{path…} with a plain path, and the
// documented /space/{spaceId}/storage/{pathId}/{op} where pathId is the
// base64 of the path (standard or URL-safe alphabet, padded or not). A
// tail whose first segment names an operation is read the first way. The
// ids this package hands out are standard padded base64 (what a client's
// own Buffer.from(path).toString('base64') or b64encode gives); every
// form is read.
//
// Uploads take the body forms of the docs: raw bytes, a multipart form's
// "file" part, JSON {"file": "https://…" | "data:…"}, and the two-stage
// JSON {"file": {"type","size","meta"}}, which answers a PUT URL signed
// for that path, exact size, type and metadata: an upload session of one
// part that takes the bytes once (a second PUT is 409 CONFLICT) until it
// expires with the session (the server's upload TTL; then 403). A size of
// 0 needs no session: its URL names none, and its PUT of no bytes writes
// the empty file.
//
// Lists (spaces, a contact's spaces, the export, storage listings) read
// take as JavaScript's parseInt does and clamp it to 1..100 (1000 for
// storage); Accept picks a stream: application/jsonl, text/event-stream
// or text/csv, each ending with a result (the cursor) where the format
// has room for one. A trailing slash of a storage path names the folder;
// a delete's recursive is true or "true". A space route asked with
// another method is 405 with Allow. docs/API.md lists every choice.
//
// Errors are ChatBotKit's {"message","code"} with its codes: BAD_REQUEST,
// NOT_AUTHENTICATED, NOT_AUTHORIZED, NOT_FOUND, CONFLICT, and
// LIMITS_REACHED (429) for a file over the size limit and for a key over
// its rate limit or an address over its failed authentications (with
// Retry-After). A URL the server will not fetch (an internal address) is
// BAD_REQUEST.
package chatbotkit
