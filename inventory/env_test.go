package inventory

import (
	"bytes"
	"strings"
	"testing"
)

const envFleet = `environments:
  - name: production
  - name: staging
apps:
  - name: shop
    repo: /src/shop
    deploy_to: /srv/shop
    env:
      DB_PATH: /srv/shop/shared/db.sqlite3
      DEBUG: "0"
      SECRET_KEY: {secret: shop_key}
    env_per_environment:
      production:
        DEBUG: "1"
        LEVEL: warn
    env_per_host:
      web2:
        DEBUG: "2"
    secrets:
      shop_key: {command: pass show shop/key, timeout: 5s}
      unused_b: {env: SHOP_B}
hosts:
  - {name: web1, address: 10.0.0.1, env: production}
  - {name: web2, address: 10.0.0.2, env: production}
  - {name: web3, address: 10.0.0.3, env: staging}
`

func TestEnvMostSpecificWins(t *testing.T) {
	src := strings.Replace(envFleet, "      unused_b: {env: SHOP_B}\n", "", 1)
	f, err := DecodeYAML("fleet.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	app, _ := f.App("shop")
	want := map[string]string{"web1": "1", "web2": "2", "web3": "0"}
	for h, debug := range want {
		host, _ := f.Host(h)
		env := app.EnvFor(host)
		if env["DEBUG"].Value != debug {
			t.Errorf("%s: DEBUG = %q, want %q", h, env["DEBUG"].Value, debug)
		}
		if env["SECRET_KEY"].Secret != "shop_key" || env["SECRET_KEY"].String() != "‹secret shop_key›" {
			t.Errorf("%s: SECRET_KEY = %+v", h, env["SECRET_KEY"])
		}
	}
	if _, ok := app.EnvFor(f.Hosts[2])["LEVEL"]; ok {
		t.Error("staging host got production's LEVEL")
	}
	// Export and import again gives the same fleet file.
	out, err := EncodeYAML(f)
	if err != nil {
		t.Fatal(err)
	}
	f2, err := DecodeYAML("again.yaml", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out2, _ := EncodeYAML(f2)
	if !bytes.Equal(out, out2) || !strings.Contains(string(out), "SECRET_KEY:\n        secret: shop_key") {
		t.Errorf("round trip differs or lost the secret reference:\n%s\n---\n%s", out, out2)
	}
}

func TestEnvProblems(t *testing.T) {
	for _, tc := range []struct{ name, from, to, want string }{
		{"unused secret", "", "", "fleet.yaml:21:7: apps[0].secrets.unused_b: secret unused_b is declared but no env value (nor the build's secrets:) uses it"},
		{"unknown key in a value", "{secret: shop_key}", "{secrte: shop_key}", `fleet.yaml:11:20: apps[0].env.SECRET_KEY.secrte: unknown field "secrte" in an environment value (want {secret: NAME}) (did you mean "secret"?)`},
		{"undeclared secret", "{secret: shop_key}", "{secret: shop_kee}", `fleet.yaml:11:7: apps[0].env.SECRET_KEY: secret "shop_kee" is not declared`},
		{"bad key", "DB_PATH:", "1DB:", `fleet.yaml:9:7: apps[0].env.1DB: invalid environment key "1DB"`},
		{"reserved key", "DB_PATH:", "OPSUI_X:", `apps[0].env.OPSUI_X: environment key "OPSUI_X" is reserved`},
		{"unknown environment", "      production:\n        DEBUG", "      prod:\n        DEBUG", `fleet.yaml:13:7: apps[0].env_per_environment.prod: unknown environment "prod"`},
		{"unknown host", "      web2:\n", "      web9:\n", `fleet.yaml:17:7: apps[0].env_per_host.web9: unknown host "web9"`},
		{"two sources", "{env: SHOP_B}", "{env: SHOP_B, file: /x}", "secret unused_b: give exactly one of env, file or command"},
		{"relative file", "{env: SHOP_B}", "{file: secrets/b}", `secret unused_b: file "secrets/b" is not an absolute path`},
		{"unknown source key", "{env: SHOP_B}", "{envv: SHOP_B}", `fleet.yaml:21:18: apps[0].secrets.unused_b.envv: unknown field "envv" (did you mean "env"?)`},
		{"list value", `DEBUG: "0"`, `DEBUG: [0]`, `fleet.yaml:10:14: apps[0].env.DEBUG: an environment value is a string or {secret: NAME}, found a list`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(envFleet, tc.from, tc.to, 1)
			_, err := DecodeYAML("fleet.yaml", []byte(src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant it to hold %s", err, tc.want)
			}
		})
	}
}
