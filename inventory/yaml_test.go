package inventory

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

func readFleetFile(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestYAMLRoundTripIsIdentical(t *testing.T) {
	in := readFleetFile(t)
	f, err := DecodeYAML("fleet.yaml", in)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if len(f.Hosts) != 10 || len(f.Environments) != 2 || len(f.Apps) != 1 {
		t.Fatalf("decoded %d hosts, %d envs, %d apps; want 10, 2, 1", len(f.Hosts), len(f.Environments), len(f.Apps))
	}
	out, err := EncodeYAML(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(in, out) {
		t.Errorf("export differs from import:\n--- in\n%s\n--- out\n%s", in, out)
	}
	// The settings of a host overlay the role defaults.
	web2, _ := f.Host("web2")
	s := f.SettingsFor(web2, "web")
	if s.HealthURL != "http://127.0.0.1:8001/health/" || s.Service != "gunicorn" {
		t.Errorf("web2 effective web settings = %+v", s)
	}
	if got := f.Apps[0].Stages[0].Timeout.String(); got != "2m0s" {
		t.Errorf("stage timeout = %q", got)
	}
}

func TestYAMLEmptyFile(t *testing.T) {
	for _, in := range []string{"", "# nothing yet\n", "---\n"} {
		f, err := DecodeYAML("empty.yaml", []byte(in))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if len(f.Hosts) != 0 {
			t.Fatalf("%q: hosts = %v", in, f.Hosts)
		}
	}
}

// TestYAMLErrors checks that each kind of bad input is reported with the
// file, the line and a message that names the problem.
func TestYAMLErrors(t *testing.T) {
	const envs = "environments:\n  - name: staging\n"
	tests := []struct {
		name string
		doc  string
		want string // substring of the error, including file:line
	}{
		{"typo key", envs + "hosts:\n  - name: web1\n    address: 10.0.0.1\n    rolse: [web]\n",
			`f.yaml:6:5: hosts[0].rolse: unknown field "rolse" (did you mean "roles"?)`},
		{"unknown top-level key", "host:\n  - name: a\n", `f.yaml:1:1: host: unknown field "host" (did you mean "hosts"?)`},
		{"duplicate host", envs + "hosts:\n  - name: web1\n    address: 10.0.0.1\n  - name: web1\n    address: 10.0.0.2\n",
			`f.yaml:6:11: hosts[1].name: duplicate host name "web1" (first defined at hosts[0])`},
		{"empty address", envs + "hosts:\n  - name: web1-\n    address: \"\"\n",
			`f.yaml:5:14: hosts[0].address: host "web1-" has no address, and its name is not one ssh can resolve`},
		{"missing address", envs + "hosts:\n  - name: web1-\n",
			`f.yaml:4:5: hosts[0].address: host "web1-" has no address, and its name is not one ssh can resolve`},
		{"invalid address", envs + "hosts:\n  - name: web1\n    address: not an address\n",
			`f.yaml:5:14: hosts[0].address: host "web1": invalid address "not an address"`},
		{"port out of range", envs + "hosts:\n  - name: web1\n    address: 10.0.0.1\n    port: 70000\n",
			`f.yaml:6:11: hosts[0].port: host "web1": port 70000 out of range (1-65535)`},
		{"port not a number", envs + "hosts:\n  - name: web1\n    address: 10.0.0.1\n    port: ssh\n",
			`f.yaml:6:11: hosts[0].port: expected a whole number, found "ssh"`},
		{"unknown environment", envs + "hosts:\n  - name: web1\n    address: 10.0.0.1\n    env: prod\n",
			`f.yaml:6:10: hosts[0].env: host "web1": unknown environment "prod"`},
		{"bad role", envs + "hosts:\n  - name: web1\n    address: 10.0.0.1\n    roles: [Web_Server]\n",
			`f.yaml:6:13: hosts[0].roles[0]: host "web1": invalid role name "Web_Server" (use a-z, 0-9 and -)`},
		{"roles not a list", envs + "hosts:\n  - name: web1\n    address: 10.0.0.1\n    roles: web\n",
			`f.yaml:6:12: hosts[0].roles: expected a list, found "web"`},
		{"settings for a role the host lacks", envs + "hosts:\n  - name: web1\n    address: 10.0.0.1\n    roles: [web]\n    settings:\n      db:\n        service: pg\n",
			`f.yaml:8:7: hosts[0].settings.db: host "web1": settings for role "db", which the host does not have`},
		{"bad strategy", "environments:\n  - name: staging\n    strategy: yolo\n",
			`f.yaml:3:15: environments[0].strategy: unknown strategy "yolo"`},
		{"relative deploy_to", "apps:\n  - name: shop\n    repo: /src/shop\n    deploy_to: srv/shop\n",
			`f.yaml:4:16: apps[0].deploy_to: deploy_to "srv/shop" is not an absolute path`},
		{"bad duration", "apps:\n  - name: shop\n    repo: /src/shop\n    deploy_to: /srv/shop\n    stages:\n      - name: x\n        run: true\n        timeout: soon\n",
			`f.yaml:8:18: apps[0].stages[0].timeout: invalid duration "soon" (want e.g. 90s, 5m, 1h)`},
		{"webhook not http", appNotify + "      - url: ftp://hooks.example.com/x?token=SECRET\n",
			`f.yaml:6:14: apps[0].notify[0].url: webhook url "ftp://hooks.example.com" is not an http(s) URL`},
		{"webhook without host", appNotify + "      - url: https:///x\n", `apps[0].notify[0].url: webhook url "https://" has no host`},
		{"webhook unknown event", appNotify + "      - url: https://h.example.com/\n        events: [start, deployed]\n",
			`f.yaml:7:25: apps[0].notify[0].events[1]: unknown event "deployed" (known: start, success, failure, rollback, break_glass)`},
		{"webhook event twice", appNotify + "      - url: https://h.example.com/\n        events: [start, start]\n",
			`apps[0].notify[0].events[1]: event "start" listed twice`},
		{"webhook format", appNotify + "      - url: https://h.example.com/\n        format: teams\n",
			`f.yaml:7:17: apps[0].notify[0].format: unknown format "teams" (want json or slack)`},
		{"webhook secret env", appNotify + "      - url: https://h.example.com/\n        secret_env: MY-SECRET\n",
			`apps[0].notify[0].secret_env: invalid environment variable name "MY-SECRET"`},
		{"webhook typo", appNotify + "      - url: https://h.example.com/\n        event: [start]\n",
			`apps[0].notify[0].event: unknown field "event" (did you mean "events"?)`},
		{"syntax error", "hosts:\n  - name: web1\n    address: [\n", `f.yaml:3: did not find expected node content`},
		{"two documents", envs + "---\nhosts: []\n", "f.yaml:3:1: more than one YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := DecodeYAML("f.yaml", []byte(tt.doc))
			if err == nil {
				t.Fatalf("no error; decoded %+v", f)
			}
			if f != nil {
				t.Errorf("a fleet came back with the error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q\nwant it to contain %q", err, tt.want)
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Errorf("error is %T, not Problems", err)
			}
		})
	}
}

// appNotify opens an app whose notify list the test case completes.
const appNotify = "apps:\n  - name: shop\n    repo: /src/shop\n    deploy_to: /srv/shop\n    notify:\n"

func TestYAMLNotify(t *testing.T) {
	f, err := DecodeYAML("fleet.yaml", readFleetFile(t))
	if err != nil {
		t.Fatal(err)
	}
	hooks := f.Apps[0].Notify
	if len(hooks) != 2 || hooks[0].SecretEnv != "OPSUI_WEBHOOK_SECRET" || hooks[1].Format != NotifyFormatSlack {
		t.Fatalf("notify = %+v", hooks)
	}
	if !hooks[0].Wants(NotifyStart) || hooks[1].Wants(NotifyStart) || !hooks[1].Wants(NotifyRollback) {
		t.Errorf("Wants: %+v", hooks)
	}
	if !(Webhook{URL: "https://h/"}).Wants(NotifySuccess) {
		t.Error("a webhook without events is not told about success")
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://hooks.example.com/opsui?token=abc123", "https://hooks.example.com"},
		{"https://hooks.slack.com/services/T000/B000/s3cr3t", "https://hooks.slack.com"},
		{"https://user:pw@hooks.example.com/x", "https://hooks.example.com"},
		{"http://h.example.com:8080/x#frag", "http://h.example.com:8080"},
		{"ftp://h.example.com/s3cr3t", "ftp://h.example.com"},
		{"https:///s3cr3t", "https://"},
		{"hooks.slack.com/services/T000/B000/s3cr3t", "(url hidden)"},
		{"::bad url?token=abc", "(url hidden)"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestYAMLReportsEveryProblem(t *testing.T) {
	doc := "environments:\n  - name: staging\nhosts:\n  - name: a\n    address: 10.0.0.1\n    port: -1\n  - name: b-\n    address: \"\"\n    env: nope\n"
	_, err := DecodeYAML("f.yaml", []byte(doc))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v", err)
	}
	if len(ps) != 3 {
		t.Fatalf("got %d problems, want 3: %v", len(ps), err)
	}
	if !strings.HasPrefix(err.Error(), "3 problems:") {
		t.Errorf("summary = %q", err)
	}
}

func FuzzDecodeYAML(f *testing.F) {
	sample, err := os.ReadFile("testdata/fleet.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Add([]byte("hosts:\n  - name: a\n    address: 10.0.0.1\n"))
	f.Add([]byte("environments: [{name: x}]\nhosts: [{name: a, address: b, env: x, roles: [web]}]\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fleet, err := DecodeYAML("fuzz.yaml", data)
		if err != nil {
			return
		}
		if err := Validate(fleet); err != nil {
			t.Fatalf("decoded fleet fails validation: %v", err)
		}
		out, err := EncodeYAML(fleet)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		again, err := DecodeYAML("again.yaml", out)
		if err != nil {
			t.Fatalf("re-decode of export: %v\n%s", err, out)
		}
		out2, err := EncodeYAML(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("export not stable:\n%s\n---\n%s", out, out2)
		}
	})
}

// TestWebhookCanAskForBreakGlass: a webhook may subscribe to the freeze's
// break-glass event alone, and is then told of nothing else.
func TestWebhookCanAskForBreakGlass(t *testing.T) {
	f, err := DecodeYAML("f.yaml", []byte(appNotify+"      - url: https://h.example.com/\n        events: [break_glass]\n"))
	if err != nil {
		t.Fatal(err)
	}
	w := f.Apps[0].Notify[0]
	if !w.Wants(NotifyBreakGlass) || w.Wants(NotifyStart) || w.Wants(NotifyFailure) {
		t.Errorf("a break_glass-only webhook wants: break_glass %v, start %v, failure %v", w.Wants(NotifyBreakGlass), w.Wants(NotifyStart), w.Wants(NotifyFailure))
	}
}
