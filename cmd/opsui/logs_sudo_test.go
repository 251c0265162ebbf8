package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/sshtest"
)

// TestLogsCLIThroughSudo: opsui logs on a root-owned log (0640 root:adm,
// as nginx's error.log) of a role with logs_sudo: true, on a host reached
// as an ordinary user: without the sudoers line it stops at once, with an
// error naming that exact line (never a hang, never "no lines"); with the
// lines opsui setup --print-sudoers prints, it follows the file.
func TestLogsCLIThroughSudo(t *testing.T) {
	fleet := sshtest.Start(t, 1, sshtest.WithDeployUser())
	log := sshtest.NewRootLog(t, "2026/12/05 05:00:00 [error] 1#1: old upstream timed out")
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, "data"))
	t.Setenv("SSH_AUTH_SOCK", "")
	t.Setenv("OPSUI_DB", "")
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	kh, err := os.ReadFile(fleet.KnownHostsPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), kh, 0o600); err != nil {
		t.Fatal(err)
	}
	h := fleet.Hosts[0]
	doc := fmt.Sprintf(`environments:
  - name: test
roles:
  lb:
    logs: [%s]
    options: {logs_sudo: "true"}
apps:
  - name: shop
    repo: /nonexistent
    deploy_to: %s/srv/shop
hosts:
  - name: %s
    address: %s
    port: %d
    user: %s
    env: test
    roles: [web, lb]
    identity_file: %s
`, log.Path, fleet.LoginHome, h.Name, h.Addr, h.Port, fleet.User, fleet.ClientKeyPath)
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "opsui.db")
	mustRun(t, db, "inventory", "import", file)

	sudoers := mustRun(t, db, "setup", "shop", "--env", "test", "--print-sudoers")
	follow := fleet.User + " ALL=(root) NOPASSWD: /usr/bin/tail -n 1000 -F " + log.Path
	var lines []string
	for _, l := range strings.Split(sudoers, "\n") {
		if strings.HasPrefix(l, fleet.User+" ALL=") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 2 || lines[0] != follow {
		t.Fatalf("--print-sudoers lines %q, want %q first:\n%s", lines, follow, sudoers)
	}

	out, err := opsuiCmd(t, db, "", "logs", "--role", "lb")
	if err == nil || !strings.Contains(out+err.Error(), ": "+follow) {
		t.Fatalf("opsui logs without the sudo right: %v\n%s\nwant the sudoers line %q", err, out, follow)
	}
	t.Logf("opsui logs without the sudo right: %v\n%s", err, out)

	sshtest.Sudoers(t, lines...)
	got, stop := startLogs(t, db, "--role", "lb", "--since-lines", "5")
	waitOutput(t, got, "the old line", func(s string) bool { return strings.Contains(s, "old upstream timed out") })
	log.Append(t, "2026/12/05 05:01:00 [error] 1#1: new upstream timed out")
	s := waitOutput(t, got, "the new line", func(s string) bool { return strings.Contains(s, "new upstream timed out") })
	if err := stop(); err != nil {
		t.Fatalf("opsui logs: %v\n%s", err, s)
	}
}
