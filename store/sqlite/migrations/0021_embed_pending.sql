-- 0021: embeddings follow chunks. A file's chunks are stored, and found by
-- keyword search, as soon as they are extracted; their embeddings come
-- after, whenever the embedder answers. embed_pending lists the files that
-- have chunks without an embedding, with how many, so the indexer finds
-- that work and the index status counts it without reading every chunk.
-- A row goes with its file.
--
-- An embedding of no dimensions (dims 0, an empty vec) records that the
-- embedder refused the chunk's text: the chunk is no longer pending, and
-- no search reads it.

CREATE TABLE embed_pending (
	item_id      TEXT NOT NULL PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
	workspace_id TEXT NOT NULL,
	chunks       INTEGER NOT NULL
) STRICT;

CREATE INDEX embed_pending_workspace ON embed_pending (workspace_id);

-- The files indexed without an embedder, or whose chunks an interrupted
-- model change left without one.
INSERT INTO embed_pending (item_id, workspace_id, chunks)
	SELECT c.item_id, min(c.workspace_id), count(*) FROM chunks c
	WHERE NOT EXISTS (SELECT 1 FROM chunk_vectors v WHERE v.chunk_id = c.id)
	GROUP BY c.item_id;
