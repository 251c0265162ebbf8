package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/demoapp"
	"github.com/opsui/opsui/internal/webtest"
)

// TestRestartCLI: opsui restart on a real sshd host. Before any release
// it is refused (exit 2, as bad input to env set is) saying to deploy first; a canary is refused;
// the dry run lists the batches and how the host restarts, changing
// nothing; a host whose app server the role's own reload command runs
// fails saying so (exit 1), and the run is in the audit as a restart, in
// the words the command printed.
func TestRestartCLI(t *testing.T) {
	webtest.RequireDjango(t)
	e := newDeployEnv(t, 1, "", "preset: django")
	out, err := opsuiCmd(t, e.db, "", "restart", "app", "--env", "test", "--yes")
	if err == nil || exitCode(err) != 2 || !strings.Contains(out+err.Error(), "no successful release of app to test is recorded: deploy it first") {
		t.Errorf("a restart before any deploy: %v (exit %d)\n%s", err, exitCode(err), out)
	}
	shop, err := demoapp.Create(t.Context(), filepath.Join(t.TempDir(), "shop"))
	if err != nil {
		t.Fatal(err)
	}
	e.git(t, "pull", "-q", "--no-rebase", "--allow-unrelated-histories", "--no-edit", shop.Dir, "main")
	e.git(t, "revert", "--no-edit", shop.Hash(demoapp.CommitBreakHealth)) // a healthy head
	mustRun(t, e.db, "deploy", "app", "--env", "test", "--yes")
	out, err = opsuiCmd(t, e.db, "", "restart", "app", "--env", "test", "--strategy", "canary", "--yes")
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "a restart runs with --strategy all or rolling") {
		t.Errorf("a canary restart: %v (exit %d)\n%s", err, exitCode(err), out)
	}
	dry := mustRun(t, e.db, "restart", "app", "--env", "test", "--dry-run")
	for _, want := range []string{"restart of app in test: the app servers start again on release ", "batch 1: web1",
		"web1: graceful re-exec of the gunicorn master"} {
		if !strings.Contains(dry, want) {
			t.Errorf("the dry run does not say %q:\n%s", want, dry)
		}
	}
	out, err = opsuiCmd(t, e.db, "", "restart", "app", "--env", "test", "--yes")
	if err == nil || exitCode(err) != 1 || !strings.Contains(out, "web1: failed at restart: the web role's reload command is its own: opsui cannot restart its app server") {
		t.Errorf("a restart of a role with its own reload command: %v (exit %d)\n%s", err, exitCode(err), out)
	}
	audit := mustRun(t, e.db, "audit")
	if !strings.Contains(audit, "restart") || !strings.Contains(audit, "restart app to test: release ") {
		t.Errorf("the audit does not list the restart:\n%s", audit)
	}
}
