package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
)

// Scope is what an operator names for a deploy, rollback, migrate, unlock
// or balancer repair: an app and an environment (either may be empty when
// the inventory has only one), and optionally a role or host names that
// narrow the hosts.
type Scope struct {
	App, Env string
	Role     string
	Hosts    []string
}

// Target is a Scope resolved in the inventory read for it: the app, the
// environment and the hosts an operation works on.
type Target struct {
	Fleet  *inventory.Fleet
	App    inventory.App
	Env    inventory.Environment
	Select deploy.HostSelection // how Hosts were picked
	Hosts  []inventory.Host
}

// Balancers are the environment's load balancers: each batch is drained
// from them, and a repair puts their backends back.
func (t Target) Balancers() []inventory.Host {
	return t.Fleet.Select(inventory.Filter{Env: t.Env.Name, Role: deploy.RoleLB})
}

// UnknownNameError says a name the operator gave is not in the
// inventory; its text suggests the closest name, or lists the known ones.
type UnknownNameError struct {
	Kind, Name string // e.g. "app", "shop"
	Known      []string
}

func (e *UnknownNameError) Error() string {
	if best := inventory.Closest(e.Name, e.Known); best != "" {
		return fmt.Sprintf("unknown %s %q (did you mean %q?)", e.Kind, e.Name, best)
	}
	if len(e.Known) > 0 && len(e.Known) <= 12 {
		return fmt.Sprintf("unknown %s %q (known: %s)", e.Kind, e.Name, strings.Join(e.Known, ", "))
	}
	return fmt.Sprintf("unknown %s %q (see opsui inventory list)", e.Kind, e.Name)
}

// Target reads the inventory and resolves sc in it (Resolve).
func (s *Service) Target(ctx context.Context, sc Scope) (Target, error) {
	f, err := s.Store.LoadFleet(ctx)
	if err != nil {
		return Target{}, err
	}
	return Resolve(f, sc)
}

// Resolve finds sc's app, environment and hosts in f. An unknown name is
// an *UnknownNameError; an app or environment left out where f has
// several is an *InvalidError naming the choices.
func Resolve(f *inventory.Fleet, sc Scope) (Target, error) {
	tg := Target{Fleet: f}
	if sc.App == "" && len(f.Apps) == 0 {
		return tg, errors.New("the inventory has no app (add one to the fleet file and import it)")
	}
	var err error
	if tg.App, err = choose("app", "app", sc.App, f.Apps, f.App, AppNames(f)); err != nil {
		return tg, err
	}
	if tg.Env, err = choose("environment", "env", sc.Env, f.Environments, f.Environment, EnvNames(f)); err != nil {
		return tg, err
	}
	for _, n := range sc.Hosts {
		h, ok := f.Host(n)
		if !ok {
			return tg, &UnknownNameError{Kind: "host", Name: n, Known: HostNames(f)}
		}
		if h.Env != tg.Env.Name {
			return tg, fmt.Errorf("host %s is in environment %q, not %s", n, h.Env, tg.Env.Name)
		}
	}
	tg.Select = deploy.HostSelection{Role: sc.Role, Names: sc.Hosts}
	tg.Hosts = deploy.SelectHosts(f, tg.Env.Name, tg.Select)
	if len(tg.Hosts) == 0 {
		return tg, fmt.Errorf("no host of %s to deploy %s to (hosts need one of the roles %s, or pick them with --role/--host)",
			tg.Env.Name, tg.App.Name, strings.Join(deploy.DeployRoles, ", "))
	}
	return tg, nil
}

// Select returns f's hosts that flt selects (its Names only those hosts),
// refusing an unknown host or environment name (*UnknownNameError) and a
// selection of no host: the hosts of an ad-hoc command or a logs follow.
func Select(f *inventory.Fleet, flt inventory.Filter) ([]inventory.Host, error) {
	if err := checkNames(f, flt.Env, flt.Names); err != nil {
		return nil, err
	}
	hosts := f.Select(flt)
	if len(hosts) == 0 {
		return nil, errors.New("no host matches the selection (see opsui inventory list)")
	}
	return hosts, nil
}

// checkNames refuses a host or environment name f does not have.
func checkNames(f *inventory.Fleet, env string, hosts []string) error {
	for _, n := range hosts {
		if _, ok := f.Host(n); !ok {
			return &UnknownNameError{Kind: "host", Name: n, Known: HostNames(f)}
		}
	}
	if env != "" {
		if _, ok := f.Environment(env); !ok {
			return &UnknownNameError{Kind: "environment", Name: env, Known: EnvNames(f)}
		}
	}
	return nil
}

// choose finds the one of items named name (an *UnknownNameError when
// none is), else the only one; several and no name is an *InvalidError
// asking for the flag.
func choose[T any](kind, flag, name string, items []T, find func(string) (T, bool), names []string) (T, error) {
	var zero T
	switch {
	case name != "":
		it, ok := find(name)
		if !ok {
			return zero, &UnknownNameError{Kind: kind, Name: name, Known: names}
		}
		return it, nil
	case len(items) == 1:
		return items[0], nil
	}
	return zero, &InvalidError{fmt.Errorf("which %s? --%s one of %s", kind, flag, strings.Join(names, ", "))}
}

// App finds the app named name in the inventory.
func (s *Service) App(ctx context.Context, name string) (inventory.App, error) {
	f, err := s.Store.LoadFleet(ctx)
	if err != nil {
		return inventory.App{}, err
	}
	a, ok := f.App(name)
	if !ok {
		return a, &UnknownNameError{Kind: "app", Name: name, Known: AppNames(f)}
	}
	return a, nil
}

// AppNames are the names of f's apps, in inventory order.
func AppNames(f *inventory.Fleet) []string {
	return names(f.Apps, func(a inventory.App) string { return a.Name })
}

// EnvNames are the names of f's environments, in inventory order.
func EnvNames(f *inventory.Fleet) []string {
	return names(f.Environments, func(e inventory.Environment) string { return e.Name })
}

// HostNames are the names of f's hosts, in inventory order.
func HostNames(f *inventory.Fleet) []string {
	return names(f.Hosts, func(h inventory.Host) string { return h.Name })
}

func names[T any](xs []T, name func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = name(x)
	}
	return out
}
