package run

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ui/common"
)

// The past runs list as a component (common.Component[List]); its
// reading and drawing are in list.go. The list moves its cursor and opens
// the run under it; the root leaves it (Back).

// Init: the root reads the runs when it opens the list.
func (p List) Init() tea.Cmd { return nil }

// SetSize sets the size the list draws in.
func (p *List) SetSize(w, h int) { p.width, p.height = w, h }

// KeyMap is the list's footer.
func (p List) KeyMap() []key.Binding { return p.keys.ShortHelp() }

// Update moves the cursor (the keys, the wheel, a click on a run, its Y
// counted from the list's title line), opens the run under it, and
// handles the list's reads.
func (p List) Update(msg tea.Msg) (List, tea.Cmd) {
	switch m := msg.(type) {
	case RunsReadMsg, RunReadMsg:
		return p.update(msg)
	case tea.MouseWheelMsg:
		p.move(common.WheelDelta(m.Mouse()))
		return p, nil
	case tea.MouseClickMsg:
		y := m.Mouse().Y
		if i := p.listStart() + y - 1; y >= 1 && i < len(p.runs) {
			p.cursor = i
		}
		return p, nil
	}
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return p, nil
	}
	switch {
	case key.Matches(km, p.keys.Open):
		return p.openRun()
	case key.Matches(km, p.keys.Up):
		p.move(-1)
	case key.Matches(km, p.keys.Down):
		p.move(1)
	case key.Matches(km, p.keys.PageUp):
		p.move(-max(1, p.height-2))
	case key.Matches(km, p.keys.PageDown):
		p.move(max(1, p.height-2))
	case key.Matches(km, p.keys.Top):
		p.move(-len(p.runs))
	case key.Matches(km, p.keys.Bottom):
		p.move(len(p.runs))
	}
	return p, nil
}
