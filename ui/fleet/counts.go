package fleet

import (
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
)

// The header's counts are kept as probes land rather than counted over
// every host after each chunk: a 2 000-host round lands in 80 chunks or
// more, and counting all hosts (and every balancer's backends) after each
// one made the header the biggest part of a chunk's Update.

// tally is the part of Counts that the probes decide, and how many
// hosts drift by their environment alone (for AnyDrift).
type tally struct {
	states Counts // Healthy, Failing, HealthUnknown, Up, Down
	// envDrifting counts the hosts whose shared/.env differs; envOnly
	// those of them whose release does not drift.
	envDrifting, envOnly int
}

// add counts p's host n times (1 for its newest probe, -1 for the probe
// it replaces), under one of the states Counts tells apart.
func (t *tally) add(p remote.Probe, n int) {
	c := &t.states
	if !p.Reachable {
		c.Down += n
		return
	}
	switch p.Health {
	case remote.HealthOK:
		c.Healthy += n
	case remote.HealthFailed:
		c.Failing += n
	case remote.HealthUnknown:
		c.HealthUnknown += n
	default:
		c.Up += n
	}
}

// Counts is how the probed hosts stand, for the header: O(1), the tallies
// being kept by Apply, mark and ApplyEnvDrift.
func (b *Board) Counts() Counts {
	c := b.tally.states
	c.Drift, c.Drained = len(b.drift), len(b.drained)
	c.EnvDrift, c.AnyDrift = b.tally.envDrifting, len(b.drift)+b.tally.envOnly
	return c
}

// driftMoved keeps envOnly right when host's release drift went from was
// to what b.drift says now.
func (b *Board) driftMoved(host string, was bool) {
	if now := b.drift[host]; now != was && len(b.env.hosts[host]) > 0 {
		if now {
			b.tally.envOnly--
		} else {
			b.tally.envOnly++
		}
	}
}

// recountEnv counts the env-drifting hosts again: after an env drift read,
// or when every release drift mark was redone (ComputeDrift).
func (b *Board) recountEnv() {
	b.tally.envDrifting, b.tally.envOnly = 0, 0
	for h, ds := range b.env.hosts {
		if len(ds) > 0 {
			b.tally.envDrifting++
			if !b.drift[h] {
				b.tally.envOnly++
			}
		}
	}
}

// backend is a web host as its balancers name it.
type backend struct {
	host         string
	addr, server string // deploy.BackendOf
}

// backends are the web hosts of each environment with their backend names,
// for the fleet they were made of: found once per fleet, not once per
// balancer and chunk.
type backends struct {
	fleet *inventory.Fleet
	byEnv map[string][]backend
}

// of returns env's web hosts of fleet.
func (w *backends) of(fleet *inventory.Fleet, env string) []backend {
	if w.fleet != fleet || w.byEnv == nil {
		w.fleet, w.byEnv = fleet, map[string][]backend{}
	}
	list, ok := w.byEnv[env]
	if !ok {
		for _, h := range fleet.Select(inventory.Filter{Env: env, Role: "web"}) {
			addr, server := deploy.BackendOf(fleet, h)
			list = append(list, backend{host: h.Name, addr: addr, server: server})
		}
		w.byEnv[env] = list
	}
	return list
}

// drainedStale reports whether probe p of a host, landing over s, can
// change what the balancers have out of rotation: it replaces a
// balancer's view (computeDrained reads the newest reachable probe's).
func (b *Board) drainedStale(s *hostState, p remote.Probe) bool {
	return p.Reachable && (p.Balancer != nil || s.lastUp.Balancer != nil)
}
