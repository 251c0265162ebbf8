package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/ops/remote"
)

// The console's shell (s) is OpenSSH with the engine's settings: it
// reaches a host through two ProxyJump hosts with the inventory's user,
// port and key, and refuses a host whose key opsui does not know.
func TestShellArgsReachAHostAsTheEngineDoes(t *testing.T) {
	testenv.RequireProgram(t, "ssh", "openssh-client")
	f := sshtest.Start(t, 3, sshtest.WithConfig("LogLevel DEBUG1"))
	t.Setenv("HOME", t.TempDir()) // no ~/.ssh/config of the machine's
	target := func(h *sshtest.Host) remote.Target {
		return remote.Target{Name: h.Name, Addr: net.JoinHostPort(h.Addr, strconv.Itoa(h.Port)), User: f.User,
			IdentityFiles: []string{f.ClientKeyPath}}
	}
	a, b, c := f.Hosts[0], f.Hosts[1], f.Hosts[2]
	run := func(tg remote.Target, known ...string) (string, error) {
		args, err := sshArgs(tg, known)
		if err != nil {
			t.Fatal(err)
		}
		if args[len(args)-2] != "--" || args[0] != "-t" {
			t.Fatalf("argv %q", args)
		}
		// No terminal here: BatchMode so that nothing prompts, and a
		// command after the host.
		out, err := exec.Command("ssh", append([]string{"-o", "BatchMode=yes"}, append(args, "uname -n")...)...).Output()
		return strings.TrimSpace(string(out)), err
	}
	direct := target(a)
	if out, err := run(direct, f.KnownHostsPath); err != nil || f.Isolated && out != a.Name {
		t.Fatalf("direct: %q, %v", out, err)
	}
	chained := target(c)
	chained.Jumps = []remote.Target{target(a), target(b)}
	if out, err := run(chained, filepath.Join(t.TempDir(), "missing"), f.KnownHostsPath); err != nil || f.Isolated && out != c.Name {
		t.Fatalf("through %s and %s: %q, %v", a.Name, b.Name, out, err)
	}
	if !strings.Contains(b.Log(), fmt.Sprintf("target %s port %d", c.Addr, c.Port)) {
		t.Errorf("%s's log shows no forwarding to %s", b.Name, c.Name)
	}
	empty := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var exit *exec.ExitError
	if out, err := run(direct, empty); err == nil || !asExit(err, &exit) || exit.ExitCode() != 255 {
		t.Errorf("an unknown host key was accepted: %q, %v", out, err)
	}
}

func asExit(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*target = e
	return ok
}

// :forward's ssh forwards a local port to a port on the host's loopback
// (the sshd hosts share this machine's network, so a listener of the
// test's stands for the database), and refuses ports out of range.
func TestForwardArgsReachAHostsLoopback(t *testing.T) {
	testenv.RequireProgram(t, "ssh", "openssh-client")
	f := sshtest.Start(t, 1)
	t.Setenv("HOME", t.TempDir())
	db, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	go func() {
		for {
			c, err := db.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, "hello from the database")
			c.Close()
		}
	}()
	h := f.Hosts[0]
	tg := remote.Target{Name: h.Name, Addr: net.JoinHostPort(h.Addr, strconv.Itoa(h.Port)), User: f.User, IdentityFiles: []string{f.ClientKeyPath}}
	local, err := testenv.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	args, err := forwardArgs(tg, []string{f.KnownHostsPath}, db.Addr().(*net.TCPAddr).Port, local)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ssh", append([]string{"-o", "BatchMode=yes"}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var got string
	testenv.WaitFor(t, 20*time.Second, "the forward", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", local))
		if err != nil {
			return false
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		got = string(b)
		return got != ""
	})
	if got != "hello from the database\n" {
		t.Errorf("through the forward: %q", got)
	}
	if _, err := forwardArgs(tg, nil, 70000, 1); err == nil || !strings.Contains(err.Error(), "ports must be 1-65535") {
		t.Errorf("port 70000: %v", err)
	}
}
