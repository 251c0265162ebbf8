package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/demoapp"
	"github.com/opsui/opsui/internal/tuitest"
)

// TestDemoBrokenHealthTracebackInTopErrors deploys the demo app's head
// (the broken health check) to staging: the deploy fails at health and
// rolls back, and the Django traceback the broken view raised is in the
// logs view's top errors of a staging web host, collapsed to the app's
// frame and the exception.
func TestDemoBrokenHealthTracebackInTopErrors(t *testing.T) {
	requireDemoServices(t)
	bin := tuitest.Build(t)
	env, _, _ := isolatedEnv(t)
	dir := filepath.Join(t.TempDir(), "demo")
	t.Cleanup(func() { exec.Command(bin, "demo", "--stop", "--dir", dir).Run() })
	runOK(t, env, 5*time.Minute, bin, "demo", "--keep", "--dir", dir)
	wrapper := filepath.Join(dir, "opsui")

	out, err := exec.Command(wrapper, "deploy", "shop", "--env", "staging", "--ref", "main").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "answered HTTP 500") || !strings.Contains(string(out), "rolled back") {
		t.Fatalf("deploying the broken head: %v\n%s", err, out)
	}

	term := tuitest.Start(t, 160, 40, []string{"NO_COLOR=1"}, wrapper)
	term.WaitFor("the fleet, cursor on stg-lb1", 2*time.Minute, func(s string) bool {
		return strings.Contains(s, "10 hosts") && strings.Contains(s, "> stg-lb1")
	})
	term.Keys("j")
	term.WaitText("> stg-web1", time.Minute)
	term.Keys("L")
	term.WaitText("logs of stg-web1", time.Minute)
	term.Keys("e")
	screen := term.WaitFor("the traceback in the top errors", 2*time.Minute, func(s string) bool {
		return strings.Contains(s, "top errors") && strings.Contains(s, "Traceback: "+demoapp.BrokenHealthError+" ← File") &&
			strings.Contains(s, "ERROR django.request: Internal Server Error: /health/")
	})
	t.Logf("top errors:\n%s", screen)
}
