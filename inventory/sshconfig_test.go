package inventory

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kevinburke/ssh_config"
)

func TestParseSSHConfigSample(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "ssh_config"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ParseSSHConfig("ssh_config", f, SSHConfigOptions{Env: "production", Roles: []string{"web"}})
	if err != nil {
		t.Fatalf("ParseSSHConfig: %v", err)
	}
	h := func(name, addr string, port int, user string) Host {
		return Host{Name: name, Address: addr, Port: port, User: user, Env: "production", Roles: []string{"web"}, ProxyJump: "bastion"}
	}
	bastion := h("bastion", "bastion.example.com", 2222, "ops")
	bastion.IdentityFile, bastion.ProxyJump, bastion.ForwardAgent = "~/.ssh/id_ed25519", "", true
	web1 := h("web1", "web1.prod.example.com", 2201, "deploy")
	web1.ForwardAgent = true
	web2 := h("web2", "web2.prod.example.com", 0, "deploy")
	web2.ForwardAgent = true
	db1 := h("db1", "10.0.2.10", 2200, "postgres")
	db1.IdentityFile = "~/.ssh/db_ed25519"
	want := []Host{
		bastion,
		web1,
		web2,
		h("web3", "10.0.1.13", 0, "fallback"),
		db1,
		h("cache1", "cache1.prod.example.com", 0, "fallback"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("hosts:\n got %+v\nwant %+v", got, want)
	}
	got[0].Roles[0] = "changed"
	if got[1].Roles[0] != "web" {
		t.Error("hosts share their Roles slice")
	}
}

func TestParseSSHConfig(t *testing.T) {
	tests := []struct {
		name string
		src  string
		opt  SSHConfigOptions
		want []Host
	}{
		{
			name: "empty",
			src:  "",
			want: nil,
		},
		{
			name: "no defaults leak in",
			src:  "Host plain\n",
			want: []Host{{Name: "plain", Address: "plain"}},
		},
		{
			name: "top-of-file settings apply to all, and first",
			src:  "User root\nPort 2022\n\nHost a\n  User alice\nHost b\n",
			want: []Host{
				{Name: "a", Address: "a", Port: 2022, User: "root"},
				{Name: "b", Address: "b", Port: 2022, User: "root"},
			},
		},
		{
			name: "first obtained value wins over later Host *",
			src:  "Host *\n  User star\nHost a\n  User alice\n",
			want: []Host{{Name: "a", Address: "a", User: "star"}},
		},
		{
			name: "equals signs, case-insensitive keywords, quotes, tabs",
			src:  "HOST=a\tb\n\thostname = 192.0.2.1\n\tidentityfile \"~/.ssh/my key\"\n\tforwardagent no\n",
			want: []Host{
				{Name: "a", Address: "192.0.2.1", IdentityFile: "~/.ssh/my key"},
				{Name: "b", Address: "192.0.2.1", IdentityFile: "~/.ssh/my key"},
			},
		},
		{
			name: "wildcards and negations are not hosts",
			src:  "Host *.example.com !bad.example.com web? *\n  User x\nHost ok\n",
			want: []Host{{Name: "ok", Address: "ok", User: "x"}},
		},
		{
			name: "negation excludes a host from a block",
			src:  "Host app1 app2\nHost app* !app2\n  User deploy\n",
			want: []Host{{Name: "app1", Address: "app1", User: "deploy"}, {Name: "app2", Address: "app2"}},
		},
		{
			name: "alias repeated across blocks is imported once",
			src:  "Host a\n  Port 1\nHost b a\n  Port 2\n",
			want: []Host{{Name: "a", Address: "a", Port: 1}, {Name: "b", Address: "b", Port: 2}},
		},
		{
			name: "match blocks are skipped, whatever their criteria",
			src:  "Host a\nMatch user bob\n  User bob\nMatch exec \"true\"\n  Port 2\nMatch all\n  ForwardAgent yes\nHost b\n",
			want: []Host{{Name: "a", Address: "a"}, {Name: "b", Address: "b"}},
		},
		{
			name: "a match block does not swallow the following Host",
			src:  "Match host a\n  User m\nHost a\n  User h\n",
			want: []Host{{Name: "a", Address: "a", User: "h"}},
		},
		{
			name: "IPv6 HostName and %% token",
			src:  "Host v6\n  HostName 2001:db8::1\n",
			want: []Host{{Name: "v6", Address: "2001:db8::1"}},
		},
		{
			name: "ProxyJump kept as written, none means none",
			src:  "Host j\n  ProxyJump ops@bastion:2222,inner\nHost n\n  ProxyJump NONE\nHost *\n  ProxyJump x\n",
			want: []Host{
				{Name: "j", Address: "j", ProxyJump: "ops@bastion:2222,inner"},
				{Name: "n", Address: "n"},
			},
		},
		{
			name: "comments and CRLF",
			src:  "# hi\r\nHost a # trailing\r\n  HostName a.example.com # x\r\n  Port 22\r\n",
			want: []Host{{Name: "a", Address: "a.example.com", Port: 22}},
		},
		{
			name: "keywords fold as the library folds them",
			src:  "Hoſt a\nHOST b\n",
			want: []Host{{Name: "b", Address: "b"}},
		},
		{
			name: "roles given to every host",
			src:  "Host a\n",
			opt:  SSHConfigOptions{Env: "staging", Roles: []string{"web", "cache"}},
			want: []Host{{Name: "a", Address: "a", Env: "staging", Roles: []string{"web", "cache"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSSHConfig("cfg", strings.NewReader(tt.src), tt.opt)
			if err != nil {
				t.Fatalf("ParseSSHConfig: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseSSHConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		opt  SSHConfigOptions
		line int    // of the first problem; 0 when not in the file
		msg  string // substring of the first problem
		n    int    // number of problems
	}{
		{"port not a number", "Host a\n  Port ssh\n", SSHConfigOptions{}, 2, `Port: "ssh" is not a port number`, 1},
		{"port zero", "Host a\n\n  Port 0\n", SSHConfigOptions{}, 3, "port 0 out of range (1-65535)", 1},
		{"port too big", "Host a\n  Port=70000\n", SSHConfigOptions{}, 2, "port 70000 out of range", 1},
		{"bad port in unused block", "Host a\nHost *.nowhere\n  Port -1\n", SSHConfigOptions{}, 3, "port -1 out of range", 1},
		{"invalid alias", "Host good\nHost bad/alias\n", SSHConfigOptions{}, 2, `invalid host name "bad/alias"`, 1},
		{"alias that is no address", "Host web-\n", SSHConfigOptions{}, 1, `Host "web-" has no HostName`, 1},
		{"bad HostName", "Host a\n  HostName not_an..address\n", SSHConfigOptions{}, 2, `HostName "not_an..address" is not a valid address`, 1},
		{"unknown token in HostName", "Host a\n  HostName %r.example.com\n", SSHConfigOptions{}, 2, `HostName "%r.example.com"`, 1},
		{"bad shared HostName reported once", "Host a b c\nHost *\n  HostName bad!\n", SSHConfigOptions{}, 3, `HostName "bad!"`, 1},
		{"all problems together", "Host a\n  Port x\nHost b\n  Port 0\nHost c/d\n", SSHConfigOptions{}, 2, `"x" is not a port number`, 3},
		{"line too long", "Host a\n  User " + strings.Repeat("x", 5000) + "\n", SSHConfigOptions{}, 2, "line longer than 4096 bytes", 1},
		{"invalid role option", "Host a\n", SSHConfigOptions{Roles: []string{"web", "Bad Role"}}, 0, `invalid role name "Bad Role"`, 1},
		{"invalid env option", "Host a\n", SSHConfigOptions{Env: "Prod!"}, 0, `invalid environment name "Prod!"`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hosts, err := ParseSSHConfig("my_config", strings.NewReader(tt.src), tt.opt)
			if hosts != nil {
				t.Errorf("got hosts %v along with an error", hosts)
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error %v (%T) is not Problems", err, err)
			}
			if len(ps) != tt.n {
				t.Errorf("%d problems, want %d: %v", len(ps), tt.n, ps)
			}
			p := ps[0]
			if p.Line != tt.line || !strings.Contains(p.Msg, tt.msg) {
				t.Errorf("problem at line %d: %q, want line %d containing %q", p.Line, p.Msg, tt.line, tt.msg)
			}
			if tt.line > 0 && (p.File != "my_config" || !strings.Contains(err.Error(), "my_config:")) {
				t.Errorf("problem %q does not name the file", err)
			}
		})
	}
}

// TestSSHParseProblem checks that a library error keeps its position. Once
// Include and Match lines are neutralized, the library has no error left to
// give on a file, so the test decodes what ParseSSHConfig never would.
func TestSSHParseProblem(t *testing.T) {
	_, err := ssh_config.DecodeBytes([]byte("Host a\nMatch exec true\n"))
	if err == nil {
		t.Fatal("the library accepts Match exec")
	}
	got := sshParseProblem("cfg", err)
	want := Problem{File: "cfg", Line: 2, Column: 7, Msg: "Match Exec is not supported"}
	if got != want {
		t.Errorf("got %+v from %q, want %+v", got, err, want)
	}
}

// TestParseSSHConfigIgnoresInclude checks that an Include is neither followed
// nor an error: the library would read the included file from disk.
func TestParseSSHConfigIgnoresInclude(t *testing.T) {
	dir := t.TempDir()
	inc := filepath.Join(dir, "included")
	if err := os.WriteFile(inc, []byte("Host sneaky\n  HostName 192.0.2.66\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"Include " + inc, "  include=" + inc, "INCLUDE\t" + inc, "Include config.d/*", "Include"} {
		src := line + "\nHost a\n  Include " + inc + "\n  Port 2\n"
		got, err := ParseSSHConfig("cfg", strings.NewReader(src), SSHConfigOptions{})
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		want := []Host{{Name: "a", Address: "a", Port: 2}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %+v, want %+v", line, got, want)
		}
	}
}

func TestSanitizeSSHConfigKeepsLines(t *testing.T) {
	src := "Include x\r\nHost a\tb\nMatch all\n  # Host c\n\r Host d\n"
	out, headers := sanitizeSSHConfig([]byte(src))
	if want := "\nHost a b\nHost !*\n  # Host c\n\r Host d\n"; string(out) != want {
		t.Errorf("sanitized %q, want %q", out, want)
	}
	want := []sshHeader{{line: 2}, {line: 3, match: true}, {line: 5}}
	if !reflect.DeepEqual(headers, want) {
		t.Errorf("headers %+v, want %+v", headers, want)
	}
}

func FuzzParseSSHConfig(f *testing.F) {
	f.Add([]byte("Host a b\n  HostName %h.example.com\n  Port 22\n"))
	f.Add([]byte("Host *\n  User x\nMatch all\n  Port 1\nHost c\n  ProxyJump none\n"))
	f.Add([]byte("Host=a\r\n\tPort = 65535 # c\r\nInclude foo\n"))
	if b, err := os.ReadFile(filepath.Join("testdata", "ssh_config")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		// Whatever the input, nothing may reach the library that makes it
		// read a file, and blocks must be found where the library finds them.
		clean, headers := sanitizeSSHConfig(bytes.Clone(src))
		if cfg, err := ssh_config.DecodeBytes(clean); err == nil {
			if len(cfg.Hosts) != len(headers)+1 {
				t.Fatalf("%d blocks, %d headers found", len(cfg.Hosts)-1, len(headers))
			}
			for _, h := range cfg.Hosts {
				for _, n := range h.Nodes {
					if _, ok := n.(*ssh_config.Include); ok {
						t.Fatalf("Include left in %q", clean)
					}
				}
			}
			checkSettingsIndex(t, cfg)
		}
		hosts, err := ParseSSHConfig("fuzz", bytes.NewReader(src), SSHConfigOptions{})
		if err != nil {
			if hosts != nil {
				t.Fatalf("hosts %v along with error %v", hosts, err)
			}
			return
		}
		checkImportedHosts(t, hosts)
	})
}

// checkSettingsIndex fails t unless the indexed lookup of settings agrees
// with matching every block against every alias.
func checkSettingsIndex(t *testing.T, cfg *ssh_config.Config) {
	imp := &sshImport{cfg: cfg}
	imp.index()
	for _, b := range cfg.Hosts {
		for _, p := range b.Patterns {
			alias := p.String()
			want := map[string]*ssh_config.KV{}
			for _, h := range cfg.Hosts {
				for _, n := range h.Nodes {
					if kv, ok := n.(*ssh_config.KV); ok && h.Matches(alias) && want[strings.ToLower(kv.Key)] == nil {
						want[strings.ToLower(kv.Key)] = kv
					}
				}
			}
			if got := imp.settings(alias); !reflect.DeepEqual(got, want) {
				t.Fatalf("settings(%q) = %v, want %v", alias, got, want)
			}
		}
	}
}

// checkImportedHosts fails t unless every host is one an importer may return.
func checkImportedHosts(t *testing.T, hosts []Host) {
	t.Helper()
	seen := map[string]bool{}
	for _, h := range hosts {
		switch {
		case !ValidHostName(h.Name):
			t.Fatalf("invalid host name %q", h.Name)
		case !ValidAddress(h.Address):
			t.Fatalf("host %q: invalid address %q", h.Name, h.Address)
		case h.Port < 0 || h.Port > 65535:
			t.Fatalf("host %q: port %d out of range", h.Name, h.Port)
		case seen[h.Name]:
			t.Fatalf("host %q returned twice", h.Name)
		}
		seen[h.Name] = true
		for _, r := range h.Roles {
			if !ValidRole(r) {
				t.Fatalf("host %q: invalid role %q", h.Name, r)
			}
		}
		if h.Env != "" && !ValidEnvName(h.Env) {
			t.Fatalf("host %q: invalid env %q", h.Name, h.Env)
		}
	}
}
