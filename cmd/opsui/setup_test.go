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
		{[]string{"setup", "shop", "--env", "production"}, "only --print-sudoers is built so far", 2},
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
