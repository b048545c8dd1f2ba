package glob

import (
	"slices"
	"strings"
)

// SplitProperty splits the path of a bulk JSON Patch operation, a file glob
// followed by one property name, such as "/docs/**/*.md/modifiedAt", into
// the glob ("/docs/**/*.md") and the property ("modifiedAt"). The property
// is the text after the last '/' and must be one of allowed; the glob must
// not be empty. The path is not unescaped as a JSON Pointer ("~0" and "~1"
// stay as they are), and the glob is not checked: Compile it.
//
// Every error it returns is an *Error and matches ErrPattern.
func SplitProperty(patchPath string, allowed []string) (glob, prop string, err error) {
	i := strings.LastIndexByte(patchPath, '/')
	if i < 0 {
		return "", "", &Error{Input: patchPath, Offset: 0, Reason: "want a file glob and a property, as in /docs/**/*.md/modifiedAt"}
	}
	glob, prop = patchPath[:i], patchPath[i+1:]
	if prop == "" {
		return "", "", &Error{Input: patchPath, Offset: i, Reason: "no property after the last '/'"}
	}
	if !slices.Contains(allowed, prop) {
		return "", "", &Error{Input: patchPath, Offset: i + 1,
			Reason: "property " + quoteShort(prop) + " cannot be set; allowed: " + strings.Join(allowed, ", ")}
	}
	if glob == "" {
		return "", "", &Error{Input: patchPath, Offset: 0, Reason: "no file glob before property " + quoteShort(prop)}
	}
	return glob, prop, nil
}
