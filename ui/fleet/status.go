package fleet

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
)

// DefaultRefreshInterval is how often the status panel probes the fleet.
const DefaultRefreshInterval = 5 * time.Second

// hostState is what the status panel knows of one host.
type hostState struct {
	probe     remote.Probe // the newest probe
	lastUp    remote.Probe // the newest probe that reached the host (zero if none)
	downSince time.Time    // the first failed probe of the current outage; zero while up
}

// Board holds every host's newest probe and the drift computed from
// them. Only the root's Update (ui.App) changes it; probes run in
// tea.Cmds and arrive as RoundMsg.
type Board struct {
	enabled  bool
	probe    ProbeFunc // nil: not enabled
	interval time.Duration
	now      func() time.Time
	hosts    map[string]*hostState
	// majority is, per host in a group of two or more probed hosts, the
	// release most of its group runs; drift lists the hosts that differ.
	majority map[string]string
	drift    map[string]bool
	// drained holds, per web host a probed balancer has out of rotation,
	// which balancers and why.
	drained map[string][]drainedBy
	// groups index the fleet's hosts by drift group, for the fleet
	// they were made of; tally keeps the header's counts (counts.go).
	groups   drift
	tally    tally
	env      envDrift // envdrift.go
	round    int      // id of the newest round started
	inflight bool     // a round is under way: ticks start no other
	pending  int      // chunks of the round not back yet
	ticking  bool     // the tick chain runs

	// web names each environment's web hosts to balancers; drainedFor
	// is the fleet drained was computed for.
	web        backends
	drainedFor *inventory.Fleet
}

// NewBoard is a board probing with probe (nil: no status panel) every
// interval (DefaultRefreshInterval when 0).
func NewBoard(probe ProbeFunc, interval time.Duration) *Board {
	if interval <= 0 {
		interval = DefaultRefreshInterval
	}
	return &Board{enabled: probe != nil, probe: probe, interval: interval, now: time.Now,
		hosts: map[string]*hostState{}, majority: map[string]string{}, drift: map[string]bool{}, drained: map[string][]drainedBy{}}
}

// drainedBy is a balancer that has a web host out of rotation.
type drainedBy struct {
	balancer string
	// mark is opsui's drain mark in the upstream file ("" without one:
	// an operator's down, or HAProxy, which keeps no marks).
	mark string
	kind string // nginx, haproxy
}

// computeDrained finds the web hosts the probed balancers of their
// environment have out of rotation, as the balancers last said.
func (b *Board) computeDrained(fleet *inventory.Fleet) {
	clear(b.drained)
	b.drainedFor = fleet
	for _, lb := range fleet.Hosts {
		s := b.hosts[lb.Name]
		if s == nil || s.lastUp.Balancer == nil || !lb.HasRole(deploy.RoleLB) {
			continue
		}
		v := s.lastUp.Balancer
		for _, w := range b.web.of(fleet, lb.Env) {
			key := w.addr
			if v.Kind == "haproxy" {
				key = w.server
			}
			if mark, ok := v.Down[key]; ok {
				b.drained[w.host] = append(b.drained[w.host], drainedBy{balancer: lb.Name, mark: mark, kind: v.Kind})
			}
		}
	}
}

// drainText says which balancers have host out of rotation and why, ""
// when none.
func (b *Board) drainText(host string) string {
	if b == nil {
		return ""
	}
	var parts []string
	for _, d := range b.drained[host] {
		switch {
		case d.mark != "":
			parts = append(parts, d.balancer+": left drained by opsui ("+d.mark+"); the next deploy or opsui lb restore puts it back")
		case d.kind == "nginx":
			parts = append(parts, d.balancer+": marked down by hand; a deploy keeps it down")
		default:
			parts = append(parts, d.balancer+": drained (opsui lb restore puts back what opsui drained)")
		}
	}
	return strings.Join(parts, "; ")
}

// DrainWarnings are the preview's warnings about env's web hosts out of
// a balancer's rotation.
func (b *Board) DrainWarnings(fleet *inventory.Fleet, env string) []string {
	if b == nil || fleet == nil {
		return nil
	}
	var out []string
	for _, h := range fleet.Select(inventory.Filter{Env: env, Role: "web"}) {
		if t := b.drainText(h.Name); t != "" {
			out = append(out, h.Name+" is out of rotation: "+t)
		}
	}
	return out
}

// Status messages: a tick of the refresh interval, and a round's results.
type (
	TickMsg  struct{}
	RoundMsg struct {
		Round  int
		Asked  []string // the chunk's hosts (those answered so far when Partial)
		Probes []remote.Probe
		// Partial says more of the chunk's hosts will come in another
		// RoundMsg: those still waiting for slow hosts.
		Partial bool
	}
)

// Enabled reports whether the fleet is probed: a status panel is shown.
func (b *Board) Enabled() bool { return b.enabled }

// StartTicking starts the chain of refresh ticks, once: nil when it runs
// already or the board is off.
func (b *Board) StartTicking() tea.Cmd {
	if !b.enabled || b.ticking {
		return nil
	}
	b.ticking = true
	return b.Tick()
}

// Round is the newest round started: a RoundMsg of an older one does not
// end the round under way.
func (b *Board) Round() int { return b.round }

// Busy reports whether a round is under way: no other starts.
func (b *Board) Busy() bool { return b.inflight }

// SetClock sets the clock the ages are counted on (tests fix it).
func (b *Board) SetClock(now func() time.Time) { b.now = now }

// DownSince is the first failed probe of host's current outage, zero
// while it is up or not probed.
func (b *Board) DownSince(host string) time.Time {
	if s := b.state(host); s != nil {
		return s.downSince
	}
	return time.Time{}
}

// Probed is how many hosts have a probe.
func (b *Board) Probed() int { return len(b.hosts) }

// Probe is host's newest probe; false when it has none yet.
func (b *Board) Probe(host string) (remote.Probe, bool) {
	if s := b.state(host); s != nil {
		return s.probe, true
	}
	return remote.Probe{}, false
}

// Drifts reports whether host runs another release than the rest of its
// group.
func (b *Board) Drifts(host string) bool { return b.drift[host] }

// Tick is the next refresh tick.
func (b *Board) Tick() tea.Cmd {
	return tea.Tick(b.interval, func(time.Time) tea.Msg { return TickMsg{} })
}

// probeChunk is how many hosts one command of a round probes: results come
// back chunk by chunk, so a few slow hosts do not hold back the others.
const probeChunk = 25

// roundFlush is how long a chunk waits for its slowest hosts before it
// hands over the probes it has: one hung host (answered only at the probe
// timeout) must not hold back its 24 neighbours.
const roundFlush = 500 * time.Millisecond

// chunkProbe is one host's probes (none when the prober failed).
type chunkProbe struct {
	host   string
	probes []remote.Probe
}

// probeChunkCmd probes hosts, each in its own call of probe (the prober
// bounds how many run at once), and returns their probes as they come:
// all in one RoundMsg when they come within roundFlush, else what came in
// a partial RoundMsg batched with a command waiting for the rest.
func probeChunkCmd(round int, fleet *inventory.Fleet, hosts []inventory.Host, probe ProbeFunc) tea.Cmd {
	return func() tea.Msg {
		results := make(chan chunkProbe, len(hosts))
		for _, h := range hosts {
			go func() {
				// The fleet is read only: a reload replaces it, never changes it.
				results <- chunkProbe{host: h.Name, probes: probe(context.Background(), fleet, []inventory.Host{h})}
			}()
		}
		return collectChunk(round, results, len(hosts))()
	}
}

// collectChunk waits for left more probes of results (see probeChunkCmd).
func collectChunk(round int, results <-chan chunkProbe, left int) tea.Cmd {
	return func() tea.Msg {
		msg := RoundMsg{Round: round}
		flush := time.NewTimer(roundFlush)
		defer flush.Stop()
		for left > 0 {
			select {
			case r := <-results:
				msg.Asked = append(msg.Asked, r.host)
				msg.Probes = append(msg.Probes, r.probes...)
				left--
			case <-flush.C:
				if len(msg.Asked) == 0 {
					flush.Reset(roundFlush)
					continue
				}
				msg.Partial = true
				return tea.BatchMsg{func() tea.Msg { return msg }, collectChunk(round, results, left)}
			}
		}
		return msg
	}
}

// ProbeFunc probes hosts of fleet; see ui.Options.Probe.
type ProbeFunc func(ctx context.Context, fleet *inventory.Fleet, hosts []inventory.Host) []remote.Probe

// StartRound returns the commands probing the fleet, a chunk of hosts
// each, or nil while a round is still under way (a slow round delays the
// next; rounds never pile up).
func (b *Board) StartRound(fleet *inventory.Fleet) tea.Cmd {
	probe := b.probe
	if !b.enabled || probe == nil || b.inflight || fleet == nil || len(fleet.Hosts) == 0 {
		return nil
	}
	b.round++
	b.inflight = true
	round := b.round
	var cmds []tea.Cmd
	for start := 0; start < len(fleet.Hosts); start += probeChunk {
		hosts := fleet.Hosts[start:min(start+probeChunk, len(fleet.Hosts))]
		asked := make([]string, len(hosts))
		for i, h := range hosts {
			asked[i] = h.Name
		}
		cmds = append(cmds, probeChunkCmd(round, fleet, hosts, probe))
	}
	b.pending = len(cmds)
	return tea.Batch(cmds...)
}

// Apply records a round's probes and recomputes drift over fleet.
func (b *Board) Apply(msg RoundMsg, fleet *inventory.Fleet) {
	if msg.Round == b.round && !msg.Partial {
		if b.pending--; b.pending <= 0 {
			b.inflight = false
		}
	}
	touched := map[string]bool{}
	drained := b.drainedFor != fleet
	for _, p := range msg.Probes {
		touched[p.Host] = true
		s := b.hosts[p.Host]
		if s == nil {
			s = &hostState{}
			b.hosts[p.Host] = s
		} else if !s.probe.At.IsZero() && p.At.Before(s.probe.At) {
			continue // an older result than the one shown
		} else {
			b.tally.add(s.probe, -1)
		}
		b.tally.add(p, 1)
		drained = drained || b.drainedStale(s, p)
		s.probe = p
		if p.Reachable {
			s.lastUp, s.downSince = p, time.Time{}
		} else if s.downSince.IsZero() {
			s.downSince = p.At
		}
	}
	b.updateDrift(fleet, touched)
	if drained {
		b.computeDrained(fleet)
	}
}

// state returns the host's state, nil when it was never probed.
func (b *Board) state(host string) *hostState {
	if b == nil {
		return nil
	}
	return b.hosts[host]
}

// stale reports whether s's newest probe is too old to trust: the rounds
// are late (a slow host, a suspended laptop).
func (b *Board) stale(s *hostState) (age time.Duration, stale bool) {
	age = b.now().Sub(s.probe.At)
	return age, age > 3*b.interval+remote.DefaultProbeTimeout
}

// Counts is how the probed hosts stand, for the header: a reachable host
// counts as healthy or failing by its health check, as up when its roles
// define none, so that a failing check is never hidden in an "up" count.
type Counts struct {
	Healthy, Failing, HealthUnknown int
	Up                              int // reachable, no health check
	Down                            int
	Drift, Drained                  int
	// EnvDrift counts the hosts whose shared/.env differs from the fleet
	// file; AnyDrift those that drift by release, environment or both.
	EnvDrift, AnyDrift int
}

// Checked reports whether any reachable host has a health verdict.
func (c Counts) Checked() bool { return c.Healthy+c.Failing+c.HealthUnknown > 0 }

// words are the status words the filter matches for host: up or down, the
// error class, drift, drained, the health verdict, stale.
func (b *Board) words(host string) []string {
	s := b.state(host)
	if s == nil {
		return nil
	}
	var w []string
	if s.probe.Reachable {
		w = append(w, "up", string(s.probe.Health))
		if s.probe.Health == remote.HealthFailed {
			w = append(w, "unhealthy")
		}
	} else {
		w = append(w, "down", "failed", string(s.probe.Class))
	}
	if b.drift[host] || len(b.env.hosts[host]) > 0 {
		w = append(w, "drift")
	}
	if len(b.env.hosts[host]) > 0 {
		w = append(w, "env-drift")
	}
	if len(b.drained[host]) > 0 {
		w = append(w, "drained")
	}
	if _, stale := b.stale(s); stale {
		w = append(w, "stale")
	}
	return w
}

// shortAge writes d in its largest unit: 45s, 12m, 5h, 3d.
func shortAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// shortDuration writes a round trip as 3ms, 250ms or 1.2s.
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return "<1ms"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// percent writes a figure or "-" when unknown.
func percent(v float64) string {
	if v < 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", v)
}

func loadText(v float64) string {
	if v < 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

// sinceText says when an outage began: a clock time today, else a date.
func sinceText(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.Local()
	if y, m, d := now.Local().Date(); t.Year() == y && t.Month() == m && t.Day() == d {
		return t.Format("15:04:05")
	}
	return t.Format("Jan 2 15:04")
}
