package cache

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/opsui/opsui/inventory"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestSpecFor(t *testing.T) {
	getenv := env(map[string]string{"REDIS_PW": "s3cret", "BAD_PW": "a\nb"})
	tests := []struct {
		name    string
		rs      inventory.RoleSettings
		want    Spec
		wantErr string
	}{
		{name: "defaults", want: Spec{Host: "c1", Kind: Memcached, Address: "127.0.0.1", Port: 11211, DB: AllDBs}},
		{name: "service redis", rs: inventory.RoleSettings{Service: "redis-server"},
			want: Spec{Host: "c1", Kind: Redis, Address: "127.0.0.1", Port: 6379, DB: AllDBs}},
		{name: "kind overrides service", rs: inventory.RoleSettings{Service: "redis", Options: map[string]string{"kind": "memcached"}},
			want: Spec{Host: "c1", Kind: Memcached, Address: "127.0.0.1", Port: 11211, DB: AllDBs}},
		{name: "every option", rs: inventory.RoleSettings{Options: map[string]string{"kind": "redis", "address": "10.0.0.5",
			"port": "6380", "db": "2", "password_env": "REDIS_PW", "client": "python3"}},
			want: Spec{Host: "c1", Kind: Redis, Address: "10.0.0.5", Port: 6380, DB: 2, Client: "python3", PasswordEnv: "REDIS_PW", Password: "s3cret"}},
		{name: "custom", rs: inventory.RoleSettings{Options: map[string]string{"flush": "systemctl restart memcached"}},
			want: Spec{Host: "c1", Kind: Memcached, Address: "127.0.0.1", Port: 11211, DB: AllDBs, Custom: "systemctl restart memcached"}},
		{name: "unknown kind", rs: inventory.RoleSettings{Options: map[string]string{"kind": "varnish"}}, wantErr: `unknown cache kind "varnish"`},
		{name: "bad port", rs: inventory.RoleSettings{Options: map[string]string{"port": "eleven"}}, wantErr: `invalid cache port "eleven"`},
		{name: "port out of range", rs: inventory.RoleSettings{Options: map[string]string{"port": "70000"}}, wantErr: `invalid cache port "70000"`},
		{name: "bad address", rs: inventory.RoleSettings{Options: map[string]string{"address": "a b;rm -rf /"}}, wantErr: "invalid cache address"},
		{name: "db on memcached", rs: inventory.RoleSettings{Options: map[string]string{"db": "1"}}, wantErr: "option db is for redis"},
		{name: "negative db", rs: inventory.RoleSettings{Service: "redis", Options: map[string]string{"db": "-1"}}, wantErr: "invalid redis database"},
		{name: "client of the other kind", rs: inventory.RoleSettings{Options: map[string]string{"client": "redis-cli"}}, wantErr: `unknown memcached client "redis-cli"`},
		{name: "password unset", rs: inventory.RoleSettings{Service: "redis", Options: map[string]string{"password_env": "NOPE"}}, wantErr: "$NOPE, which is not set"},
		{name: "password with newline", rs: inventory.RoleSettings{Service: "redis", Options: map[string]string{"password_env": "BAD_PW"}}, wantErr: "line break"},
		{name: "memcached auth", rs: inventory.RoleSettings{Options: map[string]string{"password_env": "REDIS_PW"}}, wantErr: "no authentication"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SpecFor("c1", tt.rs, getenv)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("spec = %+v\nwant   %+v", got, tt.want)
			}
		})
	}
}

func TestPlanMergesRoleDefaultsAndReportsEveryHost(t *testing.T) {
	f := &inventory.Fleet{
		Roles: map[string]inventory.RoleSettings{"cache": {Service: "redis", Options: map[string]string{"port": "6380"}}},
		Hosts: []inventory.Host{
			{Name: "c1", Roles: []string{"cache"}},
			{Name: "c2", Roles: []string{"cache"}, Settings: map[string]inventory.RoleSettings{"cache": {Options: map[string]string{"db": "3"}}}},
		},
	}
	specs, err := Plan(f, f.Hosts, "", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if specs[0].Port != 6380 || specs[0].DB != AllDBs || specs[1].Port != 6380 || specs[1].DB != 3 {
		t.Errorf("specs = %+v", specs)
	}
	if got := specs[1].Server(); got != "redis 127.0.0.1:6380 db 3" {
		t.Errorf("Server() = %q", got)
	}
	f.Hosts[0].Settings = map[string]inventory.RoleSettings{"cache": {Options: map[string]string{"port": "x"}}}
	f.Hosts[1].Settings["cache"].Options["db"] = "y"
	_, err = Plan(f, f.Hosts, "cache", env(nil))
	if err == nil || !strings.Contains(err.Error(), `c1: invalid cache port "x"`) || !strings.Contains(err.Error(), `c2: invalid redis database "y"`) {
		t.Errorf("err = %v", err)
	}
}

func TestSecretIsNeverPrinted(t *testing.T) {
	s := Spec{Host: "c1", Kind: Redis, Address: "127.0.0.1", Port: 6379, DB: AllDBs, PasswordEnv: "PW", Password: "hunter2"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(verb, s); strings.Contains(out, "hunter2") {
			t.Errorf("%s prints the password: %s", verb, out)
		}
	}
	if strings.Contains(s.Command(), "hunter2") {
		t.Errorf("the command holds the password:\n%s", s.Command())
	}
}

func TestCommandQuotesValues(t *testing.T) {
	s := Spec{Host: "c1", Kind: Memcached, Address: "127.0.0.1", Port: 11211, DB: AllDBs, Custom: "echo $OPSUI_CACHE_PORT"}
	cmd := s.Command()
	for _, want := range []string{"OPSUI_CACHE_ADDRESS=127.0.0.1; export", "OPSUI_CACHE_DB=''; export", "\necho $OPSUI_CACHE_PORT\n"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("command lacks %q:\n%s", want, cmd)
		}
	}
	if strings.Contains(cmd, "OPSUI_CACHE_AUTH") {
		t.Errorf("a command without a password reads one:\n%s", cmd)
	}
}

func TestParseOutput(t *testing.T) {
	tests := []struct {
		name  string
		kind  Kind
		db    int
		lines string
		want  Counts
	}{
		{"memcached", Memcached, AllDBs, "## before\nSTAT curr_items 12\nEND\n## flush\nOK\n## crawl\nOK\n## after\nSTAT curr_items 0\nEND",
			Counts{Before: 12, After: 0, Flushed: true}},
		{"memcached without the crawler", Memcached, AllDBs, "## before\nSTAT curr_items 12\nEND\n## flush\nOK\n## crawl\nERROR\n## after\nSTAT curr_items 12\nEND",
			Counts{Before: 12, After: Unknown, Flushed: true, ServerError: "ERROR"}},
		{"redis all databases", Redis, AllDBs, "## before\n# Keyspace\ndb0:keys=3,expires=0,avg_ttl=0\ndb4:keys=2,expires=1,avg_ttl=9\n## flush\nOK\n## after\n# Keyspace\n",
			Counts{Before: 5, After: 0, Flushed: true}},
		{"redis one database", Redis, 4, "## before\n# Keyspace\ndb0:keys=3,expires=0,avg_ttl=0\ndb4:keys=2,expires=1,avg_ttl=9\n## flush\nOK\n## after\n# Keyspace\ndb0:keys=3,expires=0,avg_ttl=0",
			Counts{Before: 2, After: 0, Flushed: true}},
		{"redis dbsize", Redis, 1, "## before\n(integer) 7\n## flush\nOK\n## after\n0", Counts{Before: 7, After: 0, Flushed: true}},
		{"redis auth error", Redis, AllDBs, "## before\nAUTH failed: WRONGPASS invalid username-password pair\nNOAUTH Authentication required.",
			Counts{Before: Unknown, After: Unknown, ServerError: "AUTH failed: WRONGPASS invalid username-password pair"}},
		{"no sections", Redis, AllDBs, "12\nOK", Counts{Before: Unknown, After: Unknown}},
		{"CRLF and noise", Memcached, AllDBs, "motd\r\n## before\r\nSTAT curr_items 3\r\n", Counts{Before: 3, After: Unknown}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseOutput(tt.kind, tt.db, strings.Split(tt.lines, "\n"))
			if got != tt.want {
				t.Errorf("ParseOutput = %+v, want %+v", got, tt.want)
			}
		})
	}
}
