//go:build !linux

package testenv

import (
	"os"
	"syscall"
)

// sysProcAttr returns nil: outside Linux there is no parent-death signal, so
// a crashed test may leave a peer behind.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// killGroup kills p.
func killGroup(p *os.Process) { _ = p.Kill() }
