// Package informer serves the Informer 5 Library API (libraries of files,
// file listings, JSON-Patch edits with globs, contents by id and by path,
// indexing control, snapshots) on Shelf's core, under /api, so a client
// written for Informer works against Shelf by changing its base URL.
//
// Routes (all under /api; F1 also at /_library-upload, as its docs write it):
//
//	GET  /libraries                      C1 search (HAL; q, sort, limit, start)
//	GET  /libraries-list                 C2 flat list
//	POST /libraries, GET|PATCH|PUT|DELETE /libraries/{id}   C3
//	POST /_library-upload                F1 attach a finished upload session
//	GET  /libraries/{id}/files           F2 list (bare array)
//	GET  /libraries/{id}/files-list      F3 flat list (HAL)
//	PATCH /libraries/{id}/files          F4 bulk JSON Patch with globs
//	GET|PATCH|DELETE /libraries/{id}/files/{fileId}          F5–F7
//	GET|PUT /libraries/{id}/files/{fileId}/contents          F8
//	GET|PUT|PATCH /libraries/{id}/contents/{path...}         F9
//	POST /libraries/{id}/files/_bulk-index                   F10
//	GET|PUT|DELETE /libraries/{id}/files/{fileId}/indexed    F11
//	POST /libraries/{id}/files/{fileId}/_retry-indexing      F12
//	GET|POST /libraries/{id}/snapshots, POST …/{sid}/_restore, DELETE …/{sid}   N1–N3
//	GET|PUT|DELETE /libraries/{id}/assistant-access          A1 (a flag the native search honours)
//	GET /libraries/{id}/shares, GET|PUT|DELETE …/shares/{principalId}   H1–H2 (the workspace's keys)
//	…/integration, …/connection, POST …/_sync                I1–I3 (501: no cloud drives)
//	POST /files, GET /files?q, GET /files/{id}, GET /files/{id}/download   S1–S2 (the uploads library)
//
// Every other path under /api/ answers Boom's 404 (but /api/v1/, which is
// ChatBotKit's). Bodies write times as JavaScript's toISOString does
// (jsTime: UTC, three fractional digits).
//
// Errors are hapi's Boom shape, {"statusCode","error","message"}, which the
// Informer server (a hapi application) answers with; a rate limit is Boom's
// 429 with Retry-After. Where Informer's docs
// are silent (library create/update, the upload session, conflicts), the
// choices are in docs/API.md.
package informer
