package ui

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/internal/procfs"
	"github.com/opsui/opsui/internal/simfleet"
	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/themes"
	"github.com/opsui/opsui/ui/internal/uitest"
)

// The scale benchmark's fleet is served by a child process (this test
// binary again): see simfleet.Spawn.
func init() { simfleet.ServeIfChild() }

// BenchmarkConsoleScale is issue 20's console at N hosts (two
// environments, four roles) of a simulated fleet (simfleet, a child
// process) in which 5 % of the hosts hang and 5 % refuse connections from
// the start. One iteration:
//
//   - first-frame-ms: New, the loaded inventory, the window size and the
//     first View (the status panel on, no probe back yet);
//   - the console then runs as bubbletea runs it (every command in its own
//     goroutine, each message through Update and then View) with the real
//     status panel (ops.Service.Status on a shared Prober over a real
//     pool) for three status rounds, the first one cold (every connection
//     dialed: cold-*), while a key press moves the cursor every 50 ms:
//     update-p99-ms and update-max-ms are over every Update+View of the
//     warm rounds, round-ms is their median (start to the last host's
//     result: the hung hosts' probe timeout), live-round-ms until every
//     live host had its result (checked: live hosts up, hung ones timed
//     out, refusing ones down; live-timeouts counts live hosts that did not
//     answer within the probe timeout, anything but 0 is a miss);
//   - filter-p99-ms: each key of "/sim01" and of its deletion, Update+View;
//   - heap-MB and rss-MB of this process with every connection open, fds
//     its descriptors then.
func BenchmarkConsoleScale(b *testing.B) {
	for _, n := range testenv.EnvSizes(b, simfleet.EnvSizes, simfleet.DefaultSizes) {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) { benchConsoleScale(b, n) })
	}
}

func benchConsoleScale(b *testing.B, n int) {
	faults := map[int]simfleet.Fault{}
	for i := range n {
		switch i % 20 {
		case 7:
			faults[i] = simfleet.Refuse
		case 13:
			faults[i] = simfleet.Hang
		}
	}
	sim := simfleet.Spawn(b, simfleet.Config{N: n, Faults: faults})
	roles := []string{"web", "db", "cache", "lb"}
	f := &inventory.Fleet{Environments: []inventory.Environment{{Name: "staging"}, {Name: "production", Protected: true}},
		Apps: []inventory.App{{Name: "shop", DeployTo: "/srv/shop"}}}
	for i, h := range sim.Hosts {
		env := "production"
		if i%5 == 0 {
			env = "staging"
		}
		f.Hosts = append(f.Hosts, inventory.Host{Name: h.Name, Address: h.Addr, Port: h.Port, User: sim.User, IdentityFile: sim.ClientKeyPath,
			Env: env, Roles: []string{roles[i%len(roles)]}, Tags: []string{"eu-west"}})
	}
	var first, all, filter []time.Duration
	var rounds, liveRounds, cold, coldLive, coldUpdates []time.Duration
	var heap, rss float64
	var missed int
	var fds int
	for b.Loop() {
		pool := remote.NewPool(remote.Options{KnownHostsFiles: []string{sim.KnownHostsPath}})
		svc := &ops.Service{Conn: pool, Operator: "bench", Prober: remote.NewProber(pool, remote.ProbeOptions{})}
		began := time.Now()
		a := New(Options{Theme: themes.Dark(), Probe: svc.Status,
			LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil }})
		next, cmd := a.Update(fleetLoadedMsg{fleet: f})
		a = next.(App)
		a = update(a, tea.WindowSizeMsg{Width: 160, Height: 48})
		_ = a.View()
		first = append(first, time.Since(began))

		d := newScaleDriver()
		d.run(cmd)
		for i, r := range d.rounds(b, &a, faults, 3, began) {
			if i == 0 { // cold: every connection dialed
				cold, coldLive, coldUpdates = append(cold, r.took), append(coldLive, r.live), append(coldUpdates, r.updates...)
				missed += r.missed
				continue
			}
			rounds, liveRounds, all = append(rounds, r.took), append(liveRounds, r.live), append(all, r.updates...)
			missed += r.missed
		}

		for _, k := range uitest.Keys("/", "sim01") {
			start := time.Now()
			a = update(a, k)
			_ = a.View()
			filter = append(filter, time.Since(start))
		}
		want := 0
		for _, h := range f.Hosts {
			if strings.Contains(h.Name, "sim01") {
				want++
			}
		}
		if shown := len(a.fleet.Shown()); shown != want {
			b.Fatalf("the filter sim01 shows %d hosts, want %d", shown, want)
		}
		for range 5 {
			start := time.Now()
			a = update(a, tea.KeyPressMsg(tea.Key{Code: tea.KeyBackspace}))
			_ = a.View()
			filter = append(filter, time.Since(start))
		}
		a = update(a, uitest.Keys("esc")[0])
		b.StopTimer()
		runtime.GC()
		var mst runtime.MemStats
		runtime.ReadMemStats(&mst)
		heap, rss = max(heap, float64(mst.HeapAlloc)/(1<<20)), max(rss, procfs.SelfRSSMB())
		if list, err := os.ReadDir("/proc/self/fd"); err == nil {
			fds = max(fds, len(list))
		}
		d.stop()
		pool.Close()
		b.StartTimer()
	}
	slices.Sort(all)
	slices.Sort(coldUpdates)
	slices.Sort(filter)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(median(first)), "first-frame-ms")
	b.ReportMetric(ms(all[len(all)*99/100]), "update-p99-ms")
	b.ReportMetric(ms(all[len(all)-1]), "update-max-ms")
	b.ReportMetric(ms(coldUpdates[len(coldUpdates)*99/100]), "cold-update-p99-ms")
	b.ReportMetric(ms(median(rounds)), "round-ms")
	b.ReportMetric(ms(median(liveRounds)), "live-round-ms")
	b.ReportMetric(ms(median(cold)), "cold-round-ms")
	b.ReportMetric(ms(median(coldLive)), "cold-live-round-ms")
	b.ReportMetric(ms(filter[len(filter)*99/100]), "filter-p99-ms")
	b.ReportMetric(float64(missed), "live-timeouts")
	b.ReportMetric(heap, "heap-MB")
	b.ReportMetric(rss, "rss-MB")
	b.ReportMetric(float64(fds), "fds")
	b.ReportMetric(0, "ns/op")
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// scaleDriver runs commands as bubbletea does: each in its own goroutine, a
// BatchMsg's commands each in theirs, every message to one channel.
type scaleDriver struct {
	msgs chan tea.Msg
	done chan struct{}
}

func newScaleDriver() *scaleDriver {
	return &scaleDriver{msgs: make(chan tea.Msg, 1024), done: make(chan struct{})}
}

func (d *scaleDriver) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() {
		msg := cmd()
		switch m := msg.(type) {
		case nil:
		case tea.BatchMsg:
			for _, c := range m {
				d.run(c)
			}
		default:
			select {
			case d.msgs <- m:
			case <-d.done:
			}
		}
	}()
}

func (d *scaleDriver) stop() { close(d.done) }

// roundStats is what one status round measured.
type roundStats struct {
	took, live time.Duration   // until its last host's result, its last live host's
	missed     int             // live hosts that timed out
	updates    []time.Duration // every Update+View while it ran
}

// rounds runs the console until k status rounds have ended, the first
// started at began, pressing down every 50 ms, and returns what each
// measured.
func (d *scaleDriver) rounds(b *testing.B, a *App, faults map[int]simfleet.Fault, k int, began time.Time) []roundStats {
	keys := time.NewTicker(50 * time.Millisecond)
	defer keys.Stop()
	deadline := time.After(5 * time.Minute)
	var out []roundStats
	cur := &roundStats{}
	round, inRound, started := a.status.Round(), true, began
	step := func(msg tea.Msg) {
		before := time.Now()
		next, cmd := a.Update(msg)
		*a = next.(App)
		_ = a.View()
		took := time.Since(before)
		if inRound {
			cur.updates = append(cur.updates, took)
		}
		d.run(cmd)
		if r := a.status.Round(); r != round {
			// Its probes started in the commands just run.
			round, inRound, started, cur = r, true, before, &roundStats{}
		}
	}
	for len(out) < k {
		select {
		case msg := <-d.msgs:
			step(msg)
		case <-keys.C:
			step(tea.KeyPressMsg(tea.Key{Code: tea.KeyDown}))
		case <-deadline:
			b.Fatalf("%d status rounds in 5 minutes", len(out))
		}
		if inRound && cur.live == 0 && liveProbed(a, faults, started) {
			cur.live = time.Since(started)
		}
		if inRound && !a.status.Busy() {
			if cur.live == 0 {
				cur.live = time.Since(started) // some live hosts timed out: counted below
			}
			checkBoard(b, a, faults, &cur.missed)
			cur.took = time.Since(started)
			out = append(out, *cur)
			inRound = false
		}
	}
	return out
}

// liveProbed reports whether every live host has a probe from this round.
func liveProbed(a *App, faults map[int]simfleet.Fault, since time.Time) bool {
	for i, h := range a.fleet.Fleet().Hosts {
		if faults[i] != simfleet.Healthy {
			continue
		}
		if p, ok := a.status.Probe(h.Name); !ok || p.At.Before(since) {
			return false
		}
	}
	return true
}

// checkBoard checks every host's newest probe against its fault.
func checkBoard(b *testing.B, a *App, faults map[int]simfleet.Fault, missed *int) {
	for i, h := range a.fleet.Fleet().Hosts {
		p, ok := a.status.Probe(h.Name)
		switch {
		case !ok:
			b.Fatalf("%s: no probe", h.Name)
		case faults[i] == simfleet.Healthy && !p.Reachable && p.Class == remote.ClassTimeout:
			// A live host not answered within the probe timeout: the
			// machine is overloaded; counted (live-timeouts), not fatal.
			*missed++
		case faults[i] == simfleet.Healthy && (!p.Reachable || p.Release != simfleet.Release):
			b.Fatalf("%s: %+v", h.Name, p)
		case faults[i] == simfleet.Hang && p.Class != remote.ClassTimeout:
			b.Fatalf("hung %s: %s %v", h.Name, p.Class, p.Err)
		case faults[i] == simfleet.Refuse && p.Reachable:
			b.Fatalf("refusing %s is up", h.Name)
		}
	}
}
