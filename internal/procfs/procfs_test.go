package procfs

import (
	"os"
	"os/exec"
	"runtime"
	"slices"
	"testing"
)

func TestDescendantsAndStat(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	// A shell whose child sleeps: both are below this process.
	cmd := exec.Command("sh", "-c", "sleep 30 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var below []int
	for range 200 {
		if below = Descendants(os.Getpid()); len(below) >= 2 {
			break
		}
		exec.Command("sleep", "0.01").Run()
	}
	if !slices.Contains(below, cmd.Process.Pid) || len(below) < 2 || slices.Contains(below, os.Getpid()) {
		t.Fatalf("descendants of %d: %v (shell %d)", os.Getpid(), below, cmd.Process.Pid)
	}
	if state, ppid, ok := Stat(cmd.Process.Pid); !ok || ppid != os.Getpid() || state == "" {
		t.Errorf("Stat(shell) = %q %d %v", state, ppid, ok)
	}
	if !slices.Contains(Pids(), os.Getpid()) {
		t.Error("Pids does not list this process")
	}
	if _, _, ok := Stat(-1); ok {
		t.Error("Stat of no process succeeded")
	}
}

func TestSelfRSSMB(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	// A live Go test binary holds more than a MiB and far less than 10 GiB.
	if mb := SelfRSSMB(); mb < 1 || mb > 10<<10 {
		t.Errorf("SelfRSSMB = %.1f", mb)
	}
}
