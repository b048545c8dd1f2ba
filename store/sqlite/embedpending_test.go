package sqlite

import (
	"testing"
)

// TestMigrateEmbedPending opens a database at the schema before
// embed_pending, with a file whose chunks are partly embedded and one
// indexed without an embedder, migrates it, and checks that both wait for
// the embeddings they lack.
func TestMigrateEmbedPending(t *testing.T) {
	db, _ := dbBefore(t, "_embed_pending.sql")
	ctx := t.Context()
	for _, q := range []string{
		`INSERT INTO workspaces (id, name, created_at) VALUES ('ws', 'ws', 0)`,
		`INSERT INTO libraries (id, workspace_id, slug, name, kind, embedded, shared, root_id, created_at, updated_at)
			VALUES ('lib', 'ws', 'l', 'l', 'library', 0, 0, 'root', 0, 0)`,
		`INSERT INTO items (id, workspace_id, library_id, type, name, path, created_at, updated_at)
			VALUES ('a', 'ws', 'lib', 'file', 'a', 'a', 0, 0), ('b', 'ws', 'lib', 'file', 'b', 'b', 0, 0),
			('c', 'ws', 'lib', 'file', 'c', 'c', 0, 0)`,
		`INSERT INTO chunks (id, item_id, workspace_id, version, idx, text, start_off, end_off) VALUES
			(1, 'a', 'ws', 1, 0, 'x', 0, 1), (2, 'a', 'ws', 1, 1, 'y', 0, 1),
			(3, 'b', 'ws', 1, 0, 'x', 0, 1), (4, 'b', 'ws', 1, 1, 'y', 0, 1), (5, 'b', 'ws', 1, 2, 'z', 0, 1),
			(6, 'c', 'ws', 1, 0, 'x', 0, 1)`,
		`INSERT INTO chunk_vectors (chunk_id, workspace_id, model, dims, vec) VALUES
			(1, 'ws', 'm', 1, x'0000803f'), (6, 'ws', 'm', 1, x'0000803f')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := migrate(ctx, db, migrationFiles); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	rows, err := db.Query(`SELECT item_id, chunks FROM embed_pending WHERE workspace_id = 'ws'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		got[id] = n
	}
	if len(got) != 2 || got["a"] != 1 || got["b"] != 3 {
		t.Fatalf("embed_pending after the migration = %v; want a: 1, b: 3", got)
	}
}
