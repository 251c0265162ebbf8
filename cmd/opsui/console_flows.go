package main

import (
	"context"
	"errors"
	"time"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/ui"
)

// flows are the console's guided flows, run on the session's pool (so
// host keys and passphrases are asked in the console) and recorded in its
// store, as the headless deploy, rollback, migrate and flush are.
//
// A deploy, rollback or migrate runs the very plan its preview made,
// which the flow carries from the preview to the run (re-batched for the
// strategy chosen); the plan is checked against the fleet and the
// releases again before it runs.
func (c *consoleSession) flows() ui.Flows {
	return ui.Flows{Refs: c.refs, Preview: c.preview, Deploy: c.deploy,
		RollbackPreview: c.rollbackPreview, Rollback: c.rollback, MigrationPlan: c.migrationPlan, Migrate: c.migrate,
		FlushPlan: c.flushPlan, Flush: c.flush, Releases: c.releases, Compare: c.compare}
}

// target resolves app and env (and hosts, when given) as the CLI does.
func (c *consoleSession) target(ctx context.Context, app, env string, hosts ...string) (target, error) {
	f, err := c.st.LoadFleet(ctx)
	if err != nil {
		return target{}, err
	}
	tf := targetFlags{app: app, env: env, hosts: hosts}
	return tf.resolve(f, nil)
}

// deployer wires a Deployer of p's hosts and balancers to the session's
// pool and the flow's io, as the CLI's is wired (deploy.NewDeployer).
func (c *consoleSession) deployer(p *deploy.Plan, io ui.FlowIO) (*deploy.Deployer, error) {
	w := deployWiring(c.pool, c.cfg, c.st)
	w.Args, w.Emit, w.Say, w.Confirm = []string{"console"}, io.Emit, io.Say, io.Confirm
	return deploy.NewDeployer(p.Hosts, p.Balancers, w)
}

func (c *consoleSession) refs(ctx context.Context, app string) ([]ui.Ref, error) {
	f, err := c.st.LoadFleet(ctx)
	if err != nil {
		return nil, err
	}
	a, ok := f.App(app)
	if !ok {
		return nil, unknownName("app", app, appNames(f))
	}
	return gitRefs(ctx, a.Repo)
}

// preview plans the deploy (deploy.PreviewDeploy, in the environment's
// default strategy: the wizard re-batches it) and reads what it would
// change: git between the current release and the target, and each host's
// release and lock, read live.
func (c *consoleSession) preview(ctx context.Context, app, env, ref string) (ui.Preview, error) {
	var p ui.Preview
	tg, err := c.target(ctx, app, env)
	if err != nil {
		return p, err
	}
	p.Plan, err = deploy.PreviewDeploy(ctx, c.st, deploy.DeployRequest{Fleet: tg.fleet, App: tg.app, Env: tg.env, Select: tg.sel,
		Hosts: tg.hosts, Ref: ref, Strategy: deploy.DefaultStrategy(tg.env)}, time.Now())
	if err != nil {
		return p, err
	}
	repo := tg.app.Repo
	p.Source = p.Plan.Source
	cur, err := c.st.LatestRelease(ctx, app, env, true)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if p.Commits, err = deploy.Log(ctx, repo, "", p.Source.Commit, 1); err != nil {
			return p, err
		}
	case err != nil:
		return p, err
	default:
		p.Current, p.CurrentCommit = cur.ReleaseID, cur.Commit
		d, err := deploy.Between(ctx, repo, cur.Commit, p.Source.Commit)
		if err != nil {
			return p, err
		}
		p.Commits, p.Behind, p.Diffstat, p.Migrations, p.Requirements = d.Commits, d.Behind, d.Diffstat, d.Migrations, d.Requirements
	}
	p.Hosts = c.hostReleases(ctx, tg)
	return p, nil
}

// hostReleases probes the deploy's hosts for their current release and
// reads their deploy locks.
func (c *consoleSession) hostReleases(ctx context.Context, tg target) []ui.HostRelease {
	deployTo := map[string]string{}
	var reqs []remote.ProbeRequest
	var targets []remote.Target
	out := make([]ui.HostRelease, len(tg.hosts))
	byHost := map[string]*ui.HostRelease{}
	for i, h := range tg.hosts {
		out[i] = ui.HostRelease{Host: h.Name}
		byHost[h.Name] = &out[i]
		deployTo[h.Name] = tg.app.DeployToOn(h)
		t, err := remote.ResolveTarget(h, c.cfg)
		if err != nil {
			out[i].Err = err.Error()
			continue
		}
		targets = append(targets, t)
		reqs = append(reqs, remote.ProbeRequest{Target: t, DeployTo: deployTo[h.Name]})
	}
	for _, pr := range c.prober.ProbeAll(ctx, reqs) {
		if hr := byHost[pr.Host]; hr != nil {
			hr.Reachable, hr.Release, hr.Commit = pr.Reachable, pr.Release, pr.Commit
			if pr.Err != nil {
				hr.Err = pr.Err.Error()
			}
		}
	}
	for _, l := range deploy.InspectLocks(ctx, c.pool, targets, func(n string) string { return deployTo[n] }) {
		if hr := byHost[l.Host]; hr != nil && l.Held {
			hr.Lock = l.Owner.String()
		}
	}
	return out
}

// deploy runs the plan the wizard confirmed, as it is: Execute refuses
// it, saying what changed, when the inventory is no longer the one it was
// made from.
func (c *consoleSession) deploy(ctx context.Context, p *deploy.Plan, io ui.FlowIO) (*deploy.Outcome, error) {
	_, _ = c.st.ReapStaleRuns(ctx)
	d, err := c.deployer(p, io)
	if err != nil {
		return nil, err
	}
	return d.Execute(ctx, p)
}

// rollbackPreview previews the rollback (deploy.PreviewRollback, in the
// environment's default strategy: the flow re-batches it) and says what
// it undoes; the flow runs its plan.
func (c *consoleSession) rollbackPreview(ctx context.Context, app, env, to string) (ui.RollbackPreview, error) {
	var p ui.RollbackPreview
	rp, err := c.previewRollback(ctx, app, env, to)
	if err != nil {
		return p, err
	}
	p.Plan = rp
	choice := rp.Choice
	p.From, p.Target = choice.From, choice.Target
	p.Undone = append(p.Undone, choice.Undone...)
	p.Migrated = append(p.Migrated, choice.MigrationsKept()...)
	for _, h := range rp.Plan.Hosts {
		p.Hosts = append(p.Hosts, h.Name)
	}
	p.Candidates = append(p.Candidates, rp.Candidates...)
	// What goes away: a commit gone from the repository only hides the list.
	p.Commits, _ = deploy.Log(ctx, rp.Plan.App.Repo, choice.Target.Commit, choice.From.Commit, 500)
	return p, nil
}

// previewRollback previews the rollback of app in env to release to ("":
// the previous good one), as the CLI's rollback does.
func (c *consoleSession) previewRollback(ctx context.Context, app, env, to string) (*deploy.RollbackPlan, error) {
	tg, err := c.target(ctx, app, env)
	if err != nil {
		return nil, err
	}
	return deploy.PreviewRollback(ctx, c.st, deploy.RollbackRequest{Fleet: tg.fleet, App: tg.app, Env: tg.env, Select: tg.sel,
		Hosts: tg.hosts, To: to})
}

// rollback runs the rollback the flow confirmed, as it is:
// ExecuteRollback refuses it, saying what changed, when the inventory or
// the releases are no longer those it was previewed from.
func (c *consoleSession) rollback(ctx context.Context, rp *deploy.RollbackPlan, io ui.FlowIO) (*deploy.Outcome, error) {
	if rp == nil {
		return nil, errors.New("roll back: no plan (preview the rollback first)")
	}
	_, _ = c.st.ReapStaleRuns(ctx)
	d, err := c.deployer(rp.Plan, io)
	if err != nil {
		return nil, err
	}
	return d.ExecuteRollback(ctx, rp)
}

// previewMigrate previews the migrate (deploy.PreviewMigrate).
func (c *consoleSession) previewMigrate(ctx context.Context, app, env string) (*deploy.MigratePlan, error) {
	tg, err := c.target(ctx, app, env)
	if err != nil {
		return nil, err
	}
	return deploy.PreviewMigrate(ctx, c.st, deploy.MigrateRequest{Fleet: tg.fleet, App: tg.app, Env: tg.env, Select: tg.sel, Hosts: tg.hosts})
}

// migrationPlan previews the migrate and lists the migrations pending on
// its host; the flow runs its plan.
func (c *consoleSession) migrationPlan(ctx context.Context, app, env string) (ui.MigrationPlan, error) {
	mp, err := c.previewMigrate(ctx, app, env)
	if err != nil {
		return ui.MigrationPlan{}, err
	}
	d, err := c.deployer(mp.Plan, ui.FlowIO{Emit: func(remote.Event) {}, Say: func(string) {}})
	if err != nil {
		return ui.MigrationPlan{}, err
	}
	out := ui.MigrationPlan{Plan: mp, Host: mp.Host.Name, Command: mp.Plan.App.Migrate, Release: mp.Current.ReleaseID}
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

// migrate runs the migrate the flow confirmed, as it is: ExecuteMigrate
// refuses it when the fleet or the releases changed since its preview.
func (c *consoleSession) migrate(ctx context.Context, mp *deploy.MigratePlan, io ui.FlowIO) (deploy.MigrationResult, error) {
	if mp == nil {
		return deploy.MigrationResult{}, errors.New("migrate: no plan (preview the migrate first)")
	}
	d, err := c.deployer(mp.Plan, io)
	if err != nil {
		return deploy.MigrationResult{}, err
	}
	return d.ExecuteMigrate(ctx, mp)
}
