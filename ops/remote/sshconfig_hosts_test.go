package remote

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/inventory"
)

// knownHostsLine returns the line of f's known_hosts file for h.
func knownHostsLine(t *testing.T, f *sshtest.Fleet, h *sshtest.Host) string {
	t.Helper()
	file, err := os.Open(f.KnownHostsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	want := knownhosts.Normalize(h.Address())
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		if host, _, ok := strings.Cut(sc.Text(), " "); ok && host == want {
			return sc.Text() + "\n"
		}
	}
	t.Fatalf("no line for %s in %s", want, f.KnownHostsPath)
	return ""
}

// inventoryHost is h as the inventory names it, reached with the fleet's
// user and key.
func inventoryHost(f *sshtest.Fleet, h *sshtest.Host) inventory.Host {
	return inventory.Host{Name: h.Name, Address: h.Addr, Port: h.Port, User: f.User, IdentityFile: f.ClientKeyPath}
}

// TestSSHConfigKnownHostsFiles: GlobalKnownHostsFile vouches for a host
// (read-only), a key accepted is recorded in the first UserKnownHostsFile,
// hashed under HashKnownHosts yes, and read from there by a new pool.
func TestSSHConfigKnownHostsFiles(t *testing.T) {
	t.Parallel()
	f := sshtest.Start(t, 2)
	dir := t.TempDir()
	global := filepath.Join(dir, "global_known_hosts")
	user1, user2 := filepath.Join(dir, "user1"), filepath.Join(dir, "user2")
	globalText := knownHostsLine(t, f, f.Hosts[0])
	if err := os.WriteFile(global, []byte(globalText), 0o444); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "ssh_config")
	cfgText := fmt.Sprintf("Host *\n  GlobalKnownHostsFile %s\n  UserKnownHostsFile %s %s\n  HashKnownHosts yes\n", global, user1, user2)
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadSSHConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(dir, "opsui_known_hosts")
	var prompts atomic.Int32
	opts := testOptions(t, f)
	opts.KnownHostsFiles = []string{filepath.Join(dir, "absent")}
	opts.KnownHostsPath = own
	opts.AcceptHostKey = func(context.Context, HostKeyPrompt) (bool, error) {
		prompts.Add(1)
		return true, nil
	}
	targets, err := ResolveTargets([]inventory.Host{inventoryHost(f, f.Hosts[0]), inventoryHost(f, f.Hosts[1])}, cfg)
	if err != nil {
		t.Fatal(err)
	}

	p := newTestPool(t, opts)
	if out, err := runOn(context.Background(), p, targets[0], "echo ok"); err != nil || out != "ok" {
		t.Fatalf("host in GlobalKnownHostsFile: %q, %v", out, err)
	}
	if n := prompts.Load(); n != 0 {
		t.Fatalf("asked about a key GlobalKnownHostsFile vouches for (%d prompts)", n)
	}
	if out, err := runOn(context.Background(), p, targets[1], "echo ok"); err != nil || out != "ok" {
		t.Fatalf("unknown host accepted: %q, %v", out, err)
	}
	if n := prompts.Load(); n != 1 {
		t.Fatalf("%d prompts for the unknown host, want 1", n)
	}
	recorded, err := os.ReadFile(user1)
	if err != nil {
		t.Fatalf("the first UserKnownHostsFile: %v", err)
	}
	if !strings.HasPrefix(string(recorded), "|1|") || strings.Contains(string(recorded), f.Hosts[1].Addr) {
		t.Errorf("HashKnownHosts yes, but the recorded line is not hashed:\n%s", recorded)
	}
	check, err := knownhosts.New(user1)
	if err != nil {
		t.Fatal(err)
	}
	if err := check(f.Hosts[1].Address(), probeAddr, f.Hosts[1].HostKey); err != nil {
		t.Errorf("the recorded line does not vouch for %s: %v", f.Hosts[1].Name, err)
	}
	if b, err := os.ReadFile(global); err != nil || string(b) != globalText {
		t.Errorf("the global file changed: %q, %v", b, err)
	}
	for _, untouched := range []string{user2, own} {
		if _, err := os.Stat(untouched); err == nil {
			t.Errorf("%s was written; only the first UserKnownHostsFile should be", untouched)
		}
	}

	// A new pool reads the user file: no prompt again.
	p2 := newTestPool(t, opts)
	if out, err := runOn(context.Background(), p2, targets[1], "echo ok"); err != nil || out != "ok" {
		t.Fatalf("new pool: %q, %v", out, err)
	}
	if n := prompts.Load(); n != 1 {
		t.Errorf("asked again after recording: %d prompts", n)
	}
}

// TestSSHConfigForwardAgentIgnored: ForwardAgent yes in ssh_config does
// not forward the agent to a host the inventory does not allow it for.
func TestSSHConfigForwardAgentIgnored(t *testing.T) {
	t.Parallel()
	f := sshtest.Start(t, 1)
	h := f.Hosts[0]
	sock := startAgent(t, f.ClientKeyPath)
	cfgPath := filepath.Join(t.TempDir(), "ssh_config")
	if err := os.WriteFile(cfgPath, []byte("Host *\n  ForwardAgent yes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadSSHConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions(t, f)
	opts.AgentSocket = sock
	p := newTestPool(t, opts)
	tg, err := ResolveTarget(inventoryHost(f, h), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := runOn(context.Background(), p, tg, "echo sock=${SSH_AUTH_SOCK:-none}; ssh-add -l"); err == nil || !strings.Contains(out, "sock=none") {
		t.Errorf("the agent was forwarded on ssh_config's ForwardAgent alone: %q, %v", out, err)
	}
	ih := inventoryHost(f, h)
	ih.ForwardAgent = true
	if tg, err = ResolveTarget(ih, cfg); err != nil {
		t.Fatal(err)
	}
	p.Forget(tg.Name)
	out, err := runOn(context.Background(), p, tg, "ssh-add -l")
	if err != nil || !strings.Contains(out, ssh.FingerprintSHA256(f.ClientSigner.PublicKey())) {
		t.Errorf("forward_agent in the inventory: ssh-add -l = %q, %v", out, err)
	}
}

// TestHomeFromEnvironment: with HOME pointed at a directory holding the
// key and no agent, the default identity is found there (the passwd
// entry's home has no such key), and a failed login names each file tried.
func TestHomeFromEnvironment(t *testing.T) {
	f := sshtest.Start(t, 1)
	h := f.Hosts[0]
	home := t.TempDir()
	t.Setenv("HOME", home)
	cfg, err := LoadSSHConfig(filepath.Join(home, ".ssh", "config"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HomeDir != home {
		t.Fatalf("HomeDir = %q, want $HOME %q", cfg.HomeDir, home)
	}
	opts := testOptions(t, f)
	ih := inventory.Host{Name: h.Name, Address: h.Addr, Port: h.Port, User: f.User}

	// No key in $HOME/.ssh yet: the error lists the three files tried.
	tg, err := ResolveTarget(ih, cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = runOn(context.Background(), newTestPool(t, opts), tg, "echo ok")
	wantClass(t, err, h.Name, ClassAuth)
	for _, name := range defaultIdentities {
		if p := filepath.Join(home, ".ssh", name); !strings.Contains(err.Error(), p) {
			t.Errorf("the error does not name %s: %v", p, err)
		}
	}

	key, err := os.ReadFile(f.ClientKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	if tg, err = ResolveTarget(ih, cfg); err != nil {
		t.Fatal(err)
	}
	if out, err := runOn(context.Background(), newTestPool(t, opts), tg, "echo ok"); err != nil || out != "ok" {
		t.Fatalf("login with $HOME/.ssh/id_ed25519: %q, %v", out, err)
	}
	// ~ in IdentityFile is $HOME too.
	if err := os.Rename(filepath.Join(home, ".ssh", "id_ed25519"), filepath.Join(home, "deploy_key")); err != nil {
		t.Fatal(err)
	}
	ih.IdentityFile = "~/deploy_key"
	if tg, err = ResolveTarget(ih, cfg); err != nil {
		t.Fatal(err)
	}
	if out, err := runOn(context.Background(), newTestPool(t, opts), tg, "echo ok"); err != nil || out != "ok" {
		t.Fatalf("login with IdentityFile ~/deploy_key: %q, %v", out, err)
	}
	// And DefaultOptions looks in the same home.
	def, err := DefaultOptions()
	if err != nil {
		t.Fatal(err)
	}
	if def.SSHConfigPath != filepath.Join(home, ".ssh", "config") || def.KnownHostsFiles[0] != filepath.Join(home, ".ssh", "known_hosts") {
		t.Errorf("DefaultOptions does not use $HOME: %+v", def)
	}
}
