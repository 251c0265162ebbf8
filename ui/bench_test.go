package ui

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/themes"
	fleetview "github.com/opsui/opsui/ui/fleet"
	runview "github.com/opsui/opsui/ui/run"
)

// benchFleet is n hosts over two environments and four roles.
func benchFleet(n int) *inventory.Fleet {
	f := &inventory.Fleet{Environments: []inventory.Environment{{Name: "staging"}, {Name: "production", Protected: true}}}
	roles := []string{"web", "db", "cache", "lb"}
	for i := range n {
		env := "production"
		if i%5 == 0 {
			env = "staging"
		}
		f.Hosts = append(f.Hosts, inventory.Host{Name: fmt.Sprintf("host%04d", i), Address: fmt.Sprintf("10.%d.%d.%d", i/65536, i/256%256, i%256),
			Env: env, Roles: []string{roles[i%len(roles)]}, Tags: []string{"eu-west"}, DeployTo: "/srv/shop"})
	}
	return f
}

func benchApp(b *testing.B, f *inventory.Fleet, probe bool) App {
	b.Helper()
	opts := Options{Theme: themes.Dark(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil }}
	if probe {
		opts.Probe = func(context.Context, *inventory.Fleet, []inventory.Host) []remote.Probe { return nil }
	}
	return New(opts)
}

func update(a App, msg tea.Msg) App {
	next, _ := a.Update(msg)
	return next.(App)
}

// BenchmarkRunViewStream streams 2 000 lines a second in total from 200
// hosts through the run view: each op is one 50 ms tick, in which 100 lines
// reach the hosts' rings (the engine's side, not timed) and the console
// handles the tick and renders (timed). It reports the p99 and the worst
// Update+View, and how much the live heap grew over the whole stream
// (-benchtime=6000x is five minutes of stream).
func BenchmarkRunViewStream(b *testing.B) {
	const hosts, perTick = 200, 100 // 2 000 lines/s at 20 ticks/s
	f := benchFleet(hosts)
	a := benchApp(b, f, false)
	a = update(a, fleetLoadedMsg{fleet: f})
	names := make([]string, hosts)
	for i, h := range f.Hosts {
		names[i] = h.Name
	}
	feed := runview.NewFeed(1, "tail -f /var/log/app.log", names)
	for _, n := range names {
		feed.Event(remote.Event{Host: n, Kind: remote.EventStarted, Time: time.Now()})
	}
	a.run = runview.New(a.ctx, a.keys.runKeys(), feed)
	a.mode = modeRun
	a = update(a, tea.WindowSizeMsg{Width: 160, Height: 48})
	_ = a.View()

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	took := make([]time.Duration, 0, b.N)
	seq := 0
	b.ResetTimer()
	for range b.N {
		for range perTick {
			h := names[seq%hosts]
			feed.Event(remote.Event{Host: h, Kind: remote.EventStdout,
				Line: fmt.Sprintf("%s 10.0.%d.%d GET /api/orders/%d 200 0.%03ds", h, seq%256, seq%7, seq, seq%1000)})
			seq++
		}
		start := time.Now()
		a = update(a, runTickMsg{id: 1})
		_ = a.View()
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(a) // the console and its rings are what is measured
	runtime.KeepAlive(feed)
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "heap-growth-MB")
	b.ReportMetric(float64(seq)/float64(hosts), "lines/host")
}

// BenchmarkFirstFrame1000Hosts is the console's first frame on a 1 000-host
// inventory: the loaded fleet's Update (grouping, drift), the window size
// and the View; with-status adds a first probe round of every host.
func BenchmarkFirstFrame1000Hosts(b *testing.B) {
	f := benchFleet(1000)
	probes := make([]remote.Probe, len(f.Hosts))
	for i, h := range f.Hosts {
		probes[i] = remote.Probe{Host: h.Name, At: time.Now(), Reachable: i%97 != 0, RTT: 2 * time.Millisecond, Load1: 0.4,
			MemUsedPct: 40, DiskUsedPct: 55, Release: fmt.Sprintf("2025030110%04d", i%3/2), Health: remote.HealthOK, Class: remote.ClassNone}
		if !probes[i].Reachable {
			probes[i].Class = remote.ClassUnreachable
		}
	}
	for _, withStatus := range []bool{false, true} {
		name := "inventory"
		if withStatus {
			name = "with-status"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				a := benchApp(b, f, withStatus)
				a = update(a, fleetLoadedMsg{fleet: f})
				a = update(a, tea.WindowSizeMsg{Width: 160, Height: 48})
				if withStatus {
					a = update(a, fleetview.RoundMsg{Round: a.status.Round(), Probes: probes})
				}
				_ = a.View()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
		})
	}
}
