package fleet

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
)

func noProbe(context.Context, *inventory.Fleet, []inventory.Host) []remote.Probe { return nil }

// wholeCounts is the header's counts worked out from scratch over what b
// knows (every host's newest probe, the last env drift read), as the
// header counted them before they were kept incrementally.
func wholeCounts(b *Board, f *inventory.Fleet) Counts {
	w := NewBoard(noProbe, 0)
	w.hosts, w.env.hosts = b.hosts, b.env.hosts
	w.ComputeDrift(f)
	clear(w.drained)
	for _, lb := range f.Hosts {
		s := w.hosts[lb.Name]
		if s == nil || s.lastUp.Balancer == nil || !lb.HasRole(deploy.RoleLB) {
			continue
		}
		v := s.lastUp.Balancer
		for _, h := range f.Select(inventory.Filter{Env: lb.Env, Role: "web"}) {
			key, server := deploy.BackendOf(f, h)
			if v.Kind == "haproxy" {
				key = server
			}
			if mark, ok := v.Down[key]; ok {
				w.drained[h.Name] = append(w.drained[h.Name], drainedBy{balancer: lb.Name, mark: mark, kind: v.Kind})
			}
		}
	}
	c := Counts{Drift: len(w.drift), Drained: len(w.drained), AnyDrift: len(w.drift)}
	for h, ds := range w.env.hosts {
		if len(ds) > 0 {
			c.EnvDrift++
			if !w.drift[h] {
				c.AnyDrift++
			}
		}
	}
	for _, s := range w.hosts {
		if !s.probe.Reachable {
			c.Down++
			continue
		}
		switch s.probe.Health {
		case remote.HealthOK:
			c.Healthy++
		case remote.HealthFailed:
			c.Failing++
		case remote.HealthUnknown:
			c.HealthUnknown++
		default:
			c.Up++
		}
	}
	return c
}

// drainingView is a balancer probe that has the first web host of lb's
// environment out of rotation, with opsui's mark.
func drainingView(f *inventory.Fleet, lb inventory.Host) *remote.BalancerView {
	webs := f.Select(inventory.Filter{Env: lb.Env, Role: "web"})
	if len(webs) == 0 {
		return nil
	}
	addr, _ := deploy.BackendOf(f, webs[0])
	return &remote.BalancerView{Kind: "nginx", Down: map[string]string{addr: "opsui"}}
}

// TestHeaderCountsIncrementalEqualRecount: after every step of a random
// sequence (chunks of probes taking hosts up and down, between health
// verdicts and releases, late results older than the one shown,
// balancers draining and restoring, env drift reads, a fleet reloaded
// with a host less), the header's counts kept step by step are those
// counted over the whole board.
func TestHeaderCountsIncrementalEqualRecount(t *testing.T) {
	f, _ := scaleFleet(160)
	b := NewBoard(noProbe, 0)
	b.ComputeDrift(f)
	r := rand.New(rand.NewPCG(20, 26))
	releases := []string{"20260101120000", "20260102120000", "20260103120000", ""}
	healths := []remote.HealthState{remote.HealthOK, remote.HealthFailed, remote.HealthUnknown, remote.HealthNone, ""}
	at := time.Now()
	var seen Counts // every count that was ever not 0, so that the test checks something
	for i := range 600 {
		switch step := r.IntN(20); {
		case step == 0: // an env drift read
			d := ops.EnvDrift{Hosts: map[string][]ops.HostEnvDrift{}}
			for range r.IntN(12) {
				h := f.Hosts[r.IntN(len(f.Hosts))]
				d.Hosts[h.Name] = append(d.Hosts[h.Name], ops.HostEnvDrift{App: "shop", Env: h.Env, Keys: []string{"DEBUG differs"}})
			}
			if r.IntN(4) == 0 {
				d.Hosts["gone"] = []ops.HostEnvDrift{{App: "shop", Keys: []string{"X missing"}}} // not in the fleet
			}
			_ = b.ApplyEnvDrift(EnvDriftMsg{Drift: d})
		case step == 1: // the fleet reloaded: a host less, or all back
			g := *f
			if len(g.Hosts) == 160 {
				g.Hosts = slices.Delete(slices.Clone(g.Hosts), 3, 4)
			} else {
				full, _ := scaleFleet(160)
				g.Hosts = full.Hosts
			}
			f = &g
			b.ComputeDrift(f)
		default: // a chunk of probes
			var probes []remote.Probe
			for range 1 + r.IntN(25) {
				h := f.Hosts[r.IntN(len(f.Hosts))]
				at = at.Add(time.Millisecond)
				p := remote.Probe{Host: h.Name, At: at, Reachable: r.IntN(5) != 0, Release: releases[r.IntN(len(releases))],
					Health: healths[r.IntN(len(healths))]}
				if r.IntN(10) == 0 {
					p.At = at.Add(-time.Second) // late: older than what is shown
				}
				if p.Reachable && h.HasRole(deploy.RoleLB) && r.IntN(2) == 0 {
					p.Balancer = drainingView(f, h)
				}
				probes = append(probes, p)
			}
			b.Apply(RoundMsg{Probes: probes}, f)
		}
		got, want := b.Counts(), wholeCounts(b, f)
		if got != want {
			t.Fatalf("step %d: counts %+v, counted over the whole board %+v", i, got, want)
		}
		seen.Healthy, seen.Failing, seen.HealthUnknown = max(seen.Healthy, got.Healthy), max(seen.Failing, got.Failing), max(seen.HealthUnknown, got.HealthUnknown)
		seen.Up, seen.Down, seen.Drift = max(seen.Up, got.Up), max(seen.Down, got.Down), max(seen.Drift, got.Drift)
		seen.Drained, seen.EnvDrift, seen.AnyDrift = max(seen.Drained, got.Drained), max(seen.EnvDrift, got.EnvDrift), max(seen.AnyDrift, got.AnyDrift)
	}
	for name, n := range map[string]int{"healthy": seen.Healthy, "failing": seen.Failing, "health unknown": seen.HealthUnknown,
		"up": seen.Up, "down": seen.Down, "drift": seen.Drift, "drained": seen.Drained, "env drift": seen.EnvDrift, "any drift": seen.AnyDrift} {
		if n == 0 {
			t.Errorf("no step had a host %s: the test checks nothing there", name)
		}
	}
}

// BenchmarkHeaderChunk2000 is the header's share of one probe chunk at
// 2 000 hosts (500 of them balancers, one in 25 of those with a backend
// out of rotation): a 25-probe chunk applied, then the counts the header
// shows. It is what every RoundMsg costs before the View.
func BenchmarkHeaderChunk2000(b *testing.B) {
	f, probes := scaleFleet(2000)
	for i, h := range f.Hosts {
		if h.HasRole(deploy.RoleLB) && i%100 == 3 {
			probes[i].Balancer = drainingView(f, h)
		}
	}
	board := NewBoard(noProbe, 0)
	board.Apply(RoundMsg{Probes: probes}, f)
	_ = board.Counts()
	var chunk []time.Duration
	for b.Loop() {
		k := len(chunk) * 25 % len(probes)
		next := slices.Clone(probes[k:min(k+25, len(probes))])
		for j := range next {
			next[j].At = next[j].At.Add(time.Duration(len(chunk)+1) * time.Millisecond)
		}
		start := time.Now()
		board.Apply(RoundMsg{Probes: next}, f)
		_ = board.Counts()
		chunk = append(chunk, time.Since(start))
	}
	slices.Sort(chunk)
	b.ReportMetric(float64(chunk[len(chunk)/2].Nanoseconds())/1000, "chunk-us")
	b.ReportMetric(float64(chunk[len(chunk)*99/100].Nanoseconds())/1000, "chunk-p99-us")
}
