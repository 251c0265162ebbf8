package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ui/common"
)

// The past runs list as a component (common.Component[runsList]); its
// reading and drawing are in pastruns.go. The root opens a run (Open) and
// leaves (Back); the list moves its cursor.

// Init: the root reads the runs when it opens the list.
func (p runsList) Init() tea.Cmd { return nil }

// SetSize sets the size the list draws in.
func (p *runsList) SetSize(w, h int) { p.width, p.height = w, h }

// KeyMap is the list's footer.
func (p runsList) KeyMap() []key.Binding { return p.keys.RunsHelp() }

// Update moves the cursor: the keys, the wheel, a click on a run (Y
// counted from the list's title line).
func (p runsList) Update(msg tea.Msg) (runsList, tea.Cmd) {
	switch m := msg.(type) {
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
