-- 0016: key expiry and last use, and the records of idempotent writes.
-- expires_at and last_used_at are unix nanoseconds, 0 for never.
ALTER TABLE keys ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE keys ADD COLUMN last_used_at INTEGER NOT NULL DEFAULT 0;

-- One row per (workspace, caller, client key). body is sealed by the core
-- (AES-GCM under a key derived from the caller's own credential), never a
-- plaintext answer. created_at serves the pruning of old records.
CREATE TABLE idempotency (
	workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	caller       TEXT NOT NULL,
	key          TEXT NOT NULL,
	fingerprint  BLOB NOT NULL,
	token        TEXT NOT NULL,
	done         INTEGER NOT NULL,
	status       INTEGER NOT NULL,
	content_type TEXT NOT NULL,
	body         BLOB NOT NULL,
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, caller, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX idempotency_created ON idempotency (created_at);
