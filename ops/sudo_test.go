package ops

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// sudoFleet deploys a plain app whose web role reloads with sudo: true.
const sudoFleet = `environments:
  - name: test
roles:
  web:
    sudo: true
    reload: RELOAD
apps:
  - name: shop
    repo: REPO
    deploy_to: %[2]s
    keep_releases: 3
hosts:
HOSTS
`

// TestSudoReloadNamesTheMissingRight: a role that reloads with sudo: true,
// on hosts reached as an ordinary user. Without a sudoers entry the deploy
// fails at the reload on every host at once (sudo -n: no password prompt
// to hang on), each host's error giving the exact sudoers line, which is
// the line opsui setup --print-sudoers prints. With that line installed
// (in /etc/sudoers.d, as a real host would have it), the same deploy runs
// the reload as root.
func TestSudoReloadNamesTheMissingRight(t *testing.T) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	mark := "/tmp/opsui-sudo-" + hex.EncodeToString(b[:])
	t.Cleanup(func() { os.Remove(mark) })
	reload := "/usr/bin/touch " + mark
	e := newUserEnv(t, 2, strings.NewReplacer("RELOAD", reload, "REPO", gitRepoWith(t)).Replace(sudoFleet), nil)

	f, err := e.svc.Store.LoadFleet(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	rules, _, err := f.SudoRules("shop", "test")
	if err != nil || len(rules) != 1 || len(rules[0].Hosts) != 2 {
		t.Fatalf("sudo rules: %+v %v", rules, err)
	}
	line := rules[0].Line()
	if want := e.Fleet.User + " ALL=(root) NOPASSWD: " + reload; line != want {
		t.Fatalf("sudoers line %q, want %q", line, want)
	}

	out := e.deploy(t, "main", deploy.Strategy{Kind: deploy.StrategyAll})
	if out.Result == store.ReleaseSuccess || len(out.Failed()) != 2 {
		t.Fatalf("deploy without the sudo right: %s%s", out.Result, failures(out))
	}
	for _, h := range out.Failed() {
		tail := strings.Join(h.Tail, "\n")
		if h.Step != "reload" || !strings.Contains(tail, "allow it with this sudoers line") || !strings.Contains(tail, ": "+line) {
			t.Errorf("%s failed at %s without naming the sudoers line %q:\n%v\n%s", h.Host, h.Step, line, h.Err, tail)
		}
		// sudo -n answered: the step exited, it was not stopped waiting
		// for a password.
		if h.Class != remote.ClassExit {
			t.Errorf("%s failed as %s, want an exit of the reload (sudo -n does not wait)", h.Host, h.Class)
		}
	}
	if _, err := os.Stat(mark); err == nil {
		t.Fatalf("%s exists: the reload ran without the sudo right", mark)
	}

	t.Logf("%s: %s", out.Failed()[0].Host, out.Failed()[0].Tail[len(out.Failed()[0].Tail)-1])
	sshtest.Sudoers(t, line)
	out = e.deploy(t, "main", deploy.Strategy{Kind: deploy.StrategyAll})
	if out.Result != store.ReleaseSuccess {
		t.Fatalf("deploy with the sudoers line: %s%s", out.Result, failures(out))
	}
	fi, err := os.Stat(mark)
	if err != nil {
		t.Fatalf("the reload with sudo did not run: %v", err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 {
		t.Errorf("%s belongs to uid %d: the reload did not run as root", mark, st.Uid)
	}
}

// gitRepoWith returns a new git repository with one commit on main.
func gitRepoWith(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"config", "user.email", "dev@example.com"}, {"config", "user.name", "Dev"}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if err := os.WriteFile(dir+"/index.html", []byte("v1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "-m", "initial"}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}
