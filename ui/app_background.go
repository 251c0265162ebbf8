package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ui/common"
	flowsview "github.com/opsui/opsui/ui/flows"
)

// A running flow can be put out of sight: esc while it runs goes back to
// the fleet and leaves the work running; the header says where it stands
// ("deploy app 1a2b3c4 to production: batch 2/4 …"), a toast says when it
// ends, and o brings it back (issue 18, item 17).

// backgroundFlow reports whether a flow is out of sight, running or over.
func (a App) backgroundFlow() bool { return a.flowsBG && a.flows.cur != nil }

// backgroundRunning reports whether a flow out of sight still runs.
func (a App) backgroundRunning() bool {
	return a.backgroundFlow() && flowsview.Running(a.flows.cur)
}

// toBackground puts the running flow shown out of sight on esc; handled
// is false when the key is not that, or the flow cannot be left now (a
// dialog is in front, its field takes text, it asks whether to cancel).
func (a App) toBackground(km tea.KeyPressMsg) (App, bool) {
	cur := a.flows.cur
	if a.mode != modeFlow || cur == nil || len(a.dialogs.queue) > 0 || a.showHelp || a.flows.quit.asking || a.flows.quit.aborting ||
		!key.Matches(km, a.keys.Back) || !flowsview.Running(cur) || flowsview.Typing(cur) {
		return a, false
	}
	if p, ok := flowsview.ProgressOf(cur); !ok || p.Cancelling {
		return a, false
	}
	a.flowsBG, a.mode = true, modeFleet
	a.notice = ""
	return a, true
}

// toForeground shows the flow out of sight again.
func (a App) toForeground() (tea.Model, tea.Cmd) {
	a.flowsBG, a.mode, a.notice = false, modeFlow, ""
	a.sizeFlow()
	return a, nil
}

// quitUnderBackground brings a running flow out of sight back when q (at
// the fleet) or ctrl+c is pressed, so that quitting asks first as it does
// in front of the flow; handled is false otherwise.
func (a App) quitUnderBackground(km tea.KeyPressMsg) (App, tea.Cmd, bool) {
	if !a.backgroundRunning() || len(a.dialogs.queue) > 0 {
		return a, nil, false
	}
	atFleet := a.mode == modeFleet && !a.showHelp && !a.fleet.Filtering()
	if !key.Matches(km, a.keys.ForceQuit) && !(atFleet && key.Matches(km, a.keys.Quit)) {
		return a, nil, false
	}
	a.stopLogs()
	a.logs.view, a.logs.stop = nil, nil
	a.flowsBG, a.mode = false, modeFlow
	next, cmd, _ := a.quitKey(km)
	next.sizeFlow()
	return next, cmd, true
}

// backgroundEnded is the toast when the flow out of sight has just ended.
func (a *App) backgroundEnded(wasRunning bool) tea.Cmd {
	if !wasRunning || !a.backgroundFlow() || flowsview.Running(a.flows.cur) {
		return nil
	}
	p, ok := flowsview.ProgressOf(a.flows.cur)
	if !ok {
		return nil
	}
	return a.addToast(fmt.Sprintf("%s %s %s · %s shows it", p.Kind, p.What, progressEnd(p), common.KeyName(a.keys.LastRun)))
}

// progressEnd is how a work ended, in a few words.
func progressEnd(p flowsview.Progress) string {
	switch {
	case p.Err != nil:
		return "failed: " + firstLine(p.Err.Error())
	case p.Result.Failed+p.Result.Cancelled > 0:
		return "ended: " + p.Result.Summary()
	}
	return "finished"
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// backgroundHeader is the header's part about work out of sight: the
// flow's progress, or the ad-hoc run still going, and the key back.
func (a App) backgroundHeader() string {
	st := a.ctx.Styles
	back := common.KeyName(a.keys.LastRun)
	if a.backgroundFlow() {
		p, ok := flowsview.ProgressOf(a.flows.cur)
		if !ok {
			return ""
		}
		text := p.Kind + " " + p.What
		switch {
		case p.Over:
			return st.Muted.Render(text + " " + progressEnd(p) + " · " + back + " shows it")
		case p.Asking:
			return st.Error.Render(text + ": waits for you · " + back)
		case p.Last != "":
			text += ": " + p.Last
		}
		return st.Warn.Render("▶ " + text + " · " + back + " returns")
	}
	if f := a.run.Feed(); f != nil && !f.Done() && a.mode != modeRun {
		return st.Warn.Render(fmt.Sprintf("▶ run %d %s · %s returns", f.ID(), f.Command(), back))
	}
	return ""
}

// afterFlowsUpdate keeps a flow out of sight while its messages arrive
// (show puts a flow on screen), and says when its work has ended.
func (a App) afterFlowsUpdate(next App, cmd tea.Cmd, wasRunning bool) (App, tea.Cmd) {
	if !a.backgroundFlow() {
		return next, cmd
	}
	switch {
	case next.flows.cur == a.flows.cur:
		next.mode, next.flowsBG = a.mode, true
	case next.flows.cur == nil:
		next.mode, next.flowsBG = a.mode, false
	default: // the flow opened another one: that one is shown
		next.flowsBG = false
		return next, cmd
	}
	return next, tea.Batch(cmd, next.backgroundEnded(wasRunning))
}

// opensFlow reports whether b is a fleet key that opens a flow, which
// would take the place of the one out of sight.
func (a App) opensFlow(b key.Binding) bool {
	for _, o := range a.flowActions() {
		if sameKeys(b, o.b) {
			return true
		}
	}
	return false
}

// backgroundKind names the flow out of sight ("deploy").
func (a App) backgroundKind() string {
	if p, ok := flowsview.ProgressOf(a.flows.cur); ok {
		return p.Kind
	}
	return "flow"
}
