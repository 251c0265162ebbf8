package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/tuitest"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
)

// TestPausedDeployLosesTheLock is the two-operator case: the first
// operator's opsui is paused (SIGSTOP, as a laptop that sleeps) in a slow
// stage for longer than its lease; a second operator breaks the now stale
// lock with `opsui unlock` (no --force) and deploys. When the first opsui
// resumes it must stop without touching any host: current, the releases,
// their BAD marks and revisions.log are as the second deploy left them.
func TestPausedDeployLosesTheLock(t *testing.T) {
	e := newDeployEnv(t, 2, slowStage(5))
	bin := tuitest.Build(t)
	mustRun(t, e.db, "deploy", "--env", "test", "--yes")
	slow := filepath.Join(e.fleet.Dir, "slow")
	if err := os.WriteFile(slow, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e.commit(t, "second", "index.html", "v2")

	// The first operator: a lease of 2 s, so the pause outlives it quickly.
	first := exec.Command(bin, "--db", e.db, "deploy", "--env", "test", "--yes")
	first.Env = append(os.Environ(), deploy.LeaseEnv+"=2s")
	var firstOut bytes.Buffer
	first.Stdout, first.Stderr = &firstOut, &firstOut
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if first.ProcessState == nil {
			if stopped {
				first.Process.Signal(syscall.SIGCONT)
			}
			first.Process.Kill()
			first.Wait()
		}
	}()
	e.waitSlowStage(t, first)
	if err := first.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped = true
	t.Log("first deploy paused in its slow stage")

	// The second operator: the lock goes stale after 2 s; unlock without
	// --force breaks only a stale lock. Each host's lock goes stale on its
	// own: the last renewals before the pause may fall in different
	// seconds of the hosts' clocks, and then one unlock breaks web1 and
	// the next web2. The lease runs on the hosts' wall clocks, so every
	// lock is stale 3 s after the pause; the deadline only stops a test
	// whose unlock never frees them (each unlock takes seconds at load 20).
	freed := map[string]bool{}
	deadline := time.Now().Add(2 * time.Minute)
	for len(freed) < len(e.fleet.Hosts) {
		if time.Now().After(deadline) {
			t.Fatalf("the paused deploy's lock never went stale on every host: unlocked %v", freed)
		}
		out := mustRun(t, e.db, "unlock", "--env", "test", "--yes")
		t.Logf("unlock:\n%s", out)
		for line := range strings.Lines(out) {
			if hosts, ok := strings.CutPrefix(strings.TrimSpace(line), "unlocked "); ok {
				for _, h := range strings.Split(hosts, ", ") {
					freed[h] = true
				}
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	os.Remove(slow)
	e.commit(t, "third", "index.html", "v3")
	second := mustRun(t, e.db, "deploy", "--env", "test", "--yes")
	secondRel := releaseOf(t, second)
	snapshot := func() []string {
		var s []string
		for _, h := range e.fleet.Hosts {
			s = append(s, sshOutput(t, h.Address(), e.cfg, fmt.Sprintf(
				"cd %s && readlink current && ls -A . && find releases -maxdepth 2 | sort && cat revisions.log", remote.Quote(e.deployTo(h.Name)))))
		}
		return s
	}
	before := snapshot()
	for i := range e.fleet.Hosts {
		if rel, _ := e.current(t, i); rel != secondRel {
			t.Fatalf("host %d runs %s after the second deploy, want %s:\n%s", i, rel, secondRel, second)
		}
	}

	// The first operator's laptop wakes up.
	if err := first.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	stopped = false
	done := make(chan error, 1)
	go func() { done <- first.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the resumed deploy did not stop")
	}
	t.Logf("first deploy after SIGCONT: %v\n%s", err, firstOut.String())
	if err == nil {
		t.Errorf("the resumed deploy exited 0")
	}
	for _, h := range e.fleet.Hosts {
		if !strings.Contains(firstOut.String(), "lost the deploy lock on "+h.Name) {
			t.Errorf("the resumed deploy does not say it lost the lock on %s", h.Name)
		}
	}
	after := snapshot()
	for i := range before {
		if before[i] != after[i] {
			t.Errorf("host %d was touched by the resumed deploy:\nbefore:\n%s\nafter:\n%s", i, before[i], after[i])
		}
	}
}

// TestUnlockJudgesLocksByTheirLastSignOfLife: a live lock whose heartbeat
// reads empty is not broken without --force; a lock with no owner file
// (its holder died right after mkdir) is stale once its directory is old,
// and unlock breaks it.
func TestUnlockJudgesLocksByTheirLastSignOfLife(t *testing.T) {
	e := newDeployEnv(t, 2, "")
	lock := func(i int) string { return remote.Quote(e.deployTo(e.fleet.Hosts[i].Name) + "/.opsui-lock") }
	for i, h := range e.fleet.Hosts {
		sshOutput(t, h.Address(), e.cfg, fmt.Sprintf("mkdir -p %s", lock(i)))
	}
	h1, h2 := e.fleet.Hosts[0], e.fleet.Hosts[1]
	sshOutput(t, h1.Address(), e.cfg, fmt.Sprintf("printf 'operator=ann\\ntoken=t1\\n' > %[1]s/owner; : > %[1]s/heartbeat", lock(0)))
	sshOutput(t, h2.Address(), e.cfg, fmt.Sprintf("touch -d '-10 minutes' %s", lock(1)))
	out := mustRun(t, e.db, "unlock", "--env", "test", "--yes")
	t.Logf("unlock:\n%s", out)
	if !strings.Contains(out, "web1: locked by ann") || !strings.Contains(out, "(live)") {
		t.Errorf("web1's lock with an empty heartbeat is not shown live")
	}
	if !strings.Contains(out, "unlocked web2") || strings.Contains(out, "unlocked web1") {
		t.Errorf("want only web2's owner-less stale lock broken")
	}
	if got := sshOutput(t, h1.Address(), e.cfg, "cat "+lock(0)+"/owner"); !strings.Contains(got, "token=t1") {
		t.Errorf("web1's live lock was broken: %q", got)
	}
	if got := sshOutput(t, h2.Address(), e.cfg, "ls -d "+lock(1)+" 2>&1"); !strings.Contains(got, "No such file") {
		t.Errorf("web2's owner-less lock is still there: %q", got)
	}
}
