package main

import (
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
