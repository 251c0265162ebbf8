package deploy

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/logs"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// roleWeb is the role whose logs the regression watch reads.
const roleWeb = "web"

// maxWatchSamples bounds the sample lines a verdict quotes.
const maxWatchSamples = 3

// watcher is a deploy's regression watch (inventory.Watch): one follow of
// every web host's logs from the lock on, counted first into the
// baseline, then into each batch's window for the hosts switched so far.
type watcher struct {
	cfg     inventory.WatchSettings
	conn    remote.Connector
	sources []logs.Source
	batches int
	began   time.Time
	cancel  context.CancelFunc
	done    chan struct{}
	status  func(WatchStatus)

	ties    *logs.Ties // the runner's only
	mu      sync.Mutex
	verdict store.WatchVerdict // the worst batch's so far (watch_record.go)
	base    *tally
	win     *tally // the open window (its hosts: those it counts); nil when none is
	winAt   time.Time
}

// tally is what the logs said over a baseline or a window.
type tally struct {
	requests, errs5xx int
	samples           []string // 5xx access-log lines, "host: line"
	agg               *logs.Aggregator
	// unread says, by host, why its logs could not be read.
	unread map[string]string
	hosts  map[string]bool // the hosts counted
}

func newTally(hosts []string) *tally {
	t := &tally{agg: logs.NewAggregator(), unread: map[string]string{}, hosts: map[string]bool{}}
	for _, h := range hosts {
		t.hosts[h] = true
	}
	return t
}

// rate is the share of 5xx answers, 0 without requests.
func (t *tally) rate() float64 {
	if t.requests == 0 {
		return 0
	}
	return float64(t.errs5xx) / float64(t.requests)
}

// watchSettings resolves the plan's watch: the app's watch: for the
// environment, with the operator's --watch duration over it.
func (p *Plan) watchSettings() inventory.WatchSettings {
	w := p.App.Watch
	if p.Watch != nil {
		c := inventory.Watch{}
		if w != nil {
			c = *w
		}
		d := inventory.Duration(*p.Watch)
		c.Duration, c.Environments = &d, nil
		w = &c
	}
	return w.For(p.Env.Name)
}

// startWatch starts following the web hosts' logs for the baseline, or
// returns nil when the deploy is not watched (saying why when a watch
// was asked for).
func (r *runner) startWatch(ctx context.Context) *watcher {
	p := r.plan
	cfg := p.watchSettings()
	if !cfg.On() {
		if p.App.Watch != nil || p.Watch != nil {
			r.notef("regression watch: off for %s", p.Env.Name)
			r.watchSkipped(ctx, "off for "+p.Env.Name)
		}
		return nil
	}
	w := &watcher{ties: logs.NewTies(), cfg: cfg, conn: r.conn, batches: len(p.Batches), began: time.Now(), done: make(chan struct{}), status: r.OnWatch}
	var names, without []string
	for _, h := range p.Hosts {
		if !h.HasRole(roleWeb) {
			continue
		}
		paths := p.Fleet.SettingsFor(h, roleWeb).Logs
		t, ok := r.Targets[h.Name]
		if len(paths) == 0 || !ok {
			without = append(without, h.Name)
			continue
		}
		src := logs.Source{Host: t, Paths: slices.Clone(paths)}
		if p.Fleet.SettingsFor(h, roleWeb).LogsSudo() {
			src.Sudo = src.Paths // read through sudo -n (logs/sudo.go)
		}
		w.sources = append(w.sources, src)
		names = append(names, h.Name)
	}
	if len(w.sources) == 0 {
		r.notef("regression watch: NOT WATCHED: no web host of this deploy has log files (the web role's logs:), so nothing can be compared")
		r.watchSkipped(ctx, "no web host of this deploy has log files")
		return nil
	}
	if len(without) > 0 {
		r.notef("regression watch: %s %s no log files (the web role's logs:): not watched", strings.Join(without, ", "),
			map[bool]string{true: "has", false: "have"}[len(without) == 1])
	}
	w.base = newTally(names)
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w.cancel = cancel
	go func() {
		defer close(w.done)
		_ = logs.Tail(wctx, r.conn, w.sources, logs.Options{SinceLines: 0, RetryMin: time.Second, RetryMax: 5 * time.Second}, w.add)
	}()
	w.checkReadable(ctx, w.base, names)
	r.say("regression watch: reading the logs of %s for a %s baseline (%s)", strings.Join(names, ", "), cfg.Baseline, cfg)
	r.watchSkipped(ctx, "no batch was watched: the deploy stopped before its first switch") // until a window ends
	return w
}

// stop ends the follow.
func (w *watcher) stop() {
	if w == nil {
		return
	}
	w.cancel()
	<-w.done
}

// add counts one line of the follow.
func (w *watcher) add(l logs.Line) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.win
	if t == nil {
		if w.base == nil || w.baseDone() {
			return
		}
		t = w.base
	}
	if !t.hosts[l.Host] {
		return
	}
	switch l.Kind {
	case logs.KindDropped:
		t.unread[l.Host] = fmt.Sprintf("%s: %s", l.File, l.Text)
		return
	case logs.KindLine:
	default:
		return
	}
	if code, ok := logs.AccessStatus(l.Text); ok {
		t.requests++
		if code >= 500 {
			t.errs5xx++
			if len(t.samples) < maxWatchSamples {
				t.samples = append(t.samples, l.Host+": "+l.Text)
			}
		}
	}
	t.agg.Add(l)
}

// baseDone reports whether the baseline is closed (w.mu held).
func (w *watcher) baseDone() bool { return !w.winAt.IsZero() }

// readableScript prints each of its arguments that is not a readable file.
// One marked "sudo:" is read through sudo (logs/sudo.go): the deploy user
// need only see that it exists; a refused sudo shows in the follow.
const readableScript = `for f in "$@"; do case $f in sudo:*) f=${f#sudo:}; [ -f "$f" ] ;; *) [ -r "$f" ] && [ -f "$f" ] ;; esac || printf '%s\n' "$f"; done`

// checkReadable notes, in t, each host of names whose log files cannot be
// read (missing, or the deploy user may not read them).
func (w *watcher) checkReadable(ctx context.Context, t *tally, names []string) {
	var wg sync.WaitGroup
	for _, s := range w.sources {
		if !slices.Contains(names, s.Host.Name) {
			continue
		}
		wg.Go(func() {
			args := make([]string, len(s.Paths))
			for i, p := range s.Paths {
				if slices.Contains(s.Sudo, p) {
					p = "sudo:" + p
				}
				args[i] = remote.Quote(p)
			}
			out, res := runCapture(ctx, w.conn, s.Host, "set -- "+strings.Join(args, " ")+"\n"+readableScript, nil, 30*time.Second)
			why := ""
			switch {
			case res.Status != remote.StatusOK:
				why = fmt.Sprintf("checking its logs failed: %v", res.Err)
			case strings.TrimSpace(out) != "":
				why = "cannot read " + strings.Join(strings.Fields(out), ", ")
			}
			if why != "" {
				w.mu.Lock()
				t.unread[s.Host.Name] = why
				w.mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// unreadable lists t's unread hosts as "host: why", sorted (w.mu held).
func (t *tally) unreadable() []string {
	var out []string
	for _, h := range sortedNames(t.unread) {
		out = append(out, h+": "+t.unread[h])
	}
	return out
}

func sortedNames(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// endBaseline waits until the baseline window is over (the release's
// preparation counts towards it), then closes it and notes what it saw.
// It returns false when ctx ended first.
func (r *runner) endBaseline(ctx context.Context) bool {
	w := r.watch
	if w == nil {
		return true
	}
	end := w.began.Add(w.cfg.Baseline)
	if !w.wait(ctx, end, func(left time.Duration) WatchStatus {
		return WatchStatus{Phase: WatchBaseline, Batches: w.batches, Left: left, Requests: w.base.requests, Errors5xx: w.base.errs5xx}
	}, nil) {
		return false
	}
	w.mu.Lock()
	w.winAt = time.Now()
	b := w.base
	b.agg.Flush()
	sigs := 0
	groups := b.agg.Top(0)
	for _, g := range groups {
		if !g.IsAccess() {
			sigs++
		}
	}
	unread := b.unreadable()
	hosts := len(b.hosts) - len(b.unread)
	w.mu.Unlock()
	r.tieErrors(ctx, groups) // seen under each host's release before this deploy
	r.notef("regression watch: baseline of %s over %s: %s, %s 5xx, %s", Plural(hosts, "host", "hosts"), time.Since(w.began).Round(time.Second),
		Plural(b.requests, "request", "requests"), percent(b.rate()), Plural(sigs, "error signature", "error signatures"))
	for _, u := range unread {
		r.notef("regression watch: no baseline from %s", u)
	}
	return true
}

// wait sends a status every second until end, ctx's end or stop
// returning true; it reports whether end was reached or stop said so.
func (w *watcher) wait(ctx context.Context, end time.Time, status func(left time.Duration) WatchStatus, stop func() bool) bool {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var sent time.Time
	for {
		now := time.Now()
		if w.status != nil && now.Sub(sent) >= time.Second {
			w.mu.Lock()
			st := status(max(0, end.Sub(now)).Round(time.Second))
			w.mu.Unlock()
			w.status(st)
			sent = now
		}
		if stop != nil && stop() {
			return true
		}
		if !now.Before(end) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}

// percent writes a share as a percentage.
func percent(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

// describeWatch writes the plan's regression watch: its settings and the
// logs it reads, or why there is none.
func (p *Plan) describeWatch(w io.Writer) {
	cfg := p.watchSettings()
	if !cfg.On() {
		if p.App.Watch != nil || p.Watch != nil {
			fmt.Fprintf(w, "regression watch: off for %s\n", p.Env.Name)
		}
		return
	}
	fmt.Fprintf(w, "regression watch: %s\n", cfg)
	var none []string
	for _, h := range p.Hosts {
		if !h.HasRole(roleWeb) {
			continue
		}
		if paths := p.Fleet.SettingsFor(h, roleWeb).Logs; len(paths) > 0 {
			fmt.Fprintf(w, "  %s: %s\n", h.Name, strings.Join(paths, ", "))
		} else {
			none = append(none, h.Name)
		}
	}
	if len(none) > 0 {
		fmt.Fprintf(w, "  not watched (no logs: in the web role): %s\n", strings.Join(none, ", "))
	}
}
