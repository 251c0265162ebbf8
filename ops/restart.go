package ops

import (
	"context"
	"errors"

	"github.com/opsui/opsui/ops/deploy"
)

// RestartRequest is a restart as an operator asks for it: the app
// servers of a target resolved by Service.Target started again on the
// release they run, with their workers when Workers is set.
type RestartRequest struct {
	Target   Target
	Workers  bool
	Strategy deploy.Strategy // Kind "": the environment's default
}

// PlanRestart decides req's restart without changing anything
// (deploy.PlanRestart): the plan Restart runs as it is.
func (s *Service) PlanRestart(ctx context.Context, req RestartRequest) (*deploy.RestartPlan, error) {
	tg := req.Target
	rp, err := deploy.PlanRestart(ctx, s.Store, deploy.RestartRequest{Fleet: tg.Fleet, App: tg.App, Env: tg.Env,
		Hosts: tg.Hosts, Workers: req.Workers, Strategy: req.Strategy})
	var ie *deploy.RestartInputError
	if errors.As(err, &ie) {
		return nil, &InvalidError{err}
	}
	return rp, err
}

// Restart runs rp, the restart the operator confirmed, as it is: under
// the deploy lock, batch by batch through the balancers, recorded as a
// run of kind restart. A freeze window does not stop it: it brings no
// new code, as a rollback brings none.
func (s *Service) Restart(ctx context.Context, rp *deploy.RestartPlan, io IO) (*deploy.Outcome, error) {
	if rp == nil {
		return nil, errors.New("restart: no plan (plan it first)")
	}
	_, _ = s.Store.ReapStaleRuns(ctx)
	d, err := s.deployer(rp.Plan.Hosts, rp.Plan.Balancers, io)
	if err != nil {
		return nil, err
	}
	return d.ExecuteRestart(ctx, rp)
}

// PreviewRestart plans the restart of app's app servers in env, every
// one of them, in the environment's default strategy: the console's
// restart flow, which re-batches it for the strategy chosen.
func (s *Service) PreviewRestart(ctx context.Context, app, env string) (*deploy.RestartPlan, error) {
	tg, err := s.Target(ctx, Scope{App: app, Env: env})
	if err != nil {
		return nil, err
	}
	return s.PlanRestart(ctx, RestartRequest{Target: tg})
}
