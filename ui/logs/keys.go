package logs

import "charm.land/bubbles/v2/key"

// KeyMap is every key of the logs view, each with its help text.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Follow, Layout, NextPane, Wrap          key.Binding
	Search, NextMatch, PrevMatch            key.Binding
	Filter, Errors, Save, Back, Help        key.Binding
	More                                    key.Binding // more history per host: the console reopens the follow
	Regex, Apply, Cancel                    key.Binding // while typing a filter or a search
}

// DefaultKeyMap returns the logs view's standard bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:        key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:      key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:    key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown:  key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:       key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g", "oldest")),
		Bottom:    key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "newest, follow")),
		Follow:    key.NewBinding(key.WithKeys("f", "space"), key.WithHelp("f", "follow/pause")),
		Layout:    key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "merged/split")),
		NextPane:  key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		Wrap:      key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "wrap")),
		Search:    key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search")),
		NextMatch: key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next (older) match")),
		PrevMatch: key.NewBinding(key.WithKeys("N"), key.WithHelp("N", "newer match")),
		Filter:    key.NewBinding(key.WithKeys("&", "F"), key.WithHelp("&", "filter")),
		Errors:    key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "top errors")),
		Save:      key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "save to a file")),
		More:      key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "more history: 100 lines more per host")),
		Back:      key.NewBinding(key.WithKeys("esc", "q"), key.WithHelp("esc", "stop, back to the fleet")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Regex:     key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "regex/plain")),
		Apply:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "apply")),
		Cancel:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}

// ShortHelp is the footer of the logs view.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Follow, k.Layout, k.Filter, k.Search, k.NextMatch, k.Errors, k.Wrap, k.Back, k.Help}
}

// SaveHelp is the footer while typing the path to save to.
func (k KeyMap) SaveHelp() []key.Binding {
	return []key.Binding{k.Apply, k.Cancel}
}

// InputHelp is the footer while typing a filter or a search.
func (k KeyMap) InputHelp() []key.Binding {
	return []key.Binding{k.Apply, k.Regex, k.Cancel}
}
