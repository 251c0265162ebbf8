package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opsui/opsui/ops/logs"
	"github.com/opsui/opsui/store"
)

// WatchPhase is where the regression watch is.
type WatchPhase string

// The phases of a watch.
const (
	WatchBaseline WatchPhase = "baseline" // reading the logs before the first switch
	WatchWatching WatchPhase = "watching" // a batch is switched and watched
	WatchPassed   WatchPhase = "passed"   // the batch's window ended without a trip
	WatchTripped  WatchPhase = "tripped"  // the window found a regression
	WatchBlind    WatchPhase = "blind"    // no watched host's logs could be read
)

// WatchStatus is the regression watch as it goes, sent to
// Deployer.OnWatch about once a second: the console's live watch line.
type WatchStatus struct {
	Phase          WatchPhase
	Batch, Batches int // the batch watched, from 1
	Hosts          []string
	Left           time.Duration
	// NewErrors counts occurrences of error signatures the baseline did
	// not show; Requests and Errors5xx are the access logs' counts.
	NewErrors, Requests, Errors5xx int
	// Unreadable are the watched hosts whose logs cannot be read: "host: why".
	Unreadable []string
	// Verdict is the window's outcome in words, once it ended.
	Verdict string
}

func (s WatchStatus) String() string {
	switch s.Phase {
	case WatchBaseline:
		return fmt.Sprintf("watch baseline: %s left, %s so far", seconds(s.Left), Plural(s.Requests, "request", "requests"))
	case WatchWatching:
		line := fmt.Sprintf("watching batch %d/%d: %s left, %s", s.Batch, s.Batches, seconds(s.Left), Plural(s.NewErrors, "new error", "new errors"))
		if s.Requests > 0 {
			line += fmt.Sprintf(", %s 5xx of %d requests", percent(float64(s.Errors5xx)/float64(s.Requests)), s.Requests)
		}
		if len(s.Unreadable) > 0 {
			line += "; cannot read " + strings.Join(s.Unreadable, "; ")
		}
		return line
	}
	return s.Verdict
}

// seconds writes a time left as "12 s".
func seconds(d time.Duration) string {
	return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
}

// openWindow starts counting the hosts switched so far (hosts) into a
// new window: called before the batch's switch, so that what the new
// code logs from its first request counts.
func (w *watcher) openWindow(ctx context.Context, hosts []string) {
	if w == nil {
		return
	}
	var watched []string
	for _, s := range w.sources {
		if slices.Contains(hosts, s.Host.Name) {
			watched = append(watched, s.Host.Name)
		}
	}
	t := newTally(watched)
	w.mu.Lock()
	w.win, w.winAt = t, time.Now()
	w.mu.Unlock()
	w.checkReadable(ctx, t, hosts)
}

// watchBatch watches batch bi's window for the configured duration after
// its steps ran, and returns why it tripped ("" when it did not). Each
// verdict is noted in the run's record.
func (r *runner) watchBatch(ctx context.Context, bi int) string {
	w := r.watch
	if w == nil {
		return ""
	}
	w.mu.Lock()
	t := w.win
	hosts := sortedKeysBool(t.hosts)
	w.mu.Unlock()
	if len(hosts) == 0 {
		return "" // none of the hosts switched so far has logs: said at the start
	}
	batch := fmt.Sprintf("batch %d/%d", bi+1, w.batches)
	r.say("regression watch: watching %s (%s) for %s", batch, strings.Join(hosts, ", "), w.cfg.Duration)
	var trip *watchTrip
	end := time.Now().Add(w.cfg.Duration)
	ok := w.wait(ctx, end, func(left time.Duration) WatchStatus {
		st := WatchStatus{Phase: WatchWatching, Batch: bi + 1, Batches: w.batches, Hosts: hosts, Left: left,
			Requests: t.requests, Errors5xx: t.errs5xx, Unreadable: t.unreadable()}
		_, st.NewErrors = w.evaluate(t, false)
		return st
	}, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		trip, _ = w.evaluate(t, false)
		return trip != nil
	})
	if !ok {
		return "" // cancelled: the batch loop aborts
	}
	w.mu.Lock()
	if trip == nil {
		t.agg.Flush() // a traceback still being read counts
		trip, _ = w.evaluate(t, true)
	}
	unread := t.unreadable()
	groups := t.agg.Top(0)
	blind := len(unread) == len(t.hosts)
	reqs, rate, base := t.requests, t.rate(), w.base.rate()
	w.win = nil
	w.mu.Unlock()
	r.tieErrors(ctx, groups)
	st := WatchStatus{Batch: bi + 1, Batches: w.batches, Hosts: hosts, Requests: reqs, Unreadable: unread}
	switch {
	case trip != nil:
		st.Phase, st.Verdict = WatchTripped, fmt.Sprintf("regression watch TRIPPED on %s: %s", batch, trip.why)
		r.notef("%s", st.Verdict)
		for _, s := range trip.samples {
			r.notef("regression watch: sample: %s", s)
		}
		r.recordWatch(ctx, store.WatchTripped, st.Verdict, trip.sig)
	case blind:
		st.Phase, st.Verdict = WatchBlind, fmt.Sprintf("regression watch: %s NOT VERIFIED: no log of %s could be read (%s)",
			batch, strings.Join(hosts, ", "), strings.Join(unread, "; "))
		r.notef("%s", st.Verdict)
		r.recordWatch(ctx, store.WatchUnread, st.Verdict, "")
	default:
		rateWords := "no requests in the access logs: the 5xx rate was not measured"
		if reqs > 0 {
			rateWords = fmt.Sprintf("%s 5xx of %s (baseline %s)", percent(rate), Plural(reqs, "request", "requests"), percent(base))
		}
		st.Phase, st.Verdict = WatchPassed, fmt.Sprintf("regression watch: %s passed after %s: %s, no new error", batch, w.cfg.Duration, rateWords)
		if len(unread) > 0 {
			st.Verdict += "; not read: " + strings.Join(unread, "; ")
		}
		r.notef("%s", st.Verdict)
		r.recordWatch(ctx, store.WatchPassed, st.Verdict, "")
	}
	if w.status != nil {
		w.status(st)
	}
	if trip == nil {
		return ""
	}
	return "the regression watch tripped on " + batch + ": " + trip.why
}

// watchTrip is a regression found in a window.
type watchTrip struct {
	why     string
	samples []string
	sig     string // the new error's signature; "" for the 5xx rate
}

// evaluate looks at window t against the baseline (w.mu held): the first
// error signature the baseline lacks that occurred Repeats times (a
// traceback before a plain line), and, when final, the 5xx rate. It also
// returns how many occurrences of new signatures the window holds.
func (w *watcher) evaluate(t *tally, final bool) (*watchTrip, int) {
	known := map[string]bool{}
	for _, g := range w.base.agg.Top(0) {
		known[g.Key] = true
	}
	var newCount int
	var pick *logs.Group
	for _, g := range t.agg.Top(0) {
		if g.IsAccess() || known[g.Key] {
			continue
		}
		newCount += g.Count
		if g.Count >= w.cfg.Repeats && (pick == nil || g.Traceback && !pick.Traceback) {
			pick = &g
		}
	}
	if pick != nil {
		what := pick.Summary
		if pick.Frame != "" {
			what += " (" + frameWhere(pick.Frame) + ")"
		}
		trip := &watchTrip{sig: pick.Signature(), why: fmt.Sprintf("new error %s, %s on %s, never in the baseline", what, Plural(pick.Count, "time", "times"), strings.Join(pick.Hosts, ", "))}
		for _, l := range sampleLines(pick.Example, pick.Traceback) {
			trip.samples = append(trip.samples, pick.Hosts[0]+": "+l)
		}
		return trip, newCount
	}
	if final && t.requests > 0 && t.errs5xx >= w.cfg.Repeats {
		rate, base := t.rate(), w.base.rate()
		if 100*(rate-base) > w.cfg.Margin {
			return &watchTrip{why: fmt.Sprintf("5xx rate %s (%d of %s) against %s in the baseline, more than %s above it",
				percent(rate), t.errs5xx, Plural(t.requests, "request", "requests"), percent(base), w.cfg.MarginText()),
				samples: t.samples}, newCount
		}
	}
	return nil, newCount
}

func sortedKeysBool(m map[string]bool) []string {
	s := make(map[string]string, len(m))
	for k := range m {
		s[k] = ""
	}
	return sortedNames(s)
}

// switchedNames are the hosts switched so far and those of batch hs: the
// hosts a batch's window watches.
func (r *runner) switchedNames(hs []*hostRun) []string {
	var names []string
	for _, h := range r.hosts {
		h.mu.Lock()
		if h.switched || slices.Contains(hs, h) {
			names = append(names, h.host.Name)
		}
		h.mu.Unlock()
	}
	return names
}

// frameWhere is a traceback frame's place without its source line:
// File "views.py", line 25, in items.
func frameWhere(frame string) string {
	if i := strings.Index(frame, ", in "); i >= 0 {
		if j := strings.Index(frame[i:], ": "); j >= 0 {
			return frame[:i+j]
		}
	}
	return frame
}

// sampleLines are the lines of an occurrence a verdict quotes: a
// traceback's head, its last frame with its source and its exception
// (not Python's ~~~^^^ markers); a line as it is.
func sampleLines(ex []string, traceback bool) []string {
	if !traceback || len(ex) <= 4 {
		return ex
	}
	out := []string{ex[0]}
	last := len(ex) - 1
	for i := last - 1; i > 0; i-- {
		if strings.HasPrefix(strings.TrimSpace(ex[i]), "File ") {
			for _, l := range ex[i:last] {
				if strings.Trim(strings.TrimSpace(l), "~^") != "" && len(out) < maxWatchSamples {
					out = append(out, l)
				}
			}
			break
		}
	}
	return append(out, ex[last])
}
