//go:build linux

package tmpfs

import (
	"fmt"
	"os"
	"syscall"
	"testing"
)

// Mount mounts a tmpfs of size bytes on a new temporary directory and
// unmounts it when the test ends. It skips the test when the mount is
// refused.
func Mount(tb testing.TB, size int64) string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "shelf-tmpfs-")
	if err != nil {
		tb.Fatal(err)
	}
	if err := mount(dir, size); err != nil {
		_ = os.Remove(dir)
		tb.Skipf("a real full disk needs a small tmpfs, and mounting one was refused (%v): run as root to test it; the injected-failure tests cover the same logic", err)
	}
	tb.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			tb.Errorf("unmount %s: %v", dir, err)
		}
		_ = os.Remove(dir)
	})
	return dir
}

// Free returns the bytes free on the file system of dir.
func Free(tb testing.TB, dir string) int64 {
	tb.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		tb.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

func mount(dir string, size int64) error {
	return syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, fmt.Sprintf("size=%d,mode=0700", size))
}
