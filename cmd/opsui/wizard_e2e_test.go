package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/tuitest"
)

// TestWizardDeployRollbackAndCompareInATerminal runs the real binary in
// tmux against real sshd hosts: the wizard deploys a branch with a canary
// pause and continue, the summary rolls it back, and the releases view
// compares two releases, showing the commit between them.
func TestWizardDeployRollbackAndCompareInATerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("real sshd hosts and tmux")
	}
	e := newDeployEnv(t, 2, "")
	c1 := e.git(t, "rev-parse", "HEAD")
	out := mustRun(t, e.db, "deploy", "app", "--env", "test", "--ref", c1, "--yes")
	r1 := releaseOf(t, out)
	c2 := e.commit(t, "wizard-made change", "index.html", "v2")

	term := startConsole(t, e)

	// 1 app and environment, 2 ref: main is the first branch.
	term.Keys("d")
	term.WaitText("app → test", 5*time.Second)
	term.Keys("Enter")
	term.WaitText("wizard-made change", 10*time.Second)
	term.Keys("Enter")
	// 3 preview: the commit it brings, against what runs.
	screen := term.WaitText("commits it brings (1)", 30*time.Second)
	for _, want := range []string{c2[:10], "Dev", "current release " + r1, "web1", "web2"} {
		if !strings.Contains(screen, want) {
			t.Errorf("preview lacks %q:\n%s", want, screen)
		}
	}
	// 4 strategy: canary; 5 confirm: Enter does not, y does.
	term.Keys("Enter")
	term.WaitText("auto-rollback", 5*time.Second)
	term.Keys("Right", "Right")
	term.WaitText("canary (pauses for your go-ahead): web1", 5*time.Second)
	term.Keys("Enter")
	term.WaitText("y confirm", 5*time.Second)
	term.Keys("Enter")
	term.WaitText("enter does not confirm", 5*time.Second)
	term.Keys("y")
	// 6 run: the canary pauses for the go-ahead.
	term.WaitText("continue with the other hosts?", 60*time.Second)
	term.Keys("y")
	screen = term.WaitText(": success in", 60*time.Second) // the summary
	if !strings.Contains(screen, "roll back to the previous release") || !strings.Contains(screen, "web1") || !strings.Contains(screen, "web2") {
		t.Fatalf("summary:\n%s", screen)
	}
	if _, rev := e.current(t, 1); rev != c2 {
		t.Errorf("web2 runs %s after the deploy, want %s", rev, c2)
	}

	// 7 summary: roll back right there, to the previous release.
	term.Keys("r")
	screen = term.WaitText("back to "+r1, 15*time.Second)
	if !strings.Contains(screen, "wizard-made change") {
		t.Errorf("the rollback does not say what goes away:\n%s", screen)
	}
	term.Keys("Enter")
	term.WaitText("how are the hosts switched?", 5*time.Second)
	term.Keys("Enter")
	term.WaitText("Roll app on test back", 5*time.Second)
	term.Keys("y")
	term.WaitFor("the rollback's result", 60*time.Second, func(s string) bool {
		return strings.Contains(s, "release "+r1+": success")
	})
	if rel, rev := e.current(t, 0); rel != r1 || rev != c1 {
		t.Errorf("web1 runs %s (%s) after the rollback, want %s (%s)", rel, rev, r1, c1)
	}
	term.Keys("Escape")
	term.WaitText("HOST", 10*time.Second)

	// The releases view: the rollback, the wizard's deploy and the first
	// deploy, newest first; compare the two deploys.
	term.Keys("R")
	// The fleet's footer names rollback and deploy too: wait for the view.
	screen = term.WaitFor("the releases view", 10*time.Second, func(s string) bool {
		return strings.Contains(s, "OPERATOR") && strings.Contains(s, "rollback ") && strings.Count(s, "deploy ") >= 2
	})
	if strings.Count(screen, "deploy ") < 2 || !strings.Contains(screen, "wizard-made change") {
		t.Errorf("releases view:\n%s", screen)
	}
	term.Keys("Down", "Space", "Down", "Space", "c")
	screen = term.WaitText("commits between them (1", 30*time.Second)
	if !strings.Contains(screen, "wizard-made change") || !strings.Contains(screen, "index.html") {
		t.Errorf("compare:\n%s", screen)
	}
	term.Keys("Escape")
	term.WaitText("OPERATOR", 10*time.Second) // the list again
	term.Keys("Escape")
	term.WaitFor("the fleet", 10*time.Second, func(s string) bool { return strings.Contains(s, "HOST") && !strings.Contains(s, "OPERATOR") })
	term.Keys("q")
	if code := term.WaitExit(10 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// TestQuitMidDeployReleasesTheLock quits the console in tmux while the
// wizard's deploy runs a slow stage on real sshd hosts: it asks first,
// then aborts the deploy, and the process exits only once every host's
// deploy lock is gone.
func TestQuitMidDeployReleasesTheLock(t *testing.T) {
	if testing.Short() {
		t.Skip("real sshd hosts and tmux")
	}
	e := newDeployEnv(t, 2, "      - name: slowstage\n        run: sleep 60\n        position: before:switch\n")
	term := startConsole(t, e)
	term.Keys("d")
	term.WaitText("app → test", 5*time.Second)
	term.Keys("Enter")
	term.WaitText("initial", 10*time.Second)
	term.Keys("Enter")
	term.WaitText("commits it brings", 30*time.Second)
	term.Keys("Enter")
	term.WaitText("auto-rollback", 5*time.Second)
	term.Keys("Enter")
	term.WaitText("y confirm", 5*time.Second)
	term.Keys("y")
	term.WaitText("slowstage", 60*time.Second)
	locked := 0
	for _, h := range e.fleet.Hosts {
		if _, err := os.Stat(e.deployTo(h.Name) + "/.opsui-lock"); err == nil {
			locked++
		}
	}
	if locked != len(e.fleet.Hosts) {
		t.Fatalf("%d of %d hosts locked during the deploy", locked, len(e.fleet.Hosts))
	}
	// q asks (default No), y aborts and quits.
	term.Keys("q")
	term.WaitText("quit and abort it?", 5*time.Second)
	term.Keys("Enter")
	term.WaitFor("the question gone", 5*time.Second, func(s string) bool { return !strings.Contains(s, "quit and abort it?") })
	term.Keys("q")
	term.WaitText("quit and abort it?", 5*time.Second)
	term.Keys("y")
	if code := term.WaitExit(90 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
	for _, h := range e.fleet.Hosts {
		if _, err := os.Stat(e.deployTo(h.Name) + "/.opsui-lock"); !os.IsNotExist(err) {
			t.Errorf("%s: the deploy lock is left after quitting (%v)", h.Name, err)
		}
	}
	if out := mustRun(t, e.db, "releases", "--json"); !strings.Contains(out, `"result": "aborted"`) && !strings.Contains(out, `"result": "failed"`) {
		t.Errorf("the aborted deploy's record:\n%s", out)
	}
}

// startConsole opens the console, built afresh, on e's database in tmux.
func startConsole(t *testing.T, e *deployEnv) *tuitest.Term {
	t.Helper()
	term := tuitest.Start(t, 140, 40, []string{"NO_COLOR=1", "HOME=" + os.Getenv("HOME"), "XDG_DATA_HOME=" + os.Getenv("XDG_DATA_HOME")},
		tuitest.Build(t), "--db", e.db)
	term.WaitText("2 hosts", 10*time.Second)
	return term
}
