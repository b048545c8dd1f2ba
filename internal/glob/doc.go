// Package glob matches slash-separated file paths such as
// "/docs/api/overview.md" against glob patterns that come from clients:
// the file globs of a bulk JSON Patch ("/docs/**/*.md/modifiedAt", split
// with SplitProperty) and of a bulk (re)index request ("/docs/**/*.md",
// "/assets/*.pdf").
//
// Patterns are untrusted input. Compile checks them against Limits and
// returns an *Error (which matches ErrPattern under errors.Is) for anything
// it does not accept, and Match runs in time proportional to
// len(path) × len(pattern) for each brace alternative (at most
// Limits.MaxAlternatives) whatever the pattern: no exponential
// backtracking. The matching itself is github.com/bmatcuk/doublestar/v4's,
// on the pattern as this package reads it (translate.go says how). The
// package does no I/O and knows nothing of libraries or stores; a caller
// lists candidate paths (Prefix narrows the scan) and asks Match.
//
// # Syntax
//
// A pattern is a sequence of segments separated by '/'. It is absolute: a
// pattern that does not start with '/' is read as if it did, so
// "docs/*.md" is "/docs/*.md". The pattern "/" matches only the root.
//
//	?       exactly one character (a Unicode code point) within a segment
//	*       any run of characters within one segment, including none
//	**      as a whole segment: zero or more whole segments
//	[abc]   one character from the set
//	[a-z]   one character from the range (by code point; both ends included)
//	[!a-z]  one character not in the set; [^a-z] means the same
//	{a,b}   either alternative; alternatives may hold any of the above, and
//	        braces nest: "{a,b{c,d}}" is a, bc or bd; an alternative may be
//	        empty ("*.md{,.bak}")
//	\c      the character c, literally: "\*", "\{", "\\", "\," …
//
// Inside a class a character is taken literally except ']' (which closes
// it), '\' (which escapes), and '-' between two characters (a range); a '-'
// first or last is literal, as is '!' or '^' after the first position.
// Outside braces ',' is literal.
//
// Matching is by code point, case-sensitive, with no Unicode normalisation:
// "é" written precomposed does not match "é" written as e + U+0301.
//
// Dotfiles are not special: '*', '?', classes and '**' match names and
// segments that start with '.', so "/docs/*" matches "/docs/.hidden" and
// "/**/*.md" matches "/.github/README.md".
//
// A segment matches exactly one path segment, so "/docs/*" matches
// "/docs/a" but not "/docs" nor "/docs/a/b". "**" may match no segments
// at all: "/docs/**/*.md" matches "/docs/a.md", and "/docs/**" matches
// "/docs" itself as well as everything below it.
//
// # What Compile rejects
//
// An empty pattern; a pattern over MaxLen bytes, with more than MaxBraces
// brace groups (nested ones count), more than MaxDoubleStars "**" segments,
// or braces that expand to more than MaxAlternatives plain patterns (the
// product over the whole pattern); invalid UTF-8 and control characters
// (NUL, C0, DEL, C1), escaped or not; empty segments ("//" or a trailing
// '/'); "." and ".." segments; "**" mixed with other text in a segment
// ("a**b", "***", "{**,a}") — it is an error, not read as '*'; an unclosed
// '[' or '{'; a stray ']' or '}' (write "\]" and "\}" for the characters);
// an empty class "[]" or "[!]"; empty braces "{}"; a range whose ends are
// reversed ("[z-a]"); a '/' inside a class or braces, or escaped ("\/"):
// braces and classes stay within one segment; a trailing '\'.
//
// # What Match accepts
//
// Match reports false, never an error, for a path that is not a clean
// absolute path in valid UTF-8: it must start with '/', and have no empty,
// "." or ".." segments and no trailing '/' (path.Clean(p) == p).
package glob
