package ui

import (
	tea "charm.land/bubbletea/v2"
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
		if wheelDelta(m) == 0 {
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
		if m.X >= a.fleet.width {
			return a, nil // the detail pane
		}
		a.fleet, _ = a.fleet.Update(ev)
	}
	return a, nil
}

// wheelDelta is the rows a wheel turn moves: -1 up, 1 down, 0 for
// another button.
func wheelDelta(m tea.Mouse) int {
	switch m.Button {
	case tea.MouseWheelUp:
		return -1
	case tea.MouseWheelDown:
		return 1
	}
	return 0
}

// click moves the cursor to the host row on line y of the list; a
// group heading or an empty line does nothing.
func (v *fleetView) click(y int) {
	if v.filtering || v.filter.Value() != "" {
		y-- // the filter line
	}
	y-- // the column header
	if i := v.offset + y; y >= 0 && y < v.listHeight() && i < len(v.rows) && v.rows[i].heading == "" {
		v.cursor = i
		v.scroll()
	}
}
