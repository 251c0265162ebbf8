package flows

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ui/common"
)

// opSpec is what makes a guided flow: the deploy wizard, a rollback, a
// migrate or a flush. Each is the same walk (choose the app and
// environment, maybe an argument such as the deploy's ref, read and show
// the plan P, maybe choose a strategy, confirm, run, show the result R),
// with its own plan, work and look. The machine (opFlow) holds P and R as
// they are: no spec sees another's plan.
type opSpec[P, R any] interface {
	opLook[P, R]
	envOnly() bool // the flow works on an environment, not an app in one
	// argStep is the step between the target and the plan that chooses
	// the plan's argument (the deploy's ref); nil when there is none.
	argStep() argStep
	// loadPlan reads the plan; its error says what it was reading.
	loadPlan(ctx context.Context, t pickItem, arg string) (P, error)
	// rows is how many rows of the plan the cursor moves over.
	rows(plan P) int
	// ready says whether the plan can run, and why not.
	ready(plan P) (bool, string)
	// planEnv is the environment the plan was made in, when it says: the
	// strategy's defaults and the confirmation's protection are those of
	// the inventory read for the plan (the console's fleet may be older).
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
}

// opLook is how a flow's steps read: every op spec embeds plainLook (a
// title, the plan's lines, the result's); the deploy wizard has its own
// (the steps named, a scrolled preview with warnings, a summary that
// offers the rollback).
type opLook[P, R any] interface {
	header(f *opFlow[P, R], w int) []string // the lines above the note
	pickHeading() (heading, what string)
	planBody(f *opFlow[P, R], w, h int) string
	planKey(f *opFlow[P, R], km tea.KeyPressMsg) tea.Cmd // the plan step's keys but NextStep
	planNotes(k KeyMap) (reading, failed string)
	strategyBody(f *opFlow[P, R], w, h int) string
	confirmBody(f *opFlow[P, R], w int) string
	runNote(k KeyMap) string
	doneBody(f *opFlow[P, R], w int) string
	doneKey(f *opFlow[P, R], km tea.KeyPressMsg) (Flow, tea.Cmd)
	keyMap(f *opFlow[P, R]) []key.Binding
}

// argStep chooses a plan's argument: the deploy wizard's ref.
type argStep interface {
	// enter focuses the step for target t, reading what it lists.
	enter(t pickItem) tea.Cmd
	leave()
	// update takes the step's own messages at any step (handled), and
	// the others while it is shown (active).
	update(msg tea.Msg, active bool) (cmd tea.Cmd, handled bool)
	// key handles a key; done with the argument chosen, or a note.
	key(km tea.KeyPressMsg) (arg string, done bool, note string, cmd tea.Cmd)
	typing() bool
	view(w, h int) string
}

// opWork is a confirmed plan's run: its name, hosts and work.
type opWork[R any] struct {
	kind, what string
	hosts      []string
	run        runnerFunc[R]
}

// The steps of an opFlow, in order; a flow without an argument or a
// strategy step skips it.
const (
	opPick = iota
	opArg  // only for a spec with an argStep
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
	env      *Env
	step     int
	pick     targetPicker
	target   pickItem
	arg      string
	planKey  string
	loaded   bool // plan holds the plan read for planKey
	planErr  error
	cursor   int // the plan's row
	top      int // the plan's first line shown, for a look that scrolls it
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
	planned P  // the plan confirmed: plan, batched by the strategy step's choice
	result  *R // the work's value, set once the runner is done
}

// running is the flow's work, nil before the run.
func (f *opFlow[P, R]) running() *flowRunner { return f.runner }

// outcome is the work's value, the zero R before it is done.
func (f *opFlow[P, R]) outcome() R {
	var r R
	if f.result != nil && f.runner != nil && f.runner.done {
		r = *f.result
	}
	return r
}

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
func newOpFlow[P, R any](env *Env, spec opSpec[P, R], focusedEnv, app, arg string) (*opFlow[P, R], tea.Cmd) {
	f := &opFlow[P, R]{spec: spec, opSteps: opSteps{env: env, pick: newTargetPicker(env.fleet, spec.envOnly(), focusedEnv), arg: arg}}
	f.pick.avoidProtected()
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
	a := f.spec.argStep()
	return f.step == opArg && a != nil && a.typing() ||
		f.step == opConfirm && f.confirm.typing() || f.step == opStrategy && f.strategy.typing()
}

// load reads the plan of the target and argument, unless it is already
// there or being read.
func (f *opFlow[P, R]) load() tea.Cmd {
	k := f.target.app + "\x00" + f.target.env.Name + "\x00" + f.arg
	if k == f.planKey && f.planErr == nil {
		return nil
	}
	var none P
	f.planKey, f.plan, f.loaded, f.planErr, f.planned, f.top = k, none, false, nil, none, 0
	spec, t, arg := f.spec, f.target, f.arg
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		p, err := spec.loadPlan(ctx, t, arg)
		return opPlanMsg[P]{key: k, plan: p, err: err}
	}
}

// Init: the flow's first command is newOpFlow's.
func (f *opFlow[P, R]) Init() tea.Cmd { return nil }

// SetSize sets the flow area's size.
func (f *opFlow[P, R]) SetSize(w, h int) { f.env.setSize(w, h) }

// Update handles the flow's messages and keys; it returns the flow that
// has the screen next: itself, another one (the deploy summary's
// rollback), or nil (back to the fleet).
func (f *opFlow[P, R]) Update(msg tea.Msg) (Flow, tea.Cmd) {
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
	a := f.spec.argStep()
	if a != nil {
		if cmd, ok := a.update(msg, f.step == opArg && f.runner == nil); ok {
			return f, cmd
		}
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

func (f *opFlow[P, R]) key(km tea.KeyPressMsg) (Flow, tea.Cmd) {
	k := f.env.keys
	f.note = ""
	switch f.step {
	case opRun:
		if key.Matches(km, k.Back) && !f.runner.asking() {
			f.note = f.spec.runNote(k)
			return f, nil
		}
		return f, f.runner.update(km)
	case opDone:
		return f.spec.doneKey(f, km)
	}
	// Before the run: esc leaves, shift+tab goes back a step.
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
		if f.step == opArg && f.spec.argStep() == nil {
			f.step--
		}
		return f, f.enter()
	}
	switch f.step {
	case opPick:
		if key.Matches(km, k.NextStep) {
			it, ok := f.pick.chosen()
			if !ok {
				return f, nil
			}
			if f.spec.argStep() != nil {
				f.target, f.step = it, opArg
				return f, f.enter()
			}
			if it != f.target {
				f.arg, f.cursor = "", 0
			}
			f.target, f.step = it, opPlan
			return f, f.load()
		}
		f.pick.key(km, k)
	case opArg:
		arg, done, note, cmd := f.spec.argStep().key(km)
		f.note = note
		if done {
			f.arg, f.step = arg, opPlan
			return f, tea.Batch(f.enter(), f.load())
		}
		return f, cmd
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

// enter prepares the step just entered; it keeps what was chosen there
// for the same target.
func (f *opFlow[P, R]) enter() tea.Cmd {
	a := f.spec.argStep()
	if a != nil {
		a.leave()
	}
	f.strategy.blur()
	switch f.step {
	case opArg:
		return a.enter(f.target)
	case opStrategy:
		if f.strategy.kinds == nil || f.strategy.app != f.target.app || f.strategy.envName != f.target.env.Name {
			f.strategy, _ = f.spec.newStrategy(f.planTarget(f.plan)) // the defaults of the plan's inventory
		}
		if c, ok := any(f.spec).(interface{ addChoices(*strategyForm, P) }); ok {
			c.addChoices(&f.strategy, f.plan) // what applies to this plan (wizard_choices.go)
		}
		return f.strategy.focus()
	}
	return nil
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
	if !key.Matches(km, k.NextStep) {
		return f.spec.planKey(f, km)
	}
	if !f.loaded {
		reading, failed := f.spec.planNotes(k)
		f.note = reading
		if f.planErr != nil {
			f.note = failed
		}
		return nil
	}
	if ok, why := f.spec.ready(f.plan); !ok {
		f.note = why
		return nil
	}
	if f.hasStrategy() {
		f.step = opStrategy
		return f.enter()
	}
	return f.toConfirm(f.plan)
}

// View draws the step the flow is at.
func (f *opFlow[P, R]) View() string {
	w, h := f.env.size()
	st := f.env.ctx.Styles
	var b strings.Builder
	for _, l := range f.spec.header(f, w) {
		b.WriteString(l + "\n")
	}
	if f.note != "" {
		b.WriteString(st.Warn.Render(common.Clip(f.note, w)) + "\n")
	}
	bodyH := max(3, h-strings.Count(b.String(), "\n"))
	switch f.step {
	case opPick:
		heading, what := f.spec.pickHeading()
		b.WriteString(st.Header.Render(heading) + "\n" + f.pick.view(st, w, what))
	case opArg:
		b.WriteString(f.spec.argStep().view(w, bodyH))
	case opPlan:
		b.WriteString(f.spec.planBody(f, w, bodyH))
	case opStrategy:
		b.WriteString(f.spec.strategyBody(f, w, bodyH))
	case opConfirm:
		b.WriteString(f.spec.confirmBody(f, w))
	case opRun:
		b.WriteString(f.runner.view(w, bodyH))
	case opDone:
		if f.panes {
			b.WriteString(f.runner.view(w, bodyH))
			break
		}
		b.WriteString(f.spec.doneBody(f, w))
	}
	return b.String()
}

// KeyMap is the step's keys.
func (f *opFlow[P, R]) KeyMap() []key.Binding { return f.spec.keyMap(f) }
