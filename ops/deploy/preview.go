package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// DeployRoles are the roles whose hosts receive the app's code when no
// role or host names narrow a deploy.
var DeployRoles = []string{"web", "app", "worker", "db-migrate"}

// HostSelection is how a deploy's hosts are picked from its environment:
// those with Role, or those named, or (neither given) every host with one
// of the DeployRoles.
type HostSelection struct {
	Role  string
	Names []string
}

// SelectHosts returns the hosts of env that sel picks, in inventory order.
func SelectHosts(f *inventory.Fleet, env string, sel HostSelection) []inventory.Host {
	var out []inventory.Host
	for _, h := range f.Select(inventory.Filter{Env: env, Role: sel.Role, Names: sel.Names}) {
		if sel.Role == "" && len(sel.Names) == 0 && !slices.ContainsFunc(DeployRoles, h.HasRole) {
			continue
		}
		out = append(out, h)
	}
	return out
}

// DeployRequest is a deploy as an operator asks for it: the app,
// environment and hosts, resolved in the inventory read for it, the ref
// and the strategy.
type DeployRequest struct {
	Fleet    *inventory.Fleet
	App      inventory.App
	Env      inventory.Environment
	Select   HostSelection
	Hosts    []inventory.Host // SelectHosts(Fleet, Env.Name, Select)
	Ref      string           // a branch, tag or commit; "" is the repository's HEAD
	Strategy Strategy
	// Resume is the record of a deploy to finish: its commit, ref and
	// release id are used, and Ref is ignored.
	Resume *store.Release
}

// PlanError says the request makes no valid plan (no host, a stage or an
// inventory value that does not check): the request is at fault.
type PlanError struct{ Err error }

func (e *PlanError) Error() string { return e.Err.Error() }
func (e *PlanError) Unwrap() error { return e.Err }

// PreviewDeploy decides a deploy without changing anything: it resolves
// the ref, names the release (after the newest one recorded) and batches
// the hosts. The CLI prints the plan (--dry-run) or runs it; the wizard
// shows it, re-batches it for the strategy chosen (WithStrategy) and runs
// that one. Execute runs it as it is: nothing is read again but to check.
func PreviewDeploy(ctx context.Context, st *store.Store, req DeployRequest, now time.Time) (*Plan, error) {
	ref := req.Ref
	if req.Resume != nil {
		ref = req.Resume.Commit
	}
	src, err := Resolve(ctx, req.App.Repo, ref)
	if err != nil {
		return nil, err
	}
	last, err := lastRelease(ctx, st, req.App.Name, req.Env.Name)
	if err != nil {
		return nil, err
	}
	highest, err := st.HighestReleaseID(ctx, req.App.Name, req.Env.Name)
	if err != nil {
		return nil, err
	}
	releaseID := NewReleaseID(now, highest)
	if req.Resume != nil {
		releaseID = req.Resume.ReleaseID
		src.Branch, src.Tag = RecordedRef(req.Resume.Branch)
	}
	p, err := NewPlan(req.Fleet, req.App, req.Env, req.Hosts, src, releaseID, req.Strategy)
	if err != nil {
		return nil, &PlanError{err}
	}
	p.Resume = req.Resume != nil
	p.BuildPreview = p.BuildNote() // build_plan.go
	p.Select, p.LastRelease = req.Select, last
	if p.EnvChanges, err = EnvChanges(ctx, st, p); err != nil {
		return nil, fmt.Errorf("the environment of %s on %s: %w", req.App.Name, req.Env.Name, err)
	}
	cur, err := st.LatestRelease(ctx, req.App.Name, req.Env.Name, true)
	switch {
	case err == nil:
		p.KnownGood = cur.ReleaseID
	case !errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("the last good release of %s on %s: %w", req.App.Name, req.Env.Name, err)
	}
	return p, nil
}

// lastRelease is the id of the newest release recorded for app in env.
func lastRelease(ctx context.Context, st *store.Store, app, env string) (string, error) {
	rs, err := st.ListReleases(ctx, app, env, 1)
	if err != nil {
		return "", fmt.Errorf("the releases of %s on %s: %w", app, env, err)
	}
	if len(rs) == 0 {
		return "", nil
	}
	return rs[0].ReleaseID, nil
}

// Wiring is what a Deployer takes from the program that runs it: the
// connections, the store, who deploys, and where progress goes.
type Wiring struct {
	Conn              remote.Connector
	SSH               remote.SSHConfig
	Store             *store.Store
	Operator, Machine string
	Parallel          int      // 0: ops.DefaultParallel
	Args              []string // the command line, for the run record
	Emit              func(remote.Event)
	Say               func(string)
	Confirm           func(ctx context.Context, question string) (bool, error)
	OnWatch           func(WatchStatus) // the regression watch's status
}

// NewDeployer is the Deployer of a deploy, rollback or migration of
// hosts: they and the environment's balancers (each batch is drained
// from them) are resolved to SSH targets. The CLI and the console both
// build theirs here.
func NewDeployer(hosts, balancers []inventory.Host, w Wiring) (*Deployer, error) {
	targets, err := remote.ResolveTargets(append(slices.Clone(hosts), balancers...), w.SSH)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]remote.Target, len(targets))
	for _, t := range targets {
		byName[t.Name] = t
	}
	d := &Deployer{Conn: w.Conn, Store: w.Store, Targets: byName, Operator: w.Operator, Machine: w.Machine,
		Parallel: w.Parallel, Args: w.Args, Emit: w.Emit, Say: w.Say, Confirm: w.Confirm, OnWatch: w.OnWatch}
	if d.Parallel <= 0 {
		d.Parallel = remote.DefaultParallel
	}
	return d, nil
}

// Execute runs p, the plan the operator saw and confirmed, as it is. It
// first reads the inventory and the release records again: when anything
// the plan was made from has changed since (hosts added or removed, an
// address, deploy_to, roles, settings, the app, the environment, a
// release recorded), it refuses with a *FleetChangedError listing the
// changes rather than run a plan that is no longer the fleet's.
func (d *Deployer) Execute(ctx context.Context, p *Plan) (*Outcome, error) {
	if err := CheckPlan(ctx, d.Store, p); err != nil {
		return nil, err
	}
	return d.Deploy(ctx, p)
}

// FleetChangedError is Execute's refusal: what changed since the preview.
type FleetChangedError struct {
	App, Env string
	Changes  []string
}

func (e *FleetChangedError) Error() string {
	s := "the fleet changed since the preview of " + e.App + " on " + e.Env + ": "
	for i, c := range e.Changes {
		if i > 0 {
			s += "; "
		}
		s += c
	}
	return s + "; preview again"
}

// CheckPlan compares p with the inventory and the release records as they
// are now, and returns a *FleetChangedError when they differ.
func CheckPlan(ctx context.Context, st *store.Store, p *Plan) error {
	f, err := st.LoadFleet(ctx)
	if err != nil {
		return fmt.Errorf("check the plan against the inventory: %w", err)
	}
	changes := p.Changes(f)
	// A release finished since the preview changed what runs (the preview's
	// commits and current release are stale). One still running holds the
	// lock, which refuses this deploy and names its holder.
	rs, err := st.ListReleases(ctx, p.App.Name, p.Env.Name, 1)
	if err != nil {
		return fmt.Errorf("check the plan against the releases: %w", err)
	}
	if len(rs) > 0 && rs[0].ReleaseID != p.LastRelease && rs[0].Result != store.ReleaseRunning {
		r := rs[0]
		changes = append(changes, fmt.Sprintf("release %s (%s of %s by %s, %s) was recorded", r.ReleaseID, r.Kind, ShortCommit(r.Commit), r.Operator, r.Result))
	}
	if len(changes) > 0 {
		return &FleetChangedError{App: p.App.Name, Env: p.Env.Name, Changes: changes}
	}
	return nil
}
