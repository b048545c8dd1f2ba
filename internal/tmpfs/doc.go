// Package tmpfs mounts small tmpfs file systems for tests that need a disk
// that fills up for real (ENOSPC), on Linux. Mounting needs root
// (CAP_SYS_ADMIN); where it is refused, the test is skipped and says why,
// and the tests that inject the failure instead still run.
package tmpfs
