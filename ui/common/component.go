package common

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// Component is a view of the console: the fleet, a run, the past runs,
// the logs, a guided flow. T is what Update returns: the component itself
// (a value or a pointer), or for a flow the flow that has the screen next.
// Only the root returns a tea.View; it hands every size down through
// SetSize, routes messages to the component that has the keyboard, and
// handles quit, help, dialogs and toasts itself.
type Component[T any] interface {
	// Init is the component's first command, nil when it has none.
	Init() tea.Cmd
	Update(msg tea.Msg) (T, tea.Cmd)
	// View draws the component within the size last set.
	View() string
	SetSize(width, height int)
	// KeyMap is the component's keys now, as its footer shows them; every
	// binding comes from the console's key table (ui/keys.go).
	KeyMap() []key.Binding
}

// WheelDelta is the rows a wheel turn moves: -1 up, 1 down, 0 for
// another button.
func WheelDelta(m tea.Mouse) int {
	switch m.Button {
	case tea.MouseWheelUp:
		return -1
	case tea.MouseWheelDown:
		return 1
	}
	return 0
}

// WithDesc is b with another help text: one binding of the key table,
// described as a view says it.
func WithDesc(b key.Binding, desc string) key.Binding {
	b.SetHelp(b.Help().Key, desc)
	return b
}

// KeyName is how a binding's key reads in a sentence.
func KeyName(b key.Binding) string { return b.Help().Key }
