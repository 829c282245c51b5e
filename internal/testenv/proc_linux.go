package testenv

import (
	"os"
	"syscall"
)

// sysProcAttr puts a peer in its own process group and has the kernel kill it
// when the test binary dies, so that no peer outlives a crashed test.
//
// Pdeathsig fires when the OS thread that started the child exits. The Go
// runtime retires a thread only when a goroutine locked to it (LockOSThread)
// returns, so do not call Start from such a goroutine.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup kills the process group led by p.
func killGroup(p *os.Process) {
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
	_ = p.Kill()
}
