package ui

import (
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ui/common"
)

// mouse routes a wheel turn or a click to the component under it, its Y
// counted from the component's first line: every view starts on the
// screen's second line, under the header.
func (a App) mouse(msg tea.MouseMsg) (tea.Model, tea.Cmd) {
	if len(a.dialogs.queue) > 0 || a.showHelp || !a.inv.loaded || a.mode == modeCommand {
		return a, nil
	}
	m := msg.Mouse()
	m.Y-- // the header
	var ev tea.Msg = tea.MouseClickMsg(m)
	if _, ok := msg.(tea.MouseWheelMsg); ok {
		if common.WheelDelta(m) == 0 {
			return a, nil
		}
		ev = tea.MouseWheelMsg(m)
	} else if m.Button != tea.MouseLeft {
		return a, nil
	}
	switch a.mode {
	case modeRun:
		rv := a.shownRun()
		*rv, _ = rv.Update(ev)
	case modeRuns:
		a.past, _ = a.past.Update(ev)
	default:
		if m.X >= a.fleet.Width() {
			return a, nil // the detail pane
		}
		a.fleet, _ = a.fleet.Update(ev)
	}
	return a, nil
}
