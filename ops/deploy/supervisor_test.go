package deploy

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsui/opsui/inventory"
)

var updateSupervisor = flag.Bool("update-supervisor", false, "rewrite testdata/supervisor.golden")

// TestSupervisorProgramGolden: the program section opsui renders for a
// web host under supervisord, with a deploy_to that needs quoting and a %
// that supervisord would expand.
func TestSupervisorProgramGolden(t *testing.T) {
	doc := `environments: [{name: production}]
roles:
  web:
    process: supervisord
    sudo: true
    options: {wsgi: "shopsite.wsgi:application", workers: "3"}
apps:
  - name: shop
    repo: /src/shop
    deploy_to: /srv/shop
hosts:
  - name: web1
    address: 10.0.0.1
    user: deploy
    env: production
    roles: [web]
    deploy_to: "/srv/my shop/100%/"
    settings:
      web:
        options: {bind: "10.0.0.1:8000", program: shop-web-1}
  - name: web2
    address: 10.0.0.2
    env: production
    roles: [web]
`
	f, err := inventory.DecodeYAML("fleet.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for i, h := range f.Hosts {
		s, err := SupervisorProgram(f, f.Apps[0], h, []string{"deploy", ""}[i])
		if err != nil {
			t.Fatal(err)
		}
		got.WriteString(s + "\n")
	}
	golden := filepath.Join("testdata", "supervisor.golden")
	if *updateSupervisor {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update-supervisor)", err)
	}
	if got.String() != string(want) {
		t.Errorf("program sections differ from %s (-update-supervisor rewrites it):\n%s", golden, got.String())
	}
	rules, _, err := f.SudoRules("shop", "production")
	if err != nil || len(rules) != 8 ||
		rules[0].Line() != `deploy ALL=(root) NOPASSWD: /usr/bin/supervisorctl -c /etc/supervisor/supervisord.conf signal HUP shop-web-1` ||
		rules[5].Line() != `DEPLOY_USER ALL=(root) NOPASSWD: /usr/bin/supervisorctl -c /etc/supervisor/supervisord.conf start shop-web` ||
		rules[6].Line() != `DEPLOY_USER ALL=(root) NOPASSWD: /usr/bin/supervisorctl -c /etc/supervisor/supervisord.conf stop shop-web` ||
		rules[7].Line() != `DEPLOY_USER ALL=(root) NOPASSWD: /usr/bin/supervisorctl -c /etc/supervisor/supervisord.conf status shop-web` {
		t.Errorf("sudo rules under supervisord: %v", err)
		for _, r := range rules {
			t.Log(r.Line())
		}
	}

	f.Roles["web"] = inventory.RoleSettings{Process: inventory.ProcessDaemon}
	if _, err := SupervisorProgram(f, f.Apps[0], f.Hosts[1], ""); err == nil || !strings.Contains(err.Error(), "not supervisord") {
		t.Errorf("a daemon host rendered a program: %v", err)
	}
	for _, bad := range []struct{ doc, want string }{
		{"process: systemd", "process: systemd needs the web role's options.wsgi"},
		{"process: systemd\n    options: {wsgi: a.wsgi, unit: shop-web}", `unit "shop-web" is not a service unit name`},
		{"process: runit", `unknown process manager "runit"`},
		{"process: supervisord", "needs the web role's options.wsgi"},
		{"process: supervisord\n    options: {wsgi: \"x; rm -rf /\"}", "is not a module[:attribute] name"},
		{"process: supervisord\n    options: {wsgi: a.wsgi, program: \"a b\"}", `program "a b" is not a name`},
		{"process: supervisord\n    options: {wsgi: a.wsgi, supervisor_conf: etc/s.conf}", "not an absolute path"},
	} {
		d := "environments: [{name: p}]\nroles:\n  web:\n    " + bad.doc + "\nhosts:\n  - {name: w, address: 10.0.0.1, env: p, roles: [web]}\n"
		if _, err := inventory.DecodeYAML("f.yaml", []byte(d)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: %v; want %q", bad.doc, err, bad.want)
		}
	}
}
