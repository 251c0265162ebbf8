package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/tuitest"
)

// inputFleet imports a fleet with a protected environment "production", an
// unprotected "staging" and an app whose repository has one commit. No
// host is reached: every check here happens before any SSH.
func inputFleet(t *testing.T) string {
	t.Helper()
	repo := t.TempDir()
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"config", "user.email", "d@example.com"}, {"config", "user.name", "D"},
		{"commit", "-q", "--allow-empty", "-m", "initial"}} {
		if out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	doc := fmt.Sprintf(`environments:
  - name: production
    protected: true
  - name: staging
apps:
  - name: shop
    repo: %s
    deploy_to: /srv/shop
hosts:
  - name: web1
    address: 127.0.0.1
    env: production
    roles: [web]
  - name: web2
    address: 127.0.0.1
    env: staging
    roles: [web]
`, repo)
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "opsui.db")
	mustRun(t, db, "inventory", "import", file)
	return db
}

// runWithStdin runs opsui with stdin as given and returns what it printed
// and its exit status as main computes it.
func runWithStdin(t *testing.T, db string, stdin *os.File, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	c := &cli{stdout: &out, stderr: &out, stdin: stdin}
	root := newRootCmd(c)
	root.SetArgs(append([]string{"--db", db}, args...))
	if err := root.ExecuteContext(context.Background()); err != nil {
		fmt.Fprintf(&out, "opsui: %v\n", err)
		return out.String(), exitCode(err)
	}
	return out.String(), 0
}

// TestUnknownNamesAreInvalidInput: an unknown app, environment, host or
// ref exits 3 (invalid input, as the README says), naming it.
func TestUnknownNamesAreInvalidInput(t *testing.T) {
	db := inputFleet(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"deploy", "nope", "--env", "staging", "--yes"}, `unknown app "nope"`},
		{[]string{"deploy", "shop", "--env", "prod", "--yes"}, `unknown environment "prod"`},
		{[]string{"deploy", "shop", "--env", "staging", "--host", "web9", "--yes"}, `unknown host "web9"`},
		{[]string{"deploy", "shop", "--env", "staging", "--ref", "no-such-branch", "--yes"}, `unknown ref "no-such-branch"`},
		{[]string{"pending", "no-such-tag", "--app", "shop", "--env", "staging"}, `unknown ref "no-such-tag"`},
		{[]string{"rollback", "shop", "--env", "nowhere", "--yes"}, `unknown environment "nowhere"`},
		{[]string{"migrate", "shop", "--env", "nowhere", "--plan"}, `unknown environment "nowhere"`},
	} {
		out, code := runWithStdin(t, db, nil, tc.args...)
		if code != 3 || !strings.Contains(out, tc.want) {
			t.Errorf("opsui %s: exit %d, want 3 with %q:\n%s", strings.Join(tc.args, " "), code, tc.want, out)
		}
	}
}

// TestConfirmationWithoutATerminal: with stdin from /dev/null, a pipe or a
// file, a confirmation is refused before any prompt, with exit status 2
// and the same words; /dev/null is a character device, not a terminal.
func TestConfirmationWithoutATerminal(t *testing.T) {
	db := inputFleet(t)
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	pw.WriteString("production\n")
	pw.Close()
	defer pr.Close()
	file := filepath.Join(t.TempDir(), "answer")
	os.WriteFile(file, []byte("production\n"), 0o600)
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, in := range map[string]*os.File{"/dev/null": devnull, "a pipe": pr, "a file": f} {
		out, code := runWithStdin(t, db, in, "deploy", "shop", "--env", "production")
		if code != 2 || !strings.Contains(out, "production is protected: confirm on a terminal or pass --yes (standard input is not a terminal)") {
			t.Errorf("stdin from %s: exit %d, want 2:\n%s", name, code, out)
		}
		if strings.Contains(out, "Type its name") || strings.Contains(out, "did not match") {
			t.Errorf("stdin from %s: prompted anyway:\n%s", name, out)
		}
	}
	// The yes/no question follows the same rule.
	c := &cli{stdin: devnull}
	var ue usageError
	if err := c.confirm("Roll back?", false); !errors.As(err, &ue) || !strings.Contains(err.Error(), "confirm on a terminal or pass --yes") {
		t.Errorf("confirm from /dev/null: %v", err)
	}
}

// TestRecordsCLI: a deploy killed mid-way leaves its lock held by a dead
// process, which unlock shows as such (not live) and breaks without
// --force; resuming the killed run finishes the same release, listed once;
// migrate --plan with nothing pending says so; a rollback's summary gives
// its lock time and no deploy phases.
func TestRecordsCLI(t *testing.T) {
	e := newDeployEnv(t, 2, slowStage(30),
		`migrate_plan: "printf '[X]  shop.0001_initial\\n'"`)
	bin := tuitest.Build(t)
	mustRun(t, e.db, "deploy", "--env", "test", "--yes")
	if err := os.WriteFile(filepath.Join(e.fleet.Dir, "slow"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e.commit(t, "second", "index.html", "v2")
	cmd := exec.Command(bin, "--db", e.db, "deploy", "--env", "test", "--yes")
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e.waitSlowStage(t, cmd)
	pid := cmd.Process.Pid
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	os.Remove(filepath.Join(e.fleet.Dir, "slow"))

	out := mustRun(t, e.db, "unlock", "--env", "test", "--yes")
	want := fmt.Sprintf("(held by a dead process: pid %d is gone, interrupted run ", pid)
	if strings.Contains(out, "(live)") || !strings.Contains(out, want) || !strings.Contains(out, "unlocked web1, web2") {
		t.Fatalf("unlock of a lock whose process died, without --force, want %q:\n%s", want, out)
	}
	var killed int64
	if i := strings.Index(out, "interrupted run "); i >= 0 {
		fmt.Sscanf(out[i+len("interrupted run "):], "%d", &killed)
	}
	// Until resumed, the killed deploy's release reads interrupted, not running.
	if list := mustRun(t, e.db, "releases", "--app", "app", "--env", "test"); !strings.Contains(list, "interrupted") || strings.Contains(list, "running") {
		t.Errorf("releases after the kill:\n%s", list)
	}
	out = mustRun(t, e.db, "deploy", "--resume", fmt.Sprint(killed), "--yes")
	rel := releaseOf(t, out)
	if !strings.Contains(out, "release "+rel+": success") {
		t.Fatalf("resume:\n%s", out)
	}
	list := mustRun(t, e.db, "releases", "--app", "app", "--env", "test")
	if n := strings.Count(list, rel); n != 1 || strings.Contains(list, "running") {
		t.Errorf("release %s is listed %d times after the resume:\n%s", rel, n, list)
	}

	out = mustRun(t, e.db, "migrate", "--env", "test", "--plan")
	if !strings.Contains(out, "nothing pending on test (web1): all 1 migrations are applied") {
		t.Errorf("migrate --plan with nothing pending:\n%s", out)
	}

	out = mustRun(t, e.db, "rollback", "--env", "test", "--yes")
	var lock time.Duration
	for line := range strings.SplitSeq(out, "\n") {
		if i := strings.Index(line, "(lock "); i >= 0 && strings.HasPrefix(line, "release ") {
			lock, _ = time.ParseDuration(strings.TrimSuffix(strings.Fields(line[i+len("(lock "):])[0], ","))
			if strings.Contains(line, "artifact") || strings.Contains(line, "upload") || !strings.Contains(line, "switch+verify") {
				t.Errorf("the rollback's summary names phases it has not: %s", line)
			}
		}
	}
	if lock <= 0 {
		t.Errorf("the rollback's summary gives no lock time:\n%s", out)
	}
	if strings.Contains(out, "/9 ") {
		t.Errorf("the rollback numbers its steps among the deploy's:\n%s", out)
	}
}
