package inventory

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseAnsibleINISample(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "hosts.ini"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hosts, envs, err := ParseAnsibleINI("hosts.ini", f, AnsibleOptions{})
	if err != nil {
		t.Fatalf("ParseAnsibleINI: %v", err)
	}
	prod := func(name, addr string, port int, user string, roles ...string) Host {
		return Host{Name: name, Address: addr, Port: port, User: user, Env: "production", Roles: roles, IdentityFile: "~/.ssh/prod_ed25519"}
	}
	stage := func(name string) Host {
		return Host{Name: name, Address: name, User: "stage-deploy", Env: "staging", Roles: []string{"staging-web"}}
	}
	replica := prod("db-replica", "10.0.2.11", 0, "deploy", "db")
	replica.IdentityFile = "~/.ssh/db key"
	want := []Host{
		{Name: "admin.example.com", Address: "admin.example.com", User: "root"},
		prod("web01.prod.example.com", "web01.prod.example.com", 2200, "deploy", "web-servers"),
		prod("web02.prod.example.com", "web02.prod.example.com", 2200, "deploy", "web-servers"),
		prod("web03.prod.example.com", "web03.prod.example.com", 2200, "deploy", "web-servers"),
		prod("web-canary.prod.example.com", "10.0.1.50", 2222, "deploy", "web-servers"),
		prod("db1.prod.example.com", "10.0.2.10", 0, "postgres", "db"),
		replica,
		prod("cachea.prod.example.com", "cachea.prod.example.com", 0, "deploy", "cache"),
		prod("cacheb.prod.example.com", "cacheb.prod.example.com", 0, "deploy", "cache"),
		prod("lb1.prod.example.com", "lb1.prod.example.com", 0, "deploy", "loadbalancers"),
		stage("web1.staging.example.com"),
		stage("web3.staging.example.com"),
		stage("web5.staging.example.com"),
		{Name: "db.staging.example.com", Address: "10.9.2.10", User: "ops", Env: "staging"},
	}
	if len(hosts) != len(want) {
		t.Errorf("%d hosts, want %d", len(hosts), len(want))
	}
	for i := range min(len(hosts), len(want)) {
		if !reflect.DeepEqual(hosts[i], want[i]) {
			t.Errorf("host %d:\n got %+v\nwant %+v", i, hosts[i], want[i])
		}
	}
	if wantEnvs := []Environment{{Name: "staging"}, {Name: "production"}}; !reflect.DeepEqual(envs, wantEnvs) {
		t.Errorf("environments %+v, want %+v", envs, wantEnvs)
	}
	// The result must load into a fleet that validates.
	var fleet Fleet
	fleet.Merge(hosts, envs)
	if err := Validate(&fleet); err != nil {
		t.Errorf("imported fleet does not validate: %v", err)
	}
}

func TestParseAnsibleINI(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		opt      AnsibleOptions
		want     []Host
		wantEnvs []string
	}{
		{
			name: "ungrouped hosts and special groups",
			src:  "a\n[ungrouped]\nb\n[all]\nc\n",
			want: []Host{{Name: "a", Address: "a"}, {Name: "b", Address: "b"}, {Name: "c", Address: "c"}},
		},
		{
			name: "quoted values and comments",
			src: "[web]\n" +
				`a ansible_user="de ploy" ansible_ssh_private_key_file='~/k #1' other="x\"y" # comment` + "\n" +
				"b ansible_host=10.0.0.2#comment\n",
			want: []Host{
				{Name: "a", Address: "a", User: "de ploy", IdentityFile: "~/k #1", Roles: []string{"web"}},
				{Name: "b", Address: "10.0.0.2", Roles: []string{"web"}},
			},
		},
		{
			name: "host:port and old variable names",
			src:  "[web]\na:2022\nb:2022 ansible_ssh_port=2023 ansible_ssh_host=b.example.com ansible_ssh_user=u\nc[1:3:2]:22\n",
			want: []Host{
				{Name: "a", Address: "a", Port: 2022, Roles: []string{"web"}},
				{Name: "b", Address: "b.example.com", Port: 2023, User: "u", Roles: []string{"web"}},
				{Name: "c1", Address: "c1", Port: 22, Roles: []string{"web"}},
				{Name: "c3", Address: "c3", Port: 22, Roles: []string{"web"}},
			},
		},
		{
			name: "ranges",
			src:  "[r]\nn[8:11]\np[008:010]\nq[a:c]x\ns[1:7:3]\nt[y:B]\nu[:1]-[a:b]\nv[1:3:2000000000]\nw[a:c:2000000000]\n",
			want: rangeHosts("n8", "n9", "n10", "n11", "p008", "p009", "p010", "qax", "qbx", "qcx",
				"s1", "s4", "s7", "ty", "tz", "tA", "tB", "u0-a", "u0-b", "u1-a", "u1-b", "v1", "wa"),
		},
		{
			name: "role names sanitized",
			src:  "[Web_Servers]\na\n[db.primary]\na\n[web-servers]\na\n",
			want: []Host{{Name: "a", Address: "a", Roles: []string{"web-servers", "db-primary"}}},
		},
		{
			name:     "membership flows down children",
			src:      "[app]\na\n[backend:children]\napp\n[prod:children]\nbackend\n",
			want:     []Host{{Name: "a", Address: "a", Env: "prod", Roles: []string{"app", "backend"}}},
			wantEnvs: []string{"prod"},
		},
		{
			name:     "child vars win over parent vars, host vars over both",
			src:      "[all:vars]\nansible_user=all\nansible_port=1\n[p:vars]\nansible_user=p\n[p:children]\nc\n[c:vars]\nansible_user=c\n[c]\nx\ny ansible_user=y\n[p]\nz\n",
			want:     []Host{{Name: "x", Address: "x", Port: 1, User: "c", Roles: []string{"c", "p"}}, {Name: "y", Address: "y", Port: 1, User: "y", Roles: []string{"c", "p"}}, {Name: "z", Address: "z", Port: 1, User: "p", Roles: []string{"p"}}},
			wantEnvs: nil,
		},
		{
			name:     "sibling groups at the same depth: last name wins",
			src:      "[b:vars]\nansible_user=b\n[a:vars]\nansible_user=a\n[a]\nh\n[b]\nh\n",
			want:     []Host{{Name: "h", Address: "h", User: "b", Roles: []string{"a", "b"}}},
			wantEnvs: nil,
		},
		{
			name:     "env groups given explicitly",
			src:      "[prod_eu]\na\n[staging]\nb\n",
			opt:      AnsibleOptions{EnvGroups: []string{"prod_eu"}},
			want:     []Host{{Name: "a", Address: "a", Env: "prod_eu"}, {Name: "b", Address: "b", Roles: []string{"staging"}}},
			wantEnvs: []string{"prod_eu"},
		},
		{
			name:     "known envs and env groups without hosts",
			src:      "[Sandbox]\na\n[qa:children]\n[uat]\n",
			opt:      AnsibleOptions{KnownEnvs: []string{"sandbox"}},
			want:     []Host{{Name: "a", Address: "a", Env: "sandbox"}},
			wantEnvs: []string{"sandbox", "qa", "uat"},
		},
		{
			name:     "same env twice is no conflict",
			src:      "[prod]\na\n[web]\na\n[prod:children]\nweb\n",
			want:     []Host{{Name: "a", Address: "a", Env: "prod", Roles: []string{"web"}}},
			wantEnvs: []string{"prod"},
		},
		{
			name: "CRLF, BOM, blank lines, header comments",
			src:  "\ufeff# x\r\n\r\n[web]   # the web tier\r\n  a  \r\n",
			want: []Host{{Name: "a", Address: "a", Roles: []string{"web"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hosts, envs, err := ParseAnsibleINI("inv", strings.NewReader(tt.src), tt.opt)
			if err != nil {
				t.Fatalf("ParseAnsibleINI: %v", err)
			}
			if !reflect.DeepEqual(hosts, tt.want) {
				t.Errorf("hosts:\n got %+v\nwant %+v", hosts, tt.want)
			}
			var names []string
			for _, e := range envs {
				names = append(names, e.Name)
			}
			if !reflect.DeepEqual(names, tt.wantEnvs) {
				t.Errorf("environments %q, want %q", names, tt.wantEnvs)
			}
		})
	}
}

// deepGroups returns an inventory whose groups g0 ... gN nest as children.
func deepGroups(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "[g%d:children]\ng%d\n", i, i+1)
	}
	fmt.Fprintf(&b, "[g%d]\nh\n", n)
	return b.String()
}

// rangeHosts returns hosts of role r named as given.
func rangeHosts(names ...string) []Host {
	hosts := make([]Host, len(names))
	for i, n := range names {
		hosts[i] = Host{Name: n, Address: n, Roles: []string{"r"}}
	}
	return hosts
}

func TestParseAnsibleINIErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		line int    // of the first problem
		msg  string // substring of the first problem
		n    int    // number of problems
	}{
		{"bad port", "[web]\na\nb ansible_port=http\n", 3, `ansible_port: "http" is not a port number`, 1},
		{"port out of range", "[web]\n[web:vars]\nansible_port = 65536\n", 3, "port 65536 out of range", 1},
		{"bad host:port", "[web]\n\na:0\n", 3, "port 0 out of range", 1},
		{"host: without port", "[web]\na:\n", 2, "ends in ':'", 1},
		{"undefined child group", "[web]\na\n[prod:children]\nweb\ndbs\n", 5, `group "dbs" is used but never declared`, 1},
		{"vars for undefined group", "[web:vars]\nansible_user=x\n", 1, `group "web" is used but never declared`, 1},
		{"malformed header", "[web\na\n", 1, `malformed section header "[web"`, 1},
		{"space in header", "[web servers]\na\n", 1, "malformed section header", 1},
		{"unknown section type", "[web:hosts]\na\n", 1, `unknown section type "hosts"`, 1},
		{"unterminated quote", "[web]\na ansible_user=\"deploy\n", 2, "unterminated quote", 1},
		{"unterminated quote in vars", "[web]\n[web:vars]\nansible_user='x\n", 3, "unterminated quote", 1},
		{"not key=value", "[web]\na deploy\n", 2, `expected key=value after the host name, got "deploy"`, 1},
		{"vars line without =", "[web]\n[web:vars]\nansible_user\n", 3, "expected key=value in [web:vars]", 1},
		{"two groups on a children line", "[p:children]\na b\n", 2, "expected one group name in [p:children]", 1},
		{"bad range", "[web]\nw[1-3]\n", 2, "bad range [1-3]", 1},
		{"range start after end", "[web]\nw[3:1]\n", 2, "start after end", 1},
		{"range mixes letters and numbers", "[web]\nw[a:3]\n", 2, "both numbers or both single letters", 1},
		{"range padding width", "[web]\nw[01:100]\n", 2, "same width", 1},
		{"range without end", "[web]\nw[1:]\n", 2, "no end", 1},
		{"range bad step", "[web]\nw[1:3:0]\n", 2, "step", 1},
		{"range huge step", "[web]\nw[a:c:9223372036854775807]\n", 2, "step", 1},
		{"range unclosed", "[web]\nw[1:3\n", 2, "no closing", 1},
		{"range too large", "[web]\nw[0:99999]\n", 2, "more than 10000 hosts", 1},
		{"ranges multiply too large", "[web]\nw[0:999][0:999]\n", 2, "more than 10000 hosts", 1},
		{"too many host entries", "[web]\n" + strings.Repeat("w[0:9999]\n", 11), 12, "more than 100000 host entries", 1},
		{"groups nested too deep", deepGroups(70), 2 * 64, `group "g64" nests more than 64 groups deep`, 1},
		{"invalid host name", "[web]\nok\n-bad\n", 3, `invalid host name "-bad"`, 1},
		{"name that is no address", "[web]\nweb-\n", 2, `host "web-" has no ansible_host`, 1},
		{"bad ansible_host", "[web]\na ansible_host=\"{{ lookup('env','X') }}\"\n", 2, "not a valid address", 1},
		{"group cannot be a role", "[__]\na\n", 1, `group "__" cannot be made a role name`, 1},
		{"group cannot be an env", "[web]\na\n[prod.eu]\na\n", 3, `group "prod.eu" cannot name an environment`, 1},
		{"cycle", "[a:children]\nb\n[b:children]\nc\n[c:children]\na\n", 6, "group cycle in children: a -> b -> c -> a", 1},
		{"self cycle", "[web]\nh\n[web:children]\nweb\n", 4, "web -> web", 1},
		{"host in two envs", "[production]\nh1\nh2\n[staging]\nh3\nh2\n", 6, `host "h2" is in two environment groups: "production" and "staging"`, 1},
		{"two envs through children", "[web]\nh\n[prod:children]\nweb\n[dev]\nh\n", 6, `"prod" and "dev"`, 1},
		{"all problems together", "[web]\na ansible_port=x\n[db\nb ansible_port=0\n", 2, `"x" is not a port number`, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := AnsibleOptions{KnownEnvs: []string{"prod.eu"}}
			hosts, envs, err := ParseAnsibleINI("hosts.ini", strings.NewReader(tt.src), opt)
			if hosts != nil || envs != nil {
				t.Errorf("got hosts %v and environments %v along with an error", hosts, envs)
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error %v (%T) is not Problems", err, err)
			}
			if len(ps) != tt.n {
				t.Errorf("%d problems, want %d: %v", len(ps), tt.n, ps)
			}
			p := ps[0]
			if p.File != "hosts.ini" || p.Line != tt.line || !strings.Contains(p.Msg, tt.msg) {
				t.Errorf("problem %s:%d: %q, want hosts.ini:%d containing %q", p.File, p.Line, p.Msg, tt.line, tt.msg)
			}
		})
	}
}

func TestSplitAnsibleLine(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`a b=c`, []string{"a", "b=c"}},
		{`a  b="c d"  e='f "g"'`, []string{"a", "b=c d", `e=f "g"`}},
		{`a b="x\"y\\z\n"`, []string{"a", `b=x"y\z\n`}},
		{`a\ b c\#d #e`, []string{"a b", "c#d"}},
		{`a "" ''`, []string{"a", "", ""}},
		{`x=a'b c'd`, []string{"x=ab cd"}},
	}
	for _, tt := range tests {
		got, err := splitAnsibleLine(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitAnsibleLine(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{`a "b`, `a 'b`, `a\`, `a "b\"`} {
		if got, err := splitAnsibleLine(in); err == nil {
			t.Errorf("splitAnsibleLine(%q) = %q, want an error", in, got)
		}
	}
}

func FuzzParseAnsibleINI(f *testing.F) {
	f.Add([]byte("a\n[web]\nw[01:03] ansible_port=22\n[prod:children]\nweb\n"))
	f.Add([]byte("[x:vars]\nansible_host = 10.0.0.1\n[x]\nh ansible_user=\"a b\" # c\n"))
	f.Add([]byte("[a:children]\nb\n[b:children]\na\n"))
	f.Add([]byte("[r]\nq[a:c]x[1:9:4]:2222\n"))
	if b, err := os.ReadFile(filepath.Join("testdata", "hosts.ini")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		hosts, envs, err := ParseAnsibleINI("fuzz", strings.NewReader(string(src)), AnsibleOptions{})
		if err != nil {
			if hosts != nil || envs != nil {
				t.Fatalf("result along with error %v", err)
			}
			return
		}
		checkImportedHosts(t, hosts)
		names := map[string]bool{}
		for _, e := range envs {
			if !ValidEnvName(e.Name) || names[e.Name] {
				t.Fatalf("bad or repeated environment %q", e.Name)
			}
			names[e.Name] = true
		}
		for _, h := range hosts {
			if h.Env != "" && !names[h.Env] {
				t.Fatalf("host %q: environment %q not returned", h.Name, h.Env)
			}
		}
	})
}
