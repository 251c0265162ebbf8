package remote

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/opsui/opsui/internal/sshtest"
)

// BenchmarkRunWarm measures issue 3's warm fan-out: `uname -n` on N hosts
// (N = 10, 50, 200, all at once) over connections opened beforehand, three
// ways, one round of each per iteration in a rotating order:
//
//   - Run: remote.Run on a warm Pool (Parallel N): the remote wrapper, line
//     splitting, events; every host must answer its own name;
//   - pool: one plain Pool.Session per host, Output, no Run;
//   - xssh: the bare x/crypto/ssh loop: clients from ssh.Dial, one
//     NewSession + Output per host, the reference of the ≤ 1.2x target.
//
// It reports each one's median round (Run-ms, pool-ms, xssh-ms), the
// ratios of the medians (Run/xssh: the target), and the busy CPU per round
// of the whole machine (/proc/stat: the sshd side, the client, the
// kernel; other load on the machine counts too) and of this process, in ms.
// Compare runs with benchstat:
//
//	go test -run '^$' -bench BenchmarkRunWarm -count 6 ./ops > warm.txt
//	go run golang.org/x/perf/cmd/benchstat@latest warm.txt
func BenchmarkRunWarm(b *testing.B) {
	if testing.Short() {
		b.Skip("needs a fleet of 200 sshd hosts")
	}
	sizes := []int{10, 50, 200}
	f := sshtest.Start(b, sizes[len(sizes)-1])
	p := NewPool(Options{KnownHostsFiles: []string{f.KnownHostsPath}})
	b.Cleanup(func() { p.Close() })
	var targets []Target
	clients := make([]*ssh.Client, len(f.Hosts))
	var wg sync.WaitGroup
	for i, h := range f.Hosts {
		targets = append(targets, Target{Name: h.Name, Addr: h.Address(), User: f.User, IdentityFiles: []string{f.ClientKeyPath}})
		wg.Go(func() {
			c, err := ssh.Dial("tcp", h.Address(), f.ClientConfig(b))
			if err != nil {
				b.Error(err)
				return
			}
			clients[i] = c
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	b.Cleanup(func() {
		for _, c := range clients {
			c.Close()
		}
	})
	if res, err := Run(b.Context(), p, targets, "true", RunOptions{Parallel: len(targets)}, nil); err != nil || res.OK != len(targets) {
		b.Fatalf("warm-up: %v %s", err, res.Summary())
	}
	for _, n := range sizes {
		ts, cs := targets[:n], clients[:n]
		index := make(map[string]int, n)
		for i, t := range ts {
			index[t.Name] = i
		}
		got := make([]string, n)
		emit := func(ev Event) {
			if ev.Kind == EventStdout {
				got[index[ev.Host]] = ev.Line // one host's calls never overlap
			}
		}
		impls := []warmImpl{
			{name: "Run", round: func(b *testing.B) {
				clear(got)
				res, err := Run(b.Context(), p, ts, "uname -n", RunOptions{Parallel: n}, emit)
				if err != nil || res.OK != n {
					b.Fatalf("%v %s", err, res.Summary())
				}
				for i, t := range ts {
					if got[i] != t.Name {
						b.Fatalf("%s answered %q", t.Name, got[i])
					}
				}
			}},
			{name: "pool", round: func(b *testing.B) {
				fanOut(b, ts, func(i int) (*ssh.Session, error) { return p.Session(b.Context(), ts[i]) })
			}},
			{name: "xssh", round: func(b *testing.B) {
				fanOut(b, ts, func(i int) (*ssh.Session, error) { return cs[i].NewSession() })
			}},
		}
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			k := 0
			for b.Loop() {
				// One round of each, in a rotating order: a change in
				// the machine's load hits all three alike.
				for j := range impls {
					im := &impls[(k+j)%len(impls)]
					b.StopTimer()
					fleet := fleetCPU()
					b.StartTimer()
					cpu := readCPU()
					start := time.Now()
					im.round(b)
					im.wall = append(im.wall, time.Since(start))
					im.cpu.add(cpu)
					b.StopTimer()
					time.Sleep(20 * time.Millisecond) // the watchdogs' ends
					im.fleet += fleetCPU() - fleet
					b.StartTimer()
				}
				k++
			}
			for _, im := range impls {
				b.ReportMetric(median(im.wall).Seconds()*1e3, im.name+"-ms")
				b.ReportMetric(float64(im.cpu.machine.Milliseconds())/float64(len(im.wall)), im.name+"-cpu-ms")
				b.ReportMetric(float64(im.cpu.self.Milliseconds())/float64(len(im.wall)), im.name+"-client-cpu-ms")
				b.ReportMetric(float64(im.fleet.Microseconds())/1e3/float64(len(im.wall)), im.name+"-sshd-cpu-ms")
			}
			b.ReportMetric(median(impls[0].wall).Seconds()/median(impls[2].wall).Seconds(), "Run/xssh")
			b.ReportMetric(median(impls[1].wall).Seconds()/median(impls[2].wall).Seconds(), "pool/xssh")
			b.ReportMetric(0, "ns/op")
		})
	}
	if d := p.Stats().Dials; len(d) != len(targets) {
		b.Errorf("the warm pool dialed %d hosts, want %d", len(d), len(targets))
	} else {
		for name, k := range d {
			if k != 1 {
				b.Errorf("the warm pool dialed %s %d times", name, k)
			}
		}
	}
}

// warmImpl is one way of running the round, with what it measured.
type warmImpl struct {
	name  string
	round func(b *testing.B)
	wall  []time.Duration
	cpu   cpuMeter
	fleet time.Duration // fleetCPU's
}

// fanOut runs `uname -n` in one session per target, all at once, and
// checks every answer.
func fanOut(b *testing.B, ts []Target, open func(i int) (*ssh.Session, error)) {
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Go(func() {
			s, err := open(i)
			if err != nil {
				b.Error(err)
				return
			}
			defer s.Close()
			if out, err := s.Output("uname -n"); err != nil || strings.TrimSpace(string(out)) != t.Name {
				b.Errorf("%s: %q %v", t.Name, out, err)
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
}

func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// fleetCPU returns the CPU time of the processes started by this one (the
// hosts' sshd and everything they run): the user and system time of every
// live descendant and of the descendants they reaped. A watchdog orphaned
// when its command ends is reaped by the host's sshd (the init of its PID
// namespace), so it counts too.
func fleetCPU() time.Duration {
	ents, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	times := map[int]int64{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // state ppid ... utime stime cutime cstime
		if len(f) < 15 {
			continue
		}
		parent[pid], _ = strconv.Atoi(f[1])
		for _, v := range f[11:15] {
			t, _ := strconv.ParseInt(v, 10, 64)
			times[pid] += t
		}
	}
	self := os.Getpid()
	var total int64
	for pid, t := range times {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == self {
				total += t
				break
			}
		}
	}
	return time.Duration(total) * clockTick
}

// cpuMeter is busy CPU time: the machine's (/proc/stat: every process,
// the sshd side included, and the kernel) and this process's.
type cpuMeter struct{ machine, self time.Duration }

const clockTick = 10 * time.Millisecond // USER_HZ is 100 on Linux

func readCPU() cpuMeter {
	var m cpuMeter
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
		for i, v := range f[1:] {
			if i == 3 || i == 4 || i >= 7 { // idle, iowait, steal and guests
				continue
			}
			t, _ := strconv.ParseInt(v, 10, 64)
			m.machine += time.Duration(t) * clockTick
		}
	}
	if b, err := os.ReadFile("/proc/self/stat"); err == nil {
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // state ppid ... utime stime
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			st, _ := strconv.ParseInt(f[12], 10, 64)
			m.self = time.Duration(u+st) * clockTick
		}
	}
	return m
}

// add adds the CPU used since start.
func (m *cpuMeter) add(start cpuMeter) {
	end := readCPU()
	m.machine += end.machine - start.machine
	m.self += end.self - start.self
}
