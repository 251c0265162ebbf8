package main

import (
	"errors"
	"strings"
	"testing"

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
			Done: []deploy.SetupItem{{Text: "created deploy_to /srv/shop"}, {Text: "installed supervisord program shop-web as /etc/supervisor/conf.d/shop-web.conf"}},
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
