-- 0018: every stored content type is a media type. Finalize once stored
-- a client's content_type as given, control characters (CR/LF) and all;
-- the core now refuses such a type (library.CheckMediaType). Those kept
-- before become application/octet-stream, in items, versions and the
-- rows of snapshots.
UPDATE items SET content_type = 'application/octet-stream'
	WHERE content_type GLOB '*[' || char(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
		21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 127) || ']*' OR instr(content_type, char(0)) > 0;
UPDATE versions SET content_type = 'application/octet-stream'
	WHERE content_type GLOB '*[' || char(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
		21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 127) || ']*' OR instr(content_type, char(0)) > 0;
UPDATE snapshot_items SET content_type = 'application/octet-stream'
	WHERE content_type GLOB '*[' || char(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
		21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 127) || ']*' OR instr(content_type, char(0)) > 0;
