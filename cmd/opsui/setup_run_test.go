package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
)

// TestSetupReportModel is the model of opsui setup's report: per host its
// state, then its three lists in the words the hosts' output and the run's
// record use (done, already right, needs a human with the exact commands
// and a short diff), then one line for the run.
func TestSetupReportModel(t *testing.T) {
	rep := ops.SetupReport{RunID: 7, Hosts: []ops.SetupHost{
		{SetupHostReport: deploy.SetupHostReport{Host: "web1",
			Done:  []deploy.SetupItem{{Text: "created deploy_to /srv/shop"}, {Text: "installed supervisord program shop-web as /etc/supervisor/conf.d/shop-web.conf"}},
			Right: []deploy.SetupItem{{Text: "python: /usr/bin/python3 3.11.2 imports venv, django, gunicorn"}}}},
		{SetupHostReport: deploy.SetupHostReport{Host: "web2",
			Right: []deploy.SetupItem{{Text: "deploy_to /srv/shop exists and deploy may write it"}},
			Human: []deploy.SetupItem{
				{Text: "sudo: deploy may not run /usr/bin/supervisorctl status shop-web without a password; allow it with this sudoers line: deploy ALL=(root) NOPASSWD: /usr/bin/supervisorctl status shop-web",
					Commands: []string{"sudo visudo -f /etc/sudoers.d/opsui-shop"}},
				{Text: "supervisord program shop-web /etc/supervisor/conf.d/shop-web.conf differs from what opsui renders: left alone (opsui setup --force replaces it)",
					Diff: []string{"-startretries=9", "+startretries=3"}}}}},
		{SetupHostReport: deploy.SetupHostReport{Host: "lb1"}, Err: errors.New("unreachable: connection refused")},
	}}
	var b strings.Builder
	printSetupReport(&b, "shop", "production", rep)
	want := `web1: ready
  done:
    created deploy_to /srv/shop
    installed supervisord program shop-web as /etc/supervisor/conf.d/shop-web.conf
  already right:
    python: /usr/bin/python3 3.11.2 imports venv, django, gunicorn
web2: needs a human (2)
  already right:
    deploy_to /srv/shop exists and deploy may write it
  needs a human:
    sudo: deploy may not run /usr/bin/supervisorctl status shop-web without a password; allow it with this sudoers line: deploy ALL=(root) NOPASSWD: /usr/bin/supervisorctl status shop-web
      $ sudo visudo -f /etc/sudoers.d/opsui-shop
    supervisord program shop-web /etc/supervisor/conf.d/shop-web.conf differs from what opsui renders: left alone (opsui setup --force replaces it)
      | -startretries=9
      | +startretries=3
lb1: not checked: unreachable: connection refused
setup of shop on production, run 7: 1 ready, 1 needs a human, 1 not checked
`
	if b.String() != want {
		t.Errorf("report:\n%s\nwant:\n%s", b.String(), want)
	}
	rep.DryRun = true
	rep.Hosts = rep.Hosts[:1]
	b.Reset()
	printSetupReport(&b, "shop", "production", rep)
	if got := b.String(); !strings.Contains(got, "  would do:\n    created deploy_to /srv/shop\n") ||
		!strings.HasSuffix(got, "setup of shop on production (dry run: nothing was changed), run 7: 1 ready, 0 needs a human\n") {
		t.Errorf("dry run's report:\n%s", got)
	}
}

// TestSetupCommandOnHosts: opsui setup on real sshd hosts, through the
// command line: a dry run creates nothing and says what it would do; the
// setup creates deploy_to and the shared directories, and names the
// shared file a human must put in place (exit 1) with the command; once
// it is there, setup exits 0, and a second one reports only "already
// right".
func TestSetupCommandOnHosts(t *testing.T) {
	fleet := sshtest.Start(t, 2)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, "data"))
	t.Setenv("SSH_AUTH_SOCK", "")
	t.Setenv("OPSUI_DB", "")
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(fleet.KnownHostsPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	doc := "environments:\n  - name: test\napps:\n  - name: shop\n    repo: /src/shop\n    deploy_to: /srv/shop\n    shared: [media/, config/local.py]\nhosts:\n"
	deployTo := map[string]string{}
	for _, h := range fleet.Hosts {
		d := filepath.Join(fleet.Dir, "deploy", h.Name)
		deployTo[h.Name] = d
		doc += fmt.Sprintf("  - name: %s\n    address: %s\n    port: %d\n    user: %s\n    env: test\n    roles: [web]\n    identity_file: %s\n    deploy_to: %s\n",
			h.Name, h.Addr, h.Port, fleet.User, fleet.ClientKeyPath, d)
	}
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "opsui.db")
	mustRun(t, db, "inventory", "import", file)

	out, err := opsuiCmd(t, db, "", "setup", "shop", "--env", "test", "--dry-run")
	if exitCode(err) != 1 || !strings.Contains(out, "  would do:\n    created deploy_to "+deployTo["web1"]+"\n") ||
		!strings.Contains(out, "(dry run: nothing was changed)") {
		t.Errorf("setup --dry-run: %v (exit %d)\n%s", err, exitCode(err), out)
	}
	for _, d := range deployTo {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("the dry run made %s: %v", d, err)
		}
	}

	out, err = opsuiCmd(t, db, "", "setup", "shop", "--env", "test")
	local := deployTo["web2"] + "/shared/config/local.py"
	if exitCode(err) != 1 || !strings.Contains(out, "web2: needs a human (1)\n") ||
		!strings.Contains(out, "    shared file config/local.py is missing: each deploy links it into the release; put it in place\n      $ install -m 0600 YOUR-FILE "+local+"\n") ||
		!strings.Contains(out, "    created shared entry media/: "+deployTo["web1"]+"/shared/media\n") {
		t.Fatalf("setup: %v (exit %d)\n%s", err, exitCode(err), out)
	}
	for _, h := range fleet.Hosts {
		l := deployTo[h.Name] + "/shared/config/local.py"
		if err := os.MkdirAll(filepath.Dir(l), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(l, []byte("DEBUG = False\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out = mustRun(t, db, "setup", "shop", "--env", "test")
	if strings.Contains(out, "done:") || strings.Contains(out, "needs a human:") || !strings.Contains(out, ": 2 ready, 0 needs a human\n") ||
		!strings.Contains(out, "    shared file config/local.py exists\n") {
		t.Errorf("second setup is not all already right:\n%s", out)
	}
	// A host that cannot be reached is "not checked", with why.
	fleet.Hosts[1].Kill()
	out, err = opsuiCmd(t, db, "", "setup", "shop", "--env", "test")
	if exitCode(err) != 1 || !strings.Contains(out, "web2: not checked: ") || !strings.Contains(out, ": 1 ready, 0 needs a human, 1 not checked\n") {
		t.Errorf("setup with web2 down: %v (exit %d)\n%s", err, exitCode(err), out)
	}
}
