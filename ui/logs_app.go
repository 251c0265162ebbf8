package ui

import (
	"context"
	"errors"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/logs"
)

// logsState is the console's part of following logs: the engine hook and
// the view while it is open. The view's keys are the KeyMap's (logsKeys).
type logsState struct {
	fn      LogsFunc
	perHost int // lines kept per host (logs.DefaultBuffer when 0)
	view    *logsView
	seq     int
}

func newLogsState(fn LogsFunc) logsState {
	return logsState{fn: fn}
}

// openLogs opens the logs view on logsHosts and starts following their
// logs; fleetActions checked that it is available and that there are hosts.
func (a App) openLogs() (tea.Model, tea.Cmd) {
	hosts := a.logsHosts()
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = h.Name
	}
	a.logs.seq++
	perHost := a.logs.perHost
	if perHost <= 0 {
		perHost = logs.DefaultBuffer
	}
	v := newLogsView(a.ctx, a.keys.logsKeys(), a.logs.seq, names, perHost)
	ctx, cancel := context.WithCancel(context.Background())
	v.cancel = cancel
	a.logs.view = v
	a.layout()
	a.mode, a.notice = modeLogs, ""
	fn, fleet, id, add := a.logs.fn, a.fleet.fleet, v.id, v.buf.Add
	follow := func() tea.Msg {
		return logsDoneMsg{id: id, err: fn(ctx, fleet, hosts, add)}
	}
	return a, tea.Batch(follow, v.Init())
}

// logsHosts are the hosts whose logs L follows: the selected ones, else
// the focused one.
func (a App) logsHosts() []inventory.Host {
	hosts := a.fleet.Selected()
	if len(hosts) == 0 {
		if f := a.fleet.Focused(); f.Name != "" {
			hosts = append(hosts, f)
		}
	}
	return hosts
}

// logsLayout sizes the logs view to the body.
func (a *App) logsLayout() {
	if a.logs.view != nil {
		a.logs.view.SetSize(a.ctx.Width, max(1, a.ctx.Height-2))
	}
}

// logsUpdate handles the logs view's messages, and every key while it has
// the keyboard; ok is false for anything else.
func (a App) logsUpdate(msg tea.Msg) (_ tea.Model, _ tea.Cmd, ok bool) {
	v := a.logs.view
	switch msg := msg.(type) {
	case logsTickMsg:
		if v == nil || msg.id != v.id {
			return a, nil, true // a closed view's tick: let it die
		}
		_, cmd := v.Update(msg)
		return a, cmd, true
	case logsDoneMsg:
		if v == nil || msg.id != v.id {
			return a, nil, true
		}
		v.done = true
		v.take()
		if msg.err != nil && !errors.Is(msg.err, context.Canceled) {
			v.err = msg.err
			return a, a.addToast("logs: " + msg.err.Error()), true
		}
		return a, nil, true
	case logsSavedMsg:
		return a, a.logsSaved(msg), true
	case tea.KeyPressMsg:
		if a.mode != modeLogs || v == nil || len(a.dialogs) > 0 {
			return a, nil, false
		}
		if v.typing == 0 {
			switch {
			case a.showHelp && (key.Matches(msg, v.keys.Help) || key.Matches(msg, a.keys.CloseHelp)):
				a.showHelp = false
				return a, nil, true
			case key.Matches(msg, v.keys.Help):
				a.showHelp = true
				return a, nil, true
			case key.Matches(msg, v.keys.Back):
				v.stop()
				a.logs.view = nil // its buffer goes with it
				a.mode = modeFleet
				return a, nil, true
			}
		}
		_, cmd := v.Update(msg)
		return a, cmd, true
	case tea.PasteMsg:
		if a.mode == modeLogs && v != nil {
			_, cmd := v.Update(msg)
			return a, cmd, true
		}
	}
	return a, nil, false
}

// logsFooter is the footer while the logs view is shown.
func (a App) logsFooter() string {
	v := a.logs.view
	if v != nil && (v.typing == typingSave || v.typing == typingOverwrite) {
		return a.saveFooter(v)
	}
	if v != nil && v.typing != 0 {
		mode := "plain"
		if v.regex {
			mode = "regex"
		}
		return v.input.View() + a.ctx.Styles.Muted.Render(" ["+mode+"] ") + a.help.ShortHelpView(v.KeyMap())
	}
	if v == nil {
		return a.help.ShortHelpView(a.keys.logsKeys().ShortHelp())
	}
	return a.help.ShortHelpView(v.KeyMap())
}

// logsBody is the body while the logs view is shown.
func (a App) logsBody() string {
	if a.showHelp {
		return a.helpView(max(1, a.ctx.Height-2))
	}
	if a.logs.view == nil {
		return ""
	}
	return a.logs.view.View()
}
