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

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/store"
)

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
	// held is the deploy lock once taken: every step on a host is fenced by it.
	held *HostLock
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

// lock inspects every host at once (which also warms their connections
// and names an unreachable host before any lock is taken), takes the lock
// host by host, then reads again, under the lock, what the deploy relies
// on: what current points at (the auto-rollback target, a release cleanup
// protects), the rollback target's REVISION and the last known-good
// release. A deploy that finished between the first look and the lock
// changed them.
func (r *runner) lock(ctx context.Context) (*HostLock, error) {
	r.say("locking %s/%s on %d hosts", r.plan.App.Name, r.plan.Env.Name, len(r.hosts))
	r.inspect(ctx)
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
	r.inspect(ctx)
	for _, h := range r.hosts {
		if !h.live() {
			err := fmt.Errorf("cannot lock %s/%s: %s failed its inspection under the lock (%s: %v)",
				r.plan.App.Name, r.plan.Env.Name, h.host.Name, h.class, h.err)
			if rerr := l.Release(ctx); rerr != nil {
				err = errors.Join(err, rerr)
			} else if rerr := r.Store.ReleaseLock(context.WithoutCancel(ctx), owner.Token); rerr != nil {
				err = errors.Join(err, rerr)
			}
			return nil, err
		}
	}
	if kg, err := r.Store.LatestRelease(ctx, r.plan.App.Name, r.plan.Env.Name, true); err == nil {
		r.plan.KnownGood = kg.ReleaseID
	}
	return l, nil
}

// inspect reads on every host at once what current points at, its
// REVISION and the REVISION of r.check.
func (r *runner) inspect(ctx context.Context) {
	r.forEach(r.hosts, func(h *hostRun) {
		r.events.stage(h, "inspect")
		env := map[string]string{"DEPLOY_TO": h.deployTo, "OPSUI_CHECK": r.check}
		out, ok := r.runStep(ctx, h, "inspect", inspectScript, env, time.Minute, nil, true)
		if !ok {
			return
		}
		h.prevRelease, h.prevCommit, h.checkRev = "", "", ""
		for line := range strings.SplitSeq(out, "\n") {
			if v, ok := strings.CutPrefix(line, "current="); ok {
				h.prevRelease = v
			} else if v, ok := strings.CutPrefix(line, "revision="); ok {
				h.prevCommit = v
			} else if v, ok := strings.CutPrefix(line, "release "+r.check+"="); ok && r.check != "" {
				h.checkRev = v
			}
		}
	})
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
