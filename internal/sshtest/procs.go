package sshtest

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/opsui/opsui/internal/procfs"
)

// members returns the pids of the processes on the process's host: all the
// processes of its PID namespace when it has one, else the sshd and its
// descendants.
func (p *process) members() []int {
	if p.pidNS != "" {
		return pidsInNamespace(p.pidNS)
	}
	return append([]int{p.cmd.Process.Pid}, procfs.Descendants(p.cmd.Process.Pid)...)
}

// signalAll sends sig to every pid, ignoring processes that are gone.
func signalAll(pids []int, sig syscall.Signal) {
	for _, pid := range pids {
		_ = syscall.Kill(pid, sig)
	}
}

// pidsInNamespace returns the processes whose PID namespace is ns, as
// /proc/PID/ns/pid names it.
func pidsInNamespace(ns string) []int {
	var list []int
	for _, pid := range procfs.Pids() {
		if link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil && link == ns {
			list = append(list, pid)
		}
	}
	return list
}

// waitDead waits until none of pids is running (a zombie is dead), or
// timeout passes: SIGKILL takes effect asynchronously.
func waitDead(pids []int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for _, pid := range pids {
		for running(pid) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
}

// running reports whether pid exists and is not a zombie.
func running(pid int) bool {
	state, _, ok := procfs.Stat(pid)
	return ok && state != "Z" && state != "X"
}
