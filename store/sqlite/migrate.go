package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/shelfmem/shelf"
)

// migrationFiles holds the schema migrations, migrations/NNNN_name.sql,
// numbered from 1 without gaps. A released migration is never edited; a
// change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrate brings the database on db up to the last migration in fsys
// (files under "migrations"). Each migration runs in its own BEGIN
// IMMEDIATE transaction together with PRAGMA user_version = N, so a crash
// or a failing statement leaves the database at the previous version, and
// concurrent openers apply each migration once. A database whose
// user_version is above the last migration is refused.
func migrate(ctx context.Context, db *sql.DB, fsys fs.FS) error {
	scripts, err := readMigrations(fsys)
	if err != nil {
		return err
	}
	for {
		done, err := migrateOne(ctx, db, scripts)
		if err != nil || done {
			return err
		}
	}
}

// migrateOne applies the migration after the database's current version,
// or reports done when there is none.
func migrateOne(ctx context.Context, db *sql.DB, scripts []string) (done bool, err error) {
	t, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, classify(err, "migrate")
	}
	defer t.Rollback()
	var v int
	if err := t.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return false, classify(err, "migrate")
	}
	switch {
	case v > len(scripts):
		return false, shelf.Errorf(shelf.EINTERNAL,
			"sqlite: the database is at schema version %d, newer than the %d this build of Shelf knows; run a newer Shelf", v, len(scripts))
	case v == len(scripts):
		return true, nil
	}
	op := fmt.Sprintf("sqlite: migration %d", v+1)
	if _, err := t.ExecContext(ctx, scripts[v]); err != nil {
		return false, shelf.Wrap(err, op)
	}
	// PRAGMA takes no bound parameters; v is an int.
	if _, err := t.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
		return false, shelf.Wrap(err, op)
	}
	return false, shelf.Wrap(t.Commit(), op)
}

// readMigrations returns the scripts under "migrations" in fsys, in order:
// scripts[i] is migration i+1. Every file must be named NNNN_*.sql, and the
// numbers must run from 1 without gaps or repeats.
func readMigrations(fsys fs.FS) ([]string, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, shelf.Wrap(err, "sqlite: read migrations")
	}
	slices.Sort(names)
	scripts := make([]string, 0, len(names))
	for i, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		if n, err := strconv.Atoi(num); !ok || err != nil || n != i+1 {
			return nil, shelf.Errorf(shelf.EINTERNAL, "sqlite: migration %q: want number %04d", base, i+1)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, shelf.Wrap(err, "sqlite: read migrations")
		}
		scripts = append(scripts, string(b))
	}
	return scripts, nil
}
