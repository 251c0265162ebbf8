package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// checkDemoDir refuses a demo directory another local user could have
// prepared or could change: the demo writes the `opsui` wrapper the user
// is told to run, keys and a pid file that --stop signals. dir (absolute)
// must be owned by the user and writable by nobody else; each directory
// above it must be owned by the user or root and, unless sticky (/tmp),
// writable by nobody else, so that it cannot be renamed away and replaced.
func checkDemoDir(dir string) error {
	uid := uint32(os.Getuid())
	for p, first := dir, true; ; p, first = filepath.Dir(p), false {
		fi, err := os.Lstat(p)
		if err != nil {
			return fmt.Errorf("demo directory %s: %w", dir, err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil // no owners to check on this system
		}
		mode := fi.Mode()
		switch {
		case first && !fi.IsDir():
			return fmt.Errorf("demo directory %s is not a directory (a symlink is refused too)", dir)
		case first && st.Uid != uid:
			return fmt.Errorf("demo directory %s belongs to uid %d, not to you (uid %d): another user could change what the demo runs; choose a directory of yours", dir, st.Uid, uid)
		case first && mode.Perm()&0o022 != 0:
			return fmt.Errorf("demo directory %s is writable by group or others (mode %04o): another user could change what the demo runs; chmod go-w it or choose another", dir, mode.Perm())
		case !first && st.Uid != uid && st.Uid != 0:
			return fmt.Errorf("demo directory %s: %s above it belongs to uid %d, who could replace it; choose a directory of yours", dir, p, st.Uid)
		case !first && mode.Perm()&0o022 != 0 && mode&os.ModeSticky == 0:
			return fmt.Errorf("demo directory %s: %s above it is writable by group or others (mode %04o), who could replace it", dir, p, mode.Perm())
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// isDemoServer reports whether pid is this user's `opsui demo --serve
// --dir dir` (its command line, read from /proc): a pid file is only a
// hint, and may name any process by now. Without /proc it cannot tell and
// says no, so nothing is signalled on a guess.
func isDemoServer(pid int, dir string) bool {
	proc := fmt.Sprintf("/proc/%d", pid)
	fi, err := os.Stat(proc)
	if err != nil {
		return false
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Uid != uint32(os.Getuid()) {
		return false
	}
	b, err := os.ReadFile(proc + "/cmdline")
	if err != nil {
		return false
	}
	args := bytes.Split(bytes.TrimSuffix(b, []byte{0}), []byte{0})
	var s []string
	for _, a := range args {
		s = append(s, string(a))
	}
	if len(s) < 5 || !slices.Contains(s[1:], "demo") || !slices.Contains(s[1:], "--serve") {
		return false
	}
	i := slices.Index(s, "--dir")
	return i > 0 && i+1 < len(s) && s[i+1] == dir
}
