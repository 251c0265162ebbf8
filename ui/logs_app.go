package ui

import (
	"context"
	"errors"
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/logs"
	logsview "github.com/opsui/opsui/ui/logs"
)

// LogsFunc follows the logs of hosts of f, sending every line to emit
// (which is safe for concurrent use and never blocks), until ctx ends
// (logs.Tail with the console's pool). It runs inside a tea.Cmd.
type LogsFunc func(ctx context.Context, f *inventory.Fleet, hosts []inventory.Host, emit func(logs.Line)) error

// LogsBacklogFunc is LogsFunc starting with the last backlog lines of each
// file: the logs view's key for more history reopens the follow with it.
type LogsBacklogFunc func(ctx context.Context, f *inventory.Fleet, hosts []inventory.Host, backlog int, emit func(logs.Line)) error

// LogTiesFunc makes the logs view's TieFunc over a fleet: the errors
// panel's "first seen in" column.
type LogTiesFunc func(f *inventory.Fleet) logsview.TieFunc

// logsMoreStep is how many lines of history per host each press of the
// logs view's More key adds.
const logsMoreStep = ops.ConsoleSinceLines

// logsState is the console's part of following logs: the engine hook, the
// view (ui/logs) while it is open, and how to stop its follow. The view's
// keys are the KeyMap's (logsKeys).
type logsState struct {
	fn      LogsFunc
	more    LogsBacklogFunc // nil: the history cannot be lengthened
	ties    LogTiesFunc     // nil: no "first seen in" column
	backlog int             // lines of history per host the view started with (0: the engine's default)
	hosts   []inventory.Host
	perHost int // lines kept per host (logs.DefaultBuffer when 0)
	view    *logsview.Model
	stop    context.CancelFunc // ends the view's follow
	seq     int
}

func newLogsState(fn LogsFunc, more LogsBacklogFunc, ties LogTiesFunc) logsState {
	return logsState{fn: fn, more: more, ties: ties}
}

// stopLogs ends the follow of the view shown, if any.
func (a App) stopLogs() {
	if a.logs.stop != nil {
		a.logs.stop()
	}
}

// openLogs opens the logs view on logsHosts and starts following their
// logs; fleetActions checked that it is available and that there are hosts.
func (a App) openLogs() (tea.Model, tea.Cmd) { return a.openLogsOn(a.logsHosts()) }

// openLogsOn opens the logs view on hosts with the default history.
func (a App) openLogsOn(hosts []inventory.Host) (tea.Model, tea.Cmd) {
	a.logs.backlog = 0
	return a.followLogs(hosts)
}

// moreLogs reopens the logs view on its hosts with logsMoreStep more
// lines of history per host (at most what the view holds).
func (a App) moreLogs() (tea.Model, tea.Cmd) {
	if a.logs.more == nil || len(a.logs.hosts) == 0 {
		a.logs.view.Say("more history is not available here")
		return a, nil
	}
	perHost := a.logs.perHost
	if perHost <= 0 {
		perHost = logs.DefaultBuffer
	}
	back := a.logs.backlog
	if back == 0 {
		back = ops.ConsoleSinceLines
	}
	a.stopLogs()
	a.logs.backlog = min(perHost, back+logsMoreStep)
	next, cmd := a.followLogs(a.logs.hosts)
	n := next.(App)
	n.logs.view.Say(fmt.Sprintf("history: the last %d lines of each file", n.logs.backlog))
	return n, cmd
}

// followLogs opens the logs view on hosts (the palette's :logs web) with
// a.logs.backlog lines of history, and starts following.
func (a App) followLogs(hosts []inventory.Host) (tea.Model, tea.Cmd) {
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = h.Name
	}
	a.logs.seq++
	perHost := a.logs.perHost
	if perHost <= 0 {
		perHost = logs.DefaultBuffer
	}
	v := logsview.New(a.ctx, a.keys.logsKeys(), a.logs.seq, names, perHost)
	if a.logs.ties != nil {
		v.SetTie(a.logs.ties(a.fleet.Fleet()))
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.logs.view, a.logs.stop = v, cancel
	a.layout()
	a.mode, a.notice = modeLogs, ""
	a.logs.hosts = hosts
	fn, more, backlog, fleet, id, add := a.logs.fn, a.logs.more, a.logs.backlog, a.fleet.Fleet(), v.ID(), v.Add
	follow := func() tea.Msg {
		if more != nil && backlog > 0 {
			return logsview.DoneMsg{ID: id, Err: more(ctx, fleet, hosts, backlog, add)}
		}
		return logsview.DoneMsg{ID: id, Err: fn(ctx, fleet, hosts, add)}
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
		a.logs.view.SetSize(a.ctx.Width, a.bodyHeight())
	}
}

// logsUpdate handles the logs view's messages, and every key while it has
// the keyboard; ok is false for anything else.
func (a App) logsUpdate(msg tea.Msg) (_ tea.Model, _ tea.Cmd, ok bool) {
	v := a.logs.view
	switch msg := msg.(type) {
	case logsview.TickMsg:
		if v == nil || msg.ID != v.ID() {
			return a, nil, true // a closed view's tick: let it die
		}
		_, cmd := v.Update(msg)
		return a, cmd, true
	case logsview.DoneMsg:
		if v == nil || msg.ID != v.ID() {
			return a, nil, true
		}
		if msg.Err != nil && !errors.Is(msg.Err, context.Canceled) {
			v.Finish(msg.Err)
			return a, a.addToast("logs: " + msg.Err.Error()), true
		}
		v.Finish(nil)
		return a, nil, true
	case logsview.SavedMsg:
		return a, a.logsSaved(msg), true
	case logsview.FirstSeenMsg:
		if v != nil && msg.ID == v.ID() {
			v.Update(msg)
		}
		return a, nil, true
	case tea.KeyPressMsg:
		if a.mode != modeLogs || v == nil || len(a.dialogs.queue) > 0 {
			return nil, nil, false
		}
		if !v.Typing() {
			if a.helpKey(msg) {
				return a, nil, true
			}
			switch {
			case key.Matches(msg, a.keys.logsKeys().More):
				next, cmd := a.moreLogs()
				return next, cmd, true
			case key.Matches(msg, a.keys.logsKeys().Back):
				a.stopLogs()
				a.logs.view, a.logs.stop = nil, nil // its buffer goes with it
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
	return nil, nil, false
}

// logsSaved reports a save: a question when the file exists, else a toast.
func (a *App) logsSaved(msg logsview.SavedMsg) tea.Cmd {
	v := a.logs.view
	switch {
	case msg.Exists && v != nil && v.ID() == msg.ID:
		v.AskOverwrite(msg.Path)
		return nil
	case msg.Exists:
		return a.addToast("logs not saved: " + msg.Path + " exists")
	case msg.Err != nil:
		return a.addToast("logs not saved: " + msg.Err.Error())
	}
	return a.addToast(fmt.Sprintf("saved %d lines to %s", msg.Lines, msg.Path))
}

// logsFooter is the footer while the logs view is shown.
func (a App) logsFooter() string {
	if v := a.logs.view; v != nil {
		return v.Footer(a.rankedFooter)
	}
	return a.rankedFooter(a.keys.logsKeys().ShortHelp())
}

// logsBody is the body while the logs view is shown.
func (a App) logsBody() string {
	if a.showHelp {
		return a.helpView(a.bodyHeight())
	}
	if a.logs.view == nil {
		return ""
	}
	return a.logs.view.View()
}
