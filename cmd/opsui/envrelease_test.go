package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEnvSetCLI: env set, env unset and rollback --config on two real sshd
// hosts, through the CLI. The dry run shows each host's changes, secrets by
// name; env set writes every host's shared/.env, edits the stored fleet
// (env show) and is listed as a config release keeping the live commit;
// bad input is refused with the reason and changes nothing; a freeze
// refuses env set unless --break-glass; rollback --config restores the
// previous environment. No secret is in the output or the database file.
func TestEnvSetCLI(t *testing.T) {
	const secret = "Sup3r-s3cret-5e1f"
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "api")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newDeployEnv(t, 2, "",
		"env:",
		"  MODE: live",
		"  API_TOKEN: {secret: api}",
		"env_per_environment:",
		"  test: {FLAVOR: one}",
		"env_per_host:",
		"  web2: {MODE: canary}",
		"secrets:",
		"  api: {file: "+secretFile+"}")
	all := mustRun(t, e.db, "deploy", "app", "--env", "test", "--ref", "main", "--yes")
	envOn := func(i int) string {
		h := e.fleet.Hosts[i]
		return sshOutput(t, h.Address(), e.cfg, "grep -v '^#' "+e.deployTo(h.Name)+"/shared/.env")
	}

	out := mustRun(t, e.db, "env", "set", "app", "--env", "test", "FLAVOR=two", "MODE=calm", "API_TOKEN2@api", "--dry-run")
	for _, want := range []string{"(set): the code stays release", "~ FLAVOR: one -> two", "+ API_TOKEN2=‹secret api›", "~ MODE: live -> calm"} {
		if !strings.Contains(out, want) {
			t.Errorf("the dry run does not say %q:\n%s", want, out)
		}
	}
	// web2's own MODE wins over the environment's: its dry run does not list it.
	if web2 := out[strings.Index(out, "web2:"):]; strings.Contains(web2, "MODE") {
		t.Errorf("the dry run changes MODE on web2, whose env_per_host overrides it:\n%s", out)
	}
	if strings.Contains(envOn(0), "FLAVOR=two") {
		t.Fatal("the dry run changed a host")
	}
	all += out

	out = mustRun(t, e.db, "env", "set", "app", "--env", "test", "FLAVOR=two", "API_TOKEN2@api", "--yes")
	if !strings.Contains(out, ": success") || !strings.Contains(out, "the stored inventory now holds this change") {
		t.Errorf("env set:\n%s", out)
	}
	all += out
	for i := range e.fleet.Hosts {
		if env := envOn(i); !strings.Contains(env, "FLAVOR=two") || !strings.Contains(env, "API_TOKEN2=") {
			t.Errorf("host %d's shared/.env after env set:\n%s", i, env)
		}
	}
	if out := mustRun(t, e.db, "env", "show", "app", "--env", "test", "--host", "web1"); !hasLine(out, "FLAVOR two (environment)") ||
		!hasLine(out, "API_TOKEN2 ‹secret api› (environment)") {
		t.Errorf("env show after env set:\n%s", out)
	}
	rels := mustRun(t, e.db, "releases", "--app", "app", "--env", "test")
	if !strings.Contains(rels, "config") || !strings.Contains(rels, "set API_TOKEN2, FLAVOR") {
		t.Errorf("releases after env set:\n%s", rels)
	}
	all += rels

	// Bad input: refused with the reason, nothing changed, nothing recorded.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"env", "set", "app", "--env", "test", "PATH=/tmp"}, "reserved"},
		{[]string{"env", "set", "app", "--env", "test", "X@nosuch"}, `secret "nosuch" is not declared`},
		{[]string{"env", "set", "app", "--env", "test", "FLAVOR=two"}, "nothing to change"},
		{[]string{"env", "unset", "app", "--env", "test", "MODE"}, "is declared for every environment"},
		{[]string{"env", "set", "app", "--env", "test", "novalue"}, "give KEY=VALUE"},
		{[]string{"env", "set", "app", "--env", "test", "FLAVOR=three", "--strategy", "canary"}, "waits for a go-ahead"},
	} {
		out, err := opsuiCmd(t, e.db, "", append(c.args, "--yes")...)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v (exit %d), want %q\n%s", c.args, err, exitCode(err), c.want, out)
		}
	}

	// A freeze refuses it; --break-glass lets it through.
	mustRun(t, e.db, "freeze", "add", "--env", "test", "--reason", "launch", "--start", time.Now().Add(-time.Hour).UTC().Format("2006-01-02 15:04"),
		"--end", time.Now().Add(time.Hour).UTC().Format("2006-01-02 15:04"), "--tz", "UTC")
	if out, err := opsuiCmd(t, e.db, "", "env", "unset", "app", "--env", "test", "API_TOKEN2", "--yes"); err == nil || !strings.Contains(err.Error(), "frozen") {
		t.Errorf("env unset in a freeze: %v\n%s", err, out)
	}
	out = mustRun(t, e.db, "env", "unset", "app", "--env", "test", "API_TOKEN2", "--yes", "--break-glass", "leaked token")
	if strings.Contains(envOn(0), "API_TOKEN2") {
		t.Errorf("API_TOKEN2 is still in shared/.env after env unset:\n%s", out)
	}
	all += out

	// Back to before the unset, then before the set.
	out = mustRun(t, e.db, "rollback", "app", "--env", "test", "--config", "--yes")
	if !strings.Contains(out, ": success") || !strings.Contains(envOn(1), "API_TOKEN2=") {
		t.Errorf("rollback --config after the unset:\n%s", out)
	}
	all += out
	out = mustRun(t, e.db, "rollback", "app", "--env", "test", "--config", "--yes")
	if env := envOn(0); !strings.Contains(env, "FLAVOR=one") || strings.Contains(env, "API_TOKEN2") {
		t.Errorf("rollback --config after the set: shared/.env\n%s\n%s", env, out)
	}
	all += out
	if out, err := opsuiCmd(t, e.db, "", "rollback", "app", "--env", "test", "--config", "--yes"); err == nil || !strings.Contains(err.Error(), "no config release to roll back") {
		t.Errorf("a third rollback --config: %v\n%s", err, out)
	}
	out = mustRun(t, e.db, "env", "history", "app", "--env", "test")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.Contains(lines[1], "rollback") || !strings.Contains(lines[3], "unset") || !strings.Contains(lines[3], "- API_TOKEN2") ||
		!strings.Contains(lines[4], "set") || !strings.Contains(lines[4], "+ API_TOKEN2=‹secret api›; ~ FLAVOR: one -> two") {
		t.Errorf("env history:\n%s", out)
	}
	all += out

	if strings.Contains(all, secret) {
		t.Errorf("the output holds the secret:\n%s", all)
	}
	db, err := os.ReadFile(e.db)
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(e.db + "-wal")
	db = append(db, wal...)
	if bytes.Contains(db, []byte(secret)) {
		t.Error("the database file holds the secret")
	}
	if !bytes.Contains(db, []byte("previous shared/.env kept")) {
		t.Error("the database file does not hold the recorded output (the grep above proves nothing)")
	}
}
