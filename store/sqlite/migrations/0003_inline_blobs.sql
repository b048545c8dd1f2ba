-- 0003: small blobs kept in the database, so that writing a small document
-- costs one commit instead of a file, a rename and their fsyncs. A rowid
-- table: its rows are up to InlineMax bytes, too large for WITHOUT ROWID.

CREATE TABLE inline_blobs (
	hash TEXT NOT NULL UNIQUE,
	data BLOB NOT NULL
) STRICT;
