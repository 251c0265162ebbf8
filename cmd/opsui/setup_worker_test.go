package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSetupPrintsWorkers: --print-supervisor and --print-systemd print the
// worker hosts' program and unit beside the web hosts', and
// --print-sudoers the commands their restarts run with sudo.
func TestSetupPrintsWorkers(t *testing.T) {
	fleet := filepath.Join(t.TempDir(), "fleet.yaml")
	doc := `environments: [{name: production}]
roles:
  worker:
    sudo: true
    options: {command: "python -m celery -A shop worker", stop_timeout: "60"}
apps: [{name: shop, repo: /src/shop, deploy_to: /srv/shop}]
hosts:
  - {name: wk1, address: 10.0.0.1, user: deploy, env: production, roles: [worker], settings: {worker: {process: supervisord}}}
  - {name: wk2, address: 10.0.0.2, user: deploy, env: production, roles: [worker], settings: {worker: {process: systemd}}}
`
	if err := os.WriteFile(fleet, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "opsui.db")
	for flag, want := range map[string][]string{
		"--print-supervisor": {
			"; host wk1: put this in supervisord's include directory as shop-worker.conf, then: supervisorctl -c /etc/supervisor/supervisord.conf update (the first deploy starts it)\n",
			"[program:shop-worker]\ncommand=/bin/sh -c 'h=$(getent passwd \"$(id -u)\" | cut -d: -f6); [ -z \"$h\" ] || export HOME=\"$h\"; set -a; [ ! -f /srv/shop/shared/.env ] || . /srv/shop/shared/.env; set +a;",
			"exec python -m celery -A shop worker'\ndirectory=/srv/shop/current\nuser=deploy\n",
			"stopsignal=TERM\nstopwaitsecs=60\n",
		},
		"--print-systemd": {
			"# host wk2: put this in /etc/systemd/system/shop-worker.service, then: systemctl daemon-reload && systemctl enable shop-worker.service (the first deploy starts it)\n",
			"WorkingDirectory=/srv/shop/current\nExecStart=/bin/sh -c \"h=$$(getent passwd",
			"TimeoutStopSec=60\n",
		},
		"--print-sudoers": {
			"\n# role worker restart through supervisord on wk1\ndeploy ALL=(root) NOPASSWD: /usr/bin/supervisorctl -c /etc/supervisor/supervisord.conf stop shop-worker\\:*\n",
			"\n# role worker restart through systemd on wk2\ndeploy ALL=(root) NOPASSWD: /usr/bin/systemctl start shop-worker.service\n",
		},
	} {
		out := mustRun(t, db, "setup", flag, "--file", fleet)
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("setup %s lacks %q:\n%s", flag, w, out)
			}
		}
		if other := map[string]string{"--print-supervisor": "wk2", "--print-systemd": "wk1"}[flag]; other != "" && strings.Contains(out, other) {
			t.Errorf("setup %s printed %s, which is under another manager:\n%s", flag, other, out)
		}
	}
}
