package ops

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/procfs"
	"github.com/opsui/opsui/internal/simfleet"
	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// The scale benchmarks' fleets are served by a child process (this test
// binary again): see simfleet.Spawn.
func init() { simfleet.ServeIfChild() }

// BenchmarkFleetScale measures issue 20's engine figures on a simulated
// fleet of N hosts (simfleet, in a child process), healthy and with 5 %
// of the hosts refusing connections and 5 % hung (accepting, then silent,
// like a SIGSTOPped sshd). One iteration is:
//
//   - exec: `opsui exec uname -n` cold, as the CLI runs it (Service.Exec,
//     recorded in a SQLite store, the CLI's default parallelism), on a new
//     pool: exec-ms is the wall time, live-ms the time until every live
//     host had answered its own name (checked);
//   - status: one status round over the warm connections as the console
//     runs it (Service.Status of each host, all started at once, on the
//     console's shared Prober, as ui/fleet's StartRound calls it): round-ms until every host has a
//     result, live-round-ms until every live host has one; the hung hosts
//     are hung after the exec, so their connections are warm and silent,
//     and each must be marked (timeout) within the probe timeout;
//     live-timeouts counts live hosts that did not answer within it (an
//     overloaded machine: anything but 0 is a miss);
//   - client figures with the N connections open: heap-MB (live heap),
//     rss-MB (VmRSS), fds (open descriptors);
//   - sim-cpu-%: the simulator's share of the machine over the measured
//     phases (its CPU time over wall time x cores), client-cpu-% the same
//     for this process.
func BenchmarkFleetScale(b *testing.B) {
	for _, n := range testenv.EnvSizes(b, simfleet.EnvSizes, simfleet.DefaultSizes) {
		for _, faulty := range []bool{false, true} {
			name := fmt.Sprintf("N=%d", n)
			if faulty {
				name += "/faults"
			}
			b.Run(name, func(b *testing.B) { benchFleetScale(b, n, faulty) })
		}
	}
}

func benchFleetScale(b *testing.B, n int, faulty bool) {
	refuse, hang := map[int]bool{}, map[int]bool{}
	faults := map[int]simfleet.Fault{}
	if faulty {
		for i := range n {
			switch i % 20 { // 5 % each, spread over the fleet
			case 7:
				refuse[i] = true
				faults[i] = simfleet.Refuse
			case 13:
				hang[i] = true
			}
		}
	}
	sim := simfleet.Spawn(b, simfleet.Config{N: n, Faults: faults})
	fleet := &inventory.Fleet{Apps: []inventory.App{{Name: "shop", DeployTo: "/srv/shop"}}}
	for _, h := range sim.Hosts {
		fleet.Hosts = append(fleet.Hosts, inventory.Host{Name: h.Name, Address: h.Addr, Port: h.Port, User: sim.User,
			IdentityFile: sim.ClientKeyPath, Env: "production", Roles: []string{"web"}})
	}
	live := n - len(refuse) - len(hang)
	var m scaleMetrics
	for b.Loop() {
		b.StopTimer()
		pool := remote.NewPool(remote.Options{KnownHostsFiles: []string{sim.KnownHostsPath}})
		svc := &Service{Store: scaleStore(b), Conn: pool, Operator: "bench", Args: []string{"exec"},
			Prober: remote.NewProber(pool, remote.ProbeOptions{})}
		for i := range hang {
			if err := sim.SetFault(i, simfleet.Healthy); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		cpu := startCPU(b, sim)

		// exec, cold.
		var mu sync.Mutex
		answered := 0
		var lastLive time.Duration
		began := time.Now()
		res, _, err := svc.Exec(b.Context(), ExecRequest{Hosts: fleet.Hosts, Command: "uname -n"}, func(ev remote.Event) {
			if ev.Kind == remote.EventStdout && ev.Line == ev.Host {
				mu.Lock()
				answered++
				lastLive = time.Since(began)
				mu.Unlock()
			}
		})
		execWall := time.Since(began)
		if err != nil || answered != n-len(refuse) || res.OK != n-len(refuse) {
			b.Fatalf("exec: %v; %d hosts answered, want %d; %s", err, answered, n-len(refuse), res.Summary())
		}
		m.exec = append(m.exec, execWall)
		m.execLive = append(m.execLive, lastLive)

		// One status round over warm connections, hung hosts silent.
		for i := range hang {
			if err := sim.SetFault(i, simfleet.Hang); err != nil {
				b.Fatal(err)
			}
		}
		round, liveRound, missed := statusRound(b, svc, fleet, hang, refuse, live)
		m.missed += missed
		m.round = append(m.round, round)
		m.liveRound = append(m.liveRound, liveRound)
		cpu.stop(&m)

		b.StopTimer()
		m.memory(b)
		pool.Close()
		b.StartTimer()
	}
	m.report(b, n)
}

// statusRound runs one round as the console does (ui/fleet's
// StartRound: every host its own Status call, the Prober bounding them)
// and checks every probe.
func statusRound(b *testing.B, svc *Service, fleet *inventory.Fleet, hang, refuse map[int]bool, live int) (all, liveAll time.Duration, missed int) {
	began := time.Now()
	var mu sync.Mutex
	var wg sync.WaitGroup
	liveDone := 0
	byHost := map[string]remote.Probe{}
	for _, h := range fleet.Hosts {
		wg.Go(func() {
			probes := svc.Status(context.Background(), fleet, []inventory.Host{h})
			mu.Lock()
			defer mu.Unlock()
			for _, p := range probes {
				byHost[p.Host] = p
				if p.Reachable {
					liveDone++
					if liveDone == live {
						liveAll = time.Since(began)
					}
				}
			}
		})
	}
	wg.Wait()
	all = time.Since(began)
	for i, h := range fleet.Hosts {
		p, ok := byHost[h.Name]
		switch {
		case !ok:
			b.Fatalf("%s: no probe", h.Name)
		case hang[i] && (p.Class != remote.ClassTimeout || p.Took > remote.DefaultProbeTimeout+2*time.Second):
			b.Fatalf("hung %s: %s after %v: %v", h.Name, p.Class, p.Took, p.Err)
		case refuse[i] && p.Reachable:
			b.Fatalf("refusing %s reachable", h.Name)
		case !hang[i] && !refuse[i] && !p.Reachable && p.Class == remote.ClassTimeout:
			missed++ // the machine is overloaded: counted (live-timeouts), not fatal
		case !hang[i] && !refuse[i] && (!p.Reachable || p.Release != simfleet.Release || p.Commit != simfleet.Commit(h.Name)):
			b.Fatalf("%s: reachable %v release %q: %v", h.Name, p.Reachable, p.Release, p.Err)
		}
	}
	if liveDone+missed != live {
		b.Fatalf("%d live hosts probed and %d timed out, want %d", liveDone, missed, live)
	}
	if missed > 0 {
		liveAll = all
	}
	return all, liveAll, missed
}

// scaleMetrics collects one size's figures over the iterations.
type scaleMetrics struct {
	exec, execLive, round, liveRound []time.Duration
	simCPU, selfCPU, wall            time.Duration
	heap, rss                        float64
	fds, missed                      int
}

type cpuMark struct {
	sim      *simfleet.Process
	at       time.Time
	sim0, me time.Duration
}

func startCPU(b *testing.B, sim *simfleet.Process) cpuMark {
	s, err := sim.CPU()
	if err != nil {
		b.Fatal(err)
	}
	me, err := simfleet.ProcessCPU(os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	return cpuMark{sim: sim, at: time.Now(), sim0: s, me: me}
}

func (c cpuMark) stop(m *scaleMetrics) {
	s, _ := c.sim.CPU()
	me, _ := simfleet.ProcessCPU(os.Getpid())
	m.simCPU += s - c.sim0
	m.selfCPU += me - c.me
	m.wall += time.Since(c.at)
}

// memory reads the client's live heap, RSS and open descriptors while
// the pool's connections are open.
func (m *scaleMetrics) memory(b *testing.B) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.heap = max(m.heap, float64(ms.HeapAlloc)/(1<<20))
	m.rss = max(m.rss, procfs.SelfRSSMB())
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		m.fds = max(m.fds, len(fds))
	} else {
		b.Logf("fds: %v", err)
	}
}

func (m *scaleMetrics) report(b *testing.B, n int) {
	med := func(d []time.Duration) float64 {
		s := append([]time.Duration(nil), d...)
		for i := range s { // a few values: insertion sort
			for j := i; j > 0 && s[j] < s[j-1]; j-- {
				s[j], s[j-1] = s[j-1], s[j]
			}
		}
		return float64(s[len(s)/2].Microseconds()) / 1000
	}
	b.ReportMetric(med(m.exec), "exec-ms")
	b.ReportMetric(med(m.execLive), "live-ms")
	b.ReportMetric(med(m.round), "round-ms")
	b.ReportMetric(med(m.liveRound), "live-round-ms")
	b.ReportMetric(float64(m.missed), "live-timeouts")
	b.ReportMetric(m.heap, "heap-MB")
	b.ReportMetric(m.rss, "rss-MB")
	b.ReportMetric(m.rss*1024/float64(n), "rss-KB/host")
	b.ReportMetric(float64(m.fds), "fds")
	cores := float64(runtime.NumCPU()) * m.wall.Seconds()
	b.ReportMetric(100*m.simCPU.Seconds()/cores, "sim-cpu-%")
	b.ReportMetric(100*m.selfCPU.Seconds()/cores, "client-cpu-%")
	b.ReportMetric(0, "ns/op")
}

// scaleStore is a fresh SQLite store for one iteration.
func scaleStore(b *testing.B) *store.Store {
	b.Helper()
	st, err := store.Open(b.Context(), filepath.Join(b.TempDir(), "opsui.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}
