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
		{[]string{"setup", "shop", "--env", "production", "--print-sudoers", "--print-systemd"}, "give one of --print-sudoers, --print-supervisor and --print-systemd", 2},
		{[]string{"setup", "shop", "--env", "production", "--print-sudoers", "--dry-run"}, "the --print flags only print", 2},
		{[]string{"setup", "shop", "--env", "production", "--file", sudoersFleet}, "--file goes with a --print flag", 2},
		{[]string{"setup", "shop", "--env", "nowhere"}, `unknown environment "nowhere"`, 3},
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

// TestSetupPrintProcessManager: the supervisord program section, or the
// systemd unit, of each web host under that process manager, from a fleet
// file, with where it goes (a web2 under another manager gets none); the
// sudoers lines allow exactly what a deploy runs through it.
func TestSetupPrintProcessManager(t *testing.T) {
	for _, tc := range []struct {
		process, web2, flag string
		want, sudoers       []string
	}{
		{
			process: "supervisord",
			web2:    "process: daemon, reload: /usr/bin/systemctl reload shop",
			flag:    "--print-supervisor",
			want: []string{
				"; host web1: put this in supervisord's include directory as shop-web.conf, then: supervisorctl -c /etc/supervisor/supervisord.conf update\n",
				"[program:shop-web]\ncommand=/srv/shop/current/venv/bin/python -m gunicorn -c /srv/shop/shared/opsui_server.conf.py --chdir /srv/shop/current --error-logfile /srv/shop/shared/logs/gunicorn.log shopsite.wsgi:application\ndirectory=/srv/shop\nuser=deploy\n",
				"autorestart=true\n",
			},
			sudoers: []string{
				"\ndeploy ALL=(root) NOPASSWD: /usr/bin/supervisorctl -c /etc/supervisor/supervisord.conf signal HUP shop-web\n",
				"\ndeploy ALL=(root) NOPASSWD: /usr/bin/supervisorctl -c /etc/supervisor/supervisord.conf start shop-web\n",
			},
		},
		{
			process: "systemd",
			web2:    "process: supervisord",
			flag:    "--print-systemd",
			want: []string{
				"# host web1: put this in /etc/systemd/system/shop-web.service, then: systemctl daemon-reload && systemctl enable --now shop-web.service\n",
				"User=deploy\nWorkingDirectory=/srv/shop\nExecStart=\"/srv/shop/current/venv/bin/python\" \"-m\" \"gunicorn\" \"-c\" \"/srv/shop/shared/opsui_server.conf.py\" \"--chdir\" \"/srv/shop/current\" \"--error-logfile\"",
				"ExecReload=/bin/kill -s HUP $MAINPID\n",
			},
			sudoers: []string{
				"\ndeploy ALL=(root) NOPASSWD: /usr/bin/systemctl reload shop-web.service\n",
				"\ndeploy ALL=(root) NOPASSWD: /usr/bin/systemctl start shop-web.service\n",
			},
		},
	} {
		t.Run(tc.process, func(t *testing.T) {
			fleet := filepath.Join(t.TempDir(), "fleet.yaml")
			doc := `environments: [{name: production}]
roles:
  web:
    process: ` + tc.process + `
    sudo: true
    options: {wsgi: "shopsite.wsgi:application"}
apps: [{name: shop, repo: /src/shop, deploy_to: /srv/shop}]
hosts:
  - {name: web1, address: 10.0.0.1, user: deploy, env: production, roles: [web], settings: {web: {options: {bind: "10.0.0.1:8000"}}}}
  - {name: web2, address: 10.0.0.2, user: deploy, env: production, roles: [web], settings: {web: {` + tc.web2 + `}}}
`
			if err := os.WriteFile(fleet, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			db := filepath.Join(t.TempDir(), "opsui.db")
			out := mustRun(t, db, "setup", tc.flag, "--file", fleet)
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("setup %s lacks %q:\n%s", tc.flag, want, out)
				}
			}
			if strings.Contains(out, "web2") {
				t.Errorf("web2 (%s) got a section:\n%s", tc.web2, out)
			}
			sudoers := mustRun(t, db, "setup", "--print-sudoers", "--file", fleet)
			for _, want := range tc.sudoers {
				if !strings.Contains(sudoers, want) {
					t.Errorf("sudoers for %s lacks %q:\n%s", tc.process, want, sudoers)
				}
			}
		})
	}
}
