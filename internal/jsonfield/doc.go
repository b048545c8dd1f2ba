// Package jsonfield reads one string field of a JSON object body as a
// stream: a request whose body is {"url": "data:…"} with a data URL of
// gigabytes is read without holding the string, or the body, in memory.
//
// Its input is untrusted. It checks the whole body as RFC 8259 JSON while
// it reads (malformed input, invalid UTF-8, nesting deeper than 64, a
// missing, duplicate or non-string field are errors with the core's code
// shelf.EINVALID), keeps a bounded buffer whatever the body, and never
// panics (FuzzString compares it with encoding/json). It knows nothing of
// HTTP, and imports only the standard library and the root package, for
// the error code.
package jsonfield
