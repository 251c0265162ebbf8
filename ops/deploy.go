package ops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// HostRelease is what one host of a deploy runs now.
type HostRelease struct {
	Host      string
	Release   string // the release id current points at, empty if none
	Commit    string
	Reachable bool
	Err       string // why it could not be read
	Lock      string // who holds its deploy lock, empty when free
}

// Preview is what a deploy would change, read before anyone confirms.
type Preview struct {
	// Plan is the deploy decided from the inventory read for the preview.
	Plan   *deploy.Plan
	Source deploy.Source
	// Current is the environment's last successful release, empty before
	// the first; CurrentCommit its commit.
	Current, CurrentCommit string
	Hosts                  []HostRelease
	// Commits are those the deploy brings (newest first); Behind those
	// running now that the target lacks: a rollback in disguise.
	Commits, Behind []deploy.Commit
	Diffstat        string // git's diffstat between current and target
	Migrations      []string
	Requirements    []string // requirements files that change
	// Unmet are, by host, the target's requirements.txt pins the host's
	// python does not meet (deploy.UnmetRequirements): the build warns,
	// or fails with strict_requirements.
	Unmet map[string][]string
	// Warnings are what the shared history says the operator should know
	// before confirming (DeployWarnings): a teammate deploying now or just
	// now, the commit rolled back here before.
	Warnings []string
	// MigrationCheck is the compatibility verdict on the migrations the
	// deploy runs (nil when the app is not checked, or there is no
	// connection); Frozen, a freeze refusal the deploy would meet.
	MigrationCheck *deploy.MigrationCheck
	Frozen         error
}

// DeployRequest is a deploy as an operator asks for it, its target
// resolved (Service.Target).
type DeployRequest struct {
	Target   Target
	Ref      string // a branch, tag or commit; "" is the repository's HEAD
	Strategy deploy.Strategy
	// Resume is the record of a deploy to finish (Service.Resumable): its
	// commit, ref and release id are used, and Ref is ignored.
	Resume *store.Release
}

// PlanDeploy decides req's deploy without changing anything
// (deploy.PreviewDeploy): the plan that Deploy runs as it is.
func (s *Service) PlanDeploy(ctx context.Context, req DeployRequest) (*deploy.Plan, error) {
	tg := req.Target
	return deploy.PreviewDeploy(ctx, s.Store, deploy.DeployRequest{Fleet: tg.Fleet, App: tg.App, Env: tg.Env, Select: tg.Select,
		Hosts: tg.Hosts, Ref: req.Ref, Strategy: req.Strategy, Resume: req.Resume}, time.Now())
}

// Resumable is the release of deploy run runID, to finish with a
// DeployRequest's Resume.
func (s *Service) Resumable(ctx context.Context, runID int64) (store.Release, error) {
	r, err := s.Store.ReleaseOfRun(ctx, runID)
	if err != nil {
		return r, fmt.Errorf("resume run %d: %w", runID, err)
	}
	if r.Kind != store.KindDeploy {
		return r, fmt.Errorf("run %d was a %s, not a deploy", runID, r.Kind)
	}
	return r, nil
}

// PreviewDeploy plans the deploy of ref of app to env in the
// environment's default strategy (the wizard re-batches it with
// Plan.WithStrategy) and reads what it would change: git between the
// current release and the target, and each host's release and lock, read
// live. It changes nothing.
func (s *Service) PreviewDeploy(ctx context.Context, app, env, ref string) (Preview, error) {
	var p Preview
	tg, err := s.Target(ctx, Scope{App: app, Env: env})
	if err != nil {
		return p, err
	}
	p.Plan, err = s.PlanDeploy(ctx, DeployRequest{Target: tg, Ref: ref, Strategy: deploy.DefaultStrategy(tg.Env)})
	if err != nil {
		return p, err
	}
	repo := tg.App.Repo
	p.Source = p.Plan.Source
	cur, err := s.Store.LatestRelease(ctx, tg.App.Name, tg.Env.Name, true)
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
	p.Hosts = s.hostReleases(ctx, tg)
	p.Unmet = s.UnmetRequirements(ctx, p.Plan)
	p.Warnings = s.DeployWarnings(ctx, p.Plan)
	p.Frozen = s.CheckFreeze(ctx, tg.Env.Name, time.Now())
	if s.Conn != nil {
		if c, ok, err := s.CheckMigrations(ctx, p.Plan); err != nil {
			p.MigrationCheck = &deploy.MigrationCheck{Err: err.Error()}
		} else if ok {
			p.MigrationCheck = &c
		}
	}
	return p, nil
}

// hostReleases probes tg's hosts for their current release and reads
// their deploy locks.
func (s *Service) hostReleases(ctx context.Context, tg Target) []HostRelease {
	deployTo := map[string]string{}
	var reqs []remote.ProbeRequest
	var targets []remote.Target
	out := make([]HostRelease, len(tg.Hosts))
	byHost := map[string]*HostRelease{}
	for i, h := range tg.Hosts {
		out[i] = HostRelease{Host: h.Name}
		byHost[h.Name] = &out[i]
		deployTo[h.Name] = tg.App.DeployToOn(h)
		t, err := remote.ResolveTarget(h, s.SSH)
		if err != nil {
			out[i].Err = err.Error()
			continue
		}
		targets = append(targets, t)
		reqs = append(reqs, remote.ProbeRequest{Target: t, DeployTo: deployTo[h.Name]})
	}
	for _, pr := range s.prober().ProbeAll(ctx, reqs) {
		if hr := byHost[pr.Host]; hr != nil {
			hr.Reachable, hr.Release, hr.Commit = pr.Reachable, pr.Release, pr.Commit
			if pr.Err != nil {
				hr.Err = pr.Err.Error()
			}
		}
	}
	for _, l := range deploy.InspectLocks(ctx, s.Conn, targets, func(n string) string { return deployTo[n] }) {
		if hr := byHost[l.Host]; hr != nil && l.Held {
			hr.Lock = l.Owner.String()
		}
	}
	return out
}

// prober is the service's Prober, else one of its own on its connector.
func (s *Service) prober() *remote.Prober {
	if s.Prober != nil {
		return s.Prober
	}
	return remote.NewProber(s.Conn, remote.ProbeOptions{})
}

// Deploy runs p, the plan the operator confirmed (PlanDeploy's or
// PreviewDeploy's, maybe re-batched), as it is: Execute refuses it with a
// *deploy.FleetChangedError, saying what changed, when the inventory or
// the releases are no longer those it was made from. The run and the
// release are recorded with the service's operator and arguments.
func (s *Service) Deploy(ctx context.Context, p *deploy.Plan, io IO) (*deploy.Outcome, error) {
	if p == nil {
		return nil, errors.New("deploy: no plan (preview the deploy first)")
	}
	// A run whose opsui died reads interrupted, not running, in the check.
	_, _ = s.Store.ReapStaleRuns(ctx)
	frozen, err := s.freezeGate(ctx, p)
	if err != nil {
		return nil, err
	}
	d, err := s.deployer(p.Hosts, p.Balancers, io)
	if err != nil {
		return nil, err
	}
	if frozen != nil {
		io.orQuiet().Say(fmt.Sprintf("breaking glass: %s is frozen (%s); going ahead for %q, recorded as %s's", p.Env.Name, frozen.Freezes[0].Reason, p.BreakGlass, s.Operator))
	}
	out, err := d.Execute(ctx, p)
	if frozen != nil && out != nil {
		s.breakGlass(ctx, p, frozen, out, io)
	}
	return out, err
}

// deployer wires a Deployer of hosts and balancers (each batch is drained
// from them) to the service's connector, store and operator, and to io:
// the one Deployer builder of deploys, rollbacks, migrates and repairs.
func (s *Service) deployer(hosts, balancers []inventory.Host, io IO) (*deploy.Deployer, error) {
	machine, _ := os.Hostname()
	io = io.orQuiet()
	return deploy.NewDeployer(hosts, balancers, deploy.Wiring{Conn: s.Conn, SSH: s.SSH, Store: s.Store, Operator: s.Operator,
		Machine: machine, Parallel: s.Parallel, Args: s.Args, Emit: io.Emit, Say: io.Say, Confirm: io.Confirm, OnWatch: io.Watch})
}
