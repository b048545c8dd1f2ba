-- 0014: a project owns a library (kind 'project') where each document is
-- a copy of the library file it was imported from, so a document no
-- longer goes with its file. A project may belong to a group (a library
-- of kind 'project_group', MemoryLake's v3 workspace) and carry a custom
-- id, unique in its group, and metadata.
--
-- Documents made before this migration still name the library file
-- itself (source_id ''); the core copies them into their project's
-- library when it opens the store (library.Open), once.

ALTER TABLE projects ADD COLUMN group_id TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN custom_id TEXT; -- NULL when absent
ALTER TABLE projects ADD COLUMN metadata TEXT;  -- a JSON object, NULL when absent
ALTER TABLE projects ADD COLUMN library_id TEXT NOT NULL DEFAULT '';

CREATE UNIQUE INDEX projects_custom_id ON projects (workspace_id, group_id, custom_id) WHERE custom_id IS NOT NULL;
CREATE INDEX projects_group ON projects (workspace_id, group_id, created_at, id);

ALTER TABLE project_documents ADD COLUMN source_id TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX project_documents_source ON project_documents (project_id, source_id) WHERE source_id <> '';
