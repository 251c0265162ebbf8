package main

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/tuitest"
)

// TestRunbooksInTheConsole runs the real binary in tmux on three real
// sshd hosts (issue 18, item 20): the palette lists the fleet file's
// runbooks; one runs on its roles' hosts of the cursor's environment at
// once, on the protected production only once its name is typed, and a
// confirm: true one only on y (enter leaves); the key: runs it too; past
// runs show each as "runbook NAME". The markers show where each ran.
func TestRunbooksInTheConsole(t *testing.T) {
	bin := tuitest.Build(t)
	db, marks := runbookFleet(t)
	term := tuitest.Start(t, 140, 30, []string{"NO_COLOR=1", "HOME=" + os.Getenv("HOME"), "XDG_DATA_HOME=" + os.Getenv("XDG_DATA_HOME")}, bin, "--db", db)
	term.WaitText("3 hosts", 30*time.Second)
	fleet := func() {
		t.Helper()
		term.Keys("Escape")
		term.WaitText("HOST", 10*time.Second)
	}

	term.Keys(":")
	term.Type("mar")
	term.WaitText("runbook: leave a marker on the web hosts (M)", 10*time.Second)
	term.Keys("Enter")
	screen := term.WaitText("done: 1 ok", time.Minute)
	if got := marked(t, marks); !slices.Equal(got, []string{"mark-web1"}) {
		t.Fatalf(":mark from web1 (staging) ran on %v:\n%s", got, screen)
	}

	fleet()
	term.Keys(":")
	term.Type("runbook mark production")
	term.Keys("Enter")
	screen = term.WaitText("type production to confirm", 10*time.Second)
	if !strings.Contains(screen, "web2 (production)") || strings.Contains(screen, "web3") {
		t.Errorf("the question names other hosts than web2:\n%s", screen)
	}
	term.Type("production")
	term.Keys("Enter")
	term.WaitText("done: 1 ok", time.Minute)
	if got := marked(t, marks); !slices.Equal(got, []string{"mark-web1", "mark-web2"}) {
		t.Fatalf("after production: %v", got)
	}

	fleet()
	term.Keys(":")
	term.Type("careful")
	term.Keys("Enter")
	term.WaitText("Run runbook careful on 1 host in staging?", 10*time.Second)
	term.Keys("Enter") // enter never confirms
	term.WaitText("HOST", 10*time.Second)
	if got := marked(t, marks); len(got) != 2 {
		t.Fatalf("enter ran careful: %v", got)
	}
	term.Keys(":")
	term.Type("careful")
	term.Keys("Enter")
	term.WaitText("Run runbook careful on 1 host in staging?", 10*time.Second)
	term.Keys("y")
	term.WaitText("done: 1 ok", time.Minute)

	fleet()
	term.Keys("M") // mark's key, from web1 again
	term.WaitText("done: 1 ok", time.Minute)
	if n := execRuns(t, db); n != 4 {
		t.Errorf("%d runs recorded, want 4", n)
	}

	fleet()
	term.Keys("P")
	screen = term.WaitText("runbook careful", 30*time.Second)
	if strings.Count(screen, "runbook mark") != 3 {
		t.Errorf("past runs do not show the three runs of runbook mark:\n%s", screen)
	}
	term.Keys("Escape")
	term.WaitText("HOST", 10*time.Second)
	term.Keys("q")
	if code := term.WaitExit(10 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}
