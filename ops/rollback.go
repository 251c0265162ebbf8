package ops

import (
	"context"
	"errors"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

// RollbackPreview is what a rollback would do.
type RollbackPreview struct {
	// Plan is the rollback decided from the inventory and the releases
	// read for the preview: what the flow re-batches and runs.
	Plan       *deploy.RollbackPlan
	From       store.Release   // what the environment runs now
	Target     store.Release   // where it goes
	Candidates []store.Release // releases it can go back to, newest first
	// Undone are the releases between Target and From; Migrated those of
	// them whose migrations stay (a rollback does not reverse them).
	Undone, Migrated []store.Release
	// Meets says which changed table the target's code will meet: the
	// breaking or unknown migrations of the undone releases (RollbackMeets).
	Meets   []string
	Commits []deploy.Commit // the commits that go away
	Hosts   []string        // the hosts it switches
}

// RollbackRequest is a rollback as an operator asks for it, its target
// resolved (Service.Target).
type RollbackRequest struct {
	Target   Target
	To       string          // the release id to go back to; "": the previous good one
	Strategy deploy.Strategy // Kind "": the environment's default
}

// PlanRollback decides req's rollback without changing anything
// (deploy.PreviewRollback): the plan that Rollback runs as it is.
func (s *Service) PlanRollback(ctx context.Context, req RollbackRequest) (*deploy.RollbackPlan, error) {
	tg := req.Target
	return deploy.PreviewRollback(ctx, s.Store, deploy.RollbackRequest{Fleet: tg.Fleet, App: tg.App, Env: tg.Env, Select: tg.Select,
		Hosts: tg.Hosts, To: req.To, Strategy: req.Strategy})
}

// PreviewRollback plans the rollback of app in env to release to ("": the
// previous good one) in the environment's default strategy (the flow
// re-batches it with RollbackPlan.WithStrategy) and says what it undoes.
// It changes nothing.
func (s *Service) PreviewRollback(ctx context.Context, app, env, to string) (RollbackPreview, error) {
	var p RollbackPreview
	tg, err := s.Target(ctx, Scope{App: app, Env: env})
	if err != nil {
		return p, err
	}
	rp, err := s.PlanRollback(ctx, RollbackRequest{Target: tg, To: to})
	if err != nil {
		return p, err
	}
	choice := rp.Choice
	p.Plan, p.From, p.Target, p.Undone, p.Candidates = rp, choice.From, choice.Target, choice.Undone, rp.Candidates
	p.Migrated = choice.MigrationsKept()
	if p.Meets, err = s.RollbackMeets(ctx, choice.Target, choice.Undone); err != nil {
		return p, err
	}
	for _, h := range rp.Plan.Hosts {
		p.Hosts = append(p.Hosts, h.Name)
	}
	// What goes away: a commit gone from the repository only hides the list.
	p.Commits, _ = deploy.Log(ctx, rp.Plan.App.Repo, choice.Target.Commit, choice.From.Commit, 500)
	return p, nil
}

// Rollback runs rp, the rollback the operator confirmed, as it is:
// ExecuteRollback refuses it with a *deploy.FleetChangedError, saying what
// changed, when the inventory or the releases are no longer those it was
// previewed from.
func (s *Service) Rollback(ctx context.Context, rp *deploy.RollbackPlan, io IO) (*deploy.Outcome, error) {
	if rp == nil {
		return nil, errors.New("roll back: no plan (preview the rollback first)")
	}
	_, _ = s.Store.ReapStaleRuns(ctx)
	d, err := s.deployer(rp.Plan.Hosts, rp.Plan.Balancers, io)
	if err != nil {
		return nil, err
	}
	return d.ExecuteRollback(ctx, rp)
}
