package ui

import "charm.land/bubbles/v2/key"

// KeyMap is every key of the console, each one binding with its help text,
// so the footer and the ? overlay always say what the keys do.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Filter, ClearFilter                     key.Binding
	Select, SelectAll, SelectNone           key.Binding
	Detail, Refresh                         key.Binding
	Exec, LastRun, Back                     key.Binding
	NextFailed, PrevFailed, CancelRun       key.Binding
	Help, Quit                              key.Binding
}

// DefaultKeyMap returns the standard bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:          key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:        key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:      key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown:    key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:         key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g", "top")),
		Bottom:      key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "bottom")),
		Filter:      key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		ClearFilter: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),
		Select:      key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "select")),
		SelectAll:   key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "select all visible")),
		SelectNone:  key.NewBinding(key.WithKeys("A"), key.WithHelp("A", "select none")),
		Detail:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "host detail")),
		Refresh:     key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "probe the fleet now")),
		Exec:        key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "run a command")),
		LastRun:     key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open the last run")),
		Back:        key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back to the fleet")),
		NextFailed:  key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next failed host")),
		PrevFailed:  key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "previous failed host")),
		CancelRun:   key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "cancel the run")),
		Help:        key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:        key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp is the footer of the fleet view.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Filter, k.Select, k.SelectAll, k.Detail, k.Exec, k.Help, k.Quit}
}

// RunHelp is the footer of the run view.
func (k KeyMap) RunHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.NextFailed, k.PrevFailed, k.CancelRun, k.Back, k.Help}
}

// FullHelp is the ? overlay, one column per group.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Filter, k.ClearFilter, k.Select, k.SelectAll, k.SelectNone},
		{k.Detail, k.Refresh, k.Exec, k.LastRun, k.Help, k.Quit},
		{k.NextFailed, k.PrevFailed, k.CancelRun, k.Back},
	}
}
