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
// walk (choose the app and environment, read and show the plan P, confirm,
// run, show the result R), with its own plan and work. The machine
// (opFlow) holds P and R as they are: no spec sees another's plan.
type opSpec[P, R any] interface {
	name() string  // "roll back", "migrate", "flush"
	envOnly() bool // the flow works on an environment, not an app in one
	loadPlan(ctx context.Context, t pickItem, arg string) (P, error)
	// rows is how many rows of the plan the cursor moves over; moved
	// says the plan must be read again for arg when the cursor moves.
	rows(plan P) int
	moved(plan P, cursor int) (arg string, reload bool)
	toggle(plan P, cursor int) // space on a row
	planLines(st Styles, plan P, cursor, w int) []string
	// ready says whether the plan can run, and why not.
	ready(plan P) (bool, string)
	question(t pickItem, plan P) string
	// planEnv is the environment the plan was made in, when it says: the
	// strategy's defaults and the confirmation's protection are those of
	// the inventory read for the plan, as the wizard's are (the console's
	// fleet may be older).
	planEnv(plan P) (inventory.Environment, bool)
	// newStrategy is the strategy step between the plan and the
	// confirmation (how the hosts are switched, in which batches); ok is
	// false for a flow without one.
	newStrategy(t pickItem) (form strategyForm, ok bool)
	// batched is plan with its hosts switched in strategy's batches,
	// without any I/O: what is confirmed and run, and the batches the
	// strategy step shows. Only called when newStrategy is ok.
	batched(plan P, strategy deploy.Strategy) (P, *deploy.Plan, error)
	// work is the run of the plan confirmed: what the run is called and
	// on which hosts, and the work itself.
	work(t pickItem, plan P, strategy deploy.Strategy) opWork[R]
	resultLines(st Styles, res R, err error, w int) []string
}

// opWork is a confirmed plan's run: its name, hosts and work.
type opWork[R any] struct {
	kind, what string
	hosts      []string
	run        runnerFunc[R]
}

// The steps of an opFlow.
const (
	opPick = iota
	opPlan
	opStrategy // only for a spec with a strategy step
	opConfirm
	opRun
	opDone
)

// opPlanMsg carries the plan read for key.
type opPlanMsg[P any] struct {
	key  string
	plan P
	err  error
}

// opSteps is the part of an op flow that does not depend on its plan's
// type: where the walk is and what was chosen.
type opSteps struct {
	env      *flowEnv
	step     int
	pick     targetPicker
	target   pickItem
	arg      string
	planKey  string
	loaded   bool // plan holds the plan read for planKey
	planErr  error
	cursor   int
	strategy strategyForm
	confirm  confirmBox
	runner   *flowRunner
	note     string
	panes    bool // the result step shows the run's panes
}

// opFlow walks an opSpec.
type opFlow[P, R any] struct {
	opSteps
	spec    opSpec[P, R]
	plan    P
	planned P // the plan confirmed: plan, batched by the strategy step's choice
	result  *R
}

// running is the flow's work, nil before the run.
func (f *opFlow[P, R]) running() *flowRunner { return f.runner }

// hasStrategy reports whether the spec has a strategy step.
func (f *opFlow[P, R]) hasStrategy() bool {
	_, ok := f.spec.newStrategy(f.target)
	return ok
}

// planTarget is the target with the environment plan was made in.
func (f *opFlow[P, R]) planTarget(plan P) pickItem {
	t := f.target
	if env, ok := f.spec.planEnv(plan); ok {
		t.env = env
	}
	return t
}

// newOpFlow opens spec's flow; with app (or env for an env-only flow)
// given, it starts at the plan of that target.
func newOpFlow[P, R any](env *flowEnv, spec opSpec[P, R], focusedEnv, app, arg string) (flow, tea.Cmd) {
	f := &opFlow[P, R]{spec: spec, opSteps: opSteps{env: env, pick: newTargetPicker(env.fleet, spec.envOnly(), focusedEnv), arg: arg}}
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

func (f *opFlow[P, R]) typing() bool {
	return f.step == opConfirm && f.confirm.typing() || f.step == opStrategy && f.strategy.typing()
}

func (f *opFlow[P, R]) load() tea.Cmd {
	k := f.target.app + "\x00" + f.target.env.Name + "\x00" + f.arg
	var none P
	f.planKey, f.plan, f.loaded, f.planErr, f.planned = k, none, false, nil, none
	spec, t, arg := f.spec, f.target, f.arg
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		p, err := spec.loadPlan(ctx, t, arg)
		if err != nil {
			err = fmt.Errorf("%s %s: %w", spec.name(), t, err)
		}
		return opPlanMsg[P]{key: k, plan: p, err: err}
	}
}

// Init: the flow's first command is newOpFlow's.
func (f *opFlow[P, R]) Init() tea.Cmd { return nil }

// SetSize sets the flow area's size.
func (f *opFlow[P, R]) SetSize(w, h int) { f.env.setSize(w, h) }

// Update handles the flow's messages and keys; it returns the flow that
// has the screen next (nil: back to the fleet).
func (f *opFlow[P, R]) Update(msg tea.Msg) (flow, tea.Cmd) {
	switch msg := msg.(type) {
	case opPlanMsg[P]:
		if msg.key == f.planKey {
			f.plan, f.planErr, f.loaded = msg.plan, msg.err, msg.err == nil
			if f.loaded {
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

func (f *opFlow[P, R]) key(km tea.KeyPressMsg) (flow, tea.Cmd) {
	k := f.env.keys
	f.note = ""
	switch f.step {
	case opRun:
		if key.Matches(km, k.Back) && !f.runner.asking() {
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
		if f.step == opStrategy && !f.hasStrategy() {
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
			f.runner, f.result, cmd = startWork(f.env, f.spec.work(f.target, f.planned, strategy))
			f.step = opRun
		}
		return f, cmd
	}
	return f, nil
}

// toStrategy enters the strategy step; it keeps what was chosen there
// for the same target.
func (f *opFlow[P, R]) toStrategy() tea.Cmd {
	if f.strategy.kinds == nil || f.strategy.app != f.target.app || f.strategy.envName != f.target.env.Name {
		f.strategy, _ = f.spec.newStrategy(f.planTarget(f.plan))
	}
	f.step = opStrategy
	return f.strategy.focus()
}

// toConfirm asks to run planned, the plan confirmed.
func (f *opFlow[P, R]) toConfirm(planned P) tea.Cmd {
	f.strategy.blur()
	f.planned = planned
	var cmd tea.Cmd
	f.confirm, cmd = newConfirmBox(f.planTarget(planned).env) // protected as the plan's inventory says
	f.step = opConfirm
	return cmd
}

// strategyPlan is the plan loaded, batched in the strategy step's
// strategy (no I/O): what would be confirmed, and its batches.
func (f *opFlow[P, R]) strategyPlan() (P, *deploy.Plan, error) {
	var none P
	if !f.hasStrategy() || !f.loaded {
		return none, nil, fmt.Errorf("no plan")
	}
	strategy, err := f.strategy.value()
	if err != nil {
		return none, nil, err
	}
	return f.spec.batched(f.plan, strategy)
}

func (f *opFlow[P, R]) planStepKey(km tea.KeyPressMsg) tea.Cmd {
	k := f.env.keys
	if !f.loaded {
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
		if f.hasStrategy() {
			return f.toStrategy()
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

// View draws the step the flow is at.
func (f *opFlow[P, R]) View() string {
	w, h := f.env.size()
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
		var res R
		if f.result != nil {
			res = *f.result
		}
		for _, l := range f.spec.resultLines(st, res, f.runner.err, w) {
			b.WriteString(clipStyled(l, w) + "\n")
		}
		b.WriteString("\n" + clipStyled(st.Key.Render(keyName(f.env.keys.NextStep))+st.Muted.Render(" the hosts' output · ")+
			st.Key.Render(keyName(f.env.keys.Back))+st.Muted.Render(" back to the fleet"), w))
	}
	return b.String()
}

func (f *opFlow[P, R]) planView(st Styles, w int) []string {
	switch {
	case f.planErr != nil:
		return []string{st.Error.Render(clip(f.planErr.Error(), w))}
	case !f.loaded:
		return []string{st.Muted.Render("reading the plan…")}
	}
	return f.spec.planLines(st, f.plan, f.cursor, w)
}

// KeyMap is the step's keys.
func (f *opFlow[P, R]) KeyMap() []key.Binding {
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
