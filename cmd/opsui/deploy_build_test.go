package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/internal/tuitest"
)

// TestDeployBuildCLI: `opsui deploy` runs the app's build: before it
// touches a host and streams its lines; the dry run and the deploy say
// when the artifact is cached (and the build does not run again), and
// --no-build-cache builds anew.
func TestDeployBuildCLI(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the operator's cache directory
	counter := filepath.Join(t.TempDir(), "builds")
	e := newDeployEnv(t, 2, "", "build:", `  run: ['echo built >> "$COUNTER"', 'echo "made for $APP" > MADE']`, "  env: {COUNTER: "+counter+"}")
	builds := func() int {
		b, _ := os.ReadFile(counter)
		return strings.Count(string(b), "\n")
	}

	out := mustRun(t, e.db, "deploy", "app", "--env", "test", "--dry-run")
	if !strings.Contains(out, "build: will run 2 commands on this machine (timeout 10m0s): nothing cached for") || builds() != 0 {
		t.Errorf("dry run (%d builds):\n%s", builds(), out)
	}
	out = mustRun(t, e.db, "deploy", "app", "--env", "test", "--yes")
	if !strings.Contains(out, "opsui: build | $ echo \"made for $APP\" > MADE") || !strings.Contains(out, "opsui: build: built in") || builds() != 1 {
		t.Errorf("first deploy (%d builds):\n%s", builds(), out)
	}
	for _, h := range e.fleet.Hosts {
		if got := sshOutput(t, h.Address(), e.cfg, "cat "+e.deployTo(h.Name)+"/current/MADE"); strings.TrimSpace(got) != "made for app" {
			t.Errorf("%s: MADE = %q", h.Name, got)
		}
	}

	out = mustRun(t, e.db, "deploy", "app", "--env", "test", "--dry-run")
	if !strings.Contains(out, "build: cached (") {
		t.Errorf("dry run of a built commit:\n%s", out)
	}
	out = mustRun(t, e.db, "deploy", "app", "--env", "test", "--yes")
	if !strings.Contains(out, "opsui: build: cached (") || strings.Contains(out, "build | ") || builds() != 1 {
		t.Errorf("redeploy (%d builds):\n%s", builds(), out)
	}
	out = mustRun(t, e.db, "deploy", "app", "--env", "test", "--yes", "--no-build-cache")
	if !strings.Contains(out, "--no-build-cache): building again") || builds() != 2 {
		t.Errorf("--no-build-cache (%d builds):\n%s", builds(), out)
	}
}

// TestDeployCtrlCKillsTheBuild runs the real binary into a build that
// hangs (a child in the background, a command in the foreground) and
// presses ctrl+c: opsui kills the build's process group, the child too,
// exits non-zero saying the build was cancelled, and no host was touched.
func TestDeployCtrlCKillsTheBuild(t *testing.T) {
	pids := filepath.Join(t.TempDir(), "pids")
	e := newDeployEnv(t, 1, "", "build:", `  run: 'sleep 600 & echo $! >> "$PIDS"; echo waiting for the index; sleep 600'`, "  env: {PIDS: "+pids+"}")
	cmd := exec.Command(tuitest.Build(t), "--db", e.db, "deploy", "app", "--env", "test", "--yes")
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir(), "NO_COLOR=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var lines []string
	waiting := make(chan struct{})
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			mu.Lock()
			lines = append(lines, sc.Text())
			mu.Unlock()
			if strings.Contains(sc.Text(), "build | waiting for the index") {
				close(waiting)
			}
		}
	}()
	select {
	case <-waiting:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("the build never started:\n%s", strings.Join(lines, "\n"))
	}
	cmd.Process.Signal(syscall.SIGINT)
	<-read
	code := waitExit(t, cmd, 90*time.Second)
	text := strings.Join(lines, "\n")
	if code == 0 || !strings.Contains(text, "was cancelled") || !strings.Contains(text, "no host was touched") {
		t.Errorf("exit %d:\n%s", code, text)
	}
	b, err := os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 30*time.Second, "the end of the build's child", func() bool { return syscall.Kill(pid, 0) != nil })
	h := e.fleet.Hosts[0]
	if got := sshOutput(t, h.Address(), e.cfg, "ls "+e.deployTo(h.Name)+" 2>&1"); !strings.Contains(got, "No such file") {
		t.Errorf("the host was touched: %s", got)
	}
}
