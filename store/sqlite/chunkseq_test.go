package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
)

// TestChunkSeqMigration checks that the chunk id counter (migration
// *_chunk_ids.sql) starts above every chunk id in use and every one logged as deleted.
func TestChunkSeqMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shelf.db")
	db, err := sql.Open("sqlite3", dsn(path, writerParams))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := t.Context()
	if err := migrate(ctx, db, migrationsBefore(t, "_chunk_ids.sql")); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO workspaces (id, name, created_at) VALUES ('ws', 'ws', 0)`,
		`INSERT INTO libraries (id, workspace_id, slug, name, kind, embedded, shared, root_id, created_at, updated_at)
			VALUES ('lib', 'ws', 'l', 'l', 'library', 0, 0, 'root', 0, 0)`,
		`INSERT INTO items (id, workspace_id, library_id, type, name, path, created_at, updated_at)
			VALUES ('f', 'ws', 'lib', 'file', 'f', 'f', 0, 0)`,
		`INSERT INTO chunks (id, item_id, workspace_id, version, idx, text, start_off, end_off) VALUES (7, 'f', 'ws', 1, 0, 'a', 0, 1)`,
		`INSERT INTO chunk_deletes (chunk_id, workspace_id) VALUES (12, 'ws')`, // a chunk deleted since
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := migrate(ctx, db, migrationFiles); err != nil {
		t.Fatal(err)
	}
	var seq int64
	if err := db.QueryRow(`SELECT seq FROM chunk_seq`).Scan(&seq); err != nil || seq != 12 {
		t.Fatalf("chunk_seq = %d (%v), want 12", seq, err)
	}
}
