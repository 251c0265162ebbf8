package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnvCLI: an app whose environment holds secrets from a 0600 file and
// a command is deployed with the CLI to real sshd hosts; its own stage
// sees each host's values. Neither the dry
// run, the deploy's output, env show nor the database file holds a secret;
// a group-readable secret file is refused with the secret named; env diff
// names the host and key of a hand-edited shared/.env and exits non-zero.
func TestEnvCLI(t *testing.T) {
	const fileSecret, cmdSecret = "F1le-s3cret-a81c", "Cmd-s3cret-77d0"
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "db_password")
	if err := os.WriteFile(secretFile, []byte(fileSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newDeployEnv(t, 2, "      - name: show-mode\n        run: echo \"mode is $MODE\"\n",
		"env:",
		"  MODE: live",
		"  DB_PASSWORD: {secret: db}",
		"  API_TOKEN: {secret: api}",
		"env_per_host:",
		"  web2: {MODE: canary}",
		"secrets:",
		"  db: {file: "+secretFile+"}",
		"  api: {command: \"printf '%s-%s' Cmd s3cret-77d0\", timeout: 5s}")

	out := mustRun(t, e.db, "deploy", "app", "--env", "test", "--ref", "main", "--dry-run")
	if !strings.Contains(out, "API_TOKEN=‹secret api›, DB_PASSWORD=‹secret db›, MODE") {
		t.Errorf("the dry run does not list the .env keys:\n%s", out)
	}
	all := out
	out = mustRun(t, e.db, "deploy", "app", "--env", "test", "--ref", "main", "--yes")
	// The app's own stage has the env; each host its own value.
	if !strings.Contains(out, "shared/.env written: 3 keys, mode 600") || !strings.Contains(out, "mode is live") || !strings.Contains(out, "mode is canary") {
		t.Errorf("deploy:\n%s", out)
	}
	all += out
	out = mustRun(t, e.db, "env", "show", "app", "--env", "test", "--host", "web2")
	if !hasLine(out, "DB_PASSWORD ‹secret db› (app)") || !hasLine(out, "MODE canary (host)") || strings.Contains(out, "web1") {
		t.Errorf("env show:\n%s", out)
	}
	all += out
	out = mustRun(t, e.db, "env", "diff", "app", "--env", "test")
	if !strings.Contains(out, "the shared/.env of 2 hosts match the fleet file") {
		t.Errorf("env diff after the deploy:\n%s", out)
	}

	// A hand edit on web2 is named, by host and key, and fails the command.
	sshOutput(t, e.fleet.Hosts[1].Address(), e.cfg, "sed -i 's/^DB_PASSWORD=.*/DB_PASSWORD=hunter2/' "+e.deployTo("web2")+"/shared/.env")
	out, err := opsuiCmd(t, e.db, "", "env", "diff", "app", "--env", "test")
	if err == nil || exitCode(err) != 1 || !hasLine(out, "DB_PASSWORD web2: differs (hosts differ)") || strings.Contains(out, "hunter2") {
		t.Errorf("env diff after a hand edit: %v\n%s", err, out)
	}
	all += out

	// A secret file others can read is refused before anything changes.
	if err := os.Chmod(secretFile, 0o640); err != nil {
		t.Fatal(err)
	}
	out, err = opsuiCmd(t, e.db, "", "deploy", "app", "--env", "test", "--ref", "main", "--yes")
	if err == nil || !strings.Contains(err.Error(), "‹secret db›") || !strings.Contains(err.Error(), "mode 0640") {
		t.Errorf("deploy with a group-readable secret file: %v\n%s", err, out)
	}
	all += out
	if err != nil {
		all += err.Error()
	}

	db, err := os.ReadFile(e.db)
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(e.db + "-wal")
	for _, s := range []string{fileSecret, cmdSecret} {
		if strings.Contains(all, s) || bytes.Contains(append(db, wal...), []byte(s)) {
			t.Errorf("secret %q is in the output or the database", s)
		}
	}
}

// hasLine reports whether out has a line whose fields are those of want.
func hasLine(out, want string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.Join(strings.Fields(l), " ") == want {
			return true
		}
	}
	return false
}
