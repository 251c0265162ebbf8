package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// opsuiCmd runs one opsui command line in-process against db and returns
// its output and error.
func opsuiCmd(t *testing.T, db string, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	c := &cli{stdout: &out, stderr: &out, stdin: strings.NewReader(stdin)}
	root := newRootCmd(c)
	root.SetArgs(append([]string{"--db", db}, args...))
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func mustRun(t *testing.T, db string, args ...string) string {
	t.Helper()
	out, err := opsuiCmd(t, db, "", args...)
	if err != nil {
		t.Fatalf("opsui %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

const fleetFile = "../../inventory/testdata/fleet.yaml"

func TestImportListExportRoundTrip(t *testing.T) {
	db := filepath.Join(t.TempDir(), "opsui.db")
	out := mustRun(t, db, "inventory", "import", fleetFile, "--dry-run")
	if !strings.Contains(out, "10 added, 0 changed, 0 removed hosts") || !strings.Contains(out, "dry run: nothing written") {
		t.Errorf("dry run output:\n%s", out)
	}
	if out := mustRun(t, db, "inventory", "list"); strings.Count(out, "\n") != 1 {
		t.Fatalf("dry run wrote hosts:\n%s", out)
	}
	mustRun(t, db, "inventory", "import", fleetFile)

	list := mustRun(t, db, "inventory", "list", "--env", "production", "--role", "web")
	for _, want := range []string{"web1", "web2.prod.example.com:2222", "eu-west,canary"} {
		if !strings.Contains(list, want) {
			t.Errorf("list lacks %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, "stg-web1") || strings.Contains(list, "db1") {
		t.Errorf("filter let other hosts through:\n%s", list)
	}
	if out := mustRun(t, db, "inventory", "list", "--role", "unassigned"); !strings.Contains(out, "bastion") || strings.Contains(out, "web1") {
		t.Errorf("unassigned:\n%s", out)
	}

	want, _ := os.ReadFile(fleetFile)
	if got := mustRun(t, db, "inventory", "export"); got != string(want) {
		t.Errorf("export differs from the imported file:\n%s", got)
	}
	// Re-importing the same file changes nothing.
	if out := mustRun(t, db, "inventory", "import", fleetFile); !strings.HasPrefix(out, "no changes\n") {
		t.Errorf("re-import:\n%s", out)
	}
	exported := filepath.Join(t.TempDir(), "out.yaml")
	mustRun(t, db, "inventory", "export", "-o", exported)
	if got, _ := os.ReadFile(exported); !bytes.Equal(got, want) {
		t.Error("export -o differs")
	}
}

func TestBadFleetFileChangesNothing(t *testing.T) {
	db := filepath.Join(t.TempDir(), "opsui.db")
	mustRun(t, db, "inventory", "import", fleetFile)
	before := mustRun(t, db, "inventory", "export")

	bad := strings.Replace(before, "    roles: [db]\n", "    rolse: [db]\n", 1)
	bad = strings.Replace(bad, "port: 2222", "port: 99999", 1)
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte(bad), 0o644)
	_, err := opsuiCmd(t, db, "", "inventory", "import", path)
	if err == nil || exitCode(err) != 3 {
		t.Fatalf("err = %v (exit %d), want a validation error (exit 3)", err, exitCode(err))
	}
	if !strings.Contains(err.Error(), path+":") || !strings.Contains(err.Error(), `unknown field "rolse" (did you mean "roles"?)`) {
		t.Errorf("error does not point at the typo: %v", err)
	}
	if after := mustRun(t, db, "inventory", "export"); after != before {
		t.Error("a rejected import changed the inventory")
	}
	// Standard input works too, and a removal shows up in the diff.
	trimmed := before[:strings.Index(before, "  - name: bastion")]
	out, err := opsuiCmd(t, db, trimmed, "inventory", "import", "-")
	if err != nil || !strings.Contains(out, "- host bastion") || !strings.Contains(out, "0 added, 0 changed, 1 removed") {
		t.Errorf("import from stdin: %v\n%s", err, out)
	}
}

func TestImportFromSSHConfigAndAnsible(t *testing.T) {
	db := filepath.Join(t.TempDir(), "opsui.db")
	mustRun(t, db, "inventory", "import", fleetFile)
	out := mustRun(t, db, "inventory", "import", "--from-ssh-config", "../../inventory/testdata/ssh_config", "--env", "staging", "--role", "web")
	if !strings.Contains(out, "+ host ") {
		t.Errorf("ssh_config import added nothing:\n%s", out)
	}
	out = mustRun(t, db, "inventory", "import", "--from-ansible", "../../inventory/testdata/hosts.ini", "--dry-run")
	if !strings.Contains(out, "dry run: nothing written") {
		t.Errorf("ansible dry run:\n%s", out)
	}
	// Merges never remove hosts of the fleet file.
	if list := mustRun(t, db, "inventory", "list"); !strings.Contains(list, "bastion") {
		t.Error("a merge removed a host")
	}
}

func TestAddSetRm(t *testing.T) {
	db := filepath.Join(t.TempDir(), "opsui.db")
	mustRun(t, db, "inventory", "import", fleetFile)
	mustRun(t, db, "inventory", "add", "web3", "--address", "10.2.0.13", "--env", "production", "--role", "web", "--tag", "eu-west")
	if _, err := opsuiCmd(t, db, "", "inventory", "add", "web3", "--address", "10.2.0.14"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate add: %v", err)
	}
	if _, err := opsuiCmd(t, db, "", "inventory", "add", "web4", "--address", "10.2.0.14", "--env", "prod"); err == nil ||
		!strings.Contains(err.Error(), `unknown environment "prod"`) {
		t.Errorf("unknown env: %v", err)
	}
	out := mustRun(t, db, "inventory", "set", "web3", "--port", "2222", "--add-role", "db-migrate", "--rm-tag", "eu-west")
	if !strings.Contains(out, "port: (none) -> 2222") || !strings.Contains(out, "roles: [web] -> [web, db-migrate]") {
		t.Errorf("set output:\n%s", out)
	}
	if _, err := opsuiCmd(t, db, "", "inventory", "set", "web3", "--port", "70000"); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("bad port accepted: %v", err)
	}
	if _, err := opsuiCmd(t, db, "", "inventory", "rm", "web3", "web33"); err == nil || !strings.Contains(err.Error(), `unknown host "web33" (did you mean "web3"?)`) {
		t.Errorf("rm unknown: %v", err)
	}
	if list := mustRun(t, db, "inventory", "list"); !strings.Contains(list, "web3") {
		t.Fatal("a failed rm removed web3")
	}
	mustRun(t, db, "inventory", "rm", "web3")
	if list := mustRun(t, db, "inventory", "list"); strings.Contains(list, "web3") {
		t.Error("web3 still listed")
	}
}

func TestDatabaseLocation(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("OPSUI_DB", "")
	t.Setenv("XDG_DATA_HOME", "")
	run := func(args ...string) {
		c := &cli{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, stdin: strings.NewReader("")}
		root := newRootCmd(c)
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			t.Fatal(err)
		}
	}
	run("store", "info")
	if _, err := os.Stat(filepath.Join(home, ".local/share/opsui/opsui.db")); err != nil {
		t.Errorf("default location: %v", err)
	}
	xdg := filepath.Join(home, "xdg")
	t.Setenv("XDG_DATA_HOME", xdg)
	run("store", "info")
	if _, err := os.Stat(filepath.Join(xdg, "opsui/opsui.db")); err != nil {
		t.Errorf("XDG_DATA_HOME: %v", err)
	}
	env := filepath.Join(home, "env.db")
	t.Setenv("OPSUI_DB", env)
	run("store", "info")
	if _, err := os.Stat(env); err != nil {
		t.Errorf("OPSUI_DB: %v", err)
	}
	flag := filepath.Join(home, "flag.db")
	run("--db", flag, "store", "info")
	if _, err := os.Stat(flag); err != nil {
		t.Errorf("--db: %v", err)
	}
}

func TestPruneFlags(t *testing.T) {
	db := filepath.Join(t.TempDir(), "opsui.db")
	for _, args := range [][]string{
		{"store", "prune"},
		{"store", "prune", "--older-than", "soon"},
		{"store", "prune", "--keep-runs", "-1"},
	} {
		if _, err := opsuiCmd(t, db, "", args...); err == nil || exitCode(err) != 2 {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
	if out := mustRun(t, db, "store", "prune", "--older-than", "90d", "--dry-run"); !strings.Contains(out, "would prune the output of 0 runs") {
		t.Errorf("prune: %s", out)
	}
}

func TestParseAge(t *testing.T) {
	for in, want := range map[string]float64{"90d": 90 * 24, "2w": 14 * 24, "36h": 36, "1.5d": 36} {
		d, err := parseAge(in)
		if err != nil || d.Hours() != want {
			t.Errorf("parseAge(%q) = %v, %v; want %vh", in, d, err, want)
		}
	}
	for _, in := range []string{"", "d", "-3d", "0", "ninety days"} {
		if _, err := parseAge(in); err == nil {
			t.Errorf("parseAge(%q) accepted", in)
		}
	}
}
