package glob

import (
	"errors"
	"strconv"
	"unicode/utf8"
)

// ErrPattern is matched by every error this package returns: the pattern
// or patch path came from the client and is wrong, so a caller answers
// 400 (shelf.EINVALID), using the error's text as the message.
var ErrPattern = errors.New("invalid glob pattern")

// Error describes why a pattern or a patch path was refused. Its text is
// safe to show a client: it quotes (a prefix of) the client's own input and
// names the rule it breaks, and holds nothing else.
type Error struct {
	Input  string // the pattern or patch path, as given
	Offset int    // byte offset in Input of the problem
	Reason string // the rule broken, e.g. "unclosed '['"
}

func (e *Error) Error() string {
	return "glob " + quoteShort(e.Input) + ": " + e.Reason + " (at byte " + strconv.Itoa(e.Offset) + ")"
}

// Is makes errors.Is(err, ErrPattern) true for every *Error.
func (e *Error) Is(target error) bool { return target == ErrPattern }

// maxQuoted bounds how much of a client's input an error message repeats.
const maxQuoted = 64

// quoteShort quotes s, cut to at most maxQuoted bytes at a rune boundary.
func quoteShort(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	n := maxQuoted
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strconv.Quote(s[:n]) + "…"
}
