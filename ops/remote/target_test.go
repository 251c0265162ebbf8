package remote

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/opsui/opsui/inventory"
)

// writeSSHConfig writes an ssh_config in a temporary home and loads it.
func writeSSHConfig(t *testing.T, text string) SSHConfig {
	t.Helper()
	home := t.TempDir()
	path := filepath.Join(home, "ssh_config")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadSSHConfig(path)
	if err != nil {
		t.Fatalf("LoadSSHConfig: %v", err)
	}
	cfg.HomeDir, cfg.LocalUser = home, "me"
	return cfg
}

const testSSHConfig = `
# Comments and odd spacing are fine.
Host web1
  HostName 10.0.0.1
  Port 2201
  User deploy
  IdentityFile ~/.ssh/web_key
  IdentityFile %d/second_%r@%h

Host app.example.com
  User app

Host behind
  HostName 10.0.1.5
  ProxyJump bastion

Host bastion
  HostName bastion.example.com
  User jump
  Port 2222
  ProxyJump gate

Host gate
  HostName 192.0.2.1

Host chain
  ProxyJump admin@bastion:22,inner

Host inner
  HostName 10.0.2.2
  ProxyJump ignored-because-not-first

Host loop-a
  ProxyJump loop-b
Host loop-b
  ProxyJump loop-a
Host self
  ProxyJump self

Host *-host
  HostName %h.internal

Host fwd
  ForwardAgent yes

Match exec "test -f /nonexistent"
  User never

Match host matched
  User matcheduser

Host *
  ServerAliveInterval 30
`

func TestResolveTarget(t *testing.T) {
	t.Parallel()
	cfg := writeSSHConfig(t, testSSHConfig)
	home := cfg.HomeDir
	tests := []struct {
		name string
		host inventory.Host
		want Target
	}{
		{
			name: "config fills everything",
			host: inventory.Host{Name: "w1", Address: "web1"},
			want: Target{Name: "w1", Addr: "10.0.0.1:2201", User: "deploy",
				IdentityFiles: []string{home + "/.ssh/web_key", home + "/second_deploy@10.0.0.1"}},
		},
		{
			name: "inventory wins",
			host: inventory.Host{Name: "w1", Address: "web1", Port: 22, User: "root", IdentityFile: "~/k"},
			want: Target{Name: "w1", Addr: "10.0.0.1:22", User: "root", IdentityFiles: []string{home + "/k"}},
		},
		{
			name: "defaults",
			host: inventory.Host{Name: "db", Address: "10.9.9.9"},
			want: Target{Name: "db", Addr: "10.9.9.9:22", User: "me"},
		},
		{
			name: "user only",
			host: inventory.Host{Name: "app", Address: "app.example.com"},
			want: Target{Name: "app", Addr: "app.example.com:22", User: "app"},
		},
		{
			name: "IPv6",
			host: inventory.Host{Name: "v6", Address: "2001:db8::1", Port: 2222},
			want: Target{Name: "v6", Addr: "[2001:db8::1]:2222", User: "me"},
		},
		{
			name: "jump resolved recursively",
			host: inventory.Host{Name: "b", Address: "behind"},
			want: Target{Name: "b", Addr: "10.0.1.5:22", User: "me", Jumps: []Target{
				{Name: "gate", Addr: "192.0.2.1:22", User: "me"},
				{Name: "bastion", Addr: "bastion.example.com:2222", User: "jump"},
			}},
		},
		{
			name: "explicit chain: hop user and port win, later hops' ProxyJump ignored",
			host: inventory.Host{Name: "c", Address: "chain"},
			want: Target{Name: "c", Addr: "chain:22", User: "me", Jumps: []Target{
				{Name: "gate", Addr: "192.0.2.1:22", User: "me"},
				{Name: "bastion", Addr: "bastion.example.com:22", User: "admin"},
				{Name: "inner", Addr: "10.0.2.2:22", User: "me"},
			}},
		},
		{
			name: "inventory ProxyJump wins",
			host: inventory.Host{Name: "b", Address: "behind", ProxyJump: "ssh://ops@[2001:db8::2]:2200"},
			want: Target{Name: "b", Addr: "10.0.1.5:22", User: "me", Jumps: []Target{
				{Name: "2001:db8::2", Addr: "[2001:db8::2]:2200", User: "ops"},
			}},
		},
		{
			name: "ProxyJump none",
			host: inventory.Host{Name: "b", Address: "behind", ProxyJump: "none"},
			want: Target{Name: "b", Addr: "10.0.1.5:22", User: "me"},
		},
		{
			name: "HostName token",
			host: inventory.Host{Name: "t", Address: "x-host"},
			want: Target{Name: "t", Addr: "x-host.internal:22", User: "me"},
		},
		{
			// The README: forwarding is off unless the inventory sets it.
			name: "ForwardAgent in ssh_config is ignored",
			host: inventory.Host{Name: "f", Address: "fwd"},
			want: Target{Name: "f", Addr: "fwd:22", User: "me"},
		},
		{
			name: "ForwardAgent from the inventory",
			host: inventory.Host{Name: "f", Address: "fwd", ForwardAgent: true},
			want: Target{Name: "f", Addr: "fwd:22", User: "me", ForwardAgent: true},
		},
		{
			name: "Match host used, Match exec skipped",
			host: inventory.Host{Name: "m", Address: "matched"},
			want: Target{Name: "m", Addr: "matched:22", User: "matcheduser"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveTarget(tt.host, cfg)
			if err != nil {
				t.Fatalf("ResolveTarget: %v", err)
			}
			got = withoutDefaultIdentities(got, cfg.HomeDir)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestResolveTargetErrors(t *testing.T) {
	t.Parallel()
	cfg := writeSSHConfig(t, testSSHConfig+"\nHost badport\n  Port 99999\n")
	tests := []struct {
		host inventory.Host
		want string
	}{
		{inventory.Host{Name: "a", Address: "loop-a"}, "ProxyJump loop: loop-a -> loop-b -> loop-a"},
		{inventory.Host{Name: "s", Address: "self"}, "ProxyJump loop: self -> self"},
		{inventory.Host{Name: "x", Address: "x", ProxyJump: "x"}, "ProxyJump loop"},
		{inventory.Host{Name: "p", Address: "badport"}, "invalid Port"},
		{inventory.Host{Name: "j", Address: "j", ProxyJump: "h:notaport"}, "invalid port"},
		{inventory.Host{Name: "j", Address: "j", ProxyJump: "a,,b"}, "invalid host"},
		{inventory.Host{Name: "i", Address: "i", IdentityFile: "~/%z"}, "unsupported token"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := ResolveTarget(tt.host, cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ResolveTarget(%+v) = %v, want an error containing %q", tt.host, err, tt.want)
			}
			if !strings.Contains(err.Error(), "host "+tt.host.Name+":") {
				t.Errorf("error %q does not name host %s", err, tt.host.Name)
			}
		})
	}
	_, err := ResolveTargets([]inventory.Host{{Name: "ok", Address: "web1"}, {Name: "a", Address: "loop-a"}}, cfg)
	if err == nil || !strings.Contains(err.Error(), "host a:") {
		t.Errorf("ResolveTargets: %v, want the loop of host a", err)
	}
}

func TestResolveTargetDefaultIdentities(t *testing.T) {
	t.Parallel()
	cfg := writeSSHConfig(t, "")
	dir := filepath.Join(cfg.HomeDir, ".ssh")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"id_rsa", "id_ed25519"} { // id_ecdsa absent
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ResolveTarget(inventory.Host{Name: "h", Address: "h"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// All three, in ssh's order: a missing one is skipped at login and
	// named in its error.
	want := []string{filepath.Join(dir, "id_ed25519"), filepath.Join(dir, "id_ecdsa"), filepath.Join(dir, "id_rsa")}
	if !reflect.DeepEqual(got.IdentityFiles, want) {
		t.Errorf("IdentityFiles = %q, want %q", got.IdentityFiles, want)
	}
}

func TestLoadSSHConfigMissing(t *testing.T) {
	t.Parallel()
	cfg, err := LoadSSHConfig(filepath.Join(t.TempDir(), "nope"))
	if err != nil {
		t.Fatalf("a missing config is empty, got %v", err)
	}
	got, err := ResolveTarget(inventory.Host{Name: "h", Address: "10.0.0.1", Port: 2022}, cfg)
	if err != nil || got.Addr != "10.0.0.1:2022" || got.User == "" {
		t.Fatalf("ResolveTarget = %+v, %v", got, err)
	}
}

// withoutDefaultIdentities drops the default identity files (listed
// whenever no IdentityFile is set) from t and its jumps.
func withoutDefaultIdentities(t Target, home string) Target {
	var ids []string
	for _, p := range t.IdentityFiles {
		if filepath.Dir(p) != filepath.Join(home, ".ssh") || !slices.Contains(defaultIdentities, filepath.Base(p)) {
			ids = append(ids, p)
		}
	}
	t.IdentityFiles = ids
	for i := range t.Jumps {
		t.Jumps[i] = withoutDefaultIdentities(t.Jumps[i], home)
	}
	return t
}
