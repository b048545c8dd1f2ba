-- 0006: embeddings beside chunks, and projects.
--
-- A chunk's vector carries the model that made it and its dimensions, so
-- vectors of different models are never compared and a model change can
-- find what to embed again. Vector ids come from AUTOINCREMENT and are
-- never reused: the in-memory nearest-neighbour index keys on them, and an
-- id of a deleted vector must never name a newer one.

CREATE TABLE chunk_vectors (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	chunk_id     INTEGER NOT NULL UNIQUE REFERENCES chunks (id) ON DELETE CASCADE,
	workspace_id TEXT NOT NULL,
	model        TEXT NOT NULL,
	dims         INTEGER NOT NULL,
	vec          BLOB NOT NULL -- dims little-endian float32s
) STRICT;

CREATE INDEX chunk_vectors_model ON chunk_vectors (workspace_id, model, id);

-- Projects group library files as documents to search together. A
-- document is a reference to a file (its status is the file's index
-- state), gone with the file or the project.
CREATE TABLE projects (
	id           TEXT NOT NULL PRIMARY KEY,
	workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	description  TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX projects_workspace ON projects (workspace_id, created_at, id);

CREATE TABLE project_documents (
	id           TEXT NOT NULL PRIMARY KEY,
	project_id   TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	workspace_id TEXT NOT NULL,
	item_id      TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
	created_at   INTEGER NOT NULL,
	UNIQUE (project_id, item_id)
) STRICT;

CREATE INDEX project_documents_item ON project_documents (item_id);
CREATE INDEX project_documents_order ON project_documents (project_id, created_at, id);
