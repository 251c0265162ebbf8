package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/store"
)

// A restart starts an app's servers again on the release they already
// run, batch by batch like a deploy: each batch drained from the
// balancers, its app servers restarted (a gunicorn master opsui runs
// itself is re-executed gracefully, daemonServeScript; a supervisord
// program is stopped and started, a systemd unit restarted), checked,
// and put back. Nothing is switched and no release is recorded: the run
// (kind restart) is the record.

// StepRestart is the step that restarts a host's app server.
const StepRestart = "restart"

// RestartRequest is a restart as an operator asks for it, its target
// resolved in the inventory read for it.
type RestartRequest struct {
	Fleet *inventory.Fleet
	App   inventory.App
	Env   inventory.Environment
	Hosts []inventory.Host
	// Workers restarts the hosts' background workers too.
	Workers  bool
	Strategy Strategy // a zero one is DefaultStrategy(Env)
}

// RestartPlan is a restart decided but not started.
type RestartPlan struct {
	// Plan holds the hosts (the app servers among those selected) and
	// batches; its release and commit are the live ones.
	Plan    *Plan
	Live    store.Release
	Workers bool
	// Reload is the step whose recipe starts the app server.
	Reload Step
}

// RestartInputError is a restart that cannot be planned as asked.
type RestartInputError struct{ Err error }

func (e *RestartInputError) Error() string { return e.Err.Error() }
func (e *RestartInputError) Unwrap() error { return e.Err }

// PlanRestart decides req's restart without changing anything: the
// selected hosts that run an app server the preset starts (and, with
// Workers, those that run the app's workers), batched by the strategy.
func PlanRestart(ctx context.Context, st *store.Store, req RestartRequest) (*RestartPlan, error) {
	app, env := req.App, req.Env.Name
	strategy := req.Strategy
	if strategy.Kind == "" {
		strategy = DefaultStrategy(req.Env)
	}
	if strategy.Kind == StrategyCanary {
		return nil, &RestartInputError{errors.New("a restart runs with --strategy all or rolling (a canary waits for a go-ahead on new code; a restart brings none)")}
	}
	steps, err := Steps(app)
	if err != nil {
		return nil, err
	}
	var reload Step
	for _, s := range steps {
		if s.Slot == inventory.StepReload && !s.Builtin() {
			reload = s
		}
	}
	if reload.Run != djangoReloadScript {
		what := "no reload step"
		switch {
		case reload.Run == reloadScript:
			what = "the web role's own reload command (it has no preset)"
		case reload.Name != "":
			what = "its own " + reload.Name + " stage"
		}
		return nil, &RestartInputError{fmt.Errorf("app %s starts its app server with %s: opsui restarts only the app servers its Django preset runs (process: daemon, supervisord or systemd)", app.Name, what)}
	}
	live, err := st.LatestRelease(ctx, app.Name, env, true)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &RestartInputError{fmt.Errorf("no successful release of %s to %s is recorded: deploy it first", app.Name, env)}
	} else if err != nil {
		return nil, err
	}
	var hosts []inventory.Host
	var own []string
	for _, h := range req.Hosts {
		_, worker := req.Fleet.WorkerFor(app.Name, h)
		if reload.AppliesTo(h) || (req.Workers && worker) {
			hosts = append(hosts, h)
		}
		if reload.AppliesTo(h) && req.Fleet.SettingsFor(h, "web").Reload != "" {
			own = append(own, h.Name)
		}
	}
	if len(own) > 0 {
		return nil, &RestartInputError{fmt.Errorf("%s: the web role's own reload command runs the app server there, which opsui cannot restart (leave %s out with --host)",
			strings.Join(own, ", "), map[bool]string{true: "it", false: "them"}[len(own) == 1])}
	}
	if len(hosts) == 0 {
		return nil, &RestartInputError{fmt.Errorf("none of the selected hosts (%s) runs an app server of %s (the %s step's roles: %s)",
			hostNames(req.Hosts), app.Name, reload.Name, strings.Join(reload.Roles, ", "))}
	}
	src := Source{Ref: live.ReleaseID, Commit: live.Commit, Branch: live.Branch, Subject: live.Subject}
	p, err := NewPlan(req.Fleet, app, req.Env, hosts, src, live.ReleaseID, strategy)
	if err != nil {
		return nil, &PlanError{err}
	}
	last, err := lastRelease(ctx, st, app.Name, env)
	if err != nil {
		return nil, err
	}
	// The hosts restarted are named: the check before it runs compares
	// these, not the selection's others (no app server on them).
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = h.Name
	}
	p.Select, p.LastRelease = HostSelection{Names: names}, last
	return &RestartPlan{Plan: p, Live: live, Workers: req.Workers, Reload: reload}, nil
}

// WithStrategy is rp with its hosts batched by strategy instead.
func (rp *RestartPlan) WithStrategy(strategy Strategy) (*RestartPlan, error) {
	p, err := rp.Plan.WithStrategy(strategy)
	if err != nil {
		return nil, err
	}
	q := *rp
	q.Plan = p
	return &q, nil
}

// Describe writes the restart as a dry run shows it.
func (rp *RestartPlan) Describe(w io.Writer) {
	p := rp.Plan
	fmt.Fprintf(w, "restart of %s in %s: the app servers start again on release %s (%s), which stays live\n", p.App.Name, p.Env.Name,
		rp.Live.ReleaseID, ShortCommit(rp.Live.Commit))
	fmt.Fprintf(w, "%s\n", strategyLine(p.Strategy, len(p.Batches), p.MaxFail))
	for i, b := range p.Batches {
		fmt.Fprintf(w, "  batch %d: %s\n", i+1, hostNames(b))
	}
	for _, h := range p.Hosts {
		fmt.Fprintf(w, "  %s: %s\n", h.Name, rp.how(h))
	}
	fmt.Fprintln(w, "each batch, under the deploy lock: drained from the balancers, restarted, health-checked, put back")
}

// how says how host h's app server is restarted.
func (rp *RestartPlan) how(h inventory.Host) string {
	var parts []string
	if rp.Reload.AppliesTo(h) {
		set := rp.Plan.Fleet.SettingsFor(h, "web")
		switch set.Process {
		case inventory.ProcessSupervisord:
			prog, _ := inventory.SupervisorProgram(rp.Plan.App.Name, set)
			parts = append(parts, "supervisorctl stop + start "+prog)
		case inventory.ProcessSystemd:
			parts = append(parts, "systemctl restart "+inventory.SystemdUnit(rp.Plan.App.Name, set))
		default:
			parts = append(parts, "graceful re-exec of the gunicorn master (USR2, then TERM of the old master)")
		}
	}
	if _, ok := rp.Plan.Fleet.WorkerFor(rp.Plan.App.Name, h); ok && rp.Workers {
		parts = append(parts, "its workers restarted")
	}
	if len(parts) == 0 {
		return "nothing (not an app server; its workers restart only with --workers)"
	}
	return strings.Join(parts, "; ")
}

// ExecuteRestart runs rp, the restart the operator saw and confirmed,
// as it is: it refuses with a *FleetChangedError when the inventory or
// the release records changed since the plan, and when a host does not
// run the live release.
func (d *Deployer) ExecuteRestart(ctx context.Context, rp *RestartPlan) (*Outcome, error) {
	if err := CheckPlan(ctx, d.Store, rp.Plan); err != nil {
		return nil, err
	}
	began := time.Now()
	p := rp.Plan
	r, err := d.newRunner(p)
	if err != nil {
		return nil, err
	}
	r.events.steps = []Step{{Name: StepRestart}, {Name: StepHealth}}
	if rp.Workers {
		r.events.steps = append(r.events.steps, Step{Name: StepWorkers})
	}
	live := rp.Live
	// Not stored: a restart records a run, not a release (rel.ID stays 0).
	rel := &store.Release{App: p.App.Name, Env: p.Env.Name, ReleaseID: live.ReleaseID, Commit: live.Commit}
	l, err := r.startOnLive(ctx, store.KindRestart, "restart", rel, live)
	if err != nil {
		return nil, err
	}
	defer r.unlock(ctx, l)
	r.say("locked; restart of %s in %s on %s, release %s (%s) stays live", p.App.Name, p.Env.Name,
		Plural(len(r.hosts), "host", "hosts"), live.ReleaseID, ShortCommit(live.Commit))
	result := r.restartActivate(ctx, rp)
	r.restartLog(ctx, rel)
	return r.finish(ctx, rel, result, began), nil
}
