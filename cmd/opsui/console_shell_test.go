package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

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
