package ui

import (
	"sync"
	"time"

	"github.com/opsui/opsui/ops"
)

// paneLines is how many display lines each host pane keeps.
const paneLines = 5000

// hostPane is one host's part of a run as the console shows it.
type hostPane struct {
	name     string
	status   ops.EventKind // the last status event (queued ... exited/failed)
	class    ops.ErrorClass
	code     int
	err      string
	progress string
	started  time.Time
	took     time.Duration
	lines    *ops.Ring[string]
}

// runFeed is where the engine's events land: each event is applied to its
// host's pane under a lock, in the engine's goroutine, and the UI only reads
// snapshots on its own ticks. So the UI gets a few messages a second however
// fast the hosts talk, and memory is bounded by the rings.
type runFeed struct {
	mu      sync.Mutex
	id      int
	command string
	panes   []*hostPane
	byName  map[string]*hostPane
	done    bool
	result  ops.Result
	err     error
}

func newRunFeed(id int, command string, hosts []string) *runFeed {
	f := &runFeed{id: id, command: command, byName: map[string]*hostPane{}}
	for _, h := range hosts {
		p := &hostPane{name: h, status: ops.EventQueued, lines: ops.NewRing[string](paneLines)}
		f.panes = append(f.panes, p)
		f.byName[h] = p
	}
	return f
}

// Event applies one engine event; it is safe for concurrent use.
func (f *runFeed) Event(ev ops.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.byName[ev.Host]
	if p == nil {
		return
	}
	switch ev.Kind {
	case ops.EventStdout, ops.EventStderr:
		p.lines.Push(ev.Line)
		p.progress = ""
	case ops.EventProgress:
		p.progress = ev.Line
	case ops.EventStarted:
		p.status, p.started = ev.Kind, ev.Time
	case ops.EventExited, ops.EventFailed:
		p.status, p.class, p.code, p.took = ev.Kind, ev.Class, ev.Code, ev.Duration
		if ev.Err != nil {
			p.err = unwrapHost(ev.Err).Error()
		}
	default:
		p.status = ev.Kind
	}
}

// finish records the run's result.
func (f *runFeed) finish(res ops.Result, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.done, f.result, f.err = true, res, err
}

// isDone reports whether the run has finished.
func (f *runFeed) isDone() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.done
}

// paneSnapshot is what a pane draws, copied out under the lock.
type paneSnapshot struct {
	name, progress, err string
	status              ops.EventKind
	class               ops.ErrorClass
	code                int
	took                time.Duration
	lines               []string
	dropped             uint64
}

// Which panes a snapshot copies lines of.
const (
	allPanes = -1
	noPanes  = -2
)

// snapshot copies every pane's status and the last n lines (n > 0) of
// pane only, or of every pane (allPanes), or of none (noPanes): a list of
// 200 hosts draws one pane, and copying the others' lines every frame
// would cost more than drawing.
func (f *runFeed) snapshot(n, only int) (panes []paneSnapshot, done bool, res ops.Result) {
	f.mu.Lock()
	defer f.mu.Unlock()
	panes = make([]paneSnapshot, 0, len(f.panes))
	for i, p := range f.panes {
		ps := paneSnapshot{name: p.name, progress: p.progress, err: p.err, status: p.status,
			class: p.class, code: p.code, took: p.took, dropped: p.lines.Dropped()}
		if n > 0 && (only == allPanes || only == i) {
			ps.lines = p.lines.Last(n)
		}
		panes = append(panes, ps)
	}
	return panes, f.done, f.result
}

// runErr is the error the run could not start with, if any.
func (f *runFeed) runErr() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// lastLines returns up to n of host's last lines in this run, nil when the
// host is not in it.
func (f *runFeed) lastLines(host string, n int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.byName[host]; p != nil {
		return p.lines.Last(n)
	}
	return nil
}
