package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opsui/opsui/ops/record"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// runner is one deploy or rollback in progress.
type runner struct {
	*Deployer
	plan     *Plan
	conn     remote.Connector
	parallel int
	events   emitter
	hosts    []*hostRun
	byName   map[string]*hostRun
	rec      *record.Recorder
	// check names a release whose REVISION the inspection reads on every
	// host (a rollback's target), into hostRun.checkRev.
	check string
	// lbs drains batches from the environment's balancers (set by activate).
	lbs *balancers
	// watch is the regression watch (watch.go); nil when not watched.
	watch *watcher
	// held is the deploy lock once taken: every step on a host is fenced by it.
	held *HostLock
	// migrated is set once the migrate step applied migrations.
	migrated atomic.Bool
	// onceFailed says which step that runs once (the migration) did not
	// finish, and on which host: no host may then be switched, whatever
	// --max-fail allows (set before prepare returns; read by activate).
	onceFailed string
	// onceOK holds, by onceKey, whether a step that runs once ran to its
	// end on its host.
	onceOK  sync.Map
	notesMu sync.Mutex
	notes   []string
	// clock times each host's own part, for its record.
	clock hostClock
	kind  string // the run's: store.KindDeploy, KindRollback or KindMigrate
	// static is the deploy's static build (static: once).
	static staticBuild
	// maint is deploy --maintenance's state (maintenance_deploy.go).
	maint maintRun
}

// hostClock times each host's own part in a run: from its first step to
// the end of its last, not the whole run's duration.
type hostClock struct {
	mu          sync.Mutex
	first, last map[string]time.Time
}

// saw notes an event of host at t: a stage starts its part.
func (c *hostClock) saw(host string, t time.Time, stage bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.first == nil {
		c.first, c.last = map[string]time.Time{}, map[string]time.Time{}
	}
	if _, ok := c.first[host]; !ok {
		if !stage {
			return
		}
		c.first[host] = t
	}
	if t.After(c.last[host]) {
		c.last[host] = t
	}
}

// done notes that a step of host ended now.
func (c *hostClock) done(host string) { c.saw(host, time.Now(), false) }

// took is how long host's part lasted so far (0: it never started).
func (c *hostClock) took(host string) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last[host].Sub(c.first[host])
}

func (d *Deployer) say(format string, args ...any) {
	if d.Say != nil {
		d.Say(fmt.Sprintf(format, args...))
	}
}

func (r *runner) notef(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.notesMu.Lock()
	seen := slices.Contains(r.notes, msg) // the switch back drains a batch again: say it once
	if !seen {
		r.notes = append(r.notes, msg)
	}
	r.notesMu.Unlock()
	if !seen {
		r.say("%s", msg)
	}
}

func (d *Deployer) newRunner(p *Plan) (*runner, error) {
	r := &runner{Deployer: d, plan: p, conn: d.Conn, parallel: d.Parallel, byName: map[string]*hostRun{}}
	if r.parallel <= 0 {
		r.parallel = remote.DefaultParallel
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
	r.events = emitter{steps: p.Steps, emit: func(ev remote.Event) {
		r.clock.saw(ev.Host, ev.Time, ev.Kind == remote.EventStage)
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

// start records the run and takes the lock. The release is recorded once
// the lock is held (createRelease): an attempt refused at the lock is a
// run, not a release.
func (r *runner) start(ctx context.Context, kind string, rel *store.Release) (*HostLock, error) {
	if err := r.recordRun(ctx, kind, rel); err != nil {
		return nil, err
	}
	return r.lock(ctx)
}

// recordRun records the run (a deploy's build runs between it and the lock).
func (r *runner) recordRun(ctx context.Context, kind string, rel *store.Release) error {
	r.kind = kind
	var err error
	r.rec, err = record.StartRecorder(ctx, r.Store, store.NewRun{Kind: kind, App: r.plan.App.Name, Env: r.plan.Env.Name,
		Operator: r.Operator, Command: fmt.Sprintf("%s %s to %s: release %s (%s)", kind, r.plan.App.Name, r.plan.Env.Name, rel.ReleaseID, ShortCommit(rel.Commit)),
		Args: r.Args, Hosts: r.names()})
	if err != nil {
		return err
	}
	for _, h := range r.hosts {
		r.events.send(remote.Event{Host: h.host.Name, Kind: remote.EventQueued})
	}
	return nil
}

// createRelease records rel as running, under the lock. A resumed deploy
// carries on the record of the release it resumes (resumed, when not
// nil), so the release is listed once, and keeps what its first attempt
// did (the migrations it applied).
func (r *runner) createRelease(ctx context.Context, rel *store.Release, resumed *store.Release) error {
	rel.RunID.Int64, rel.RunID.Valid = r.rec.RunID(), true
	if resumed != nil {
		if err := r.Store.ReopenRelease(ctx, resumed.ID, r.rec.RunID()); err != nil {
			return err
		}
		rel.ID = resumed.ID
		if resumed.MigrationsApplied {
			r.migrated.Store(true)
		}
		return nil
	}
	return r.Store.CreateRelease(ctx, rel, r.names())
}

// lock connects to every host at once (naming an unreachable host before
// any lock is taken), takes the lock, and reads, under the lock, what the
// deploy relies on: what current points at (the auto-rollback target, a
// release cleanup protects), the rollback target's REVISION and the last
// known-good release; a deploy that finished meanwhile changed them. The
// reading runs in the session that takes the lock on each host, right
// after it is taken.
func (r *runner) lock(ctx context.Context) (*HostLock, error) {
	r.say("locking %s/%s on %s", r.plan.App.Name, r.plan.Env.Name, Plural(len(r.hosts), "host", "hosts"))
	r.connect(ctx)
	var lh []lockHost
	for _, h := range r.hosts {
		if !h.live() {
			return nil, fmt.Errorf("cannot lock %s/%s: %s is not reachable (%s); deploy without it by selecting the other hosts",
				r.plan.App.Name, r.plan.Env.Name, h.host.Name, h.class)
		}
		lh = append(lh, lockHost{target: h.target, deployTo: h.deployTo, read: inspectScript, readEnv: r.inspectEnv(h)})
	}
	owner := Owner{Operator: r.Operator, Machine: r.Machine, PID: os.Getpid(), RunID: r.rec.RunID(), Token: NewToken(), Since: time.Now()}
	l, err := acquireLock(ctx, r.conn, r.plan.App.Name, r.plan.Env.Name, lh, owner, func() {
		if err := r.Store.HeartbeatLock(context.Background(), owner.Token); err != nil {
			r.say("%v", err)
		}
	})
	if err != nil {
		return nil, err
	}
	rec := store.LockRecord{App: r.plan.App.Name, Env: r.plan.Env.Name, Operator: owner.Operator, Machine: owner.Machine,
		PID: owner.PID, Token: owner.Token}
	rec.RunID.Int64, rec.RunID.Valid = owner.RunID, true
	if err := r.Store.RecordLock(ctx, &rec, r.names()); err != nil {
		if rerr := l.Release(ctx); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return nil, err
	}
	r.held = l
	for _, h := range r.hosts {
		h.readInspection(l.Read(h.host.Name), r.check)
	}
	if kg, err := r.Store.LatestRelease(ctx, r.plan.App.Name, r.plan.Env.Name, true); err == nil {
		r.plan.KnownGood = kg.ReleaseID
	}
	return l, nil
}

// connect opens every host's connection at once, before any lock is
// taken: an unreachable host, or one whose key is refused, is named then,
// and the lock's sessions find the connections ready. What the deploy
// reads on the hosts it reads under the lock (lockHost.read).
func (r *runner) connect(ctx context.Context) {
	r.forEach(r.hosts, func(h *hostRun) {
		r.events.stage(h, stepInspect)
		if _, err := r.conn.Client(ctx, h.target); err != nil {
			he := remote.Classify(h.host.Name, err)
			r.fail(h, stepInspect, he.Class, he)
		}
	})
}

// inspectEnv is inspectScript's environment on h.
func (r *runner) inspectEnv(h *hostRun) map[string]string {
	return map[string]string{"DEPLOY_TO": h.deployTo, "OPSUI_CHECK": r.check}
}

// readInspection reads inspectScript's output: what current points at,
// its REVISION, and check's REVISION.
func (h *hostRun) readInspection(out, check string) {
	h.prevRelease, h.prevCommit, h.checkRev = "", "", ""
	for line := range strings.SplitSeq(out, "\n") {
		if v, ok := strings.CutPrefix(line, "current="); ok {
			h.prevRelease = v
		} else if v, ok := strings.CutPrefix(line, "revision="); ok {
			h.prevCommit = v
		} else if v, ok := strings.CutPrefix(line, "release "+check+"="); ok && check != "" {
			h.checkRev = v
		}
	}
}

// unlock releases the lock, whatever happened, and records it.
func (r *runner) unlock(ctx context.Context, l *HostLock) {
	ctx = context.WithoutCancel(ctx)
	if err := l.Release(ctx); err != nil {
		r.unlockNote(ctx, err.Error())
		return
	}
	if err := r.Store.ReleaseLock(ctx, l.Owner.Token); err != nil {
		r.unlockNote(ctx, fmt.Sprintf("warning: the lock was released on the hosts but the store still records it held: %v", err))
	}
}

// unlockNote reports a problem found releasing the lock: unlock runs after
// the run's record is finished, so the note is also appended to it.
func (r *runner) unlockNote(ctx context.Context, msg string) {
	r.notef("%s", msg)
	if r.rec != nil && r.rec.RunID() != 0 {
		if err := r.Store.AppendRunNotes(ctx, r.rec.RunID(), []string{msg}); err != nil {
			r.say("%v", err)
		}
	}
}

// finish records every host's end and the release's result; the run ends
// with the release's word (store.RunOfRelease). Each host's record says
// where it failed (not what ran last: a rollback's health check), "not
// reached" when its batch never started, and its own duration.
func (r *runner) finish(ctx context.Context, rel *store.Release, result store.ReleaseResult, began time.Time) *Outcome {
	ctx = context.WithoutCancel(ctx)
	out := &Outcome{ReleaseID: rel.ReleaseID, Record: rel.ID, Kind: r.kind, Result: result}
	var hrs []remote.HostResult
	var parts []store.HostPart
	var reached []string
	for _, h := range r.hosts {
		took := r.clock.took(h.host.Name)
		h.mu.Lock()
		herr := h.err
		if h.rolledBack && h.back != "" && herr != nil {
			// What became of it after the failure goes with the failure,
			// so every screen and the record say both.
			herr = &backError{err: herr, back: h.back, own: h.failStep != rolledBackStep}
		}
		ho := HostOutcome{Host: h.host.Name, Step: h.failStep, Class: h.class, Err: herr, Tail: h.tail,
			Duration: took, Release: h.prevRelease}
		hr := remote.HostResult{Host: h.host.Name, Code: 0, Duration: took, Class: h.class, Err: herr}
		part := store.HostPart{Host: h.host.Name, Step: h.failStep, Took: took}
		switch {
		case h.rolledBack && h.failStep == rolledBackStep:
			// Switched back because another host failed: it did not fail.
			ho.Status, hr.Status, part.Status, part.Step, ho.Step = HostRolledBack, remote.StatusFailed, store.HostRolledBack, "", ""
		case h.rolledBack:
			ho.Status, hr.Status, part.Status = HostRolledBack, remote.StatusFailed, store.HostFailed
		case h.failed && h.class == remote.ClassCancelled:
			ho.Status, hr.Status, part.Status = HostCancelled, remote.StatusCancelled, store.HostCancelled
		case h.failed:
			ho.Status, hr.Status, part.Status = HostFailed, remote.StatusFailed, store.HostFailed
		case h.switched:
			ho.Status, hr.Status, part.Status, ho.Release = HostOK, remote.StatusOK, store.HostOK, rel.ReleaseID
		default:
			ho.Status, hr.Status, part.Status, part.Step = HostSkipped, remote.StatusCancelled, store.HostSkipped, store.HostNotReached
			ho.Step = store.HostNotReached
			hr.Class, hr.Err = remote.ClassCancelled, errors.New("not reached: the deploy stopped before this host's batch")
		}
		if h.switched && !h.rolledBack {
			ho.Release = rel.ReleaseID
			reached = append(reached, h.host.Name)
		}
		h.mu.Unlock()
		if hr.Status == remote.StatusOK {
			r.events.send(remote.Event{Host: h.host.Name, Kind: remote.EventExited, Code: 0, Duration: ho.Duration})
		} else if ho.Status == HostRolledBack || ho.Status == HostSkipped {
			r.events.send(remote.Event{Host: h.host.Name, Kind: remote.EventFailed, Class: hr.Class, Err: hr.Err, Duration: ho.Duration})
		}
		out.Hosts = append(out.Hosts, ho)
		hrs = append(hrs, hr)
		parts = append(parts, part)
	}
	if r.rec != nil {
		out.RunID = r.rec.RunID()
		res := remote.NewResult(hrs, time.Since(began))
		if err := r.rec.Finish(ctx, res); err != nil {
			r.notef("%v", err)
		}
		if err := r.Store.FinishRun(ctx, out.RunID, store.RunOfRelease(result), res.Summary()); err != nil {
			r.notef("%v", err)
		}
		if err := r.Store.RecordHostParts(ctx, out.RunID, parts); err != nil {
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

// rolledBackStep is the step abort records for a host it switched back
// although the host itself did not fail.
const rolledBackStep = "rolled back"

// refuse records an attempt that never started (the lock is held, a host
// cannot be reached, a rollback's release is missing): a run whose result
// is refused and whose summary gives the reason first; no release record;
// every host that did not fail is not reached. Nothing is emitted per
// host: the reason is the news. It returns the reason, with the run.
func (r *runner) refuse(ctx context.Context, why error) error {
	ctx = context.WithoutCancel(ctx)
	if r.rec == nil {
		return why
	}
	var hrs []remote.HostResult
	var parts []store.HostPart
	for _, h := range r.hosts {
		took := r.clock.took(h.host.Name)
		h.mu.Lock()
		hr := remote.HostResult{Host: h.host.Name, Status: remote.StatusCancelled, Code: -1, Duration: took, Class: remote.ClassCancelled,
			Err: errors.New("not reached: the attempt was refused")}
		part := store.HostPart{Host: h.host.Name, Status: store.HostSkipped, Step: store.HostNotReached, Took: took}
		if h.failed {
			hr.Status, hr.Class, hr.Err = remote.StatusFailed, h.class, h.err
			part.Status, part.Step = store.HostFailed, h.failStep
		}
		h.mu.Unlock()
		hrs = append(hrs, hr)
		parts = append(parts, part)
	}
	id := r.rec.RunID()
	errs := []error{r.rec.Finish(ctx, remote.NewResult(hrs, 0)),
		r.Store.FinishRun(ctx, id, store.RunRefused, "refused: "+why.Error()),
		r.Store.RecordHostParts(ctx, id, parts)}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: nothing was changed (recording run %d failed: %v)", why, id, err)
	}
	return fmt.Errorf("%w: nothing was changed (run %d)", why, id)
}
