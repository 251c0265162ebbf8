package demofleet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/opsui/opsui/internal/procfs"
	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/ops/remote"
)

// The test binary is also each host's process: Start runs it with these.
const (
	testHostVar = "OPSUI_DEMOFLEET_TEST_HOST"
	testDirVar  = "OPSUI_DEMOFLEET_TEST_DIR"
)

func TestMain(m *testing.M) {
	if name := os.Getenv(testHostVar); name != "" {
		if err := ServeHostProcess(context.Background(), os.Getenv(testDirVar), name); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func testHostCommand(dir, name string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), testHostVar+"="+name, testDirVar+"="+dir)
	return cmd
}

// startTestFleet starts the whole demo fleet (its hosts are processes of
// the test binary) and returns it with opsui's targets for its hosts.
func startTestFleet(t *testing.T) (*Fleet, map[string]remote.Target) {
	t.Helper()
	for _, p := range []string{"git", "nginx", "memcached"} {
		if _, err := exec.LookPath(p); err != nil && !(p == "nginx" && fileExists("/usr/sbin/nginx")) {
			testenv.Missing(t, p, "scripts/install-deps.sh")
		}
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f, err := Start(ctx, dir, nil, Options{HostCommand: testHostCommand})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Stop(context.Background()) })
	targets := map[string]remote.Target{}
	for _, h := range f.Hosts {
		targets[h.Name] = remote.Target{Name: h.Name, Addr: h.SSHAddr(), User: "demo",
			IdentityFiles: []string{filepath.Join(dir, KeyFile)}}
	}
	return f, targets
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// runOn runs `echo up` on one host with a fresh connection (a pool of its
// own) and returns the result and how long it took.
func runOn(t *testing.T, f *Fleet, target remote.Target) (remote.HostResult, time.Duration) {
	t.Helper()
	pool := remote.NewPool(remote.Options{KnownHostsPath: filepath.Join(f.Dir, KnownHosts), DialTimeout: 5 * time.Second})
	defer pool.Close()
	start := time.Now()
	res, err := remote.Run(context.Background(), pool, []remote.Target{target}, "echo up", remote.RunOptions{Timeout: 30 * time.Second}, nil)
	if err != nil {
		t.Fatalf("run on %s: %v", target.Name, err)
	}
	return res.Hosts[0], time.Since(start)
}

func inject(t *testing.T, f *Fleet, host string, fault Fault, latency time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	msg, err := InjectFault(ctx, f.Dir, host, fault, latency)
	if err != nil {
		t.Fatalf("fault %s %s: %v", host, fault, err)
	}
	t.Logf("%s %s: %s", host, fault, msg)
	return msg
}

// TestFaultsOnePerHostProcess: every host is its own process, and each
// fault, injected through the control socket as `opsui demo fault` does,
// affects its host only: down refuses connections, hang accepts them and
// stays silent, slow delays every round trip, ok brings the host back
// (a new process after down); Stop kills a hung host too.
func TestFaultsOnePerHostProcess(t *testing.T) {
	f, targets := startTestFleet(t)
	pids := map[int]string{}
	for _, h := range f.Hosts {
		pid := f.Pid(h.Name)
		if pid == 0 || pid == os.Getpid() || pids[pid] != "" {
			t.Fatalf("host %s has pid %d (pids so far %v): not a process of its own", h.Name, pid, pids)
		}
		pids[pid] = h.Name
	}
	if res, _ := runOn(t, f, targets["web2"]); res.Status != remote.StatusOK {
		t.Fatalf("web2 before any fault: %s %v", res.Status, res.Err)
	}

	// down: refused, the others still answer.
	oldPid := f.Pid("web2")
	if msg := inject(t, f, "web2", FaultDown, 0); !strings.Contains(msg, "refused") {
		t.Errorf("down says %q", msg)
	}
	if res, _ := runOn(t, f, targets["web2"]); res.Status == remote.StatusOK || res.Class != remote.ClassUnreachable {
		t.Errorf("web2 down: %s %s (%v), want unreachable", res.Status, res.Class, res.Err)
	}
	if alive(oldPid) || f.Pid("web2") != 0 {
		t.Errorf("web2's process %d still runs after down", oldPid)
	}
	for _, other := range []string{"web1", "lb1", "stg-web2"} {
		if res, _ := runOn(t, f, targets[other]); res.Status != remote.StatusOK {
			t.Errorf("%s while web2 is down: %s %v", other, res.Status, res.Err)
		}
	}
	inject(t, f, "web2", FaultOK, 0)
	if res, _ := runOn(t, f, targets["web2"]); res.Status != remote.StatusOK {
		t.Errorf("web2 after ok: %s %v", res.Status, res.Err)
	}
	if pid := f.Pid("web2"); pid == 0 || pid == oldPid {
		t.Errorf("web2 after ok runs as pid %d (was %d): want a new process", pid, oldPid)
	}

	// hang: the TCP connection is accepted, the SSH handshake gets no
	// answer; the process is stopped, not gone.
	inject(t, f, "web2", FaultHang, 0)
	if state, _, _ := procfs.Stat(f.Pid("web2")); state != "T" {
		t.Errorf("web2's process is in state %q after hang, want T (stopped)", state)
	}
	client, err := loadOrCreateKey(filepath.Join(f.Dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	// ssh.ClientConfig.Timeout bounds the TCP connect only: the
	// handshake is bounded by the connection's deadline.
	conn, err := net.DialTimeout("tcp", targets["web2"].Addr, 5*time.Second)
	if err != nil {
		t.Fatalf("hung web2 refused the connection (%v): want accepted, then silence", err)
	}
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if c, _, _, err := ssh.NewClientConn(conn, targets["web2"].Addr, &ssh.ClientConfig{User: "demo",
		Auth: []ssh.AuthMethod{ssh.PublicKeys(client)}, HostKeyCallback: ssh.InsecureIgnoreHostKey()}); err == nil {
		c.Close()
		t.Errorf("an SSH handshake with the hung web2 succeeded")
	} else if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("handshake with the hung web2: %v, want no answer (deadline exceeded)", err)
	}
	conn.Close()
	if res, _ := runOn(t, f, targets["web1"]); res.Status != remote.StatusOK {
		t.Errorf("web1 while web2 hangs: %s %v", res.Status, res.Err)
	}
	inject(t, f, "web2", FaultOK, 0)
	if res, _ := runOn(t, f, targets["web2"]); res.Status != remote.StatusOK {
		t.Errorf("web2 after hang, ok: %s %v", res.Status, res.Err)
	}

	// slow: a command takes at least the latency (several round trips, in
	// fact); a lower bound, so a slow machine cannot fail it.
	const latency = 300 * time.Millisecond
	inject(t, f, "web2", FaultSlow, latency)
	if res, took := runOn(t, f, targets["web2"]); res.Status != remote.StatusOK || took < 3*latency {
		t.Errorf("web2 slow: %s in %v (%v), want ok in at least %v", res.Status, took, res.Err, 3*latency)
	}
	inject(t, f, "web2", FaultOK, 0)

	// A host whose process died on its own (a crash) is started again by ok.
	crashed := f.Pid("web1")
	syscall.Kill(crashed, syscall.SIGKILL)
	waitGone(t, crashed)
	inject(t, f, "web1", FaultOK, 0)
	if res, _ := runOn(t, f, targets["web1"]); res.Status != remote.StatusOK || f.Pid("web1") == crashed {
		t.Errorf("web1 after a crash and ok: %s %v, pid %d (was %d)", res.Status, res.Err, f.Pid("web1"), crashed)
	}

	// Bad requests are refused with what is wrong.
	ctx := context.Background()
	if _, err := InjectFault(ctx, f.Dir, "web9", FaultDown, 0); err == nil || !strings.Contains(err.Error(), `no demo host "web9"`) {
		t.Errorf("unknown host: %v", err)
	}
	if _, err := ParseFault("broken"); err == nil || !strings.Contains(err.Error(), "down, hang, slow, ok") {
		t.Errorf("unknown fault: %v", err)
	}
	if _, err := InjectFault(ctx, t.TempDir(), "web2", FaultDown, 0); err == nil || !strings.Contains(err.Error(), "no demo fleet runs") {
		t.Errorf("no fleet: %v", err)
	}

	// Stop kills every host's process, a hung one included.
	inject(t, f, "stg-web2", FaultHang, 0)
	var all []int
	for pid := range pids {
		if pid == crashed {
			continue
		}
		all = append(all, pid)
	}
	all = append(all, f.Pid("web2"), f.Pid("stg-web2"))
	if err := f.Stop(ctx); err != nil {
		t.Errorf("stop: %v", err)
	}
	for _, pid := range all {
		waitGone(t, pid)
	}
	if left := Marked(f.Dir); len(left) > 0 {
		t.Errorf("processes of the demo left after Stop: %v", left)
	}
}
