package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/tuitest"
)

// TestConsoleInATerminal runs the real binary in tmux: the fleet imported
// by the CLI shows up grouped, the filter narrows it, and q quits cleanly.
func TestConsoleInATerminal(t *testing.T) {
	bin := tuitest.Build(t)
	db := filepath.Join(t.TempDir(), "opsui.db")
	if out, err := exec.Command(bin, "--db", db, "inventory", "import", fleetFile).CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	term := tuitest.Start(t, 120, 30, []string{"NO_COLOR=1"}, bin, "--db", db)
	term.WaitText("10 hosts · 2 environments", 10*time.Second)
	screen := term.WaitText("production (protected) · web · 2", 5*time.Second)
	if !strings.Contains(screen, "stg-db1") {
		t.Fatalf("fleet not listed:\n%s", screen)
	}
	term.Type("/canary")
	term.WaitText("/canary", 5*time.Second) // every letter has arrived
	term.Keys("Enter")
	screen = term.WaitFor("the filter to apply", 5*time.Second, func(s string) bool {
		return !strings.Contains(s, "stg-db1") && strings.Contains(s, "web1")
	})
	if strings.Contains(screen, "web2") {
		t.Errorf("filter canary still shows web2:\n%s", screen)
	}
	term.Keys("Space")
	term.WaitText("1 selected", 5*time.Second)
	term.Keys("q")
	if code := term.WaitExit(5 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// TestConsoleRunsACommandOnRealHosts selects two hosts in the console, runs
// uname -n on them over real sshd, and reads each host's pane.
func TestConsoleRunsACommandOnRealHosts(t *testing.T) {
	bin := tuitest.Build(t)
	_, db := execFleet(t, 3, true)
	term := tuitest.Start(t, 120, 30, []string{"NO_COLOR=1", "HOME=" + os.Getenv("HOME"), "XDG_DATA_HOME=" + os.Getenv("XDG_DATA_HOME")}, bin, "--db", db)
	term.WaitText("3 hosts", 10*time.Second)
	term.Keys("Space", "Space") // web1, web2
	term.WaitText("2 selected", 5*time.Second)
	term.Keys("x")
	term.WaitText("command>", 5*time.Second)
	term.Type("uname -n; echo done-$((6*7))")
	term.Keys("Enter")
	screen := term.WaitText("done: 2 ok", 15*time.Second)
	for _, want := range []string{"web1 · ok", "web2 · ok", "done-42"} {
		if !strings.Contains(screen, want) {
			t.Errorf("run view lacks %q:\n%s", want, screen)
		}
	}
	if strings.Contains(screen, "web3 ·") {
		t.Errorf("ran on unselected web3:\n%s", screen)
	}
	term.Keys("Escape")
	term.WaitText("HOST", 5*time.Second) // the fleet list again
	term.Keys("q")
	if code := term.WaitExit(5 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}
