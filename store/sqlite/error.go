package sqlite

import (
	"database/sql"
	"errors"
	"syscall"

	"github.com/mattn/go-sqlite3"
	"github.com/shelfmem/shelf"
)

// classify translates a database error into the domain's codes by SQLite
// result code, never by message text. what names the thing the operation
// was about ("item", "commit"); it goes into the client-safe message. A nil
// err gives nil, and an err that already carries a code keeps it.
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &shelf.Error{Code: shelf.ENOTFOUND, Message: what + " not found", Err: err}
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch {
		case se.ExtendedCode == sqlite3.ErrConstraintUnique, se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey:
			return &shelf.Error{Code: shelf.ECONFLICT, Message: what + " already exists", Err: err}
		case se.ExtendedCode == sqlite3.ErrConstraintForeignKey:
			return &shelf.Error{Code: shelf.ENOTFOUND, Message: what + " refers to something that does not exist", Err: err}
		case se.Code == sqlite3.ErrFull, se.SystemErrno == syscall.ENOSPC, se.SystemErrno == syscall.EDQUOT:
			// A full disk is SQLITE_FULL when a write fails, but an I/O
			// error (SQLITE_IOERR_FSYNC, _TRUNCATE, _SHMSIZE…) when a sync
			// or a file's growth does: the errno tells.
			return &shelf.Error{Code: shelf.EINSUFFICIENT, Message: "out of storage space", Err: err}
		case se.Code == sqlite3.ErrReadonly, se.SystemErrno == syscall.EROFS:
			// The database or its file system was made read-only under
			// the server: nothing the client sent is wrong.
			return &shelf.Error{Code: shelf.EUNAVAILABLE, Message: "storage is read-only", Err: err}
		case se.Code == sqlite3.ErrBusy, se.Code == sqlite3.ErrLocked:
			return &shelf.Error{Code: shelf.EUNAVAILABLE, Message: "database is busy", Err: err}
		}
	}
	return shelf.Wrap(err, "sqlite: "+what)
}
