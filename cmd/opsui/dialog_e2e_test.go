package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/tuitest"
)

// TestConsoleHostKeyDialogIgnoresTyping runs the console in tmux on a host
// whose key nobody knows while the operator keeps typing "y" (every ~100ms,
// well inside the dialog's guard, lengthened for a loaded machine): the probe's question comes up in
// the middle of it and none of those keys accepts the key. Once the typing
// stops and the guard is over, n refuses it.
func TestConsoleHostKeyDialogIgnoresTyping(t *testing.T) {
	bin := tuitest.Build(t)
	_, db := execFleet(t, 1, false)
	// A 2 s guard: keys typed 100 ms apart stay inside it even when a loaded
	// machine stretches the gaps (the 300 ms default is a model test's).
	const guard = 2 * time.Second
	term := tuitest.Start(t, 120, 40, []string{"NO_COLOR=1", "HOME=" + os.Getenv("HOME"), "XDG_DATA_HOME=" + os.Getenv("XDG_DATA_HOME"),
		dialogGuardEnv + "=" + guard.String()},
		bin, "--db", db, "--refresh", "1s")
	deadline := time.Now().Add(20 * time.Second)
	after := 0 // keys typed while the dialog was up
	for after < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("no host-key dialog; the screen:\n%s", term.Screen())
		}
		term.Keys("y")
		time.Sleep(100 * time.Millisecond)
		if strings.Contains(term.Screen(), "Unknown host key") {
			after++
		}
	}
	screen := term.Screen()
	if !strings.Contains(screen, "Unknown host key") || !strings.Contains(screen, "Trust this ssh-ed25519 key") {
		t.Fatalf("the dialog closed while y was being typed:\n%s", screen)
	}
	known := filepath.Join(os.Getenv("XDG_DATA_HOME"), "opsui", "known_hosts")
	if b, err := os.ReadFile(known); err == nil {
		t.Fatalf("a key was recorded from keys typed during the guard:\n%s", b)
	}
	time.Sleep(guard + 300*time.Millisecond)
	term.Keys("n")
	term.WaitFor("the host refused", 15*time.Second, func(s string) bool {
		return !strings.Contains(s, "Unknown host key") && strings.Contains(screenRow(s, "web1"), "hostkey-unknown")
	})
	if _, err := os.Stat(known); err == nil {
		t.Error("the refused key was recorded")
	}
	term.Keys("q")
	if code := term.WaitExit(5 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}
