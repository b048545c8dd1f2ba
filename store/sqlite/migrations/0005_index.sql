-- 0005: the indexing pipeline. Each file keeps its index state; a job per
-- file to (re)index names the version to index, claimed with a lease; the
-- chunks of the indexed version, and their FTS5 index (porter stemming over
-- unicode61 with diacritics removed), go with the item when it is deleted.

ALTER TABLE items ADD COLUMN index_state TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN indexed_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN indexing_started_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN indexing_errored_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN indexing_error TEXT NOT NULL DEFAULT '';

CREATE INDEX items_index_state ON items (workspace_id, index_state) WHERE index_state <> '';

CREATE TABLE index_jobs (
	item_id      TEXT NOT NULL PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
	workspace_id TEXT NOT NULL,
	version      INTEGER NOT NULL,
	state        TEXT NOT NULL,           -- queued, running or failed
	attempts     INTEGER NOT NULL DEFAULT 0,
	run_after    INTEGER NOT NULL,
	lease_until  INTEGER NOT NULL DEFAULT 0,
	token        TEXT NOT NULL DEFAULT '',
	error        TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX index_jobs_ready ON index_jobs (state, run_after);
CREATE INDEX index_jobs_lease ON index_jobs (state, lease_until);

CREATE TABLE chunks (
	id           INTEGER PRIMARY KEY,
	item_id      TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
	workspace_id TEXT NOT NULL,
	version      INTEGER NOT NULL,
	idx          INTEGER NOT NULL,
	text         TEXT NOT NULL,
	heading      TEXT NOT NULL DEFAULT '',
	start_off    INTEGER NOT NULL,
	end_off      INTEGER NOT NULL,
	page         INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX chunks_item ON chunks (item_id, idx);

CREATE VIRTUAL TABLE chunks_fts USING fts5(
	text, heading,
	content = 'chunks', content_rowid = 'id',
	tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
	INSERT INTO chunks_fts (rowid, text, heading) VALUES (new.id, new.text, new.heading);
END;
CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
	INSERT INTO chunks_fts (chunks_fts, rowid, text, heading) VALUES ('delete', old.id, old.text, old.heading);
END;
