package fleet

import (
	"cmp"

	"github.com/opsui/opsui/inventory"
)

// drift indexes a fleet's hosts by drift group (environment and role,
// groupKey) and tallies, per group, the releases its reachable hosts run,
// so that a chunk of probes updates only its own hosts' marks unless a
// group's majority changes: a 2 000-host round lands in 80 chunks or
// more, each one an Apply, and each chunk touches nearly every group.
type drift struct {
	fleet   *inventory.Fleet
	members map[string][]string // group key -> host names, in fleet order
	groupOf map[string]string   // host name -> group key
	// tally counts, per group, its reachable hosts by release; counted is
	// the release each host is counted under (absent: not counted).
	tally   map[string]map[string]int
	counted map[string]string
	// best is each group's majority release; absent when fewer than two
	// of its hosts are reachable.
	best map[string]string
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

// count moves host's tally to what s says (reachable, which release).
func (d *drift) count(host, group string, s *hostState) {
	if rel, ok := d.counted[host]; ok {
		if d.tally[group][rel]--; d.tally[group][rel] <= 0 {
			delete(d.tally[group], rel)
		}
		delete(d.counted, host)
	}
	if s == nil || !s.probe.Reachable {
		return
	}
	if d.tally[group] == nil {
		d.tally[group] = map[string]int{}
	}
	d.tally[group][s.probe.Release]++
	d.counted[host] = s.probe.Release
}

// majority is the release most of group's reachable hosts run, ties going
// to the newest id (the greatest); false when fewer than two are reachable.
func (d *drift) majority(group string) (string, bool) {
	best, bestN, n := "", 0, 0
	for rel, c := range d.tally[group] {
		n += c
		if c > bestN || (c == bestN && cmp.Compare(rel, best) > 0) {
			best, bestN = rel, c
		}
	}
	return best, n >= 2
}

// ComputeDrift finds, in each environment+role group, the release most of
// its reachable hosts run (ties go to the newest id, then to having one) and
// marks the hosts that run another.
func (b *Board) ComputeDrift(fleet *inventory.Fleet) {
	d := &b.groups
	d.index(fleet)
	d.tally, d.counted, d.best = map[string]map[string]int{}, map[string]string{}, map[string]string{}
	clear(b.majority)
	clear(b.drift)
	for k, names := range d.members {
		for _, n := range names {
			d.count(n, k, b.hosts[n])
		}
		b.markGroup(k)
	}
	b.recountEnv()
}

// updateDrift updates the tallies of the touched hosts and their marks;
// a group whose majority changed is marked again whole (all groups when
// the fleet is not the one indexed).
func (b *Board) updateDrift(fleet *inventory.Fleet, touched map[string]bool) {
	d := &b.groups
	if d.index(fleet) || d.tally == nil {
		b.ComputeDrift(fleet)
		return
	}
	byGroup := map[string][]string{}
	for host := range touched {
		if k, ok := d.groupOf[host]; ok {
			d.count(host, k, b.hosts[host])
			byGroup[k] = append(byGroup[k], host)
		}
	}
	for k, hosts := range byGroup {
		best, ok := d.majority(k)
		if was, had := d.best[k]; ok != had || best != was {
			b.markGroup(k)
			continue
		}
		for _, n := range hosts {
			b.mark(n, best, ok)
		}
	}
}

// markGroup marks every host of group against its majority.
func (b *Board) markGroup(group string) {
	best, ok := b.groups.majority(group)
	if ok {
		b.groups.best[group] = best
	} else {
		delete(b.groups.best, group)
	}
	for _, n := range b.groups.members[group] {
		b.mark(n, best, ok)
	}
}

// mark sets host's majority and drift: a reachable host of a group with a
// majority (ok) drifts when it runs another release.
func (b *Board) mark(host, best string, ok bool) {
	defer b.driftMoved(host, b.drift[host])
	delete(b.majority, host)
	delete(b.drift, host)
	s := b.hosts[host]
	if !ok || s == nil || !s.probe.Reachable {
		return
	}
	b.majority[host] = best
	if s.probe.Release != best {
		b.drift[host] = true
	}
}
