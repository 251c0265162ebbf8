package flows

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"

	"github.com/opsui/opsui/ui/common"
)

// wizard is the deploy wizard: the op flow machine (opFlow) walking
// deploySpec. Its steps, in order: app and environment, ref, preview,
// strategy, confirm, run, summary. Going back and forth keeps what was
// chosen; esc before the run leaves without having changed anything.
type wizard = opFlow[ops.Preview, *deploy.Outcome]

// The wizard's steps are the machine's.
const (
	stepTarget   = opPick
	stepRef      = opArg
	stepPreview  = opPlan
	stepStrategy = opStrategy
	stepConfirm  = opConfirm
	stepRun      = opRun
	stepSummary  = opDone
)

var stepNames = []string{"app and environment", "ref", "preview", "strategy", "confirm", "run", "summary"}

// refsMsg carries the refs read for app.
type refsMsg struct {
	app  string
	refs []ops.Ref
	err  error
}

func newWizard(env *Env, focusedEnv string) (Flow, tea.Cmd) {
	return newOpFlow[ops.Preview, *deploy.Outcome](env, &deploySpec{fns: env.fns, env: env, ref: newRefStep(env)}, focusedEnv, "", "")
}

// deploySpec: choose a ref, see the preview (what the deploy changes and
// every warning), choose the strategy, confirm, run, read the summary.
type deploySpec struct {
	fns     Flows
	env     *Env
	ref     *refStep
	choices *deployChoices // the strategy step's explicit choices (wizard_choices.go)
	// maint: deploy in maintenance mode, offered for a breaking migration
	// (wizard_maintenance.go).
	maint bool
}

func (*deploySpec) envOnly() bool      { return false }
func (s *deploySpec) argStep() argStep { return s.ref }

func (s *deploySpec) loadPlan(ctx context.Context, t pickItem, ref string) (ops.Preview, error) {
	p, err := s.fns.Preview(ctx, t.app, t.env.Name, ref)
	if err != nil {
		err = fmt.Errorf("preview %s %s on %s: %w", t.app, ref, t.env.Name, err)
	}
	return p, err
}

func (*deploySpec) rows(ops.Preview) int             { return 0 }
func (*deploySpec) ready(ops.Preview) (bool, string) { return true, "" }

func (*deploySpec) planEnv(p ops.Preview) (inventory.Environment, bool) {
	if p.Plan != nil {
		return p.Plan.Env, true
	}
	return inventory.Environment{}, false
}

func (*deploySpec) newStrategy(t pickItem) (strategyForm, bool) { return newStrategyForm(t), true }

// batched is the preview's plan in the strategy step's batches (no I/O):
// the same inventory, hosts, commit and release the preview read.
func (ds *deploySpec) batched(p ops.Preview, s deploy.Strategy) (ops.Preview, *deploy.Plan, error) {
	if p.Plan == nil {
		return ops.Preview{}, nil, fmt.Errorf("no preview")
	}
	plan, err := p.Plan.WithStrategy(s)
	if err != nil {
		return ops.Preview{}, nil, err
	}
	// Maintenance chosen in the preview is the other way through the
	// migration gate (as deploy --maintenance is): the gate must see it.
	plan.Maintenance = ds.maint && offersMaintenance(p)
	if err := ds.choices.apply(plan, p); err != nil {
		return ops.Preview{}, nil, err
	}
	p.Plan = plan
	return p, plan, nil
}

// work runs the plan confirmed, as it is: the engine checks it against
// the inventory again and refuses it, saying what changed, when it is no
// longer the fleet's.
func (s *deploySpec) work(_ pickItem, planned ops.Preview, _ deploy.Strategy) opWork[*deploy.Outcome] {
	p, fn := s.withMaintenance(planned), s.fns.Deploy
	hosts := make([]string, len(p.Hosts))
	for i, h := range p.Hosts {
		hosts[i] = h.Name
	}
	what := fmt.Sprintf("%s %s to %s", p.App.Name, deploy.ShortCommit(p.Source.Commit), p.Env.Name)
	return opWork[*deploy.Outcome]{kind: "deploy", what: what, hosts: hosts,
		run: func(ctx context.Context, io ops.IO) (*deploy.Outcome, remote.Result, error) {
			out, err := fn(ctx, p, io)
			return out, outcomeResult(out), err
		}}
}

func (s *deploySpec) planKey(f *wizard, km tea.KeyPressMsg) tea.Cmd {
	k := f.env.keys
	switch {
	case s.maintenanceKey(f, km):
	case key.Matches(km, k.Up):
		f.top = max(0, f.top-1)
	case key.Matches(km, k.Down):
		f.top++
	case key.Matches(km, k.PageDown):
		f.top += 10
	case key.Matches(km, k.PageUp):
		f.top = max(0, f.top-10)
	}
	return nil
}

func (*deploySpec) planNotes(k KeyMap) (string, string) {
	return "the preview is still being read", "no preview: go back (" + common.KeyName(k.PrevStep) + ") and choose another ref"
}

func (*deploySpec) runNote(k KeyMap) string {
	return "the deploy is running: " + common.KeyName(k.CancelRun) + " aborts it (it asks first)"
}

// doneKey: r rolls the release back while it runs somewhere; enter shows
// the hosts' output.
func (*deploySpec) doneKey(f *wizard, km tea.KeyPressMsg) (Flow, tea.Cmd) {
	k := f.env.keys
	switch {
	case key.Matches(km, k.Back):
		return nil, nil
	case key.Matches(km, k.Rollback):
		if !releaseLive(f.outcome()) {
			f.note = "nothing to roll back: this release runs on no host (it switched none, or they were switched back)"
			return f, nil
		}
		return newRollbackFlow(f.env, f.target.env.Name, f.target.app, "")
	case key.Matches(km, k.NextStep):
		f.panes = !f.panes
		return f, nil
	}
	if f.panes {
		return f, f.runner.update(km)
	}
	return f, nil
}

func (*deploySpec) keyMap(f *wizard) []key.Binding {
	k := f.env.keys
	switch f.step {
	case stepRun:
		return f.runner.help()
	case stepSummary:
		if !releaseLive(f.outcome()) {
			return []key.Binding{common.WithDesc(k.NextStep, "summary/panes"), common.WithDesc(k.Back, "back to the fleet")}
		}
		return []key.Binding{common.WithDesc(k.Rollback, "roll back this release"), common.WithDesc(k.NextStep, "summary/panes"), common.WithDesc(k.Back, "back to the fleet")}
	case stepConfirm:
		return []key.Binding{f.confirm.confirmKey(k), k.PrevStep, common.WithDesc(k.Back, "leave")}
	}
	return []key.Binding{k.Up, k.Down, k.NextStep, k.PrevStep, common.WithDesc(k.Back, "leave"), k.Help}
}

// releaseLive reports whether the deploy left its release running on some
// host: only then does the summary offer to roll it back (after an
// automatic rollback, a refusal or a cancel before the switch, r would
// undo the release that is running now instead).
func releaseLive(out *deploy.Outcome) bool {
	if out == nil {
		return false
	}
	for _, h := range out.Hosts {
		if h.Status == deploy.HostOK {
			return true
		}
	}
	return false
}

// refStep is the wizard's ref step: the app's branches, tags and recent
// commits, filtered by what is typed (or any ref git knows, typed).
type refStep struct {
	env     *Env
	target  pickItem
	refs    []ops.Ref
	refsFor string // the app the refs are of
	refsErr error
	filter  textinput.Model
	cursor  int
}

func newRefStep(env *Env) *refStep {
	r := &refStep{env: env, filter: textinput.New()}
	r.filter.Prompt = "ref> "
	r.filter.Placeholder = "filter branches, tags, commits (or type any ref)"
	return r
}

func (r *refStep) typing() bool { return true }
func (r *refStep) leave()       { r.filter.Blur() }

// enter focuses the filter and reads the app's refs, once per app.
func (r *refStep) enter(t pickItem) tea.Cmd {
	r.target = t
	return tea.Batch(r.filter.Focus(), r.loadRefs())
}

func (r *refStep) loadRefs() tea.Cmd {
	if r.refsFor == r.target.app && r.refsErr == nil && r.refs != nil {
		return nil
	}
	r.refs, r.refsErr, r.cursor = nil, nil, 0
	app, fn := r.target.app, r.env.fns.Refs
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

func (r *refStep) update(msg tea.Msg, active bool) (tea.Cmd, bool) {
	if msg, ok := msg.(refsMsg); ok {
		if msg.app == r.target.app {
			r.refs, r.refsErr, r.refsFor = msg.refs, msg.err, msg.app
		}
		return nil, true
	}
	if !active {
		return nil, false
	}
	var cmd tea.Cmd
	r.filter, cmd = r.filter.Update(msg)
	return cmd, true
}

// shown are the refs the filter lets through.
func (r *refStep) shown() []ops.Ref {
	return filterBy(r.refs, r.filter.Value(), func(x ops.Ref) string { return x.Name + " " + x.Hash + " " + x.Subject + " " + x.Author })
}

func (r *refStep) key(km tea.KeyPressMsg) (string, bool, string, tea.Cmd) {
	k := r.env.keys
	shown := r.shown()
	switch {
	case key.Matches(km, k.FieldUp):
		r.cursor = max(0, r.cursor-1)
		return "", false, "", nil
	case key.Matches(km, k.FieldDown):
		r.cursor = max(0, min(len(shown)-1, r.cursor+1))
		return "", false, "", nil
	}
	if key.Matches(km, k.NextStep) {
		ref := strings.TrimSpace(r.filter.Value())
		if r.cursor < len(shown) {
			ref = shown[r.cursor].Name
		}
		if ref == "" {
			return "", false, "choose a ref, or type one", nil
		}
		return ref, true, "", nil
	}
	var cmd tea.Cmd
	r.filter, cmd = r.filter.Update(km)
	r.cursor = max(0, min(r.cursor, len(r.shown())-1))
	return "", false, "", cmd
}
