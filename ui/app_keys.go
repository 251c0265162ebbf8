package ui

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/opsui/opsui/ui/common"
	flowsview "github.com/opsui/opsui/ui/flows"
)

// rootAction is a key of the fleet that the root handles (lazygit's
// Binding): its binding from the key table, why it does nothing now, and
// its handler.
type rootAction struct {
	b key.Binding
	// off says why the key does nothing now ("" when it acts): the notice
	// shown when it is pressed, and its note in the ? help. nil: always on.
	off func(App) string
	// quiet: when off, the key is left to the fleet view, no notice.
	quiet bool
	// skip: the key is not the root's now, so it is left to the fleet
	// view; unlike off, the help does not call it off. nil: never.
	skip func(App) bool
	// changes: it changes hosts, so read-only mode turns it off, which the
	// footer says.
	changes bool
	run     func(App) (tea.Model, tea.Cmd)
}

// readOnlyNotice is why a key that changes hosts does nothing.
const readOnlyNotice = "read-only: commands are disabled"

// fleetActions is the root's part of the fleet scope, in the order the
// keys are tried.
func (a App) fleetActions() []rootAction {
	k := a.keys
	acts := []rootAction{
		{b: k.Quit, run: func(a App) (tea.Model, tea.Cmd) {
			if a.showHelp { // q closes the help; it quits only from the fleet itself
				a.showHelp = false
				return a, nil
			}
			return a, tea.Quit
		}},
		{b: k.Help, run: func(a App) (tea.Model, tea.Cmd) {
			a.showHelp = !a.showHelp
			return a, nil
		}},
		{b: k.CloseHelp, quiet: true, off: func(a App) string { return when(!a.showHelp, "the help is not shown") },
			run: func(a App) (tea.Model, tea.Cmd) {
				a.showHelp = false
				return a, nil
			}},
		{b: k.Detail, run: func(a App) (tea.Model, tea.Cmd) {
			a.detail.Toggle()
			a.layout()
			return a, nil
		}},
		{b: k.Exec, changes: true, off: func(a App) string {
			switch {
			case a.cmdline.exec == nil:
				return "running commands is not available here"
			case len(a.fleet.Selected()) == 0:
				return "no host selected"
			}
			return ""
		}, run: func(a App) (tea.Model, tea.Cmd) {
			a.notice, a.mode = "", modeCommand
			return a, a.cmdline.input.Focus()
		}},
		{b: k.Refresh, off: func(a App) string { return when(!a.status.Enabled(), "no status panel here") },
			run: func(a App) (tea.Model, tea.Cmd) {
				return a, a.status.StartRound(a.fleet.Fleet()) // nil while a round runs: it is as fresh
			}},
		{b: k.LastRun, quiet: true, off: func(a App) string { return when(a.run.Feed() == nil && !a.backgroundFlow(), "no run yet") },
			run: func(a App) (tea.Model, tea.Cmd) {
				if a.backgroundFlow() {
					return a.toForeground() // the flow out of sight first: it is what the header shows
				}
				a.mode, a.replaying = modeRun, false // back to the last run
				return a, nil
			}},
		{b: k.PastRuns, off: func(a App) string {
			return when(!a.past.Available(), "past runs are not available here")
		}, run: App.openRunsList},
		{b: k.Logs, off: func(a App) string {
			switch {
			case a.logs.fn == nil:
				return "following logs is not available here"
			case len(a.logsHosts()) == 0:
				return "no host selected"
			}
			return ""
		}, run: App.openLogs},
		{b: k.Shell, changes: true, off: func(a App) string {
			switch {
			case a.shell == nil:
				return "a shell is not available here"
			case a.fleet.Focused().Name == "":
				return "no host under the cursor"
			}
			return ""
		}, run: App.openShell},
		{b: k.Palette, run: App.openPalette},
	}
	acts = append(acts, a.flowActions()...)
	return append(acts, a.runbookActions()...) // ui/runbook.go
}

// when is reason if cond holds, else "".
func when(cond bool, reason string) string {
	if cond {
		return reason
	}
	return ""
}

// reason is why act does nothing now, "" when it acts.
func (a App) reason(act rootAction) string {
	if act.changes && a.ctx.ReadOnly {
		return readOnlyNotice
	}
	if act.off == nil {
		return ""
	}
	return act.off(a)
}

// fleetKey runs the root's action of km; handled is false when km is
// none of them, or a quiet one that is off.
func (a App) fleetKey(km tea.KeyPressMsg) (next tea.Model, cmd tea.Cmd, handled bool) {
	for _, act := range a.fleetActions() {
		if !key.Matches(km, act.b) || act.skip != nil && act.skip(a) {
			continue
		}
		switch r := a.reason(act); {
		case r != "" && act.quiet:
			continue
		case r != "":
			a.notice = r
			return a, nil, true
		}
		if a.backgroundRunning() && a.opensFlow(act.b) {
			a.notice = "a " + a.backgroundKind() + " runs out of sight: " + common.KeyName(a.keys.LastRun) + " returns to it"
			return a, nil, true
		}
		next, cmd = act.run(a)
		return next, cmd, true
	}
	return nil, nil, false
}

// sameKeys reports whether two bindings are one key table entry.
func sameKeys(x, y key.Binding) bool {
	return x.Help() == y.Help() && slices.Equal(x.Keys(), y.Keys())
}

// helpScope is the key table's scope the ? help lists now.
func (a App) helpScope() scope {
	switch a.mode {
	case modeRun:
		return scopeRun
	case modeRuns:
		return scopeRuns
	case modeLogs:
		return scopeLogs
	case modeFlow:
		if flowsview.IsReleases(a.flows.cur) {
			return scopeReleases
		}
		return scopeFlow
	}
	return scopeFleet
}

// helpTitle names the view whose keys the ? help lists.
func (a App) helpTitle() string {
	switch a.mode {
	case modeRun:
		switch f := a.shownRun().Feed(); {
		case a.replaying:
			return "replay of a past run"
		case f != nil && f.Done():
			return "run " + fmt.Sprint(f.ID()) + ": summary"
		}
		return "run view"
	case modeRuns:
		return "past runs"
	case modeLogs:
		return "logs"
	case modeFlow:
		switch {
		case flowsview.IsReleases(a.flows.cur):
			return "releases"
		case a.flows.cur != nil && flowsview.Running(a.flows.cur):
			return "flow: running"
		}
		return "flow"
	}
	return "fleet"
}

// helpView is the ? overlay: the current view's name, then its keys from
// the key table under their headings, with why a key does nothing now.
func (a App) helpView(h int) string {
	s := a.helpScope()
	gs := a.keys.inScope(s)
	if s == scopeFleet {
		gs[groupAct] = append(gs[groupAct], a.runbookHelp()...) // ui/runbook.go
	}
	for _, bs := range gs {
		for i, b := range bs {
			if r := a.helpOff(s, b); r != "" {
				bs[i] = common.WithDesc(b, b.Help().Desc+" (off: "+r+")")
			}
		}
	}
	st := a.ctx.Styles
	title := st.Title.Render(common.Clip("keys: "+a.helpTitle(), a.ctx.Width-30)) +
		st.Muted.Render(" · "+common.KeyName(a.keys.CloseHelp)+" or "+common.KeyName(a.keys.Quit)+" closes the help")
	title = common.ClipStyled(title, a.ctx.Width)
	return title + "\n\n" + a.helpColumnsView(helpColumns(gs, max(1, h-3)), a.ctx.Width)
}

// helpOff is why b does nothing now in scope s, "" when it acts: a root
// action of the fleet that is off, a cancel with no run going on.
func (a App) helpOff(s scope, b key.Binding) string {
	switch s {
	case scopeFleet:
		for _, act := range a.fleetActions() {
			if r := a.reason(act); r != "" && sameKeys(b, act.b) {
				return r
			}
		}
	case scopeRun:
		if sameKeys(b, a.keys.CancelRun) {
			if ro := a.shownRun().Feed().ReadOnly(); ro != "" {
				return ro
			}
			if f := a.shownRun().Feed(); a.replaying || f == nil || f.Done() {
				return "the run is over"
			}
		}
	}
	return ""
}

// helpColumnsView draws the help's columns side by side under their
// headings, in as many bands as the width needs: unlike
// help.FullHelpView, it never cuts a column off behind an ellipsis.
func (a App) helpColumnsView(cols []helpColumn, w int) string {
	st := a.ctx.Styles
	const gap = 3
	var bands []string
	var band []string
	bandW := 0
	for _, col := range cols {
		keyW := 0
		for _, b := range col.bs {
			keyW = max(keyW, lipgloss.Width(b.Help().Key))
		}
		lines := []string{st.Title.Render(common.Clip(col.title, w))}
		for _, b := range col.bs {
			k := b.Help().Key
			lines = append(lines, st.Key.Render(k)+strings.Repeat(" ", keyW-lipgloss.Width(k)+1)+
				st.Muted.Render(common.Clip(b.Help().Desc, max(1, w-keyW-1))))
		}
		c := strings.Join(lines, "\n")
		cw := lipgloss.Width(c)
		if len(band) > 0 && bandW+gap+cw > w {
			bands = append(bands, lipgloss.JoinHorizontal(lipgloss.Top, band...))
			band, bandW = nil, 0
		}
		if len(band) > 0 {
			c = lipgloss.NewStyle().PaddingLeft(gap).Render(c)
			cw += gap
		}
		band, bandW = append(band, c), bandW+cw
	}
	if len(band) > 0 {
		bands = append(bands, lipgloss.JoinHorizontal(lipgloss.Top, band...))
	}
	return strings.Join(bands, "\n\n")
}

// isDetailToggle reports whether msg is the key that shows the detail pane.
func isDetailToggle(msg tea.Msg, keys KeyMap) bool {
	km, ok := msg.(tea.KeyPressMsg)
	return ok && key.Matches(km, keys.Detail)
}
