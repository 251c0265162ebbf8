package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
)

// The deploy wizard's steps, in order.
type wizStep int

const (
	stepTarget wizStep = iota
	stepRef
	stepPreview
	stepStrategy
	stepConfirm
	stepRun
	stepSummary
)

var stepNames = []string{"app and environment", "ref", "preview", "strategy", "confirm", "run", "summary"}

// The wizard's messages: what the engine read for it.
type (
	refsMsg struct {
		app  string
		refs []Ref
		err  error
	}
	previewMsg struct {
		key     string
		preview Preview
		err     error
	}
)

// wizard is the deploy wizard: app and environment, ref, preview,
// strategy, confirm, run, summary. Going back and forth keeps what was
// chosen; esc before the run leaves without having changed anything.
type wizard struct {
	env  *flowEnv
	step wizStep
	note string

	pick   targetPicker
	target pickItem

	refs        []Ref
	refsFor     string // the app the refs are of
	refsErr     error
	filter      textinput.Model
	refCursor   int
	ref         string // the ref chosen
	previewKey  string // app/env/ref the preview is of
	preview     *Preview
	previewErr  error
	previewTop  int // first line of the preview shown
	strategy    strategyForm
	planned     *deploy.Plan // the preview's plan in the strategy chosen: what is confirmed and run
	confirm     confirmBox
	runner      *flowRunner
	outcome     **deploy.Outcome // the runner's value, set once it is done
	showPanes   bool             // the summary shows the run's panes
	lastOutcome *deploy.Outcome
}

func newWizard(env *flowEnv, focusedEnv string) (flow, tea.Cmd) {
	w := &wizard{env: env, pick: newTargetPicker(env.fleet, false, focusedEnv)}
	w.filter = textinput.New()
	w.filter.Prompt = "ref> "
	w.filter.Placeholder = "filter branches, tags, commits (or type any ref)"
	return w, nil
}

func (w *wizard) typing() bool {
	return w.step == stepRef || w.step == stepStrategy && w.strategy.typing() || w.step == stepConfirm && w.confirm.typing()
}

// Init: the wizard reads nothing before an app is chosen.
func (w *wizard) Init() tea.Cmd { return nil }

// SetSize sets the flow area's size.
func (w *wizard) SetSize(width, h int) { w.env.setSize(width, h) }

// Update handles the wizard's messages and keys; it returns the flow that
// has the screen next: itself, the summary's rollback, or nil.
func (w *wizard) Update(msg tea.Msg) (flow, tea.Cmd) {
	switch msg := msg.(type) {
	case refsMsg:
		if msg.app == w.target.app {
			w.refs, w.refsErr, w.refsFor = msg.refs, msg.err, msg.app
		}
		return w, nil
	case previewMsg:
		if msg.key == w.previewKey {
			w.previewErr = msg.err
			if msg.err == nil {
				p := msg.preview
				w.preview = &p
				w.strategy.hosts = p.Hosts
			}
		}
		return w, nil
	case tea.KeyPressMsg:
		return w.key(msg)
	}
	if w.runner != nil {
		cmd := w.runner.update(msg)
		if w.runner.done && w.step == stepRun {
			w.step = stepSummary
			w.lastOutcome = *w.outcome
		}
		return w, cmd
	}
	var cmd tea.Cmd
	switch w.step {
	case stepRef:
		w.filter, cmd = w.filter.Update(msg)
	case stepStrategy:
		cmd = w.strategy.updateInput(msg)
	case stepConfirm:
		if w.confirm.typing() {
			w.confirm.input, cmd = w.confirm.input.Update(msg)
		}
	}
	return w, cmd
}

func (w *wizard) key(km tea.KeyPressMsg) (flow, tea.Cmd) {
	k := w.env.keys
	w.note = ""
	switch w.step {
	case stepRun:
		if key.Matches(km, k.Back) && !w.runner.asking() {
			w.note = "the deploy is running: " + keyName(k.CancelRun) + " aborts it (it asks first)"
			return w, nil
		}
		return w, w.runner.update(km)
	case stepSummary:
		switch {
		case key.Matches(km, k.Back):
			return nil, nil
		case key.Matches(km, k.Rollback):
			if !w.releaseLive() {
				w.note = "nothing to roll back: this release runs on no host (it switched none, or they were switched back)"
				return w, nil
			}
			return newRollbackFlow(w.env, w.target.env.Name, w.target.app, "")
		case key.Matches(km, k.NextStep):
			w.showPanes = !w.showPanes
			return w, nil
		}
		if w.showPanes {
			return w, w.runner.update(km)
		}
		return w, nil
	}
	// Before the run: esc leaves, shift+tab goes back a step.
	switch {
	case key.Matches(km, k.Back):
		return nil, nil
	case key.Matches(km, k.PrevStep):
		if w.step > stepTarget {
			w.step--
			return w, w.enter()
		}
		return w, nil
	}
	switch w.step {
	case stepTarget:
		if key.Matches(km, k.NextStep) {
			it, ok := w.pick.chosen()
			if !ok {
				return w, nil
			}
			w.target = it
			w.step = stepRef
			return w, tea.Batch(w.enter(), w.loadRefs())
		}
		w.pick.key(km, k)
	case stepRef:
		return w, w.refKey(km)
	case stepPreview:
		switch {
		case key.Matches(km, k.NextStep):
			switch {
			case w.preview == nil && w.previewErr == nil:
				w.note = "the preview is still being read"
			case w.previewErr != nil:
				w.note = "no preview: go back (" + keyName(k.PrevStep) + ") and choose another ref"
			default:
				w.step = stepStrategy
				return w, w.enter()
			}
		case key.Matches(km, k.Up):
			w.previewTop = max(0, w.previewTop-1)
		case key.Matches(km, k.Down):
			w.previewTop++
		case key.Matches(km, k.PageDown):
			w.previewTop += 10
		case key.Matches(km, k.PageUp):
			w.previewTop = max(0, w.previewTop-10)
		}
	case stepStrategy:
		if key.Matches(km, k.NextStep) {
			p, err := w.plan()
			if err != nil {
				w.note = err.Error()
				return w, nil
			}
			w.planned, w.step = p, stepConfirm
			return w, w.enter()
		}
		return w, w.strategy.key(km, k)
	case stepConfirm:
		ok, cmd := w.confirm.key(km, k)
		if ok {
			return w, w.start()
		}
		return w, cmd
	}
	return w, nil
}

// enter prepares the step just entered; it keeps what was chosen there.
func (w *wizard) enter() tea.Cmd {
	w.filter.Blur()
	w.strategy.blur()
	switch w.step {
	case stepRef:
		return w.filter.Focus()
	case stepStrategy:
		if w.strategy.app != w.target.app || w.strategy.envName != w.target.env.Name {
			t := w.target
			if w.preview != nil && w.preview.Plan != nil {
				t.env = w.preview.Plan.Env // the defaults of the inventory the plan was made from
			}
			w.strategy = newStrategyForm(t, w.preview)
		}
		return w.strategy.focus()
	case stepConfirm:
		var cmd tea.Cmd
		w.confirm, cmd = newConfirmBox(w.planned.Env) // protected as the plan's inventory says
		return cmd
	}
	return nil
}

// loadRefs reads the app's refs, once per app.
func (w *wizard) loadRefs() tea.Cmd {
	if w.refsFor == w.target.app && w.refsErr == nil && w.refs != nil {
		return nil
	}
	w.refs, w.refsErr, w.refCursor = nil, nil, 0
	app, fn := w.target.app, w.env.fns.Refs
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		refs, err := fn(ctx, app)
		if err != nil {
			err = fmt.Errorf("list refs of %s: %w", app, err)
		}
		return refsMsg{app: app, refs: refs, err: err}
	}
}

// shownRefs are the refs the filter lets through.
func (w *wizard) shownRefs() []Ref {
	return filterBy(w.refs, w.filter.Value(), func(r Ref) string { return r.Name + " " + r.Hash + " " + r.Subject + " " + r.Author })
}

func (w *wizard) refKey(km tea.KeyPressMsg) tea.Cmd {
	k := w.env.keys
	shown := w.shownRefs()
	switch {
	case key.Matches(km, k.FieldUp):
		w.refCursor = max(0, w.refCursor-1)
		return nil
	case key.Matches(km, k.FieldDown):
		w.refCursor = max(0, min(len(shown)-1, w.refCursor+1))
		return nil
	}
	if key.Matches(km, k.NextStep) {
		ref := strings.TrimSpace(w.filter.Value())
		if w.refCursor < len(shown) {
			ref = shown[w.refCursor].Name
		}
		if ref == "" {
			w.note = "choose a ref, or type one"
			return nil
		}
		w.ref = ref
		w.step = stepPreview
		return tea.Batch(w.enter(), w.loadPreview())
	}
	var cmd tea.Cmd
	w.filter, cmd = w.filter.Update(km)
	w.refCursor = max(0, min(w.refCursor, len(w.shownRefs())-1))
	return cmd
}

// loadPreview reads what the deploy would change, unless the preview of
// this app, environment and ref is already there.
func (w *wizard) loadPreview() tea.Cmd {
	k := w.target.app + "\x00" + w.target.env.Name + "\x00" + w.ref
	if k == w.previewKey && w.previewErr == nil {
		return nil
	}
	w.previewKey, w.preview, w.previewErr, w.previewTop = k, nil, nil, 0
	app, env, ref, fn := w.target.app, w.target.env.Name, w.ref, w.env.fns.Preview
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		p, err := fn(ctx, app, env, ref)
		if err != nil {
			err = fmt.Errorf("preview %s %s on %s: %w", app, ref, env, err)
		}
		return previewMsg{key: k, preview: p, err: err}
	}
}

// plan is the preview's plan in the strategy step's batches (no I/O):
// the same inventory, hosts, commit and release the preview read.
func (w *wizard) plan() (*deploy.Plan, error) {
	if w.preview == nil || w.preview.Plan == nil {
		return nil, fmt.Errorf("no preview")
	}
	s, err := w.strategy.value()
	if err != nil {
		return nil, err
	}
	return w.preview.Plan.WithStrategy(s)
}

// start runs the plan confirmed, as it is: the engine checks it against
// the inventory again and refuses it, saying what changed, when it is no
// longer the fleet's.
func (w *wizard) start() tea.Cmd {
	p, fn := w.planned, w.env.fns.Deploy
	hosts := make([]string, len(p.Hosts))
	for i, h := range p.Hosts {
		hosts[i] = h.Name
	}
	what := fmt.Sprintf("%s %s to %s", p.App.Name, deploy.ShortCommit(p.Source.Commit), p.Env.Name)
	r, out, cmd := startRunner(w.env, "deploy", what, hosts, func(ctx context.Context, io FlowIO) (*deploy.Outcome, remote.Result, error) {
		out, err := fn(ctx, p, io)
		return out, outcomeResult(out), err
	})
	w.runner, w.outcome, w.step = r, out, stepRun
	return cmd
}

// running is the deploy's work, nil before the run.
func (w *wizard) running() *flowRunner { return w.runner }

// KeyMap is the step's keys.
func (w *wizard) KeyMap() []key.Binding {
	k := w.env.keys
	switch w.step {
	case stepRun:
		return w.runner.help()
	case stepSummary:
		if !w.releaseLive() {
			return []key.Binding{withDesc(k.NextStep, "summary/panes"), withDesc(k.Back, "back to the fleet")}
		}
		return []key.Binding{withDesc(k.Rollback, "roll back this release"), withDesc(k.NextStep, "summary/panes"), withDesc(k.Back, "back to the fleet")}
	case stepConfirm:
		return []key.Binding{k.Confirm, k.PrevStep, withDesc(k.Back, "leave")}
	}
	return []key.Binding{k.Up, k.Down, k.NextStep, k.PrevStep, withDesc(k.Back, "leave"), k.Help}
}

// releaseLive reports whether the deploy left its release running on some
// host: only then does the summary offer to roll it back (after an
// automatic rollback, a refusal or a cancel before the switch, r would
// undo the release that is running now instead).
func (w *wizard) releaseLive() bool {
	if w.lastOutcome == nil {
		return false
	}
	for _, h := range w.lastOutcome.Hosts {
		if h.Status == deploy.HostOK {
			return true
		}
	}
	return false
}
