package ui

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"

	fleetview "github.com/opsui/opsui/ui/fleet"
	flowsview "github.com/opsui/opsui/ui/flows"
	logsview "github.com/opsui/opsui/ui/logs"
	runview "github.com/opsui/opsui/ui/run"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ui/common"
)

// KeyMap is every key of the console, each one binding with its help text,
// so the footer and the ? overlay always say what the keys do.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Filter, ClearFilter                     key.Binding
	Select, SelectAll, SelectNone           key.Binding
	Detail, Refresh                         key.Binding
	Collapse, CollapseAll                   key.Binding // fold/open the focused group, or every group
	Exec, LastRun, PastRuns, Open, Back     key.Binding
	NextFailed, PrevFailed, CancelRun       key.Binding
	Follow                                  key.Binding
	Logs                                    key.Binding // follow the selection's logs (ui/logs)
	Shell                                   key.Binding // an interactive shell on the focused host
	// Palette opens the : command palette; in it, PaletteComplete puts the
	// chosen name in the line, PaletteOlder and PaletteNewer walk the
	// lines run before.
	// PaletteUp and PaletteDown move in its list (arrows: letters are text).
	Palette, PaletteComplete, PaletteOlder, PaletteNewer, PaletteUp, PaletteDown key.Binding
	// The guided flows: opened from the fleet, then their own steps.
	Deploy, Rollback, Migrate, Flush, Releases key.Binding
	NextStep, PrevStep, Confirm                key.Binding
	Mark, Compare                              key.Binding
	Help, Quit                                 key.Binding
	// ForceQuit quits from anywhere, even while text is typed; the root
	// handles it once (a running flow asks first, ui/flows_quit.go).
	ForceQuit key.Binding
	// CloseHelp closes the ? overlay.
	CloseHelp key.Binding
	// Apply and Cancel end what is being typed: the fleet's filter, the
	// command to run, the releases' filter.
	Apply, Cancel key.Binding
	// The dialogs: an unknown host key, a key's passphrase, a changed key.
	Trust, Refuse, Unlock, SkipKey, CloseWarning key.Binding
	// A flow's form and typed lists (the wizard's ref list and strategy
	// form) move with arrows only, so that letters stay text; Toggle
	// flips an item of a flow's plan.
	FieldUp, FieldDown, ChoicePrev, ChoiceNext, Toggle key.Binding
	// LogsView is the logs view's own keys (ui/logs/keys.go); its moves and
	// help are the ones above.
	LogsView logsview.KeyMap

	// A run pane's long lines (ui/run/lines.go).
	RunWrap, ScrollLeft, ScrollRight, Zoom, WholeLine key.Binding
	// GroupOutputs switches an ad-hoc run between its hosts grouped by
	// output and the per-host panes (ui/run/grouped.go); ExecStaged, while
	// the command is typed, runs it on one host first (ui/exec_staged.go);
	// ExecInApp runs it in an app's release with its .env (ui/exec_app.go).
	GroupOutputs, ExecStaged, ExecInApp key.Binding
}

// DefaultKeyMap returns the standard bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:              key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:            key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:          key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown:        key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:             key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g", "top")),
		Bottom:          key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "bottom")),
		Filter:          key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		ClearFilter:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),
		Select:          key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "select")),
		SelectAll:       key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "select all shown (folded groups too)")),
		SelectNone:      key.NewBinding(key.WithKeys("A"), key.WithHelp("A", "select none")),
		Detail:          key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "host detail")),
		Collapse:        key.NewBinding(key.WithKeys("z"), key.WithHelp("z", "fold/open the group")),
		CollapseAll:     key.NewBinding(key.WithKeys("Z"), key.WithHelp("Z", "fold/open every group")),
		Refresh:         key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "probe the fleet now")),
		Exec:            key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "run a command")),
		LastRun:         key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "back to the running flow, or the last run")),
		PastRuns:        key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "past runs")),
		Open:            key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open the run")),
		Back:            key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back to the fleet")),
		NextFailed:      key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next failed host")),
		PrevFailed:      key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "previous failed host")),
		CancelRun:       key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "cancel the run")),
		Follow:          key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "follow output on/off")),
		RunWrap:         key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "wrap long lines")),
		ScrollLeft:      key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "scroll left")),
		ScrollRight:     key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "scroll right")),
		Zoom:            key.NewBinding(key.WithKeys("+"), key.WithHelp("+", "zoom the pane")),
		WholeLine:       key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "the selected line in full")),
		Help:            key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Logs:            key.NewBinding(key.WithKeys("L"), key.WithHelp("L", "follow logs")),
		Shell:           key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "shell on the host (ssh)")),
		Palette:         key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "command palette")),
		PaletteComplete: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "complete the name")),
		PaletteOlder:    key.NewBinding(key.WithKeys("ctrl+p"), key.WithHelp("ctrl+p", "older line run")),
		PaletteNewer:    key.NewBinding(key.WithKeys("ctrl+n"), key.WithHelp("ctrl+n", "newer line run")),
		PaletteUp:       key.NewBinding(key.WithKeys("up"), key.WithHelp("↑", "previous command")),
		PaletteDown:     key.NewBinding(key.WithKeys("down"), key.WithHelp("↓", "next command")),
		Deploy:          key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "deploy wizard")),
		Rollback:        key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "roll back")),
		Migrate:         key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "run migrations")),
		Flush:           key.NewBinding(key.WithKeys("F"), key.WithHelp("F", "flush caches")),
		Releases:        key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "release history")),
		NextStep:        key.NewBinding(key.WithKeys("enter", "tab"), key.WithHelp("enter/tab", "next step")),
		PrevStep:        key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous step")),
		Confirm:         key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "confirm")),
		Mark:            key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "mark for compare")),
		Compare:         key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "compare the two marked")),
		Quit:            key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		ForceQuit:       key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit, from anywhere")),
		CloseHelp:       key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close the help")),
		Apply:           key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "apply (run the command, keep the filter)")),
		Cancel:          key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel (clear what was typed)")),
		Trust:           key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "trust")),
		Refuse:          key.NewBinding(key.WithKeys("n", "N", "esc", "enter"), key.WithHelp("n/esc/enter", "refuse (default)")),
		Unlock:          key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "unlock")),
		SkipKey:         key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "skip this key")),
		CloseWarning:    key.NewBinding(key.WithKeys("esc", "enter", "q"), key.WithHelp("esc", "close")),
		FieldUp:         key.NewBinding(key.WithKeys("up"), key.WithHelp("↑", "previous field or item")),
		FieldDown:       key.NewBinding(key.WithKeys("down"), key.WithHelp("↓", "next field or item")),
		ChoicePrev:      key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "previous choice")),
		ChoiceNext:      key.NewBinding(key.WithKeys("right", "l", "space"), key.WithHelp("→/l/space", "next choice")),
		Toggle:          key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "include/leave out")),
		LogsView:        logsview.DefaultKeyMap(),
		GroupOutputs:    key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "hosts grouped by output / per-host panes")),
		ExecStaged:      key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "the command: one host first, then ask (on/off)")),
		ExecInApp:       key.NewBinding(key.WithKeys("ctrl+o"), key.WithHelp("ctrl+o", "the command: in an app's current release with its .env (next app, then none)")),
	}
}

// ShortHelp is the footer of the fleet view.
func (k KeyMap) ShortHelp() []key.Binding { return k.fleetKeys().ShortHelp() }

// fleetKeys is the fleet list's keys (ui/fleet), bound here.
func (k KeyMap) fleetKeys() fleetview.KeyMap {
	return fleetview.KeyMap{Up: k.Up, Down: k.Down, PageUp: k.PageUp, PageDown: k.PageDown, Top: k.Top, Bottom: k.Bottom,
		Filter: k.Filter, ClearFilter: k.ClearFilter, Select: k.Select, SelectAll: k.SelectAll, SelectNone: k.SelectNone,
		Collapse: k.Collapse, CollapseAll: k.CollapseAll,
		Apply: k.Apply, Cancel: k.Cancel, Detail: k.Detail, Exec: k.Exec, PastRuns: k.PastRuns, Help: k.Help, Quit: k.Quit}
}

// runKeys is the run view's keys (ui/run), bound here.
func (k KeyMap) runKeys() runview.KeyMap {
	return runview.KeyMap{Up: k.Up, Down: k.Down, PageUp: k.PageUp, PageDown: k.PageDown, Top: k.Top, Bottom: k.Bottom,
		NextFailed: k.NextFailed, PrevFailed: k.PrevFailed, Follow: k.Follow, CancelRun: k.CancelRun, Confirm: k.Confirm,
		Back: k.Back, Help: k.Help, Wrap: k.RunWrap, Left: k.ScrollLeft, Right: k.ScrollRight, Zoom: k.Zoom, Whole: k.WholeLine, Group: k.GroupOutputs}
}

// flowKeys is the guided flows' keys (ui/flows), bound here.
func (k KeyMap) flowKeys() flowsview.KeyMap {
	return flowsview.KeyMap{Up: k.Up, Down: k.Down, PageUp: k.PageUp, PageDown: k.PageDown, Top: k.Top, Bottom: k.Bottom,
		NextStep: k.NextStep, PrevStep: k.PrevStep, Confirm: k.Confirm, Back: k.Back, Apply: k.Apply, Cancel: k.Cancel,
		Filter: k.Filter, FieldUp: k.FieldUp, FieldDown: k.FieldDown, ChoicePrev: k.ChoicePrev, ChoiceNext: k.ChoiceNext,
		Toggle: k.Toggle, Rollback: k.Rollback, Mark: k.Mark, Compare: k.Compare, Open: k.Open,
		NextFailed: k.NextFailed, Follow: k.Follow, CancelRun: k.CancelRun, Help: k.Help, Run: k.runKeys()}
}

// listKeys is the past runs list's keys (ui/run), bound here.
func (k KeyMap) listKeys() runview.ListKeyMap {
	return runview.ListKeyMap{Up: k.Up, Down: k.Down, PageUp: k.PageUp, PageDown: k.PageDown, Top: k.Top, Bottom: k.Bottom,
		Open: k.Open, Back: k.Back, Help: k.Help}
}

// scope is where a binding acts: two actions of one scope cannot share a
// key. A binding can act in several scopes.
type scope int

const (
	scopeFleet      scope = 1 << iota
	scopeRun              // a run, live or replayed
	scopeRuns             // the past runs list
	scopeFlow             // the steps of a guided flow (wizard, rollback, migrate, flush)
	scopeReleases         // the releases view
	scopeLogs             // the logs view
	scopeLogsType         // the logs view while a filter or a search is typed
	scopeTyping           // typing the fleet's filter, a command or the releases' filter
	scopeHelp             // the ? overlay
	scopeAsk              // a yes/no question: cancel the run, quit under a running flow
	scopeHostKey          // the unknown host key dialog
	scopePassphrase       // the passphrase dialog
	scopeWarning          // the changed host key warning
	scopeForm             // a flow's form or typed list: the wizard's refs and strategy, a protected environment's name
	scopePalette          // the : command palette
	scopeAll        = scopeFleet | scopeRun | scopeRuns | scopeFlow | scopeReleases | scopeLogs
	scopeAnywhere   = scopePalette<<1 - 1 // every scope: ctrl+c
)

// scopes names each scope, in the order the key reference lists them.
var scopes = []struct {
	s    scope
	name string
}{
	{scopeAnywhere, "anywhere"}, {scopeFleet, "fleet"}, {scopeTyping, "typing"}, {scopeHelp, "help"},
	{scopeRun, "run"}, {scopeAsk, "question"}, {scopeRuns, "past runs"}, {scopeFlow, "flow"}, {scopeForm, "flow: form"},
	{scopeReleases, "releases"}, {scopeLogs, "logs"}, {scopeLogsType, "logs: typing"},
	{scopeHostKey, "dialog: unknown host key"}, {scopePassphrase, "dialog: passphrase"},
	{scopeWarning, "dialog: changed host key"}, {scopePalette, "command palette"},
}

// action is one entry of the key table: a binding under its config name,
// where it acts, and its description where one scope says it otherwise.
type action struct {
	name  string
	b     *key.Binding
	scope scope
	// fixed: the config file cannot rebind it. ctrl+c must always quit,
	// only y trusts a host key.
	fixed bool
	desc  map[scope]string // the help's text in a scope, when not the binding's
}

// actions is the key table: every key the console reacts to, under its
// config name. Handlers match these bindings (key.Matches), never a key
// literal; the footers, the ? help and docs/KEYS.md are drawn from it.
func (k *KeyMap) actions() []action {
	back := map[scope]string{scopeRuns: "back to the fleet", scopeFlow: "leave; while it runs, look around (it keeps running, o returns)",
		scopeReleases: "leave, or clear the filter"}
	return []action{
		{name: "force_quit", b: &k.ForceQuit, scope: scopeAnywhere, fixed: true},
		{name: "up", b: &k.Up, scope: scopeAll}, {name: "down", b: &k.Down, scope: scopeAll},
		{name: "page_up", b: &k.PageUp, scope: scopeAll}, {name: "page_down", b: &k.PageDown, scope: scopeAll},
		{name: "top", b: &k.Top, scope: scopeAll}, {name: "bottom", b: &k.Bottom, scope: scopeAll},
		{name: "filter", b: &k.Filter, scope: scopeFleet | scopeReleases}, {name: "clear_filter", b: &k.ClearFilter, scope: scopeFleet},
		{name: "select", b: &k.Select, scope: scopeFleet}, {name: "select_all", b: &k.SelectAll, scope: scopeFleet},
		{name: "select_none", b: &k.SelectNone, scope: scopeFleet}, {name: "detail", b: &k.Detail, scope: scopeFleet},
		{name: "collapse", b: &k.Collapse, scope: scopeFleet}, {name: "collapse_all", b: &k.CollapseAll, scope: scopeFleet},
		{name: "refresh", b: &k.Refresh, scope: scopeFleet}, {name: "exec", b: &k.Exec, scope: scopeFleet}, {name: "logs", b: &k.Logs, scope: scopeFleet},
		{name: "shell", b: &k.Shell, scope: scopeFleet}, {name: "palette", b: &k.Palette, scope: scopeFleet},
		{name: "palette_complete", b: &k.PaletteComplete, scope: scopePalette},
		{name: "palette_older", b: &k.PaletteOlder, scope: scopePalette}, {name: "palette_newer", b: &k.PaletteNewer, scope: scopePalette},
		{name: "last_run", b: &k.LastRun, scope: scopeFleet}, {name: "past_runs", b: &k.PastRuns, scope: scopeFleet},
		{name: "open", b: &k.Open, scope: scopeRuns | scopeReleases, desc: map[scope]string{scopeReleases: "the release's output; in the picker, its releases"}},
		{name: "back", b: &k.Back, scope: scopeRun | scopeRuns | scopeFlow | scopeReleases, desc: back},
		{name: "next_failed", b: &k.NextFailed, scope: scopeRun}, {name: "prev_failed", b: &k.PrevFailed, scope: scopeRun},
		{name: "cancel_run", b: &k.CancelRun, scope: scopeRun}, {name: "follow", b: &k.Follow, scope: scopeRun},
		{name: "run_wrap", b: &k.RunWrap, scope: scopeRun}, {name: "scroll_left", b: &k.ScrollLeft, scope: scopeRun | scopeReleases},
		{name: "scroll_right", b: &k.ScrollRight, scope: scopeRun | scopeReleases}, {name: "zoom", b: &k.Zoom, scope: scopeRun},
		{name: "whole_line", b: &k.WholeLine, scope: scopeRun}, {name: "group_outputs", b: &k.GroupOutputs, scope: scopeRun},
		{name: "exec_staged", b: &k.ExecStaged, scope: scopeTyping}, {name: "exec_in_app", b: &k.ExecInApp, scope: scopeTyping},
		{name: "help", b: &k.Help, scope: scopeAll}, {name: "quit", b: &k.Quit, scope: scopeFleet | scopeHelp, desc: map[scope]string{scopeHelp: "close the help"}},
		{name: "deploy", b: &k.Deploy, scope: scopeFleet}, {name: "rollback", b: &k.Rollback, scope: scopeFleet | scopeFlow},
		{name: "migrate", b: &k.Migrate, scope: scopeFleet}, {name: "flush", b: &k.Flush, scope: scopeFleet}, {name: "releases", b: &k.Releases, scope: scopeFleet},
		{name: "next_step", b: &k.NextStep, scope: scopeFlow},
		{name: "prev_step", b: &k.PrevStep, scope: scopeFlow | scopeReleases, desc: map[scope]string{scopeReleases: "another app or environment"}},
		{name: "confirm", b: &k.Confirm, scope: scopeFlow | scopeAsk, desc: map[scope]string{scopeAsk: "yes (anything else: no)"}},
		{name: "mark", b: &k.Mark, scope: scopeReleases}, {name: "compare", b: &k.Compare, scope: scopeReleases},
		{name: "close_help", b: &k.CloseHelp, scope: scopeHelp},
		{name: "apply", b: &k.Apply, scope: scopeTyping | scopeForm | scopePalette,
			desc: map[scope]string{scopeForm: "confirm the protected environment's typed name", scopePalette: "run the chosen command"}},
		{name: "cancel", b: &k.Cancel, scope: scopeTyping | scopePalette, desc: map[scope]string{scopePalette: "leave the palette"}},
		{name: "logs_pause", b: &k.LogsView.Follow, scope: scopeLogs}, {name: "logs_split", b: &k.LogsView.Layout, scope: scopeLogs},
		{name: "logs_next_pane", b: &k.LogsView.NextPane, scope: scopeLogs}, {name: "logs_wrap", b: &k.LogsView.Wrap, scope: scopeLogs},
		{name: "logs_search", b: &k.LogsView.Search, scope: scopeLogs}, {name: "logs_next_match", b: &k.LogsView.NextMatch, scope: scopeLogs},
		{name: "logs_prev_match", b: &k.LogsView.PrevMatch, scope: scopeLogs}, {name: "logs_filter", b: &k.LogsView.Filter, scope: scopeLogs},
		{name: "logs_errors", b: &k.LogsView.Errors, scope: scopeLogs}, {name: "logs_back", b: &k.LogsView.Back, scope: scopeLogs},
		{name: "logs_save", b: &k.LogsView.Save, scope: scopeLogs}, {name: "logs_more", b: &k.LogsView.More, scope: scopeLogs}, {name: "logs_regex", b: &k.LogsView.Regex, scope: scopeLogsType},
		{name: "logs_apply", b: &k.LogsView.Apply, scope: scopeLogsType}, {name: "logs_cancel", b: &k.LogsView.Cancel, scope: scopeLogsType},
		// The dialogs' keys are fixed: only y trusts a host key, whatever
		// the config file says (README, security).
		{name: "trust", b: &k.Trust, scope: scopeHostKey, fixed: true}, {name: "refuse", b: &k.Refuse, scope: scopeHostKey, fixed: true},
		{name: "unlock", b: &k.Unlock, scope: scopePassphrase, fixed: true}, {name: "skip_key", b: &k.SkipKey, scope: scopePassphrase, fixed: true},
		{name: "close_warning", b: &k.CloseWarning, scope: scopeWarning, fixed: true},
		{name: "field_up", b: &k.FieldUp, scope: scopeForm}, {name: "field_down", b: &k.FieldDown, scope: scopeForm},
		{name: "palette_up", b: &k.PaletteUp, scope: scopePalette}, {name: "palette_down", b: &k.PaletteDown, scope: scopePalette},
		{name: "choice_prev", b: &k.ChoicePrev, scope: scopeForm}, {name: "choice_next", b: &k.ChoiceNext, scope: scopeForm},
		{name: "toggle", b: &k.Toggle, scope: scopeFlow},
	}
}

// describe is a's help text in scope s.
func (a action) describe(s scope) string {
	if d, ok := a.desc[s]; ok {
		return d
	}
	return a.b.Help().Desc
}

// The help's groups of keys, one column each (more when it is long).
const (
	groupMove = iota
	groupSelect
	groupAct
	groupGeneral
	groups
)

// group is where the ? help lists a.
func (a action) group() int {
	switch a.name {
	case "up", "down", "page_up", "page_down", "top", "bottom":
		return groupMove
	case "filter", "clear_filter", "select", "select_all", "select_none", "collapse", "collapse_all", "mark", "compare", "apply", "cancel",
		"logs_search", "logs_next_match", "logs_prev_match", "logs_filter", "logs_regex", "logs_apply", "logs_cancel":
		return groupSelect
	case "help", "close_help", "quit", "force_quit", "back", "logs_back":
		return groupGeneral
	}
	return groupAct
}

// scopeActions returns the table's actions that act in s, in its order.
// The logs scopes take their moves from logsKeys.
func (k KeyMap) scopeActions(s scope) []action {
	if s == scopeLogs || s == scopeLogsType {
		lk := k.logsKeys()
		k.LogsView = lk
		k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Help = lk.Up, lk.Down, lk.PageUp, lk.PageDown, lk.Top, lk.Bottom, lk.Help
	}
	var out []action
	for _, a := range k.actions() {
		if a.scope&s != 0 && a.b.Enabled() {
			out = append(out, a)
		}
	}
	return out
}

// inScope returns the bindings acting in s by group, in the table's order,
// each with its text there.
func (k KeyMap) inScope(s scope) [groups][]key.Binding {
	var out [groups][]key.Binding
	for _, a := range k.scopeActions(s) {
		g := a.group()
		out[g] = append(out[g], common.WithDesc(*a.b, a.describe(s)))
	}
	return out
}

//go:generate go test -count=1 -run TestKeyReferenceIsCurrent -update .

// KeyReference is docs/KEYS.md: every scope's keys from the key table, as
// DefaultKeyMap binds them. TestKeyReferenceIsCurrent fails when the file
// is stale; go test ./ui -run TestKeyReference -update rewrites it.
func KeyReference() string {
	k := DefaultKeyMap()
	var b strings.Builder
	b.WriteString("# opsui console keys\n\n" +
		"<!-- Generated from the key table (ui/keys.go) by `go generate ./ui` (go test ./ui -run TestKeyReference -update). Do not edit. -->\n\n" +
		"Every key the console reacts to, by where it acts. `?` shows the keys of\n" +
		"the current view, with the reason a key does nothing right now (read-only,\n" +
		"no host selected, not available here).\n\n" +
		"Rebind an action in the config file (`~/.config/opsui/config.yaml`):\n\n" +
		"    keys:\n      deploy: D\n      next_failed: [n, \"]\"]\n\n" +
		"A key bound to two actions of one view is an error that names the line.\n" +
		"ctrl+c cannot be rebound: it quits from anywhere (a running flow asks\n" +
		"first, and its hosts stop and its lock is released before opsui exits).\n" +
		"Nor can the keys marked (fixed) below.\n")
	for _, sc := range scopes {
		// ctrl+c is listed once, under "anywhere", which lists it alone.
		acts := slices.DeleteFunc(k.scopeActions(sc.s), func(a action) bool {
			return (a.scope == scopeAnywhere) != (sc.s == scopeAnywhere)
		})
		if len(acts) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n| keys | action | config name |\n|---|---|---|\n", sc.name)
		for _, a := range acts {
			keys := make([]string, len(a.b.Keys()))
			for i, kk := range a.b.Keys() {
				keys[i] = "`" + kk + "`"
			}
			name := "`" + a.name + "`"
			if a.fixed {
				name += " (fixed)"
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", strings.Join(keys, " "), a.describe(sc.s), name)
		}
	}
	return b.String()
}

// groupTitles head the help's columns, one per group.
var groupTitles = [groups]string{groupMove: "move", groupSelect: "select, filter, search", groupAct: "actions", groupGeneral: "general"}

// helpColumn is one column of the ? overlay: its heading ("" when it goes
// on with the group of the column before) and its bindings.
type helpColumn struct {
	title string
	bs    []key.Binding
}

// helpColumns lays the groups out for the ? overlay: a column each under
// its heading, split into columns of at most rows bindings.
func helpColumns(gs [groups][]key.Binding, rows int) []helpColumn {
	rows = max(1, rows)
	var cols []helpColumn
	for g, bs := range gs {
		title := groupTitles[g]
		for len(bs) > rows {
			cols = append(cols, helpColumn{title, bs[:rows]})
			bs, title = bs[rows:], ""
		}
		if len(bs) > 0 {
			cols = append(cols, helpColumn{title, bs})
		}
	}
	return cols
}

// ActionNames returns the names the config file gives the actions.
func ActionNames() []string {
	k := DefaultKeyMap()
	var out []string
	for _, a := range k.actions() {
		if !a.fixed {
			out = append(out, a.name)
		}
	}
	return out
}

// fixedAction reports whether name is an action the config cannot rebind.
func fixedAction(name string) bool {
	k := DefaultKeyMap()
	for _, a := range k.actions() {
		if a.name == name {
			return a.fixed
		}
	}
	return false
}

// rebind gives action name the keys, its help showing them. It reports
// false for an unknown action or one the config cannot rebind.
func (k *KeyMap) rebind(name string, keys []string) bool {
	for _, a := range k.actions() {
		if a.name == name && !a.fixed {
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
// quit bound to ctrl+c as well, as it was by default, is no conflict.
func (k *KeyMap) conflicts() []conflict {
	var out []conflict
	acts := k.actions()
	for i, a := range acts {
		for _, b := range acts[i+1:] {
			if a.scope&b.scope == 0 || a.b == &k.ForceQuit && b.b == &k.Quit {
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

// logsKeys returns the logs view's keys: its own, with the moves and help
// of the console's (their keys, the logs view's descriptions).
func (k KeyMap) logsKeys() logsview.KeyMap {
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

// The fleet file's runbooks bind keys of their own (ui/runbook.go): the
// table decides which are free.

// RunbookKeyConflicts says, for each runbook whose key: the console's own
// key table (as the config file binds it) uses in the fleet view, which
// action has it; those keys are not bound, the palette still runs them.
func RunbookKeyConflicts(k KeyMap, rbs []inventory.Runbook) map[string]string {
	out := map[string]string{}
	for _, rb := range rbs {
		if rb.Key == "" {
			continue
		}
		if act := k.fleetKeyAction(rb.Key); act != "" {
			out[rb.Name] = act
		}
	}
	return out
}

// fleetKeyAction names the key table's action that uses key where a
// runbook's key acts (the fleet view, and anywhere: ctrl+c), "" for none.
func (k KeyMap) fleetKeyAction(kk string) string {
	for _, a := range k.actions() {
		if a.scope&scopeFleet != 0 && slices.Contains(a.b.Keys(), kk) {
			return a.name
		}
	}
	return ""
}

// runbookBinding is rb's key as a binding, its help naming the runbook.
func runbookBinding(rb inventory.Runbook) key.Binding {
	return key.NewBinding(key.WithKeys(rb.Key), key.WithHelp(rb.Key, rb.Label()))
}
