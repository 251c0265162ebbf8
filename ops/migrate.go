package ops

import (
	"context"
	"errors"

	"github.com/opsui/opsui/ops/deploy"
)

// MigrationPlan is what a migrate would run.
type MigrationPlan struct {
	// Plan is the migrate decided from the inventory and the releases read
	// for the preview: what the flow runs.
	Plan                   *deploy.MigratePlan
	Host, Command, Release string
	Pending                []string
	Total                  int
	Output                 string // the plan command's output when it is not Django's
}

// PlanMigrate decides the migrate of tg without changing anything
// (deploy.PreviewMigrate): the plan that Migrate runs as it is.
func (s *Service) PlanMigrate(ctx context.Context, tg Target) (*deploy.MigratePlan, error) {
	return deploy.PreviewMigrate(ctx, s.Store, deploy.MigrateRequest{Fleet: tg.Fleet, App: tg.App, Env: tg.Env, Select: tg.Select, Hosts: tg.Hosts})
}

// PendingMigrations runs the app's migration plan command on mp's
// migration host, unrecorded, and returns what it lists.
func (s *Service) PendingMigrations(ctx context.Context, mp *deploy.MigratePlan) (deploy.MigrationResult, error) {
	d, err := s.deployer(mp.Plan.Hosts, mp.Plan.Balancers, IO{})
	if err != nil {
		return deploy.MigrationResult{}, err
	}
	return d.MigrationPlan(ctx, mp.Plan)
}

// PreviewMigrate plans the migrate of app in env and lists the
// migrations pending on its host; a listing that fails is said in
// Output, not returned. It changes nothing.
func (s *Service) PreviewMigrate(ctx context.Context, app, env string) (MigrationPlan, error) {
	tg, err := s.Target(ctx, Scope{App: app, Env: env})
	if err != nil {
		return MigrationPlan{}, err
	}
	mp, err := s.PlanMigrate(ctx, tg)
	if err != nil {
		return MigrationPlan{}, err
	}
	d, err := s.deployer(mp.Plan.Hosts, mp.Plan.Balancers, IO{})
	if err != nil {
		return MigrationPlan{}, err
	}
	out := MigrationPlan{Plan: mp, Host: mp.Host.Name, Command: mp.Plan.App.MigrateCommand(), Release: mp.Current.ReleaseID}
	res, err := d.MigrationPlan(ctx, mp.Plan)
	switch {
	case err != nil:
		out.Output = "cannot list the pending migrations: " + err.Error()
	case res.Plan == nil:
		out.Output = res.Output
	default:
		out.Total = len(res.Plan)
		out.Pending = []string{}
		for _, m := range deploy.Pending(res.Plan) {
			out.Pending = append(out.Pending, m.String())
		}
	}
	return out, nil
}

// Migrate runs mp, the migrate the operator confirmed, once on its
// migration host, as it is: ExecuteMigrate refuses it with a
// *deploy.FleetChangedError when the inventory or the releases changed
// since its preview.
func (s *Service) Migrate(ctx context.Context, mp *deploy.MigratePlan, io IO) (deploy.MigrationResult, error) {
	if mp == nil {
		return deploy.MigrationResult{}, errors.New("migrate: no plan (preview the migrate first)")
	}
	d, err := s.deployer(mp.Plan.Hosts, mp.Plan.Balancers, io)
	if err != nil {
		return deploy.MigrationResult{}, err
	}
	return d.ExecuteMigrate(ctx, mp)
}
