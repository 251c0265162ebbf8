package fleet

import "charm.land/bubbles/v2/key"

// KeyMap is the fleet list's keys. The console's key table (ui/keys.go) is
// their one source: it binds them (KeyMap.fleetKeys there), this package
// only matches them.
type KeyMap struct {
	// The cursor's moves.
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	// The filter: typed after Filter, ended by Apply (kept) or Cancel.
	Filter, ClearFilter, Apply, Cancel key.Binding
	// The selection the root's actions apply to.
	Select, SelectAll, SelectNone key.Binding
	// Folding the groups: the focused one, or all of them.
	Collapse, CollapseAll key.Binding
	// The root's actions the footer lists with the list's own.
	Detail, Exec, PastRuns, Help, Quit key.Binding
}

// ShortHelp is the footer of the fleet view.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Filter, k.Select, k.SelectAll, k.Detail, k.Exec, k.PastRuns, k.Help, k.Quit}
}
