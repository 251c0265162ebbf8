package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// runbookFleet imports, on three real sshd hosts, web1 (web, staging),
// web2 (web, production, protected) and web3 (db, production), with
// runbooks that leave a marker named after the host they ran on, so a
// test sees where a runbook ran, not only what opsui says.
func runbookFleet(t *testing.T) (db, marks string) {
	t.Helper()
	fleet, db := execFleet(t, 3, true)
	marks = t.TempDir()
	var doc strings.Builder
	doc.WriteString("environments:\n  - name: staging\n  - name: production\n    protected: true\nhosts:\n")
	for i, h := range fleet.Hosts {
		env, role := []string{"staging", "production", "production"}[i], []string{"web", "web", "db"}[i]
		fmt.Fprintf(&doc, "  - name: %s\n    address: %s\n    port: %d\n    user: %s\n    env: %s\n    roles: [%s]\n    identity_file: %s\n",
			h.Name, h.Addr, h.Port, fleet.User, env, role, fleet.ClientKeyPath)
	}
	fmt.Fprintf(&doc, `runbooks:
  - name: mark
    description: leave a marker on the web hosts
    run: touch %[1]s/mark-$(uname -n)
    roles: [web]
    key: M
  - name: careful
    run: touch %[1]s/careful-$(uname -n)
    roles: [web]
    confirm: true
`, marks)
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	os.WriteFile(file, []byte(doc.String()), 0o600)
	mustRun(t, db, "inventory", "import", file)
	return db, marks
}

// marked lists the markers left, sorted.
func marked(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

// TestRunbookCLI: opsui runbook lists the runbooks; a runbook runs only on
// its roles' hosts of the environment named, is recorded as "runbook
// NAME", and on a protected environment is refused without the typed name
// or --confirm-env, running and recording nothing.
func TestRunbookCLI(t *testing.T) {
	db, marks := runbookFleet(t)

	list := mustRun(t, db, "runbook")
	for _, want := range []string{"NAME", "mark", "M", "leave a marker on the web hosts", "careful", "yes"} {
		if !strings.Contains(list, want) {
			t.Errorf("the list lacks %q:\n%s", want, list)
		}
	}

	refused := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"mark", "--env", "production"}, 2, "runbook mark on 1 host of protected environment production: type its name on a terminal, or pass --confirm-env production"},
		{[]string{"mark", "--env", "production", "--yes"}, 2, "--yes is not enough, name it: --confirm-env production"},
		{[]string{"mark", "--env", "production", "--confirm-env", "prod"}, 2, "--confirm-env prod: not a protected environment"},
		{[]string{"mark", "--env", "staging", "--confirm-env", "production"}, 2, "none of the selected hosts is in a protected environment"},
		{[]string{"mark"}, 2, "runbook mark: say which environment (--env staging|production)"},
		{[]string{"mark", "--env", "production", "--host", "web3"}, 2, "runbook mark: web3 is not one of its hosts in production (web2)"},
		{[]string{"mrak", "--env", "staging"}, 3, `unknown runbook "mrak" (did you mean "mark"?)`},
		{[]string{"careful", "--env", "staging"}, 2, "runbook careful on 1 host: confirm on a terminal or pass --yes"},
	}
	for _, tc := range refused {
		out, err := opsuiCmd(t, db, "production\ny\n", append([]string{"runbook"}, tc.args...)...)
		if err == nil || exitCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("opsui runbook %s: err = %v (exit %d), want exit %d with %q\n%s", strings.Join(tc.args, " "), err, exitCode(err), tc.code, tc.want, out)
		}
	}
	if m := marked(t, marks); len(m) != 0 {
		t.Fatalf("refused runbooks ran: %v", m)
	}
	if n := execRuns(t, db); n != 0 {
		t.Fatalf("refused runbooks recorded %d runs", n)
	}

	out, err := opsuiCmd(t, db, "", "runbook", "mark", "--env", "production", "--confirm-env", "production")
	if err != nil || !strings.Contains(out, "1 ok") {
		t.Fatalf("runbook mark on production: %v\n%s", err, out)
	}
	if m := marked(t, marks); !slices.Equal(m, []string{"mark-web2"}) {
		t.Fatalf("runbook mark on production ran on %v, want web2 alone (web3 is a db host, web1 in staging)", m)
	}
	mustRun(t, db, "runbook", "mark", "--env", "staging")
	mustRun(t, db, "runbook", "careful", "--env", "staging", "--yes")
	if m := marked(t, marks); !slices.Equal(m, []string{"careful-web1", "mark-web1", "mark-web2"}) {
		t.Fatalf("markers %v", m)
	}
	audit := mustRun(t, db, "audit")
	if !strings.Contains(audit, "run 1: runbook mark") || !strings.Contains(audit, "run 2: runbook mark") || !strings.Contains(audit, "run 3: runbook careful") {
		t.Errorf("the audit does not record the runbooks by name:\n%s", audit)
	}
}
