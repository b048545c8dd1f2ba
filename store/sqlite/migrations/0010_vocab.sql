-- 0010: the full-text index's vocabulary, one row per term with the number
-- of chunks holding it, read by SearchChunks to leave the costliest common
-- terms out of a query over a large index.

CREATE VIRTUAL TABLE chunks_vocab USING fts5vocab(chunks_fts, 'row');
