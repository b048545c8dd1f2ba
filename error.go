package shelf

import (
	"errors"
	"fmt"
)

// Error codes. Every error that crosses a package boundary with a meaning
// carries one of these; each transport maps them to its own wire codes in
// one table.
const (
	EINVALID      = "invalid"       // the request is malformed or breaks a rule
	ENOTFOUND     = "not_found"     // no such thing in the caller's workspace
	ECONFLICT     = "conflict"      // the name is taken, or the state forbids it
	ETOOLARGE     = "too_large"     // a size limit was exceeded
	EFORBIDDEN    = "forbidden"     // authenticated, but not allowed
	EUNAUTHORIZED = "unauthorized"  // no key, or an unknown or revoked one
	EUNAVAILABLE  = "unavailable"   // try again later (busy, shutting down)
	EINTERNAL     = "internal"      // a bug or an I/O failure; never detailed to a client
	EINSUFFICIENT = "insufficient"  // out of storage space
	EGONE         = "gone"          // existed, but expired or finished
	ENOTIMPL      = "not_supported" // the operation does not apply to this thing
	ETIMEOUT      = "timeout"       // a remote server did not finish in time
	ERATELIMIT    = "rate_limited"  // too many requests; retry after a while
)

// Error is the only error type that crosses package boundaries with a
// meaning. Message is safe to show a client; Err is the cause, logged and
// never sent.
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an EINTERNAL error that keeps err as its cause. A nil err
// gives nil. An err that already carries a code keeps it.
func Wrap(err error, op string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Code: EINTERNAL, Message: op, Err: err}
}

// ErrorCode returns the code of err: "" for nil, EINTERNAL for an error
// that carries none.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err. Errors without a
// code give a generic message, so internals never leak.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "internal error"
}
