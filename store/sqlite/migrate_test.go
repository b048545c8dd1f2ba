package sqlite

import (
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/shelfmem/shelf"
)

// migrationsBefore returns the embedded migrations that come before the
// one whose name ends in suffix (its number is the lead's to change).
// dbBefore opens a new database on one connection, closed when t ends,
// migrated to just before the migration whose name ends with suffix, and
// returns it with its path.
func dbBefore(t *testing.T, suffix string) (*sql.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shelf.db")
	db, err := sql.Open("sqlite3", dsn(path, writerParams))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	if err := migrate(t.Context(), db, migrationsBefore(t, suffix)); err != nil {
		t.Fatal(err)
	}
	return db, path
}

func migrationsBefore(t *testing.T, suffix string) fstest.MapFS {
	t.Helper()
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	out := fstest.MapFS{}
	for _, n := range names { // in order
		if strings.HasSuffix(n, suffix) {
			return out
		}
		b, err := fs.ReadFile(migrationFiles, n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = &fstest.MapFile{Data: b}
	}
	t.Fatalf("no migration *%s", suffix)
	return nil
}

// TestMigrateAttachmentKeys opens a database at the schema before the
// attachment keys with attachments keyed the old way, migrates it, and
// checks which items became attachments of which document.
func TestMigrateAttachmentKeys(t *testing.T) {
	db, path := dbBefore(t, "_attachment_keys.sql")
	ctx := t.Context()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO workspaces (id, name, created_at) VALUES ('w', 'w', 0)`)
	lib := func(id, kind string) {
		exec(`INSERT INTO libraries (id, workspace_id, slug, name, kind, embedded, shared, root_id, created_at, updated_at)
			VALUES (?, 'w', ?, ?, ?, 0, 0, ?, 0, 0)`, id, id, id, kind, id+"-root")
		exec(`INSERT INTO items (id, workspace_id, library_id, parent_id, type, name, path, created_at, updated_at)
			VALUES (?, 'w', ?, NULL, 'folder', ?, '', 0, 0)`, id+"-root", id, id)
	}
	n := 0
	item := func(libID, parent, typ, path string, ext any) string {
		n++
		id := fmt.Sprintf("i%03d", n)
		name := path[strings.LastIndexByte(path, '/')+1:]
		exec(`INSERT INTO items (id, workspace_id, library_id, parent_id, type, name, path, created_at, updated_at, external_id)
			VALUES (?, 'w', ?, ?, ?, ?, ?, ?, ?, ?)`, id, libID, parent, typ, name, path, n, n, ext)
		return id
	}
	file := func(libID, parent, path string, ext any) string { return item(libID, parent, "file", path, ext) }
	folder := func(libID, parent, path string) string { return item(libID, parent, "folder", path, nil) }

	lib("src", "source")
	root := "src-root"
	rev := file("src", root, "rev", "rev")
	revAtts := folder("src", root, "rev.attachments")
	y := file("src", revAtts, "rev.attachments/y.txt", "rev#y.txt")
	z := file("src", revAtts, "rev.attachments/z.pdf", "rev#z.pdf")
	mine := file("src", revAtts, "rev.attachments/mine.txt", nil)           // a client's, keyed by path
	foreign := file("src", revAtts, "rev.attachments/k.txt", "other#k.txt") // not rev's key
	lookalike := file("src", root, "rev#q.txt", "rev#q.txt")                // a document whose id reads like a key
	moved := file("src", root, "moved.txt", "rev#moved.txt")                // moved out of its folder
	docs := folder("src", root, "docs")
	page := file("src", docs, "docs/한글 p.md", nil) // keyed by path, not ASCII
	pageAtts := folder("src", docs, "docs/한글 p.md.attachments")
	pageAtt := file("src", pageAtts, "docs/한글 p.md.attachments/é.txt", "path:docs/한글 p.md#é.txt")
	ticket := file("src", root, "ticket#1", "ticket#1")
	ticketAtts := folder("src", root, "ticket#1.attachments")
	ticketAtt := file("src", ticketAtts, "ticket#1.attachments/a.txt", "ticket#1#a.txt")
	nested := folder("src", revAtts, "rev.attachments/sub")
	deeper := file("src", nested, "rev.attachments/sub/y.txt", "rev#y.txt/sub") // below the folder: no attachment
	lib("plain", "library")
	pRev := file("plain", "plain-root", "rev", "rev")
	pAtts := folder("plain", "plain-root", "rev.attachments")
	pY := file("plain", pAtts, "rev.attachments/y.txt", "rev#y.txt")
	// A snapshot of the source holds the old keys too.
	exec(`INSERT INTO snapshots (id, workspace_id, library_id, trigger, file_count, created_at) VALUES ('snap', 'w', 'src', 'manual', 3, 0)`)
	exec(`INSERT INTO snapshot_items (snapshot_id, item_id, parent_id, type, name, path, x_attrs, head, size, hash, content_type,
			created_at, updated_at, external_id, title, scope, owner, metadata, hidden)
		SELECT 'snap', id, parent_id, type, name, path, x_attrs, head, size, hash, content_type, created_at, updated_at,
			external_id, title, scope, owner, metadata, hidden FROM items WHERE library_id = 'src' AND parent_id IS NOT NULL`)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := mustOpen(t, path) // the rest of the migrations
	want := map[string]string{
		y: shelf.AttachmentKey(rev, "y.txt", 1), z: shelf.AttachmentKey(rev, "z.pdf", 1),
		pageAtt: shelf.AttachmentKey(page, "é.txt", 1), ticketAtt: shelf.AttachmentKey(ticket, "a.txt", 1),
		rev: "rev", mine: "", foreign: "other#k.txt", lookalike: "rev#q.txt", moved: "rev#moved.txt", page: "",
		ticket: "ticket#1", deeper: "rev#y.txt/sub", pRev: "rev", pY: "rev#y.txt",
	}
	err := s.View(ctx, func(tx shelf.Tx) error {
		for id, key := range want {
			it, err := tx.Item(ctx, "w", id)
			if err != nil {
				return err
			}
			if it.ExternalID != key {
				t.Errorf("%s: external id %q, want %q", it.Path, it.ExternalID, key)
			}
		}
		// The converted keys are found as attachments of their documents.
		atts, err := tx.QueryItems(ctx, "w", shelf.ItemQuery{ExternalIDPrefix: shelf.AttachmentPrefix(rev), Limit: 10})
		if err != nil {
			return err
		}
		if len(atts) != 2 || atts[0].ID != y || atts[1].ID != z || atts[0].AttachmentOf() != rev {
			t.Errorf("attachments of rev: %d", len(atts))
		}
		snap, err := tx.SnapshotItems(ctx, "w", "snap", "", 100)
		if err != nil {
			return err
		}
		if len(snap) == 0 {
			t.Error("the snapshot is empty")
		}
		for _, it := range snap {
			wantKey, ok := want[it.ID]
			if ok && it.ExternalID != wantKey {
				t.Errorf("snapshot %s: external id %q, want %q", it.Path, it.ExternalID, wantKey)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestChunkSeqMigration checks that the chunk id counter (migration
// *_chunk_ids.sql) starts above every chunk id in use and every one logged as deleted.
func TestChunkSeqMigration(t *testing.T) {
	db, _ := dbBefore(t, "_chunk_ids.sql")
	ctx := t.Context()
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

// TestContentTypesMigration checks that content types with a control
// character, kept before the core refused them, become
// application/octet-stream, and that valid ones stay.
func TestContentTypesMigration(t *testing.T) {
	db, _ := dbBefore(t, "_content_types.sql")
	ctx := t.Context()
	types := map[string]string{"a": "text/plain\r\nX-Injected: 1", "b": "text/markdown; charset=utf-8", "c": "image/png\x7f"}
	for _, q := range []string{
		`INSERT INTO workspaces (id, name, created_at) VALUES ('ws', 'ws', 0)`,
		`INSERT INTO libraries (id, workspace_id, slug, name, kind, embedded, shared, root_id, created_at, updated_at)
			VALUES ('lib', 'ws', 'l', 'l', 'library', 0, 0, 'root', 0, 0)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for id, ct := range types {
		if _, err := db.Exec(`INSERT INTO items (id, workspace_id, library_id, type, name, path, content_type, created_at, updated_at)
			VALUES (?, 'ws', 'lib', 'file', ?, ?, ?, 0, 0)`, id, id, id, ct); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`INSERT INTO versions (id, item_id, workspace_id, number, hash, size, content_type, created_at)
			VALUES (?, ?, 'ws', 1, 'h', 1, ?, 0)`, "v"+id, id, ct); err != nil {
			t.Fatal(err)
		}
	}
	if err := migrate(ctx, db, migrationFiles); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "application/octet-stream", "b": types["b"], "c": "application/octet-stream"}
	for id, ct := range want {
		var item, version string
		if err := db.QueryRow(`SELECT i.content_type, v.content_type FROM items i JOIN versions v ON v.item_id = i.id WHERE i.id = ?`, id).Scan(&item, &version); err != nil {
			t.Fatal(err)
		}
		if item != ct || version != ct {
			t.Errorf("%s: item %q, version %q; want %q", id, item, version, ct)
		}
	}
}

// TestMigrateKeyRateLimits: a key made before keys had their own rate
// limit follows the server's (nil) after the migration, and its other
// fields are kept.
func TestMigrateKeyRateLimits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shelf.db")
	db, err := sql.Open("sqlite3", dsn(path, writerParams))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if err := migrate(t.Context(), db, migrationsBefore(t, "_key_rate_limits.sql")); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO workspaces (id, name, created_at) VALUES ('w', 'w', 0)`,
		`INSERT INTO keys (id, workspace_id, name, scopes, hash, created_at, expires_at, last_used_at)
			VALUES ('0123456789abcdef', 'w', 'old', 'read,write', x'00', 5, 7, 6)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, path)
	var k *shelf.Key
	if err := s.View(t.Context(), func(tx shelf.Tx) error {
		k, err = tx.Key(t.Context(), "0123456789abcdef")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if k.RateLimit != nil || k.Name != "old" || len(k.Scopes) != 2 || k.ExpiresAt.UnixNano() != 7 {
		t.Fatalf("key after the migration: %+v (rate limit %v)", k, k.RateLimit)
	}
}

// TestIndexSkippedMigration: files failed only because their type holds
// no text become skipped, without an error; files whose extraction broke
// stay failed.
func TestIndexSkippedMigration(t *testing.T) {
	db, _ := dbBefore(t, "_index_skipped.sql")
	ctx := t.Context()
	for _, q := range []string{
		`INSERT INTO workspaces (id, name, created_at) VALUES ('ws', 'ws', 0)`,
		`INSERT INTO libraries (id, workspace_id, slug, name, kind, embedded, shared, root_id, created_at, updated_at)
			VALUES ('lib', 'ws', 'l', 'l', 'library', 0, 0, 'root', 0, 0)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	errs := map[string]string{
		"img":  `files of type "image/png" cannot be indexed`,
		"bin":  `extract: content type "application/x-foo" (file "a.foo") is not supported for text extraction`,
		"pdf":  `extract: malformed PDF: no trailer`,
		"lock": `extract: password-protected PDFs are not supported`,
	}
	for id, msg := range errs {
		if _, err := db.Exec(`INSERT INTO items (id, workspace_id, library_id, type, name, path, created_at, updated_at,
			index_state, indexing_started_at, indexing_errored_at, indexing_error) VALUES (?, 'ws', 'lib', 'file', ?, ?, 0, 0, 'failed', 5, 6, ?)`,
			id, id, id, msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := migrate(ctx, db, migrationFiles); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"img": "skipped", "bin": "skipped", "pdf": "failed", "lock": "failed"} {
		var state, msg string
		var errored int64
		if err := db.QueryRow(`SELECT index_state, indexing_errored_at, indexing_error FROM items WHERE id = ?`, id).Scan(&state, &errored, &msg); err != nil {
			t.Fatal(err)
		}
		if state != want || (want == "skipped") != (errored == 0 && msg == "") {
			t.Errorf("%s: state %q, errored at %d, error %q; want %s", id, state, errored, msg, want)
		}
	}
}
