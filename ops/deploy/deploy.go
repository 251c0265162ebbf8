package deploy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// Deployer runs deploys and rollbacks.
type Deployer struct {
	Conn  remote.Connector
	Store *store.Store
	// Targets maps inventory hosts to where to reach them.
	Targets map[string]remote.Target
	// Emit receives every host's events (stages, output, final state).
	// It is called from many goroutines at once and must not block.
	Emit func(remote.Event)
	// Say receives the deploy's own progress messages (batches, locks).
	Say func(string)
	// Confirm asks the operator a yes/no question (the canary's
	// go-ahead); nil means Strategy.CanaryWait decides.
	Confirm func(ctx context.Context, question string) (bool, error)
	// Operator and Machine name who deploys, for the lock and the record.
	Operator, Machine string
	// Parallel bounds the hosts at work at once (ops.DefaultParallel when 0).
	Parallel int
	// Args is the command line, for the run record.
	Args []string
	// Secrets resolves the app's secret references (a fresh one per
	// deploy when nil).
	Secrets *Secrets
	// OnWatch receives the regression watch's status about once a
	// second (watch.go); it must not block.
	OnWatch func(WatchStatus)
}

// Timing splits a deploy's duration.
type Timing struct {
	Artifact time.Duration // git archive
	Lock     time.Duration // inspect and lock every host
	Upload   time.Duration // ship and unpack the artifact
	Prepare  time.Duration // the other steps before the switch
	Activate time.Duration // switch, reload, health check, cleanup: every batch
	Total    time.Duration
}

// Outcome is how a deploy or rollback ended.
type Outcome struct {
	ReleaseID string
	Record    int64 // the release record's id
	RunID     int64
	Kind      string // store.KindDeploy, KindRollback or KindMigrate
	Result    store.ReleaseResult
	Hosts     []HostOutcome
	Timing    Timing
	// Notes are things the operator should know (no previous release to
	// roll back to, a lock that could not be released...).
	Notes []string
	// Warnings are balancer steps that failed (also among the notes): the
	// site may be left with a backend out of rotation, so the command
	// fails even when every host got the release.
	Warnings []string
}

// Failed returns the hosts that did not end ok.
func (o *Outcome) Failed() []HostOutcome {
	var f []HostOutcome
	for _, h := range o.Hosts {
		if h.Status != HostOK {
			f = append(f, h)
		}
	}
	return f
}

// Deploy runs plan: cut the artifact, lock, prepare the release on every
// host, switch batch by batch, verify, clean up, record. The error is set
// when the deploy could not start (the artifact, the store, the lock);
// what happened to each host is in the Outcome.
func (d *Deployer) Deploy(ctx context.Context, p *Plan) (*Outcome, error) {
	began := time.Now()
	r, err := d.newRunner(p)
	if err != nil {
		return nil, err
	}
	if err := checkMaintenance(p); err != nil {
		return nil, err
	}
	envs, err := d.renderEnvs(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("deploy %s: %w", p.App.Name, err)
	}
	dir, err := os.MkdirTemp("", "opsui-release-")
	if err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	defer os.RemoveAll(dir)
	artifact := filepath.Join(dir, p.ReleaseID+".tar.gz")
	t0 := time.Now()
	if p.App.Build == nil { // else the build makes it (build_run.go)
		if err := Archive(ctx, p.App.Repo, p.Source.Commit, artifact); err != nil {
			return nil, fmt.Errorf("deploy %s: %w", p.App.Name, err)
		}
	}
	var tm Timing
	tm.Artifact = time.Since(t0)

	rel := &store.Release{App: p.App.Name, Env: p.Env.Name, ReleaseID: p.ReleaseID, Kind: store.KindDeploy,
		Commit: p.Source.Commit, Branch: p.Source.RefName(), Subject: p.Source.Subject, Operator: d.Operator,
		Strategy: string(p.Strategy.Kind)}
	if err := r.recordRun(ctx, store.KindDeploy, rel); err != nil {
		return nil, err
	}
	if p.App.Build != nil {
		t0 = time.Now()
		if err := r.build(ctx, artifact); err != nil {
			return nil, r.buildFailed(ctx, err)
		}
		tm.Artifact += time.Since(t0)
	}
	t0 = time.Now()
	l, err := r.lock(ctx)
	if err != nil {
		return nil, r.refuse(ctx, err)
	}
	defer r.unlock(ctx, l)
	if !p.Resume {
		r.freshReleaseID(ctx, rel)
	}
	if err := r.createRelease(ctx, rel, r.resumedRecord(ctx)); err != nil {
		return nil, r.refuse(ctx, err)
	}
	note := r.notifyStart(ctx, rel)
	tm.Lock = time.Since(t0)
	if p.Resume {
		r.skipDone()
	}
	r.say("locked; release %s (%s) to %s", p.ReleaseID, ShortCommit(p.Source.Commit), Plural(len(r.hosts), "host", "hosts"))
	// The balancers are read under the lock, and what is out of rotation
	// is said before anything changes (activate reads them again if this fails).
	if lbs, err := r.newBalancers(ctx); err == nil {
		r.lbs = lbs
		for _, l := range lbs.describe() {
			r.say("%s", l)
		}
	} else {
		r.say("warning: %v (no host will be switched unless it can be read before the first batch)", err)
	}

	r.watch = r.startWatch(ctx) // the baseline runs while the release is prepared
	defer r.watch.stop()

	prepare, activate := split(p.Steps)
	t0 = time.Now()
	uploaded, err := r.prepare(ctx, artifact, envs, prepare[1:])
	if err != nil {
		r.maintenanceOff(ctx)
		return r.finish(ctx, rel, store.ReleaseFailed, began), err
	}
	tm.Upload = uploaded
	tm.Prepare = time.Since(t0) - uploaded

	t0 = time.Now()
	result := r.activate(ctx, activate)
	r.maintenanceOff(ctx) // after the last switch, or the rollback
	tm.Activate = time.Since(t0)
	r.record(ctx, result)
	note.finish(ctx, store.KindDeploy, result, began)
	out := r.finish(ctx, rel, store.ReleaseResult(result), began)
	out.Warnings = append(r.lbs.Warnings(), r.maintWarnings()...)
	tm.Total = out.Timing.Total
	out.Timing = tm
	return out, nil
}

// resumedRecord is the release record a resumed deploy carries on (nil
// when there is none to resume).
func (r *runner) resumedRecord(ctx context.Context) *store.Release {
	if !r.plan.Resume {
		return nil
	}
	rel, err := r.Store.ReleaseNamed(ctx, r.plan.App.Name, r.plan.Env.Name, r.plan.ReleaseID)
	if err != nil || rel.Kind != store.KindDeploy {
		return nil
	}
	return &rel
}

// skipDone marks the hosts a resumed deploy finds on its release already:
// they are done and nothing runs on them again.
func (r *runner) skipDone() {
	var done []string
	for _, h := range r.hosts {
		if h.prevRelease == r.plan.ReleaseID {
			h.mu.Lock()
			h.done, h.switched = true, true
			h.mu.Unlock()
			done = append(done, h.host.Name)
		}
	}
	if len(done) > 0 {
		r.say("resuming release %s: %s already run it and are left alone", r.plan.ReleaseID, strings.Join(done, ", "))
	}
}

// step runs a shell step on the live hosts it applies to (one of them
// when it runs once), all at once.
func (r *runner) step(ctx context.Context, s Step, hs []*hostRun) {
	r.forEach(stepHosts(s, hs), func(h *hostRun) { r.runOn(ctx, s, h) })
}

// stepHosts are the hosts of hs a step runs on: the live ones it applies
// to, or one of them when it runs once.
func stepHosts(s Step, hs []*hostRun) []*hostRun {
	var on []*hostRun
	for _, h := range hs {
		if h.todo() && s.AppliesTo(h.host) {
			on = append(on, h)
		}
	}
	if s.Once && len(on) > 1 {
		on = []*hostRun{onceHost(on)}
	}
	return on
}

// runOn runs a step on one host. Whether a step that runs once ran to its
// end there is kept for onceRan: the host may have failed for another
// reason meanwhile (its own collectstatic alongside the migration).
func (r *runner) runOn(ctx context.Context, s Step, h *hostRun) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = defaultStepTimeout
	}
	r.events.stageIn(ctx, h, s.Name)
	ok := true
	switch {
	case s.Name == StepHealth && s.Builtin():
		ok = r.healthCheck(ctx, h, r.plan.ReleaseID, r.plan.Source.Commit)
	case s.Name == StepCleanup && s.Builtin():
		env := r.plan.env(h.host, s)
		env["OPSUI_KEEP"] = fmt.Sprint(r.plan.App.Keep())
		env["OPSUI_PROTECT"] = strings.TrimSpace(r.plan.KnownGood + " " + r.plan.ReleaseID + " " + h.prevRelease)
		// A cleanup that fails leaves extra releases; it does not fail the host.
		if _, done := r.runStep(ctx, h, s.Name, cleanupScript, env, timeout, nil, false); !done {
			r.notef("%s: cleaning up old releases failed; they stay", h.host.Name)
		}
	case s.Name == StepMigrate && s.Run == migrateScript:
		ok = r.migrate(ctx, h, s, timeout)
	case s.Run == staticOnceScript:
		r.staticStep(ctx, s, h, timeout)
		ok = h.todo()
	default:
		var out string
		out, ok = r.runStep(ctx, h, s.Name, withEnv(s.Run), r.plan.env(h.host, s), timeout, nil, true)
		for _, w := range requirementWarnings(out) {
			r.notef("%s: requirements: %s", h.host.Name, w)
		}
	}
	if s.Once {
		r.onceOK.Store(onceKey(h, s), ok)
	}
	r.clock.done(h.host.Name)
}

// migrate runs the migration step s on h, after its compatibility check
// (in the same Django process when it can), and reports whether the
// schema is known: false when a migration started and did not finish.
// One refused by the check or the balancers never started: every host
// failed then, and the schema is as it was.
func (r *runner) migrate(ctx context.Context, h *hostRun, s Step, timeout time.Duration) bool {
	if r.kind == store.KindDeploy {
		if handled, ok := r.migrateChecked(ctx, h, s, timeout); handled {
			return ok
		}
		if !r.gateMigrations(ctx, h, s) || !r.maintenanceOn(ctx) {
			return true
		}
		if checksMigrations(r.plan.App) {
			r.events.stageIn(ctx, h, s.Name) // back from the check: the migration's output follows
		}
	}
	out, ok := r.runStep(ctx, h, s.Name, withEnv(s.Run), r.plan.env(h.host, s), timeout, nil, true)
	if ok && migrationsRan(out) {
		r.migrated.Store(true)
	}
	return ok
}

// onceKey names a step that runs once, on h, in runner.onceOK.
func onceKey(h *hostRun, s Step) string { return h.host.Name + "\x00" + s.Name }

// onceHost picks the host a once-only step runs on: the first with the
// db-migrate role, else the first.
func onceHost(hs []*hostRun) *hostRun {
	for _, h := range hs {
		if h.host.HasRole(RoleMigrate) {
			return h
		}
	}
	return hs[0]
}

// healthCheck runs the host's health check, expecting releaseID/commit.
func (r *runner) healthCheck(ctx context.Context, h *hostRun, releaseID, commit string) bool {
	url, expect, retries, deadline, ok := r.plan.health(h.host, releaseID, commit)
	if !ok {
		return true
	}
	env := map[string]string{"OPSUI_HEALTH_URL": url, "OPSUI_EXPECT": expect,
		"OPSUI_RETRIES": fmt.Sprint(retries), "OPSUI_DEADLINE": fmt.Sprint(int(deadline.Seconds()))}
	if hc := r.plan.App.Health; hc != nil {
		env["OPSUI_HEALTH_HEADERS"] = strings.Join(hc.RequestHeaders(), "\n") // checked at import: no line breaks inside one
	}
	_, ok = r.runStep(ctx, h, StepHealth, healthScript, env, deadline+15*time.Second, nil, true)
	r.clock.done(h.host.Name)
	return ok
}

// switchHost points the host's current at release.
func (r *runner) switchHost(ctx context.Context, h *hostRun, release string, fail bool) bool {
	env := map[string]string{"DEPLOY_TO": h.deployTo, "OPSUI_TARGET": release}
	_, ok := r.runStep(ctx, h, StepSwitch, switchScript, env, time.Minute, nil, fail)
	r.clock.done(h.host.Name)
	return ok
}

// inventoryHosts returns the inventory hosts of hs.
func inventoryHosts(hs []*hostRun) []inventory.Host {
	out := make([]inventory.Host, len(hs))
	for i, h := range hs {
		out[i] = h.host
	}
	return out
}

// freshReleaseID makes the release id later than every release recorded,
// read under the lock: ids are seconds, and a deploy that finished between
// this one's plan and its lock may have taken the id the plan chose (its
// upload would then be refused: "already exists on this host").
func (r *runner) freshReleaseID(ctx context.Context, rel *store.Release) {
	p := r.plan
	highest, err := r.Store.HighestReleaseID(ctx, p.App.Name, p.Env.Name)
	if err != nil || highest < p.ReleaseID {
		return
	}
	id := NewReleaseID(time.Now(), highest)
	r.say("release id %s was taken by a deploy that finished meanwhile: this release is %s", p.ReleaseID, id)
	p.ReleaseID, rel.ReleaseID = id, id
}
