package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/tuitest"
)

// trapsFleet is three real sshd hosts: stg1 in staging, web1 and web2 in
// protected production; every host's health check passes but web2's,
// which fails. An app whose repository has one commit gives the wizard
// something to deploy.
func trapsFleet(t *testing.T) (*sshtest.Fleet, string) {
	t.Helper()
	fleet, _ := execFleet(t, 3, true)
	repo := t.TempDir()
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"-c", "user.email=dev@example.com", "-c", "user.name=Dev",
		"commit", "-q", "--allow-empty", "-m", "initial"}} {
		if out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	var doc strings.Builder
	fmt.Fprintf(&doc, "environments:\n  - name: staging\n  - name: production\n    protected: true\n"+
		"roles:\n  web:\n    options:\n      check: \"true\"\n  sick:\n    options:\n      check: \"echo answered HTTP 500; exit 1\"\n"+
		"apps:\n  - name: app\n    repo: %s\n    deploy_to: /srv/app\nhosts:\n", repo)
	for i, h := range fleet.Hosts {
		name, env, role := []string{"stg1", "web1", "web2"}[i], []string{"staging", "production", "production"}[i], []string{"web", "web", "sick"}[i]
		fmt.Fprintf(&doc, "  - name: %s\n    address: %s\n    port: %d\n    user: %s\n    env: %s\n    roles: [%s]\n    identity_file: %s\n",
			name, h.Addr, h.Port, fleet.User, env, role, fleet.ClientKeyPath)
	}
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(file, []byte(doc.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "traps.db")
	mustRun(t, db, "inventory", "import", file)
	return fleet, db
}

// startTrapsConsole runs the console on trapsFleet's database with
// NO_COLOR, probing every second.
func startTrapsConsole(t *testing.T, db string) *tuitest.Term {
	t.Helper()
	term := tuitest.Start(t, 140, 40, []string{"NO_COLOR=1", "HOME=" + os.Getenv("HOME"), "XDG_DATA_HOME=" + os.Getenv("XDG_DATA_HOME")},
		tuitest.Build(t), "--db", db, "--refresh", "1s")
	term.WaitText("3 hosts", 10*time.Second)
	return term
}

// cursorTo moves the fleet's cursor down to host, as the > marker shows
// it (NO_COLOR: the marker is the only sign of the cursor).
func cursorTo(t *testing.T, term *tuitest.Term, host string) {
	t.Helper()
	for range 10 {
		if strings.Contains(term.Screen(), "> "+host+" ") {
			return
		}
		term.Keys("Down")
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no cursor on %s:\n%s", host, term.Screen())
}

func quitConsole(t *testing.T, term *tuitest.Term) {
	t.Helper()
	term.Keys("q")
	if code := term.WaitExit(10 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// TestConsoleHeaderCountsHealthInATerminal: web2 answers its probe but its
// health check fails; the header says so instead of "3 up" (issue 18,
// trap 6).
func TestConsoleHeaderCountsHealthInATerminal(t *testing.T) {
	_, db := trapsFleet(t)
	term := startTrapsConsole(t, db)
	screen := term.WaitText("2 healthy · 1 failing · 0 down", 30*time.Second)
	if strings.Contains(screen, "3 up") {
		t.Errorf("the header counts the failing host up:\n%s", screen)
	}
	quitConsole(t, term)
}

// TestConsoleWizardNeverPreselectsProductionInATerminal opens the wizard
// with the cursor on a production host: the picker starts on staging, and
// Enter alone goes on with staging (issue 18, trap 3).
func TestConsoleWizardNeverPreselectsProductionInATerminal(t *testing.T) {
	_, db := trapsFleet(t)
	term := startTrapsConsole(t, db)
	cursorTo(t, term, "web1")
	term.Keys("d")
	screen := term.WaitText("app → production (protected)", 10*time.Second)
	if !strings.Contains(screen, "> app → staging") || strings.Contains(screen, "> app → production") {
		t.Fatalf("the picker does not start on staging:\n%s", screen)
	}
	term.Keys("Enter")
	screen = term.WaitText("deploy app → staging", 10*time.Second)
	if strings.Contains(screen, "deploy app → production") {
		t.Errorf("Enter chose production:\n%s", screen)
	}
	term.Keys("Escape")
	term.WaitText("HOST", 10*time.Second)
	quitConsole(t, term)
}

// TestConsoleExecOnProductionAsksForItsNameInATerminal runs a command that
// leaves a file on web1 (production): nothing runs until "production" is
// typed, a wrong name is refused, and the screen shows the command and
// the host first (issue 18, trap 2). With NO_COLOR the run's focused pane
// and the past runs' cursor are marked with > (trap 5).
func TestConsoleExecOnProductionAsksForItsNameInATerminal(t *testing.T) {
	fleet, db := trapsFleet(t)
	web1 := fleet.Hosts[1]
	mark := filepath.Join(web1.Home, "ran-by-x")
	term := startTrapsConsole(t, db)
	cursorTo(t, term, "web1")
	term.Keys("x")
	term.WaitText("command>", 5*time.Second)
	term.Type("touch ~/ran-by-x; echo marked-$((6*7))")
	term.WaitText("marked-$((6*7))", 5*time.Second)
	term.Keys("Enter")
	screen := term.WaitText("type production to confirm", 5*time.Second)
	for _, want := range []string{"Run on 1 host?", "command: touch ~/ran-by-x; echo marked-$((6*7))", "hosts: web1 (production)",
		"production is a protected environment"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the confirmation lacks %q:\n%s", want, screen)
		}
	}
	term.Type("prod")
	term.Keys("Enter")
	term.WaitText("the name did not match", 5*time.Second)
	time.Sleep(time.Second)
	if _, err := os.Stat(mark); err == nil {
		t.Fatal("the command ran on web1 before production was typed")
	}
	term.Type("uction")
	term.Keys("Enter")
	screen = term.WaitText("done: 1 ok", 20*time.Second)
	if _, err := os.Stat(mark); err != nil {
		t.Errorf("the confirmed command did not run on web1: %v", err)
	}
	// NO_COLOR: the focused pane's title carries a >, its border is thick.
	if !strings.Contains(screen, "> web1 · ok") || !strings.Contains(screen, "┏") {
		t.Errorf("the run's focused pane is not marked without colours:\n%s", screen)
	}
	term.Keys("Escape")
	term.WaitText("HOST", 5*time.Second)
	term.Keys("P")
	// The list's cursor row: "> run 1 ..." (the fleet's detail says "run 1" too).
	screen = term.WaitText("> run 1 ", 10*time.Second)
	if !strings.Contains(screen, "past runs") {
		t.Errorf("the past runs' cursor is not marked without colours:\n%s", screen)
	}
	term.Keys("Escape")
	term.WaitText("HOST", 5*time.Second)
	quitConsole(t, term)
}
