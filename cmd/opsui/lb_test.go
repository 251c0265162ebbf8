package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/tuitest"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// lbEnv is a deployEnv of two web hosts (web1, web2) behind a balancer
// host (web3, role lb) whose nginx upstream file is in the fleet's
// directory. The web reload sleeps while the file "slow" exists, after
// touching "in-reload": a deploy can be caught mid-batch, its host drained.
type lbEnv struct {
	*deployEnv
	upstream string
}

func newLBEnv(t *testing.T) *lbEnv {
	t.Helper()
	fleet, _ := execFleet(t, 3, true)
	e := &deployEnv{fleet: fleet, cfg: fleet.ClientConfig(t), repo: t.TempDir()}
	e.git(t, "init", "-q", "-b", "main")
	e.git(t, "config", "user.email", "dev@example.com")
	e.git(t, "config", "user.name", "Dev")
	e.commit(t, "initial", "index.html", "v1")
	le := &lbEnv{deployEnv: e, upstream: filepath.Join(fleet.Dir, "upstream.conf")}
	dir := fleet.Dir
	var doc strings.Builder
	fmt.Fprintf(&doc, `environments:
  - name: test
roles:
  web:
    reload: "[ ! -e %[1]s/slow ] || { touch %[1]s/in-reload; sleep 20; }; echo reloaded $RELEASE_ID"
apps:
  - name: app
    repo: %[2]s
    deploy_to: /srv/app
    keep_releases: 3
hosts:
`, dir, e.repo)
	for i, h := range fleet.Hosts {
		fmt.Fprintf(&doc, "  - name: %s\n    address: %s\n    port: %d\n    user: %s\n    env: test\n    identity_file: %s\n",
			h.Name, h.Addr, h.Port, fleet.User, fleet.ClientKeyPath)
		if i < 2 {
			fmt.Fprintf(&doc, "    roles: [web]\n    deploy_to: %s\n    settings:\n      web:\n        options:\n          backend: %s:8080\n", e.deployTo(h.Name), h.Addr)
		} else {
			fmt.Fprintf(&doc, "    roles: [lb]\n    settings:\n      lb:\n        options:\n          preset: nginx\n          upstream_file: %s\n          upstream: app\n          reload: 'true'\n          drain_wait: '0'\n", le.upstream)
		}
	}
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(file, []byte(doc.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	e.db = filepath.Join(t.TempDir(), "deploy.db")
	mustRun(t, e.db, "inventory", "import", file)
	return le
}

// down returns the upstream file's down servers, as "address[ mark]".
func (le *lbEnv) down(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(le.upstream)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for addr, mark := range remote.ParseUpstream(string(data)) {
		out = append(out, strings.TrimSpace(addr+" "+mark))
	}
	return out
}

// startSlowDeploy starts the real binary deploying a new commit, one host
// per batch, and returns once web1 is drained and in its reload.
func (le *lbEnv) startSlowDeploy(t *testing.T, bin string, stdout, stderr *os.File) *exec.Cmd {
	t.Helper()
	dir := le.fleet.Dir
	os.Remove(filepath.Join(dir, "in-reload"))
	if err := os.WriteFile(filepath.Join(dir, "slow"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	le.commit(t, "next", "index.html", fmt.Sprint(time.Now().UnixNano()))
	cmd := exec.Command(bin, "--db", le.db, "deploy", "--env", "test", "--yes", "--strategy", "rolling", "--batch", "1")
	cmd.Env = os.Environ()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "in-reload")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("the deploy never reached web1's reload")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d := le.down(t); len(d) != 1 || !strings.Contains(d[0], remote.DrainMark) {
		t.Errorf("mid-batch, the upstream file has %q down, want web1 with opsui's mark", d)
	}
	os.Remove(filepath.Join(dir, "slow")) // the rollback's reload is quick
	return cmd
}

// wait waits for cmd and returns its exit code, failing if a signal killed it.
func waitExit(t *testing.T, cmd *exec.Cmd, d time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(d):
		cmd.Process.Kill()
		<-done
		t.Fatalf("opsui did not end within %v", d)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		t.Fatalf("opsui was killed by %v: no cleanup ran", ws.Signal())
	}
	return ws.ExitStatus()
}

// checkConsistent checks what a stopped deploy must leave: every web host
// on one release, no deploy lock, no backend drained and the release row
// final.
func (le *lbEnv) checkConsistent(t *testing.T) {
	t.Helper()
	r1, _ := le.current(t, 0)
	r2, _ := le.current(t, 1)
	if r1 != r2 || r1 == "" {
		t.Errorf("a mixed fleet: web1 on %q, web2 on %q", r1, r2)
	}
	for i := range 2 {
		h := le.fleet.Hosts[i]
		if out := sshOutput(t, h.Address(), le.cfg, "ls -d "+remote.Quote(le.deployTo(h.Name)+"/.opsui-lock")+" 2>/dev/null || true"); strings.TrimSpace(out) != "" {
			t.Errorf("%s: the deploy lock was left: %s", h.Name, out)
		}
	}
	if d := le.down(t); len(d) > 0 {
		t.Errorf("the balancer still has %q down", d)
	}
	s, err := store.Open(context.Background(), le.db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rs, err := s.ListReleases(context.Background(), "app", "test", 1)
	if err != nil || len(rs) == 0 {
		t.Fatalf("releases: %v", err)
	}
	if rs[0].Result == store.ReleaseRunning || rs[0].Result == "" {
		t.Errorf("release %s is recorded %q", rs[0].ReleaseID, rs[0].Result)
	}
	if open, _ := s.OpenDrained(context.Background(), "app", "test"); len(open) > 0 {
		t.Errorf("the store records %+v as still drained", open)
	}
}

// TestDeployStoppedByClosedPipeOrHangup runs the real binary twice into a
// rolling deploy and stops it while web1 is drained and switched: once as
// `opsui deploy | tee log` with ctrl+c (the reader of stdout is gone,
// then SIGINT), once with SIGHUP (a dropped SSH session). Each time opsui
// is not killed by the signal: it switches web1 back, puts it back in the
// balancer, releases the locks and records a final result.
func TestDeployStoppedByClosedPipeOrHangup(t *testing.T) {
	le := newLBEnv(t)
	bin := tuitest.Build(t)
	mustRun(t, le.db, "deploy", "--env", "test", "--yes")
	logs := t.TempDir()

	t.Run("closed pipe then SIGINT", func(t *testing.T) {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		stderr, _ := os.Create(filepath.Join(logs, "pipe.stderr"))
		defer stderr.Close()
		readerDone := make(chan struct{})
		go func() { io.Copy(io.Discard, pr); close(readerDone) }()
		cmd := le.startSlowDeploy(t, bin, pw, stderr)
		pw.Close()
		pr.Close() // tee died: every further write to stdout fails
		cmd.Process.Signal(syscall.SIGINT)
		code := waitExit(t, cmd, 90*time.Second)
		<-readerDone
		out, _ := os.ReadFile(stderr.Name())
		t.Logf("exit %d; stderr:\n%s", code, out)
		if code == 0 {
			t.Errorf("a cancelled deploy exited 0")
		}
		le.checkConsistent(t)
	})

	t.Run("SIGHUP", func(t *testing.T) {
		stdout, _ := os.Create(filepath.Join(logs, "hup.stdout"))
		defer stdout.Close()
		cmd := le.startSlowDeploy(t, bin, stdout, stdout)
		cmd.Process.Signal(syscall.SIGHUP)
		code := waitExit(t, cmd, 90*time.Second)
		out, _ := os.ReadFile(stdout.Name())
		t.Logf("exit %d:\n%s", code, out)
		if !strings.Contains(string(out), "switching 1 host back") {
			t.Errorf("SIGHUP did not stop the deploy as ctrl+c does:\n%s", out)
		}
		le.checkConsistent(t)
	})
}

// TestLBRestoreAndUnlockPutBackWhatOpsuiDrained: opsui lb restore refuses
// while a live deploy holds the lock (its drained batch is on purpose).
// Killed mid-batch (web1 drained by opsui), the deploy's process is gone
// from this machine: lb restore puts web1 back without --force, and unlock
// breaks the dead holder's lock. Then, with web1 marked by opsui and web2
// down by an operator's hand, lb restore puts back only web1, and
// --include-manual web2 too.
func TestLBRestoreAndUnlockPutBackWhatOpsuiDrained(t *testing.T) {
	le := newLBEnv(t)
	bin := tuitest.Build(t)
	mustRun(t, le.db, "deploy", "--env", "test", "--yes")
	cmd := le.startSlowDeploy(t, bin, nil, nil)
	out, err := opsuiCmd(t, le.db, "", "lb", "restore", "--env", "test", "--yes")
	if err == nil || !strings.Contains(err.Error(), "a deploy holds the lock") {
		t.Errorf("lb restore under a live deploy's lock: %v\n%s", err, out)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if d := le.down(t); len(d) != 1 {
		t.Fatalf("after the kill, down: %q", d)
	}

	out = mustRun(t, le.db, "lb", "restore", "--env", "test", "--yes")
	if !strings.Contains(out, "drained by opsui") || !strings.Contains(out, "put back web3: web1") {
		t.Errorf("lb restore did not put web1 back after its deploy died:\n%s", out)
	}
	if d := le.down(t); len(d) > 0 {
		t.Errorf("after lb restore, down: %q", d)
	}
	out = mustRun(t, le.db, "unlock", "--env", "test", "--yes")
	if !strings.Contains(out, "held by a dead process") || !strings.Contains(out, "unlocked") {
		t.Errorf("unlock did not break the dead deploy's lock:\n%s", out)
	}

	w1, w2 := le.fleet.Hosts[0], le.fleet.Hosts[1]
	doc := "upstream app {\n    server " + w1.Addr + ":8080 max_fails=0 down; " + remote.DrainMark + " run=7 by=ci\n" +
		"    server " + w2.Addr + ":8080 max_fails=0 down;\n}\n"
	if err := os.WriteFile(le.upstream, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	out = mustRun(t, le.db, "lb", "restore", "--env", "test", "--yes")
	if !strings.Contains(out, "web3: web1 drained by opsui (# opsui-drained run=7 by=ci)") ||
		!strings.Contains(out, "web3: web2 marked down by hand: kept") || !strings.Contains(out, "put back web3: web1\n") {
		t.Errorf("lb restore:\n%s", out)
	}
	if d := le.down(t); len(d) != 1 || d[0] != w2.Addr+":8080" {
		t.Errorf("after lb restore, down: %q (the operator's web2 only)", d)
	}
	out = mustRun(t, le.db, "lb", "restore", "--env", "test", "--host", w2.Name, "--include-manual", "--yes")
	if !strings.Contains(out, "put back web3: web2") {
		t.Errorf("lb restore --include-manual:\n%s", out)
	}
	if d := le.down(t); len(d) > 0 {
		t.Errorf("after lb restore --include-manual, down: %q", d)
	}
	if out := mustRun(t, le.db, "lb", "restore", "--env", "test"); !strings.Contains(out, "no backend to put back") {
		t.Errorf("lb restore with nothing drained:\n%s", out)
	}
}

// TestConsoleShowsDrainedBackend opens the console on a fleet whose
// balancer's upstream file has web1 drained by opsui: the status panel
// probes the balancer over SSH and shows web1 drained, not up, and the
// header counts it; once lb restore puts it back, the next round says up.
func TestConsoleShowsDrainedBackend(t *testing.T) {
	le := newLBEnv(t)
	bin := tuitest.Build(t)
	w1, w2 := le.fleet.Hosts[0], le.fleet.Hosts[1]
	doc := "upstream app {\n    server " + w1.Addr + ":8080 max_fails=0 down; " + remote.DrainMark + " run=7 by=ci\n" +
		"    server " + w2.Addr + ":8080 max_fails=0;\n}\n"
	if err := os.WriteFile(le.upstream, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	term := tuitest.Start(t, 120, 30, []string{"NO_COLOR=1", "HOME=" + os.Getenv("HOME"), "XDG_DATA_HOME=" + os.Getenv("XDG_DATA_HOME")},
		bin, "--db", le.db, "--refresh", "1s")
	screen := term.WaitText("1 drained", 30*time.Second)
	if row := screenRow(screen, w1.Name); !strings.Contains(row, "drained") {
		t.Errorf("web1's row does not say drained: %q", row)
	}
	if row := screenRow(screen, w2.Name); !strings.Contains(row, " up ") {
		t.Errorf("web2's row: %q", row)
	}
	mustRun(t, le.db, "lb", "restore", "--env", "test", "--yes")
	term.WaitFor("web1 back up", 10*time.Second, func(s string) bool {
		return !strings.Contains(s, "drained") && strings.Contains(screenRow(s, w1.Name), " up ")
	})
	term.Keys("q")
	if code := term.WaitExit(5 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}
