// Package isolate runs text extraction in child processes, so that a file
// that would exhaust memory, overflow a parser's stack or spin for ever
// takes down a child, never the server: the child dies, the file fails
// with a reason, and the next file gets a fresh child.
//
// A child is the server's own binary in a worker mode (cmd/shelf's
// hidden `extract-worker` command), which calls Serve. At start it caps
// the memory it can still map (RLIMIT_DATA, on Linux) so that its
// resident memory stays under Config.Memory, and sets the runtime's soft
// memory limit well below that, so the garbage collector works hard
// before the cap and an allocation past it fails, which ends the child.
// The parent kills a child that runs past the extraction's time limit,
// and, on Linux, the kernel kills children whose parent died. Elsewhere
// (macOS does not enforce these limits) a child is bounded by the soft
// limit and the extractors' own limits only, and still dies alone.
//
// Parent and child speak over the child's stdin and stdout in frames: a
// request is a JSON header (content type, name, size, limits) followed by
// the file's bytes; an answer is a JSON header (an error code and message,
// or the sizes of the document) followed by the blocks in binary and the
// text. The parent trusts nothing it reads: sizes are checked against the
// limits and block offsets against the text.
//
// Children are kept in a small pool and reused for many files, since
// starting one costs some milliseconds; one that died while reading a
// file after having read others is replaced and the file tried once
// more in a fresh child, so a file is only ever blamed for a death it
// caused alone.
//
// The package does no indexing of its own and keeps no state between
// files beyond the pool.
package isolate
