package sshtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/opsui/opsui/internal/testenv"
)

// withoutIsolation runs the hosts as they run without root, to test that
// path as root.
func withoutIsolation() Option {
	return func(o *options) { o.noIsolation = true }
}

// dial connects to h as the fleet's user and closes the client at cleanup.
func dial(t *testing.T, f *Fleet, h *Host) *ssh.Client {
	t.Helper()
	c, err := ssh.Dial("tcp", h.Address(), f.ClientConfig(t))
	if err != nil {
		t.Fatalf("dial %s (%s): %v\n%s", h.Name, h.Address(), err, h.Log())
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// run runs cmd in a new session on c and returns its trimmed output.
func run(t *testing.T, c *ssh.Client, cmd string) string {
	t.Helper()
	out, err := output(c, cmd)
	if err != nil {
		t.Fatalf("%q: %v: %s", cmd, err, out)
	}
	return out
}

// output runs cmd in a new session on c.
func output(c *ssh.Client, cmd string) (string, error) {
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	return strings.TrimSpace(string(out)), err
}

// handshake connects to h and runs the SSH handshake within timeout.
func handshake(h *Host, config *ssh.ClientConfig, timeout time.Duration) error {
	conn, err := net.DialTimeout("tcp", h.Address(), timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, h.Address(), config)
	if err != nil {
		return err
	}
	return ssh.NewClient(c, chans, reqs).Close()
}

func loginHome(t *testing.T) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.HomeDir
}

func TestHostsHaveOwnNameAndHome(t *testing.T) {
	t.Parallel()
	f := Start(t, 3)
	seen := make(map[string]bool)
	for _, h := range f.Hosts {
		if seen[h.Addr] || h.Port == 0 {
			t.Fatalf("host %s: address %s reused or port unset", h.Name, h.Address())
		}
		seen[h.Addr] = true
	}
	if !f.Isolated {
		t.Skip("hosts share the machine's name and home without root")
	}
	home := loginHome(t)
	clients := make([]*ssh.Client, len(f.Hosts))
	for i, h := range f.Hosts {
		c := dial(t, f, h)
		clients[i] = c
		if got := run(t, c, "uname -n"); got != h.Name {
			t.Errorf("uname -n on %s = %q", h.Name, got)
		}
		if got, want := run(t, c, `echo "$HOME"; pwd`), home+"\n"+home; got != want {
			t.Errorf("$HOME and pwd on %s = %q, want %q", h.Name, got, want)
		}
		if got := run(t, c, "ls -A ~"); got != "" {
			t.Errorf("home on %s is not clean: %q", h.Name, got)
		}
		if got := run(t, c, "cat /proc/1/comm"); got != "sshd" {
			t.Errorf("init of %s's PID namespace = %q, want sshd", h.Name, got)
		}
	}

	run(t, clients[0], "echo web1-only > ~/marker")
	if b, err := os.ReadFile(filepath.Join(f.Hosts[0].Home, "marker")); err != nil || string(b) != "web1-only\n" {
		t.Errorf("marker in %s = %q, %v", f.Hosts[0].Home, b, err)
	}
	if _, err := os.Stat(filepath.Join(home, "marker")); err == nil {
		t.Errorf("marker written on web1 appeared in the real home %s", home)
	}
	if got := run(t, clients[1], "test -e ~/marker && echo present || echo absent"); got != "absent" {
		t.Errorf("marker written on web1 is %s on web2", got)
	}
	if err := os.WriteFile(filepath.Join(f.Hosts[1].Home, "from-go"), []byte("hello web2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := run(t, clients[1], "cat ~/from-go"); got != "hello web2" {
		t.Errorf("file written into Hosts[1].Home reads %q on web2", got)
	}

	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mounts), f.Dir) {
		t.Errorf("a host's mount leaked into the test's mount namespace:\n%s", mounts)
	}
}

func TestClientKeys(t *testing.T) {
	t.Parallel()
	f := Start(t, 1)
	h := f.Hosts[0]
	config := f.ClientConfig(t)

	plain, err := os.ReadFile(f.ClientKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(plain)
	if err != nil {
		t.Fatalf("parsing %s: %v", f.ClientKeyPath, err)
	}
	if string(signer.PublicKey().Marshal()) != string(f.ClientSigner.PublicKey().Marshal()) {
		t.Errorf("%s is not ClientSigner's key", f.ClientKeyPath)
	}

	encrypted, err := os.ReadFile(f.EncryptedKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	var missing *ssh.PassphraseMissingError
	if _, err := ssh.ParsePrivateKey(encrypted); !errors.As(err, &missing) {
		t.Errorf("encrypted key parsed without passphrase: %v", err)
	}
	if _, err := ssh.ParsePrivateKeyWithPassphrase(encrypted, []byte("wrong")); err == nil {
		t.Error("encrypted key parsed with a wrong passphrase")
	}
	signer, err = ssh.ParsePrivateKeyWithPassphrase(encrypted, []byte(f.Passphrase))
	if err != nil {
		t.Fatalf("encrypted key with its passphrase: %v", err)
	}
	config.Auth = []ssh.AuthMethod{ssh.PublicKeys(signer)}
	if err := handshake(h, config, 10*time.Second); err != nil {
		t.Errorf("login with the encrypted key: %v", err)
	}

	_, stranger, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err = ssh.NewSignerFromKey(stranger)
	if err != nil {
		t.Fatal(err)
	}
	config.Auth = []ssh.AuthMethod{ssh.PublicKeys(signer)}
	if err := handshake(h, config, 10*time.Second); err == nil {
		t.Error("login with an unauthorized key succeeded")
	}
}

func TestKillAndRestart(t *testing.T) {
	t.Parallel()
	f := Start(t, 2)
	h := f.Hosts[0]
	c := dial(t, f, h)
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("sleep 600"); err != nil {
		t.Fatal(err)
	}
	sessionDone := make(chan error, 1)
	go func() { sessionDone <- s.Wait() }()
	oldPID := h.PID()

	h.Kill()
	if h.PID() != 0 {
		t.Errorf("PID after Kill = %d", h.PID())
	}
	if conn, err := net.DialTimeout("tcp", h.Address(), 2*time.Second); err == nil {
		conn.Close()
		t.Fatal("killed host still accepts connections")
	}
	select {
	case err := <-sessionDone:
		if err == nil {
			t.Error("session on a killed host ended without error")
		}
	case <-time.After(5 * time.Second):
		t.Error("session on a killed host still running")
	}
	run(t, dial(t, f, f.Hosts[1]), "true") // the other host is unaffected

	h.Restart(t)
	if pid := h.PID(); pid == 0 || pid == oldPID {
		t.Errorf("PID after Restart = %d (before %d)", pid, oldPID)
	}
	c = dial(t, f, h) // checks the host key against known_hosts
	if f.Isolated {
		if got := run(t, c, "uname -n"); got != h.Name {
			t.Errorf("uname -n after Restart = %q", got)
		}
	}
	h.Restart(t) // a running host reboots too
	run(t, dial(t, f, h), "true")
}

func TestStopAndCont(t *testing.T) {
	t.Parallel()
	f := Start(t, 1)
	h := f.Hosts[0]
	config := f.ClientConfig(t)
	c := dial(t, f, h)

	h.Stop()
	err := handshake(h, config, 500*time.Millisecond)
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Errorf("handshake with a stopped host: %v, want a timeout", err)
	}
	result := make(chan string, 1)
	go func() {
		out, err := output(c, "echo alive")
		if err != nil {
			out = err.Error()
		}
		result <- out
	}()
	select {
	case out := <-result:
		t.Errorf("session on a stopped host answered %q", out)
	case <-time.After(300 * time.Millisecond):
	}

	h.Cont()
	select {
	case out := <-result:
		if out != "alive" {
			t.Errorf("stalled session after Cont = %q", out)
		}
	case <-time.After(10 * time.Second):
		t.Error("stalled session did not resume after Cont")
	}
	if err := handshake(h, config, 10*time.Second); err != nil {
		t.Errorf("handshake after Cont: %v", err)
	}
}

func TestOpenSSHClient(t *testing.T) {
	t.Parallel()
	sshBin := testenv.RequireProgram(t, "ssh", "openssh-client")
	f := Start(t, 2)
	for _, h := range f.Hosts {
		want := h.Name
		if !f.Isolated {
			want, _ = os.Hostname()
		}
		base := []string{"-F", "/dev/null", "-o", "BatchMode=yes", "-o", "GlobalKnownHostsFile=/dev/null",
			"-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-i", f.ClientKeyPath,
			"-p", strconv.Itoa(h.Port), "-l", f.User}
		args := append(base, "-o", "UserKnownHostsFile="+f.KnownHostsPath, h.Addr, "uname -n")
		out, err := exec.Command(sshBin, args...).CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != want {
			t.Errorf("ssh %s: %q, %v", strings.Join(args, " "), out, err)
		}
		out, err = exec.Command(sshBin, "-F", f.SSHConfigPath, h.Name, "uname -n").CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != want {
			t.Errorf("ssh -F %s %s: %q, %v", f.SSHConfigPath, h.Name, out, err)
		}
		args = append(base, "-o", "UserKnownHostsFile=/dev/null", h.Addr, "true")
		if err := exec.Command(sshBin, args...).Run(); err == nil {
			t.Errorf("ssh without known_hosts connected to %s: the host key is not checked", h.Name)
		}
	}

	pub, err := os.ReadFile(f.EncryptedKeyPath + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	wantKey := strings.Join(strings.Fields(string(pub))[:2], " ")
	out, err := exec.Command("ssh-keygen", "-y", "-P", f.Passphrase, "-f", f.EncryptedKeyPath).Output()
	if got := strings.TrimSpace(string(out)); err != nil || !strings.HasPrefix(got, wantKey) {
		t.Errorf("ssh-keygen -y with the passphrase: %q, %v; want %q", out, err, wantKey)
	}
	if err := exec.Command("ssh-keygen", "-y", "-P", "wrong", "-f", f.EncryptedKeyPath).Run(); err == nil {
		t.Error("ssh-keygen -y accepted a wrong passphrase")
	}
}

// TestCleanHomeIsFast checks that the login shell finds no start-up files:
// root's real ~/.bashrc takes about 0.3 s per command on these machines.
func TestCleanHomeIsFast(t *testing.T) {
	t.Parallel()
	f := Start(t, 1)
	if !f.Isolated {
		t.Skip("hosts use the real home without root")
	}
	c := dial(t, f, f.Hosts[0])
	run(t, c, "true")
	const runs = 5
	start := time.Now()
	for range runs {
		run(t, c, "true")
	}
	avg := time.Since(start) / runs
	t.Logf("`true` takes %v on average", avg)
	if avg > 250*time.Millisecond {
		t.Errorf("`true` takes %v on average: the shell reads start-up files", avg)
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	const tricky = `a "b" \c $d #e 'f'`
	f := Start(t, 2,
		WithNames("app1", "db1"),
		WithEnv(map[string]string{"OPSUI_ENV": "staging", "TRICKY": tricky, "ROLE": "none"}),
		WithHostEnv(func(name string) map[string]string {
			return map[string]string{"ROLE": strings.TrimRight(name, "0123456789")}
		}),
		WithMaxSessions(2),
		WithConfig("LogLevel DEBUG1"),
	)
	h := f.Host("db1")
	if h == nil || f.Host("app1") == nil || f.Host("web1") != nil {
		t.Fatalf("hosts named %v", []string{f.Hosts[0].Name, f.Hosts[1].Name})
	}
	c := dial(t, f, h)
	if got := run(t, c, `printf '%s|%s|%s' "$OPSUI_ENV" "$ROLE" "$TRICKY"`); got != "staging|db|"+tricky {
		t.Errorf("environment on db1 = %q", got)
	}
	var sessions []*ssh.Session
	for range 2 {
		s, err := c.NewSession()
		if err != nil {
			t.Fatalf("session %d of 2: %v", len(sessions)+1, err)
		}
		sessions = append(sessions, s)
	}
	if s, err := c.NewSession(); err == nil {
		s.Close()
		t.Error("a third session opened with MaxSessions 2")
	}
	for _, s := range sessions {
		s.Close()
	}
	if !strings.Contains(h.Log(), "debug1:") {
		t.Error("WithConfig(\"LogLevel DEBUG1\") did not override LogLevel VERBOSE")
	}
}

func TestInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		opts []Option
	}{
		{"no hosts", 0, nil},
		{"too few names", 2, []Option{WithNames("a")}},
		{"duplicate names", 2, []Option{WithNames("a", "a")}},
		{"bad name", 1, []Option{WithNames("a/b")}},
		{"bad variable", 1, []Option{WithEnv(map[string]string{"A-B": "x"})}},
		{"newline in value", 1, []Option{WithHostEnv(func(string) map[string]string { return map[string]string{"A": "x\ny"} })}},
		{"zero sessions", 1, []Option{WithMaxSessions(0)}},
		{"newline in config", 1, []Option{WithConfig("LogLevel DEBUG1\nUsePAM yes")}},
	} {
		if _, err := newOptions(tc.n, tc.opts); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// TestCleanupKillsEverything checks that nothing started on a host outlives
// the test, not even a daemon that left its session.
func TestCleanupKillsEverything(t *testing.T) {
	t.Parallel()
	var f *Fleet
	var pids []int
	t.Run("fleet", func(t *testing.T) {
		f = Start(t, 2)
		if !f.Isolated {
			// Without a PID namespace, a command whose client has gone
			// (the test's clients close before the fleet) is out of reach.
			for _, h := range f.Hosts {
				pids = append(pids, h.PID())
			}
			return
		}
		for _, h := range f.Hosts {
			c := dial(t, f, h)
			s, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Start("sleep 601"); err != nil {
				t.Fatal(err)
			}
			run(t, c, "setsid sleep 602 </dev/null >/dev/null 2>&1 &")
			pids = append(pids, waitSleeps(t, h, 2)...)
		}
	})
	for _, pid := range pids {
		if running(pid) {
			comm, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
			t.Errorf("process %d (%s) survived the fleet", pid, strings.TrimSpace(string(comm)))
		}
	}
	if _, err := os.Stat(f.Dir); !os.IsNotExist(err) {
		t.Errorf("fleet directory %s not removed: %v", f.Dir, err)
	}
}

// TestWithoutNamespaces runs the fallback used without root.
func TestWithoutNamespaces(t *testing.T) {
	t.Parallel()
	f := Start(t, 1, withoutIsolation())
	h := f.Hosts[0]
	if f.Isolated || h.Home != loginHome(t) {
		t.Fatalf("Isolated = %v, Home = %q", f.Isolated, h.Home)
	}
	c := dial(t, f, h)
	start := time.Now()
	run(t, c, "true")
	t.Logf("`true` with the real home takes %v", time.Since(start))
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("sleep 603"); err != nil {
		t.Fatal(err)
	}
	members := waitSleeps(t, h, 1)
	h.Kill()
	for _, pid := range members {
		if running(pid) {
			t.Errorf("process %d survived Kill", pid)
		}
	}
	if err := handshake(h, f.ClientConfig(t), 2*time.Second); err == nil {
		t.Error("killed host answers")
	}
	h.Restart(t)
	if err := handshake(h, f.ClientConfig(t), 10*time.Second); err != nil {
		t.Errorf("handshake after Restart: %v", err)
	}
}

// TestStartMany starts a larger fleet and uses every host concurrently.
func TestStartMany(t *testing.T) {
	t.Parallel()
	const n = 30
	start := time.Now()
	f := Start(t, n)
	t.Logf("%d hosts started in %v", n, time.Since(start))
	start = time.Now()
	var wg sync.WaitGroup
	errs := make([]error, n)
	config := f.ClientConfig(t)
	for i, h := range f.Hosts {
		wg.Go(func() {
			c, err := ssh.Dial("tcp", h.Address(), config)
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close()
			out, err := output(c, "uname -n")
			if err == nil && f.Isolated && out != h.Name {
				err = errors.New("uname -n = " + out)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	t.Logf("uname -n on %d hosts concurrently in %v", n, time.Since(start))
}

// waitSleeps waits until n sleep processes run on h and returns the pids of
// all the processes on h.
func waitSleeps(t *testing.T, h *Host, n int) []int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		members := h.current().members()
		if countSleeps(members) == n {
			return members
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sleeps not found among %s's processes %v", n, h.Name, members)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// countSleeps counts the sleep processes among pids.
func countSleeps(pids []int) int {
	n := 0
	for _, pid := range pids {
		comm, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
		if err == nil && strings.TrimSpace(string(comm)) == "sleep" {
			n++
		}
	}
	return n
}

// TestWithLatency: a command over a fleet WithLatency takes at least the
// round trips an SSH session costs, and the host keys, ssh config and
// Port all name the proxy, which carries the session whole.
func TestWithLatency(t *testing.T) {
	const rtt = 60 * time.Millisecond
	f := Start(t, 1, WithLatency(rtt))
	h := f.Hosts[0]
	c, err := ssh.Dial("tcp", h.Address(), f.ClientConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	out, err := s.CombinedOutput("head -c 100000 /dev/zero | wc -c")
	took := time.Since(start)
	if err != nil || strings.TrimSpace(string(out)) != "100000" {
		t.Fatalf("through the proxy: %q %v", out, err)
	}
	// exec request and reply, then the output: at least one round trip.
	if took < rtt {
		t.Errorf("a command took %v over a %v round trip", took, rtt)
	}
	if out, err := exec.Command("ssh", "-F", f.SSHConfigPath, h.Name, "echo", "ok").CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Errorf("ssh -F through the proxy: %q %v", out, err)
	}
}
