package logs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/ops/logs"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/themes"
	"github.com/opsui/opsui/ui/common"
)

// appendAtRate appends rate lines a second to path until ctx ends, in
// batches every 10 ms, and returns how many it wrote.
func appendAtRate(ctx context.Context, path, host string, rate int) (int, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	const tick = 10 * time.Millisecond
	start := time.Now()
	written := 0
	var buf []byte
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return written, nil
		case <-t.C:
		}
		due := int(time.Since(start).Seconds() * float64(rate)) // catch up after a late tick
		buf = buf[:0]
		for ; written < due; written++ {
			lvl := "INFO"
			if written%50 == 0 {
				lvl = "ERROR"
			}
			buf = fmt.Appendf(buf, "2026-11-23 10:00:00,000 %s [shop.views] %s request %d served in 12 ms\n", lvl, host, written)
		}
		if _, err := f.Write(buf); err != nil {
			return written, err
		}
	}
}

// BenchmarkLogsView50Hosts follows one file on each of 50 real sshd hosts
// while each host's file grows by 1 000 lines a second (OPSUI_LOGS_BENCH_HOSTS,
// OPSUI_LOGS_BENCH_RATE), for OPSUI_LOGS_BENCH_DURATION (default 10s, short
// enough for make bench; the figure is 1m). The lines land in the
// logs view's buffer (OPSUI_LOGS_BENCH_BUFFER lines per host, default 2 000
// so that the rings are full after 2 s and the memory can be seen to stay
// flat), and the UI takes them and draws a 120x40 merged view every 50 ms,
// as the console does. It reports every line written and received (they
// must be equal), the p99 and max of the UI's Update+View, and the heap
// when the rings became full and at the end.
func BenchmarkLogsView50Hosts(b *testing.B) {
	hosts := testenv.EnvInt(b, "OPSUI_LOGS_BENCH_HOSTS", 50)
	rate := testenv.EnvInt(b, "OPSUI_LOGS_BENCH_RATE", 1000)
	perHost := testenv.EnvInt(b, "OPSUI_LOGS_BENCH_BUFFER", 2000)
	dur := testenv.EnvDuration(b, "OPSUI_LOGS_BENCH_DURATION", 10*time.Second)
	f := sshtest.Start(b, hosts, sshtest.WithMaxSessions(20))
	if !f.Isolated {
		b.Skip("needs isolated hosts (root)")
	}
	pool := remote.NewPool(remote.Options{KnownHostsFiles: []string{f.KnownHostsPath}, DialTimeout: 10 * time.Second})
	b.Cleanup(func() { pool.Close() })
	var sources []logs.Source
	var names []string
	for _, h := range f.Hosts {
		sources = append(sources, logs.Source{Host: remote.Target{Name: h.Name, Addr: h.Address(), User: f.User,
			IdentityFiles: []string{f.ClientKeyPath}}, Paths: []string{"app.log"}})
		names = append(names, h.Name)
		if err := os.WriteFile(filepath.Join(h.Home, "app.log"), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		ctx := common.NewContext(themes.Dark())
		v := New(ctx, DefaultKeyMap(), 1, names, perHost)
		v.SetSize(120, 38)
		var received atomic.Int64
		emit := func(l logs.Line) {
			if l.Kind == logs.KindLine && strings.HasPrefix(l.Text, "2026-") {
				received.Add(1) // a line of the writers, not a "ready"
			}
			v.buf.Add(l)
		}
		tctx, stopTail := context.WithCancel(context.Background())
		tailDone := make(chan error, 1)
		go func() { tailDone <- logs.Tail(tctx, pool, sources, logs.Options{SinceLines: 0}, emit) }()
		// Wait until every host follows: "ready" lines (not counted) are
		// written until each host has shown one.
		waitUntil(b, 60*time.Second, func() bool {
			ready := 0
			for _, hs := range v.buf.Hosts() {
				if hs.Lines > 0 {
					ready++
				}
			}
			if ready == hosts {
				return true
			}
			for _, h := range f.Hosts {
				appendLine(b, filepath.Join(h.Home, "app.log"), "ready "+h.Name)
			}
			time.Sleep(500 * time.Millisecond)
			return false
		})

		wctx, stopWriters := context.WithTimeout(context.Background(), dur)
		var wg sync.WaitGroup
		var written atomic.Int64
		for _, h := range f.Hosts {
			wg.Go(func() {
				n, err := appendAtRate(wctx, filepath.Join(h.Home, "app.log"), h.Name, rate)
				if err != nil {
					b.Error(err)
				}
				written.Add(int64(n))
			})
		}
		var frames []time.Duration
		var heapFull, heapEnd uint64
		full := time.Duration(float64(perHost)/float64(rate)*float64(time.Second)) + time.Second
		start := time.Now()
		tick := time.NewTicker(logsTick)
		for wctx.Err() == nil || time.Since(start) < dur+5*time.Second {
			<-tick.C
			t0 := time.Now()
			v.Update(TickMsg{ID: v.id})
			_ = v.View()
			frames = append(frames, time.Since(t0))
			if heapFull == 0 && time.Since(start) > full {
				heapFull = heapInUse()
			}
			if wctx.Err() != nil && received.Load() >= written.Load() {
				break // every line is in
			}
		}
		tick.Stop()
		wg.Wait()
		stopWriters()
		heapEnd = heapInUse()
		stopTail()
		<-tailDone
		slices.Sort(frames)
		p99 := frames[len(frames)*99/100]
		b.ReportMetric(float64(written.Load()), "lines-written")
		b.ReportMetric(float64(received.Load()), "lines-received")
		b.ReportMetric(float64(received.Load())/time.Since(start).Seconds(), "lines/s")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99-update+view-ms")
		b.ReportMetric(float64(frames[len(frames)-1].Microseconds())/1000, "max-update+view-ms")
		b.ReportMetric(float64(heapFull)/(1<<20), "heap-when-full-MB")
		b.ReportMetric(float64(heapEnd)/(1<<20), "heap-end-MB")
		b.Logf("%d hosts x %d lines/s for %s: %d written, %d received, %d lost by the view, %d frames, p99 %s, heap %.1f MB when full, %.1f MB at the end",
			hosts, rate, dur, written.Load(), received.Load(), v.lost, len(frames), p99, float64(heapFull)/(1<<20), float64(heapEnd)/(1<<20))
		if received.Load() != written.Load() {
			b.Errorf("%d lines written, %d received", written.Load(), received.Load())
		}
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func appendLine(b *testing.B, path, line string) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		b.Fatal(err)
	}
}

func waitUntil(b *testing.B, limit time.Duration, ok func() bool) {
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			b.Fatal("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkLogsViewTick is the UI's work for one 50 ms tick of 50 hosts
// writing 1 000 lines a second each (2 500 new lines), with full rings,
// without SSH: Update (take the lines) and View (draw 120x40 merged).
func BenchmarkLogsViewTick(b *testing.B) {
	const hosts, perHost, perTick = 50, 2000, 2500
	var names []string
	for i := range hosts {
		names = append(names, fmt.Sprintf("web%02d", i))
	}
	v := New(common.NewContext(themes.Dark()), DefaultKeyMap(), 1, names, perHost)
	v.SetSize(120, 38)
	now := time.Now()
	n := 0
	add := func(k int) {
		for range k {
			v.buf.Add(logs.Line{Host: names[n%hosts], File: "app.log", Time: now,
				Text: fmt.Sprintf("2026-11-23 10:00:00,000 INFO [shop.views] request %d served in 12 ms", n)})
			n++
		}
	}
	add(hosts * perHost)
	v.Update(TickMsg{ID: v.id})
	for b.Loop() {
		b.StopTimer()
		add(perTick)
		b.StartTimer()
		v.Update(TickMsg{ID: v.id})
		_ = v.View()
	}
}
