package sshtest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// members returns the pids of the processes on the process's host: all the
// processes of its PID namespace when it has one, else the sshd and its
// descendants.
func (p *process) members() []int {
	if p.pidNS != "" {
		return pidsInNamespace(p.pidNS)
	}
	return descendants(p.cmd.Process.Pid)
}

// signalAll sends sig to every pid, ignoring processes that are gone.
func signalAll(pids []int, sig syscall.Signal) {
	for _, pid := range pids {
		_ = syscall.Kill(pid, sig)
	}
}

// pids lists the processes in /proc.
func pids() []int {
	entries, _ := os.ReadDir("/proc")
	var list []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			list = append(list, pid)
		}
	}
	return list
}

// pidsInNamespace returns the processes whose PID namespace is ns, as
// /proc/PID/ns/pid names it.
func pidsInNamespace(ns string) []int {
	var list []int
	for _, pid := range pids() {
		if link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil && link == ns {
			list = append(list, pid)
		}
	}
	return list
}

// descendants returns root and all its descendants.
func descendants(root int) []int {
	children := make(map[int][]int)
	for _, pid := range pids() {
		if ppid, ok := parentOf(pid); ok {
			children[ppid] = append(children[ppid], pid)
		}
	}
	list := []int{root}
	for i := 0; i < len(list); i++ {
		list = append(list, children[list[i]]...)
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
	state, _, ok := stat(pid)
	return ok && state != "Z" && state != "X"
}

// parentOf returns the parent pid of pid.
func parentOf(pid int) (int, bool) {
	_, ppid, ok := stat(pid)
	return ppid, ok
}

// stat returns the state and parent pid of pid from /proc/PID/stat.
func stat(pid int) (state string, ppid int, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, false
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", 0, false
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 2 {
		return "", 0, false
	}
	ppid, err = strconv.Atoi(fields[1])
	return fields[0], ppid, err == nil
}
