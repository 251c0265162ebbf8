package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sudoersFleet = "../../inventory/testdata/sudoers.yaml"

// TestSetupPrintSudoers: the sudoers lines of the stored inventory and of
// the fleet file before its import are the golden ones, exact commands
// only; setup without --print-sudoers and unknown names are refused.
func TestSetupPrintSudoers(t *testing.T) {
	want, err := os.ReadFile("../../inventory/testdata/sudoers.golden")
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "opsui.db")
	if out := mustRun(t, db, "setup", "shop", "--env", "production", "--print-sudoers", "--file", sudoersFleet); out != string(want) {
		t.Errorf("setup --print-sudoers --file:\n%s\nwant:\n%s", out, want)
	}
	mustRun(t, db, "inventory", "import", sudoersFleet)
	out := mustRun(t, db, "setup", "shop", "--env", "production", "--print-sudoers")
	if out != string(want) {
		t.Errorf("setup --print-sudoers from the store:\n%s\nwant:\n%s", out, want)
	}
	for _, line := range strings.Split(out, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && (!strings.Contains(line, " ALL=(root) NOPASSWD: /") || strings.ContainsAny(line, "*?[")) {
			t.Errorf("not an exact sudoers line: %q", line)
		}
	}
	if out := mustRun(t, db, "setup", "shop", "--env", "staging", "--print-sudoers"); !strings.Contains(out, "deploy ALL=(root) NOPASSWD: /usr/bin/supervisorctl signal HUP shop-web\n") || strings.Contains(out, "web1") {
		t.Errorf("staging's sudoers:\n%s", out)
	}
	for _, tc := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"setup", "shop", "--env", "production"}, "give one of --print-sudoers, --print-supervisor and --print-systemd", 2},
		{[]string{"setup", "shop", "--env", "production", "--print-supervisor"}, "no web host of production says process: supervisord", 3},
		{[]string{"setup", "shop", "--env", "nowhere", "--print-sudoers"}, `unknown environment "nowhere"`, 3},
		{[]string{"setup", "blog", "--env", "production", "--print-sudoers", "--file", sudoersFleet}, `no app "blog"`, 3},
		{[]string{"setup", "--print-sudoers", "--file", sudoersFleet}, "name the app and --env", 2},
	} {
		out, err := opsuiCmd(t, db, "", tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err) != tc.code {
			t.Errorf("opsui %s: %v (exit %d)\n%s; want %q, exit %d", strings.Join(tc.args, " "), err, exitCode(err), out, tc.want, tc.code)
		}
	}
}

// TestSetupPrintSupervisor: the program section of each web host under
// supervisord, from a fleet file, with where it goes.
func TestSetupPrintSupervisor(t *testing.T) {
	fleet := filepath.Join(t.TempDir(), "fleet.yaml")
	doc := `environments: [{name: production}]
roles:
  web:
    process: supervisord
    sudo: true
    options: {wsgi: "shopsite.wsgi:application"}
apps: [{name: shop, repo: /src/shop, deploy_to: /srv/shop}]
hosts:
  - {name: web1, address: 10.0.0.1, user: deploy, env: production, roles: [web], settings: {web: {options: {bind: "10.0.0.1:8000"}}}}
  - {name: web2, address: 10.0.0.2, user: deploy, env: production, roles: [web], settings: {web: {process: daemon, reload: /usr/bin/systemctl reload shop}}}
`
	if err := os.WriteFile(fleet, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "opsui.db")
	out := mustRun(t, db, "setup", "--print-supervisor", "--file", fleet)
	for _, want := range []string{
		"; host web1: put this in supervisord's include directory as shop-web.conf, then: supervisorctl -c /etc/supervisor/supervisord.conf update\n",
		"[program:shop-web]\ncommand=/srv/shop/current/venv/bin/python -m gunicorn --chdir /srv/shop/current --bind 10.0.0.1:8000 --workers 2 --error-logfile /srv/shop/shared/logs/gunicorn.log shopsite.wsgi:application\ndirectory=/srv/shop\nuser=deploy\n",
		"autorestart=true\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("setup --print-supervisor lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "web2") {
		t.Errorf("web2 runs as a daemon but got a program section:\n%s", out)
	}
	sudoers := mustRun(t, db, "setup", "--print-sudoers", "--file", fleet)
	if !strings.Contains(sudoers, "\ndeploy ALL=(root) NOPASSWD: /usr/bin/supervisorctl -c /etc/supervisor/supervisord.conf signal HUP shop-web\n") ||
		!strings.Contains(sudoers, "\ndeploy ALL=(root) NOPASSWD: /usr/bin/supervisorctl -c /etc/supervisor/supervisord.conf start shop-web\n") {
		t.Errorf("sudoers for supervisord:\n%s", sudoers)
	}
}

// TestSetupPrintSystemd: the unit of each web host under systemd, from a
// fleet file, with where it goes; the sudoers lines allow exactly its
// reload and start.
func TestSetupPrintSystemd(t *testing.T) {
	fleet := filepath.Join(t.TempDir(), "fleet.yaml")
	doc := `environments: [{name: production}]
roles:
  web:
    process: systemd
    sudo: true
    options: {wsgi: "shopsite.wsgi:application"}
apps: [{name: shop, repo: /src/shop, deploy_to: /srv/shop}]
hosts:
  - {name: web1, address: 10.0.0.1, user: deploy, env: production, roles: [web]}
  - {name: web2, address: 10.0.0.2, user: deploy, env: production, roles: [web], settings: {web: {process: supervisord}}}
`
	if err := os.WriteFile(fleet, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "opsui.db")
	out := mustRun(t, db, "setup", "--print-systemd", "--file", fleet)
	for _, want := range []string{
		"# host web1: put this in /etc/systemd/system/shop-web.service, then: systemctl daemon-reload && systemctl enable --now shop-web.service\n",
		"User=deploy\nWorkingDirectory=/srv/shop\nExecStart=\"/srv/shop/current/venv/bin/python\" \"-m\" \"gunicorn\" \"--chdir\" \"/srv/shop/current\"",
		"ExecReload=/bin/kill -s HUP $MAINPID\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("setup --print-systemd lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "web2") {
		t.Errorf("web2 runs under supervisord but got a unit:\n%s", out)
	}
	sudoers := mustRun(t, db, "setup", "--print-sudoers", "--file", fleet)
	for _, want := range []string{
		"\ndeploy ALL=(root) NOPASSWD: /usr/bin/systemctl reload shop-web.service\n",
		"\ndeploy ALL=(root) NOPASSWD: /usr/bin/systemctl start shop-web.service\n",
	} {
		if !strings.Contains(sudoers, want) {
			t.Errorf("sudoers for systemd lacks %q:\n%s", want, sudoers)
		}
	}
}
