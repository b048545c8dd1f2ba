//go:build !linux

package fsblob

import "os"

// startWriteback is a no-op where sync_file_range does not exist.
func startWriteback(f *os.File, off, n int64) {}

// syncData makes f's data durable.
func syncData(f *os.File) error { return f.Sync() }

// dropRange keeps the bytes where holes cannot be punched portably.
func dropRange(f *os.File, off, n int64) error { return nil }
