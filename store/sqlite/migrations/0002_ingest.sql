-- 0002: ingest. A source library's type, and an item's natural key,
-- title, visibility, owner, metadata and hidden flag.

ALTER TABLE libraries ADD COLUMN source_type TEXT NOT NULL DEFAULT '';

ALTER TABLE items ADD COLUMN external_id TEXT;          -- NULL when absent
ALTER TABLE items ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN scope TEXT NOT NULL DEFAULT 'workspace';
ALTER TABLE items ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN metadata TEXT;             -- a JSON object, NULL when absent
ALTER TABLE items ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;

CREATE UNIQUE INDEX items_external_id ON items (library_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX items_created ON items (workspace_id, created_at, id);
