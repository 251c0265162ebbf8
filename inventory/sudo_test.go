package inventory

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateSudoers = flag.Bool("update-sudoers", false, "rewrite testdata/sudoers.golden")

func TestSudoCommand(t *testing.T) {
	for _, tc := range []struct {
		cmd, want, err string
	}{
		{cmd: "/usr/bin/supervisorctl signal HUP shop-web", want: "/usr/bin/supervisorctl|signal|HUP|shop-web"},
		{cmd: "  /usr/bin/systemctl   reload  gunicorn@shop.service ", want: "/usr/bin/systemctl|reload|gunicorn@shop.service"},
		{cmd: "", err: "empty"},
		{cmd: "systemctl reload nginx", err: "absolute path (e.g. /usr/bin/systemctl)"},
		{cmd: "/usr/sbin/nginx -s reload; id", err: `"reload;" is not literal`},
		{cmd: "/usr/bin/kill -HUP $(cat /run/x.pid)", err: `"$(cat" is not literal`},
		{cmd: "/usr/bin/systemctl reload 'a b'", err: "is not literal"},
		{cmd: "/usr/bin/systemctl reload shop-*", err: `"shop-*" is not literal`},
		{cmd: "/bin/sh -c reload", err: "grants a root shell"},
		{cmd: "/usr/bin/env /usr/sbin/nginx -s reload", err: "grants a root shell"},
		{cmd: "/usr/bin/sudo /usr/sbin/nginx", err: "grants a root shell"},
	} {
		words, err := SudoCommand(tc.cmd)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("SudoCommand(%q) = %q, %v; want an error with %q", tc.cmd, words, err, tc.err)
		case tc.err == "" && (err != nil || strings.Join(words, "|") != tc.want):
			t.Errorf("SudoCommand(%q) = %q, %v; want %s", tc.cmd, words, err, tc.want)
		}
	}
	if got := SudoersEscape(`a,b:c=d\e`); got != `a\,b\:c\=d\\e` {
		t.Errorf("SudoersEscape = %s", got)
	}
}

// TestSudoValidation: sudo: true needs a reload that one exact sudoers
// line can allow, checked at import with the file position, whether the
// role or a host sets it.
func TestSudoValidation(t *testing.T) {
	base := "environments: [{name: p}]\nhosts:\n  - name: web1\n    address: 10.0.0.1\n    env: p\n    roles: [web]\n"
	for _, tc := range []struct{ doc, want string }{
		{"roles:\n  web:\n    sudo: true\n    reload: systemctl reload shop\n" + base, `f.yaml:5:13: reload "systemctl reload shop" runs with sudo: name the program by its absolute path`},
		{"roles:\n  web:\n    sudo: true\n" + base, `host "web1": role web has sudo: true but no reload command`},
		{"roles:\n  web:\n    reload: kill -HUP $(cat x)\n" + base + "    settings:\n      web:\n        sudo: true\n", `host "web1": reload "kill -HUP $(cat x)" runs with sudo`},
	} {
		_, err := DecodeYAML("f.yaml", []byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(tc.want, "f.yaml:5:13: ")) {
			t.Errorf("DecodeYAML:\n%s\nerror %v\nwant %q", tc.doc, err, tc.want)
		}
	}
	if _, err := DecodeYAML("f.yaml", []byte("roles:\n  web:\n    sudo: true\n    reload: /usr/bin/systemctl reload shop\n"+base)); err != nil {
		t.Errorf("a valid sudo reload was refused: %v", err)
	}
}

// TestSudoersGolden: the sudoers lines of a fleet file with a role that
// says sudo: true, a host's own reload, a balancer's reload written with
// sudo, a stage's sudo with options and a host without a user.
func TestSudoersGolden(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "sudoers.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := DecodeYAML("sudoers.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	rules, notes, err := f.SudoRules("shop", "production")
	if err != nil {
		t.Fatal(err)
	}
	got := FormatSudoers("shop", "production", rules, notes)
	golden := filepath.Join("testdata", "sudoers.golden")
	if *updateSudoers {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update-sudoers)", err)
	}
	if got != string(want) {
		t.Errorf("sudoers differ from %s (-update-sudoers rewrites it):\n%s", golden, got)
	}
	for _, r := range rules {
		if strings.ContainsAny(r.Line(), "*?[") {
			t.Errorf("rule %q holds a wildcard", r.Line())
		}
	}
	if _, _, err := f.SudoRules("shop", "nowhere"); err == nil || !strings.Contains(err.Error(), `no environment "nowhere"`) {
		t.Errorf("unknown environment: %v", err)
	}
	if _, _, err := f.SudoRules("blog", "production"); err == nil || !strings.Contains(err.Error(), `no app "blog"`) {
		t.Errorf("unknown app: %v", err)
	}
}

// TestSudoLogPaths: a log read through sudo must be one literal, clean
// absolute path, checked at import; without logs_sudo any absolute path
// goes.
func TestSudoLogPaths(t *testing.T) {
	base := "environments: [{name: p}]\nhosts:\n  - name: lb1\n    address: 10.0.0.1\n    env: p\n    roles: [lb]\n"
	for _, tc := range []struct{ logs, want string }{
		{`["/var/log/nginx/*.log"]`, "must be a literal path"},
		{`["/var/log/nginx/../../etc/shadow"]`, "must be a clean absolute path"},
		{`["/var/log/my app.log"]`, "must be a literal path"},
	} {
		doc := "roles:\n  lb:\n    logs: " + tc.logs + "\n    options: {logs_sudo: \"true\"}\n" + base
		_, err := DecodeYAML("f.yaml", []byte(doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("logs %s with logs_sudo: error %v, want %q", tc.logs, err, tc.want)
		}
		if _, err := DecodeYAML("f.yaml", []byte(strings.Replace(doc, `"true"`, `"false"`, 1))); err != nil {
			t.Errorf("logs %s without logs_sudo refused: %v", tc.logs, err)
		}
	}
}
