-- 0004: libraries made through the library and space APIs: a
-- description, the caller's metadata (a JSON object, NULL when absent) and
-- string attributes; listing a kind by creation.

ALTER TABLE libraries ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE libraries ADD COLUMN metadata TEXT;
ALTER TABLE libraries ADD COLUMN x_attrs TEXT NOT NULL DEFAULT '{}';

CREATE INDEX libraries_kind_created ON libraries (workspace_id, kind, created_at, id);
