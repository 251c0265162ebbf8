package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/tuitest"
	"github.com/opsui/opsui/ops/deploy"

	"github.com/opsui/opsui/internal/pgtest"
	"github.com/opsui/opsui/store"
)

// teamEnv is newDeployEnv's fleet and app in a SQLite file or, for
// postgres, in a database of its own on the test PostgreSQL server: the
// store two operators share.
func teamEnv(t *testing.T, postgres bool, stages string) *deployEnv {
	t.Helper()
	e := newDeployEnv(t, 2, stages)
	if postgres {
		file := filepath.Join(t.TempDir(), "fleet.yaml")
		mustRun(t, e.db, "inventory", "export", "-o", file)
		e.db = pgtest.New(t)
		mustRun(t, e.db, "inventory", "import", file)
	}
	return e
}

// TestAuditAndOperators: alice deploys twice, bob rolls back, runs a
// command and adds a host, on real sshd hosts; opsui audit lists each
// action newest first with its operator, releases names the operator of
// each release, and --json says the same. On SQLite and PostgreSQL.
func TestAuditAndOperators(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			e := teamEnv(t, backend == "postgres", "")
			t.Setenv("OPSUI_OPERATOR", "alice@lap")
			r1 := releaseOf(t, mustRun(t, e.db, "deploy", "--env", "test", "--yes"))
			e.commit(t, "second change", "index.html", "v2")
			r2 := releaseOf(t, mustRun(t, e.db, "deploy", "--env", "test", "--yes"))
			t.Setenv("OPSUI_OPERATOR", "bob@box")
			mustRun(t, e.db, "rollback", "--env", "test", "--yes")
			mustRun(t, e.db, "exec", "--host", "web1", "--", "uname", "-n")
			mustRun(t, e.db, "inventory", "add", "web9", "--address", "127.0.0.99", "--env", "test")

			out := mustRun(t, e.db, "audit")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			want := []struct{ operator, action, what string }{
				{"bob@box", "inventory", "+ host web9"},
				{"bob@box", "exec", "uname -n"},
				{"bob@box", "rollback", "release " + r1},
				{"alice@lap", "deploy", "release " + r2},
				{"alice@lap", "deploy", "release " + r1},
			}
			if len(lines) < len(want)+1 || !strings.HasPrefix(lines[0], "WHEN (UTC)") {
				t.Fatalf("audit:\n%s", out)
			}
			for i, w := range want {
				f := strings.Fields(lines[i+1])
				if len(f) < 4 || f[2] != w.operator || f[3] != w.action || !strings.Contains(lines[i+1], w.what) {
					t.Errorf("audit line %d = %q, want %s %s … %s\n%s", i+1, lines[i+1], w.operator, w.action, w.what, out)
				}
			}
			if !strings.Contains(lines[4], "app → test") || !strings.Contains(lines[4], " ok ") {
				t.Errorf("a deploy's line names its target and result: %q", lines[4])
			}

			out = mustRun(t, e.db, "releases", "--app", "app", "--env", "test")
			rel := strings.Split(strings.TrimSpace(out), "\n")
			if len(rel) != 4 || !strings.Contains(rel[0], "OPERATOR") || !strings.Contains(rel[1], "bob@box") ||
				!strings.Contains(rel[2], "alice@lap") || !strings.Contains(rel[3], "alice@lap") {
				t.Errorf("releases name their operators:\n%s", out)
			}

			var entries []store.AuditEntry
			out = mustRun(t, e.db, "audit", "--json", "--since", "all", "--limit", "3")
			if err := json.Unmarshal([]byte(out), &entries); err != nil || len(entries) != 3 {
				t.Fatalf("audit --json: %v\n%s", err, out)
			}
			if entries[2].Action != store.KindRollback || entries[2].ReleaseID != r1 || entries[2].Operator != "bob@box" || entries[2].RunID == 0 {
				t.Errorf("the rollback's entry: %+v", entries[2])
			}
			for _, bad := range []string{"0", "-1h", "soon"} {
				if out, err := opsuiCmd(t, e.db, "", "audit", "--since", bad); exitCode(err) != 2 {
					t.Errorf("--since %s: %v (exit %d), want a usage error\n%s", bad, err, exitCode(err), out)
				}
			}
		})
	}
}

// TestDeployWarningsFromSharedHistory: bob's deploy preview (--dry-run)
// says that alice just deployed, that the commit was rolled back before
// (and by whom), and, while alice's deploy runs in another opsui process,
// that she is deploying now. On SQLite and PostgreSQL.
func TestDeployWarningsFromSharedHistory(t *testing.T) {
	bin := tuitest.Build(t)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			e := teamEnv(t, backend == "postgres", slowStage(60))
			t.Setenv("OPSUI_OPERATOR", "alice@lap")
			mustRun(t, e.db, "deploy", "--env", "test", "--yes")
			c2 := e.commit(t, "second change", "index.html", "v2")
			r2 := releaseOf(t, mustRun(t, e.db, "deploy", "--env", "test", "--yes"))
			if out := mustRun(t, e.db, "deploy", "--env", "test", "--dry-run"); strings.Contains(out, "warning: alice@lap") {
				t.Errorf("alice is warned of her own deploy:\n%s", out)
			}
			t.Setenv("OPSUI_OPERATOR", "bob@box")
			mustRun(t, e.db, "rollback", "--env", "test", "--yes")

			out := mustRun(t, e.db, "deploy", "--env", "test", "--dry-run")
			for _, want := range []string{
				"opsui: warning: " + deploy.ShortCommit(c2) + " was rolled back from test just now by bob@box (opsui rollback of release " + r2 + ")",
				"opsui: warning: alice@lap deployed app → test just now (release " + r2 + ", " + deploy.ShortCommit(c2) + ", success)",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("bob's dry run lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "warning: bob@box rolled back") || strings.Contains(out, "is deploying") {
				t.Errorf("bob is warned of his own rollback, or of a deploy that is not running:\n%s", out)
			}

			// alice's next deploy, in her own opsui process, waits in its slow stage.
			if err := os.WriteFile(filepath.Join(e.fleet.Dir, "slow"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			e.commit(t, "third change", "index.html", "v3")
			cmd := exec.Command(bin, "--db", e.db, "deploy", "--env", "test", "--yes")
			cmd.Env = append(os.Environ(), "OPSUI_OPERATOR=alice@lap")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			e.waitSlowStage(t, cmd)
			out = mustRun(t, e.db, "deploy", "--env", "test", "--dry-run")
			if !strings.Contains(out, "opsui: warning: alice@lap is deploying app → test now (run ") || !strings.Contains(out, "0/2 hosts done") {
				t.Errorf("bob's dry run does not say alice is deploying:\n%s", out)
			}
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(2 * time.Minute):
				cmd.Process.Kill()
				t.Error("alice's deploy did not stop on SIGTERM")
			}
		})
	}
}

// TestStoreCopyMergesTwoLaptops: alice and bob each ran a command on real
// hosts from their own SQLite file; both histories are moved into one
// PostgreSQL database (bob's with --merge, refused without), and the
// team's audit shows both. Copying into the database itself is refused.
func TestStoreCopyMergesTwoLaptops(t *testing.T) {
	_, alice := execFleet(t, 2, true)
	fleet := filepath.Join(t.TempDir(), "fleet.yaml")
	mustRun(t, alice, "inventory", "export", "-o", fleet)
	bob := filepath.Join(t.TempDir(), "bob.db")
	mustRun(t, bob, "inventory", "import", fleet)
	t.Setenv("OPSUI_OPERATOR", "alice@lap")
	mustRun(t, alice, "exec", "--host", "web1", "--", "uname", "-n")
	t.Setenv("OPSUI_OPERATOR", "bob@box")
	mustRun(t, bob, "exec", "--host", "web2", "--", "uname", "-n")

	team := pgtest.New(t)
	out := mustRun(t, alice, "store", "copy", "--to", team)
	if !strings.Contains(out, ": 1 runs (1 output chunks), 0 releases") || strings.Contains(out, pgtest.Password) {
		t.Errorf("alice's copy:\n%s", out)
	}
	if out, err := opsuiCmd(t, bob, "", "store", "copy", "--to", team); err == nil || !strings.Contains(err.Error(), "give --merge") {
		t.Errorf("bob's copy without --merge: %v\n%s", err, out)
	}
	out = mustRun(t, bob, "store", "copy", "--to", team, "--merge")
	if !strings.Contains(out, ": 1 runs (1 output chunks)") {
		t.Errorf("bob's merge:\n%s", out)
	}
	out = mustRun(t, alice, "store", "copy", "--to", team, "--merge")
	if !strings.Contains(out, ": 0 runs (0 output chunks)") || !strings.Contains(out, "already there, kept: 1 runs") {
		t.Errorf("alice's copy again:\n%s", out)
	}
	out = mustRun(t, team, "audit", "--since", "all")
	if !strings.Contains(out, "alice@lap  exec") || !strings.Contains(out, "bob@box    exec") || strings.Count(out, " exec ") != 2 {
		t.Errorf("the team's audit:\n%s", out)
	}
	if out, err := opsuiCmd(t, alice, "", "store", "copy", "--to", alice); exitCode(err) != 2 {
		t.Errorf("copy into itself: %v\n%s", err, out)
	}
}
