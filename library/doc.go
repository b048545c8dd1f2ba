// Package library is Shelf's core: the rules of the tree (names, paths,
// conflict strategies, moves, recursive deletes), workspaces and keys,
// chunked uploads and their signed part URLs, ingest, versions, projects,
// snapshots, index jobs and search requests, content reads, garbage
// collection and fsck. It reaches storage only through the shelf.Store and
// shelf.BlobStore interfaces, search through index/search, and the index
// workers through index/worker; it knows nothing of HTTP or of any public
// API's wire shapes: the transports translate to and from it, each through
// the few methods it declares.
//
// The files, by concept:
//
//   - service.go: Config, Service and Open; doc.go this map.
//   - Access. auth.go: the master key and authentication; keys.go: API
//     keys (issue, list, rotate, revoke, last use); workspaces.go: the
//     workspaces and the default one; ratelimit.go: per-key request
//     rates; idempotency.go: answers kept for idempotency keys;
//     assistant.go: which libraries assistants may search.
//   - The tree. names.go: the rules of names and paths; libraries.go:
//     libraries (make, get, update, delete, list, search) and their
//     lookup by id or natural id; tree.go: items by id (root, children,
//     folders, update, delete, x_attrs) and conflict strategies;
//     paths.go: items by path (lookup, listing below a path, copy, move,
//     folders made on the way); listing.go: listings by position, with
//     the cursors that keep deep pages cheap; edits.go: edits of a file's
//     content and properties, one by one and by glob in bulk; treeops.go:
//     bulk changes of a tree in bounded batches that any process may
//     finish.
//   - Content. put.go: storing bytes (inline or as a blob) and where a
//     file's bytes go; content.go: reading a version's bytes; upload.go:
//     chunked and two-stage uploads; sign.go: signed URLs; url.go and
//     dataurl.go: content named by URL; mediatype.go: content types;
//     lock.go: the in-process Locker of uploads and parts.
//   - Documents. ingest.go: idempotent upserts by external id or path,
//     with attachments fetched by URL; items.go: selecting and removing
//     ingested items by query; versions.go: a file's versions and
//     restoring one; snapshots.go: snapshots of a library and restores.
//   - Projects. projects.go: projects and the documents they import;
//     groups.go: project groups (MemoryLake v3 workspaces); memories.go:
//     what a project remembers of conversations.
//   - Indexing and search. indexer.go: queueing index jobs in the write
//     transactions, and the index workers' wiring (they run in
//     index/worker: claims, attempts, extraction, chunks); indexctl.go:
//     (re)indexing on request; embedding.go: the embedding loop and the
//     embedder's health; engine.go: the search engine's wiring; search.go:
//     access resolution and the search request.
//   - Housekeeping. gc.go: sweep, garbage collection and fsck; space.go:
//     the disk reserve and low-space refusals; upgrade.go: data upgrades
//     run at open.
package library
