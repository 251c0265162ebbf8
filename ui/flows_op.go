package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
)

// opSpec is what makes a rollback, a migrate or a flush: each is the same
// walk (choose the app and environment, read and show the plan, confirm,
// run, show the result), with its own plan and work.
type opSpec interface {
	name() string  // "roll back", "migrate", "flush"
	envOnly() bool // the flow works on an environment, not an app in one
	loadPlan(ctx context.Context, t pickItem, arg string) (any, error)
	// rows is how many rows of the plan the cursor moves over; moved
	// says the plan must be read again for arg when the cursor moves.
	rows(plan any) int
	moved(plan any, cursor int) (arg string, reload bool)
	toggle(plan any, cursor int) // space on a row
	planLines(st Styles, plan any, cursor, w int) []string
	// ready says whether the plan can run, and why not.
	ready(plan any) (bool, string)
	question(t pickItem, plan any) string
	// start runs the plan confirmed: the one loaded, or for a strategist
	// the one batched in strategy, the strategy step's.
	start(env *flowEnv, t pickItem, plan any, strategy deploy.Strategy) (*flowRunner, tea.Cmd)
	resultLines(st Styles, r *flowRunner, w int) []string
}

// strategist is an opSpec with a strategy step between its plan and its
// confirmation: how the hosts are switched, in which batches.
type strategist interface {
	newStrategy(t pickItem) strategyForm
	// batched is plan with its hosts switched in strategy's batches,
	// without any I/O: what is confirmed and run, and the batches the
	// strategy step shows.
	batched(plan any, strategy deploy.Strategy) (any, *deploy.Plan, error)
}

// planEnver is an opSpec whose plan was made from an inventory read for
// it: the strategy's defaults and the confirmation's protection are those
// of the plan's environment, as the wizard's are (the console's fleet may
// be older).
type planEnver interface {
	planEnv(plan any) (inventory.Environment, bool)
}

// planTarget is the target with the environment the plan was made in.
func (f *opFlow) planTarget(plan any) pickItem {
	t := f.target
	if pe, ok := f.spec.(planEnver); ok && plan != nil {
		if env, ok := pe.planEnv(plan); ok {
			t.env = env
		}
	}
	return t
}

// The steps of an opFlow.
const (
	opPick = iota
	opPlan
	opStrategy // only for a strategist
	opConfirm
	opRun
	opDone
)

type opPlanMsg struct {
	key  string
	plan any
	err  error
}

// opFlow walks an opSpec.
type opFlow struct {
	env      *flowEnv
	spec     opSpec
	step     int
	pick     targetPicker
	target   pickItem
	arg      string
	planKey  string
	plan     any
	planErr  error
	planned  any // the plan confirmed: plan, batched by the strategy step's choice
	cursor   int
	strategy strategyForm
	confirm  confirmBox
	runner   *flowRunner
	note     string
	panes    bool // the result step shows the run's panes
}

// newOpFlow opens spec's flow; with app (or env for an env-only flow)
// given, it starts at the plan of that target.
func newOpFlow(env *flowEnv, spec opSpec, focusedEnv, app, arg string) (flow, tea.Cmd) {
	f := &opFlow{env: env, spec: spec, pick: newTargetPicker(env.fleet, spec.envOnly(), focusedEnv), arg: arg}
	if app == "" {
		return f, nil
	}
	for i, it := range f.pick.items {
		if it.app == app && it.env.Name == focusedEnv {
			f.pick.cursor = i
			f.target, f.step = it, opPlan
			return f, f.load()
		}
	}
	return f, nil
}

func (f *opFlow) typing() bool {
	return f.step == opConfirm && f.confirm.typing() || f.step == opStrategy && f.strategy.typing()
}

func (f *opFlow) load() tea.Cmd {
	k := f.target.app + "\x00" + f.target.env.Name + "\x00" + f.arg
	f.planKey, f.plan, f.planErr, f.planned = k, nil, nil, nil
	spec, t, arg := f.spec, f.target, f.arg
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		p, err := spec.loadPlan(ctx, t, arg)
		if err != nil {
			err = fmt.Errorf("%s %s: %w", spec.name(), t, err)
		}
		return opPlanMsg{key: k, plan: p, err: err}
	}
}

func (f *opFlow) update(msg tea.Msg) (flow, tea.Cmd) {
	switch msg := msg.(type) {
	case opPlanMsg:
		if msg.key == f.planKey {
			f.plan, f.planErr = msg.plan, msg.err
			if f.plan != nil {
				f.cursor = min(f.cursor, max(0, f.spec.rows(f.plan)-1))
			}
		}
		return f, nil
	case tea.KeyPressMsg:
		return f.key(msg)
	}
	if f.runner != nil {
		cmd := f.runner.update(msg)
		if f.runner.done && f.step == opRun {
			f.step = opDone
		}
		return f, cmd
	}
	if f.step == opConfirm && f.confirm.typing() {
		var cmd tea.Cmd
		f.confirm.input, cmd = f.confirm.input.Update(msg)
		return f, cmd
	}
	if f.step == opStrategy {
		return f, f.strategy.updateInput(msg)
	}
	return f, nil
}

func (f *opFlow) key(km tea.KeyPressMsg) (flow, tea.Cmd) {
	k := f.env.keys
	f.note = ""
	switch f.step {
	case opRun:
		if key.Matches(km, k.Back) && !f.runner.rv.confirmCancel {
			f.note = "it is running: " + keyName(k.CancelRun) + " aborts it (it asks first)"
			return f, nil
		}
		return f, f.runner.update(km)
	case opDone:
		switch {
		case key.Matches(km, k.Back):
			return nil, nil
		case key.Matches(km, k.NextStep):
			f.panes = !f.panes
			return f, nil
		}
		return f, f.runner.update(km)
	}
	switch {
	case key.Matches(km, k.Back):
		return nil, nil
	case key.Matches(km, k.PrevStep):
		if f.step > opPick {
			f.step--
		}
		if _, ok := f.spec.(strategist); f.step == opStrategy && !ok {
			f.step--
		}
		f.strategy.blur()
		if f.step == opStrategy {
			return f, f.strategy.focus()
		}
		return f, nil
	}
	switch f.step {
	case opPick:
		if key.Matches(km, k.NextStep) {
			if it, ok := f.pick.chosen(); ok {
				if it != f.target || f.planErr != nil {
					f.target, f.arg, f.cursor = it, "", 0
					f.step = opPlan
					return f, f.load()
				}
				f.step = opPlan
			}
			return f, nil
		}
		f.pick.key(km, k)
	case opPlan:
		return f, f.planStepKey(km)
	case opStrategy:
		if key.Matches(km, k.NextStep) {
			planned, _, err := f.strategyPlan()
			if err != nil {
				f.note = err.Error()
				return f, nil
			}
			return f, f.toConfirm(planned)
		}
		return f, f.strategy.key(km, k)
	case opConfirm:
		ok, cmd := f.confirm.key(km, k)
		if ok {
			// The strategy step let only a valid strategy through.
			strategy, err := f.strategy.value()
			if err != nil {
				f.note = err.Error()
				return f, cmd
			}
			f.runner, cmd = f.spec.start(f.env, f.target, f.planned, strategy)
			f.step = opRun
		}
		return f, cmd
	}
	return f, nil
}

// toStrategy enters the strategy step; it keeps what was chosen there
// for the same target.
func (f *opFlow) toStrategy(s strategist) tea.Cmd {
	if f.strategy.kinds == nil || f.strategy.app != f.target.app || f.strategy.envName != f.target.env.Name {
		f.strategy = s.newStrategy(f.planTarget(f.plan))
	}
	f.step = opStrategy
	return f.strategy.focus()
}

// toConfirm asks to run planned, the plan confirmed.
func (f *opFlow) toConfirm(planned any) tea.Cmd {
	f.strategy.blur()
	f.planned = planned
	var cmd tea.Cmd
	f.confirm, cmd = newConfirmBox(f.planTarget(planned).env) // protected as the plan's inventory says
	f.step = opConfirm
	return cmd
}

// strategyPlan is the plan loaded, batched in the strategy step's
// strategy (no I/O): what would be confirmed, and its batches.
func (f *opFlow) strategyPlan() (any, *deploy.Plan, error) {
	s, ok := f.spec.(strategist)
	if !ok || f.plan == nil {
		return nil, nil, fmt.Errorf("no plan")
	}
	strategy, err := f.strategy.value()
	if err != nil {
		return nil, nil, err
	}
	return s.batched(f.plan, strategy)
}

func (f *opFlow) planStepKey(km tea.KeyPressMsg) tea.Cmd {
	k := f.env.keys
	if f.plan == nil {
		if key.Matches(km, k.NextStep) {
			f.note = "the plan is still being read"
			if f.planErr != nil {
				f.note = "no plan: " + keyName(k.PrevStep) + " to choose again, " + keyName(k.Back) + " to leave"
			}
		}
		return nil
	}
	switch {
	case key.Matches(km, k.NextStep):
		if ok, why := f.spec.ready(f.plan); !ok {
			f.note = why
			return nil
		}
		if s, ok := f.spec.(strategist); ok {
			return f.toStrategy(s)
		}
		return f.toConfirm(f.plan)
	case key.Matches(km, k.Up), key.Matches(km, k.Down):
		d := 1
		if key.Matches(km, k.Up) {
			d = -1
		}
		f.cursor = max(0, min(f.spec.rows(f.plan)-1, f.cursor+d))
		if arg, reload := f.spec.moved(f.plan, f.cursor); reload && arg != f.arg {
			f.arg = arg
			return f.load()
		}
	case key.Matches(km, k.Toggle):
		f.spec.toggle(f.plan, f.cursor)
	}
	return nil
}

func (f *opFlow) view(w, h int) string {
	st := f.env.ctx.Styles
	var b strings.Builder
	title := f.spec.name()
	if f.step > opPick {
		title += " · " + f.target.String()
	}
	b.WriteString(st.Title.Render(clip(title, w)) + "\n")
	if f.note != "" {
		b.WriteString(st.Warn.Render(clip(f.note, w)) + "\n")
	}
	bodyH := max(3, h-strings.Count(b.String(), "\n"))
	switch f.step {
	case opPick:
		b.WriteString(st.Header.Render("where?") + "\n" + f.pick.view(st, w, "target"))
	case opPlan:
		b.WriteString(scrollLines(f.planView(st, w), max(0, f.cursor-bodyH/2), bodyH))
	case opStrategy:
		_, plan, err := f.strategyPlan()
		lines := strings.Split(strings.TrimRight(st.Header.Render("how are the hosts switched?")+"\n"+f.strategy.view(st, f.env.keys, w, plan, err), "\n"), "\n")
		b.WriteString(scrollLines(lines, 0, bodyH))
	case opConfirm:
		for _, l := range f.planView(st, w) {
			b.WriteString(l + "\n")
		}
		b.WriteString("\n" + f.confirm.view(st, w, f.spec.question(f.target, f.plan), f.env.keys))
	case opRun:
		b.WriteString(f.runner.view(w, bodyH))
	case opDone:
		if f.panes {
			b.WriteString(f.runner.view(w, bodyH))
			break
		}
		for _, l := range f.spec.resultLines(st, f.runner, w) {
			b.WriteString(clipStyled(l, w) + "\n")
		}
		b.WriteString("\n" + clipStyled(st.Key.Render(keyName(f.env.keys.NextStep))+st.Muted.Render(" the hosts' output · ")+
			st.Key.Render(keyName(f.env.keys.Back))+st.Muted.Render(" back to the fleet"), w))
	}
	return b.String()
}

func (f *opFlow) planView(st Styles, w int) []string {
	switch {
	case f.planErr != nil:
		return []string{st.Error.Render(clip(f.planErr.Error(), w))}
	case f.plan == nil:
		return []string{st.Muted.Render("reading the plan…")}
	}
	return f.spec.planLines(st, f.plan, f.cursor, w)
}

func (f *opFlow) help() []key.Binding {
	k := f.env.keys
	switch f.step {
	case opRun:
		return f.runner.help()
	case opDone:
		return []key.Binding{withDesc(k.NextStep, "result/panes"), withDesc(k.Back, "back to the fleet")}
	case opConfirm:
		return []key.Binding{k.Confirm, k.PrevStep, withDesc(k.Back, "leave")}
	}
	return []key.Binding{k.Up, k.Down, k.NextStep, k.PrevStep, withDesc(k.Back, "leave")}
}
