package main

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/themes"
	"github.com/opsui/opsui/ui"
)

// benchRecordedRun records one exec run of hosts x lines access-log-like
// lines (about 50 bytes each) as the recorder writes them: chunks of about
// 64 KiB per host. It returns the run's id.
func benchRecordedRun(b *testing.B, st *store.Store, hosts, lines int) int64 {
	b.Helper()
	ctx := context.Background()
	names := make([]string, hosts)
	for i := range names {
		names[i] = fmt.Sprintf("host%04d", i)
	}
	run, rows, err := st.StartRun(ctx, store.NewRun{Kind: store.KindExec, Operator: "bench", Command: "cat /var/log/app.log", Hosts: names})
	if err != nil {
		b.Fatal(err)
	}
	for _, row := range rows {
		var chunks []store.Chunk
		var data []byte
		for i := range lines {
			data = fmt.Appendf(data, "%s 10.0.%d.%d GET /api/orders/%d 200 0.%03ds\n", row.Host, i%256, i%7, i, i%1000)
			if len(data) >= 64<<10 || i == lines-1 {
				chunks = append(chunks, store.Chunk{Seq: int64(len(chunks) + 1), Stream: "stdout", At: store.MillisOf(time.Now()), Data: data})
				data = nil
			}
		}
		if err := st.AppendOutput(ctx, row.ID, chunks); err != nil {
			b.Fatal(err)
		}
		row.Status, row.OutputBytes = store.HostOK, 0
		if err := st.UpdateRunHost(ctx, row); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.FinishRun(ctx, run.ID, store.RunOK, fmt.Sprintf("%d ok", hosts)); err != nil {
		b.Fatal(err)
	}
	return run.ID
}

// heapSampler records the peak of the live heap objects while it runs.
type heapSampler struct {
	stop chan struct{}
	done sync.WaitGroup
	peak uint64
}

func sampleHeap() *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(s)
			h.peak = max(h.peak, s[0].Value.Uint64())
			select {
			case <-h.stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return h
}

func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	h.done.Wait()
	return h.peak
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkReplay200Hosts replays a recorded 200-host x 10 000-line run
// (about 100 MB of output) in the console, as an operator does: the past
// runs list (P), then enter. It reports the console's live heap once the
// replay shows (the App kept alive), the peak heap while it was read, and
// the time to open it. "streamed" is the console's loadRun (the output
// streamed page by page into the panes' rings); "loaded-whole" gives the
// replay every chunk at once, as the console did before, for comparison.
//
//	go test -run '^$' -bench BenchmarkReplay200Hosts -benchtime 3x ./cmd/opsui
func BenchmarkReplay200Hosts(b *testing.B) {
	const hosts, lines = 200, 10_000
	st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "opsui.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	id := benchRecordedRun(b, st, hosts, lines)
	cs := &consoleSession{st: st, svc: &ops.Service{Store: st}}
	loadWhole := func(ctx context.Context, id int64) (ops.RecordedRun, error) {
		r, err := cs.svc.Run(ctx, id)
		if err != nil {
			return r, err
		}
		whole := make([][]ops.OutputChunk, len(r.Hosts))
		err = r.Stream(ctx, 0, func(i int, c ops.OutputChunk) error {
			whole[i] = append(whole[i], c)
			return nil
		})
		r.Stream = func(_ context.Context, _ int64, fn func(int, ops.OutputChunk) error) error {
			for i, cs := range whole {
				for _, c := range cs {
					if err := fn(i, c); err != nil {
						return err
					}
				}
			}
			return nil
		}
		return r, err
	}
	fleet := &inventory.Fleet{}
	for name, load := range map[string]func(context.Context, int64) (ops.RecordedRun, error){"streamed": cs.svc.Run, "loaded-whole": loadWhole} {
		b.Run(name, func(b *testing.B) {
			var peak, live, base uint64
			for range b.N {
				a := tea.Model(ui.New(ui.Options{Theme: themes.Dark().WithoutColor(), ListRuns: cs.pastRuns, LoadRun: load,
					LoadFleet: func(context.Context) (*inventory.Fleet, error) { return fleet, nil }}))
				a, _ = a.Update(a.Init()()) // the (empty) inventory
				a, _ = a.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
				base = liveHeap()
				sampler := sampleHeap()
				start := time.Now()
				a = pressAndRun(b, a, tea.Key{Code: 'P', Text: "P"})
				a = pressAndRun(b, a, tea.Key{Code: tea.KeyEnter})
				view := a.View().Content
				took := time.Since(start)
				peak = max(peak, sampler.Stop())
				live = max(live, liveHeap())
				if !strings.Contains(view, "run ") || !strings.Contains(view, fmt.Sprintf("/api/orders/%d ", lines-1)) {
					b.Fatalf("the replay does not show the run's last lines:\n%s", view)
				}
				runtime.KeepAlive(a)
				b.ReportMetric(float64(took.Milliseconds()), "ms/open")
			}
			b.ReportMetric(float64(live)/(1<<20), "live-heap-MB")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(base)/(1<<20), "base-heap-MB")
		})
	}
	_ = id
}

// pressAndRun sends a key to the console and runs the command it returns
// (the past runs list's read, or the replay's), feeding its message back.
func pressAndRun(b *testing.B, a tea.Model, k tea.Key) tea.Model {
	b.Helper()
	a, cmd := a.Update(tea.KeyPressMsg(k))
	if cmd == nil {
		b.Fatalf("%s did nothing", k)
	}
	return runCmds(a, cmd, 8)
}

// runCmds feeds a what cmd (and the commands its answers bring, depth
// levels deep) returns, as the program would: opening a past run takes
// two steps (the list reads the run, the root opens its replay).
func runCmds(a tea.Model, cmd tea.Cmd, depth int) tea.Model {
	if cmd == nil || depth == 0 {
		return a
	}
	msg := cmd()
	if batch, ok := msg.(tea.BatchMsg); ok {
		for _, c := range batch {
			a = runCmds(a, c, depth-1)
		}
		return a
	}
	if msg == nil {
		return a
	}
	a, next := a.Update(msg)
	return runCmds(a, next, depth-1)
}
