package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/demoapp"
	"github.com/opsui/opsui/internal/webtest"
)

// TestRestartCLI: opsui restart on a real sshd host. Before any release
// it is refused (exit 2, as bad input to env set is) saying to deploy first; a canary is refused;
// a host whose app server the role's own reload command runs is refused
// before anything runs, naming it; without that command, the dry run
// lists the batches and how the host restarts, changing nothing, and the
// restart re-executes the master, saying old and new pid; the run is in
// the audit as a restart.
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
	out, err = opsuiCmd(t, e.db, "", "restart", "app", "--env", "test", "--yes")
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "web1: the web role's own reload command runs the app server there, which opsui cannot restart") {
		t.Errorf("a restart of a role with its own reload command: %v (exit %d)\n%s", err, exitCode(err), out)
	}

	// Without it, the preset's own gunicorn: the dry run, then the restart.
	h := e.fleet.Hosts[0]
	file := e.db + ".yaml"
	mustRun(t, e.db, "inventory", "export", "-o", file)
	doc, err := os.ReadFile(file)
	if err != nil || !strings.Contains(string(doc), "reload: echo reloaded $RELEASE_ID") {
		t.Fatalf("the exported fleet: %v\n%s", err, doc)
	}
	doc = []byte(strings.Replace(string(doc), "reload: echo reloaded $RELEASE_ID", "options: {bind: \""+h.Addr+":8000\"}", 1))
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, e.db, "inventory", "import", file)
	t.Cleanup(func() {
		sshOutput(t, h.Address(), e.cfg, "kill -TERM $(cat "+e.deployTo(h.Name)+"/shared/gunicorn.pid) 2>/dev/null; true")
	})
	mustRun(t, e.db, "deploy", "app", "--env", "test", "--yes")
	pid := func() string {
		return strings.TrimSpace(sshOutput(t, h.Address(), e.cfg, "cat "+e.deployTo(h.Name)+"/shared/gunicorn.pid"))
	}
	was := pid()
	dry := mustRun(t, e.db, "restart", "app", "--env", "test", "--dry-run")
	for _, want := range []string{"restart of app in test: the app servers start again on release ", "batch 1: web1",
		"web1: graceful re-exec of the gunicorn master"} {
		if !strings.Contains(dry, want) {
			t.Errorf("the dry run does not say %q:\n%s", want, dry)
		}
	}
	if pid() != was {
		t.Fatal("the dry run restarted the master")
	}
	out = mustRun(t, e.db, "restart", "app", "--env", "test", "--yes")
	now := pid()
	for _, want := range []string{"web1 | restart: re-exec, old master " + was + " -> new " + now, "restarted on 1 host: web1", "restart of app in test, release "} {
		if now == was || !strings.Contains(out, want) {
			t.Errorf("the restart does not say %q (master %s -> %s):\n%s", want, was, now, out)
		}
	}
	audit := mustRun(t, e.db, "audit")
	listed := false
	for _, l := range strings.Split(audit, "\n") {
		f := strings.Fields(l)
		listed = listed || len(f) > 7 && f[3] == "restart" && f[7] == "ok" && strings.Contains(l, "restart app to test: release ")
	}
	if !listed {
		t.Errorf("the audit does not list the restart:\n%s", audit)
	}
}
