package deploy

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// Issue 4's performance target: a deploy (strategy all) of a ~20 MB release
// to 50 hosts takes less than 3x the upload of the same artifact alone.

const (
	benchHosts    = 50
	benchBlobSize = 20 << 20 // incompressible: the artifact is ~20 MB too
)

// BenchmarkDeploy20MBTo50Hosts deploys a release whose git archive is ~20 MB
// to 50 real sshd hosts, all at once, with the test app (a reload that
// restarts a static HTTP server, a health check of it), and in the same
// iteration times the upload alone: remote.Upload of the same artifact to the
// same hosts, over the same warm pool, into `tar -xzf - -C DIR`. An
// untimed deploy first warms the connections and puts a previous release
// on every host, so every timed deploy is a routine one (inspect, lock,
// upload, link shared, switch, reload, health, cleanup, record, unlock).
//
// It reports the medians of the rounds (-benchtime=Nx runs N of them; one
// round takes ~10 s on 2 cores) as metrics, the ratio as the median of the
// rounds' ratios, and prints a table of the split per round and the span of
// each step of the last deploy.
func BenchmarkDeploy20MBTo50Hosts(b *testing.B) {
	if testing.Short() {
		b.Skip("deploys to 50 sshd hosts")
	}
	tb := newTestbedWith(b, benchHosts)
	blob := make([]byte, benchBlobSize)
	rand.Read(blob)
	tb.commit("a 20 MB release", map[string]string{"assets/blob.bin": string(blob)})
	blob = nil

	// The upload alone ships the very artifact a deploy cuts.
	src, err := Resolve(context.Background(), tb.repo, "main")
	if err != nil {
		b.Fatal(err)
	}
	artifact := filepath.Join(b.TempDir(), "release.tar.gz")
	if err := Archive(context.Background(), tb.repo, src.Commit, artifact); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(artifact)
	if err != nil {
		b.Fatal(err)
	}
	var targets []remote.Target
	for _, h := range tb.fleet.Hosts {
		targets = append(targets, tb.targets[h.Name])
	}

	if out := tb.deploy("main", Strategy{Kind: "all"}); out.Result != store.ReleaseSuccess {
		tb.logf(out)
		b.Fatalf("warm-up deploy: %s", out.Result)
	}

	var rows []benchRow
	round := 0
	for b.Loop() {
		round++
		var row benchRow
		// Odd rounds upload first, even ones deploy first: whatever one
		// leaves the machine doing (writing back a GB of unpacked files)
		// slows the other alike.
		if round%2 == 1 {
			row.upload = benchUpload(b, tb, targets, artifact, round)
		}
		tb.mu.Lock()
		tb.events = tb.events[:0]
		tb.mu.Unlock()
		out, err := tb.deployer().Deploy(context.Background(), tb.plan("main", Strategy{Kind: "all"}))
		if err != nil {
			b.Fatal(err)
		}
		if out.Result != store.ReleaseSuccess {
			tb.logf(out)
			b.Fatalf("deploy %d: %s", round, out.Result)
		}
		row.timing = out.Timing
		if round%2 == 0 {
			row.upload = benchUpload(b, tb, targets, artifact, round)
		}
		tb.mu.Lock()
		row.steps = stepSpans(tb.events)
		tb.mu.Unlock()
		rows = append(rows, row)
	}

	med := func(f func(benchRow) time.Duration) float64 {
		ds := make([]time.Duration, len(rows))
		for i, r := range rows {
			ds[i] = f(r)
		}
		slices.Sort(ds)
		return ds[len(ds)/2].Seconds()
	}
	total := med(func(r benchRow) time.Duration { return r.timing.Total })
	upload := med(func(r benchRow) time.Duration { return r.upload })
	b.ReportMetric(0, "ns/op") // the figures below say more than the loop's mean
	b.ReportMetric(total, "s-deploy")
	b.ReportMetric(upload, "s-upload-alone")
	ratios := make([]float64, len(rows))
	for i, r := range rows {
		ratios[i] = r.timing.Total.Seconds() / r.upload.Seconds()
	}
	slices.Sort(ratios)
	ratio := ratios[len(ratios)/2]
	b.ReportMetric(ratio, "deploy/upload")
	b.ReportMetric(med(func(r benchRow) time.Duration { return r.timing.Artifact }), "s-artifact")
	b.ReportMetric(med(func(r benchRow) time.Duration { return r.timing.Lock }), "s-lock")
	b.ReportMetric(med(func(r benchRow) time.Duration { return r.timing.Upload }), "s-upload")
	b.ReportMetric(med(func(r benchRow) time.Duration { return r.timing.Prepare }), "s-prepare")
	b.ReportMetric(med(func(r benchRow) time.Duration { return r.timing.Activate }), "s-activate")

	var w strings.Builder
	fmt.Fprintf(&w, "\ndeploy of a %.1f MB artifact to %d hosts (strategy all), against remote.Upload of it alone\n\n",
		float64(fi.Size())/1e6, benchHosts)
	fmt.Fprintf(&w, "| round | artifact | lock | upload | prepare | activate | rest | **deploy** | upload alone | **ratio (< 3)** |\n")
	fmt.Fprintf(&w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for i, r := range rows {
		t := r.timing
		rest := t.Total - t.Artifact - t.Lock - t.Upload - t.Prepare - t.Activate
		fmt.Fprintf(&w, "| %d | %s | %s | %s | %s | %s | %s | **%s** | %s | **%.2f** |\n", i+1,
			secs(t.Artifact), secs(t.Lock), secs(t.Upload), secs(t.Prepare), secs(t.Activate), secs(rest),
			secs(t.Total), secs(r.upload), t.Total.Seconds()/r.upload.Seconds())
	}
	fmt.Fprintf(&w, "\nmedians: deploy %.2f s, upload alone %.2f s, ratio of a round %.2f (target < 3)\n", total, upload, ratio)
	fmt.Fprintf(&w, "\nsteps of the last deploy (first host's start to last host's end):\n\n")
	for _, s := range rows[len(rows)-1].steps {
		fmt.Fprintf(&w, "  %-8s %s\n", s.name, secs(s.span))
	}
	b.Log(w.String())
	fmt.Print(w.String())
}

type benchRow struct {
	timing Timing
	upload time.Duration
	steps  []stepSpan
}

type stepSpan struct {
	name string
	span time.Duration
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// stepSpans reads from a deploy's events how long each step took across
// the hosts: from its first stage event to the first stage event of the
// step after it (or the hosts' final events).
func stepSpans(evs []remote.Event) []stepSpan {
	first := map[string]time.Time{}
	var order []string
	var end time.Time
	for _, ev := range evs {
		switch ev.Kind {
		case remote.EventStage:
			if _, ok := first[ev.Line]; !ok {
				first[ev.Line] = ev.Time
				order = append(order, ev.Line)
			}
		case remote.EventExited, remote.EventFailed:
			if ev.Time.After(end) {
				end = ev.Time
			}
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return first[order[i]].Before(first[order[j]]) })
	var out []stepSpan
	for i, name := range order {
		stop := end
		if i+1 < len(order) {
			stop = first[order[i+1]]
		}
		out = append(out, stepSpan{name, stop.Sub(first[name])})
	}
	return out
}

// benchUpload times remote.Upload of artifact to every target into a fresh
// directory, made before (as the deploy's releases/ directory is), and
// checks every host unpacked it; the directory is removed afterwards.
func benchUpload(b *testing.B, tb *testbed, targets []remote.Target, artifact string, round int) time.Duration {
	b.Helper()
	dir := remote.Quote(fmt.Sprintf("upload-alone/%d", round))
	onEach(b, tb, targets, "rm -rf upload-alone && mkdir -p "+dir)
	start := time.Now()
	res, err := remote.Upload(context.Background(), tb.pool, targets, artifact, "tar -xzf - -C "+dir,
		remote.RunOptions{Parallel: len(targets)}, nil)
	d := time.Since(start)
	if err == nil && res.OK != len(targets) {
		err = res.Err()
	}
	if err != nil {
		b.Fatalf("upload alone: %v", err)
	}
	onEach(b, tb, targets, "test -s "+dir+"/assets/blob.bin && rm -rf upload-alone")
	return d
}

// onEach runs cmd on every target at once and fails the benchmark where it fails.
func onEach(b *testing.B, tb *testbed, targets []remote.Target, cmd string) {
	b.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	for _, t := range targets {
		wg.Go(func() {
			if _, hr := runCapture(context.Background(), tb.pool, t, cmd, nil, time.Minute); hr.Status != remote.StatusOK {
				mu.Lock()
				bad = append(bad, fmt.Sprintf("%s: %v", t.Name, hr.Err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(bad) > 0 {
		b.Fatalf("%s: failed on %s", cmd, strings.Join(bad, "; "))
	}
}
