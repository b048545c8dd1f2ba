//go:build !linux

package tmpfs

import "testing"

// Mount skips the test: tmpfs is Linux's.
func Mount(tb testing.TB, size int64) string {
	tb.Helper()
	tb.Skip("a real full disk needs a Linux tmpfs; the injected-failure tests cover the same logic")
	return ""
}

// Free is never reached: Mount skipped.
func Free(tb testing.TB, dir string) int64 { tb.Helper(); tb.Skip("no tmpfs here"); return 0 }
