package ui

import (
	"context"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ui/common"
	flowsview "github.com/opsui/opsui/ui/flows"
)

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
	running := a.flows.cur != nil && flowsview.Running(a.flows.cur)
	isQuit := key.Matches(km, a.keys.ForceQuit) || key.Matches(km, a.keys.Quit) && !flowsview.Typing(a.flows.cur)
	switch {
	case a.flows.quit.aborting:
		if key.Matches(km, a.keys.ForceQuit) {
			return a, tea.Quit, true // Run still waits for the work to end
		}
		return a, nil, true
	case a.flows.quit.asking:
		a.flows.quit.asking = false
		if !key.Matches(km, a.keys.Confirm) || !flowsview.Abort(a.flows.cur) {
			return a, nil, true // anything but y, Enter included, goes on
		}
		a.flows.quit.aborting = true
		return a, nil, true
	case !isQuit:
		return a, nil, false
	case !running:
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
	if a.flows.cur != nil && flowsview.Running(a.flows.cur) {
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
	return a.flows.tracker.CloseAndWait(flowsview.StopTimeout)
}
