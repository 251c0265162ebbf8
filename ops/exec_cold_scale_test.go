package ops

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/simfleet"
	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
)

// coldFaults is 5 % of n hosts refusing connections and 5 % hung (they
// accept, then never send a byte, like a SIGSTOPped sshd) from the start,
// spread over the fleet.
func coldFaults(n int) map[int]simfleet.Fault {
	faults := map[int]simfleet.Fault{}
	for i := range n {
		switch i % 20 {
		case 7:
			faults[i] = simfleet.Refuse
		case 13:
			faults[i] = simfleet.Hang
		}
	}
	return faults
}

// coldExec is one `opsui exec uname -n` on a new pool over hosts, as the
// CLI runs it, and what came of every host.
type coldExec struct {
	wall     time.Duration // Exec's return
	lastLive time.Duration // the last live host's answer
	lastHung time.Duration // the last hung host marked failed
	// liveAfterHung counts the live answers that came after a hung host
	// was given up on: live hosts that waited for the hung ones.
	liveAfterHung int
	res           remote.Result
	answered      map[string]bool
	failed        map[string]remote.Event
}

func runColdExec(ctx context.Context, svc *Service, hosts []inventory.Host, hung map[string]bool, opts remote.RunOptions) (coldExec, error) {
	var mu sync.Mutex
	out := coldExec{answered: map[string]bool{}, failed: map[string]remote.Event{}}
	began := time.Now()
	res, _, err := svc.Exec(ctx, ExecRequest{Hosts: hosts, Command: "uname -n", Options: opts}, func(ev remote.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case ev.Kind == remote.EventStdout && ev.Line == ev.Host:
			out.answered[ev.Host] = true
			out.lastLive = time.Since(began)
			if out.lastHung > 0 {
				out.liveAfterHung++
			}
		case ev.Kind == remote.EventFailed && hung[ev.Host]:
			out.failed[ev.Host] = ev
			out.lastHung = time.Since(began)
		case ev.Kind == remote.EventFailed:
			out.failed[ev.Host] = ev
		}
	})
	out.wall, out.res = time.Since(began), res
	return out, err
}

// hungSet names the hung hosts of faults.
func hungSet(hosts []inventory.Host, faults map[int]simfleet.Fault) map[string]bool {
	hung := map[string]bool{}
	for i, h := range hosts {
		if faults[i] == simfleet.Hang {
			hung[h.Name] = true
		}
	}
	return hung
}

// checkColdExec checks every host's outcome: each live host answered its
// own name, each hung host failed as a timeout, each refusing host as
// unreachable.
func checkColdExec(tb testing.TB, hosts []inventory.Host, faults map[int]simfleet.Fault, out coldExec) {
	tb.Helper()
	live := 0
	for i, h := range hosts {
		ev, bad := out.failed[h.Name]
		switch faults[i] {
		case simfleet.Healthy:
			live++
			if !out.answered[h.Name] || bad {
				tb.Errorf("live %s: answered %v, failed %v %v", h.Name, out.answered[h.Name], ev.Class, ev.Err)
			}
		case simfleet.Hang:
			if !bad || ev.Class != remote.ClassTimeout {
				tb.Errorf("hung %s: failed %v as %q (%v), want a timeout", h.Name, bad, ev.Class, ev.Err)
			}
		case simfleet.Refuse:
			if !bad || ev.Class != remote.ClassUnreachable {
				tb.Errorf("refusing %s: failed %v as %q (%v), want unreachable", h.Name, bad, ev.Class, ev.Err)
			}
		}
	}
	if out.res.OK != live || out.res.OK+out.res.Failed != len(hosts) {
		tb.Errorf("result: %s; want %d ok of %d", out.res.Summary(), live, len(hosts))
	}
}

// TestColdExecHungHostsHoldUpNoOne: a cold exec on 100 simulated hosts, 5
// of them refusing and 5 hung from the start, 4 hosts at once: every live
// host answers, each refusing host fails as refused and each hung one as
// a timeout once the handshake timeout is over, and no live host waits for
// a hung one: every live answer comes before the first hung host is
// given up on (the handshake timeout, 10 s, is far longer than 95 cold
// logins take here; without slots given up by waiting dials, the hung
// hosts held all 4 and the live hosts behind them answered after).
func TestColdExecHungHostsHoldUpNoOne(t *testing.T) {
	const n = 100
	faults := coldFaults(n)
	sim, err := simfleet.Start(t.Context(), simfleet.Config{N: n, Dir: t.TempDir(), Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	var hosts []inventory.Host
	for _, h := range sim.Hosts {
		hosts = append(hosts, inventory.Host{Name: h.Name, Address: h.Addr, Port: h.Port, User: sim.User,
			IdentityFile: sim.ClientKeyPath, Env: "production", Roles: []string{"web"}})
	}
	pool := remote.NewPool(remote.Options{KnownHostsFiles: []string{sim.KnownHostsPath}})
	t.Cleanup(func() { pool.Close() })
	svc := &Service{Store: openStore(t), Conn: pool, Operator: "test", Args: []string{"exec"}}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute) // finished, however slow the machine
	defer cancel()
	out, err := runColdExec(ctx, svc, hosts, hungSet(hosts, faults), remote.RunOptions{Parallel: 4})
	if err != nil {
		t.Fatal(err)
	}
	checkColdExec(t, hosts, faults, out)
	if out.liveAfterHung > 0 {
		t.Errorf("%d live hosts answered only after a hung host was given up on: the hung hosts held them up", out.liveAfterHung)
	}
}

// BenchmarkColdExecFaults is issue 20's cold fan-out with faults from the
// start, at N hosts of a simulated fleet (a child process): 5 % refusing,
// 5 % hung (accept, then silence: their dial ends at the handshake
// timeout, 10 s). One iteration is `opsui exec uname -n` on a new pool at
// the CLI's parallelism, recorded: exec-ms is the wall time, live-ms when
// the last live host answered, hung-ms when the last hung host was marked
// failed (timeout). Every host's outcome is checked.
func BenchmarkColdExecFaults(b *testing.B) {
	for _, n := range testenv.EnvSizes(b, simfleet.EnvSizes, simfleet.DefaultSizes) {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			faults := coldFaults(n)
			sim := simfleet.Spawn(b, simfleet.Config{N: n, Faults: faults})
			var hosts []inventory.Host
			for _, h := range sim.Hosts {
				hosts = append(hosts, inventory.Host{Name: h.Name, Address: h.Addr, Port: h.Port, User: sim.User,
					IdentityFile: sim.ClientKeyPath, Env: "production", Roles: []string{"web"}})
			}
			hung := hungSet(hosts, faults)
			var m scaleMetrics
			var hungMarked []time.Duration
			liveAfter := 0
			for b.Loop() {
				b.StopTimer()
				pool := remote.NewPool(remote.Options{KnownHostsFiles: []string{sim.KnownHostsPath}})
				svc := &Service{Store: scaleStore(b), Conn: pool, Operator: "bench", Args: []string{"exec"}}
				b.StartTimer()
				cpu := startCPU(b, sim)
				out, err := runColdExec(b.Context(), svc, hosts, hung, remote.RunOptions{})
				cpu.stop(&m)
				if err != nil {
					b.Fatal(err)
				}
				checkColdExec(b, hosts, faults, out)
				m.exec, m.execLive, hungMarked = append(m.exec, out.wall), append(m.execLive, out.lastLive), append(hungMarked, out.lastHung)
				liveAfter = max(liveAfter, out.liveAfterHung)
				b.StopTimer()
				m.memory(b)
				pool.Close()
				b.StartTimer()
			}
			med := func(d []time.Duration) float64 { return float64(d[len(d)/2].Microseconds()) / 1000 }
			b.ReportMetric(float64(liveAfter), "live-after-hung")
			b.ReportMetric(med(m.exec), "exec-ms")
			b.ReportMetric(med(m.execLive), "live-ms")
			b.ReportMetric(med(hungMarked), "hung-ms")
			b.ReportMetric(m.rss, "rss-MB")
			b.ReportMetric(float64(m.fds), "fds")
			b.ReportMetric(0, "ns/op")
		})
	}
}
