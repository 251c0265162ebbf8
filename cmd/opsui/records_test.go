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
	"testing"
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
