package fleet

import (
	"cmp"

	"github.com/opsui/opsui/inventory"
)

// drift indexes a fleet's hosts by drift group (environment and role,
// groupKey), so that a chunk of probes recomputes only its hosts' groups:
// a 2 000-host round lands in 80 chunks or more, each one an Apply.
type drift struct {
	fleet   *inventory.Fleet
	members map[string][]string // group key -> host names, in fleet order
	groupOf map[string]string   // host name -> group key
}

// index makes d the index of fleet, unless it already is.
func (d *drift) index(fleet *inventory.Fleet) (changed bool) {
	if d.fleet == fleet && d.members != nil {
		return false
	}
	d.fleet, d.members, d.groupOf = fleet, map[string][]string{}, map[string]string{}
	for _, h := range fleet.Hosts {
		k := groupKey(h)
		d.members[k] = append(d.members[k], h.Name)
		d.groupOf[h.Name] = k
	}
	return true
}

// ComputeDrift finds, in each environment+role group, the release most of
// its reachable hosts run (ties go to the newest id, then to having one) and
// marks the hosts that run another.
func (b *Board) ComputeDrift(fleet *inventory.Fleet) {
	b.groups.index(fleet)
	b.counts = nil
	clear(b.majority)
	clear(b.drift)
	for _, names := range b.groups.members {
		b.groupDrift(names)
	}
}

// updateDrift recomputes the drift of the groups of the touched hosts
// only (all of them when the fleet is not the one indexed).
func (b *Board) updateDrift(fleet *inventory.Fleet, touched map[string]bool) {
	if b.groups.index(fleet) {
		b.ComputeDrift(fleet)
		return
	}
	done := map[string]bool{}
	for host := range touched {
		k, ok := b.groups.groupOf[host]
		if !ok || done[k] {
			continue
		}
		done[k] = true
		names := b.groups.members[k]
		for _, n := range names {
			delete(b.majority, n)
			delete(b.drift, n)
		}
		b.groupDrift(names)
	}
}

// groupDrift computes one group's majority and drift: over its reachable
// hosts, when there are two or more.
func (b *Board) groupDrift(group []string) {
	var names []string
	for _, n := range group {
		if s := b.hosts[n]; s != nil && s.probe.Reachable {
			names = append(names, n)
		}
	}
	if len(names) < 2 {
		return
	}
	count := map[string]int{}
	for _, n := range names {
		count[b.hosts[n].probe.Release]++
	}
	best := ""
	for rel, c := range count {
		if c > count[best] || (c == count[best] && cmp.Compare(rel, best) > 0) {
			best = rel
		}
	}
	for _, n := range names {
		b.majority[n] = best
		if b.hosts[n].probe.Release != best {
			b.drift[n] = true
		}
	}
}
