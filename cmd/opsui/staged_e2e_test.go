package main

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/tuitest"
	"github.com/opsui/opsui/ops/remote"
)

// ranOn lists the hosts that left a marker in dir.
func ranOn(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

// TestStagedCommandOnRealHosts runs the real binary in tmux on six real
// sshd hosts (issue 18, items 18 and 19): tab in the command line runs
// it on web1 alone, the others held until y; their outputs fold into one
// group. Then a command that fails on web1 stops there: the others never
// run. Each host leaves a marker, so the test sees what ran.
func TestStagedCommandOnRealHosts(t *testing.T) {
	bin := tuitest.Build(t)
	_, db := execFleet(t, 6, true)
	first, second := t.TempDir(), t.TempDir()
	term := tuitest.Start(t, 120, 30, []string{"NO_COLOR=1", "HOME=" + os.Getenv("HOME"), "XDG_DATA_HOME=" + os.Getenv("XDG_DATA_HOME")}, bin, "--db", db)
	term.WaitText("6 hosts", 30*time.Second)
	term.Keys("a")
	term.WaitText("6 selected", 10*time.Second)

	term.Keys("x")
	term.WaitText("command>", 10*time.Second)
	term.Type("touch " + remote.Quote(first) + `/"$(uname -n)"; echo disk ok`)
	term.Keys("Tab")
	term.WaitText("command (web1 first)>", 10*time.Second)
	term.Keys("Enter")
	screen := term.WaitText("web1 ended well. y: run on the other 5 hosts", time.Minute)
	if got := ranOn(t, first); strings.Join(got, ",") != "web1" {
		t.Fatalf("before y, ran on %v:\n%s", got, screen)
	}
	if !strings.Contains(screen, "5 hosts: (no output yet) · waiting") || !strings.Contains(screen, "web1: disk ok") {
		t.Errorf("the held hosts and web1's output:\n%s", screen)
	}
	term.Keys("Enter") // Enter never answers
	term.Keys("y")
	screen = term.WaitText("done: 6 ok", time.Minute)
	if got := ranOn(t, first); len(got) != 6 {
		t.Fatalf("after y, ran on %v:\n%s", got, screen)
	}
	if !strings.Contains(screen, "1 output across 6 hosts") || !strings.Contains(screen, "6 hosts: disk ok") {
		t.Errorf("the outputs not folded:\n%s", screen)
	}

	// A failure on the first host: no question, the others never run.
	term.Keys("Escape")
	term.WaitText("HOST", 10*time.Second)
	term.Keys("x")
	term.WaitText("command>", 10*time.Second)
	term.Type("touch " + remote.Quote(second) + `/"$(uname -n)"; test "$(uname -n)" != web1 || { echo No space left on device >&2; exit 1; }`)
	term.Keys("Tab")
	term.WaitText("command (web1 first)>", 10*time.Second)
	term.Keys("Enter")
	screen = term.WaitText("run 2 (stopped after web1)", time.Minute)
	if !strings.Contains(screen, "web1: No space left on device · failed: exit 1") || !strings.Contains(screen, "5 hosts: (no output) · not reached") {
		t.Errorf("the stop:\n%s", screen)
	}
	if got := ranOn(t, second); strings.Join(got, ",") != "web1" {
		t.Fatalf("after web1 failed, ran on %v", got)
	}
	// Recorded: the first run's two parts, the second's first host.
	if n := execRuns(t, db); n != 3 {
		t.Errorf("%d exec runs recorded, want 3", n)
	}
	term.Keys("Escape")
	term.WaitText("HOST", 10*time.Second)
	term.Keys("q")
	if code := term.WaitExit(10 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}
