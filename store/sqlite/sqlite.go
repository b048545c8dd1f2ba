package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/internal/bounded"

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
	ckpt   *sql.DB // one connection that checkpoints the WAL (checkpointLoop)

	// Group commit: Updates queue here, and one goroutine runs whatever
	// has queued up in one transaction, each Update inside its own
	// savepoint, so many writers share one commit (and one fsync).
	updates     chan *update
	stop        chan struct{}
	stopped     chan struct{}
	ckptStopped chan struct{}

	// stmts caches the writer's prepared statements by query text: the
	// writer has one connection, so a statement prepared once serves every
	// transaction, and no Update pays to compile its SQL again.
	stmts  sync.Map // string → *sql.Stmt
	nstmts atomic.Int64
	noted  sync.Map // string → true: queries run unprepared in the last group

	positions *positions // of deep list pages, for View
}

// maxBatch caps the Updates that share one commit.
const maxBatch = 128

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
	if err := checkFTS5(ctx, writer); err != nil {
		writer.Close()
		return nil, err
	}
	if err := migrate(ctx, writer, migrationFiles); err != nil {
		writer.Close()
		return nil, err
	}
	// The WAL is checkpointed in the background (checkpointLoop): a
	// checkpoint run by a commit copies pages into the database file and
	// fsyncs it while every other write waits. The writer checkpoints
	// only if the background falls behind by 100,000 pages (≈ 400 MiB).
	if _, err := writer.ExecContext(ctx, fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", fallbackCheckpointPages)); err != nil {
		writer.Close()
		return nil, classify(err, "open")
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
	ckpt, err := sql.Open("sqlite3", dsn(abs, checkpointParams))
	if err != nil {
		reader.Close()
		writer.Close()
		return nil, shelf.Wrap(err, "sqlite: open")
	}
	ckpt.SetMaxOpenConns(1)
	s := &Store{positions: bounded.NewMap[posKey, *posMap](maxPosMaps), writer: writer, reader: reader, ckpt: ckpt, updates: make(chan *update, maxBatch),
		stop: make(chan struct{}), stopped: make(chan struct{}), ckptStopped: make(chan struct{})}
	go s.commitLoop()
	go s.checkpointLoop()
	return s, nil
}

// Background checkpoints.
const (
	checkpointParams        = "_journal_mode=WAL&_synchronous=FULL&_busy_timeout=5000"
	checkpointEvery         = 250 * time.Millisecond
	fallbackCheckpointPages = 100_000
)

// checkpointLoop copies the WAL's committed pages back into the database
// file every checkpointEvery, on a connection of its own, until Close. A
// PASSIVE checkpoint waits for no reader or writer: commits go on while it
// copies and fsyncs, and none of them pays for it. What it cannot copy yet
// (pages a reader's snapshot still needs) it copies next time.
func (s *Store) checkpointLoop() {
	defer close(s.ckptStopped)
	for {
		select {
		case <-s.stop:
			return
		case <-time.After(checkpointEvery):
		}
		// An error (busy, or the disk) leaves the pages in the WAL for
		// the next try, or for the writer's own fallback checkpoint.
		_, _ = s.ckpt.Exec("PRAGMA wal_checkpoint(PASSIVE)")
	}
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
	close(s.stop)
	<-s.stopped
	<-s.ckptStopped
	s.stmts.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
	return shelf.Wrap(errors.Join(s.ckpt.Close(), s.reader.Close(), s.writer.Close()), "sqlite: close")
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
	return fn(&tx{tx: uncancelled{t}, pos: s.positions})
}

// Update runs fn in a BEGIN IMMEDIATE transaction on the writer connection
// and commits when fn returns nil. It returns fn's error unchanged, with
// fn's writes rolled back, and a failed commit as an error; when it returns
// nil the commit is on disk. If fn panics, its writes are rolled back and
// the panic goes on in the caller.
//
// Concurrent Updates are committed in groups: the writer runs each queued
// fn in turn inside one transaction, each within its own savepoint, and
// commits once for all. Each fn still sees the writes of those before it
// and is all-or-nothing on its own; only the fsync is shared. fn runs on
// the writer's goroutine, and its queries are not interrupted when ctx
// ends (an interrupt would roll back the whole group); an Update whose ctx
// has ended before its turn is not run.
func (s *Store) Update(ctx context.Context, fn func(shelf.Tx) error) error {
	u := &update{ctx: ctx, fn: fn, done: make(chan struct{})}
	select {
	case s.updates <- u:
	case <-ctx.Done():
		return ctx.Err()
	}
	<-u.done
	if u.panic != nil {
		panic(u.panic)
	}
	return u.err
}

// update is one queued Update and, once done is closed, its outcome.
type update struct {
	ctx   context.Context
	fn    func(shelf.Tx) error
	done  chan struct{}
	err   error
	panic any
}

// commitLoop runs the queued Updates, a group at a time, until Close.
func (s *Store) commitLoop() {
	defer close(s.stopped)
	for {
		var first *update
		select {
		case first = <-s.updates:
		case <-s.stop:
			return
		}
		group := []*update{first}
	gather:
		for len(group) < maxBatch {
			select {
			case u := <-s.updates:
				group = append(group, u)
			default:
				break gather
			}
		}
		s.commitGroup(group)
		s.prepareNoted()
	}
}

// commitGroup runs a group in one transaction. If the transaction itself
// fails (a savepoint cannot be rolled back, or the commit fails), the
// group is rolled back and each Update that had succeeded runs again in a
// transaction of its own, so one writer's failure never becomes another's.
func (s *Store) commitGroup(group []*update) {
	if len(group) > 1 {
		ran, err := s.runGroup(group)
		if err == nil {
			for _, u := range group {
				close(u.done)
			}
			return
		}
		for _, u := range ran {
			close(u.done) // failed on their own; their outcome stands
		}
		var again []*update
		for _, u := range group {
			if !slices.Contains(ran, u) {
				again = append(again, u)
			}
		}
		group = again
	}
	for _, u := range group {
		u.err, u.panic = nil, nil
		if _, err := s.runGroup([]*update{u}); err != nil && u.err == nil && u.panic == nil {
			u.err = err
		}
		close(u.done)
	}
}

// runGroup runs the updates in one transaction, each in a savepoint. It
// returns the updates whose own fn failed (their err or panic is set) and
// an error when the transaction as a whole failed.
func (s *Store) runGroup(group []*update) (failed []*update, err error) {
	t, err := s.writer.BeginTx(context.Background(), nil)
	if err != nil {
		return nil, classify(err, "begin transaction")
	}
	defer t.Rollback() // a no-op after a successful Commit
	d := detached{t: t, s: s}
	ctx := context.Background()
	for _, u := range group {
		if err := u.ctx.Err(); err != nil {
			u.err = err
			failed = append(failed, u)
			continue
		}
		if _, err := d.ExecContext(ctx, "SAVEPOINT u"); err != nil {
			return failed, classify(err, "savepoint")
		}
		u.err, u.panic = call(u.fn, &tx{tx: d})
		if u.err != nil || u.panic != nil {
			failed = append(failed, u)
			if _, err := d.ExecContext(ctx, "ROLLBACK TO u"); err != nil {
				return failed, classify(err, "rollback to savepoint")
			}
		}
		if _, err := d.ExecContext(ctx, "RELEASE u"); err != nil {
			return failed, classify(err, "release savepoint")
		}
	}
	if err := t.Commit(); err != nil {
		return failed, classify(err, "commit")
	}
	return failed, nil
}

// call runs fn, turning a panic into a value to re-panic with.
func call(fn func(shelf.Tx) error, t shelf.Tx) (err error, p any) {
	defer func() {
		if r := recover(); r != nil {
			p = r
		}
	}()
	return fn(t), nil
}

// detached runs a write transaction's statements with contexts that do not
// end: cancelling one Update must not interrupt the group it shares. It
// runs them as the writer's cached prepared statements.
type detached struct {
	t *sql.Tx
	s *Store
}

// stmt returns the transaction's use of the cached statement for q, or
// nil when q is not cached yet: the writer's one connection is busy with
// the transaction, so q is noted and prepared once the group has
// committed (prepareNoted).
func (d detached) stmt(ctx context.Context, q string) *sql.Stmt {
	if st, ok := d.s.stmts.Load(q); ok {
		return d.t.StmtContext(ctx, st.(*sql.Stmt))
	}
	d.s.noted.Store(q, true)
	return nil
}

func (d detached) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	ctx = context.WithoutCancel(ctx)
	if st := d.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return d.t.ExecContext(ctx, q, args...)
}

func (d detached) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	ctx = context.WithoutCancel(ctx)
	if st := d.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return d.t.QueryContext(ctx, q, args...)
}

func (d detached) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	ctx = context.WithoutCancel(ctx)
	if st := d.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return d.t.QueryRowContext(ctx, q, args...)
}

// maxStmts caps the statements cached; the queries are a fixed set in
// practice, but a query built from its arguments (an IN list) must not
// grow the cache without end.
const maxStmts = 256

// prepareNoted prepares the queries noted during the last group, while
// the writer's connection is free.
func (s *Store) prepareNoted() {
	s.noted.Range(func(k, _ any) bool {
		s.noted.Delete(k)
		if s.nstmts.Load() >= maxStmts {
			return true
		}
		st, err := s.writer.Prepare(k.(string))
		if err != nil {
			return true // it runs unprepared, as before
		}
		if _, loaded := s.stmts.LoadOrStore(k, st); loaded {
			st.Close()
		} else {
			s.nstmts.Add(1)
		}
		return true
	})
}

// uncancelled runs a read transaction's statements with contexts that do
// not end. With a cancellable context the driver starts a goroutine and a
// channel handoff for every row; reads are short, so a request that goes
// away merely lets its last query finish.
type uncancelled struct{ t *sql.Tx }

func (u uncancelled) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return u.t.ExecContext(context.WithoutCancel(ctx), q, args...)
}

func (u uncancelled) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return u.t.QueryContext(context.WithoutCancel(ctx), q, args...)
}

func (u uncancelled) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return u.t.QueryRowContext(context.WithoutCancel(ctx), q, args...)
}

// querier is what a tx runs statements on.
type querier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// tx implements shelf.Tx on one database/sql transaction.
type tx struct {
	tx querier
	// pos is the Store's remembered list positions, in a read
	// transaction only (see positions.go); nil in a write transaction.
	pos *positions
}

var (
	_ shelf.Tx       = (*tx)(nil)
	_ shelf.SearchTx = (*tx)(nil)
)

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

// checkFTS5 refuses a driver built without FTS5, which keyword search
// needs: mattn/go-sqlite3 compiles it in only with the sqlite_fts5 tag.
func checkFTS5(ctx context.Context, db *sql.DB) error {
	var on bool
	if err := db.QueryRowContext(ctx, "SELECT sqlite_compileoption_used('ENABLE_FTS5')").Scan(&on); err != nil {
		return shelf.Wrap(err, "sqlite: read compile options")
	}
	if !on {
		return shelf.Errorf(shelf.EINTERNAL, "sqlite: this binary was built without FTS5; build and test with -tags sqlite_fts5 (make does)")
	}
	return nil
}
