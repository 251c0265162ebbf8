package inventory

import (
	"os"
	"strings"
	"testing"
)

// optionsFleet is a valid fleet with every kind of role; each case of
// TestOptionMistakesRefused replaces one line of it.
const optionsFleet = `environments: [{name: prod}]
roles:
  lb:
    options:
      preset: nginx
      upstream_file: /etc/nginx/conf.d/shop.conf
  cache:
    options: {kind: redis, db: "2"}
apps:
  - name: shop
    repo: /src/shop
    deploy_to: /srv/shop
    preset: django
hosts:
  - name: web1
    address: 10.0.0.1
    env: prod
    roles: [web]
    settings:
      web:
        process: daemon
        options:
          bind: 10.0.0.1:8000
  - name: lb1
    address: 10.0.0.9
    env: prod
    roles: [lb]
  - name: cache1
    address: 10.0.0.5
    env: prod
    roles: [cache, worker]
`

// TestOptionMistakesRefused: every mistake in a role option, an unknown
// preset or a process manager is refused at import with its file, line,
// column and path, and a suggestion where one is close.
func TestOptionMistakesRefused(t *testing.T) {
	if _, err := DecodeYAML("fleet.yaml", []byte(optionsFleet)); err != nil {
		t.Fatalf("the base fleet is refused: %v", err)
	}
	tests := []struct {
		name, old, new, want string
	}{
		{"option typo", "upstream_file:", "upstream_fiel:",
			`fleet.yaml:6:7: roles.lb.options.upstream_fiel: unknown option "upstream_fiel" of the lb role (did you mean "upstream_file"?)`},
		{"host option typo", "bind:", "bnid:",
			`fleet.yaml:23:11: hosts[0].settings.web.options.bnid: unknown option "bnid" of the web role (did you mean "bind"?)`},
		{"far from any option", "bind:", "listen_on:",
			`fleet.yaml:23:11: hosts[0].settings.web.options.listen_on: unknown option "listen_on" of the web role (its options: backend, bind, check, gunicorn, logs_sudo, program, python, server, supervisor_conf, unit, workers, wsgi)`},
		{"balancer preset typo", "preset: nginx", "preset: ngnix",
			`fleet.yaml:5:7: roles.lb.options.preset: unknown preset "ngnix" (did you mean "nginx"?)`},
		{"app preset typo", "preset: django", "preset: djnago",
			`fleet.yaml:13:13: apps[0].preset: unknown preset "djnago" (did you mean "django"?)`},
		{"process manager typo", "process: daemon", "process: supervisor",
			`fleet.yaml:21:18: hosts[0].settings.web.process: unknown process manager "supervisor" (did you mean "supervisord"?)`},
		{"cache kind typo", "kind: redis", "kind: reids",
			`fleet.yaml:8:15: roles.cache.options.kind: unknown kind "reids" (did you mean "redis"?)`},
		{"not a number", `db: "2"`, `db: two`,
			`fleet.yaml:8:28: roles.cache.options.db: db "two" is not a whole number from 0 to 1048576`},
		{"not seconds", "preset: nginx", "preset: nginx\n      drain_wait: 1; rm -rf /",
			`fleet.yaml:6:7: roles.lb.options.drain_wait: drain_wait "1; rm -rf /" is not a number of seconds (0-3600)`},
		{"not a program", "bind: 10.0.0.1:8000", "bind: 10.0.0.1:8000\n          python: python3 -I",
			`fleet.yaml:24:11: hosts[0].settings.web.options.python: python "python3 -I" is not a program (an absolute path or a name, without spaces)`},
		{"another preset's option", "preset: nginx", "preset: nginx\n      admin_socket: /run/haproxy/admin.sock",
			`fleet.yaml:6:7: roles.lb.options.admin_socket: option admin_socket is read only when the balancer preset is haproxy; host lb1's is nginx (preset: nginx)`},
		{"no balancer preset", "      preset: nginx\n      upstream_file: /etc/nginx/conf.d/shop.conf", "      backend: shop",
			`fleet.yaml:5:7: roles.lb.options.backend: option backend is read only when the balancer preset is haproxy; host lb1's has none (no preset, upstream_file or drain is set)`},
		{"preset without what it needs", "upstream_file: /etc/nginx/conf.d/shop.conf", "upstream: shop",
			`fleet.yaml:24:5: hosts[1]: host lb1: the nginx balancer preset needs options.upstream_file`},
		{"option of another process manager", "bind: 10.0.0.1:8000", "bind: 10.0.0.1:8000\n          unit: shop.service",
			`fleet.yaml:24:11: hosts[0].settings.web.options.unit: option unit is read only when the process manager is systemd; host web1's is daemon (process: daemon)`},
		{"redis option on memcached", "kind: redis", "kind: memcached",
			`fleet.yaml:8:32: roles.cache.options.db: option db is read only when the cache kind is redis; host cache1's is memcached (kind: memcached)`},
		{"client of the other kind", `db: "2"`, `client: nc`,
			`fleet.yaml:8:28: roles.cache.options.client: host cache1: nc is no redis client (want redis-cli or python3)`},
		{"option of a custom role", "roles: [cache, worker]", "roles: [cache, mailer]\n    settings:\n      mailer: {options: {port: \"9000\"}}",
			`fleet.yaml:33:26: hosts[2].settings.mailer.options.port: unknown option "port": mailer is a role of the fleet's own, and opsui reads only check, logs_sudo of it`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(optionsFleet, tt.old) {
				t.Fatalf("the fleet has no %q", tt.old)
			}
			doc := strings.Replace(optionsFleet, tt.old, tt.new, 1)
			_, err := DecodeYAML("fleet.yaml", []byte(doc))
			if err == nil {
				t.Fatalf("accepted:\n%s", doc)
			}
			ps, ok := err.(Problems)
			if !ok || len(ps) != 1 || ps[0].Error() != tt.want {
				t.Errorf("error:\n%v\nwant exactly:\n%s", err, tt.want)
			}
		})
	}
}

// TestEveryOptionTypeChecked: each option of the table refuses a value of
// the wrong type and takes a good one, so no option of the table goes
// unchecked into a configuration or a command line.
func TestEveryOptionTypeChecked(t *testing.T) {
	good := map[OptionType]string{OptCommand: "true", OptName: "shop_app", OptListen: "127.0.0.1:8000",
		OptAddress: "10.0.0.5", OptHostOrDir: "/var/run/postgresql", OptPath: "/etc/x.conf", OptProgram: "/usr/bin/python3",
		OptPort: "6380", OptCount: "2", OptSeconds: "0.5", OptWSGI: "shop.wsgi:application", OptUnit: "shop-web.service",
		OptEnvVar: "REDIS_PW", OptWorkerCommand: "python -m celery -A shop worker"}
	bad := map[OptionType]string{OptCommand: " ", OptName: "shop app", OptListen: "127.0.0.1", OptAddress: "a b",
		OptHostOrDir: "db;x", OptPath: "etc/x.conf", OptProgram: "python3 -I", OptPort: "0", OptCount: "-5",
		OptSeconds: "1s", OptChoice: "nope", OptWSGI: "x; rm", OptUnit: "shop-web", OptEnvVar: "1PW", OptWorkerCommand: "celery worker; rm -rf /"}
	for _, o := range Options {
		role := o.Role
		if role == "" {
			role = "mailer"
		}
		g, ok := good[o.Type]
		if o.Type == OptChoice {
			g, ok = o.Choices[0], true
		}
		if !ok || bad[o.Type] == "" {
			t.Errorf("%s.%s: no test value for its type %s", role, o.Key, o.Type.Describe())
			continue
		}
		if msg := OptionProblem(role, o.Key, g); msg != "" {
			t.Errorf("%s.%s = %q refused: %s", role, o.Key, g, msg)
		}
		if msg := OptionProblem(role, o.Key, bad[o.Type]); msg == "" {
			t.Errorf("%s.%s = %q accepted", role, o.Key, bad[o.Type])
		}
		if o.Meaning == "" || o.Default == "" {
			t.Errorf("%s.%s: the table says nothing of its meaning or default", role, o.Key)
		}
	}
}

// TestShippedFleetsValid: every fleet file in the repository is still
// valid under the option checks.
func TestShippedFleetsValid(t *testing.T) {
	for _, name := range []string{"testdata/fleet.yaml", "testdata/sudoers.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeYAML(name, b); err != nil {
			t.Errorf("%v", err)
		}
	}
}
