package inventory

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// runbookFleet is a fleet with two roles in two environments, for the
// runbooks below it.
const runbookFleet = `environments:
  - name: staging
  - name: production
    protected: true
hosts:
  - name: web1
    address: 10.0.0.1
    env: production
    roles: [web]
  - name: db1
    address: 10.0.0.2
    env: production
    roles: [db]
runbooks:
`

func TestRunbooksDecodeAndRoundTrip(t *testing.T) {
	doc := runbookFleet + `  - name: restart-web
    description: reload gunicorn on the web hosts
    run: sudo -n systemctl reload gunicorn
    roles: [web]
    envs: [production]
    confirm: true
    timeout: 30s
    key: W
  - name: disk
    run: df -h /srv
    key: ctrl+g
`
	f, err := DecodeYAML("f.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	rb, ok := f.Runbook("restart-web")
	if !ok || rb.Run != "sudo -n systemctl reload gunicorn" || !rb.Confirm || time.Duration(rb.Timeout) != 30*time.Second || rb.Key != "W" {
		t.Fatalf("restart-web = %+v, %v", rb, ok)
	}
	web1, _ := f.Host("web1")
	db1, _ := f.Host("db1")
	if !rb.Applies(web1) || rb.Applies(db1) || !rb.AllowsEnv("production") || rb.AllowsEnv("staging") {
		t.Errorf("restart-web applies to web1 %v, db1 %v; allows production %v, staging %v",
			rb.Applies(web1), rb.Applies(db1), rb.AllowsEnv("production"), rb.AllowsEnv("staging"))
	}
	if disk, _ := f.Runbook("disk"); !disk.Applies(db1) || !disk.AllowsEnv("staging") || disk.Label() != "runbook disk" {
		t.Errorf("disk (no roles, no envs) = %+v", disk)
	}
	out, err := EncodeYAML(f)
	if err != nil {
		t.Fatal(err)
	}
	again, err := DecodeYAML("f.yaml", out)
	if err != nil {
		t.Fatal(err)
	}
	out2, _ := EncodeYAML(again)
	if !bytes.Equal(out, out2) || !strings.Contains(string(out), "runbooks:") {
		t.Errorf("export is not stable:\n%s\n---\n%s", out, out2)
	}
}

// TestRunbookProblems checks that each bad runbook is refused with its
// file:line:col and a message that says what is wrong.
func TestRunbookProblems(t *testing.T) {
	tests := []struct {
		name, runbooks, want string
	}{
		{"unknown key", "  - name: a\n    run: uptime\n    rolse: [web]\n",
			`f.yaml:17:5: runbooks[0].rolse: unknown field "rolse" (did you mean "roles"?)`},
		{"no name", "  - run: uptime\n", `f.yaml:15:5: runbooks[0].name: a runbook needs a name`},
		{"name not an identifier", "  - name: Restart Web\n    run: uptime\n",
			`f.yaml:15:11: runbooks[0].name: invalid runbook name "Restart Web" (a-z, 0-9, - and _, starting with a letter)`},
		{"name starting with a digit", "  - name: 1up\n    run: uptime\n", `f.yaml:15:11: runbooks[0].name: invalid runbook name "1up"`},
		{"duplicate name", "  - name: a\n    run: uptime\n  - name: a\n    run: df\n",
			`f.yaml:17:11: runbooks[1].name: duplicate runbook "a" (first defined at runbooks[0])`},
		{"no command", "  - name: a\n", `f.yaml:15:5: runbooks[0].run: runbook "a" has no command to run`},
		{"blank command", "  - name: a\n    run: '  '\n", `f.yaml:16:10: runbooks[0].run: runbook "a" has no command to run`},
		{"unknown role", "  - name: a\n    run: uptime\n    roles: [web, wbe]\n",
			`f.yaml:17:18: runbooks[0].roles[1]: runbook "a": no host has role "wbe" (did you mean "web"?)`},
		{"unknown environment", "  - name: a\n    run: uptime\n    envs: [prod]\n",
			`f.yaml:17:12: runbooks[0].envs[0]: runbook "a": environment "prod" is not declared`},
		{"timeout not a duration", "  - name: a\n    run: uptime\n    timeout: soon\n",
			`f.yaml:17:14: runbooks[0].timeout: invalid duration "soon" (want e.g. 90s, 5m, 1h)`},
		{"negative timeout", "  - name: a\n    run: uptime\n    timeout: -5s\n", `f.yaml:17:14: runbooks[0].timeout: invalid duration "-5s": negative`},
		{"confirm not a bool", "  - name: a\n    run: uptime\n    confirm: please\n",
			`f.yaml:17:14: runbooks[0].confirm: expected true or false, found "please"`},
		{"key too long", "  - name: a\n    run: uptime\n    key: WW\n",
			`f.yaml:17:10: runbooks[0].key: runbook "a": invalid key "WW" (want one character (W), ctrl+LETTER, alt+KEY or f1-f12)`},
		{"key ctrl+c", "  - name: a\n    run: uptime\n    key: ctrl+c\n", `f.yaml:17:10: runbooks[0].key: runbook "a": ctrl+c always quits`},
		{"key ctrl+digit", "  - name: a\n    run: uptime\n    key: ctrl+1\n", `runbooks[0].key: runbook "a": invalid key "ctrl+1"`},
		{"key f13", "  - name: a\n    run: uptime\n    key: f13\n", `runbooks[0].key: runbook "a": invalid key "f13"`},
		{"key space", "  - name: a\n    run: uptime\n    key: ' '\n", `runbooks[0].key: runbook "a": invalid key " "`},
		{"key twice", "  - name: a\n    run: uptime\n    key: W\n  - name: b\n    run: df\n    key: W\n",
			`f.yaml:20:10: runbooks[1].key: runbook "b": key "W" is runbook "a"'s already`},
		{"runbooks not a list", "  name: a\n", `f.yaml:15:3: runbooks: expected a list, found a mapping`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeYAML("f.yaml", []byte(runbookFleet+tt.runbooks))
			if err == nil {
				t.Fatalf("accepted:\n%s", tt.runbooks)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n  %v\nwant it to contain:\n  %s", err, tt.want)
			}
		})
	}
}

func TestValidRunbookKey(t *testing.T) {
	for _, k := range []string{"W", "!", "é", "ctrl+g", "alt+x", "alt+W", "f1", "f12"} {
		if why := ValidRunbookKey(k); why != "" {
			t.Errorf("%q refused: %s", k, why)
		}
	}
	for _, k := range []string{"", "WW", "ctrl+", "ctrl+C", "ctrl+c", "alt+", "f0", "f13", "enter", "\t"} {
		if ValidRunbookKey(k) == "" {
			t.Errorf("%q accepted", k)
		}
	}
}

func TestRunbookChangesAreInTheDiff(t *testing.T) {
	before := &Fleet{Runbooks: []Runbook{{Name: "a", Run: "uptime"}, {Name: "b", Run: "df"}}}
	after := &Fleet{Runbooks: []Runbook{{Name: "a", Run: "uptime -p"}, {Name: "c", Run: "w"}}}
	got := strings.Join(Diff(before, after).Other, "\n")
	for _, want := range []string{"~ runbook a: run", "+ runbook c", "- runbook b"} {
		if !strings.Contains(got, want) {
			t.Errorf("diff %q lacks %q", got, want)
		}
	}
}
