package isolate

import "syscall"

// sysProcAttr makes the kernel kill a child whose parent dies, so a
// server killed with -9 leaves no worker behind. (A child idle at the
// time would also end when its input closes; one in the middle of a file
// would otherwise run until its limits stop it.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
