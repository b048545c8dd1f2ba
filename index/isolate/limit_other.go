//go:build !linux

package isolate

// limitMemory does nothing outside Linux: macOS does not enforce
// RLIMIT_AS, so a child there is bounded only by the Go runtime's soft
// memory limit and the extractors' own limits. A child that still runs
// out of memory dies alone; the server is not affected.
func limitMemory(memory int64) error { return nil }

// MemoryCapped reports whether Serve caps a child's memory with the
// kernel on this platform.
const MemoryCapped = false
