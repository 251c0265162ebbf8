package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// undoTimeout bounds switching hosts back after an abort: the deploy's own
// context is gone by then.
const undoTimeout = 2 * time.Minute

// activate switches the prepared hosts batch by batch and runs the steps
// after the switch on each batch. It stops before the next batch once more
// hosts failed than the plan allows, and with auto-rollback switches every
// host it switched back when a host fails after its switch or the deploy
// is aborted. It returns the release's result.
func (r *runner) activate(ctx context.Context, steps []Step) store.ReleaseResult {
	p := r.plan
	if ctx.Err() != nil {
		r.notef("the deploy was cancelled before any host was switched")
		return store.ReleaseAborted
	}
	if r.onceFailed != "" {
		r.notef("%s: no host was switched", r.onceFailed)
		return store.ReleaseFailed
	}
	if n := r.failedCount(); n > p.MaxFail {
		r.notef("%s failed before the switch (more than the %d allowed): no host was switched", Plural(n, "host", "hosts"), p.MaxFail)
		return store.ReleaseFailed
	}
	lbs := r.lbs // read at the deploy's start
	if lbs == nil {
		var err error
		if lbs, err = r.newBalancers(ctx); err != nil {
			r.notef("%v: no host was switched", err)
			return store.ReleaseFailed
		}
		r.lbs = lbs
	}
	// Whatever happens, the balancers end as they were: never drained
	// hosts piling up. What an earlier run left drained goes back now.
	defer lbs.restore(ctx)
	_ = lbs.restore(ctx)
	if !r.endBaseline(ctx) {
		r.notef("the deploy was cancelled before any host was switched")
		return store.ReleaseAborted
	}
	for bi, batch := range p.Batches {
		var hs []*hostRun
		for _, h := range batch {
			if hr := r.byName[h.Name]; hr.todo() {
				hs = append(hs, hr)
			}
		}
		if ctx.Err() != nil {
			return r.abort("the deploy was cancelled")
		}
		r.say("batch %d/%d: switching %s", bi+1, len(p.Batches), hostNames(inventoryHosts(hs)))
		r.batchStarted(bi + 1)
		r.watch.openWindow(ctx, r.switchedNames(hs))
		if err := lbs.drain(ctx, hs); err != nil {
			// Switching a host its balancer still sends requests to would
			// drop them: the batch stops here, its hosts count as failed.
			for _, h := range hs {
				r.fail(h, "drain", remote.ClassExit, err)
			}
			hs = nil
		}
		r.switchBatch(ctx, hs, steps)
		r.restartWorkers(ctx, batch, p.ReleaseID) // worker.go: after the batch's web reload and health
		if ctx.Err() != nil {
			return r.abort("the deploy was cancelled")
		}
		if failedAfterSwitch := r.failedSwitched(hs); len(failedAfterSwitch) > 0 && p.Strategy.AutoRollback {
			// Switched back while still drained, then put back.
			return r.abort(fmt.Sprintf("%s failed after the switch", strings.Join(failedAfterSwitch, ", ")))
		}
		_ = lbs.restore(ctx) // a failure is a warning of the deploy
		if why := r.watchBatch(ctx, bi); why != "" {
			return r.abort(why) // back while drained, then put back
		}
		if n := r.failedCount(); n > p.MaxFail {
			r.notef("%s failed (more than the %d allowed): batches after %d/%d not started", Plural(n, "host", "hosts"), p.MaxFail, bi+1, len(p.Batches))
			return store.ReleaseFailed
		}
		if bi == 0 && p.Strategy.Kind == "canary" && len(p.Batches) > 1 {
			if ok := r.canaryGoAhead(ctx, hs); !ok {
				return r.abort("the canary was not approved")
			}
		}
	}
	if r.failedCount() > 0 {
		return store.ReleaseFailed
	}
	return store.ReleaseSuccess
}

// switchBatch switches the hosts of a batch and runs the steps after the
// switch on them. Each host goes through its own steps without waiting
// for the others at each one (a host healthy early cleans up while the
// others still start): the batch ends when every host is through. A step
// that runs once needs the whole batch switched first, so with one every
// step waits for every host.
func (r *runner) switchBatch(ctx context.Context, hs []*hostRun, steps []Step) {
	switchOne := func(h *hostRun) {
		r.events.stage(h, StepSwitch)
		if r.switchHost(ctx, h, r.plan.ReleaseID, true) {
			h.mu.Lock()
			h.switched = true
			h.mu.Unlock()
		}
	}
	if slices.ContainsFunc(steps, func(s Step) bool { return s.Once }) {
		r.forEach(hs, switchOne)
		for _, s := range steps {
			r.step(ctx, s, hs)
		}
		return
	}
	r.forEach(hs, func(h *hostRun) {
		switchOne(h)
		r.runSteps(ctx, steps, h)
	})
}

// canaryGoAhead waits for the operator (or CanaryWait) before the rest of
// the fleet follows the canary.
func (r *runner) canaryGoAhead(ctx context.Context, canary []*hostRun) bool {
	names := hostNames(inventoryHosts(canary))
	if r.Confirm != nil {
		ok, err := r.Confirm(ctx, fmt.Sprintf("canary %s serves release %s: continue with the other hosts?", names, r.plan.ReleaseID))
		return err == nil && ok
	}
	if w := r.plan.Strategy.CanaryWait; w > 0 {
		r.say("canary %s serves release %s; the rest follow in %s unless cancelled", names, r.plan.ReleaseID, w)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(w):
		}
		// The canary must still be healthy after its time alone.
		healthy := true
		for _, h := range canary {
			r.events.stage(h, StepHealth)
			healthy = r.healthCheck(ctx, h, r.plan.ReleaseID, r.plan.Source.Commit) && healthy
		}
		return healthy
	}
	return true
}

func (r *runner) failedCount() int {
	n := 0
	for _, h := range r.hosts {
		if !h.live() {
			n++
		}
	}
	return n
}

// failedSwitched returns the hosts of hs that failed after their switch.
func (r *runner) failedSwitched(hs []*hostRun) []string {
	var out []string
	for _, h := range hs {
		h.mu.Lock()
		if h.failed && h.switched {
			out = append(out, h.host.Name)
		}
		h.mu.Unlock()
	}
	return out
}

// abort switches back every host this deploy switched, when the strategy
// says so, and returns the result to record.
func (r *runner) abort(why string) store.ReleaseResult {
	if !r.plan.Strategy.AutoRollback {
		r.notef("%s; auto-rollback is off: switched hosts stay on release %s", why, r.plan.ReleaseID)
		return store.ReleaseAborted
	}
	ctx, cancel := context.WithTimeout(context.Background(), undoTimeout)
	defer cancel()
	var back []*hostRun
	for _, h := range r.hosts {
		if h.switched {
			back = append(back, h)
		}
	}
	r.notef("%s: switching %s back to their previous release", why, Plural(len(back), "host", "hosts"))
	if r.lbs != nil {
		r.lbs.drain(ctx, back) // out of the balancers while they go back
	}
	_, activate := split(r.plan.Steps)
	var first, switchedBack atomic.Int32
	r.forEach(back, func(h *hostRun) {
		if h.prevRelease == "" {
			first.Add(1)
			r.stopServing(ctx, h, activate, why)
			return
		}
		switchedBack.Add(1)
		r.events.stage(h, "rollback: switch to "+h.prevRelease)
		if !r.switchHost(ctx, h, h.prevRelease, false) {
			r.notef("%s: switching back to %s failed; current still points at %s", h.host.Name, h.prevRelease, r.plan.ReleaseID)
			return
		}
		h.mu.Lock()
		h.rolledBack = true
		h.back = "rolled back to " + h.prevRelease
		if !h.failed {
			h.failed, h.failStep, h.class = true, "rolled back", remote.ClassCancelled
			h.err = fmt.Errorf(switchedBackPrefix+"%s: %s", h.prevRelease, why)
		}
		h.mu.Unlock()
		for _, s := range activate {
			// The step in the reload slot (the preset's, or the stage
			// that replaced it) reloads the release switched back to.
			if s.Builtin() || !s.AppliesTo(h.host) {
				continue
			}
			if s.Slot == inventory.StepReload {
				r.events.stage(h, "rollback: reload")
				env := r.plan.env(h.host, s)
				env["OPSUI_TARGET"] = h.prevRelease
				if _, ok := r.runStep(ctx, h, "rollback reload", withEnv(s.Run), env, time.Minute, nil, false); !ok {
					r.notef("%s: reload after switching back failed", h.host.Name)
				}
			}
		}
		r.workersOn(ctx, h, h.prevRelease, "ensure", "rollback: workers", false)
		if h.prevCommit != "" {
			r.events.stage(h, "rollback: health")
			if url, _, _, _, ok := r.plan.health(h.host, h.prevRelease, h.prevCommit); ok {
				healthy := r.healthCheck(ctx, h, h.prevRelease, h.prevCommit)
				h.mu.Lock()
				h.back += map[bool]string{true: ": healthy", false: ": still unhealthy"}[healthy]
				h.mu.Unlock()
				if !healthy {
					r.notef("%s: still unhealthy after switching back to %s (%s)", h.host.Name, h.prevRelease, url)
				}
			}
		}
	})
	if first.Load() > 0 && switchedBack.Load() == 0 {
		// Nothing went back to a release (there was none): the deploy
		// failed, and stopServing took it out of service.
		return store.ReleaseFailed
	}
	return store.ReleaseRolledBack
}

// stopServing takes out of service a host that has no release to switch
// back to (its first deploy failed after the switch): its app server is
// stopped (the preset's; one a role's own reload command started is left
// to the operator, who is told), current is removed, and its backend
// stays drained.
func (r *runner) stopServing(ctx context.Context, h *hostRun, activate []Step, why string) {
	name := h.host.Name
	ok := true
	for _, s := range activate {
		if s.Slot == inventory.StepReload && !s.Builtin() && s.AppliesTo(h.host) {
			if s.Run != djangoReloadScript {
				r.notef("%s: no previous release to switch back to, and its app server is started by the app's own %s stage: stop it by hand", name, s.Name)
				ok = false
				continue
			}
			r.events.stage(h, "rollback: stop the app server")
			if _, stoppedOK := r.runStep(ctx, h, "rollback stop", djangoStopScript, r.plan.env(h.host, s), time.Minute, nil, false); !stoppedOK {
				r.notef("%s: stopping its app server failed: it may still serve release %s", name, r.plan.ReleaseID)
				ok = false
			}
		}
	}
	r.workersOn(ctx, h, "", "stop", "rollback: stop the workers", false) // a failure is its own note
	r.events.stage(h, "rollback: remove current")
	env := map[string]string{"DEPLOY_TO": h.deployTo, "OPSUI_TARGET": r.plan.ReleaseID}
	if _, unlinked := r.runStep(ctx, h, "rollback unlink", unlinkCurrentScript, env, time.Minute, nil, false); !unlinked {
		r.notef("%s: removing current failed; it still points at %s", name, r.plan.ReleaseID)
		return
	}
	if r.lbs != nil {
		r.lbs.keepOut(name)
	}
	h.mu.Lock()
	h.switched = false // current is gone: the release never went live here
	if !h.failed {
		h.failed, h.failStep, h.class = true, rolledBackStep, remote.ClassCancelled
		h.err = fmt.Errorf("stopped: %s, and the host has no earlier release", why)
	}
	h.mu.Unlock()
	r.notef("%s: no earlier release to switch back to: %s, current removed, left out of the balancers until a deploy succeeds",
		name, map[bool]string{true: "its app server is stopped", false: "its app server may still run"}[ok])
}

// record writes revisions.log on every host the release reached and marks
// the release BAD where it failed.
func (r *runner) record(ctx context.Context, result store.ReleaseResult) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	p := r.plan
	when := time.Now().UTC().Format(time.RFC3339)
	bad := result != store.ReleaseSuccess
	r.forEach(r.hosts, func(h *hostRun) {
		env := map[string]string{"DEPLOY_TO": h.deployTo, "OPSUI_TARGET": p.ReleaseID}
		h.mu.Lock()
		switched, rolledBack, failedStep, done := h.switched, h.rolledBack, h.failStep, h.done
		h.mu.Unlock()
		if done {
			return // a resumed deploy's host that had the release already
		}
		var line string
		switch {
		case rolledBack:
			line = fmt.Sprintf("%s %s rolled back to release %s after release %s (%s) failed", when, r.Operator, h.prevRelease, p.ReleaseID, ShortCommit(p.Source.Commit))
		case switched:
			line = fmt.Sprintf("%s %s (at %s) deployed as release %s by %s", when, p.Source.RevisionsRef(), p.Source.Commit, p.ReleaseID, r.Operator)
		}
		if line != "" {
			env["OPSUI_LINE"] = line
			r.hostWrite(ctx, h, "revisions.log", logScript, env)
		}
		if bad && (failedStep != StepUpload || switched) {
			env["OPSUI_REASON"] = fmt.Sprintf("%s %s: %s", when, result, failedStep)
			r.hostWrite(ctx, h, "the BAD mark of release "+p.ReleaseID, markBadScript, env)
		}
	})
}
