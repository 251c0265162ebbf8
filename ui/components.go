package ui

import (
	"slices"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ui/common"
	fleetview "github.com/opsui/opsui/ui/fleet"
	flowsview "github.com/opsui/opsui/ui/flows"
	logsview "github.com/opsui/opsui/ui/logs"
	runview "github.com/opsui/opsui/ui/run"
)

// The console's components: each answers the one contract, so the root
// sizes, draws, routes to and lists the keys of any of them alike.
var (
	_ common.Component[fleetview.Model]  = (*fleetview.Model)(nil)
	_ common.Component[runview.Model]    = (*runview.Model)(nil)
	_ common.Component[runview.List]     = (*runview.List)(nil)
	_ common.Component[fleetview.Detail] = (*fleetview.Detail)(nil)
	_ common.Component[*logsview.Model]  = (*logsview.Model)(nil)
)

// pane is what the root asks of the component that has the keyboard,
// whatever its type: its size, its drawing and its keys.
type pane interface {
	SetSize(width, height int)
	View() string
	KeyMap() []key.Binding
}

// focused is the component that has the keyboard in the mode shown: the
// run (live or replayed), the past runs, a flow, the logs, else the
// fleet. The root sends it the keys it does not handle itself.
func (a *App) focused() pane {
	switch {
	case a.mode == modeRun:
		return a.shownRun()
	case a.mode == modeRuns:
		return &a.past
	case a.mode == modeFlow && a.flows.cur != nil:
		return a.flows.cur
	case a.mode == modeLogs && a.logs.view != nil:
		return a.logs.view
	}
	return &a.fleet
}

// focusedKeys is the footer's keys of the focused component, less those
// that do nothing now: no cancel once the run is over or for a replay.
func (a *App) focusedKeys() []key.Binding {
	bs := a.focused().KeyMap()
	if a.mode == modeFlow && a.flows.cur != nil && flowsview.Running(a.flows.cur) && !flowsview.Typing(a.flows.cur) {
		// esc leaves the work running out of sight (app_background.go).
		return append(slices.Clone(bs), common.WithDesc(a.keys.Back, "look around, it keeps running"))
	}
	if a.mode != modeRun {
		return bs
	}
	if f := a.shownRun().Feed(); f != nil && !a.replaying && !f.Done() {
		return bs
	}
	out := make([]key.Binding, 0, len(bs))
	for _, b := range bs {
		if !sameKeys(b, a.keys.CancelRun) {
			out = append(out, b)
		}
	}
	return out
}

// helpKey is the ? help, whatever component has the keyboard: Help shows
// or hides it, CloseHelp and Quit hide it (q closes the help, it never
// quits from there); false for any other key. The fleet
// reaches it through its root actions (app_keys.go), which list it.
func (a *App) helpKey(km tea.KeyPressMsg) bool {
	switch {
	case key.Matches(km, a.keys.Help):
		a.showHelp = !a.showHelp
		return true
	case a.showHelp && (key.Matches(km, a.keys.CloseHelp) || key.Matches(km, a.keys.Quit)):
		a.showHelp = false
		return true
	}
	return false
}
