package main

import (
	"fmt"
	"net"
	"os/exec"
	"strings"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
)

// shell is the console's s: an interactive OpenSSH session on host,
// reaching it as opsui does (user, port, identity files, ProxyJump hosts,
// agent forwarding) and trusting only the host keys opsui trusts.
func (c *consoleSession) shell(host inventory.Host) (*exec.Cmd, error) {
	t, path, err := c.sshTo("shell on", host)
	if err != nil {
		return nil, err
	}
	argv, err := sshArgs(t, knownHostsFiles(c.opts, t))
	if err != nil {
		return nil, err
	}
	return exec.Command(path, argv...), nil
}

// sshTo is what the shell and the forward both need first: host's
// connection settings as the engine has them, and the ssh client's path.
// what names the action in an error ("shell on", "forward to").
func (c *consoleSession) sshTo(what string, host inventory.Host) (remote.Target, string, error) {
	ts, err := c.svc.Targets([]inventory.Host{host})
	if err != nil {
		return remote.Target{}, "", err
	}
	if len(ts) != 1 {
		return remote.Target{}, "", fmt.Errorf("%s %s: no connection settings", what, host.Name)
	}
	path, err := exec.LookPath("ssh")
	if err != nil {
		return remote.Target{}, "", fmt.Errorf("%s %s: no ssh client (install openssh-client)", what, host.Name)
	}
	return ts[0], path, nil
}

// knownHostsFiles are the files opsui reads host keys from for t: its
// own (where the keys the console trusted are recorded), the user's and
// the system's, and t's from ssh_config.
func knownHostsFiles(o remote.Options, t remote.Target) []string {
	files := append([]string{o.KnownHostsPath}, o.KnownHostsFiles...)
	return append(files, t.KnownHosts...)
}

// sshArgs is the OpenSSH command line (without "ssh") for an interactive
// session on t: its settings on the command line, so the user's
// ssh_config cannot send it elsewhere, strict host key checking against
// opsui's known hosts, and each ProxyJump host as a ProxyCommand with its
// own settings.
func sshArgs(t remote.Target, known []string) ([]string, error) {
	args, err := hopArgs(t, known, nil)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(t.Addr)
	return append(append([]string{"-t"}, args...), "--", host), nil
}

// hopArgs is the options that reach t, through jumps (outermost first).
func hopArgs(t remote.Target, known []string, jumps []remote.Target) ([]string, error) {
	if jumps == nil {
		jumps = t.Jumps
	}
	_, port, err := net.SplitHostPort(t.Addr)
	if err != nil {
		return nil, fmt.Errorf("shell on %s: address %q: %w", t.Name, t.Addr, err)
	}
	quoted := make([]string, len(known))
	for i, f := range known {
		quoted[i] = `"` + f + `"`
	}
	args := []string{"-p", port, "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + strings.Join(quoted, " ")}
	if t.User != "" {
		args = append(args, "-l", t.User)
	}
	for _, id := range t.IdentityFiles {
		args = append(args, "-i", id)
	}
	if t.ForwardAgent {
		args = append(args, "-A")
	}
	if len(jumps) > 0 {
		// The last jump leads to t; it is reached through the ones before.
		j := jumps[len(jumps)-1]
		jargs, err := hopArgs(j, known, append([]remote.Target{}, jumps[:len(jumps)-1]...))
		if err != nil {
			return nil, err
		}
		jhost, _, _ := net.SplitHostPort(j.Addr)
		words := append(append([]string{"ssh"}, jargs...), "-W", t.Addr, "--", jhost)
		// ssh expands %-tokens in a ProxyCommand: a literal % is %%.
		args = append(args, "-o", "ProxyCommand="+strings.ReplaceAll(remote.QuoteAll(words...), "%", "%%"))
	}
	return args, nil
}

// forward is the console's :forward: an OpenSSH port forward from
// 127.0.0.1:local on this machine to 127.0.0.1:port on host (a database
// that listens on its own loopback), reached as the engine reaches host.
// It runs in the terminal the console gives up until ctrl+c.
func (c *consoleSession) forward(host inventory.Host, port, local int) (*exec.Cmd, error) {
	t, path, err := c.sshTo("forward to", host)
	if err != nil {
		return nil, err
	}
	argv, err := forwardArgs(t, knownHostsFiles(c.opts, t), port, local)
	if err != nil {
		return nil, err
	}
	banner := fmt.Sprintf("opsui: 127.0.0.1:%d forwards to %s's 127.0.0.1:%d; ctrl+c stops it and returns to the console", local, host.Name, port)
	// sh prints the banner, then becomes ssh; every word is an argument,
	// none is parsed by the shell.
	return exec.Command("sh", append([]string{"-c", `printf '%s\n' "$1"; shift; exec "$@"`, "sh", banner, path}, argv...)...), nil
}

// forwardArgs is the OpenSSH command line (without "ssh") of a forward
// from 127.0.0.1:local to t's 127.0.0.1:port, failing at once when the
// local port cannot be bound.
func forwardArgs(t remote.Target, known []string, port, local int) ([]string, error) {
	if port < 1 || port > 65535 || local < 1 || local > 65535 {
		return nil, fmt.Errorf("forward to %s: ports must be 1-65535 (got %d and local %d)", t.Name, port, local)
	}
	args, err := hopArgs(t, known, nil)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(t.Addr)
	return append(append([]string{"-N", "-o", "ExitOnForwardFailure=yes", "-L", fmt.Sprintf("127.0.0.1:%d:127.0.0.1:%d", local, port)}, args...), "--", host), nil
}
