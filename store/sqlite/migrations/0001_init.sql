-- 0001: the metadata schema. Times are INTEGER unix nanoseconds (UTC);
-- text compares bytewise (BINARY collation); an optional reference is NULL
-- when absent.

CREATE TABLE settings (
	name  TEXT NOT NULL PRIMARY KEY,
	value TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE workspaces (
	id         TEXT NOT NULL PRIMARY KEY,
	name       TEXT NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE keys (
	id           TEXT NOT NULL PRIMARY KEY,
	workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	scopes       TEXT NOT NULL, -- comma-separated
	hash         BLOB NOT NULL,
	created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX keys_workspace ON keys (workspace_id, created_at);

CREATE TABLE libraries (
	id           TEXT NOT NULL PRIMARY KEY,
	workspace_id TEXT NOT NULL REFERENCES workspaces (id),
	slug         TEXT NOT NULL,
	name         TEXT NOT NULL,
	kind         TEXT NOT NULL,
	embedded     INTEGER NOT NULL,
	shared       INTEGER NOT NULL,
	root_id      TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	UNIQUE (workspace_id, slug)
) STRICT;

-- parent_id is NULL for a library root. (library_id, path) serves path
-- lookups and the subtree range scans of MovePaths and DeleteTree;
-- (parent_id, name) serves keyset-paged listings.
CREATE TABLE items (
	id           TEXT NOT NULL PRIMARY KEY,
	workspace_id TEXT NOT NULL,
	library_id   TEXT NOT NULL REFERENCES libraries (id) ON DELETE CASCADE,
	parent_id    TEXT,
	type         TEXT NOT NULL,
	name         TEXT NOT NULL,
	path         TEXT NOT NULL,
	x_attrs      TEXT NOT NULL DEFAULT '{}', -- JSON object of strings
	head         INTEGER NOT NULL DEFAULT 0,
	size         INTEGER NOT NULL DEFAULT 0,
	hash         TEXT NOT NULL DEFAULT '',
	content_type TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	UNIQUE (library_id, path)
) STRICT;
CREATE UNIQUE INDEX items_parent_name ON items (parent_id, name);

CREATE TABLE versions (
	id           TEXT NOT NULL PRIMARY KEY,
	item_id      TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
	workspace_id TEXT NOT NULL,
	number       INTEGER NOT NULL,
	hash         TEXT NOT NULL,
	size         INTEGER NOT NULL,
	content_type TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	UNIQUE (item_id, number)
) STRICT;
CREATE INDEX versions_hash ON versions (hash);

-- hash and item_id are NULL until the upload gets them.
CREATE TABLE uploads (
	id           TEXT NOT NULL PRIMARY KEY,
	workspace_id TEXT NOT NULL REFERENCES workspaces (id),
	size         INTEGER NOT NULL,
	part_size    INTEGER NOT NULL,
	state        TEXT NOT NULL,
	hash         TEXT,
	item_id      TEXT,
	version      INTEGER NOT NULL DEFAULT 0,
	expires_at   INTEGER NOT NULL,
	created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX uploads_expires ON uploads (expires_at);
CREATE INDEX uploads_hash ON uploads (hash);

CREATE TABLE parts (
	upload_id   TEXT NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
	number      INTEGER NOT NULL,
	size        INTEGER NOT NULL,
	etag        TEXT NOT NULL,
	received_at INTEGER NOT NULL,
	PRIMARY KEY (upload_id, number)
) STRICT, WITHOUT ROWID;
