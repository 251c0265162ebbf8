package run

import (
	"fmt"
	"slices"
	"strings"

	"github.com/opsui/opsui/ops/remote"
)

// An ad-hoc run's hosts are grouped by their whole output: hosts whose
// output is the same (trailing whitespace aside) and who ended the same
// way fold into one group, "38 hosts: ok", the odd ones listed first. The
// feed keeps each host's output as a running hash, updated as its lines
// arrive, so grouping never re-reads a host's lines (the rings drop old
// ones anyway): a line moves its host from one group to another.

// groupMax is the most groups kept; the hosts whose output would make
// another are folded into one overflow group that says so.
const groupMax = 256

// outHash is a running FNV-1a hash of one stream of a host's output with
// trailing whitespace normalised away: each line's trailing blanks, and
// trailing empty lines (counted in blank, hashed once a line follows).
type outHash struct {
	h     uint64 // the hash xor fnvOffset, so the zero value is an empty output
	lines int    // lines hashed
	blank int    // empty lines not hashed yet
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func (o *outHash) add(line string) {
	line = strings.TrimRight(line, " \t\r\v\f")
	if line == "" {
		o.blank++
		return
	}
	h := o.h ^ fnvOffset
	for ; o.blank > 0; o.blank-- {
		h = (h ^ '\n') * fnvPrime
		o.lines++
	}
	for i := 0; i < len(line); i++ {
		h = (h ^ uint64(line[i])) * fnvPrime
	}
	h = (h ^ '\n') * fnvPrime
	o.h, o.lines = h^fnvOffset, o.lines+1
}

// groupKey is what hosts of one group share: how they ended (or that
// they still run) and each stream's output. stdout and stderr are hashed
// apart, so how the two interleave on each host does not split a group.
type groupKey struct {
	state              string
	out, err           uint64
	outLines, errLines int
}

// outGroup is one group: its members, pane indexes in order.
type outGroup struct {
	key      groupKey
	members  []int
	overflow bool
}

// grouping is a feed's groups, kept under the feed's lock.
type grouping struct {
	groups   map[groupKey]*outGroup
	overflow outGroup
	in       []*outGroup // each pane's group
	out, err []outHash   // each pane's output so far
}

func newGrouping(panes int) *grouping {
	g := &grouping{groups: map[groupKey]*outGroup{}, in: make([]*outGroup, panes),
		out: make([]outHash, panes), err: make([]outHash, panes)}
	g.overflow.overflow = true
	return g
}

// groupState is the part of a host's state its group shares: waiting,
// running, ok, the exit status or the class of failure.
func groupState(p *hostPane) string {
	switch p.status {
	case remote.EventQueued, remote.EventConnecting:
		return "waiting"
	case remote.EventExited:
		if p.code == 0 {
			return "ok"
		}
		return fmt.Sprintf("exit %d", p.code)
	case remote.EventFailed:
		if p.err == "not reached" {
			return "not reached"
		}
		return string(p.class)
	}
	return "running"
}

// line adds a line of pane i's output.
func (g *grouping) line(i int, kind remote.EventKind, line string) {
	if kind == remote.EventStderr {
		g.err[i].add(line)
	} else {
		g.out[i].add(line)
	}
}

// place puts pane i (p) in the group of its output and state now.
func (g *grouping) place(i int, p *hostPane) {
	o, e := g.out[i], g.err[i]
	k := groupKey{state: groupState(p), out: o.h, err: e.h, outLines: o.lines, errLines: e.lines}
	if cur := g.in[i]; cur != nil {
		if !cur.overflow && cur.key == k {
			return
		}
		cur.members = remove(cur.members, i)
		if len(cur.members) == 0 && !cur.overflow {
			delete(g.groups, cur.key)
		}
	}
	grp := g.groups[k]
	switch {
	case grp != nil:
	case len(g.groups) < groupMax:
		grp = &outGroup{key: k}
		g.groups[k] = grp
	default:
		grp = &g.overflow
	}
	pos, _ := slices.BinarySearch(grp.members, i)
	grp.members = slices.Insert(grp.members, pos, i)
	g.in[i] = grp
}

func remove(s []int, i int) []int {
	if pos, ok := slices.BinarySearch(s, i); ok {
		return slices.Delete(s, pos, pos+1)
	}
	return s
}

// groupSnapshot is a group as a frame draws it.
type groupSnapshot struct {
	state    string
	members  []int // pane indexes, in order
	lines    int   // lines of output, both streams
	overflow bool
}

// failed reports whether the group's hosts failed.
func (s groupSnapshot) failed() bool {
	switch s.state {
	case "ok", "running", "waiting", "not reached":
		return false
	}
	return !s.overflow
}

// rank orders the groups: failures first, then hosts at work, then the
// ones that ended well, then those not started (held, queued or never
// reached), the overflow last.
func (s groupSnapshot) rank() int {
	switch {
	case s.overflow:
		return 4
	case s.failed():
		return 0
	case s.state == "running":
		return 1
	case s.state == "waiting" || s.state == "not reached":
		return 3
	}
	return 2
}

// Grouping turns on grouping by output; call it before the run starts.
// An ad-hoc command's feed groups, a flow's does not.
func (f *Feed) Grouping() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.grouping != nil {
		return
	}
	f.grouping = newGrouping(len(f.panes))
	for i, p := range f.panes {
		f.grouping.place(i, p)
	}
}

// Grouped reports whether the feed groups its hosts by output.
func (f *Feed) Grouped() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.grouping != nil
}

// groupsSnapshot copies the groups in the order they are listed: the
// odd ones first (failures, then the smaller groups), the largest group
// of hosts that did well last.
func (f *Feed) groupsSnapshot() []groupSnapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.grouping
	if g == nil {
		return nil
	}
	out := make([]groupSnapshot, 0, len(g.groups)+1)
	for _, grp := range g.groups {
		out = append(out, groupSnapshot{state: grp.key.state, members: slices.Clone(grp.members),
			lines: grp.key.outLines + grp.key.errLines})
	}
	slices.SortFunc(out, func(a, b groupSnapshot) int {
		if d := a.rank() - b.rank(); d != 0 {
			return d
		}
		if d := len(a.members) - len(b.members); d != 0 {
			return d
		}
		return a.members[0] - b.members[0]
	})
	if len(g.overflow.members) > 0 {
		out = append(out, groupSnapshot{state: "mixed", members: slices.Clone(g.overflow.members), overflow: true})
	}
	return out
}

// lastLine is pane i's last line that is not blank, "" when it printed none.
func (f *Feed) lastLine(i int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	last := f.panes[i].lines.Last(16)
	for j := len(last) - 1; j >= 0; j-- {
		if s := strings.TrimRight(last[j], " \t\r\v\f"); s != "" {
			return s
		}
	}
	return ""
}
