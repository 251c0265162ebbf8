package flows

import (
	"context"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/ui/common"
)

// OpenRestart opens a restart of an app's servers (opsui restart): the
// plan, the strategy (all or rolling), the confirmation (the name typed
// on a protected environment), the run.
func OpenRestart(env *Env, envName string) (Flow, tea.Cmd) {
	s := &restartSpec{fns: env.fns}
	s.plainLook.spec = s
	return newOpFlow[*deploy.RestartPlan, *deploy.Outcome](env, s, envName, "", "")
}

// restartSpec: the app servers and how each restarts, a strategy,
// confirm, run batch by batch.
type restartSpec struct {
	plainLook[*deploy.RestartPlan, *deploy.Outcome]
	noArg
	fns Flows
}

func (restartSpec) name() string  { return "restart" }
func (restartSpec) envOnly() bool { return false }
func (s restartSpec) loadPlan(ctx context.Context, t pickItem, _ string) (*deploy.RestartPlan, error) {
	if s.fns.RestartPlan == nil {
		return nil, fmt.Errorf("restart is not available here")
	}
	p, err := s.fns.RestartPlan(ctx, t.app, t.env.Name)
	return p, planErr(s.name(), t, err)
}
func (restartSpec) rows(*deploy.RestartPlan) int                  { return 0 }
func (restartSpec) moved(*deploy.RestartPlan, int) (string, bool) { return "", false }
func (restartSpec) toggle(*deploy.RestartPlan, int)               {}

func (restartSpec) ready(p *deploy.RestartPlan) (bool, string) {
	if p == nil || p.Plan == nil {
		return false, "the preview has no plan"
	}
	return true, ""
}

func (restartSpec) planEnv(p *deploy.RestartPlan) (inventory.Environment, bool) {
	if p != nil && p.Plan != nil {
		return p.Plan.Env, true
	}
	return inventory.Environment{}, false
}

func (restartSpec) planLines(_ common.Styles, p *deploy.RestartPlan, _, w int) []string {
	var b strings.Builder
	p.Describe(&b)
	var l []string
	for _, s := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		l = append(l, common.WrapIndented(s, w)...)
	}
	return l
}

func (restartSpec) question(t pickItem, p *deploy.RestartPlan) string {
	return fmt.Sprintf("Restart the app servers of %s on %s (%s), on release %s?", t.app, t.env.Name,
		deploy.Plural(len(p.Plan.Hosts), "host", "hosts"), p.Live.ReleaseID)
}

func (restartSpec) newStrategy(t pickItem) (strategyForm, bool) { return newRollbackStrategy(t), true }

func (restartSpec) batched(p *deploy.RestartPlan, strategy deploy.Strategy) (*deploy.RestartPlan, *deploy.Plan, error) {
	if p == nil || p.Plan == nil {
		return nil, nil, fmt.Errorf("the preview has no plan")
	}
	rp, err := p.WithStrategy(strategy)
	if err != nil {
		return nil, nil, err
	}
	return rp, rp.Plan, nil
}

// work runs the restart confirmed, the very plan batched: the engine
// checks it against the inventory and the releases again.
func (s restartSpec) work(t pickItem, p *deploy.RestartPlan, strategy deploy.Strategy) opWork[*deploy.Outcome] {
	fn := s.fns.Restart
	hosts := make([]string, len(p.Plan.Hosts))
	for i, h := range p.Plan.Hosts {
		hosts[i] = h.Name
	}
	return opWork[*deploy.Outcome]{kind: "restart", what: fmt.Sprintf("%s on %s, release %s (%s)", t.app, t.env.Name, p.Live.ReleaseID, strategy.Kind), hosts: hosts,
		run: func(ctx context.Context, io ops.IO) (*deploy.Outcome, remote.Result, error) {
			out, err := fn(ctx, p, io)
			return out, outcomeResult(out), err
		}}
}

func (restartSpec) resultLines(st common.Styles, out *deploy.Outcome, err error, _ int) []string {
	return append([]string{st.Header.Render("restart")}, outcomeLines(st, out, err)...)
}
