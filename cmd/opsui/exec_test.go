package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/store"
)

// execFleet starts real sshd hosts, imports them into a fresh database and
// points HOME at a directory whose known_hosts lists them (unless
// knownHosts is false). It returns the database path.
func execFleet(t *testing.T, n int, knownHosts bool) (*sshtest.Fleet, string) {
	t.Helper()
	fleet := sshtest.Start(t, n)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, "data"))
	t.Setenv("SSH_AUTH_SOCK", "")
	t.Setenv("OPSUI_DB", "")
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	if knownHosts {
		b, err := os.ReadFile(fleet.KnownHostsPath)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), b, 0o600)
	}
	var doc strings.Builder
	doc.WriteString("environments:\n  - name: test\nhosts:\n")
	for _, h := range fleet.Hosts {
		fmt.Fprintf(&doc, "  - name: %s\n    address: %s\n    port: %d\n    user: %s\n    env: test\n    roles: [web]\n    identity_file: %s\n",
			h.Name, h.Addr, h.Port, fleet.User, fleet.ClientKeyPath)
	}
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	os.WriteFile(file, []byte(doc.String()), 0o600)
	db := filepath.Join(t.TempDir(), "opsui.db")
	mustRun(t, db, "inventory", "import", file)
	return fleet, db
}

func TestExecOnRealHosts(t *testing.T) {
	_, db := execFleet(t, 3, true)
	out, err := opsuiCmd(t, db, "", "exec", "--role", "web", "--", "uname", "-n")
	if err != nil {
		t.Fatalf("exec: %v\n%s", err, out)
	}
	for _, h := range []string{"web1", "web2", "web3"} {
		if !strings.Contains(out, h+" | "+h+"\n") {
			t.Errorf("no %q line in:\n%s", h+" | "+h, out)
		}
	}
	if !strings.Contains(out, "3 ok") {
		t.Errorf("summary missing:\n%s", out)
	}

	// The run and every host's output are in the store.
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, _ := s.ListRuns(context.Background(), store.RunFilter{Kind: store.KindExec})
	if len(runs) != 1 || runs[0].Result != store.RunOK || runs[0].Command != "uname -n" {
		t.Fatalf("recorded runs = %+v", runs)
	}
	hosts, _ := s.RunHosts(context.Background(), runs[0].ID)
	for _, h := range hosts {
		chunks, _ := s.Output(context.Background(), h.ID)
		var got strings.Builder
		for _, c := range chunks {
			got.Write(c.Data)
		}
		if h.Status != store.HostOK || got.String() != h.Host+"\n" {
			t.Errorf("host %s: status %s, output %q", h.Host, h.Status, got.String())
		}
	}
}

func TestExecReportsFailuresFirstAndExitsNonZero(t *testing.T) {
	_, db := execFleet(t, 3, true)
	out, err := opsuiCmd(t, db, "", "exec", "--", `echo "on $(uname -n)"; test "$(uname -n)" != web2`)
	var hf hostsFailedError
	if !errors.As(err, &hf) || exitCode(err) != 1 {
		t.Fatalf("err = %v, want hosts failed\n%s", err, out)
	}
	summary := out[strings.Index(out, "did not succeed"):]
	if !strings.Contains(summary, "web2  exit 1") || !strings.Contains(summary, "on web2") || strings.Contains(summary, "web1  ") {
		t.Errorf("failure summary:\n%s", summary)
	}
	if !strings.Contains(out, "1 failed (1 command-failed), 2 ok") {
		t.Errorf("totals:\n%s", out)
	}
}

func TestExecHostKeys(t *testing.T) {
	_, db := execFleet(t, 2, false)
	out, err := opsuiCmd(t, db, "", "exec", "--host", "web1", "--", "true")
	if err == nil || !strings.Contains(out, "hostkey-unknown") {
		t.Fatalf("unknown host key accepted without --accept-new: %v\n%s", err, out)
	}
	out, err = opsuiCmd(t, db, "", "exec", "--host", "web1", "--accept-new", "--", "true")
	if err != nil || !strings.Contains(out, "accepting new ssh-ed25519 host key of web1") {
		t.Fatalf("--accept-new: %v\n%s", err, out)
	}
	// Recorded: the next run needs no flag.
	if out, err := opsuiCmd(t, db, "", "exec", "--host", "web1", "--", "true"); err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("XDG_DATA_HOME"), "opsui", "known_hosts")); err != nil {
		t.Error(err)
	}
}

func TestExecSelectionErrors(t *testing.T) {
	_, db := execFleet(t, 1, true)
	if _, err := opsuiCmd(t, db, "", "exec", "--host", "web9", "--", "true"); err == nil || !strings.Contains(err.Error(), `unknown host "web9"`) {
		t.Errorf("unknown host: %v", err)
	}
	if _, err := opsuiCmd(t, db, "", "exec", "--role", "db", "--", "true"); err == nil || !strings.Contains(err.Error(), "no host matches") {
		t.Errorf("empty selection: %v", err)
	}
	out, err := opsuiCmd(t, db, "", "exec", "--json", "--", "echo", "hi")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var last map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last["event"] != "result" || last["ok"] != 1.0 {
		t.Errorf("json result = %v, %v\n%s", last, err, out)
	}
	if !strings.Contains(out, `"line":"hi"`) {
		t.Errorf("json events lack the output:\n%s", out)
	}
}
