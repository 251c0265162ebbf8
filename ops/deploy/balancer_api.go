package deploy

import (
	"context"
	"maps"
	"slices"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// BalancerOptions say which environment's balancers to work on, outside a
// deploy (opsui lb restore, opsui unlock).
type BalancerOptions struct {
	Conn     remote.Connector
	Fleet    *inventory.Fleet
	App, Env string
	// Targets must hold the environment's hosts with the lb role.
	Targets map[string]remote.Target
	// Store has the records of what opsui drained; what is put back is
	// recorded there.
	Store    *store.Store
	Operator string
	// Note receives what is done (nil: nothing is said).
	Note func(string)
}

// Balancers are an environment's load balancers as opsui found them.
type Balancers struct{ b *balancers }

// DrainedBackend is a web host one of the balancers has out of rotation.
type DrainedBackend struct {
	Balancer, Backend string
	// Opsui is set when opsui drained it (its mark in the upstream file,
	// or its record): a deploy that died left it. Else an operator did.
	Opsui bool
	Why   string // opsui's mark or record
}

// OpenBalancers reads the state of the environment's balancers.
func OpenBalancers(ctx context.Context, o BalancerOptions) (*Balancers, error) {
	b, err := openBalancers(ctx, balancerEnv{conn: o.Conn, fleet: o.Fleet, app: o.App, envName: o.Env,
		lbs: o.Fleet.Select(inventory.Filter{Env: o.Env, Role: RoleLB}), targets: o.Targets, st: o.Store,
		operator: o.Operator, note: o.Note})
	if err != nil {
		return nil, err
	}
	return &Balancers{b}, nil
}

// Drained returns what the balancers have out of rotation, by balancer
// and host.
func (bs *Balancers) Drained() []DrainedBackend {
	var out []DrainedBackend
	for _, lb := range bs.b.lbs {
		for _, n := range slices.Sorted(maps.Keys(lb.down)) {
			out = append(out, DrainedBackend{Balancer: lb.host.Name, Backend: n, Opsui: !lb.initial[n], Why: lb.left[n]})
		}
	}
	return out
}

// PutBack puts back in rotation what opsui drained (of hosts only, when
// given) and, with manual, what an operator marked down too. It returns
// what it put back, as "balancer: host".
func (bs *Balancers) PutBack(ctx context.Context, hosts []string, manual bool) ([]string, error) {
	return bs.b.putBack(ctx, hosts, manual)
}

// BackendOf names web host h to its balancers: its address:port (nginx,
// custom commands) and its HAProxy server name.
func BackendOf(f *inventory.Fleet, h inventory.Host) (addr, server string) {
	be := backendOf(f, h)
	return be.addr, be.server
}
