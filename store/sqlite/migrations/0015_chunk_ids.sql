-- 0015: chunk ids are never handed out twice. An INTEGER PRIMARY KEY
-- without AUTOINCREMENT takes max(id) + 1, so deleting the highest chunks
-- let their ids come back, and the in-memory keyword index, which catches
-- up with new chunks by id (keywords.go), could miss a chunk whose id it
-- had already seen deleted. ReplaceChunks now takes its ids from this
-- counter, which only grows; it starts above every id in use or logged
-- as deleted.
CREATE TABLE chunk_seq (
	one INTEGER PRIMARY KEY CHECK (one = 1),
	seq INTEGER NOT NULL
) STRICT;

INSERT INTO chunk_seq (one, seq) VALUES (1, max(
	coalesce((SELECT max(id) FROM chunks), 0),
	coalesce((SELECT max(chunk_id) FROM chunk_deletes), 0)));
