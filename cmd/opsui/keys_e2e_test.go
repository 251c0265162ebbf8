package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/internal/tuitest"
)

// lastScreenLine is the terminal's bottom line, the console's footer.
func lastScreenLine(screen string) string {
	lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestConsoleFooterAndShellInATerminal: at 80x24 the footer names the
// main actions and ?; q in the help closes it; s opens a shell on the
// host under the cursor (a real sshd host, reached with the inventory's
// settings) and exit comes back to the console as it was (issue 18,
// items 14, 9 and 16).
func TestConsoleFooterAndShellInATerminal(t *testing.T) {
	testenv.RequireProgram(t, "ssh", "openssh-client")
	fleet, db := trapsFleet(t)
	term := tuitest.Start(t, 80, 24, []string{"NO_COLOR=1", "HOME=" + os.Getenv("HOME"), "XDG_DATA_HOME=" + os.Getenv("XDG_DATA_HOME")},
		tuitest.Build(t), "--db", db, "--refresh", "1s")
	screen := term.WaitText("3 hosts", 10*time.Second)
	footer := lastScreenLine(screen)
	for _, want := range []string{"d deploy", "r rollback", "L logs", "R releases", "x run", "? help", "q quit"} {
		if !strings.Contains(footer, want) {
			t.Errorf("the footer lacks %q: %q", want, footer)
		}
	}
	term.Keys("?")
	term.WaitText("keys: fleet", 5*time.Second)
	term.Keys("q")
	term.WaitFor("the help closed", 5*time.Second, func(s string) bool { return !strings.Contains(s, "keys: fleet") && strings.Contains(s, "3 hosts") })

	cursorTo(t, term, "web1")
	term.Keys("s")
	term.WaitFor("a shell prompt", 20*time.Second, func(s string) bool { return !strings.Contains(s, "3 hosts") && strings.Contains(s, "#") })
	term.Type("echo shell-on-$(uname -n)-$((6*7))")
	term.Keys("Enter")
	screen = term.WaitText("-42", 10*time.Second)
	if want := "shell-on-" + fleet.Hosts[1].Name + "-42"; fleet.Isolated && !strings.Contains(screen, want) {
		t.Errorf("the shell is not on web1's host (want %q):\n%s", want, screen)
	}
	term.Type("exit")
	term.Keys("Enter")
	screen = term.WaitText("3 hosts", 10*time.Second)
	if !strings.Contains(screen, "> web1 ") {
		t.Errorf("the console came back without its cursor on web1:\n%s", screen)
	}

	// The palette (item 15): a fuzzy name with its subject, then the
	// line again from the history.
	term.Keys(":")
	term.WaitText("> deploy", 5*time.Second)
	term.Type("lgs stg1")
	term.Keys("Enter")
	term.WaitText("logs of stg1", 10*time.Second)
	term.Keys("Escape")
	term.WaitText("d deploy", 10*time.Second)
	term.Keys(":")
	term.WaitText("> deploy", 5*time.Second)
	term.Keys("C-p")
	term.WaitText(":lgs stg1", 5*time.Second)
	term.Keys("Escape")
	term.WaitText("d deploy", 10*time.Second)
	quitConsole(t, term)
}

// TestConsoleDeployOutOfSightInATerminal: esc while a deploy runs goes
// back to the fleet; the header says the deploy goes on, a flow key is
// refused, the end comes as a toast, and o shows the summary (issue 18,
// item 17).
func TestConsoleDeployOutOfSightInATerminal(t *testing.T) {
	// The stage waits for a file the test leaves in each host's deploy
	// tree, so the deploy runs exactly as long as the test needs.
	e := newDeployEnv(t, 2, "      - name: waitstage\n        run: while [ ! -e \"$DEPLOY_TO/go\" ]; do sleep 0.2; done\n        position: before:switch\n")
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
	screen := term.WaitText("waitstage", 60*time.Second)
	if !strings.Contains(lastScreenLine(screen), "esc look around") {
		t.Errorf("the running deploy's footer lacks esc: %q", lastScreenLine(screen))
	}
	term.Keys("Escape")
	screen = term.WaitText("o returns", 10*time.Second)
	header := strings.SplitN(screen, "\n", 2)[0]
	if !strings.Contains(header, "▶ deploy app") || !strings.Contains(screen, "HOST") {
		t.Fatalf("no fleet with the deploy in its header:\n%s", screen)
	}
	term.Keys("d")
	term.WaitText("a deploy runs out of sight: o returns to it", 5*time.Second)
	for _, h := range e.fleet.Hosts {
		if err := os.WriteFile(filepath.Join(e.deployTo(h.Name), "go"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	screen = term.WaitText("o shows it", 60*time.Second)
	if !strings.Contains(screen, "HOST") {
		t.Errorf("the deploy's end took the screen:\n%s", screen)
	}
	term.Keys("o")
	term.WaitText("back to the fleet", 10*time.Second)
	term.Keys("Escape")
	// The fleet's footer, before q: tmux sends esc then q as alt+q when
	// they come too close.
	term.WaitText("d deploy", 10*time.Second)
	term.Keys("q")
	if code := term.WaitExit(30 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}
