package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/store"
)

// Deployer runs deploys and rollbacks.
type Deployer struct {
	Conn  ops.Connector
	Store *store.Store
	// Targets maps inventory hosts to where to reach them.
	Targets map[string]ops.Target
	// Emit receives every host's events (stages, output, final state).
	// It is called from many goroutines at once and must not block.
	Emit func(ops.Event)
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
	Result    string // a store.Release* result
	Hosts     []HostOutcome
	Timing    Timing
	// Notes are things the operator should know (no previous release to
	// roll back to, a lock that could not be released...).
	Notes []string
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

// runner is one deploy or rollback in progress.
type runner struct {
	*Deployer
	plan     *Plan
	conn     ops.Connector
	parallel int
	events   emitter
	hosts    []*hostRun
	byName   map[string]*hostRun
	rec      *ops.Recorder
	// check names a release whose REVISION the inspection reads on every
	// host (a rollback's target), into hostRun.checkRev.
	check string
	// lbs drains batches from the environment's balancers (set by activate).
	lbs *balancers
	// migrated is set once the migrate step applied migrations.
	migrated atomic.Bool
	notesMu  sync.Mutex
	notes    []string
}

func (d *Deployer) say(format string, args ...any) {
	if d.Say != nil {
		d.Say(fmt.Sprintf(format, args...))
	}
}

func (r *runner) notef(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.notesMu.Lock()
	r.notes = append(r.notes, msg)
	r.notesMu.Unlock()
	r.say("%s", msg)
}

func (d *Deployer) newRunner(p *Plan) (*runner, error) {
	r := &runner{Deployer: d, plan: p, conn: d.Conn, parallel: d.Parallel, byName: map[string]*hostRun{}}
	if r.parallel <= 0 {
		r.parallel = ops.DefaultParallel
	}
	for _, h := range p.Hosts {
		t, ok := d.Targets[h.Name]
		if !ok {
			return nil, fmt.Errorf("no SSH target for host %s", h.Name)
		}
		hr := &hostRun{host: h, target: t, deployTo: p.DeployTo(h), began: time.Now()}
		r.hosts = append(r.hosts, hr)
		r.byName[h.Name] = hr
	}
	r.events = emitter{steps: p.Steps, emit: func(ev ops.Event) {
		if r.rec != nil {
			r.rec.Event(ev)
		}
		if d.Emit != nil {
			d.Emit(ev)
		}
	}}
	return r, nil
}

func (r *runner) names() []string {
	ns := make([]string, len(r.hosts))
	for i, h := range r.hosts {
		ns[i] = h.host.Name
	}
	return ns
}

// start records the run and the release, and takes the lock.
func (r *runner) start(ctx context.Context, kind string, rel *store.Release) (*HostLock, error) {
	var err error
	r.rec, err = ops.StartRecorder(ctx, r.Store, store.NewRun{Kind: kind, App: r.plan.App.Name, Env: r.plan.Env.Name,
		Operator: r.Operator, Command: fmt.Sprintf("%s %s to %s: release %s (%s)", kind, r.plan.App.Name, r.plan.Env.Name, rel.ReleaseID, short(rel.Commit)),
		Args: r.Args, Hosts: r.names()})
	if err != nil {
		return nil, err
	}
	for _, h := range r.hosts {
		r.events.send(ops.Event{Host: h.host.Name, Kind: ops.EventQueued})
	}
	if kind == store.KindDeploy || kind == store.KindRollback {
		rel.RunID.Int64, rel.RunID.Valid = r.rec.RunID(), true
		if err := r.Store.CreateRelease(ctx, rel, r.names()); err != nil {
			return nil, err
		}
	}
	return r.lock(ctx)
}

// lock inspects every host at once (which also warms their connections),
// then takes the lock host by host.
func (r *runner) lock(ctx context.Context) (*HostLock, error) {
	r.say("locking %s/%s on %d hosts", r.plan.App.Name, r.plan.Env.Name, len(r.hosts))
	r.forEach(r.hosts, func(h *hostRun) {
		r.events.stage(h, "inspect")
		env := map[string]string{"DEPLOY_TO": h.deployTo, "OPSUI_CHECK": r.check}
		out, ok := r.runStep(ctx, h, "inspect", inspectScript, env, time.Minute, nil, true)
		if ok {
			for line := range strings.SplitSeq(out, "\n") {
				if v, ok := strings.CutPrefix(line, "current="); ok {
					h.prevRelease = v
				} else if v, ok := strings.CutPrefix(line, "revision="); ok {
					h.prevCommit = v
				} else if v, ok := strings.CutPrefix(line, "release "+r.check+"="); ok && r.check != "" {
					h.checkRev = v
				}
			}
		}
	})
	var lh []lockHost
	for _, h := range r.hosts {
		if !h.live() {
			return nil, fmt.Errorf("cannot lock %s/%s: %s is not reachable (%s); deploy without it by selecting the other hosts",
				r.plan.App.Name, r.plan.Env.Name, h.host.Name, h.class)
		}
		lh = append(lh, lockHost{target: h.target, deployTo: h.deployTo})
	}
	owner := Owner{Operator: r.Operator, Machine: r.Machine, PID: os.Getpid(), RunID: r.rec.RunID(), Token: NewToken(), Since: time.Now()}
	l, err := acquireLock(ctx, r.conn, r.plan.App.Name, r.plan.Env.Name, lh, owner, func() {
		_ = r.Store.HeartbeatLock(context.Background(), owner.Token)
	})
	if err != nil {
		return nil, err
	}
	rec := store.LockRecord{App: r.plan.App.Name, Env: r.plan.Env.Name, Operator: owner.Operator, Machine: owner.Machine,
		PID: owner.PID, Token: owner.Token}
	rec.RunID.Int64, rec.RunID.Valid = owner.RunID, true
	if err := r.Store.RecordLock(ctx, &rec, r.names()); err != nil {
		_ = l.Release(ctx)
		return nil, err
	}
	return l, nil
}

// unlock releases the lock, whatever happened, and records it.
func (r *runner) unlock(ctx context.Context, l *HostLock) {
	ctx = context.WithoutCancel(ctx)
	if err := l.Release(ctx); err != nil {
		r.notef("%v", err)
		return
	}
	_ = r.Store.ReleaseLock(ctx, l.Owner.Token)
}

// finish records every host's end and the release's result.
func (r *runner) finish(ctx context.Context, rel *store.Release, result string, began time.Time) *Outcome {
	ctx = context.WithoutCancel(ctx)
	out := &Outcome{ReleaseID: rel.ReleaseID, Record: rel.ID, Result: result}
	var hrs []ops.HostResult
	var reached []string
	for _, h := range r.hosts {
		h.mu.Lock()
		ho := HostOutcome{Host: h.host.Name, Step: h.failStep, Class: h.class, Err: h.err, Tail: h.tail,
			Duration: time.Since(h.began), Release: h.prevRelease}
		hr := ops.HostResult{Host: h.host.Name, Code: 0, Duration: ho.Duration, Class: h.class, Err: h.err}
		switch {
		case h.rolledBack:
			ho.Status, hr.Status = HostRolledBack, ops.StatusFailed
		case h.failed && h.class == ops.ClassCancelled:
			ho.Status, hr.Status = HostCancelled, ops.StatusCancelled
		case h.failed:
			ho.Status, hr.Status = HostFailed, ops.StatusFailed
		case h.switched:
			ho.Status, hr.Status, ho.Release = HostOK, ops.StatusOK, rel.ReleaseID
		default:
			ho.Status, hr.Status = HostSkipped, ops.StatusCancelled
			hr.Class, hr.Err = ops.ClassCancelled, errors.New("not reached: the deploy stopped before this host's batch")
		}
		if h.switched && !h.rolledBack {
			ho.Release = rel.ReleaseID
			reached = append(reached, h.host.Name)
		}
		h.mu.Unlock()
		if hr.Status == ops.StatusOK {
			r.events.send(ops.Event{Host: h.host.Name, Kind: ops.EventExited, Code: 0, Duration: ho.Duration})
		} else if ho.Status == HostRolledBack || ho.Status == HostSkipped {
			r.events.send(ops.Event{Host: h.host.Name, Kind: ops.EventFailed, Class: hr.Class, Err: hr.Err, Duration: ho.Duration})
		}
		out.Hosts = append(out.Hosts, ho)
		hrs = append(hrs, hr)
	}
	if r.rec != nil {
		out.RunID = r.rec.RunID()
		if err := r.rec.Finish(ctx, ops.NewResult(hrs, time.Since(began))); err != nil {
			r.notef("%v", err)
		}
	}
	if rel.ID != 0 {
		if err := r.Store.FinishRelease(ctx, rel.ID, result, r.migrated.Load()); err != nil {
			r.notef("%v", err)
		}
		if err := r.Store.SetReleaseHosts(ctx, rel.ID, reached); err != nil {
			r.notef("%v", err)
		}
	}
	r.notesMu.Lock()
	out.Notes = slices.Clone(r.notes)
	r.notesMu.Unlock()
	if out.RunID != 0 {
		if err := r.Store.AppendRunNotes(ctx, out.RunID, out.Notes); err != nil {
			out.Notes = append(out.Notes, err.Error())
		}
	}
	out.Timing.Total = time.Since(began)
	return out
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
	dir, err := os.MkdirTemp("", "opsui-release-")
	if err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	defer os.RemoveAll(dir)
	artifact := filepath.Join(dir, p.ReleaseID+".tar.gz")
	t0 := time.Now()
	if err := Archive(ctx, p.App.Repo, p.Source.Commit, artifact); err != nil {
		return nil, fmt.Errorf("deploy %s: %w", p.App.Name, err)
	}
	var tm Timing
	tm.Artifact = time.Since(t0)

	rel := &store.Release{App: p.App.Name, Env: p.Env.Name, ReleaseID: p.ReleaseID, Kind: store.KindDeploy,
		Commit: p.Source.Commit, Branch: p.Source.Branch, Subject: p.Source.Subject, Operator: d.Operator,
		Strategy: p.Strategy.Kind}
	t0 = time.Now()
	l, err := r.start(ctx, store.KindDeploy, rel)
	if err != nil {
		out := r.finish(ctx, rel, store.ReleaseAborted, began)
		return out, err
	}
	defer r.unlock(ctx, l)
	note := r.notifyStart(ctx, rel)
	tm.Lock = time.Since(t0)
	if p.Resume {
		r.skipDone()
	}
	r.say("locked; release %s (%s) to %d hosts", p.ReleaseID, short(p.Source.Commit), len(r.hosts))

	prepare, activate := split(p.Steps)
	t0 = time.Now()
	if err := r.upload(ctx, artifact); err != nil {
		return r.finish(ctx, rel, store.ReleaseFailed, began), err
	}
	tm.Upload = time.Since(t0)
	t0 = time.Now()
	for _, s := range prepare[1:] {
		r.step(ctx, s, r.hosts)
	}
	tm.Prepare = time.Since(t0)

	t0 = time.Now()
	result := r.activate(ctx, activate)
	tm.Activate = time.Since(t0)
	r.record(ctx, result)
	note.finish(ctx, store.KindDeploy, result, began)
	out := r.finish(ctx, rel, result, began)
	tm.Total = out.Timing.Total
	out.Timing = tm
	return out, nil
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

// upload ships the artifact to every host at once, as the upload step's
// standard input: the file is opened once and read by each host through
// its own section reader.
func (r *runner) upload(ctx context.Context, artifact string) error {
	f, err := os.Open(artifact)
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	r.say("uploading %d KiB to %d hosts", fi.Size()>>10, len(r.hosts))
	step := Step{Name: StepUpload}
	var hs []*hostRun
	for _, h := range r.hosts {
		if h.todo() {
			hs = append(hs, h)
		}
	}
	r.forEach(hs, func(h *hostRun) {
		r.events.stage(h, StepUpload)
		in := ops.Input{R: io.NewSectionReader(f, 0, fi.Size()), Size: fi.Size()}
		env := r.plan.env(h.host, step)
		if r.plan.Resume {
			env["OPSUI_RESUME"] = "1"
		}
		r.runStep(ctx, h, StepUpload, uploadScript, env, 0, &in, true)
	})
	return nil
}

// step runs a shell step on the live hosts it applies to (one of them
// when it runs once).
func (r *runner) step(ctx context.Context, s Step, hs []*hostRun) {
	var on []*hostRun
	for _, h := range hs {
		if h.todo() && s.AppliesTo(h.host) {
			on = append(on, h)
		}
	}
	if s.Once && len(on) > 1 {
		on = []*hostRun{onceHost(on)}
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = defaultStepTimeout
	}
	r.forEach(on, func(h *hostRun) {
		r.events.stage(h, s.Name)
		switch {
		case s.Name == StepHealth && s.Builtin():
			r.healthCheck(ctx, h, r.plan.ReleaseID, r.plan.Source.Commit)
		case s.Name == StepCleanup && s.Builtin():
			env := r.plan.env(h.host, s)
			env["OPSUI_KEEP"] = fmt.Sprint(r.plan.App.Keep())
			env["OPSUI_PROTECT"] = strings.TrimSpace(r.plan.KnownGood + " " + r.plan.ReleaseID + " " + h.prevRelease)
			// A cleanup that fails leaves extra releases; it does not fail the host.
			if _, ok := r.runStep(ctx, h, s.Name, cleanupScript, env, timeout, nil, false); !ok {
				r.notef("%s: cleaning up old releases failed; they stay", h.host.Name)
			}
		case s.Name == StepMigrate && s.Run == migrateScript:
			if out, ok := r.runStep(ctx, h, s.Name, s.Run, r.plan.env(h.host, s), timeout, nil, true); ok && migrationsRan(out) {
				r.migrated.Store(true)
			}
		default:
			r.runStep(ctx, h, s.Name, s.Run, r.plan.env(h.host, s), timeout, nil, true)
		}
	})
}

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
	_, ok = r.runStep(ctx, h, StepHealth, healthScript, env, deadline+15*time.Second, nil, true)
	return ok
}

// switchHost points the host's current at release.
func (r *runner) switchHost(ctx context.Context, h *hostRun, release string, fail bool) bool {
	env := map[string]string{"DEPLOY_TO": h.deployTo, "OPSUI_TARGET": release}
	_, ok := r.runStep(ctx, h, StepSwitch, switchScript, env, time.Minute, nil, fail)
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
