package ui

import (
	"context"
	"fmt"
	"sync"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ui/common"
)

// flowStopTimeout bounds how long Run waits, after the program ended, for
// the flows it cancelled to stop their hosts and release their locks (an
// aborted deploy may roll its switched hosts back first).
const flowStopTimeout = 3 * time.Minute

// flowTracker counts the flows' works that run, so that the console does
// not exit under a deploy that still holds its hosts' lock. After close,
// no work starts.
type flowTracker struct {
	mu      sync.Mutex
	running int
	closed  bool
	idle    chan struct{} // closed when running drops to 0 after close
}

func newFlowTracker() *flowTracker { return &flowTracker{idle: make(chan struct{})} }

// begin counts a work in; false once the console is closing.
func (t *flowTracker) begin() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.running++
	return true
}

func (t *flowTracker) end() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.running--
	if t.closed && t.running == 0 {
		close(t.idle)
	}
}

// closeAndWait stops new works and waits up to timeout for the running
// ones (whose context the caller cancelled) to return.
func (t *flowTracker) closeAndWait(timeout time.Duration) error {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		if t.running == 0 {
			close(t.idle)
		}
	}
	n := t.running
	t.mu.Unlock()
	select {
	case <-t.idle:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%d flow(s) still running %s after the console closed: a deploy lock may be left (opsui unlock)", n, timeout)
	}
}

// activeRunner is the flow's work while it runs, nil when it has none or
// it is over.
func activeRunner(f flow) *flowRunner {
	rf, ok := f.(interface{ running() *flowRunner })
	if !ok {
		return nil
	}
	r := rf.running()
	if r == nil || r.done {
		return nil
	}
	return r
}

// quitState is the App's part of quitting while a flow runs: the
// question asked, then the wait for the aborted work to end.
type quitState struct {
	asking   bool
	aborting bool
}

// quitKey handles q and ctrl+c while a flow is shown, and every key
// while the quit question is asked or the work is being aborted;
// handled is false for the flow's own keys. A running flow is never left
// behind: quitting asks (default No), then cancels the work and quits
// once it has stopped its hosts and released its lock.
func (a App) quitKey(km tea.KeyPressMsg) (App, tea.Cmd, bool) {
	r := activeRunner(a.flows.cur)
	isQuit := key.Matches(km, a.keys.ForceQuit) || key.Matches(km, a.keys.Quit) && !flowTyping(a.flows.cur)
	switch {
	case a.flows.quit.aborting:
		if key.Matches(km, a.keys.ForceQuit) {
			return a, tea.Quit, true // Run still waits for the work to end
		}
		return a, nil, true
	case a.flows.quit.asking:
		a.flows.quit.asking = false
		if !key.Matches(km, a.keys.Confirm) || r == nil {
			return a, nil, true // anything but y, Enter included, goes on
		}
		a.flows.quit.aborting = true
		r.cancel()
		r.log.say("quitting: aborting the run; every host stops at its next step and the lock is released")
		return a, nil, true
	case !isQuit:
		return a, nil, false
	case r == nil:
		if key.Matches(km, a.keys.ForceQuit) {
			return a, tea.Quit, true
		}
		return a, nil, false // q belongs to the flow
	}
	a.flows.quit.asking = true
	return a, nil, true
}

// afterFlowMsg quits once the work aborted for quitting has ended; a
// question about a work that ended meanwhile is dropped.
func (a App) afterFlowMsg(cmd tea.Cmd) (App, tea.Cmd) {
	if activeRunner(a.flows.cur) != nil {
		return a, cmd
	}
	a.flows.quit.asking = false
	if a.flows.quit.aborting {
		return a, tea.Quit
	}
	return a, cmd
}

// quitLine is the line above the flow while quitting is asked or under way.
func (a App) quitLine(w int) string {
	st := a.ctx.Styles
	switch {
	case a.flows.quit.asking:
		return st.Error.Render(common.Clip("a flow is running: quit and abort it? y aborts it (hosts stop, the lock is released), any other key goes on", w))
	case a.flows.quit.aborting:
		return st.Warn.Render(common.Clip("aborting: waiting for the hosts to stop and the lock to be released, then quitting…", w))
	}
	return ""
}

// closeFlows cancels the flows' works and waits for them to end: Run
// calls it when the program is over, however it ended.
func (a App) closeFlows(stop context.CancelFunc) error {
	stop()
	return a.flows.tracker.closeAndWait(flowStopTimeout)
}
