-- 0007: library snapshots. A snapshot copies the rows of a library's tree
-- (never bytes: files name content-addressed blobs, which a snapshot keeps
-- referenced), so taking one costs a row per item.

CREATE TABLE snapshots (
	id           TEXT NOT NULL PRIMARY KEY,
	workspace_id TEXT NOT NULL,
	library_id   TEXT NOT NULL REFERENCES libraries (id) ON DELETE CASCADE,
	trigger      TEXT NOT NULL,
	file_count   INTEGER NOT NULL,
	created_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX snapshots_library ON snapshots (library_id, created_at, id);

CREATE TABLE snapshot_items (
	snapshot_id  TEXT NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
	item_id      TEXT NOT NULL,
	parent_id    TEXT NOT NULL,
	type         TEXT NOT NULL,
	name         TEXT NOT NULL,
	path         TEXT NOT NULL,
	x_attrs      TEXT NOT NULL,
	head         INTEGER NOT NULL,
	size         INTEGER NOT NULL,
	hash         TEXT NOT NULL,
	content_type TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	external_id  TEXT,
	title        TEXT NOT NULL,
	scope        TEXT NOT NULL,
	owner        TEXT NOT NULL,
	metadata     TEXT,
	hidden       INTEGER NOT NULL,
	PRIMARY KEY (snapshot_id, path)
) STRICT, WITHOUT ROWID;

-- Garbage collection keeps the blobs snapshots name.
CREATE INDEX snapshot_items_hash ON snapshot_items (hash) WHERE hash <> '';
