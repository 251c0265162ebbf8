//go:build unix

package main

import (
	"fmt"
	"io"
	"syscall"
)

// fdReserve is the descriptors opsui needs besides its connections: the
// store, its log files, the terminal, a few dials under way.
const fdReserve = 64

// fdWarnBelow is the open-file limit under which opsui says how many hosts
// it can hold connections to: one descriptor per host, and 2 000-host
// fleets are measured (docs/BENCHMARKS.md).
const fdWarnBelow = 4096

// raiseFDLimit raises the soft limit of open files to the hard one: opsui
// keeps one SSH connection per host, and the usual soft limit (1 024)
// would fail a larger fleet's hosts with "too many open files". (Go's
// runtime does the same at start; doing it here keeps it when that
// changes, and lets opsui say what the limit allows.) When the hard limit
// itself is low it says so on w, with how many hosts fit.
func raiseFDLimit(w io.Writer) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		fmt.Fprintf(w, "opsui: cannot read the open-file limit: %v\n", err)
		return
	}
	if r.Cur < r.Max {
		raised := r
		raised.Cur = r.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			fmt.Fprintf(w, "opsui: cannot raise the open-file limit from %d to %d: %v\n", r.Cur, r.Max, err)
		} else {
			r = raised
		}
	}
	if r.Cur < fdWarnBelow {
		fmt.Fprintf(w, "opsui: the open-file limit is %d (hard limit %d): connections to more than about %d hosts at once "+
			"will fail with \"too many open files\"; raise the hard limit (ulimit -Hn, limits.conf, LimitNOFILE=)\n",
			r.Cur, r.Max, max(0, int64(r.Cur)-fdReserve))
	}
}
