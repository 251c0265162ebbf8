package demofleet

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/opsui/opsui/internal/procfs"
)

// MarkerVar is the environment variable every demo command gets, set to
// the demo's directory: what finds the demo's processes when the process
// that ran the fleet is gone.
const MarkerVar = "OPSUI_DEMO_FLEET"

// Procs tracks every process the demo hosts start. The commands run by the
// SSH servers are its own children; what they start as daemons (gunicorn
// --daemon, nginx, memcached -d) detach from them, so on Linux the fleet's
// process becomes a child subreaper: orphaned descendants are re-parented
// to it rather than to init, and Stop kills every descendant. Elsewhere
// Stop kills the pids in the hosts' pid files.
type Procs struct {
	marker   string   // MarkerVar=dir
	pidFiles []string // glob patterns of pid files to kill at Stop

	mu      sync.Mutex // held across Start and reaping: a zombie of a command being waited for is not reaped here
	running map[int]bool
}

// NewProcs returns a tracker for the demo in dir; pidFiles are glob
// patterns of the pid files of the daemons demo hosts start.
func NewProcs(dir string, pidFiles ...string) (*Procs, error) {
	if err := becomeSubreaper(); err != nil {
		return nil, fmt.Errorf("track demo processes: %w", err)
	}
	return &Procs{marker: MarkerVar + "=" + dir, pidFiles: pidFiles, running: map[int]bool{}}, nil
}

// newHostProcs returns the tracker of one host's process: its commands are
// its children; the fleet's process, a subreaper above it, adopts what
// they leave running in the background.
func newHostProcs(dir string) *Procs {
	return &Procs{marker: MarkerVar + "=" + dir, running: map[int]bool{}}
}

func (p *Procs) start(cmd *exec.Cmd) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	p.running[cmd.Process.Pid] = true
	return nil
}

func (p *Procs) wait(cmd *exec.Cmd) error {
	err := cmd.Wait()
	p.mu.Lock()
	delete(p.running, cmd.Process.Pid)
	p.mu.Unlock()
	return err
}

// Reap waits for the zombies of orphans re-parented to this process every
// interval until ctx is done.
func (p *Procs) Reap(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.reapZombies()
		}
	}
}

func (p *Procs) reapZombies() {
	p.mu.Lock()
	defer p.mu.Unlock()
	me := os.Getpid()
	for _, pid := range children(me) {
		if p.running[pid] {
			continue
		}
		if state, _, ok := procfs.Stat(pid); ok && state == "Z" {
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		}
	}
}

// Stop kills every process the demo started: this process's descendants
// (SIGTERM, then SIGKILL after grace), what the pid files name, and on
// Linux any process whose environment carries the demo's marker.
func (p *Procs) Stop(grace time.Duration) {
	KillAll(p.victims(), grace)
	p.reapZombies()
}

func (p *Procs) victims() []int {
	seen := map[int]bool{}
	var pids []int
	add := func(pid int) {
		if pid > 1 && pid != os.Getpid() && !seen[pid] {
			seen[pid] = true
			pids = append(pids, pid)
		}
	}
	for _, pid := range procfs.Descendants(os.Getpid()) {
		add(pid)
	}
	for _, pid := range Leftovers(strings.TrimPrefix(p.marker, MarkerVar+"="), p.pidFiles) {
		add(pid)
	}
	return pids
}

// Leftovers returns the running processes of the demo in dir: on Linux
// those Marked finds, elsewhere those the pid files (glob patterns) name.
// A pid file's pid is trusted only without /proc to check it: a stale one
// may name someone else's process by now.
func Leftovers(dir string, pidFiles []string) []int {
	if _, err := os.Stat("/proc/self"); err == nil {
		return Marked(dir)
	}
	var out []int
	for _, pid := range PidsFromFiles(pidFiles) {
		if alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// KillAll sends SIGTERM to pids, waits up to grace for them to die, and
// SIGKILLs what is left.
func KillAll(pids []int, grace time.Duration) {
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) && anyAlive(pids) {
		time.Sleep(50 * time.Millisecond)
	}
	for _, pid := range pids {
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	deadline = time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && anyAlive(pids) {
		time.Sleep(20 * time.Millisecond)
	}
}

func anyAlive(pids []int) bool {
	for _, pid := range pids {
		if alive(pid) {
			return true
		}
	}
	return false
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	if state, _, ok := procfs.Stat(pid); ok {
		return state != "Z" && state != "X"
	}
	if _, err := os.Stat("/proc/self"); err == nil {
		return false // Linux: no /proc entry, no process
	}
	return syscall.Kill(pid, 0) == nil
}

// PidsFromFiles reads the pids named by files matching the glob patterns.
func PidsFromFiles(patterns []string) []int {
	var pids []int
	for _, pat := range patterns {
		files, _ := filepath.Glob(pat)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// Marked returns the processes whose environment has MarkerVar=dir or
// whose command line names dir's hosts (Linux; nil elsewhere). Daemons that
// rewrite their title (nginx) keep their command line's arguments.
func Marked(dir string) []int {
	if dir == "" {
		return nil
	}
	marker := []byte(MarkerVar + "=" + dir + "\x00")
	hosts := []byte(filepath.Join(dir, "hosts") + "/")
	var out []int
	for _, pid := range procfs.Pids() {
		if pid == os.Getpid() {
			continue
		}
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if containsBytes(env, marker) || containsBytes(cmdline, hosts) {
			if alive(pid) {
				out = append(out, pid)
			}
		}
	}
	return out
}

func containsBytes(b, sub []byte) bool { return strings.Contains(string(b), string(sub)) }

func children(parent int) []int {
	var out []int
	for _, pid := range procfs.Pids() {
		if _, ppid, ok := procfs.Stat(pid); ok && ppid == parent {
			out = append(out, pid)
		}
	}
	return out
}
