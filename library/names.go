package library

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	shelf "github.com/shelfmem/shelf"
)

// Limits on names and paths (DESIGN §5).
const (
	MaxNameBytes = 255
	MaxPathBytes = 1024
)

// CleanName returns a single item name as the client sent it, or EINVALID
// when it breaks a rule: empty, "." or "..", a "/" or "\", NUL or another
// control character, a bidirectional override, a trailing dot or space, a
// Windows device name, invalid UTF-8, or more than MaxNameBytes bytes. The
// rules hold for the name as sent and for its NFC form alike.
//
// Names are stored byte for byte as sent, and compared under NFC: NameKey
// is the form two names are equal in, and the form a path is built of.
// Names are keys in the store and never become disk paths; the rules keep
// them portable to every client that mirrors a tree onto a file system.
// Normalisation is NFC and nothing else: NFKC would turn "‥" into "..".
func CleanName(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	if k := norm.NFC.String(name); k != name {
		if err := checkName(k); err != nil {
			return "", shelf.Errorf(shelf.EINVALID, "%s (in the name's NFC form)", shelf.ErrorMessage(err))
		}
	}
	return name, nil
}

// NameKey returns the form of a name, or of a clean path, under which
// names are compared and from which item paths are built: its NFC form.
// Two names with the same key are the same name in a folder.
func NameKey(s string) string { return norm.NFC.String(s) }

// checkName applies the rules of CleanName to one form of a name.
func checkName(name string) error {
	switch {
	case !utf8.ValidString(name):
		return shelf.Errorf(shelf.EINVALID, "name is not valid UTF-8")
	case name == "":
		return shelf.Errorf(shelf.EINVALID, "name is empty")
	case name == "." || name == "..":
		return shelf.Errorf(shelf.EINVALID, "name %q is not allowed", name)
	case len(name) > MaxNameBytes:
		return shelf.Errorf(shelf.EINVALID, "name is longer than %d bytes", MaxNameBytes)
	}
	for _, r := range name {
		switch {
		case r == '/' || r == '\\':
			return shelf.Errorf(shelf.EINVALID, "name must not contain %q", r)
		case unicode.IsControl(r):
			return shelf.Errorf(shelf.EINVALID, "name must not contain control characters")
		case isBidiControl(r):
			return shelf.Errorf(shelf.EINVALID, "name must not contain bidirectional control characters")
		}
	}
	if last := name[len(name)-1]; last == '.' || last == ' ' {
		return shelf.Errorf(shelf.EINVALID, "name must not end with a dot or a space")
	}
	if isDeviceName(name) {
		return shelf.Errorf(shelf.EINVALID, "name %q is a reserved device name", name)
	}
	return nil
}

// CleanPath returns a slash-separated relative path as the client sent it,
// each segment checked by CleanName: no leading or trailing slash, no
// empty segment, at most MaxPathBytes bytes as sent and in NFC. The item
// at it is found at NameKey(path).
func CleanPath(p string) (string, error) {
	if p == "" {
		return "", shelf.Errorf(shelf.EINVALID, "path is empty")
	}
	if strings.HasPrefix(p, "/") {
		return "", shelf.Errorf(shelf.EINVALID, "path must be relative (no leading slash)")
	}
	for i, s := range strings.Split(p, "/") {
		if _, err := CleanName(s); err != nil {
			return "", shelf.Errorf(shelf.EINVALID, "path segment %d: %s", i+1, shelf.ErrorMessage(err))
		}
	}
	if len(p) > MaxPathBytes || len(NameKey(p)) > MaxPathBytes {
		return "", shelf.Errorf(shelf.EINVALID, "path is longer than %d bytes", MaxPathBytes)
	}
	return p, nil
}

// childPath is the path of an item named name under parent: the parent's
// path and the name's key.
func childPath(parent *shelf.Item, name string) string {
	return JoinPath(parent.Path, NameKey(name))
}

// JoinPath joins a parent path and a child name ("" is the root).
func JoinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "/" + name
}

// isBidiControl reports the explicit bidirectional formatting characters,
// which let a name display differently from what it is.
func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x200E || r == 0x200F || r == 0x061C
}

// isDeviceName reports Windows' reserved device names, with or without an
// extension ("CON", "nul.txt", "COM1").
func isDeviceName(name string) bool {
	base := name
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	switch strings.ToUpper(base) {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	if len(base) == 4 {
		u := strings.ToUpper(base)
		if (strings.HasPrefix(u, "COM") || strings.HasPrefix(u, "LPT")) && u[3] >= '1' && u[3] <= '9' {
			return true
		}
	}
	return false
}

// splitExt splits a file name into base and extension for the rename
// strategy: "report.pdf" → ("report", ".pdf"), "a.tar.gz" → ("a.tar", ".gz"),
// ".bashrc" → (".bashrc", ""), "Q2 Reports" → ("Q2 Reports", "").
func splitExt(name string) (string, string) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 {
		return name, ""
	}
	return name[:i], name[i:]
}
