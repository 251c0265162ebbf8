package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/tuitest"
)

// TestConsoleLogsFilterInATerminal runs the real binary in tmux on three
// real sshd hosts: it follows the logs of two of them (L), filters ERROR,
// and sees only the matching lines of those two hosts as they are written.
func TestConsoleLogsFilterInATerminal(t *testing.T) {
	bin := tuitest.Build(t)
	fleet, db := logsFleet(t, 3)
	for _, h := range fleet.Hosts {
		appendTo(t, h, "app.log", "boot "+h.Name)
	}
	term := tuitest.Start(t, 120, 30, []string{"NO_COLOR=1", "HOME=" + os.Getenv("HOME"), "XDG_DATA_HOME=" + os.Getenv("XDG_DATA_HOME")}, bin, "--db", db)
	term.WaitText("3 hosts", 10*time.Second)
	term.Keys("Space", "Space") // web1, web2
	term.WaitText("2 selected", 5*time.Second)
	term.Keys("L")
	term.WaitText("logs of 2 hosts", 5*time.Second)
	term.WaitFor("the existing lines", 30*time.Second, func(s string) bool {
		return strings.Contains(s, "boot web1") && strings.Contains(s, "boot web2")
	})
	term.Type("&ERROR")
	term.Keys("Enter")
	term.WaitText("filter: ERROR", 5*time.Second)
	for _, h := range fleet.Hosts {
		appendTo(t, h, "app.log", "GET /ok "+h.Name, "2026-11-23 10:00:00 ERROR payment failed on "+h.Name, "all good "+h.Name)
		appendTo(t, h, "error.log", "error: disk almost full on "+h.Name)
	}
	screen := term.WaitFor("the matching lines", 30*time.Second, func(s string) bool {
		return strings.Contains(s, "ERROR payment failed on web1") && strings.Contains(s, "ERROR payment failed on web2") &&
			strings.Contains(s, "disk almost full on web2")
	})
	for _, bad := range []string{"GET /ok", "all good", "boot web", "web3"} {
		if strings.Contains(screen, bad) {
			t.Errorf("the filtered view shows %q:\n%s", bad, screen)
		}
	}
	term.Keys("Escape")
	term.WaitText("HOST", 5*time.Second) // the fleet again: the follow stopped
	term.Keys("q")
	if code := term.WaitExit(5 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}
