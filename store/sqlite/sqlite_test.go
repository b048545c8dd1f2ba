package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/internal/tmpfs"
	"github.com/shelfmem/shelf/store/storetest"
)

func mustOpen(tb testing.TB, path string) *Store {
	tb.Helper()
	s, err := Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) shelf.Store {
		return mustOpen(t, filepath.Join(t.TempDir(), "shelf.db"))
	})
}

// pragma reads PRAGMA name on one connection of db.
func pragma(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestPragmas(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "shelf.db"))
	for _, c := range []struct {
		db         *sql.DB
		name, want string
	}{
		{s.writer, "journal_mode", "wal"},
		{s.writer, "synchronous", "2"}, // FULL; the driver's default is NORMAL (1)
		{s.writer, "foreign_keys", "1"},
		{s.writer, "busy_timeout", "5000"},
		{s.writer, "query_only", "0"},
		{s.reader, "journal_mode", "wal"},
		{s.reader, "foreign_keys", "1"},
		{s.reader, "busy_timeout", "5000"},
		{s.reader, "query_only", "1"},
		{s.writer, "user_version", strconv.Itoa(knownVersion(t))},
		{s.writer, "wal_autocheckpoint", strconv.Itoa(fallbackCheckpointPages)},
		{s.ckpt, "journal_mode", "wal"},
		{s.ckpt, "synchronous", "2"},
	} {
		if got := pragma(t, c.db, c.name); got != c.want {
			t.Errorf("PRAGMA %s = %s, want %s", c.name, got, c.want)
		}
	}
	if n := s.writer.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("writer pool has up to %d connections, want 1", n)
	}
}

func knownVersion(t *testing.T) int {
	t.Helper()
	scripts, err := readMigrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	return len(scripts)
}

// TestUpdateIsImmediate checks that Update holds the write lock from its
// start (BEGIN IMMEDIATE), before fn writes anything, so that a transaction
// that reads and then writes never hits SQLITE_BUSY halfway.
func TestUpdateIsImmediate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shelf.db")
	s := mustOpen(t, path)
	other, err := sql.Open("sqlite3", dsn(path, "_busy_timeout=0"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	err = s.Update(t.Context(), func(shelf.Tx) error {
		_, err := other.Exec("BEGIN IMMEDIATE")
		var se sqlite3.Error
		if !errors.As(err, &se) || se.Code != sqlite3.ErrBusy {
			t.Errorf("BEGIN IMMEDIATE beside a running Update: %v, want SQLITE_BUSY", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shelf.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := s.Update(ctx, func(tx shelf.Tx) error { return tx.SetSetting(ctx, "k", "v") }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = mustOpen(t, path) // the migrations are applied already: a no-op
	if got := pragma(t, s.writer, "user_version"); got != strconv.Itoa(knownVersion(t)) {
		t.Errorf("user_version after reopen = %s", got)
	}
	err = s.View(ctx, func(tx shelf.Tx) error {
		v, err := tx.Setting(ctx, "k")
		if err == nil && v != "v" {
			err = fmt.Errorf("setting = %q, want %q", v, "v")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenOddPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a?b#c%20d é.db")
	s := mustOpen(t, path)
	ctx := t.Context()
	if err := s.Update(ctx, func(tx shelf.Tx) error { return tx.SetSetting(ctx, "k", "v") }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not at the path given: %v", err)
	}
}

func TestFutureVersionRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shelf.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.writer.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path)
	if err == nil {
		s.Close()
		t.Fatal("Open of a database from a newer Shelf succeeded")
	}
	if shelf.ErrorCode(err) != shelf.EINTERNAL || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open = %v, want EINTERNAL saying the database is newer", err)
	}
}

// TestFailedMigration checks that a migration that fails halfway leaves the
// database at the previous version, with none of its statements applied,
// and that a fixed migration then applies.
func TestFailedMigration(t *testing.T) {
	db, err := sql.Open("sqlite3", dsn(filepath.Join(t.TempDir(), "m.db"), writerParams))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := t.Context()
	one := &fstest.MapFile{Data: []byte("CREATE TABLE a (x INTEGER) STRICT;")}
	broken := fstest.MapFS{
		"migrations/0001_a.sql": one,
		"migrations/0002_b.sql": {Data: []byte("CREATE TABLE b (x INTEGER) STRICT; INSERT INTO nosuch VALUES (1);")},
	}
	if err := migrate(ctx, db, broken); err == nil {
		t.Fatal("migrate with a broken migration succeeded")
	}
	if got := pragma(t, db, "user_version"); got != "1" {
		t.Errorf("user_version after a failed migration 2 = %s, want 1", got)
	}
	tables := func() string {
		var names string
		err := db.QueryRow("SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name)").Scan(&names)
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	if got := tables(); got != "a" {
		t.Errorf("tables after a failed migration 2 = %q, want only a", got)
	}

	fixed := fstest.MapFS{
		"migrations/0001_a.sql": one,
		"migrations/0002_b.sql": {Data: []byte("CREATE TABLE b (x INTEGER) STRICT;")},
	}
	if err := migrate(ctx, db, fixed); err != nil {
		t.Fatal(err)
	}
	if got := pragma(t, db, "user_version"); got != "2" {
		t.Errorf("user_version = %s, want 2", got)
	}
	if got := tables(); got != "a,b" {
		t.Errorf("tables = %q, want a,b", got)
	}
}

func TestReadMigrationsNumbering(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"gap":        {"migrations/0001_a.sql": {}, "migrations/0003_c.sql": {}},
		"repeat":     {"migrations/0001_a.sql": {}, "migrations/0001_b.sql": {}},
		"unnumbered": {"migrations/0001_a.sql": {}, "migrations/init.sql": {}},
	} {
		if _, err := readMigrations(fsys); err == nil {
			t.Errorf("%s: readMigrations succeeded", name)
		}
	}
	scripts, err := readMigrations(migrationFiles)
	if err != nil || len(scripts) == 0 {
		t.Fatalf("the embedded migrations: %d, %v", len(scripts), err)
	}
}

// plan returns the EXPLAIN QUERY PLAN details of q, one per line.
func plan(t *testing.T, db *sql.DB, q string, args ...any) string {
	t.Helper()
	rows, err := db.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

func TestQueryPlans(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "shelf.db"))
	// A document's attachments, by the prefix of their keys.
	attachments, attachmentArgs := itemQuerySQL("w", shelf.ItemQuery{LibraryIDs: []string{"l"},
		ExternalIDPrefix: shelf.AttachmentPrefix("d"), Type: shelf.TypeFile, Viewer: "v", Limit: 10001})
	for _, c := range []struct {
		name   string
		q      string
		args   []any
		want   []string
		refuse []string
	}{
		{"Children", childrenQuery, []any{"p", "w", "", "", false, 50},
			[]string{"SEARCH items USING INDEX items_parent_name (parent_id=? AND name>?)"},
			[]string{"TEMP B-TREE", "SCAN"}},
		{"DeleteTree", deleteBelowQuery, []any{"l", "w", "a/", "a0"},
			[]string{"(library_id=? AND path>? AND path<?)"},
			[]string{"SCAN"}},
		{"QueryItems by external id prefix", attachments, attachmentArgs,
			[]string{"SEARCH items USING INDEX items_external_id (library_id=? AND external_id>? AND external_id<?)"},
			[]string{"SCAN"}},
		{"ChunksToEmbed", chunksToEmbedQuery, []any{256},
			[]string{"SCAN q USING COVERING INDEX", "SEARCH c USING INDEX chunks_item (item_id=?)"},
			[]string{"TEMP B-TREE", "SCAN c"}},
		{"DropEmbeddings", dropEmbeddingsQuery, []any{"m", 5000},
			[]string{"USING COVERING INDEX chunk_vectors_model"},
			[]string{"TEMP B-TREE"}},
		{"WalkBlobRefs", walkBlobRefsQuery, nil,
			[]string{"MERGE (UNION)", "versions USING COVERING INDEX versions_hash", "uploads USING COVERING INDEX uploads_hash",
				"snapshot_items USING COVERING INDEX snapshot_items_hash"},
			[]string{"TEMP B-TREE"}},
	} {
		got := plan(t, s.reader, c.q, c.args...)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: plan lacks %q:\n%s", c.name, w, got)
			}
		}
		for _, r := range c.refuse {
			if strings.Contains(got, r) {
				t.Errorf("%s: plan has %q:\n%s", c.name, r, got)
			}
		}
	}
}

// TestFull checks that a write the database has no room for is
// EINSUFFICIENT, and rolls back whole. max_page_count stands in for a full
// disk.
func TestFull(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "shelf.db"))
	ctx := t.Context()
	pages := pragma(t, s.writer, "page_count")
	if _, err := s.writer.Exec("PRAGMA max_page_count = " + pages); err != nil {
		t.Fatal(err)
	}
	err := s.Update(ctx, func(tx shelf.Tx) error {
		if err := tx.SetSetting(ctx, "small", "1"); err != nil {
			return err
		}
		return tx.SetSetting(ctx, "big", strings.Repeat("x", 1<<20))
	})
	if code := shelf.ErrorCode(err); code != shelf.EINSUFFICIENT {
		t.Fatalf("Update past max_page_count = %v (code %q), want %q", err, code, shelf.EINSUFFICIENT)
	}
	err = s.View(ctx, func(tx shelf.Tx) error {
		_, err := tx.Setting(ctx, "small")
		return err
	})
	if shelf.ErrorCode(err) != shelf.ENOTFOUND {
		t.Fatalf("Setting(small) after the failed Update = %v, want ENOTFOUND", err)
	}
}

// TestFullDisk fills a real file system under the database: the write
// that does not fit is EINSUFFICIENT and rolls back whole, the store stays
// usable, and once room is made the same write commits.
func TestFullDisk(t *testing.T) {
	dir := tmpfs.Mount(t, 6<<20)
	s := mustOpen(t, filepath.Join(dir, "shelf.db"))
	ctx := t.Context()
	filler := filepath.Join(dir, "filler")
	free := tmpfs.Free(t, dir)
	if err := os.WriteFile(filler, make([]byte, free-(256<<10)), 0o600); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 1<<20)
	write := func() error {
		return s.Update(ctx, func(tx shelf.Tx) error {
			if err := tx.SetSetting(ctx, "small", "1"); err != nil {
				return err
			}
			return tx.SetSetting(ctx, "big", big)
		})
	}
	if err := write(); shelf.ErrorCode(err) != shelf.EINSUFFICIENT {
		t.Fatalf("Update on a full disk = %v (code %q), want %q", err, shelf.ErrorCode(err), shelf.EINSUFFICIENT)
	}
	err := s.View(ctx, func(tx shelf.Tx) error { _, err := tx.Setting(ctx, "small"); return err })
	if shelf.ErrorCode(err) != shelf.ENOTFOUND {
		t.Fatalf("Setting(small) after the failed Update = %v, want ENOTFOUND", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := write(); err != nil {
		t.Fatalf("Update once room is made: %v", err)
	}
}

// TestClassifyFullDisk checks that a full disk met by a sync or by the
// growth of a file, which SQLite reports as an I/O error with the errno
// beside it, is EINSUFFICIENT like SQLITE_FULL, a read-only database or
// file system EUNAVAILABLE, and other I/O errors neither.
func TestClassifyFullDisk(t *testing.T) {
	for _, c := range []struct {
		err  sqlite3.Error
		want string
	}{
		{sqlite3.Error{Code: sqlite3.ErrFull}, shelf.EINSUFFICIENT},
		{sqlite3.Error{Code: sqlite3.ErrIoErr, ExtendedCode: sqlite3.ErrIoErrFsync, SystemErrno: syscall.ENOSPC}, shelf.EINSUFFICIENT},
		{sqlite3.Error{Code: sqlite3.ErrIoErr, ExtendedCode: sqlite3.ErrIoErrSHMSize, SystemErrno: syscall.EDQUOT}, shelf.EINSUFFICIENT},
		{sqlite3.Error{Code: sqlite3.ErrIoErr, ExtendedCode: sqlite3.ErrIoErrWrite, SystemErrno: syscall.EIO}, shelf.EINTERNAL},
		{sqlite3.Error{Code: sqlite3.ErrReadonly}, shelf.EUNAVAILABLE},
		{sqlite3.Error{Code: sqlite3.ErrIoErr, ExtendedCode: sqlite3.ErrIoErrWrite, SystemErrno: syscall.EROFS}, shelf.EUNAVAILABLE},
	} {
		if got := shelf.ErrorCode(classify(c.err, "x")); got != c.want {
			t.Errorf("classify(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

// TestLargeTree puts 100,000 items under one folder in one transaction and
// checks that a page of children stays cheap and that DeleteTree removes
// them all in one transaction.
func TestLargeTree(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	const n = 100_000
	s := mustOpen(t, filepath.Join(t.TempDir(), "shelf.db"))
	ctx := t.Context()
	ws, lib, root := "w", "l", "r"
	err := s.Update(ctx, func(tx shelf.Tx) error {
		if err := tx.CreateWorkspace(ctx, &shelf.Workspace{ID: ws, Name: "w", CreatedAt: time.Now()}); err != nil {
			return err
		}
		if err := tx.CreateLibrary(ctx, &shelf.Library{ID: lib, WorkspaceID: ws, Slug: "l", Name: "l", RootID: root}); err != nil {
			return err
		}
		if err := tx.CreateItem(ctx, &shelf.Item{ID: root, WorkspaceID: ws, LibraryID: lib, Type: shelf.TypeFolder, Name: "root"}); err != nil {
			return err
		}
		big := &shelf.Item{ID: "big", WorkspaceID: ws, LibraryID: lib, ParentID: root, Type: shelf.TypeFolder, Name: "big", Path: "big"}
		if err := tx.CreateItem(ctx, big); err != nil {
			return err
		}
		for i := range n {
			name := fmt.Sprintf("f%06d", i)
			it := &shelf.Item{ID: "i" + name, WorkspaceID: ws, LibraryID: lib, ParentID: "big", Type: shelf.TypeFile, Name: name, Path: "big/" + name}
			if err := tx.CreateItem(ctx, it); err != nil {
				return err
			}
			if i%10 == 0 {
				v := &shelf.Version{ID: "v" + name, ItemID: it.ID, WorkspaceID: ws, Number: 1, Hash: name}
				if err := tx.CreateVersion(ctx, v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	err = s.View(ctx, func(tx shelf.Tx) error {
		start := time.Now()
		page, err := tx.Children(ctx, ws, "big", "f050000", 50, shelf.ItemFilter{})
		if err != nil {
			return err
		}
		if len(page) != 50 || page[0].Name != "f050001" {
			return fmt.Errorf("Children page = %d items starting at %v", len(page), page[0].Name)
		}
		t.Logf("a page of 50 from a folder of %d: %v", n, time.Since(start))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	var deleted int
	err = s.Update(ctx, func(tx shelf.Tx) (err error) {
		deleted, err = tx.DeleteTree(ctx, ws, "big")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("DeleteTree of %d items: %v", deleted, time.Since(start))
	if deleted != n+1 {
		t.Errorf("DeleteTree = %d, want %d", deleted, n+1)
	}
	var left int
	if err := s.reader.QueryRow("SELECT (SELECT count(*) FROM items) + (SELECT count(*) FROM versions)").Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 1 { // the root
		t.Errorf("%d rows left after DeleteTree, want only the root", left)
	}
}

// inline puts args into query for EXPLAIN QUERY PLAN.
func inline(t *testing.T, query string, args []any) string {
	for _, a := range args {
		var lit string
		switch a := a.(type) {
		case string:
			lit = "'" + a + "'"
		case bool:
			lit = "0"
			if a {
				lit = "1"
			}
		default:
			lit = fmt.Sprint(a)
		}
		query = strings.Replace(query, "?", lit, 1)
	}
	return query
}

// TestListPlans checks that listing by position reads the skipped rows from
// a covering index, in its order: the only sort is the outer one, of the
// page's rows.
func TestListPlans(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "shelf.db"))
	list := func(q shelf.ListQuery, from string) func() (string, []any, error) {
		return func() (string, []any, error) { return listQuery("w", q, from) }
	}
	position := func(q shelf.ListQuery, after string, count bool) func() (string, []any, error) {
		return func() (string, []any, error) {
			query, args, err := positionQuery("w", q, after, count)
			if !count {
				args = append(args, 10) // the limit
			}
			return query, args, err
		}
	}
	for _, c := range []struct {
		name  string
		query func() (string, []any, error)
		want  string
	}{
		{"by name", list(shelf.ListQuery{LibraryID: "l", ParentID: "p", Limit: 100, Offset: 5000}, ""), "COVERING INDEX items_children_list (parent_id=?)"},
		{"by name, descending", list(shelf.ListQuery{ParentID: "p", Desc: true, Limit: 100}, ""), "COVERING INDEX items_children_list (parent_id=?)"},
		{"after a name", list(shelf.ListQuery{ParentID: "p", After: "note-5", Limit: 100}, ""), "COVERING INDEX items_children_list (parent_id=? AND name>?)"},
		{"from a remembered name", list(shelf.ListQuery{ParentID: "p", Offset: 100, Limit: 100}, "note-5"), "COVERING INDEX items_children_list (parent_id=? AND name>?)"},
		{"a library by path", list(shelf.ListQuery{LibraryID: "l", Recursive: true, Limit: 100, Offset: 5000}, ""), "COVERING INDEX items_library_list (library_id=? AND path>?)"},
		{"a library from a remembered path", list(shelf.ListQuery{LibraryID: "l", Recursive: true, Desc: true, Limit: 100}, "a/b"), "COVERING INDEX items_library_list (library_id=? AND path>? AND path<?)"},
		{"the first position", position(shelf.ListQuery{ParentID: "p"}, "", false), "COVERING INDEX items_children_list (parent_id=?)"},
		{"the next position", position(shelf.ListQuery{ParentID: "p", Desc: true}, "note-5", false), "COVERING INDEX items_children_list (parent_id=? AND name<?)"},
		{"the last positions", position(shelf.ListQuery{LibraryID: "l", Recursive: true}, "a/b", true), "COVERING INDEX items_library_list (library_id=? AND path>?)"},
	} {
		query, args, err := c.query()
		if err != nil {
			t.Fatal(err)
		}
		got := plan(t, s.reader, inline(t, query, args))
		// (The walk over positions scans its own CTE, pos, never items.)
		if !strings.Contains(got, c.want) || strings.Count(got, "TEMP B-TREE") > 1 || strings.Contains(got, "SCAN items") {
			t.Errorf("%s: plan:\n%s\nwant %q, one sort at most (the page's) and no scan of items", c.name, got, c.want)
		}
	}
}

// TestListPositionsAcrossStores checks that a deep page read through one
// Store follows a change another Store (another process) made to the same
// database: the remembered positions hang on a generation the change's
// own transaction bumps.
func TestListPositionsAcrossStores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shelf.db")
	a := mustOpen(t, path)
	b := mustOpen(t, path)
	ctx := t.Context()
	const ws, lib, root, n = "w", "l", "root", 2000
	err := a.Update(ctx, func(tx shelf.Tx) error {
		if err := tx.CreateWorkspace(ctx, &shelf.Workspace{ID: ws, Name: "w", CreatedAt: time.Now()}); err != nil {
			return err
		}
		if err := tx.CreateLibrary(ctx, &shelf.Library{ID: lib, WorkspaceID: ws, Slug: "l", Name: "l", RootID: root}); err != nil {
			return err
		}
		if err := tx.CreateItem(ctx, &shelf.Item{ID: root, WorkspaceID: ws, LibraryID: lib, Type: shelf.TypeFolder, Name: "root"}); err != nil {
			return err
		}
		for i := range n {
			name := fmt.Sprintf("f%06d", i)
			it := &shelf.Item{ID: "i" + name, WorkspaceID: ws, LibraryID: lib, ParentID: root, Type: shelf.TypeFile, Name: name, Path: name}
			if err := tx.CreateItem(ctx, it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	page := func(s *Store, q shelf.ListQuery) (string, int) {
		t.Helper()
		var first string
		var count int
		err := s.View(ctx, func(tx shelf.Tx) error {
			items, err := tx.ListItems(ctx, ws, q)
			if err != nil {
				return err
			}
			if len(items) > 0 {
				first = items[0].Name
			}
			count, err = tx.CountItems(ctx, ws, q)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return first, count
	}
	for _, recursive := range []bool{false, true} {
		q := shelf.ListQuery{ParentID: root, LibraryID: lib, Recursive: recursive, Offset: 1500, Limit: 10}
		if first, count := page(b, q); first != "f001500" || count != n {
			t.Fatalf("recursive %v: page at 1500 starts at %q of %d, want f001500 of %d", recursive, first, count, n)
		}
	}
	err = a.Update(ctx, func(tx shelf.Tx) error {
		_, err := tx.DeleteTree(ctx, ws, "if000007")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, recursive := range []bool{false, true} {
		q := shelf.ListQuery{ParentID: root, LibraryID: lib, Recursive: recursive, Offset: 1500, Limit: 10}
		if first, count := page(b, q); first != "f001501" || count != n-1 {
			t.Fatalf("recursive %v, after another store's delete: page at 1500 starts at %q of %d, want f001501 of %d", recursive, first, count, n-1)
		}
	}
}

// The WAL is checkpointed in the background: after writes that no commit
// checkpoints (they are far below the writer's own threshold), their pages
// are soon in the database file itself, which grows by them.
func TestBackgroundCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shelf.db")
	s := mustOpen(t, path)
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	value := strings.Repeat("x", 4000)
	for i := range 300 {
		if err := s.Update(t.Context(), func(tx shelf.Tx) error {
			return tx.SetSetting(t.Context(), fmt.Sprint("n", i), value)
		}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for size() < before+300*4000 {
		if time.Now().After(deadline) {
			t.Fatalf("the database file is %d bytes, %d before 1.2 MB of writes: they stayed in the WAL", size(), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
