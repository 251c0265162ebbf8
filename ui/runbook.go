package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/ui/common"
)

// Runbooks: the fleet file's named commands (issue 18, item 20), each in
// the palette (":runbook NAME [environment]", or its own name) and on its
// key:, asking first as x does on a protected environment (the name
// typed) and yes/no for confirm: true, then opening in the run view like
// an exec, recorded as "runbook NAME".

// RunbookFunc runs a confirmed runbook plan, sending every event to emit
// (ops.Service.Runbook); it runs inside a tea.Cmd.
type RunbookFunc func(ctx context.Context, plan ops.RunbookPlan, emit func(remote.Event)) (remote.Result, error)

// runbookAsk is the runbooks' state: how to run one, and the question
// put before one runs.
type runbookAsk struct {
	fn   RunbookFunc
	plan ops.RunbookPlan
	// typed asks for the protected environment's name; yesNo asks
	// confirm: true's question. At most one is active.
	typed execConfirm
	yesNo bool
}

// asking reports whether a runbook's question is on screen.
func (r runbookAsk) asking() bool { return r.typed.active || r.yesNo }

// runbooks are the fleet's runbooks, none before the inventory is read.
func (a App) runbooks() []inventory.Runbook {
	if f := a.fleet.Fleet(); f != nil {
		return f.Runbooks
	}
	return nil
}

// runbookActions are the fleet's keys the runbooks bind: each runbook's
// key: that the key table does not use.
func (a App) runbookActions() []rootAction {
	var acts []rootAction
	for _, rb := range a.runbooks() {
		if rb.Key == "" || a.keys.fleetKeyAction(rb.Key) != "" {
			continue
		}
		name := rb.Name
		acts = append(acts, rootAction{b: runbookBinding(rb), changes: true, off: App.runbookOff,
			run: func(a App) (tea.Model, tea.Cmd) { return a.openRunbook(name, "") }})
	}
	return acts
}

// runbookOff is why runbooks do nothing now, "" when they run.
func (a App) runbookOff() string {
	return when(a.runbook.fn == nil, "runbooks are not available here")
}

// runbookEntries are the palette's runbook entries: ":runbook NAME
// [environment]", and each runbook by its own name unless an action has
// that name.
func (a App) runbookEntries(builtin []paletteEntry) []paletteEntry {
	rbs := a.runbooks()
	if len(rbs) == 0 {
		return nil
	}
	names := make([]string, len(rbs))
	for i, rb := range rbs {
		names[i] = rb.Name
	}
	out := []paletteEntry{{"runbook", "NAME [environment]", "a runbook: " + strings.Join(names, ", "), key.Binding{}, App.paletteRunbook}}
	conflicts := RunbookKeyConflicts(*a.keys, rbs)
	for _, rb := range rbs {
		if slices.ContainsFunc(builtin, func(e paletteEntry) bool { return e.name == rb.Name }) {
			continue
		}
		desc := rb.Description
		if desc == "" {
			desc = rb.Run
		}
		desc = "runbook: " + strings.ReplaceAll(desc, "\n", " ")
		var b key.Binding
		switch act, taken := conflicts[rb.Name]; {
		case rb.Key != "" && taken:
			desc += fmt.Sprintf(" (key %s not bound: it is %s's)", rb.Key, act)
		case rb.Key != "":
			b = runbookBinding(rb)
			desc += " (" + rb.Key + ")"
		}
		name := rb.Name
		out = append(out, paletteEntry{name, "[environment]", desc, b, func(a App, args []string) (tea.Model, tea.Cmd) {
			return a.runbookArgs(name, args)
		}})
	}
	return out
}

// paletteRunbook is ":runbook NAME [environment]".
func (a App) paletteRunbook(args []string) (tea.Model, tea.Cmd) {
	if len(args) == 0 {
		a.notice = "runbook: say which (:runbook NAME [environment])"
		return a, nil
	}
	return a.runbookArgs(args[0], args[1:])
}

// runbookArgs opens runbook name in the environment args name, if any.
func (a App) runbookArgs(name string, args []string) (tea.Model, tea.Cmd) {
	env := ""
	if e, ok := a.envArg(args); ok {
		env = e
	} else if len(args) > 0 {
		a.notice = "no environment " + strings.Join(args, " ")
		return a, nil
	}
	return a.openRunbook(name, env)
}

// runbookEnv is where rb runs when no environment is named: its only
// environment, else the environment of the host under the cursor.
func (a App) runbookEnv(rb inventory.Runbook) string {
	if len(rb.Envs) == 1 {
		return rb.Envs[0]
	}
	return a.fleet.Focused().Env
}

// openRunbook plans runbook name in env ("" for runbookEnv) and asks
// before it runs: the environment's name when it is protected, yes/no
// for confirm: true; else it runs at once.
func (a App) openRunbook(name, env string) (tea.Model, tea.Cmd) {
	switch {
	case a.ctx.ReadOnly:
		a.notice = readOnlyNotice
		return a, nil
	case a.runbookOff() != "":
		a.notice = a.runbookOff()
		return a, nil
	}
	f := a.fleet.Fleet()
	if rb, ok := f.Runbook(name); ok && env == "" {
		env = a.runbookEnv(rb)
	}
	plan, err := ops.PlanRunbook(f, ops.RunbookRequest{Name: name, Env: env})
	if err != nil {
		a.notice = strings.Replace(err.Error(), "(--env ", "(:runbook "+name+" ", 1)
		return a, nil
	}
	a.notice = ""
	a.runbook.plan = plan
	rb := plan.Runbook
	switch {
	case plan.Protected != "":
		a.mode = modeCommand
		var cmd tea.Cmd
		a.runbook.typed, cmd = newExecConfirm(rb.Label()+": "+rb.Run, plan.Hosts, []string{plan.Protected})
		return a, cmd
	case rb.Confirm:
		a.mode, a.runbook.yesNo = modeCommand, true
		return a, nil
	}
	return a.startRunbook()
}

// startRunbook runs the planned runbook in the run view, as x runs a
// command (startRun), through the runbook's own operation.
func (a App) startRunbook() (App, tea.Cmd) {
	fn, plan := a.runbook.fn, a.runbook.plan
	a.runbook = runbookAsk{fn: fn}
	exec := a.cmdline.exec
	a.cmdline.exec = func(ctx context.Context, _ []inventory.Host, _ string, emit func(remote.Event)) (remote.Result, error) {
		return fn(ctx, plan, emit)
	}
	a, cmd := a.startRun(plan.Runbook.Label(), plan.Hosts)
	a.cmdline.exec = exec
	return a, cmd
}

// runbookKey handles a key while a runbook's question is asked: the
// typed name (enter runs once it matches, esc leaves), or yes/no (only y
// runs; any other key, enter too, leaves).
func (a App) runbookKey(msg tea.KeyPressMsg) (App, tea.Cmd) {
	r := &a.runbook
	leave := func() (App, tea.Cmd) {
		*r = runbookAsk{fn: r.fn}
		a.mode = modeFleet
		return a, nil
	}
	if r.yesNo {
		if key.Matches(msg, a.keys.Confirm) {
			return a.startRunbook()
		}
		return leave()
	}
	switch {
	case key.Matches(msg, a.keys.Apply):
		if !r.typed.typed(common.KeyName(a.keys.Cancel)) {
			return a, nil
		}
		return a.startRunbook()
	case key.Matches(msg, a.keys.Cancel):
		return leave()
	}
	r.typed.note = ""
	var cmd tea.Cmd
	r.typed.input, cmd = r.typed.input.Update(msg)
	return a, cmd
}

// runbookFooter is the footer while a runbook's question is asked.
func (a App) runbookFooter() string {
	if a.runbook.yesNo {
		yes := a.keys.Confirm
		yes.SetHelp(yes.Help().Key, "run it")
		return a.help.ShortHelpView([]key.Binding{yes, key.NewBinding(key.WithHelp("any other key", "leave without running"))})
	}
	run, leave := a.keys.Apply, a.keys.Cancel
	run.SetHelp(run.Help().Key, "run once the name is typed")
	leave.SetHelp(leave.Help().Key, "leave without running")
	return a.help.ShortHelpView([]key.Binding{run, leave})
}

// runbookView is the question's body: the runbook, its command and its
// hosts, then what is asked.
func (a App) runbookView(w, h int) string {
	st := a.ctx.Styles
	if a.runbook.typed.active {
		return a.runbook.typed.view(st, w, h)
	}
	p := a.runbook.plan
	var b strings.Builder
	line := func(s string) { b.WriteString(common.ClipStyled(s, w) + "\n") }
	line(st.Warn.Render(fmt.Sprintf("Run %s on %d %s in %s?", p.Runbook.Label(), len(p.Hosts), plural(len(p.Hosts), "host", "hosts"), p.Env)))
	line("")
	if p.Runbook.Description != "" {
		line(p.Runbook.Description)
	}
	line(st.Muted.Render("command: ") + strings.ReplaceAll(p.Runbook.Run, "\n", "; "))
	line(st.Muted.Render("hosts:   ") + strings.Join(ops.HostNames(&inventory.Fleet{Hosts: p.Hosts}), ", "))
	line("")
	line(fmt.Sprintf("%s runs it; any other key leaves without running.", common.KeyName(a.keys.Confirm)))
	return b.String()
}

// runbookHelp is the runbooks' keys for the ? help of the fleet.
func (a App) runbookHelp() []key.Binding {
	var out []key.Binding
	for _, act := range a.runbookActions() {
		out = append(out, act.b)
	}
	return out
}

// runbookKeyToasts say, once the fleet is read, which runbook keys the
// key table has taken: pressing one does the table's action, not the
// runbook, and the operator should know before pressing it.
func (a *App) runbookKeyToasts() []tea.Cmd {
	conflicts := RunbookKeyConflicts(*a.keys, a.runbooks())
	var cmds []tea.Cmd
	for _, rb := range a.runbooks() {
		if act, ok := conflicts[rb.Name]; ok {
			cmds = append(cmds, a.addToast(fmt.Sprintf("runbook %s: key %s is %s's, so it is not bound (:%s runs it)", rb.Name, rb.Key, act, rb.Name)))
		}
	}
	return cmds
}
