-- 0023: tree_ops, changes of a library's tree too large for one transaction (a
-- recursive delete, a folder's move, a library's deletion, a snapshot
-- restore), run in batches. A row lives from the first batch's transaction
-- to the last's, so a change cut by a crash stays recorded until a process
-- finishes it; lease_until and token are the claim of the process running
-- it, as for index jobs.
CREATE TABLE tree_ops (
	id           TEXT NOT NULL PRIMARY KEY,
	workspace_id TEXT NOT NULL,
	library_id   TEXT NOT NULL REFERENCES libraries (id) ON DELETE CASCADE,
	kind         TEXT NOT NULL,
	item_id      TEXT NOT NULL DEFAULT '',
	path         TEXT NOT NULL,
	new_path     TEXT NOT NULL DEFAULT '',
	viewer       TEXT NOT NULL DEFAULT '',
	snapshot_id  TEXT NOT NULL DEFAULT '',
	phase        INTEGER NOT NULL DEFAULT 0,
	cursor       TEXT NOT NULL DEFAULT '',
	done         INTEGER NOT NULL DEFAULT 0,
	token        TEXT NOT NULL DEFAULT '',
	lease_until  INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX tree_ops_library ON tree_ops (library_id, created_at);
CREATE INDEX tree_ops_lease ON tree_ops (lease_until);
