package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ui/common"
	runview "github.com/opsui/opsui/ui/run"
)

// Run messages carry the id of their run, so a stale tick or result of an
// earlier run is recognised.
type (
	runTickMsg struct{ id int }
	// runDoneMsg ends a run; err is what went wrong after it ran (its
	// record could not be written), shown as a toast.
	runDoneMsg struct {
		id  int
		err error
	}
)

// runTick re-renders a live run at most 20 times a second.
func runTick(id int) tea.Cmd {
	return tea.Tick(50*time.Millisecond, func(time.Time) tea.Msg { return runTickMsg{id: id} })
}

// applyCommand runs the typed command on the selected hosts, or first
// asks for the environment's name when one of them is protected. The
// command line's choice of one host first lasts for this command only.
func (a App) applyCommand() (App, tea.Cmd) {
	command := strings.TrimSpace(a.cmdline.input.Value())
	hosts := a.fleet.Selected()
	staged := a.cmdline.staged.on
	if staged {
		hosts = stagedOrder(hosts, a.fleet.Focused().Name)
	}
	a.cmdline.input.Blur()
	a.cmdline.input.SetValue("")
	if staged {
		a = a.toggleStaged()
	}
	if command == "" || len(hosts) == 0 {
		a.mode = modeFleet
		return a, nil
	}
	if envs := protectedEnvs(a.fleet.Fleet(), hosts); len(envs) > 0 {
		var cmd tea.Cmd
		a.cmdline.confirm, cmd = newExecConfirm(command, hosts, envs)
		a.cmdline.confirm.staged = staged
		a.cmdline.confirm.app = a.cmdline.inApp.app
		return a, cmd
	}
	return a.startExec(command, hosts, staged)
}

// startExec runs command on hosts: all at once, or staged (one host
// first) when there is more than one.
func (a App) startExec(command string, hosts []inventory.Host, staged bool) (App, tea.Cmd) {
	if staged && len(hosts) > 1 {
		return a.startStaged(command, hosts)
	}
	return a.startRun(command, hosts)
}

// confirmKey handles a key while the protected environment's name is
// asked for: enter runs once it matches, esc leaves without running.
func (a App) confirmKey(msg tea.KeyPressMsg) (App, tea.Cmd) {
	c := &a.cmdline.confirm
	switch {
	case key.Matches(msg, a.keys.Apply):
		if !c.typed(common.KeyName(a.keys.Cancel)) {
			return a, nil
		}
		command, hosts, staged := c.command, c.hosts, c.staged
		*c = execConfirm{}
		return a.startExec(command, hosts, staged)
	case key.Matches(msg, a.keys.Cancel):
		*c = execConfirm{}
		a.mode = modeFleet
		return a, nil
	}
	c.note = ""
	var cmd tea.Cmd
	c.input, cmd = c.input.Update(msg)
	return a, cmd
}

// newRun shows a new run of command on hosts, its hosts grouped by
// output, and returns the context its work runs under.
func (a App) newRun(command string, hosts []inventory.Host) (App, context.Context) {
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = h.Name
	}
	a.cmdline.runs++
	feed := runview.NewFeed(a.cmdline.runs, command, names)
	feed.Grouping()
	ctx, cancel := context.WithCancel(context.Background())
	if a.cmdline.cancel != nil {
		a.cmdline.cancel() // one run at a time: a new one replaces the view of the old
	}
	a.abandonStaged()
	a.cmdline.cancel = cancel
	a.run = runview.New(a.ctx, a.keys.runKeys(), feed)
	a.replaying = false
	a.layout()
	a.mode = modeRun
	return a, ctx
}

// startRun runs command on hosts.
func (a App) startRun(command string, hosts []inventory.Host) (App, tea.Cmd) {
	a, ctx := a.newRun(command, hosts)
	feed := a.run.Feed()
	exec := a.execNow(feed)
	id := feed.ID()
	return a, tea.Batch(runTick(id), func() tea.Msg {
		res, err := exec(ctx, hosts, command, feed.Event)
		feed.Finish(res, err)
		if err != nil && len(res.Hosts) > 0 {
			return runDoneMsg{id: id, err: fmt.Errorf("run %d: %w", id, err)}
		}
		return runDoneMsg{id: id}
	})
}

// modeKey handles a key while typing a command or watching a run;
// handled is false in the other modes.
func (a App) modeKey(msg tea.KeyPressMsg) (next tea.Model, cmd tea.Cmd, handled bool) {
	if a.mode == modeCommand && a.runbook.asking() {
		app, cmd := a.runbookKey(msg)
		return app, cmd, true
	}
	if a.mode == modeCommand && a.cmdline.confirm.active {
		app, cmd := a.confirmKey(msg)
		return app, cmd, true
	}
	if a.mode == modeCommand {
		switch {
		case key.Matches(msg, a.keys.ExecStaged):
			return a.toggleStaged(), nil, true
		case key.Matches(msg, a.keys.ExecInApp):
			return a.nextExecApp(), nil, true
		case key.Matches(msg, a.keys.Apply):
			app, cmd := a.applyCommand()
			return app, cmd, true
		case key.Matches(msg, a.keys.Cancel):
			a.mode = modeFleet
			a.cmdline.input.Blur()
			a.cmdline.input.SetValue("")
			if a.cmdline.staged.on {
				a = a.toggleStaged()
			}
			return a, nil, true
		}
		a.cmdline.input, cmd = a.cmdline.input.Update(msg)
		return a, cmd, true
	}
	if a.mode == modeRun {
		rv := a.shownRun()
		if a.helpKey(msg) {
			return a, nil, true
		}
		switch {
		case key.Matches(msg, a.keys.Back) && !rv.Asking() && !rv.Zoomed():
			a.mode = modeFleet
			if a.replaying {
				a.mode = modeRuns // back to the list it was opened from
			}
			return a, nil, true
		}
		*rv, cmd = rv.Update(msg)
		return a, cmd, true
	}
	return nil, nil, false
}

// openRunsList shows the past runs, read anew.
func (a App) openRunsList() (tea.Model, tea.Cmd) {
	a.notice = "" // fleetActions checked that it is available
	a.mode = modeRuns
	var cmd tea.Cmd
	a.past, cmd = a.past.Open()
	return a, cmd
}

// runsUpdate hands the list its reads and shows the run it opened, in
// the run view; handled is false for other messages.
func (a App) runsUpdate(msg tea.Msg) (next App, cmd tea.Cmd, handled bool) {
	if next, cmd, ok := a.stagedUpdate(msg); ok {
		return next, cmd, true // a staged ad-hoc run's (exec_staged.go)
	}
	if next, cmd, ok := a.followUpdate(msg); ok {
		return next, cmd, true // a teammate's run followed (follow.go)
	}
	switch msg := msg.(type) {
	case runview.RunsReadMsg, runview.RunReadMsg:
		a.past, cmd = a.past.Update(msg)
		return a, cmd, true
	case runview.ReplayMsg:
		if a.mode != modeRuns {
			msg.Feed.StopFollow()
			return a, nil, true // the user left the list meanwhile
		}
		a.replay.Feed().StopFollow() // the run shown before, if followed
		a.replay = runview.New(a.ctx, a.keys.runKeys(), msg.Feed)
		a.replaying, a.mode = true, modeRun
		a.layout()
		return a, runview.FollowNext(msg.Feed), true
	}
	return a, nil, false
}

// runsKey handles a key while the list has the keyboard.
func (a App) runsKey(km tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch {
	case a.helpKey(km):
	case key.Matches(km, a.keys.Back):
		a.mode, a.past = modeFleet, a.past.Leave()
	default:
		var cmd tea.Cmd
		a.past, cmd = a.past.Update(km)
		return a, cmd
	}
	return a, nil
}
