package main

import (
	"strings"
	"testing"
	"time"
)

// TestConsoleShowsEnvDrift: the real console in tmux, on an app deployed
// with its environment to real sshd hosts, one of whose shared/.env was
// then edited by hand: the header counts the env drift with release
// drift, and the host's detail pane names the key; no value is shown.
func TestConsoleShowsEnvDrift(t *testing.T) {
	const secret = "s3cr3t-E2E-31f7"
	t.Setenv("OPSUI_TEST_E2E_SECRET", secret)
	e := newDeployEnv(t, 2, "",
		"env:",
		"  MODE: live",
		"  API_KEY: {secret: api}",
		"secrets:",
		"  api: {env: OPSUI_TEST_E2E_SECRET}")
	mustRun(t, e.db, "deploy", "app", "--env", "test", "--ref", "main", "--yes")
	sshOutput(t, e.fleet.Hosts[1].Address(), e.cfg, "sed -i 's/^API_KEY=.*/API_KEY=edited-by-hand/' "+e.deployTo("web2")+"/shared/.env")

	term := startConsole(t, e)
	term.WaitText("1 host drifts (1 env)", 60*time.Second)
	term.Keys("j") // web2: the detail pane shows the focused host
	screen := term.WaitFor("web2's env drift in its detail", 10*time.Second, func(s string) bool {
		return strings.Contains(s, "env drift") && strings.Contains(s, "test · app: API_KEY differs")
	})
	if strings.Contains(screen, secret) || strings.Contains(screen, "edited-by-hand") {
		t.Errorf("a value on screen:\n%s", screen)
	}
	term.Keys("q")
	if code := term.WaitExit(10 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}
