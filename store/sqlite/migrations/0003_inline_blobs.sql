-- 0003: small blobs kept in the database, so that writing a small document
-- costs one commit instead of a file, a rename and their fsyncs.

CREATE TABLE inline_blobs (
	hash TEXT NOT NULL PRIMARY KEY,
	data BLOB NOT NULL
) STRICT, WITHOUT ROWID;
