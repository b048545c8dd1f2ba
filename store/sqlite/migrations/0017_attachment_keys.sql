-- 0017: attachment keys. A document's attachment (memory.inc ingest) was
-- keyed "<document key>#<file name>", the document key being its external
-- id, else "path:" and its path, which a client's own external id could
-- spell ("rev#y.txt"). It is now keyed by its relation to the document:
-- the document's item id, the file name and the attachment's occurrence
-- among the same-named ones of a request, joined by U+001F, which no
-- client id holds (shelf.AttachmentKey).
--
-- An item is converted when it is a file of a source library at
-- "<document path>.attachments/<its name>" and its key is the document's
-- old one: the old scheme put every attachment there, under its name, so
-- this finds each, with occurrence 1 (the old keys held one per name).
-- The same holds for the rows of snapshots of source libraries.
--
-- Not recoverable: where the old keys collided, one item holds both
-- histories (a look-alike document wrote its versions into the attachment,
-- or the attachment into the document, moving it into the folder); it is
-- converted as the attachment, and its versions are left as they are. An
-- attachment a client moved out of its folder keeps its old key and is an
-- ordinary item from now on.

UPDATE items AS a
SET external_id = d.id || char(31) || a.name || char(31) || '1'
FROM libraries AS l, items AS d
WHERE a.type = 'file' AND a.external_id IS NOT NULL
	AND l.id = a.library_id AND l.kind = 'source'
	AND d.library_id = a.library_id
	AND d.path = substr(a.path, 1, length(a.path) - length(a.name) - length('.attachments/'))
	AND d.type = 'file'
	AND a.path = d.path || '.attachments/' || a.name
	AND a.external_id = coalesce(d.external_id, 'path:' || d.path) || '#' || a.name;

UPDATE snapshot_items AS a
SET external_id = d.item_id || char(31) || a.name || char(31) || '1'
FROM snapshots AS s, libraries AS l, snapshot_items AS d
WHERE a.type = 'file' AND a.external_id IS NOT NULL
	AND s.id = a.snapshot_id AND l.id = s.library_id AND l.kind = 'source'
	AND d.snapshot_id = a.snapshot_id
	AND d.path = substr(a.path, 1, length(a.path) - length(a.name) - length('.attachments/'))
	AND d.type = 'file'
	AND a.path = d.path || '.attachments/' || a.name
	AND a.external_id = coalesce(d.external_id, 'path:' || d.path) || '#' || a.name;
