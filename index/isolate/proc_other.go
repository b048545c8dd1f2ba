//go:build !linux

package isolate

import "syscall"

// sysProcAttr: outside Linux a child outlives a parent killed with -9
// until it finishes its file (bounded by its limits) and reads the end of
// its input.
func sysProcAttr() *syscall.SysProcAttr { return nil }
