// Package run is the console's run view: a run's feed (where the engine's
// events land, read by the view on its ticks), the view drawing a pane per
// host, its keys and mouse, and the replay of a recorded run.
package run

import (
	"fmt"
	"sync"
	"time"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
)

// paneLines is how many display lines each host pane keeps.
const paneLines = 5000

// hostPane is one host's part of a run as the console shows it.
type hostPane struct {
	name     string
	status   remote.EventKind // the last status event (queued ... exited/failed)
	class    remote.ErrorClass
	code     int
	err      string
	progress string
	// stage is the pipeline step the host is in (deploys), step its number
	// from 1 of steps (0 when it is not one of the plan's steps).
	stage       string
	step, steps int
	// failStage is the stage the host's first final event came in: where
	// it failed, not the rollback that came after.
	failStage string
	// sent and total are an upload's progress in bytes.
	sent, total int64
	started     time.Time
	took        time.Duration
	lines       *remote.Ring[string]
	idx         int  // the pane's place in the feed
	held        bool // a staged run holds it until its first host is done
}

// Feed is where the engine's events land: each event is applied to its
// host's pane under a lock, in the engine's goroutine, and the UI only reads
// snapshots on its own ticks. So the UI gets a few messages a second however
// fast the hosts talk, and memory is bounded by the rings.
type Feed struct {
	mu      sync.Mutex
	id      int
	title   string // "run 3", or "run 12 (recorded ...)" for a replay
	command string
	panes   []*hostPane
	byName  map[string]*hostPane
	done    bool
	result  remote.Result
	err     error
	// started and took time the run; now is the clock (tests fix it).
	started time.Time
	took    time.Duration
	now     func() time.Time
	// grouping groups the hosts by output (groups.go); nil: off.
	grouping *grouping
	// watch is a deploy's regression watch as it goes (watch.go); nil: none.
	watch *deploy.WatchStatus
	// follow is a teammate's run followed from its record (follow.go); nil: none.
	follow *following
}

// NewFeed is run id of command on hosts, every host queued.
func NewFeed(id int, command string, hosts []string) *Feed {
	f := &Feed{id: id, title: fmt.Sprintf("run %d", id), command: command, byName: map[string]*hostPane{},
		started: time.Now(), now: time.Now}
	for _, h := range hosts {
		p := &hostPane{name: h, status: remote.EventQueued, lines: remote.NewRing[string](paneLines), idx: len(f.panes)}
		f.panes = append(f.panes, p)
		f.byName[h] = p
	}
	return f
}

// ID is the run's number in the session (0 for a flow's or a replay).
func (f *Feed) ID() int { return f.id }

// Command is what the run ran.
func (f *Feed) Command() string { return f.command }

// Hosts are the run's hosts, in their panes' order.
func (f *Feed) Hosts() []string {
	out := make([]string, len(f.panes))
	for i, p := range f.panes {
		out[i] = p.name
	}
	return out
}

// SetTitle names the run above its panes (a flow's kind); call it before
// the run starts.
func (f *Feed) SetTitle(title string) { f.title = title }

// Outcome is the run's result, and whether it has finished.
func (f *Feed) Outcome() (remote.Result, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.result, f.done
}

// Event applies one engine event; it is safe for concurrent use.
func (f *Feed) Event(ev remote.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.byName[ev.Host]
	if p == nil {
		return
	}
	switch ev.Kind {
	case remote.EventStdout, remote.EventStderr:
		p.lines.Push(ev.Line)
		p.progress = ""
		if f.grouping != nil {
			f.grouping.line(p.idx, ev.Kind, ev.Line)
		}
	case remote.EventProgress:
		if ev.Total > 0 || ev.Bytes > 0 {
			p.sent, p.total = ev.Bytes, ev.Total
		} else {
			p.progress = ev.Line
		}
	case remote.EventStage:
		p.stage, p.step, p.steps = ev.Line, ev.Step, ev.Steps
		p.sent, p.total = 0, 0 // an upload is a stage of its own
		f.markStarted(p, ev.Time)
	case remote.EventStarted:
		f.markStarted(p, ev.Time)
	case remote.EventExited, remote.EventFailed:
		if p.status != remote.EventExited && p.status != remote.EventFailed {
			p.failStage = p.stage
		}
		p.status, p.class, p.code, p.took = ev.Kind, ev.Class, ev.Code, ev.Duration
		if ev.Err != nil {
			p.err = remote.HostCause(ev.Err).Error()
		}
	default:
		p.status = ev.Kind
	}
	if f.grouping != nil {
		f.grouping.place(p.idx, p)
	}
}

// markStarted moves a queued or connecting host to running: a pipeline's
// host starts with its first stage, a command's with EventStarted.
func (f *Feed) markStarted(p *hostPane, at time.Time) {
	if p.status == remote.EventQueued || p.status == remote.EventConnecting {
		p.status = remote.EventStarted
	}
	if p.started.IsZero() {
		if at.IsZero() {
			at = f.now()
		}
		p.started = at
	}
}

// Finish records the run's result.
func (f *Feed) Finish(res remote.Result, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.done, f.result, f.err = true, res, err
	f.took = f.now().Sub(f.started)
	// A host without a final event when the run ends was never reached (a
	// deploy refused at its lock): it must not read "running" forever.
	for _, p := range f.panes {
		if p.status != remote.EventExited && p.status != remote.EventFailed {
			p.status, p.class, p.err = remote.EventFailed, remote.ClassCancelled, "not reached"
		}
		if f.grouping != nil {
			f.grouping.place(p.idx, p)
		}
	}
}

// Settle ends, with its outcome, the pane of every host the work left
// without a final event (a pipeline reports hosts in its outcome).
func (f *Feed) Settle(res remote.Result) {
	for _, h := range res.Hosts {
		f.mu.Lock()
		p := f.byName[h.Host]
		open := p != nil && p.status != remote.EventExited && p.status != remote.EventFailed
		f.mu.Unlock()
		if !open {
			continue
		}
		ev := remote.Event{Host: h.Host, Kind: remote.EventExited, Duration: h.Duration, Class: h.Class, Err: h.Err}
		if h.Status != remote.StatusOK {
			ev.Kind = remote.EventFailed
			if ev.Class == remote.ClassNone {
				ev.Class = remote.ErrorClass(h.Status)
			}
		}
		f.Event(ev)
	}
}

// Done reports whether the run has finished.
func (f *Feed) Done() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.done
}

// paneSnapshot is what a pane draws, copied out under the lock.
type paneSnapshot struct {
	name, progress, err string
	stage, failStage    string
	step, steps         int
	sent, total         int64
	status              remote.EventKind
	class               remote.ErrorClass
	code                int
	took                time.Duration
	running             time.Duration // how long it has run so far, while it runs
	lines               []string
	// pushed counts every line the host printed, first is the number of
	// the oldest one kept (the ring dropped those before).
	pushed, first uint64
	held          bool
}

// Which panes a snapshot copies lines of.
const (
	allPanes = -1
	noPanes  = -2
)

// window is what a snapshot copies of one pane: its last lines while it
// follows, else the lines from top on (counted over every line the host
// printed, so new output does not move what the user reads).
type window struct {
	pane   int
	top    uint64
	follow bool
}

// runSnapshot is the run as a frame draws it.
type runSnapshot struct {
	panes   []paneSnapshot
	done    bool
	res     remote.Result
	elapsed time.Duration
}

// snapshot copies every pane's status and n lines (n > 0) of pane only,
// or of every pane (allPanes), or of none (noPanes): a list of 200 hosts
// draws one pane, and copying the others' lines every frame would cost
// more than drawing. win says which lines of its pane are copied.
func (f *Feed) snapshot(n, only int, win window) runSnapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	snap := runSnapshot{panes: make([]paneSnapshot, 0, len(f.panes)), done: f.done, res: f.result, elapsed: f.took}
	if !f.done {
		snap.elapsed = now.Sub(f.started)
	}
	for i, p := range f.panes {
		ps := paneSnapshot{name: p.name, progress: p.progress, err: p.err, status: p.status, stage: p.stage, failStage: p.failStage,
			step: p.step, steps: p.steps, sent: p.sent, total: p.total, class: p.class, code: p.code, took: p.took,
			pushed: p.lines.Total(), first: p.lines.Dropped(), held: p.held}
		if p.status == remote.EventStarted && !p.started.IsZero() {
			ps.running = now.Sub(p.started)
		}
		switch {
		case n <= 0 || (only != allPanes && only != i):
		case win.pane == i && !win.follow:
			ps.lines = linesFrom(p.lines, win.top, n)
		default:
			ps.lines = p.lines.Last(n)
		}
		snap.panes = append(snap.panes, ps)
	}
	return snap
}

// linesFrom copies up to n lines of r from line top on, or the last n when
// top is past the end.
func linesFrom(r *remote.Ring[string], top uint64, n int) []string {
	top = max(top, r.Dropped())
	if r.Len() == 0 {
		return nil
	}
	if top+uint64(n) > r.Total() {
		return r.Last(n)
	}
	all := r.Last(int(r.Total() - top))
	return all[:n]
}

// Err is the error the run could not start with, if any.
func (f *Feed) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// LastLines returns up to n of host's last lines in this run, nil when the
// host is not in it.
func (f *Feed) LastLines(host string, n int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.byName[host]; p != nil {
		return p.lines.Last(n)
	}
	return nil
}
