package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/tuitest"
)

// incidentReason is the line a failing check writes: longer than any pane
// at 80 columns, its end ("END-OF-REASON") is what a cut line hides.
const incidentReason = "answered HTTP 500: broken release, the checkout view raised KeyError cart while rendering /orders/ END-OF-REASON"

// TestIncidentReadsInATerminal deploys with the CLI a release whose check
// after the switch fails on real sshd hosts, so both are switched back;
// the CLI says the failure against its step in the host's own words; then
// the real console at 80x24, NO_COLOR, replays the run from the past runs:
// the pane says "failed at check", + zooms it, w wraps the reason so its
// end is on screen, v shows it in full, esc unzooms and leaves.
func TestIncidentReadsInATerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("real sshd hosts and tmux")
	}
	e := newDeployEnv(t, 2, "      - name: check\n        position: after:switch\n        run: '[ ! -e {{dir}}/broken ] || { echo \""+incidentReason+"\" >&2; exit 1; }'\n")
	c1 := e.git(t, "rev-parse", "HEAD")
	r1 := releaseOf(t, mustRun(t, e.db, "deploy", "app", "--env", "test", "--ref", c1, "--yes"))
	e.commit(t, "break checkout", "index.html", "v2")
	if err := os.WriteFile(filepath.Join(e.fleet.Dir, "broken"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := opsuiCmd(t, e.db, "", "deploy", "app", "--env", "test", "--ref", "main", "--yes")
	if err == nil {
		t.Fatalf("the broken deploy succeeded:\n%s", out)
	}
	for _, want := range []string{
		"web1 | failed at check: " + incidentReason + "\n",
		"web1: failed at check: " + incidentReason + "; rolled back to " + r1 + "\n",
		": rolled back: web1, web2 failed at check; took ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the CLI lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"rolled_back", "check: check", "Process exited", "at rollback"} {
		if strings.Contains(out, bad) {
			t.Errorf("the CLI says %q:\n%s", bad, out)
		}
	}

	term := tuitest.Start(t, 80, 24, []string{"NO_COLOR=1", "HOME=" + os.Getenv("HOME"), "XDG_DATA_HOME=" + os.Getenv("XDG_DATA_HOME")},
		tuitest.Build(t), "--db", e.db)
	term.WaitText("2 hosts", 20*time.Second)
	term.Keys("P")
	screen := term.WaitText("rolled back", 20*time.Second)
	if strings.Contains(screen, "rolled_back") {
		t.Errorf("past runs say rolled_back:\n%s", screen)
	}
	term.Keys("Enter") // the newest run: the broken deploy
	screen = term.WaitText("failed at check", 20*time.Second)
	if strings.Contains(screen, "END-OF-REASON") || strings.Contains(screen, "rollback: ") && strings.Contains(screen, "failed at rollback") {
		t.Errorf("the replay at 80x24:\n%s", screen)
	}
	term.Keys("+")
	term.WaitText("zoomed (+ back)", 10*time.Second)
	term.Keys("w")
	screen = term.WaitFor("the wrapped reason", 10*time.Second, func(s string) bool { return strings.Contains(s, "END-OF-REASON") })
	checkScreenWidth(t, screen, 80)
	term.Keys("w", "v") // cut again; the selected line in full below
	screen = term.WaitFor("the reason in full", 10*time.Second, func(s string) bool {
		return strings.Contains(s, "END-OF-REASON") && !strings.Contains(s, "· wrap")
	})
	checkScreenWidth(t, screen, 80)
	term.Keys("Escape") // unzooms first
	term.WaitFor("both panes", 10*time.Second, func(s string) bool { return !strings.Contains(s, "zoomed") && strings.Contains(s, "web2") })
	term.Keys("Escape")
	term.WaitText("past runs", 10*time.Second)
	term.Keys("Escape")
	term.WaitText("HOST", 10*time.Second)
	term.Keys("q")
	if code := term.WaitExit(10 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

func checkScreenWidth(t *testing.T, screen string, w int) {
	t.Helper()
	for _, l := range strings.Split(screen, "\n") {
		if n := len([]rune(l)); n > w {
			t.Errorf("a line of %d columns at %d: %q", n, w, l)
		}
	}
}
