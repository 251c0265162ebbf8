package ui

import (
	"context"
	"fmt"
	"time"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	runview "github.com/opsui/opsui/ui/run"
)

// A staged ad-hoc command (the command line's tab): it runs on the first
// selected host alone; once that host ends well the run view asks to
// continue on the other N or abort, and a failure there ends the run with
// the others never run. Each part is an Exec of its own, so the past runs
// hold the first host's run and the others' run apart.

// stagedExec is the command line's choice and the staged run waiting on
// its question.
type stagedExec struct {
	on  bool // the command typed runs on one host first
	run *stagedRun
}

// stagedRun is a staged run whose first host has been started.
type stagedRun struct {
	id      int
	feed    *runview.Feed
	ctx     context.Context
	command string
	first   remote.Result
	rest    []inventory.Host
	started time.Time
	// exec runs it: the command line's, as it was when the run began.
	exec func(ctx context.Context, hosts []inventory.Host, command string, emit func(remote.Event)) (remote.Result, error)
}

// stagedFirstMsg is the first host's result; stagedRestMsg ends the run
// once the held hosts ran.
type stagedFirstMsg struct {
	id  int
	res remote.Result
	err error
}

// setStagedPrompt shows the command line's choice in its prompt, first
// naming the host that goes first, with its key as the placeholder.
func setStagedPrompt(in *textinput.Model, first, keyName string) {
	in.Prompt = "command> "
	in.Placeholder = keyName + ": one host first, then ask"
	if first != "" {
		in.Prompt = "command (" + first + " first)> "
		in.Placeholder = keyName + ": all hosts at once"
	}
}

// toggleStaged flips the command line between all at once and one host first.
func (a App) toggleStaged() App {
	a.cmdline.staged.on = !a.cmdline.staged.on
	first := ""
	if a.cmdline.staged.on {
		if hosts := stagedOrder(a.fleet.Selected(), a.fleet.Focused().Name); len(hosts) > 0 {
			first = hosts[0].Name
		}
	}
	setStagedPrompt(&a.cmdline.input, first, a.keys.ExecStaged.Help().Key)
	a.cmdline.inApp.prompt(&a.cmdline.input)
	return a
}

// stagedOrder puts the host under the cursor first when it is one of
// hosts (the operator looks at it), else keeps the list's order.
func stagedOrder(hosts []inventory.Host, focused string) []inventory.Host {
	for i, h := range hosts {
		if h.Name == focused && i > 0 {
			out := append([]inventory.Host{h}, hosts[:i]...)
			return append(out, hosts[i+1:]...)
		}
	}
	return hosts
}

// startStaged runs command on hosts[0] alone, the others held.
func (a App) startStaged(command string, hosts []inventory.Host) (App, tea.Cmd) {
	a, ctx := a.newRun(command, hosts)
	feed := a.run.Feed()
	names := feed.Hosts()
	feed.Hold(names[1:])
	first := hosts[:1]
	exec, id := a.execNow(feed), feed.ID()
	a.cmdline.staged.run = &stagedRun{id: feed.ID(), feed: feed, ctx: ctx, command: command, rest: hosts[1:], started: time.Now(), exec: exec}
	return a, tea.Batch(runTick(id), func() tea.Msg {
		res, err := exec(ctx, first, command, feed.Event)
		return stagedFirstMsg{id: id, res: res, err: err}
	})
}

// stagedUpdate handles a staged run's messages; handled is false for
// others. A message of a run no longer shown is dropped.
func (a App) stagedUpdate(msg tea.Msg) (next App, cmd tea.Cmd, handled bool) {
	sr := a.cmdline.staged.run
	switch msg := msg.(type) {
	case stagedFirstMsg:
		if sr == nil || msg.id != sr.id {
			return a, nil, true
		}
		sr.first = msg.res
		first := sr.feed.Hosts()[0]
		if msg.err != nil || len(msg.res.Hosts) != 1 || msg.res.OK != 1 {
			a.cmdline.staged.run = nil
			sr.feed.SetTitle(fmt.Sprintf("run %d (stopped after %s)", sr.id, first))
			sr.feed.Finish(msg.res, msg.err) // the held hosts end "not reached"
			a.detail.ForgetRuns()
			others := fmt.Sprintf("the other %d %s did not run", len(sr.rest), plural(len(sr.rest), "host", "hosts"))
			why := fmt.Sprintf("run %d: %s failed, so %s", sr.id, first, others)
			switch {
			case msg.err != nil && len(msg.res.Hosts) == 0:
				why = fmt.Sprintf("run %d: could not start on %s (%v), so %s", sr.id, first, msg.err, others)
			case msg.err != nil && msg.res.OK == 1:
				// It ran, but its record could not be written: stop too.
				why = fmt.Sprintf("run %d: %s ran, but %v; %s", sr.id, first, msg.err, others)
			}
			return a, a.addToast(why), true
		}
		a.run.AskContinue(first, len(sr.rest))
		if a.mode != modeRun || a.replaying {
			return a, a.addToast(fmt.Sprintf("run %d: %s ended well; %s returns to continue or abort", sr.id, first, a.keys.LastRun.Help().Key)), true
		}
		return a, nil, true
	case runview.CancelMsg:
		// Asked to cancel while the first host ran, answered once it had
		// ended well: nothing runs, so cancelling aborts.
		if sr == nil || msg.ID != sr.id || !a.run.AskingContinue() {
			return a, nil, false
		}
		a.run, _ = a.run.Update(msg)
		return a.stagedUpdate(runview.ContinueMsg{ID: msg.ID})
	case runview.ContinueMsg:
		if sr == nil || msg.ID != sr.id {
			return a, nil, true
		}
		a.cmdline.staged.run = nil
		a.run.EndQuestion() // answered, whichever way it came
		if !msg.Go {
			sr.feed.SetTitle(fmt.Sprintf("run %d (aborted after %s)", sr.id, sr.feed.Hosts()[0]))
			sr.feed.Finish(sr.first, nil) // the held hosts end "not reached"
			a.detail.ForgetRuns()
			return a, a.addToast(fmt.Sprintf("run %d: aborted after %s; the other %d %s did not run",
				sr.id, sr.feed.Hosts()[0], len(sr.rest), plural(len(sr.rest), "host", "hosts"))), true
		}
		sr.feed.Release()
		exec, id := sr.exec, sr.id
		return a, func() tea.Msg {
			res, err := exec(sr.ctx, sr.rest, sr.command, sr.feed.Event)
			all := remote.NewResult(append(append([]remote.HostResult(nil), sr.first.Hosts...), res.Hosts...), time.Since(sr.started))
			sr.feed.Finish(all, err)
			if err != nil && len(res.Hosts) > 0 {
				return runDoneMsg{id: id, err: fmt.Errorf("run %d: %w", id, err)}
			}
			return runDoneMsg{id: id}
		}, true
	}
	return a, nil, false
}

// abandonStaged ends a staged run left waiting when another run replaces it.
func (a *App) abandonStaged() {
	if sr := a.cmdline.staged.run; sr != nil {
		sr.feed.Finish(sr.first, nil)
		a.cmdline.staged.run = nil
	}
}
