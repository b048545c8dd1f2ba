package fsblob

import (
	"os"
	"syscall"
)

// startWriteback asks the kernel to begin writing [off, off+n) of f to
// disk without waiting (sync_file_range with SYNC_FILE_RANGE_WRITE), so
// that a part's bytes go to disk while the upload goes on and the
// fdatasync that makes them durable (finalize's, or the part's with
// SyncParts) finds little left to do. It is a hint: it makes nothing
// durable, and its errors are ignored (the fdatasync reports).
func startWriteback(f *os.File, off, n int64) {
	const syncFileRangeWrite = 2
	_, _, _ = syscall.Syscall6(syscall.SYS_SYNC_FILE_RANGE, f.Fd(), uintptr(off), uintptr(n), syncFileRangeWrite, 0, 0)
}

// syncData makes f's data, and the metadata needed to read it, durable.
func syncData(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }

// dropRange gives back the blocks of [off, off+n) of f, keeping its size
// (fallocate with FALLOC_FL_PUNCH_HOLE): the range reads as zeros and
// takes no room. A file system that cannot punch holes keeps the bytes.
func dropRange(f *os.File, off, n int64) error {
	const punchHole, keepSize = 0x02, 0x01
	err := syscall.Fallocate(int(f.Fd()), punchHole|keepSize, off, n)
	if err == syscall.EOPNOTSUPP {
		return nil
	}
	return err
}
