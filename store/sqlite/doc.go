// Package sqlite is Shelf's embedded metadata store: shelf.Store on one
// SQLite database file, through the cgo driver github.com/mattn/go-sqlite3.
//
// The database runs in WAL mode with synchronous=FULL, so a commit is on
// disk when Update returns. Writes go through a single writer connection in
// BEGIN IMMEDIATE transactions, which makes Update calls of one process run
// one at a time; reads (View) run on a separate pool of query-only
// connections, each on its own WAL snapshot, and never wait for the writer.
// Open applies the embedded, numbered migrations (migrations/NNNN_*.sql),
// each in its own transaction together with PRAGMA user_version, and
// refuses a database written by a newer version of Shelf.
//
// Limits:
//   - The file must be on a local file system: WAL needs shared memory, so
//     no NFS or other network file systems, and never copy the live file
//     (use VACUUM INTO or the backup API).
//   - Update must not call Update or View on the same Store from inside fn:
//     the writer is one connection, so a nested Update deadlocks.
//   - Update runs fn exactly once; SQLITE_BUSY (another process holding the
//     write lock for longer than the 5 s busy timeout) is EUNAVAILABLE.
//   - Times are kept as int64 unix nanoseconds, so only years 1678–2261
//     round-trip; the zero time.Time is kept as 0 and is the only value
//     that reads back as the zero time (the instant of the Unix epoch
//     itself does too).
//   - This package holds metadata only: no blob bytes, and no rule of the
//     domain (path syntax, conflict strategies) beyond the uniqueness
//     rules that the schema enforces.
package sqlite
