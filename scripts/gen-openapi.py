#!/usr/bin/env python3
"""Writes http/openapi.json, the OpenAPI 3.1 description of the native /v1 API.

The document is generated from the table below so that it stays small and
regular; TestOpenAPIListsEveryRoute checks it names every native route.
Run: python3 scripts/gen-openapi.py > http/openapi.json
"""
import json

ref = lambda n: {"$ref": f"#/components/schemas/{n}"}
obj = lambda props, req=(): {"type": "object", "properties": props, **({"required": list(req)} if req else {})}
s, i, b = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
smap = {"type": "object", "additionalProperties": {"type": "string"}}

schemas = {
    "Error": obj({"error": obj({"code": {"type": "string", "enum": ["invalid", "not_found", "conflict", "too_large", "forbidden", "unauthorized", "unavailable", "internal", "insufficient", "gone", "not_supported", "timeout", "rate_limited"]}, "message": s}, ["code", "message"])}, ["error"]),
    "Workspace": obj({"id": s, "name": s, "created_at": {"type": "string", "format": "date-time"}}),
    "Key": obj({"id": s, "workspace_id": s, "name": s, "scopes": {"type": "array", "items": {"type": "string", "enum": ["read", "write", "admin"]}}, "created_at": {"type": "string", "format": "date-time"}, "expires_at": {"type": "string", "format": "date-time", "description": "absent: never; the key is refused from this instant on"}, "last_used_at": {"type": "string", "format": "date-time", "description": "absent: never used; kept to about a minute"}, "rate_limit": ref("RateLimit"), "key": {"type": "string", "description": "the secret; only in the response that creates the key"}}),
    "Library": obj({"id": s, "workspace_id": s, "slug": s, "name": s, "kind": {"type": "string", "enum": ["default", "source", "space", "library"]}, "embedded": b, "shared": b, "root_id": s, "source_type": {"type": "string", "description": "for a source: `api`, or the connector it comes from"}, "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"}}),
    "Item": obj({"id": s, "workspace_id": s, "library_id": s, "parent_id": s, "type": {"type": "string", "enum": ["folder", "file"]}, "name": s, "path": s, "x_attrs": smap, "version": i, "size": i, "sha256": s, "content_type": s, "external_id": s, "attachment_of": {"type": "string", "description": "an attachment (memory.inc ingest): its document's item id; such an item shows no external_id"}, "title": s, "scope": {"type": "string", "enum": ["workspace", "private"]}, "metadata": {"type": "object"}, "hidden": b, "index": ref("IndexStatus"), "indexing": {"type": "integer", "description": "folders, on GET /v1/items/{id}: files below still queued or being indexed"}, "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"}}),
    "IndexStatus": obj({"state": {"type": "string", "enum": ["", "queued", "running", "indexed", "failed"]}, "indexed_at": {"type": "string", "format": "date-time"}, "indexing_started_at": {"type": "string", "format": "date-time"}, "indexing_errored_at": {"type": "string", "format": "date-time"}, "indexing_error_message": s}),
    "SearchHit": obj({"item_id": s, "library_id": s, "path": s, "version": i,
                      "chunk": obj({"index": i, "text": s, "start": {"type": "integer", "description": "byte offset in the version's extracted text"}, "end": i, "page": {"type": "integer", "description": "1-based page, slide or sheet; 0 when the format has none"}, "heading": s}),
                      "highlight": {"type": "string", "description": "the chunk's text with matched terms between « and » (semantic-only hits carry the plain text)"},
                      "score": {"type": "number", "description": "keyword: BM25, higher is better; semantic: cosine similarity; hybrid: reciprocal rank fusion, the sum of 1/(60+rank)"}}),
    "Version": obj({"id": s, "item_id": s, "version": i, "sha256": s, "size": i, "content_type": s, "created_at": {"type": "string", "format": "date-time"}}),
    "Written": obj({"status": {"type": "string", "enum": ["indexed", "unchanged"], "description": "`indexed`: a new file or a new version; `unchanged`: the bytes equal the head's, no version made"}, "item": ref("Item"), "version": ref("Version")}, ["status", "item", "version"]),
    "Upload": obj({"id": s, "size": i, "part_size": i, "state": {"type": "string", "enum": ["open", "committing", "done"]}, "sha256": s, "item_id": s, "version": i, "expires_at": {"type": "string", "format": "date-time"}}),
    "PartURL": obj({"number": i, "size": i, "upload_url": {"type": "string", "description": "pre-signed PUT URL; needs no Authorization header"}}),
    "RateLimit": {**obj({"per_second": {"type": "number", "description": "requests a second; 0: the key is not limited"}, "burst": {"type": "integer", "description": "requests at once; default one second's worth"}}, ["per_second"]), "description": "a key's own request rate limit; absent: the server's (--rate-limit)"},
    "Part": obj({"number": i, "size": i, "etag": s, "received_at": {"type": "string", "format": "date-time"}}),
}

def op(summary, scope, ok, body=None, params=(), status="200", desc=None):
    o = {"summary": summary, "description": (desc or "") + f" Needs the `{scope}` scope.", "parameters": list(params),
         "responses": {status: {"description": "OK", **({"content": {"application/json": {"schema": ok}}} if ok else {})},
                       "4XX": {"description": "client error", "content": {"application/json": {"schema": ref("Error")}}}}}
    if body:
        o["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return o

pid = lambda n="id", d="item id, or `root` for the default library's root": {"name": n, "in": "path", "required": True, "schema": s, "description": d}
q = lambda n, sch, d: {"name": n, "in": "query", "schema": sch, "description": d}

error_response = {"description": "client error", "content": {"application/json": {"schema": ref("Error")}}}
content_responses = {"200": {"description": "the bytes"}, "206": {"description": "a range"}, "304": {"description": "not modified"}, "4XX": error_response}
written_responses = {"201": {"description": "a new file", "headers": {"Location": {"schema": s}}, "content": {"application/json": {"schema": ref("Written")}}},
                     "200": {"description": "a new version, or unchanged", "content": {"application/json": {"schema": ref("Written")}}},
                     "4XX": error_response}
file_params = [{"name": "path", "in": "path", "required": True, "schema": s, "description": "the file's path in the library, slash-separated; it spans the rest of the URL (segments percent-encoded)"},
               q("library", s, "library id; default: the caller's default library")]

paths = {
    "/v1/openapi.json": {"get": op("This document", "read", {"type": "object"})},
    "/v1/workspaces": {"post": op("Create a workspace (master key only)", "admin", ref("Workspace"), obj({"name": s}, ["name"]), status="201")},
    "/v1/workspaces/{id}": {"get": op("Get a workspace", "read", ref("Workspace"), params=[pid(d="workspace id")])},
    "/v1/keys": {
        "post": op("Create a key; the secret is shown once", "admin", ref("Key"), obj({"workspace_id": s, "name": s, "scopes": {"type": "array", "items": s}, "expires_at": {"type": "string", "format": "date-time", "description": "in the future; absent or null: never"}, "rate_limit": {**ref("RateLimit"), "description": "master key only; absent or null: the server's"}}, ["name", "scopes"]), status="201"),
        "get": op("List keys (never their secrets)", "admin", obj({"keys": {"type": "array", "items": ref("Key")}}), params=[q("workspace_id", s, "default: the caller's")]),
    },
    "/v1/keys/{id}": {"patch": op("Set a key's own rate limit (master key only)", "admin", ref("Key"), obj({"rate_limit": {"anyOf": [ref("RateLimit"), {"type": "null"}], "description": "null: follow the server's limit again"}}, ["rate_limit"]), params=[pid(d="key id")], desc="A key of any workspace; a workspace admin key is 403."),
                      "delete": op("Revoke a key; it fails on its next request", "admin", None, params=[pid(d="key id")], status="204", desc="The key that authenticates the request cannot revoke itself (409).")},
    "/v1/libraries/default": {"get": op("The caller's default library (root = MY_SPACE)", "read", ref("Library"))},
    "/v1/items": {"post": op("Create a folder", "write", ref("Item"), obj({"parent_id": s, "name": s, "type": {"const": "folder"}, "conflict": {"type": "string", "enum": ["rename", "deny"]}, "x_attrs": smap}, ["parent_id", "name"]), status="201")},
    "/v1/items/{id}": {
        "get": op("Get an item", "read", ref("Item"), params=[pid()]),
        "patch": op("Rename and/or move an item; a folder holding another key's private items does not move (409)", "write", ref("Item"), obj({"name": s, "parent_id": s, "conflict": {"type": "string", "enum": ["rename", "deny"], "default": "deny"}}), params=[pid()]),
        "delete": op("Delete an item; folders recursively, what the key may see (another key's private items stay, uncounted), large ones in batches", "write", obj({"deleted": i}), params=[pid()]),
    },
    "/v1/items/{id}/children": {"get": op("List a folder's children in name order (keyset paging)", "read", obj({"items": {"type": "array", "items": ref("Item")}, "next_cursor": s}), params=[pid(), q("limit", i, "1-1000, default 100"), q("cursor", s, "next_cursor of the previous page")])},
    "/v1/items/{id}/content": {"get": {**op("Stream a file's content (Range, If-None-Match)", "read", None, params=[pid(), q("version", i, "default: the head")]), "responses": content_responses}},
    "/v1/items/{id}/versions": {"get": op("List a file's versions, newest first", "read", obj({"versions": {"type": "array", "items": ref("Version")}}), params=[pid()], desc="A folder is 400 `not_supported`.")},
    "/v1/items/{id}/versions/{n}/content": {"get": {**op("Stream one version's content (Range, If-None-Match)", "read", None, params=[pid(), pid("n", "version number, 1-based")]), "responses": content_responses}},
    "/v1/items/{id}/versions/{n}/restore": {"post": op("Restore a version: its bytes become a new head version; history is never rewritten", "write", ref("Written"), params=[pid(), pid("n", "version number, 1-based")], desc="Restoring bytes equal to the head's is `unchanged` and makes no version.")},
    "/v1/items/{id}/xattrs": {
        "put": op("Merge x_attrs", "write", ref("Item"), obj({"x_attrs": smap}, ["x_attrs"]), params=[pid()]),
        "delete": op("Delete x_attrs keys", "write", ref("Item"), params=[pid(), q("key", s, "repeatable or comma-separated")]),
    },
    "/v1/items/{id}/index": {
        "post": op("Index a file again", "write", ref("Item"), params=[pid()], status="202", desc="Queues the file's head version: a retry of a failed file, or after a clear. Its chunks stay until the new ones replace them. Folders and files of embedded libraries are 400."),
        "delete": op("Clear a file's index", "write", ref("Item"), params=[pid()], desc="Removes the file's chunks and embeddings and cancels its job; search no longer finds it."),
    },
    "/v1/search": {"post": op("Search the workspace's files", "read",
        obj({"hits": {"type": "array", "items": ref("SearchHit")}, "mode": s, "took_ms": {"type": "number"}, "notice": {"type": "string", "description": "why the mode that ran is not the one asked for"}}),
        {"type": "object", "required": ["query"], "additionalProperties": False, "properties": {
            "query": {"type": "string", "maxLength": 4096, "description": "words; a \"double-quoted phrase\" stays a phrase; nothing in it is query syntax"},
            "top_k": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
            "mode": {"type": "string", "enum": ["keyword", "semantic", "hybrid"], "description": "default: hybrid with an embedder, else keyword"},
            "filters": {"type": "object", "additionalProperties": False, "properties": {
                "library": {"type": "string", "description": "a library id"}, "path_prefix": {"type": "string", "description": "a folder path: files below it"},
                "project": {"type": "string", "description": "a project id: its documents only"},
                "metadata": {"type": "object", "description": "equality on metadata keys (string, number or boolean values)"},
                "content_type": {"oneOf": [s, {"type": "array", "items": s, "maxItems": 20}]},
                "created_after": {"type": "string", "format": "date-time"}, "created_before": {"type": "string", "format": "date-time"},
                "assistant": {"type": "boolean", "description": "search as an assistant: only libraries whose owner allows assistants"}}}}},
        desc="Keyword (BM25 with stemming and Unicode folding), semantic (nearest embeddings) or hybrid (both, fused by reciprocal rank). Hybrid without an embedder runs keyword and says so in `notice`; semantic without one is 400. When the embedder fails or does not answer within the search deadline (2 s by default), hybrid answers by keyword with a `notice`, at once after 3 failures in a row, and semantic is 503 (504 on the deadline). Hidden files and other principals' private files are never found. Unknown fields are 400.")},
    "/v1/index/status": {"get": op("Index counts of the workspace's files, and the embedder", "read",
        obj({"queued": i, "running": i, "indexed": i, "failed": i, "skipped": i, "embedder": {"type": ["object", "null"], "properties": {"model": s, "dimensions": i,
            "state": {"type": "string", "enum": ["ok", "failing"], "description": "failing while the embedder fails: searches answer by keyword without it, and embedding waits out its back-off"},
            "error": {"type": "string", "description": "the embedder's last error, while it fails"},
            "pending_files": {"type": "integer", "description": "indexed files (found by keyword) with chunks still waiting for an embedding"},
            "pending_chunks": {"type": "integer", "description": "the chunks waiting for an embedding"}}}}),
        desc="Poll until queued and running are 0 to wait for indexing to finish. A file is indexed (found by keyword) before its embeddings are made: with an embedder, poll until embedder.pending_chunks is 0 to wait for those too.")},
    "/v1/index/reindex": {"post": op("Index a library's files matching globs", "write", obj({"queued": i}),
        obj({"library": {"type": "string", "description": "library id; default: the default library"}, "globs": {"type": "array", "items": s, "maxItems": 32, "example": ["/docs/**/*.md"]}}, ["globs"]), status="202",
        desc="Globs: `*`, `**`, `?`, `[a-z]`, `{a,b}`; each at most 1024 bytes, 8 brace groups, 4 `**`.")},
    "/v1/files/{path}": {
        "put": {**op("Write the file at a path from the raw request body", "write", ref("Written"), params=file_params,
                     desc="The Content-Type is the file's (none, or application/octet-stream: inferred from the extension); the body streams, the size limit holds while reading, and a Content-Length over it is 413 before the body is read. Folders above the path are made; a folder at the path is 400, a file in the way of a folder 409."),
                "requestBody": {"required": True, "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
                "responses": written_responses},
        "post": {**op("Write the file at a path from a form's `file` part, or from a URL (http(s), fetched by the server, or data:)", "write", ref("Written"), params=file_params,
                      desc="`multipart/form-data`: the part named `file` (its Content-Type is the file's; at most 1000 parts, other parts skipped). `application/json` `{\"url\"}` or `text/uri-list` with one URL: an http(s) URL is fetched under the server's rules (internal addresses 403), a data: URL decoded as it streams."),
                 "requestBody": {"required": True, "content": {
                     "multipart/form-data": {"schema": obj({"file": {"type": "string", "format": "binary"}}, ["file"])},
                     "application/json": {"schema": obj({"url": {"type": "string", "description": "http(s) or data: URL"}}, ["url"])},
                     "text/uri-list": {"schema": {"type": "string", "description": "one URL; # starts a comment line"}}}},
                 "responses": written_responses},
    },
    "/v1/sources": {"post": op("Create a source library of a type (`api`, or a connector's name, whose items are hidden rather than deleted)", "write", ref("Library"), obj({"name": s, "type": {"type": "string", "default": "api"}}, ["name"]), status="201", desc="A name in use is 409.")},
    "/v1/uploads": {"post": op("Start a chunked upload; the server picks the part layout", "write", obj({"upload": ref("Upload"), "parts": {"type": "array", "items": ref("PartURL")}}), obj({"size": i}, ["size"]), status="201")},
    "/v1/uploads/{id}": {
        "get": op("Upload status: parts received, fresh URLs for the missing ones", "write", obj({"upload": ref("Upload"), "received": {"type": "array", "items": ref("Part")}, "missing": {"type": "array", "items": ref("PartURL")}}), params=[pid(d="upload id")]),
        "delete": op("Abort an upload", "write", None, params=[pid(d="upload id")], status="204"),
    },
    "/v1/uploads/{id}/parts/{n}": {"put": {**op("Upload one part (pre-signed URL, or a key with write scope)", "write", None, params=[pid(d="upload id"), pid("n", "part number, 1-based")]),
        "requestBody": {"required": True, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
        "responses": {"200": {"description": "stored; the ETag header is the quoted hex CRC-32C of the part", "headers": {"ETag": {"schema": s}}}, "400": {"description": "wrong length"}, "403": {"description": "tampered or expired URL"}}}},
    "/v1/uploads/{id}/finalize": {"post": op("Make the file from every part, naming their ETags in order", "write", ref("Item"), obj({"parent_id": s, "name": s, "conflict": {"type": "string", "enum": ["rename", "deny", "overwrite", "replace"], "default": "rename"}, "x_attrs": smap, "content_type": s, "parts": {"type": "array", "items": obj({"number": i, "etag": s}, ["number", "etag"])}}, ["parent_id", "name", "parts"]), params=[pid(d="upload id")])},
}

doc = {
    "openapi": "3.1.0",
    "info": {"title": "Shelf native API", "version": "1", "description": "Shelf's own API. Every route but /healthz takes `Authorization: Bearer <key>`. See docs/API.md."},
    "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
    "paths": paths,
}
print(json.dumps(doc, indent=1, sort_keys=True))
