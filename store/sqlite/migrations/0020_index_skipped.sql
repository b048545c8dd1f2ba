-- 0020: a file whose type holds no text Shelf reads is "skipped", not
-- "failed". Before, the indexer failed such files with "files of type …
-- cannot be indexed" (or the extractor's "… is not supported for text
-- extraction"); those become skipped, without an error or its time. Only
-- files whose extraction or embedding broke stay failed.
UPDATE items SET index_state = 'skipped', indexing_errored_at = 0, indexing_error = '', indexing_started_at = 0
	WHERE index_state = 'failed' AND type = 'file'
		AND (indexing_error LIKE 'files of type % cannot be indexed'
			OR indexing_error LIKE '%is not supported for text extraction');
