package demofleet

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/opsui/opsui/ops/remote"
)

// testHost is one demo SSH server and how opsui's engine reaches it.
type testHost struct {
	srv    *Server
	procs  *Procs
	dir    string
	target remote.Target
	pool   *remote.Pool
	client ssh.Signer
}

func newTestHost(t *testing.T) *testHost {
	t.Helper()
	dir := t.TempDir()
	hostDir := filepath.Join(dir, "host")
	if err := os.MkdirAll(hostDir, 0o755); err != nil {
		t.Fatal(err)
	}
	client, err := loadOrCreateKey(filepath.Join(dir, "id"))
	if err != nil {
		t.Fatal(err)
	}
	hostKey, err := loadOrCreateKey(filepath.Join(dir, "hostkey"))
	if err != nil {
		t.Fatal(err)
	}
	procs, err := NewProcs(dir, filepath.Join(dir, "*.pid"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(HostConfig{Name: "h1", Addr: "127.0.0.1:0", Dir: hostDir, Env: []string{"DEMO_HOST_VAR=on-h1"},
		HostKey: hostKey, Authorized: client.PublicKey(), KillGrace: time.Second}, procs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(context.Background()); err != nil {
		t.Fatal(err)
	}
	kh := filepath.Join(dir, "known_hosts")
	h := Host{Name: "h1", IP: "127.0.0.1", SSHPort: srv.ln.Addr().(*net.TCPAddr).Port}
	if err := writeKnownHosts(kh, []Host{h}, map[string]ssh.Signer{"h1": hostKey}); err != nil {
		t.Fatal(err)
	}
	pool := remote.NewPool(remote.Options{KnownHostsPath: kh, KeepAlive: 300 * time.Millisecond, KeepAliveTimeout: 20 * time.Second})
	th := &testHost{srv: srv, procs: procs, dir: hostDir, pool: pool, client: client,
		target: remote.Target{Name: "h1", Addr: h.SSHAddr(), User: "demo", IdentityFiles: []string{filepath.Join(dir, "id")}}}
	t.Cleanup(func() {
		pool.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Close(ctx)
		procs.Stop(2 * time.Second)
	})
	return th
}

// run runs cmd on the host through opsui's engine and returns its output.
func (th *testHost) run(ctx context.Context, t *testing.T, cmd string, opts remote.RunOptions) (remote.HostResult, string) {
	t.Helper()
	var mu sync.Mutex
	var out strings.Builder
	res, err := remote.Run(ctx, th.pool, []remote.Target{th.target}, cmd, opts, func(ev remote.Event) {
		if ev.Kind == remote.EventStdout || ev.Kind == remote.EventStderr {
			mu.Lock()
			out.WriteString(ev.Line + "\n")
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("run %q: %v", cmd, err)
	}
	mu.Lock()
	defer mu.Unlock()
	return res.Hosts[0], out.String()
}

func TestServerRunsCommandsWithOpsuiEngine(t *testing.T) {
	th := newTestHost(t)
	ctx := context.Background()
	res, out := th.run(ctx, t, `echo "dir=$(pwd) home=$HOME var=$DEMO_HOST_VAR env=$FROM_CLIENT"; echo oops >&2; exit 3`,
		remote.RunOptions{Env: map[string]string{"FROM_CLIENT": "it's here"}})
	if res.Status != remote.StatusFailed || res.Code != 3 || res.Class != remote.ClassExit {
		t.Errorf("exit 3: got %s code %d class %s (%v)", res.Status, res.Code, res.Class, res.Err)
	}
	want := fmt.Sprintf("dir=%s home=%s var=on-h1 env=it's here", th.dir, th.dir)
	if !strings.Contains(out, want) || !strings.Contains(out, "oops") {
		t.Errorf("output %q lacks %q and stderr", out, want)
	}
	in := "line one\nline two\n"
	res, out = th.run(ctx, t, "wc -l", remote.RunOptions{Stdin: func(remote.Target) (remote.Input, error) {
		return remote.Input{R: strings.NewReader(in), Size: int64(len(in))}, nil
	}})
	if res.Status != remote.StatusOK || strings.TrimSpace(out) != "2" {
		t.Errorf("stdin: %s %q (%v)", res.Status, out, res.Err)
	}
	// Keepalives are answered: the connection is still usable after
	// several keepalive rounds.
	time.Sleep(1500 * time.Millisecond)
	if res, out := th.run(ctx, t, "echo again", remote.RunOptions{}); res.Status != remote.StatusOK || !strings.Contains(out, "again") {
		t.Errorf("after keepalives: %s %q (%v)", res.Status, out, res.Err)
	}
}

// TestCancelKillsRemoteProcess cancels a run of a long command: the
// remote process (a grandchild of the session's shell) must die, as the
// engine's watchdog and the server's channel-close kill see to it.
func TestCancelKillsRemoteProcess(t *testing.T) {
	th := newTestHost(t)
	pidFile := filepath.Join(th.dir, "sleeper")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan remote.HostResult, 1)
	go func() {
		res, _ := th.run(ctx, t, `sh -c 'echo $$ > sleeper; exec sleep 300'; echo unreachable`, remote.RunOptions{KillGrace: time.Second})
		done <- res
	}()
	pid := waitPid(t, pidFile)
	cancel()
	var res remote.HostResult
	select {
	case res = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the cancelled run did not end")
	}
	if res.Status != remote.StatusCancelled {
		t.Errorf("status %s, want cancelled (%v)", res.Status, res.Err)
	}
	waitGone(t, pid)
}

// TestDaemonSurvivesUntilStop: a process a command leaves running in the
// background on purpose survives the command's end (as under sshd), and
// Procs.Stop kills it.
func TestDaemonSurvivesUntilStop(t *testing.T) {
	th := newTestHost(t)
	res, _ := th.run(context.Background(), t, `setsid sh -c 'echo $$ > daemon; exec sleep 300' </dev/null >/dev/null 2>&1 &`, remote.RunOptions{})
	if res.Status != remote.StatusOK {
		t.Fatalf("start daemon: %s %v", res.Status, res.Err)
	}
	pid := waitPid(t, filepath.Join(th.dir, "daemon"))
	time.Sleep(500 * time.Millisecond)
	if !alive(pid) {
		t.Fatal("the daemon died with its session")
	}
	th.procs.Stop(2 * time.Second)
	waitGone(t, pid)
}

// TestConcurrentSessionsOnOneConnection opens several sessions on one
// connection at once.
func TestConcurrentSessionsOnOneConnection(t *testing.T) {
	th := newTestHost(t)
	c, err := ssh.Dial("tcp", th.target.Addr, &ssh.ClientConfig{User: "demo", Auth: []ssh.AuthMethod{ssh.PublicKeys(th.client)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	start := time.Now()
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := c.NewSession()
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			out, err := s.Output(fmt.Sprintf("sleep 1; echo %d", i))
			if err != nil || strings.TrimSpace(string(out)) != strconv.Itoa(i) {
				errs <- fmt.Errorf("session %d: %q %v", i, out, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("4 sessions of 1s each took %v", time.Since(start))
}

func waitPid(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				return pid
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no pid in %s", path)
	return 0
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
