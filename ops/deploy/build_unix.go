//go:build unix

package deploy

import (
	"os/exec"
	"syscall"
	"time"
)

// ownProcessGroup starts cmd in a process group of its own, and makes its
// cancellation signal the whole group: SIGTERM, and SIGKILL after
// buildKillGrace to whatever of the group is left (a child that ignores
// TERM, or outlives its shell while holding the output open).
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		pgid := -cmd.Process.Pid
		err := syscall.Kill(pgid, syscall.SIGTERM)
		time.AfterFunc(buildKillGrace, func() {
			// A group id is not reused while any of the group lives.
			if syscall.Kill(pgid, 0) == nil {
				_ = syscall.Kill(pgid, syscall.SIGKILL)
			}
		})
		return err
	}
}
