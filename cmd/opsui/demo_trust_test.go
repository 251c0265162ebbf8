package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/demofleet"
)

// nobody is a uid that is not the test's.
const nobody = 65534

func chownOrSkip(t *testing.T, path string, uid int) {
	t.Helper()
	if err := os.Chown(path, uid, -1); err != nil {
		t.Skipf("cannot give %s to another user (not root?): %v", path, err)
	}
}

func TestDemoRefusesADirectoryOthersControl(t *testing.T) {
	base := t.TempDir()
	others := filepath.Join(base, "others")
	os.Mkdir(others, 0o700)
	chownOrSkip(t, others, nobody)
	open := filepath.Join(base, "open")
	os.Mkdir(open, 0o700)
	os.Chmod(open, 0o777)
	parent := filepath.Join(base, "parent")
	os.Mkdir(parent, 0o755)
	below := filepath.Join(parent, "demo")
	os.Mkdir(below, 0o700)
	chownOrSkip(t, parent, nobody)
	groupParent := filepath.Join(base, "gparent")
	os.Mkdir(groupParent, 0o700)
	os.Chmod(groupParent, 0o775)
	belowGroup := filepath.Join(groupParent, "demo")
	os.Mkdir(belowGroup, 0o700)
	link := filepath.Join(base, "link")
	os.Symlink(others, link)

	tests := []struct{ dir, want string }{
		{others, "belongs to uid 65534, not to you"},
		{open, "writable by group or others (mode 0777)"},
		{below, parent + " above it belongs to uid 65534"},
		{belowGroup, groupParent + " above it is writable by group or others"},
		{link, "is not a directory"},
	}
	for _, tt := range tests {
		if err := checkDemoDir(tt.dir); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("checkDemoDir(%s) = %v, want an error containing %q", tt.dir, err, tt.want)
		}
		// --stop refuses it before reading anything in it.
		os.WriteFile(filepath.Join(tt.dir, demofleet.FleetFile), nil, 0o644)
		out, err := opsuiCmd(t, filepath.Join(t.TempDir(), "db"), "", "demo", "--stop", "--dir", tt.dir)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("demo --stop --dir %s: %v, want an error containing %q\n%s", tt.dir, err, tt.want, out)
		}
	}
	mine := filepath.Join(base, "mine")
	os.Mkdir(mine, 0o700)
	if err := checkDemoDir(mine); err != nil {
		t.Errorf("a private directory of the user's under a sticky /tmp: %v", err)
	}
}

// TestDemoStopSignalsOnlyTheDemoServer: a pid file naming another process
// of the user's (stale, or written by someone) is not signalled.
func TestDemoStopSignalsOnlyTheDemoServer(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, demofleet.FleetFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	victim := exec.Command("sleep", "60")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { victim.Wait(); close(exited) }()
	t.Cleanup(func() { victim.Process.Kill(); <-exited })
	if err := os.WriteFile(filepath.Join(dir, demofleet.PidFile), []byte(strconv.Itoa(victim.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if isDemoServer(victim.Process.Pid, dir) {
		t.Fatal("sleep taken for the demo server")
	}
	out, err := opsuiCmd(t, filepath.Join(t.TempDir(), "db"), "", "demo", "--stop", "--dir", dir)
	if err != nil {
		t.Fatalf("demo --stop: %v\n%s", err, out)
	}
	if !strings.Contains(out, "which is not this demo's server: not signalled") {
		t.Errorf("demo --stop does not say it left the pid file's process alone:\n%s", out)
	}
	select {
	case <-exited:
		t.Fatal("demo --stop killed the process its pid file named, which is not the demo's server")
	case <-time.After(300 * time.Millisecond):
	}
	if err := victim.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the process is gone: %v", err)
	}
}
