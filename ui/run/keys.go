package run

import "charm.land/bubbles/v2/key"

// KeyMap is the run view's keys. The console's key table (ui/keys.go) is
// their one source: it binds them (KeyMap.runKeys there), this package
// only matches them.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	NextFailed, PrevFailed, Follow          key.Binding
	// CancelRun asks to cancel the run, Confirm says yes to the question.
	CancelRun, Confirm key.Binding
	Back, Help         key.Binding
	// Long lines (lines.go): Wrap toggles wrapping, Left and Right shift
	// cut lines, Zoom gives the focused pane the whole view, Whole shows
	// its selected line in full.
	Wrap, Left, Right, Zoom, Whole key.Binding
	// Group switches an ad-hoc run between its hosts grouped by output
	// and the per-host panes (grouped.go).
	Group key.Binding
}

// ShortHelp is the footer of the run view.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.NextFailed, k.PrevFailed, k.Follow, k.Zoom, k.Wrap, k.Whole, k.CancelRun, k.Back, k.Help}
}

// CancelMsg says yes to cancelling run ID: the run's owner cancels it and
// hands the message back to the view, which closes its question.
type CancelMsg struct{ ID int }

// ListKeyMap is the past runs list's keys, bound by the console's key
// table (ui/keys.go) as KeyMap is.
type ListKeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	// Open replays the run under the cursor; Back (the root's) leaves.
	Open, Back, Help key.Binding
}

// ShortHelp is the footer of the past runs list.
func (k ListKeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Open, k.Back, k.Help}
}
