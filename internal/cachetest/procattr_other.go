//go:build !linux

package cachetest

import "syscall"

// procAttr has no parent-death signal to set outside Linux: the servers
// are stopped at the test's cleanup.
func procAttr() *syscall.SysProcAttr { return nil }
