// Package procfs reads the process table from Linux's /proc, for the code
// that must find and stop every process it started (the sshd test harness
// and the demo fleet) and for the benchmarks' own memory figures.
// Elsewhere every function finds nothing.
package procfs

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Pids lists the processes in /proc.
func Pids() []int {
	entries, _ := os.ReadDir("/proc")
	var list []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			list = append(list, pid)
		}
	}
	return list
}

// Stat returns the state ("R", "S", "Z"...) and parent pid of pid from
// /proc/PID/stat; ok is false when the process is gone.
func Stat(pid int) (state string, ppid int, ok bool) {
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

// Descendants returns every process below root (not root itself), parents
// before their children, from one reading of the table.
func Descendants(root int) []int {
	kids := map[int][]int{}
	for _, pid := range Pids() {
		if _, ppid, ok := Stat(pid); ok {
			kids[ppid] = append(kids[ppid], pid)
		}
	}
	list := append([]int(nil), kids[root]...)
	for i := 0; i < len(list); i++ {
		list = append(list, kids[list[i]]...)
	}
	return list
}

// SelfRSSMB is this process's resident set size (VmRSS) in MiB; 0 when
// /proc cannot tell.
func SelfRSSMB() float64 {
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for l := range strings.SplitSeq(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}
