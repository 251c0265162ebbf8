package cachetest

import "syscall"

// procAttr makes a server die with the test binary, even when it crashes.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
