package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// keepEnvScript keeps the host's shared/.env as shared/.env.opsui-prev (a
// private copy, renamed into place) before a config release writes the
// new one: what its auto-rollback puts back, without reading a secret.
const keepEnvScript = `set -e
f=$SHARED_DIR/.env
if [ ! -f "$f" ]; then echo "no $f on $(uname -n): deploy the app once to render its environment" >&2; exit 1; fi
umask 077
cp -p -- "$f" "$f.opsui-prev.tmp.$$"
mv -f -- "$f.opsui-prev.tmp.$$" "$f.opsui-prev"
echo "previous shared/.env kept as shared/.env.opsui-prev"
`

// restoreEnvScript puts back the shared/.env keepEnvScript kept: one
// rename, so a reader sees the new file or the old one, never a part.
const restoreEnvScript = `set -e
f=$SHARED_DIR/.env
if [ ! -f "$f.opsui-prev" ]; then echo "no $f.opsui-prev on $(uname -n): the previous environment cannot be restored" >&2; exit 1; fi
mv -f -- "$f.opsui-prev" "$f"
echo "shared/.env restored from before this config release"
`

// ExecuteConfig runs cp, the config release the operator saw and
// confirmed, as it is: like Execute, it refuses with a *FleetChangedError
// when the inventory or the release records changed since the plan.
func (d *Deployer) ExecuteConfig(ctx context.Context, cp *ConfigPlan) (*Outcome, error) {
	if err := CheckPlan(ctx, d.Store, cp.Plan); err != nil {
		return nil, err
	}
	return d.configRelease(ctx, cp)
}

// configRelease renders every host's new shared/.env (its secrets read
// here, before anything changes), records the run, takes the deploy lock,
// checks that the hosts run the live release, records the release (kind
// config, the live commit) and what it changes, edits the stored fleet,
// then writes, reloads and checks the hosts batch by batch. A release
// that does not succeed puts the fleet edit back.
func (d *Deployer) configRelease(ctx context.Context, cp *ConfigPlan) (*Outcome, error) {
	began := time.Now()
	p := *cp.Plan
	p.App = cp.AfterApp()
	envs, err := d.renderEnvs(ctx, &p)
	if err != nil {
		return nil, fmt.Errorf("config release of %s: %w", p.App.Name, err)
	}
	r, err := d.newRunner(&p)
	if err != nil {
		return nil, err
	}
	steps := configSteps(p.Steps)
	r.events.steps = append([]Step{{Name: StepEnv}}, steps...)
	live := cp.Live
	rel := &store.Release{App: p.App.Name, Env: p.Env.Name, ReleaseID: live.ReleaseID, Kind: store.KindConfig,
		Commit: live.Commit, Branch: live.Branch, Subject: cp.Subject(), Operator: d.Operator, Strategy: string(p.Strategy.Kind)}
	var tm Timing
	t0 := time.Now()
	l, err := r.startOnLive(ctx, store.KindConfig, "config release", rel, live)
	if err != nil {
		return nil, err
	}
	defer r.unlock(ctx, l)
	if err := r.createRelease(ctx, rel, nil); err != nil {
		return nil, r.refuse(ctx, err)
	}
	rec := store.ConfigRecord{Release: rel.ID, Action: cp.Action, Before: cp.Before, After: cp.After, Changes: cp.Changes}
	if cp.RollbackOf != nil {
		rec.RollbackOf.Int64, rec.RollbackOf.Valid = cp.RollbackOf.ID, true
	}
	if err := d.Store.SaveConfigRecord(ctx, rec); err != nil {
		for _, h := range r.hosts {
			r.fail(h, "record", remote.ClassCancelled, err)
		}
		return r.finish(ctx, rel, store.ReleaseFailed, began), err
	}
	edited := !maps.Equal(cp.Before, cp.After)
	if edited {
		if err := d.editFleetEnv(ctx, p.App.Name, p.Env.Name, cp.Before, cp.After); err != nil {
			for _, h := range r.hosts {
				r.fail(h, "fleet", remote.ClassCancelled, err)
			}
			return r.finish(ctx, rel, store.ReleaseAborted, began), err
		}
	}
	// What the store says was rendered before, put back with the file.
	old := map[string][]store.EnvHash{}
	if hs, err := d.Store.EnvHashes(ctx, p.App.Name, p.Env.Name); err == nil {
		for _, h := range hs {
			old[h.Host] = append(old[h.Host], h)
		}
	}
	note := r.notifyStart(ctx, rel)
	tm.Lock = time.Since(t0)
	r.say("locked; config release of %s to %s (%s), release %s (%s) stays live on %s", p.App.Name, p.Env.Name, ChangeWords(cp.Changes),
		live.ReleaseID, ShortCommit(live.Commit), Plural(len(r.hosts), "host", "hosts"))
	t0 = time.Now()
	result := r.configActivate(ctx, envs, steps, old)
	tm.Activate = time.Since(t0)
	r.configLog(ctx, rel, result)
	if result != store.ReleaseSuccess && edited {
		if err := d.editFleetEnv(context.WithoutCancel(ctx), p.App.Name, p.Env.Name, cp.After, cp.Before); err != nil {
			r.notef("the fleet edit could not be reverted: %v (opsui env show says what the store holds)", err)
		} else {
			r.notef("the fleet edit is reverted: env_per_environment.%s of %s is as it was before", p.Env.Name, p.App.Name)
		}
	}
	note.finish(ctx, store.KindConfig, result, began)
	out := r.finish(ctx, rel, result, began)
	out.Warnings = r.lbs.Warnings()
	tm.Total = out.Timing.Total
	out.Timing = tm
	return out, nil
}

// startOnLive opens an operation that keeps the live release (what: a
// config release, a restart): it records the run and takes the lock; then,
// under the lock, it refuses when the hosts do not all run live or a
// balancer cannot be read, before anything changed (the lock is then
// given back). It returns the lock for the caller to release.
func (r *runner) startOnLive(ctx context.Context, kind, what string, rel *store.Release, live store.Release) (*HostLock, error) {
	l, err := r.start(ctx, kind, rel)
	if err != nil {
		return nil, r.refuse(ctx, err)
	}
	if err := r.checkLive(ctx, live, what); err != nil {
		err = r.refuse(ctx, err)
		r.unlock(ctx, l)
		return nil, err
	}
	if r.lbs, err = r.newBalancers(ctx); err != nil {
		err = r.refuse(ctx, err)
		r.unlock(ctx, l)
		return nil, err
	}
	for _, l := range r.lbs.describe() {
		r.say("%s", l)
	}
	return l, nil
}

// checkLive refuses an operation on the live release (what: a config
// release, a restart) whose hosts, read under the lock, do not all run it:
// its record names one release and one commit, which must be what they
// serve.
func (r *runner) checkLive(ctx context.Context, live store.Release, what string) error {
	p := r.plan
	if now, err := r.Store.LatestRelease(ctx, p.App.Name, p.Env.Name, true); err == nil && now.ID != live.ID {
		return fmt.Errorf("%s/%s changed since this %s was planned: release %s (%s) was recorded; plan it again",
			p.App.Name, p.Env.Name, what, now.ReleaseID, now.Kind)
	}
	var off []string
	for _, h := range r.hosts {
		if h.prevRelease != live.ReleaseID {
			off = append(off, fmt.Sprintf("%s runs %s", h.host.Name, orNothing(h.prevRelease)))
		}
	}
	if len(off) > 0 {
		return fmt.Errorf("not every host runs release %s, the live one (%s): deploy or roll back first, so the %s keeps one code",
			live.ReleaseID, strings.Join(off, ", "), what)
	}
	return nil
}

func orNothing(release string) string {
	if release == "" {
		return "no release"
	}
	return "release " + release
}

// editFleetEnv sets env_per_environment[env] of app from from to to in the
// stored fleet, in one transaction; it refuses when the stored block is no
// longer from (an import or another change meanwhile).
func (d *Deployer) editFleetEnv(ctx context.Context, app, env string, from, to map[string]inventory.EnvValue) error {
	_, err := d.Store.UpdateFleet(ctx, func(f *inventory.Fleet) error {
		for i := range f.Apps {
			a := &f.Apps[i]
			if a.Name != app {
				continue
			}
			if !maps.Equal(a.EnvPerEnvironment[env], from) {
				return fmt.Errorf("env_per_environment.%s of app %s changed meanwhile (an import, or another env change): plan again", env, app)
			}
			if a.EnvPerEnvironment == nil {
				a.EnvPerEnvironment = map[string]map[string]inventory.EnvValue{}
			}
			if len(to) == 0 {
				delete(a.EnvPerEnvironment, env)
			} else {
				a.EnvPerEnvironment[env] = maps.Clone(to)
			}
			return nil
		}
		return fmt.Errorf("app %s is no longer in the inventory", app)
	})
	if err != nil {
		return fmt.Errorf("edit the env of %s/%s in the inventory: %w", app, env, err)
	}
	return nil
}

// configActivate writes the new shared/.env batch by batch: each batch is
// drained from the balancers, its hosts keep their old file and get the
// new one, reload and are checked; with auto-rollback a host failing
// puts every host written back on its previous file. It returns the
// release's result.
func (r *runner) configActivate(ctx context.Context, envs map[string]EnvFile, steps []Step, old map[string][]store.EnvHash) store.ReleaseResult {
	p, lbs := r.plan, r.lbs
	// The balancers end as they were, less what an earlier run left drained.
	defer lbs.restore(ctx)
	_ = lbs.restore(ctx)
	for bi, batch := range p.Batches {
		if ctx.Err() != nil {
			return r.configAbort("the config release was cancelled", steps, old)
		}
		r.batchStarted(bi + 1)
		hs := r.drainBatch(ctx, lbs, batch, fmt.Sprintf("batch %d/%d", bi+1, len(p.Batches)))
		r.forEach(hs, func(h *hostRun) {
			r.events.stage(h, StepEnv)
			env := map[string]string{"DEPLOY_TO": h.deployTo, "SHARED_DIR": h.deployTo + "/shared"}
			if _, ok := r.runStep(ctx, h, StepEnv, keepEnvScript, env, time.Minute, nil, true); !ok {
				return
			}
			// From here the old file is kept: restoring it is always right.
			h.mu.Lock()
			h.switched = true
			h.mu.Unlock()
			r.writeEnv(ctx, h, envs[h.host.Name])
		})
		r.configSteps(ctx, steps, hs)
		r.configWorkers(ctx, hs)
		if ctx.Err() != nil {
			return r.configAbort("the config release was cancelled", steps, old)
		}
		if failed := r.failedSwitched(hs); len(failed) > 0 && p.Strategy.AutoRollback {
			return r.configAbort(fmt.Sprintf("%s failed with the new environment", strings.Join(failed, ", ")), steps, old)
		}
		_ = lbs.restore(ctx)
		if n := r.failedCount(); n > p.MaxFail {
			r.notef("%s failed (more than the %d allowed): batches after %d/%d not started", Plural(n, "host", "hosts"), p.MaxFail, bi+1, len(p.Batches))
			return store.ReleaseFailed
		}
		if bi == 0 && p.Strategy.Kind == StrategyCanary && len(p.Batches) > 1 && !r.canaryGoAhead(ctx, hs) {
			return r.configAbort("the canary was not approved", steps, old)
		}
	}
	if r.failedCount() > 0 {
		return store.ReleaseFailed
	}
	return store.ReleaseSuccess
}

// drainBatch takes the hosts of batch that are still to do out of the
// balancers and returns them; when a balancer cannot be told, they count
// as failed and none is returned (writing a host the balancer still
// sends requests to could fail them).
func (r *runner) drainBatch(ctx context.Context, lbs *balancers, batch []inventory.Host, name string) []*hostRun {
	var todo []*hostRun
	for _, h := range batch {
		if hr := r.byName[h.Name]; hr.todo() {
			todo = append(todo, hr)
		}
	}
	r.say("%s: new shared/.env on %s", name, hostNames(inventoryHosts(todo)))
	err := lbs.drain(ctx, todo)
	if err == nil {
		return todo
	}
	for _, h := range todo {
		r.fail(h, "drain", remote.ClassExit, err)
	}
	return nil
}

// configSteps runs a config release's steps on hs: the reload (waiting
// for the old workers to go) and the health check.
func (r *runner) configSteps(ctx context.Context, steps []Step, hs []*hostRun) {
	for _, s := range steps {
		if s.Name == StepHealth && s.Builtin() {
			r.step(ctx, s, hs)
			continue
		}
		r.forEach(stepHosts(s, hs), func(h *hostRun) {
			r.events.stage(h, s.Name)
			r.reloadForConfig(ctx, s, h, true)
		})
	}
}

// configWorkers starts the workers of hs's hosts again, on the live
// release, once their web hosts of the batch are reloaded and healthy: a
// worker reads shared/.env only when it starts, so a rotated secret
// reaches it only then. A host whose workers do not start fails the
// batch, and auto-rollback restores the previous file.
func (r *runner) configWorkers(ctx context.Context, hs []*hostRun) {
	r.forEach(r.workersDue(hs), func(h *hostRun) {
		r.workersOn(ctx, h, r.plan.ReleaseID, "restart", StepWorkers, true)
	})
}

// configAbort puts the previous shared/.env back on every host this
// config release wrote, when the strategy says so, reloads and checks
// them, and returns the result to record.
func (r *runner) configAbort(why string, steps []Step, old map[string][]store.EnvHash) store.ReleaseResult {
	p := r.plan
	var back []*hostRun
	for _, h := range r.hosts {
		h.mu.Lock()
		if h.switched {
			back = append(back, h)
		}
		h.mu.Unlock()
	}
	if !p.Strategy.AutoRollback {
		r.notef("%s; auto-rollback is off: %s keep the new shared/.env", why, hostNames(inventoryHosts(back)))
		return store.ReleaseAborted
	}
	ctx, cancel := context.WithTimeout(context.Background(), undoTimeout)
	defer cancel()
	r.notef("%s: restoring the previous shared/.env on %s", why, Plural(len(back), "host", "hosts"))
	if r.lbs != nil {
		r.lbs.drain(ctx, back) // out of the balancers while they go back
	}
	r.forEach(back, func(h *hostRun) {
		r.events.stage(h, "rollback: restore shared/.env")
		env := map[string]string{"DEPLOY_TO": h.deployTo, "SHARED_DIR": h.deployTo + "/shared"}
		if _, ok := r.runStep(ctx, h, "rollback restore", restoreEnvScript, env, time.Minute, nil, false); !ok {
			r.notef("%s: restoring the previous shared/.env failed: it keeps the new one", h.host.Name)
			return
		}
		if err := r.Store.SaveEnvHashes(ctx, p.App.Name, p.Env.Name, h.host.Name, old[h.host.Name]); err != nil {
			r.notef("%s: %v (env diff will compare with the new environment)", h.host.Name, err)
		}
		h.mu.Lock()
		h.rolledBack, h.back = true, "previous shared/.env restored"
		if !h.failed {
			h.failed, h.failStep, h.class = true, rolledBackStep, remote.ClassCancelled
			h.err = fmt.Errorf("previous shared/.env restored: %s", why)
		}
		h.mu.Unlock()
		for _, s := range steps {
			if s.Name == StepHealth || !s.AppliesTo(h.host) {
				continue
			}
			r.events.stage(h, "rollback: reload")
			if !r.reloadForConfig(ctx, s, h, false) {
				r.notef("%s: reload after restoring the previous shared/.env failed", h.host.Name)
			}
		}
		// Workers read shared/.env when they start: the restored one too.
		r.workersOn(ctx, h, p.ReleaseID, "restart", "rollback: workers", false)
		if url, _, _, _, ok := p.health(h.host, p.ReleaseID, p.Source.Commit); ok {
			r.events.stage(h, "rollback: health")
			healthy := r.healthCheck(ctx, h, p.ReleaseID, p.Source.Commit)
			h.mu.Lock()
			h.back += map[bool]string{true: ": healthy", false: ": still unhealthy"}[healthy]
			h.mu.Unlock()
			if !healthy {
				r.notef("%s: still unhealthy with the previous shared/.env (%s)", h.host.Name, url)
			}
		}
	})
	return store.ReleaseRolledBack
}

// dropPrevScript removes the kept shared/.env once the release succeeded:
// a rotated secret's old value is not left behind on the host.
const dropPrevScript = `rm -f -- "$DEPLOY_TO/shared/.env.opsui-prev"
`

// configLog appends the config release to revisions.log on every host it
// wrote: the new environment kept, or the previous one restored. After a
// success the kept previous file is removed; otherwise it stays for the
// operator (a host left on the new file by --no-auto-rollback).
func (r *runner) configLog(ctx context.Context, rel *store.Release, result store.ReleaseResult) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	when := time.Now().UTC().Format(time.RFC3339)
	r.forEach(r.hosts, func(h *hostRun) {
		h.mu.Lock()
		switched, rolledBack := h.switched, h.rolledBack
		h.mu.Unlock()
		if !switched {
			return
		}
		line := fmt.Sprintf("%s %s %s; release %s (%s) unchanged", when, r.Operator, rel.Subject, rel.ReleaseID, ShortCommit(rel.Commit))
		if rolledBack {
			line += "; the previous shared/.env was restored"
		}
		env := map[string]string{"DEPLOY_TO": h.deployTo, "OPSUI_LINE": line}
		script := logScript
		if result == store.ReleaseSuccess {
			script += dropPrevScript
		}
		r.hostWrite(ctx, h, "revisions.log", script, env)
	})
}

// errNoConfigRelease says there is no config release to go back from.
var errNoConfigRelease = errors.New("no config release to roll back")

// ConfigRollbackTarget returns the config release a rollback --config of
// app in env undoes: the newest one whose change is still in effect (one
// a later rollback undid is not taken again). A release that failed put
// its fleet edit back, so it is not in effect; one whose opsui died
// (interrupted) kept it. Its Before is the environment the rollback
// restores.
func ConfigRollbackTarget(ctx context.Context, st *store.Store, app, env string) (store.ConfigRelease, error) {
	all, err := st.ConfigReleases(ctx, app, env)
	if err != nil {
		return store.ConfigRelease{}, err
	}
	var stack []store.ConfigRelease
	for _, c := range all {
		if c.Result != store.ReleaseSuccess && c.Result != store.ReleaseInterrupted {
			continue
		}
		if c.Config.Action == store.ConfigRollback && c.Config.RollbackOf.Valid {
			if at := slices.IndexFunc(stack, func(s store.ConfigRelease) bool { return s.ID == c.Config.RollbackOf.Int64 }); at >= 0 {
				stack = stack[:at]
			}
			continue
		}
		if c.Config.Action == store.ConfigApply {
			continue // it changed no key: going back from it changes none
		}
		stack = append(stack, c)
	}
	if len(stack) == 0 {
		return store.ConfigRelease{}, fmt.Errorf("%w of %s to %s: none that changed keys is in effect (see opsui releases --app %s --env %s)", errNoConfigRelease, app, env, app, env)
	}
	return stack[len(stack)-1], nil
}
