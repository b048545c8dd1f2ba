-- 0013: a log of deleted chunks, so the in-memory keyword index
-- (keywords.go) can catch up with deletes as it catches up with inserts by
-- id. A chunk's id can come back (an INTEGER PRIMARY KEY without
-- AUTOINCREMENT takes max(id) + 1), so a logged id that exists again is a
-- new chunk. The log keeps the last 100,000 deletes; an index that fell
-- further behind rebuilds.
CREATE TABLE chunk_deletes (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	chunk_id     INTEGER NOT NULL,
	workspace_id TEXT NOT NULL
) STRICT;

CREATE TRIGGER chunks_log_ad AFTER DELETE ON chunks BEGIN
	INSERT INTO chunk_deletes (chunk_id, workspace_id) VALUES (old.id, old.workspace_id);
END;

CREATE TRIGGER chunk_deletes_prune AFTER INSERT ON chunk_deletes WHEN new.seq % 1000 = 0 BEGIN
	DELETE FROM chunk_deletes WHERE seq <= new.seq - 100000;
END;
