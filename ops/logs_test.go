package ops

import (
	"errors"
	"slices"
	"testing"

	"github.com/opsui/opsui/inventory"
)

// TestLogSources: what the logs command and the console's logs view follow
// on each host: the files given, else the logs of the host's roles (one
// role's with Role; each path once), hosts without any left out and
// named, none at all an *InvalidError.
func TestLogSources(t *testing.T) {
	f := &inventory.Fleet{
		Roles: map[string]inventory.RoleSettings{
			"web": {Logs: []string{"/var/log/nginx/error.log", "/var/log/app.log"}},
			"app": {Logs: []string{"/var/log/app.log", "/var/log/gunicorn.log"}},
		},
		Hosts: []inventory.Host{
			{Name: "web1", Address: "127.0.0.1", Roles: []string{"web", "app"}},
			{Name: "db1", Address: "127.0.0.2", Roles: []string{"db"}},
		},
	}
	svc := &Service{}
	cases := []struct {
		name    string
		q       LogsQuery
		hosts   []inventory.Host
		want    map[string][]string
		without []string
		invalid bool
	}{
		{name: "roles", hosts: f.Hosts, want: map[string][]string{"web1": {"/var/log/nginx/error.log", "/var/log/app.log", "/var/log/gunicorn.log"}}, without: []string{"db1"}},
		{name: "one role", q: LogsQuery{Role: "app"}, hosts: f.Hosts[:1], want: map[string][]string{"web1": {"/var/log/app.log", "/var/log/gunicorn.log"}}},
		{name: "files", q: LogsQuery{Files: []string{"/tmp/x.log"}}, hosts: f.Hosts, want: map[string][]string{"web1": {"/tmp/x.log"}, "db1": {"/tmp/x.log"}}},
		{name: "none", hosts: f.Hosts[1:], without: []string{"db1"}, invalid: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sources, without, err := svc.LogSources(f, c.hosts, c.q)
			var ie *InvalidError
			if c.invalid != errors.As(err, &ie) || !c.invalid && err != nil {
				t.Fatalf("err %v, want invalid %v", err, c.invalid)
			}
			if !slices.Equal(without, c.without) {
				t.Errorf("left out %v, want %v", without, c.without)
			}
			got := map[string][]string{}
			for _, s := range sources {
				got[s.Host.Name] = s.Paths
			}
			if len(got) != len(c.want) {
				t.Fatalf("sources %v, want %v", got, c.want)
			}
			for h, paths := range c.want {
				if !slices.Equal(got[h], paths) {
					t.Errorf("%s: %v, want %v", h, got[h], paths)
				}
			}
		})
	}
}
