package ui

import (
	tea "charm.land/bubbletea/v2"
)

// mouse routes a wheel turn or a click to what is under it. Every view
// starts on the screen's second line, under the header.
func (a App) mouse(msg tea.MouseMsg) (tea.Model, tea.Cmd) {
	if len(a.dialogs) > 0 || a.showHelp || !a.loaded || a.mode == modeCommand {
		return a, nil
	}
	m := msg.Mouse()
	m.Y-- // the header
	delta := 0
	if _, ok := msg.(tea.MouseWheelMsg); ok {
		switch m.Button {
		case tea.MouseWheelUp:
			delta = -1
		case tea.MouseWheelDown:
			delta = 1
		default:
			return a, nil
		}
	} else if m.Button != tea.MouseLeft {
		return a, nil
	}
	switch a.mode {
	case modeRun:
		rv := a.shownRun()
		if delta != 0 {
			*rv, _ = rv.Update(tea.MouseWheelMsg(m))
		} else {
			*rv, _ = rv.Update(tea.MouseClickMsg(m))
		}
	case modeRuns:
		if delta != 0 {
			a.past.move(delta)
		} else if i := a.past.listStart() + m.Y - 1; m.Y >= 1 && i < len(a.past.runs) {
			a.past.cursor = i
		}
	default:
		if m.X >= a.fleet.width {
			return a, nil // the detail pane
		}
		if delta != 0 {
			a.fleet.move(delta)
		} else {
			a.fleet.click(m.Y)
		}
	}
	return a, nil
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
