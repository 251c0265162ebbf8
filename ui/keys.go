package ui

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
)

// KeyMap is every key of the console, each one binding with its help text,
// so the footer and the ? overlay always say what the keys do.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Filter, ClearFilter                     key.Binding
	Select, SelectAll, SelectNone           key.Binding
	Detail, Refresh                         key.Binding
	Exec, LastRun, PastRuns, Open, Back     key.Binding
	NextFailed, PrevFailed, CancelRun       key.Binding
	Follow                                  key.Binding
	Logs                                    key.Binding // follow the selection's logs (ui/logs*.go)
	// The guided flows: opened from the fleet, then their own steps.
	Deploy, Rollback, Migrate, Flush, Releases key.Binding
	NextStep, PrevStep, Confirm                key.Binding
	Mark, Compare                              key.Binding
	Help, Quit                                 key.Binding
	// LogsView is the logs view's own keys (ui/logskeys.go); its moves and
	// help are the ones above.
	LogsView LogsKeyMap
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
		Refresh:     key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "probe the fleet now")),
		Exec:        key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "run a command")),
		LastRun:     key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open the last run")),
		PastRuns:    key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "past runs")),
		Open:        key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open the run")),
		Back:        key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back to the fleet")),
		NextFailed:  key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next failed host")),
		PrevFailed:  key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "previous failed host")),
		CancelRun:   key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "cancel the run")),
		Follow:      key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "follow output on/off")),
		Help:        key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Logs:        key.NewBinding(key.WithKeys("L"), key.WithHelp("L", "follow logs")),
		Deploy:      key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "deploy wizard")),
		Rollback:    key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "roll back")),
		Migrate:     key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "run migrations")),
		Flush:       key.NewBinding(key.WithKeys("F"), key.WithHelp("F", "flush caches")),
		Releases:    key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "release history")),
		NextStep:    key.NewBinding(key.WithKeys("enter", "tab"), key.WithHelp("enter/tab", "next step")),
		PrevStep:    key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous step")),
		Confirm:     key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "confirm")),
		Mark:        key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "mark for compare")),
		Compare:     key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "compare the two marked")),
		Quit:        key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		LogsView:    DefaultLogsKeyMap(),
	}
}

// ShortHelp is the footer of the fleet view.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Filter, k.Select, k.SelectAll, k.Detail, k.Exec, k.PastRuns, k.Help, k.Quit}
}

// RunHelp is the footer of the run view.
func (k KeyMap) RunHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.NextFailed, k.PrevFailed, k.Follow, k.CancelRun, k.Back, k.Help}
}

// RunsHelp is the footer of the past runs list.
func (k KeyMap) RunsHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Open, k.Back, k.Help}
}

// FullHelp is the ? overlay, one column per group.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Filter, k.ClearFilter, k.Select, k.SelectAll, k.SelectNone},
		{k.Detail, k.Refresh, k.Exec, k.LastRun, k.PastRuns, k.Deploy, k.Rollback, k.Migrate, k.Flush, k.Releases, k.Logs, k.Help, k.Quit},
		{k.NextFailed, k.PrevFailed, k.Follow, k.CancelRun, k.Open, k.Back, k.NextStep, k.PrevStep, k.Confirm, k.Mark, k.Compare},
	}
}

// Where a key acts: two actions of one scope cannot share a key.
const (
	scopeFleet = 1 << iota
	scopeRun
	scopeRuns     // the past runs list
	scopeFlow     // the steps of a guided flow (wizard, rollback, migrate, flush)
	scopeReleases // the releases view
	scopeLogs     // the logs view
	scopeLogsType // the logs view while a filter or a search is typed
	scopeAll      = scopeFleet | scopeRun | scopeRuns | scopeFlow | scopeReleases | scopeLogs
)

// action is a binding as the config file names it.
type action struct {
	name  string
	b     *key.Binding
	scope int
}

// actions lists every binding of k under its config name.
func (k *KeyMap) actions() []action {
	return []action{
		{"up", &k.Up, scopeAll}, {"down", &k.Down, scopeAll},
		{"page_up", &k.PageUp, scopeAll}, {"page_down", &k.PageDown, scopeAll},
		{"top", &k.Top, scopeAll}, {"bottom", &k.Bottom, scopeAll},
		{"filter", &k.Filter, scopeFleet | scopeReleases}, {"clear_filter", &k.ClearFilter, scopeFleet},
		{"select", &k.Select, scopeFleet}, {"select_all", &k.SelectAll, scopeFleet},
		{"select_none", &k.SelectNone, scopeFleet}, {"detail", &k.Detail, scopeFleet},
		{"refresh", &k.Refresh, scopeFleet}, {"exec", &k.Exec, scopeFleet}, {"logs", &k.Logs, scopeFleet},
		{"last_run", &k.LastRun, scopeFleet}, {"past_runs", &k.PastRuns, scopeFleet},
		{"open", &k.Open, scopeRuns | scopeReleases}, {"back", &k.Back, scopeRun | scopeRuns | scopeFlow | scopeReleases},
		{"next_failed", &k.NextFailed, scopeRun}, {"prev_failed", &k.PrevFailed, scopeRun},
		{"cancel_run", &k.CancelRun, scopeRun}, {"follow", &k.Follow, scopeRun},
		{"help", &k.Help, scopeAll}, {"quit", &k.Quit, scopeFleet},
		{"deploy", &k.Deploy, scopeFleet}, {"rollback", &k.Rollback, scopeFleet | scopeFlow},
		{"migrate", &k.Migrate, scopeFleet}, {"flush", &k.Flush, scopeFleet}, {"releases", &k.Releases, scopeFleet},
		{"next_step", &k.NextStep, scopeFlow}, {"prev_step", &k.PrevStep, scopeFlow}, {"confirm", &k.Confirm, scopeFlow},
		{"mark", &k.Mark, scopeReleases}, {"compare", &k.Compare, scopeReleases},
		{"logs_pause", &k.LogsView.Follow, scopeLogs}, {"logs_split", &k.LogsView.Layout, scopeLogs},
		{"logs_next_pane", &k.LogsView.NextPane, scopeLogs}, {"logs_wrap", &k.LogsView.Wrap, scopeLogs},
		{"logs_search", &k.LogsView.Search, scopeLogs}, {"logs_next_match", &k.LogsView.NextMatch, scopeLogs},
		{"logs_prev_match", &k.LogsView.PrevMatch, scopeLogs}, {"logs_filter", &k.LogsView.Filter, scopeLogs},
		{"logs_errors", &k.LogsView.Errors, scopeLogs}, {"logs_back", &k.LogsView.Back, scopeLogs},
		{"logs_save", &k.LogsView.Save, scopeLogs}, {"logs_regex", &k.LogsView.Regex, scopeLogsType},
	}
}

// logsKeys returns the logs view's keys: its own, with the moves and help
// of the console's (their keys, the logs view's descriptions).
func (k KeyMap) logsKeys() LogsKeyMap {
	lk := k.LogsView
	for _, p := range []struct {
		dst *key.Binding
		src key.Binding
	}{
		{&lk.Up, k.Up}, {&lk.Down, k.Down}, {&lk.PageUp, k.PageUp}, {&lk.PageDown, k.PageDown},
		{&lk.Top, k.Top}, {&lk.Bottom, k.Bottom}, {&lk.Help, k.Help},
	} {
		p.dst.SetKeys(p.src.Keys()...)
		p.dst.SetHelp(p.src.Help().Key, p.dst.Help().Desc)
	}
	return lk
}

// ActionNames returns the names the config file gives the actions.
func ActionNames() []string {
	k := DefaultKeyMap()
	var out []string
	for _, a := range k.actions() {
		out = append(out, a.name)
	}
	return out
}

// rebind gives action name the keys, its help showing them. It reports
// false for an unknown action.
func (k *KeyMap) rebind(name string, keys []string) bool {
	for _, a := range k.actions() {
		if a.name == name {
			a.b.SetKeys(keys...)
			a.b.SetHelp(strings.Join(keys, "/"), a.b.Help().Desc)
			return true
		}
	}
	return false
}

// conflict is a key two actions of one scope share.
type conflict struct{ key, first, second string }

// conflicts finds every key bound to two actions that act in one view.
func (k *KeyMap) conflicts() []conflict {
	var out []conflict
	acts := k.actions()
	for i, a := range acts {
		for _, b := range acts[i+1:] {
			if a.scope&b.scope == 0 {
				continue
			}
			for _, kk := range a.b.Keys() {
				if slices.Contains(b.b.Keys(), kk) {
					out = append(out, conflict{key: kk, first: a.name, second: b.name})
				}
			}
		}
	}
	return out
}

func (c conflict) String() string {
	return fmt.Sprintf("key %q is bound to both %s and %s", c.key, c.first, c.second)
}
