package main

import (
	"context"
	"errors"
	"time"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/ui"
)

// flows are the console's guided flows, run on the session's pool (so
// host keys and passphrases are asked in the console) and recorded in its
// store, as the headless deploy, rollback, migrate and flush are.
func (c *consoleSession) flows() ui.Flows {
	return ui.Flows{Refs: c.refs, Preview: c.preview, Deploy: c.deploy, RollbackPreview: c.rollbackPreview,
		Rollback: c.rollback, MigrationPlan: c.migrationPlan, Migrate: c.migrate, FlushPlan: c.flushPlan,
		Flush: c.flush, Releases: c.releases, Compare: c.compare}
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

// deployer wires a Deployer to the session's pool and the flow's io, as
// the CLI's is wired (deploy.NewDeployer).
func (c *consoleSession) deployer(tg target, io ui.FlowIO) (*deploy.Deployer, error) {
	w := deployWiring(c.pool, c.cfg, c.st)
	w.Args, w.Emit, w.Say, w.Confirm = []string{"console"}, io.Emit, io.Say, io.Confirm
	return deploy.NewDeployer(tg.hosts, tg.balancers(), w)
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
	var reqs []ops.ProbeRequest
	var targets []ops.Target
	out := make([]ui.HostRelease, len(tg.hosts))
	byHost := map[string]*ui.HostRelease{}
	for i, h := range tg.hosts {
		out[i] = ui.HostRelease{Host: h.Name}
		byHost[h.Name] = &out[i]
		deployTo[h.Name] = tg.app.DeployTo
		if h.DeployTo != "" {
			deployTo[h.Name] = h.DeployTo
		}
		t, err := ops.ResolveTarget(h, c.cfg)
		if err != nil {
			out[i].Err = err.Error()
			continue
		}
		targets = append(targets, t)
		reqs = append(reqs, ops.ProbeRequest{Target: t, DeployTo: deployTo[h.Name]})
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
	w := deployWiring(c.pool, c.cfg, c.st)
	w.Args, w.Emit, w.Say, w.Confirm = []string{"console"}, io.Emit, io.Say, io.Confirm
	d, err := deploy.NewDeployer(p.Hosts, p.Balancers, w)
	if err != nil {
		return nil, err
	}
	return d.Execute(ctx, p)
}

func (c *consoleSession) rollbackPreview(ctx context.Context, app, env, to string) (ui.RollbackPreview, error) {
	var p ui.RollbackPreview
	tg, err := c.target(ctx, app, env)
	if err != nil {
		return p, err
	}
	choice, err := deploy.ChooseRollback(ctx, c.st, app, env, to)
	if err != nil {
		return p, err
	}
	p.From, p.Target = uiRelease(choice.From), uiRelease(choice.Target)
	for _, r := range choice.Undone {
		p.Undone = append(p.Undone, uiRelease(r))
	}
	for _, r := range choice.MigrationsKept() {
		p.Migrated = append(p.Migrated, uiRelease(r))
	}
	for _, h := range tg.hosts {
		p.Hosts = append(p.Hosts, h.Name)
	}
	rs, err := c.st.ListReleases(ctx, app, env, 100)
	if err != nil {
		return p, err
	}
	for _, r := range rs {
		if r.Kind == store.KindDeploy && r.Result == store.ReleaseSuccess && r.ReleaseID < choice.From.ReleaseID {
			p.Candidates = append(p.Candidates, uiRelease(r))
		}
	}
	// What goes away: a commit gone from the repository only hides the list.
	p.Commits, _ = deploy.Log(ctx, tg.app.Repo, choice.Target.Commit, choice.From.Commit, 500)
	return p, nil
}

// rollback switches env back to release to, in strategy's batches (the
// environment's default strategy when it names none).
func (c *consoleSession) rollback(ctx context.Context, app, env, to string, strategy deploy.Strategy, io ui.FlowIO) (*deploy.Outcome, error) {
	tg, err := c.target(ctx, app, env)
	if err != nil {
		return nil, err
	}
	_, _ = c.st.ReapStaleRuns(ctx)
	choice, err := deploy.ChooseRollback(ctx, c.st, app, env, to)
	if err != nil {
		return nil, err
	}
	src := deploy.Source{Ref: choice.Target.ReleaseID, Commit: choice.Target.Commit, Branch: choice.Target.Branch, Subject: choice.Target.Subject}
	if strategy.Kind == "" {
		strategy = deploy.DefaultStrategy(tg.env)
	}
	p, err := deploy.NewPlan(tg.fleet, tg.app, tg.env, tg.hosts, src, choice.Target.ReleaseID, strategy)
	if err != nil {
		return nil, err
	}
	d, err := c.deployer(tg, io)
	if err != nil {
		return nil, err
	}
	return d.Rollback(ctx, p, choice)
}

// migrationSetup is the plan and deployer a migrate works with: the
// environment's current release on its migration host.
func (c *consoleSession) migrationSetup(ctx context.Context, app, env string, io ui.FlowIO) (target, *deploy.Plan, store.Release, *deploy.Deployer, error) {
	tg, err := c.target(ctx, app, env)
	if err != nil {
		return tg, nil, store.Release{}, nil, err
	}
	cur, err := c.st.LatestRelease(ctx, app, env, true)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return tg, nil, cur, nil, err
	}
	p, err := deploy.NewPlan(tg.fleet, tg.app, tg.env, tg.hosts, deploy.Source{Commit: cur.Commit}, cur.ReleaseID, deploy.Strategy{})
	if err != nil {
		return tg, nil, cur, nil, err
	}
	d, err := c.deployer(tg, io)
	return tg, p, cur, d, err
}

func (c *consoleSession) migrationPlan(ctx context.Context, app, env string) (ui.MigrationPlan, error) {
	tg, p, cur, d, err := c.migrationSetup(ctx, app, env, ui.FlowIO{Emit: func(ops.Event) {}, Say: func(string) {}})
	if err != nil {
		return ui.MigrationPlan{}, err
	}
	host, _ := deploy.MigrationHost(tg.hosts)
	mp := ui.MigrationPlan{Host: host.Name, Command: tg.app.Migrate, Release: cur.ReleaseID}
	res, err := d.MigrationPlan(ctx, p)
	switch {
	case err != nil:
		mp.Output = "cannot list the pending migrations: " + err.Error()
	case res.Plan == nil:
		mp.Output = res.Output
	default:
		mp.Total = len(res.Plan)
		mp.Pending = []string{}
		for _, m := range deploy.Pending(res.Plan) {
			mp.Pending = append(mp.Pending, m.String())
		}
	}
	return mp, nil
}

func (c *consoleSession) migrate(ctx context.Context, app, env string, io ui.FlowIO) (deploy.MigrationResult, error) {
	_, p, cur, d, err := c.migrationSetup(ctx, app, env, io)
	if err != nil {
		return deploy.MigrationResult{}, err
	}
	return d.Migrate(ctx, p, cur)
}

// uiRelease is a release record as the console shows it.
func uiRelease(r store.Release) ui.Release {
	out := ui.Release{ID: r.ID, App: r.App, Env: r.Env, ReleaseID: r.ReleaseID, Kind: r.Kind, Commit: r.Commit, Branch: r.Branch,
		Subject: r.Subject, Operator: r.Operator, Strategy: r.Strategy, Started: r.StartedAt.Time(), Result: r.Result,
		Hosts: r.HostList(), RunID: r.RunID.Int64, Migrations: r.MigrationsApplied}
	if r.FinishedAt != 0 {
		out.Duration = r.FinishedAt.Time().Sub(r.StartedAt.Time())
	}
	return out
}
