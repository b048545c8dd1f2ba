package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"

	"github.com/shelfmem/shelf"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// Connection settings, as DSN parameters of mattn/go-sqlite3. The driver
// defaults to synchronous=NORMAL, so FULL is set explicitly; Open checks
// that both journal_mode and synchronous took effect.
const (
	writerParams = "_journal_mode=WAL&_synchronous=FULL&_busy_timeout=5000&_txlock=immediate&_foreign_keys=1"
	readerParams = "_query_only=1&_busy_timeout=5000&_txlock=deferred&_foreign_keys=1"
	readerConns  = 4
)

// Store is a shelf.Store on one SQLite database file. It is safe for
// concurrent use.
type Store struct {
	writer *sql.DB // one connection; every Update runs on it
	reader *sql.DB // query-only connections for View
}

var _ shelf.Store = (*Store)(nil)

// Open opens the database at path, creating it if needed, and migrates it
// to the schema this build knows. It fails with EINTERNAL if the database
// was written by a newer version of Shelf.
func Open(path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, shelf.Wrap(err, "sqlite: open")
	}
	ctx := context.Background()

	writer, err := sql.Open("sqlite3", dsn(abs, writerParams))
	if err != nil {
		return nil, shelf.Wrap(err, "sqlite: open")
	}
	writer.SetMaxOpenConns(1)
	if err := checkWriter(ctx, writer); err != nil {
		writer.Close()
		return nil, err
	}
	if err := migrate(ctx, writer, migrationFiles); err != nil {
		writer.Close()
		return nil, err
	}

	reader, err := sql.Open("sqlite3", dsn(abs, readerParams))
	if err != nil {
		writer.Close()
		return nil, shelf.Wrap(err, "sqlite: open")
	}
	reader.SetMaxOpenConns(readerConns)
	reader.SetMaxIdleConns(readerConns)
	if err := reader.PingContext(ctx); err != nil {
		reader.Close()
		writer.Close()
		return nil, classify(err, "open")
	}
	return &Store{writer: writer, reader: reader}, nil
}

// dsn returns a file: URI for path with params. The path is escaped so that
// '?', '#' and '%' in it are not read as URI syntax.
func dsn(path, params string) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(path))
	return "file:" + esc + "?" + params
}

// checkWriter opens the writer connection and verifies the settings that
// durability depends on, since SQLite ignores some of them silently (an
// in-memory or read-only database cannot use WAL, for one).
func checkWriter(ctx context.Context, db *sql.DB) error {
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return classify(err, "open")
	}
	var sync int
	if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return classify(err, "open")
	}
	if mode != "wal" || sync != 2 {
		return shelf.Errorf(shelf.EINTERNAL, "sqlite: open: journal_mode=%s synchronous=%d, want wal and 2 (FULL)", mode, sync)
	}
	return nil
}

// Close closes both connection pools. Call it once every View and Update
// has returned.
func (s *Store) Close() error {
	return shelf.Wrap(errors.Join(s.reader.Close(), s.writer.Close()), "sqlite: close")
}

// View runs fn in a read transaction on the reader pool. The snapshot is
// taken at the first read and holds until fn returns; writes inside fn fail
// with EINTERNAL because the reader connections are query-only. View
// returns fn's error unchanged.
func (s *Store) View(ctx context.Context, fn func(shelf.Tx) error) error {
	t, err := s.reader.BeginTx(ctx, nil)
	if err != nil {
		return classify(err, "begin read transaction")
	}
	// A read transaction has nothing to commit; rolling back ends it.
	defer t.Rollback()
	return fn(&tx{t})
}

// Update runs fn in a BEGIN IMMEDIATE transaction on the writer connection
// and commits when fn returns nil. It returns fn's error unchanged after
// rolling back, and a failed commit as an error; when it returns nil the
// commit is on disk. If fn panics, the transaction is rolled back and the
// panic goes on.
func (s *Store) Update(ctx context.Context, fn func(shelf.Tx) error) error {
	t, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return classify(err, "begin transaction")
	}
	defer t.Rollback() // a no-op after a successful Commit
	if err := fn(&tx{t}); err != nil {
		return err
	}
	return classify(t.Commit(), "commit")
}

// tx implements shelf.Tx on one database/sql transaction.
type tx struct {
	tx *sql.Tx
}

var _ shelf.Tx = (*tx)(nil)

// ensureFound turns a write that touched no row into ENOTFOUND.
func ensureFound(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return classify(err, what)
	}
	if n == 0 {
		return notFound(what)
	}
	return nil
}

func notFound(what string) error {
	return shelf.Errorf(shelf.ENOTFOUND, "%s not found", what)
}

func invalid(format string, args ...any) error {
	return shelf.Errorf(shelf.EINVALID, format, args...)
}
