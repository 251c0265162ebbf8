package ui

import (
	"context"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
)

// flow is a guided flow on screen: the deploy wizard, a rollback, a
// migrate, a flush or the releases view. Its update returns the flow that
// has the screen next: itself, another one (the summary's rollback), or
// nil when it is over.
type flow interface {
	update(msg tea.Msg) (flow, tea.Cmd)
	view(w, h int) string
	help() []key.Binding
}

// flowEnv is what every flow shares: the console's context and keys, the
// engine's entry points, the fleet and what the status panel knows.
type flowEnv struct {
	ctx    *Context
	keys   KeyMap
	fns    Flows
	fleet  *inventory.Fleet
	status *statusBoard
	// loadRun reads a recorded run (Options.LoadRun), nil when there is none.
	loadRun func(ctx context.Context, id int64) (RecordedRun, error)
	// life is the program's lifetime: the flows' works run under it, and
	// tracker counts them, so that the console never exits under one.
	life    context.Context
	tracker *flowTracker
}

// flowHost is the App's part of the flows: the flow shown, and the
// sequence number its messages carry, so a closed flow's late answers
// are dropped.
type flowHost struct {
	fns Flows
	cur flow
	seq int
}

// flowMsg is a message of flow seq.
type flowMsg struct {
	seq int
	msg tea.Msg
}

// wrapCmd tags what cmd returns with the flow's number; a batch is
// tagged command by command.
func wrapCmd(seq int, cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() tea.Msg {
		switch m := cmd().(type) {
		case nil:
			return nil
		case tea.BatchMsg:
			out := make(tea.BatchMsg, len(m))
			for i, c := range m {
				out[i] = wrapCmd(seq, c)
			}
			return out
		default:
			return flowMsg{seq: seq, msg: m}
		}
	}
}

func (a App) flowEnv() *flowEnv {
	return &flowEnv{ctx: a.ctx, keys: a.keys, fns: a.flows.fns, fleet: a.fleet.fleet, status: a.status, loadRun: a.loadRun,
		life: a.life, tracker: a.tracker}
}

// show puts next on screen (nil: back to the fleet) with its first cmd.
func (a App) show(next flow, cmd tea.Cmd) (App, tea.Cmd) {
	if next != a.flows.cur {
		a.flows.seq++
	}
	a.flows.cur = next
	if next == nil {
		a.mode = modeFleet
		clear(a.lastRuns) // a flow's run is in its hosts' history now
		// The fleet's releases changed: look again.
		return a, tea.Batch(cmd, a.status.startRound(a.probe, a.fleet.fleet))
	}
	a.mode = modeFlow
	return a, wrapCmd(a.flows.seq, cmd)
}

// flowsUpdate handles the flows' messages, the keys that open them from
// the fleet and every key while one is shown; handled is false for
// everything else.
func (a App) flowsUpdate(msg tea.Msg) (next App, cmd tea.Cmd, handled bool) {
	switch msg := msg.(type) {
	case flowMsg:
		if msg.seq != a.flows.seq || a.flows.cur == nil {
			return a, nil, true // a flow that is gone
		}
		n, c := a.flows.cur.update(msg.msg)
		next, cmd = a.show(n, c)
		next, cmd = next.afterFlowMsg(cmd)
		return next, cmd, true
	case tea.KeyPressMsg:
		switch {
		case a.mode == modeFlow && a.flows.cur != nil:
			if next, cmd, ok := a.quitKey(msg); ok {
				return next, cmd, true
			}
			if a.showHelp {
				if msg.String() == "esc" || key.Matches(msg, a.keys.Help) {
					a.showHelp = false
				}
				return a, nil, true
			}
			if key.Matches(msg, a.keys.Help) && !flowTyping(a.flows.cur) {
				a.showHelp = true
				return a, nil, true
			}
			n, c := a.flows.cur.update(msg)
			next, cmd = a.show(n, c)
			return next, cmd, true
		case a.mode == modeFleet && a.loaded && a.err == nil && !a.fleet.Filtering() && !a.showHelp:
			return a.openFlow(msg)
		}
	}
	return a, nil, false
}

// flowTyping reports whether the flow's focused field takes text, so
// that ? is a character and not the help.
func flowTyping(f flow) bool {
	t, ok := f.(interface{ typing() bool })
	return ok && t.typing()
}

// openFlow opens the flow of key km, if it is one.
func (a App) openFlow(km tea.KeyPressMsg) (App, tea.Cmd, bool) {
	env := a.flowEnv()
	fns := a.flows.fns
	var (
		f      flow
		cmd    tea.Cmd
		change = true // the flow changes hosts: not in read-only mode
		have   bool
	)
	switch {
	case key.Matches(km, a.keys.Deploy):
		have = fns.Refs != nil && fns.Preview != nil && fns.Deploy != nil
		f, cmd = newWizard(env, a.fleet.Focused().Env)
	case key.Matches(km, a.keys.Rollback):
		have = fns.RollbackPreview != nil && fns.Rollback != nil
		f, cmd = newRollbackFlow(env, a.fleet.Focused().Env, "", "")
	case key.Matches(km, a.keys.Migrate):
		have = fns.MigrationPlan != nil && fns.Migrate != nil
		f, cmd = newMigrateFlow(env, a.fleet.Focused().Env)
	case key.Matches(km, a.keys.Flush):
		have = fns.FlushPlan != nil && fns.Flush != nil
		f, cmd = newFlushFlow(env, a.fleet.Focused().Env)
	case key.Matches(km, a.keys.Releases):
		have, change = fns.Releases != nil, false
		f, cmd = newReleasesView(env, a.fleet.Focused().Env)
	default:
		return a, nil, false
	}
	switch {
	case !have:
		a.notice = "this flow is not available here"
		return a, nil, true
	case change && a.ctx.ReadOnly:
		a.notice = "read-only: deploys, rollbacks, migrations and flushes are disabled"
		return a, nil, true
	}
	a.notice = ""
	next, c := a.show(f, cmd)
	return next, c, true
}

// flowView draws the flow shown.
func (a App) flowView(w, h int) string {
	if l := a.quitLine(w); l != "" {
		return l + "\n" + a.flows.cur.view(w, max(1, h-1))
	}
	return a.flows.cur.view(w, h)
}

// flowFooter is the footer's keys while a flow is shown.
func (a App) flowFooter() string { return a.help.ShortHelpView(a.flows.cur.help()) }
