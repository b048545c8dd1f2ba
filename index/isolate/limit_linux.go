package isolate

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// limitMemory caps the memory this process can still map so that its
// resident memory stays under about memory bytes. The cap is RLIMIT_DATA,
// which since Linux 4.7 counts every private writable mapping: the Go
// heap as it is mapped, thread stacks, allocator metadata. It is set at
// what is mapped now plus what is left of memory once the pages already
// resident (about 10 MB) are counted. RLIMIT_AS would count the hundreds
// of MiB of address space the Go runtime reserves without using, and the
// heap's 64 MiB arenas whole, so under it a child could fail a file that
// needs 70 MB; RLIMIT_DATA follows what is really mapped.
func limitMemory(memory int64) error {
	if raceEnabled {
		return nil
	}
	data, rss, err := procSizes()
	if err != nil {
		return err
	}
	if rss >= memory {
		return fmt.Errorf("the process already holds %d MiB, more than the %d MiB cap", rss>>20, memory>>20)
	}
	lim := uint64(data + memory - rss)
	return syscall.Setrlimit(syscall.RLIMIT_DATA, &syscall.Rlimit{Cur: lim, Max: lim})
}

// procSizes returns this process's private writable and resident sizes
// (VmData, VmRSS).
func procSizes() (data, rss int64, err error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != "VmData" && k != "VmRSS" {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, err
		}
		if k == "VmData" {
			data = kb << 10
		} else {
			rss = kb << 10
		}
	}
	if data == 0 || rss == 0 {
		return 0, 0, fmt.Errorf("no VmData or VmRSS in /proc/self/status")
	}
	return data, rss, sc.Err()
}

// MemoryCapped reports whether Serve caps a child's memory with the
// kernel on this platform (and in this build: not with -race).
const MemoryCapped = !raceEnabled
