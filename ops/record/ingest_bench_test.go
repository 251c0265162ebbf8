package record

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/pgtest"
	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// BenchmarkRecorderIngest: 200 hosts each print 2 000 lines a second (of
// 100 bytes) for 10 s, one event per line as the engine emits them,
// through the real recorder into a SQLite file and into PostgreSQL
// (internal/pgtest, on loopback). It reports the lines dropped (the
// recorder must drop none), the lag at the end (from when the last line
// was due to when it was in the store), the times the hosts had to wait
// for the store, and the client's CPU: the whole process's, and less
// what the same hosts' lines cost without a recorder (the generator).
// For SQLite the database engine runs in the client; for PostgreSQL the
// server's CPU is reported apart.
//
// Knobs: OPSUI_BENCH_INGEST_HOSTS, OPSUI_BENCH_INGEST_RATE (lines a
// second per host), OPSUI_BENCH_INGEST_TIME (keep it under a minute: a
// host's record stops at 16 MiB).
func BenchmarkRecorderIngest(b *testing.B) {
	cfg := ingestConfig{
		hosts: testenv.EnvInt(b, "OPSUI_BENCH_INGEST_HOSTS", 200),
		rate:  testenv.EnvInt(b, "OPSUI_BENCH_INGEST_RATE", 2000),
		dur:   testenv.EnvDuration(b, "OPSUI_BENCH_INGEST_TIME", 10*time.Second),
	}
	base := ingest(b, nil, cfg) // the generator alone
	b.Logf("generator alone: %.2f s CPU", base.cpu.Seconds())
	figures := map[string]ingestResult{}
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			var target string
			var srv *pgtest.Server
			if backend == "postgres" {
				srv = pgtest.Shared(b)
			}
			var r ingestResult
			for range b.N {
				target = filepath.Join(b.TempDir(), "ingest.db")
				if srv != nil {
					target = srv.NewDatabase(b)
				}
				st, err := store.Open(context.Background(), target)
				if err != nil {
					b.Fatal(err)
				}
				var server0 time.Duration
				if srv != nil {
					server0 = serverCPU(b, srv)
				}
				r = ingest(b, st, cfg)
				if srv != nil {
					r.server = serverCPU(b, srv) - server0
				}
				st.Close()
			}
			r.net = r.cpu - base.cpu
			figures[backend] = r
			b.ReportMetric(float64(r.dropped), "dropped-lines")
			b.ReportMetric(float64(r.lag.Milliseconds()), "lag-ms")
			b.ReportMetric(r.cpu.Seconds(), "client-cpu-s")
			b.ReportMetric(r.net.Seconds(), "recorder-cpu-s")
			b.ReportMetric(float64(r.stalls), "stalls")
			fmt.Printf("ingest %s: %d hosts × %d lines/s for %s: %d lines (%s) stored, %d dropped, lag at the end %s, %d stalls; "+
				"client CPU %.2f s (%.2f s less the generator's)", backend, cfg.hosts, cfg.rate, cfg.dur, r.lines,
				store.HumanBytes(r.bytes), r.dropped, r.lag.Round(time.Millisecond), r.stalls, r.cpu.Seconds(), r.net.Seconds())
			if srv != nil {
				fmt.Printf("; server CPU %.2f s", r.server.Seconds())
			}
			fmt.Println()
			if r.dropped != 0 {
				b.Errorf("%d lines dropped", r.dropped)
			}
		})
	}
	if lite, pg := figures["sqlite"], figures["postgres"]; lite.net > 0 && pg.net > 0 {
		fmt.Printf("ingest: PostgreSQL's client CPU is %.2f× SQLite's (%.2f× less the generator's)\n",
			pg.cpu.Seconds()/lite.cpu.Seconds(), pg.net.Seconds()/lite.net.Seconds())
	}
}

type ingestConfig struct {
	hosts, rate int
	dur         time.Duration
}

type ingestResult struct {
	lines, dropped, bytes, stalls int64
	lag                           time.Duration
	cpu, net, server              time.Duration
}

// ingestLine is the length of every line, newline included, so the
// stored bytes count the stored lines.
const ingestLine = 100

// ingest runs the hosts' lines through a recorder on st (nil: nowhere,
// to measure the generator) and says what came of them.
func ingest(b *testing.B, st *store.Store, cfg ingestConfig) ingestResult {
	b.Helper()
	ctx := context.Background()
	names := make([]string, cfg.hosts)
	lines := make([][]remote.Event, cfg.hosts) // 16 lines per host, printed in turn
	for i := range names {
		names[i] = fmt.Sprintf("web%03d", i+1)
		for j := range 16 {
			s := fmt.Sprintf("%s GET /api/items/%d 200 %dms ", names[i], j*7919%10000, j*3)
			s += strings.Repeat("x", ingestLine-1-len(s)) + "\n"
			lines[i] = append(lines[i], remote.Event{Host: names[i], Kind: remote.EventStdout, Line: s[:len(s)-1], Raw: []byte(s)})
		}
	}
	emit := func(remote.Event) {}
	var rec *Recorder
	if st != nil {
		var err error
		if rec, err = StartRecorder(ctx, st, store.NewRun{Kind: store.KindExec, Operator: "bench", Command: "ingest", Hosts: names}); err != nil {
			b.Fatal(err)
		}
		emit = rec.Event
	}
	per := int64(cfg.rate) * int64(cfg.dur) / int64(time.Second) // lines each host prints
	b.ResetTimer()
	cpu0 := processCPU()
	start := time.Now()
	// A few goroutines print for all hosts: every 10 ms each host's lines
	// due by then, so a recorder that holds them back makes them late.
	const printers = 8
	var wg sync.WaitGroup
	for g := range printers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent := make([]int64, cfg.hosts)
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for left := true; left; {
				<-tick.C
				due := min(per, int64(time.Since(start))*int64(cfg.rate)/int64(time.Second))
				left = false
				for h := g; h < cfg.hosts; h += printers {
					for ; sent[h] < due; sent[h]++ {
						emit(lines[h][sent[h]%16])
					}
					left = left || sent[h] < per
				}
			}
		}()
	}
	wg.Wait()
	r := ingestResult{lines: per * int64(cfg.hosts)}
	if rec != nil {
		want := r.lines * ingestLine
		for rec.Stats().Bytes < want && rec.Stats().WriteErrors == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		r.lag = time.Since(start.Add(cfg.dur))
		results := make([]remote.HostResult, cfg.hosts)
		for i, n := range names {
			results[i] = remote.HostResult{Host: n, Status: remote.StatusOK}
		}
		if err := rec.Finish(ctx, remote.NewResult(results, cfg.dur)); err != nil {
			b.Fatal(err)
		}
	}
	r.cpu = processCPU() - cpu0
	b.StopTimer()
	if rec == nil {
		return r
	}
	hosts, err := st.RunHosts(ctx, rec.RunID())
	if err != nil {
		b.Fatal(err)
	}
	for _, h := range hosts {
		r.bytes += h.RecordedBytes
	}
	r.dropped = r.lines - r.bytes/ingestLine
	r.stalls = rec.Stats().Stalls
	return r
}

// processCPU is the CPU time this process used so far, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serverCPU is the CPU time the PostgreSQL server's processes used so far
// (those alive now: a benchmark's connections live until it ends).
func serverCPU(b *testing.B, srv *pgtest.Server) time.Duration {
	b.Helper()
	pidFile, err := os.ReadFile(filepath.Join(srv.Dir, "data", "postmaster.pid"))
	if err != nil {
		b.Fatalf("the server's pid: %v", err)
	}
	first, _, _ := strings.Cut(string(pidFile), "\n")
	root, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		b.Fatalf("the server's pid: %q", first)
	}
	var ticks int64
	for _, pid := range append([]int{root}, childrenOf(root)...) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // gone meanwhile
		}
		_, rest, _ := strings.Cut(string(stat), ") ")
		f := strings.Fields(rest) // from field 3, state
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += u + s
		}
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// childrenOf lists the pids whose parent is pid.
func childrenOf(pid int) []int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}
