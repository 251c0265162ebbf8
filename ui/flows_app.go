package ui

import (
	"context"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	flowsview "github.com/opsui/opsui/ui/flows"
)

// flowHost is the App's part of the flows: the flow shown, the sequence
// number its messages carry (so a closed flow's late answers are
// dropped), and the lifetime its works run under.
type flowHost struct {
	fns flowsview.Flows
	cur flowsview.Flow
	seq int
	// quit is quitting while a flow runs (ui/flows_quit.go).
	quit quitState
	// life is the program's lifetime: the flows' works run under it, and
	// tracker counts them, so that the console never exits under one.
	life    context.Context
	tracker *flowsview.Tracker
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

func (a App) flowEnv() *flowsview.Env {
	return flowsview.NewEnv(flowsview.Deps{Ctx: a.ctx, Keys: a.keys.flowKeys(), Fns: a.flows.fns, Fleet: a.fleet.Fleet(), Status: a.status,
		LoadRun: a.past.Load(), Life: a.flows.life, Tracker: a.flows.tracker})
}

// show puts next on screen (nil: back to the fleet) with its first cmd.
func (a App) show(next flowsview.Flow, cmd tea.Cmd) (App, tea.Cmd) {
	if next != a.flows.cur {
		a.flows.seq++
	}
	a.flows.cur = next
	if next == nil {
		a.mode = modeFleet
		a.detail.ForgetRuns() // a flow's run is in its hosts' history now
		// The fleet's releases changed: look again.
		return a, tea.Batch(cmd, a.status.StartRound(a.fleet.Fleet()))
	}
	a.mode = modeFlow
	a.sizeFlow()
	return a, wrapCmd(a.flows.seq, cmd)
}

// sizeFlow hands the flow shown its area: the body, less the quit line
// while quitting is asked or under way.
func (a App) sizeFlow() {
	if a.flows.cur == nil {
		return
	}
	h := a.bodyHeight()
	if a.quitLine(a.ctx.Width) != "" {
		h = max(1, h-1)
	}
	a.flows.cur.SetSize(a.ctx.Width, h)
}

// flowsUpdate handles the flows' messages and every key while one is
// shown; handled is false for everything else. The keys that open them
// are the fleet's (flowActions).
func (a App) flowsUpdate(msg tea.Msg) (next App, cmd tea.Cmd, handled bool) {
	switch msg := msg.(type) {
	case flowMsg:
		if msg.seq != a.flows.seq || a.flows.cur == nil {
			return a, nil, true // a flow that is gone
		}
		n, c := a.flows.cur.Update(msg.msg)
		next, cmd = a.show(n, c)
		next, cmd = next.afterFlowMsg(cmd)
		next.sizeFlow()
		return next, cmd, true
	case tea.KeyPressMsg:
		switch {
		case a.mode == modeFlow && a.flows.cur != nil:
			if next, cmd, ok := a.quitKey(msg); ok {
				next.sizeFlow()
				return next, cmd, true
			}
			// ? is text while the flow's field takes it; the help over a
			// flow takes every key.
			if a.showHelp || !flowsview.Typing(a.flows.cur) {
				if a.helpKey(msg) || a.showHelp {
					return a, nil, true
				}
			}
			n, c := a.flows.cur.Update(msg)
			next, cmd = a.show(n, c)
			return next, cmd, true
		}
	}
	return a, nil, false
}

// flowOpener is a fleet key that opens a flow: whether the engine has the
// flow's entry points, whether it changes hosts, and the flow it opens on
// the focused host's environment.
type flowOpener struct {
	b       key.Binding
	have    bool
	changes bool
	open    func(env *flowsview.Env, envName string) (flowsview.Flow, tea.Cmd)
}

// The notices of a flow key that does nothing now.
const (
	flowMissingNotice  = "this flow is not available here"
	flowReadOnlyNotice = "read-only: deploys, rollbacks, migrations and flushes are disabled"
)

// flowActions are the fleet's keys that open a flow, as keys of the root:
// pressed while off, or in the ? help, they say why.
func (a App) flowActions() []rootAction {
	k, fns := a.keys, a.flows.fns
	openers := []flowOpener{
		{b: k.Deploy, have: fns.Refs != nil && fns.Preview != nil && fns.Deploy != nil, changes: true, open: flowsview.OpenDeploy},
		{b: k.Rollback, have: fns.RollbackPreview != nil && fns.Rollback != nil, changes: true, open: flowsview.OpenRollback},
		{b: k.Migrate, have: fns.MigrationPlan != nil && fns.Migrate != nil, changes: true, open: flowsview.OpenMigrate},
		{b: k.Flush, have: fns.FlushPlan != nil && fns.Flush != nil, changes: true, open: flowsview.OpenFlush},
		{b: k.Releases, have: fns.Releases != nil, open: flowsview.OpenReleases},
	}
	out := make([]rootAction, len(openers))
	for i, o := range openers {
		out[i] = rootAction{b: o.b,
			// Not the fleet's keys until it is there, nor under the help.
			skip: func(a App) bool { return a.mode != modeFleet || !a.inv.loaded || a.inv.err != nil || a.showHelp },
			// Its own read-only notice, after the missing flow's: off
			// holds both rather than changes.
			off: func(a App) string {
				switch {
				case !o.have:
					return flowMissingNotice
				case o.changes && a.ctx.ReadOnly:
					return flowReadOnlyNotice
				}
				return ""
			},
			run: func(a App) (tea.Model, tea.Cmd) {
				a.notice = ""
				return a.show(o.open(a.flowEnv(), a.fleet.Focused().Env))
			}}
	}
	return out
}

// flowView draws the flow shown, in the area sizeFlow gave it.
func (a App) flowView(w int) string {
	if l := a.quitLine(w); l != "" {
		return l + "\n" + a.flows.cur.View()
	}
	return a.flows.cur.View()
}
