package ops

import (
	"errors"
	"strings"
	"testing"

	"github.com/opsui/opsui/inventory"
)

// TestResolve: a scope resolves to its app, environment and hosts, with
// the errors the CLI and the console show: an unknown name suggests or
// lists the known ones, an app or environment left out where there are
// several is an *InvalidError naming the choices.
func TestResolve(t *testing.T) {
	t.Parallel()
	f := &inventory.Fleet{
		Environments: []inventory.Environment{{Name: "staging"}, {Name: "production"}},
		Apps:         []inventory.App{{Name: "shop"}, {Name: "blog"}},
		Hosts: []inventory.Host{
			{Name: "web1", Env: "staging", Roles: []string{"web"}},
			{Name: "cache1", Env: "staging", Roles: []string{"cache"}},
			{Name: "web2", Env: "production", Roles: []string{"web"}},
		},
	}
	tg, err := Resolve(f, Scope{App: "shop", Env: "staging"})
	if err != nil || tg.App.Name != "shop" || tg.Env.Name != "staging" || len(tg.Hosts) != 1 || tg.Hosts[0].Name != "web1" || tg.Fleet != f {
		t.Fatalf("Resolve: %+v %v", tg, err)
	}
	if tg, err = Resolve(f, Scope{App: "shop", Env: "staging", Role: "cache"}); err != nil || len(tg.Hosts) != 1 || tg.Hosts[0].Name != "cache1" ||
		tg.Select.Role != "cache" {
		t.Fatalf("Resolve --role cache: %+v %v", tg, err)
	}
	for _, tc := range []struct {
		sc      Scope
		want    string
		unknown bool // an *UnknownNameError
		invalid bool // an *InvalidError
	}{
		{Scope{App: "shpo", Env: "staging"}, `unknown app "shpo" (did you mean "shop"?)`, true, false},
		{Scope{App: "wiki", Env: "staging"}, `unknown app "wiki" (known: shop, blog)`, true, false},
		{Scope{App: "shop", Env: "qa"}, `unknown environment "qa" (known: staging, production)`, true, false},
		{Scope{App: "shop", Env: "staging", Hosts: []string{"web9"}}, `unknown host "web9"`, true, false},
		{Scope{Env: "staging"}, "which app? --app one of shop, blog", false, true},
		{Scope{App: "shop"}, "which environment? --env one of staging, production", false, true},
		{Scope{App: "shop", Env: "staging", Hosts: []string{"web2"}}, `host web2 is in environment "production", not staging`, false, false},
		{Scope{App: "shop", Env: "staging", Role: "db"}, "no host of staging to deploy shop to", false, false},
	} {
		_, err := Resolve(f, tc.sc)
		var ue *UnknownNameError
		var ie *InvalidError
		if err == nil || !strings.Contains(err.Error(), tc.want) || errors.As(err, &ue) != tc.unknown || errors.As(err, &ie) != tc.invalid {
			t.Errorf("%+v: %v; want %q", tc.sc, err, tc.want)
		}
	}
	one := &inventory.Fleet{Environments: f.Environments[:1], Apps: f.Apps[:1], Hosts: f.Hosts}
	if tg, err := Resolve(one, Scope{}); err != nil || tg.App.Name != "shop" || tg.Env.Name != "staging" {
		t.Errorf("the only app and environment: %+v %v", tg, err)
	}
	if _, err := Resolve(&inventory.Fleet{}, Scope{}); err == nil || !strings.Contains(err.Error(), "no app") {
		t.Errorf("no app: %v", err)
	}
}

// TestSelect: the hosts of an ad-hoc command or a logs follow; unknown
// names are *UnknownNameErrors, an empty selection an error.
func TestSelect(t *testing.T) {
	f := &inventory.Fleet{
		Environments: []inventory.Environment{{Name: "staging"}, {Name: "production"}},
		Hosts: []inventory.Host{
			{Name: "web1", Env: "staging", Roles: []string{"web"}},
			{Name: "db1", Env: "staging", Roles: []string{"db"}},
			{Name: "web2", Env: "production", Roles: []string{"web"}},
		},
	}
	cases := []struct {
		flt     inventory.Filter
		want    string // host names, or the error
		unknown string // the kind of the unknown name
	}{
		{inventory.Filter{Env: "staging"}, "web1,db1", ""},
		{inventory.Filter{Role: "web"}, "web1,web2", ""},
		{inventory.Filter{Names: []string{"db1"}}, "db1", ""},
		{inventory.Filter{Env: "prod"}, `unknown environment "prod" (known: staging, production)`, "environment"},
		{inventory.Filter{Names: []string{"web3"}}, `unknown host "web3" (did you mean "web1"?)`, "host"},
		{inventory.Filter{Env: "production", Role: "db"}, "no host matches the selection (see opsui inventory list)", ""},
	}
	for _, c := range cases {
		hosts, err := Select(f, c.flt)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			for i, h := range hosts {
				if i > 0 {
					got += ","
				}
				got += h.Name
			}
		}
		var ue *UnknownNameError
		if got != c.want || (c.unknown != "") != errors.As(err, &ue) || ue != nil && ue.Kind != c.unknown {
			t.Errorf("Select(%+v) = %q, want %q (unknown %q)", c.flt, got, c.want, c.unknown)
		}
	}
}
