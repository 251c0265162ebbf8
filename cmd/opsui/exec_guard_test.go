package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/tuitest"
	"github.com/opsui/opsui/store"
)

// protectedExecFleet is execFleet with web1 in staging and web2 in the
// protected production. Every host touches a marker file when a command
// runs, so a test sees what ran, not only what opsui says.
func protectedExecFleet(t *testing.T) (*sshtest.Fleet, string) {
	t.Helper()
	fleet, db := execFleet(t, 2, true)
	var doc strings.Builder
	doc.WriteString("environments:\n  - name: staging\n  - name: production\n    protected: true\nhosts:\n")
	for i, h := range fleet.Hosts {
		env := []string{"staging", "production"}[i]
		fmt.Fprintf(&doc, "  - name: %s\n    address: %s\n    port: %d\n    user: %s\n    env: %s\n    roles: [web]\n    identity_file: %s\n",
			h.Name, h.Addr, h.Port, fleet.User, env, fleet.ClientKeyPath)
	}
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	os.WriteFile(file, []byte(doc.String()), 0o600)
	mustRun(t, db, "inventory", "import", file)
	return fleet, db
}

func execRuns(t *testing.T, db string) int {
	t.Helper()
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, err := s.ListRuns(context.Background(), store.RunFilter{Kind: store.KindExec})
	if err != nil {
		t.Fatal(err)
	}
	return len(runs)
}

// TestExecOnProtectedEnvNeedsItsName: exec on a protected environment's
// hosts is refused, with what to do, unless the environment is named;
// --yes alone is not a confirmation; a --confirm-env naming anything else
// is refused too. A refused exec runs and records nothing.
func TestExecOnProtectedEnvNeedsItsName(t *testing.T) {
	_, db := protectedExecFleet(t)
	marker := filepath.Join(t.TempDir(), "ran")
	cmd := "touch " + marker

	refused := []struct {
		args []string
		want string
	}{
		{[]string{"--env", "production"}, "exec on 1 host of protected environment production: type its name on a terminal, or pass --confirm-env production"},
		{[]string{"--env", "production", "--yes"}, "--yes is not enough, name it: --confirm-env production"},
		{[]string{"--role", "web", "--yes"}, "exec on 2 hosts of protected environment production"},
		{[]string{"--env", "production", "--confirm-env", "prod"}, "--confirm-env prod: not a protected environment of the selected hosts (they are in production)"},
		{[]string{"--env", "production", "--confirm-env", "staging"}, "--confirm-env staging: not a protected environment"},
		{[]string{"--env", "staging", "--confirm-env", "production"}, "--confirm-env production: none of the selected hosts is in a protected environment"},
	}
	for _, tc := range refused {
		args := append(append([]string{"exec"}, tc.args...), "--", cmd)
		out, err := opsuiCmd(t, db, "production\n", args...)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("opsui %s: err = %v (exit %d), want usage error %q\n%s", strings.Join(tc.args, " "), err, exitCode(err), tc.want, out)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a refused exec ran its command")
	}
	if n := execRuns(t, db); n != 0 {
		t.Fatalf("refused execs recorded %d runs", n)
	}

	// Staging alone is not protected: it runs as before.
	if out, err := opsuiCmd(t, db, "", "exec", "--env", "staging", "--", "true"); err != nil {
		t.Fatalf("exec on staging: %v\n%s", err, out)
	}
	out, err := opsuiCmd(t, db, "", "exec", "--role", "web", "--confirm-env", "production", "--", cmd)
	if err != nil || !strings.Contains(out, "2 ok") {
		t.Fatalf("exec named production: %v\n%s", err, out)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the confirmed exec did not run: %v", err)
	}
}

// TestExecOnProtectedEnvAsksOnATerminal runs the real binary in tmux: on a
// terminal exec shows the command and the hosts and asks for the name; a
// wrong name runs nothing, the right one runs.
func TestExecOnProtectedEnvAsksOnATerminal(t *testing.T) {
	_, db := protectedExecFleet(t)
	bin := tuitest.Build(t)
	marker := filepath.Join(t.TempDir(), "ran")
	env := []string{"HOME=" + os.Getenv("HOME"), "XDG_DATA_HOME=" + os.Getenv("XDG_DATA_HOME"), "SSH_AUTH_SOCK=", "NO_COLOR=1"}
	argv := []string{bin, "--db", db, "exec", "--env", "production", "--", "touch " + marker}

	tm := tuitest.Start(t, 100, 24, env, argv...)
	s := tm.WaitText("Type its name to continue", time.Minute)
	for _, want := range []string{"command: touch " + marker, "hosts:   web2 (production)", "production is a protected environment"} {
		if !strings.Contains(s, want) {
			t.Errorf("the question lacks %q:\n%s", want, s)
		}
	}
	tm.Type("prod")
	tm.Keys("Enter")
	if code := tm.WaitExit(time.Minute); code != 1 {
		t.Errorf("a wrong name exits %d, want 1:\n%s", code, tm.Screen())
	}
	if s := tm.Screen(); !strings.Contains(s, `the name did not match ("prod", not production): nothing was run`) {
		t.Errorf("no refusal on screen:\n%s", s)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a wrong name ran the command")
	}

	tm = tuitest.Start(t, 100, 24, env, argv...)
	tm.WaitText("Type its name to continue", time.Minute)
	tm.Type("production")
	tm.Keys("Enter")
	if code := tm.WaitExit(2 * time.Minute); code != 0 {
		t.Errorf("the right name exits %d, want 0:\n%s", code, tm.Screen())
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the confirmed exec did not run: %v\n%s", err, tm.Screen())
	}
}
