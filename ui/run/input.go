package run

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ui/common"
)

// wheelLines is how far one notch of the mouse wheel scrolls a pane.
const wheelLines = 3

// Init: a run view reads its feed on each draw; it has no command of its own.
func (v Model) Init() tea.Cmd { return nil }

// SetSize sets the size the view draws in.
func (v *Model) SetSize(w, h int) { v.width, v.height = w, h }

// KeyMap is the run view's footer.
func (v Model) KeyMap() []key.Binding {
	switch {
	case v.ask != nil && !v.confirmCancel:
		return v.askKeys()
	case v.feed != nil && v.feed.Grouped():
		bs := v.keys.ShortHelp()
		return append(bs[:2:2], append([]key.Binding{common.WithDesc(v.keys.Group, v.groupHelp())}, bs[2:]...)...)
	}
	return v.keys.ShortHelp()
}

// Asking reports whether the view asks to cancel its run: the keys are
// the question's then.
func (v Model) Asking() bool { return v.confirmCancel }

// Zoomed reports whether a pane has the whole view: esc (Back) unzooms
// it before it leaves the view.
func (v Model) Zoomed() bool { return v.zoom }

// Update handles the run view's keys and mouse, and the end of the
// cancel question (CancelMsg: the owner of the run cancels it); the
// mouse's Y is counted from the view's first line.
func (v Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case CancelMsg:
		v.confirmCancel = false
		return v, nil
	case tea.KeyPressMsg:
		return v.moved(v.pinned().key(msg))
	case tea.MouseWheelMsg:
		return v.moved(v.pinned().wheel(msg), nil)
	case tea.MouseClickMsg:
		return v.moved(v.pinned().click(msg), nil)
	}
	return v, nil
}

func (v Model) key(km tea.KeyPressMsg) (Model, tea.Cmd) {
	v.note = ""
	if v.confirmCancel {
		// Only an explicit y cancels; anything else, Enter included, keeps going.
		if key.Matches(km, v.keys.Confirm) {
			id := v.feed.id
			return v, func() tea.Msg { return CancelMsg{ID: id} }
		}
		v.confirmCancel = false
		return v, nil
	}
	snap := v.feed.snapshot(0, noPanes, window{})
	page := max(1, v.layout(snap.panes).innerLines()-1)
	var cmd tea.Cmd
	switch {
	case v.lineKey(km):
	case v.ask != nil && v.askKey(km, &cmd):
	case key.Matches(km, v.keys.Group) && v.feed.Grouped():
		v = v.toggleGroups()
	case v.showGroups() && key.Matches(km, v.keys.Up):
		v = v.moveGroup(-1)
	case v.showGroups() && key.Matches(km, v.keys.Down):
		v = v.moveGroup(1)
	case v.showGroups() && key.Matches(km, v.keys.NextFailed):
		v = v.nextFailedGroup(1)
	case v.showGroups() && key.Matches(km, v.keys.PrevFailed):
		v = v.nextFailedGroup(-1)
	case v.zoom && key.Matches(km, v.keys.Up):
		v = v.scroll(-1) // one pane: the moves scroll its lines
	case v.zoom && key.Matches(km, v.keys.Down):
		v = v.scroll(1)
	case key.Matches(km, v.keys.Up):
		v = v.focusOn(v.focus - 1)
	case key.Matches(km, v.keys.Down):
		v = v.focusOn(v.focus + 1)
	case key.Matches(km, v.keys.PageUp):
		v = v.scroll(-page)
	case key.Matches(km, v.keys.PageDown):
		v = v.scroll(page)
	case key.Matches(km, v.keys.Top):
		v.scrolled, v.top = true, 0
		v = v.scroll(0) // clamps to the oldest line kept
	case key.Matches(km, v.keys.Bottom):
		v.scrolled = false
	case key.Matches(km, v.keys.Follow):
		if v.scrolled {
			v.scrolled = false
		} else {
			v.scrolled, v.top = true, v.bottomTop()
		}
	case key.Matches(km, v.keys.NextFailed), key.Matches(km, v.keys.PrevFailed):
		step := 1
		if key.Matches(km, v.keys.PrevFailed) {
			step = -1
		}
		n := len(snap.panes)
		for i := 1; i <= n; i++ {
			if j := ((v.focus+step*i)%n + n) % n; failed(snap.panes[j]) {
				return v.focusOn(j), nil
			}
		}
		v.note = "no failed host"
	case key.Matches(km, v.keys.CancelRun):
		if ro := v.feed.ReadOnly(); ro != "" {
			v.note = ro // a teammate's run: theirs to cancel
		} else if !snap.done {
			v.confirmCancel = true
		}
	}
	return v, cmd
}

// focusOn moves the focus to pane i (clamped). A paused view stays paused,
// at the end of the new host's output.
func (v Model) focusOn(i int) Model {
	i = max(0, min(i, len(v.feed.panes)-1))
	if i != v.focus {
		v.focus = i
		if v.scrolled {
			v.top = v.bottomTop()
		}
	}
	return v
}

// bottomTop is the first line drawn when the focused pane shows its end.
func (v Model) bottomTop() uint64 {
	snap := v.feed.snapshot(0, noPanes, window{})
	if len(snap.panes) == 0 {
		return 0
	}
	p := snap.panes[v.focus]
	inner := uint64(v.layout(snap.panes).innerLines())
	if p.pushed < inner {
		return p.first
	}
	return max(p.first, p.pushed-inner)
}

// scroll moves the focused pane by delta lines: up pauses following,
// reaching the end again follows.
func (v Model) scroll(delta int) Model {
	if delta == 0 && !v.scrolled {
		return v
	}
	end := v.bottomTop()
	top := end
	if v.scrolled {
		top = v.top
	}
	snap := v.feed.snapshot(0, noPanes, window{})
	first := snap.panes[v.focus].first
	top = max(top, first) // the ring may have dropped what was shown
	switch d := uint64(max(delta, -delta)); {
	case delta < 0 && d > top-first:
		top = first
	case delta < 0:
		top -= d
	default:
		top += d
	}
	if top >= end && delta >= 0 {
		v.scrolled = false // back at the end: follow again
		return v
	}
	v.scrolled, v.top = true, min(top, end)
	return v
}

// wheel scrolls what is under the mouse: the host list moves the focus,
// a pane scrolls the focused pane.
func (v Model) wheel(m tea.MouseWheelMsg) Model {
	delta := 0
	switch m.Button {
	case tea.MouseWheelUp:
		delta = -1
	case tea.MouseWheelDown:
		delta = 1
	default:
		return v
	}
	l := v.layout(v.feed.snapshot(0, noPanes, window{}).panes)
	if !l.grid && m.X < l.listW {
		return v.focusOn(v.focus + delta)
	}
	return v.scroll(delta * wheelLines)
}

// click focuses the host row or the pane under the mouse.
func (v Model) click(m tea.MouseClickMsg) Model {
	if m.Button != tea.MouseLeft {
		return v
	}
	l := v.layout(v.feed.snapshot(0, noPanes, window{}).panes)
	y := m.Y - l.headH
	if y < 0 {
		return v
	}
	switch {
	case l.grouped:
		return v.clickGroup(y-1, l) // below the groups' heading
	case l.grid:
		r, c := y/l.paneH, m.X/max(1, l.paneW)
		if i := r*l.cols + c; r < l.rows && c < l.cols && i < len(v.feed.panes) {
			return v.focusOn(i)
		}
	case m.X < l.listW && l.listStart+y < len(v.feed.panes):
		return v.focusOn(l.listStart + y)
	}
	return v
}
