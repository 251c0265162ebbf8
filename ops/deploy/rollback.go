package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// RollbackChoice is what a rollback undoes and where it goes.
type RollbackChoice struct {
	From   store.Release // what the environment runs now (the last successful record)
	Target store.Release // the deploy record of the release to go back to
	// Undone are the releases live now that the rollback takes away,
	// newest first: what went live after Target and was not rolled back
	// already. A deploy that never went live (failed before its switch,
	// rolled back) is not undone.
	Undone []store.Release
	// Migrated are the deploys after Target that applied migrations, live
	// or not: their schema stays behind.
	Migrated []store.Release
}

// MigrationsKept returns the deploys after the target that applied
// migrations: rolling back does not reverse them.
func (c RollbackChoice) MigrationsKept() []store.Release { return c.Migrated }

// wentLive reports whether a deploy record reached hosts and stayed there:
// a success, or a failure that left switched hosts on its release.
func wentLive(r store.Release) bool {
	switch r.Result {
	case store.ReleaseSuccess:
		return true
	case store.ReleaseFailed, store.ReleaseAborted, store.ReleaseBad:
		return len(r.HostList()) > 0
	}
	return false
}

// liveStack replays the records of an app in an environment, oldest
// first: a deploy that went live is pushed, a rollback pops back to its
// target. What is left is what went live and was not undone, the
// current release on top.
func liveStack(all []store.Release) []store.Release {
	byID := map[int64]store.Release{}
	for _, r := range all {
		byID[r.ID] = r
	}
	var stack []store.Release
	for i := len(all) - 1; i >= 0; i-- {
		r := all[i]
		switch {
		case r.Kind == store.KindDeploy && wentLive(r):
			stack = append(stack, r)
		case r.Kind == store.KindRollback && r.Result == store.ReleaseSuccess:
			at := slices.IndexFunc(stack, func(d store.Release) bool { return d.ReleaseID == r.ReleaseID })
			if at >= 0 {
				stack = stack[:at+1]
			} else if t, ok := byID[r.RollbackTargetID.Int64]; ok && r.RollbackTargetID.Valid {
				stack = append(stack[:0], t)
			}
		}
	}
	return stack
}

// ChooseRollback picks the release a rollback of app in env goes to:
// releaseID when set, else the newest good release that went live before
// the current one (one rolled back from is not taken again, and nothing
// is marked bad for it).
func ChooseRollback(ctx context.Context, st *store.Store, app, env, releaseID string) (RollbackChoice, error) {
	var c RollbackChoice
	cur, err := st.LatestRelease(ctx, app, env, true)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return c, fmt.Errorf("no successful release of %s to %s is recorded: nothing to roll back from", app, env)
		}
		return c, err
	}
	c.From = cur
	all, err := st.ListReleases(ctx, app, env, 0)
	if err != nil {
		return c, err
	}
	stack := liveStack(all)
	if releaseID != "" {
		for _, r := range all {
			if r.Kind == store.KindDeploy && r.ReleaseID == releaseID {
				c.Target = r
				break
			}
		}
	} else {
		for i := len(stack) - 1; i >= 0; i-- {
			if r := stack[i]; r.ReleaseID != cur.ReleaseID && r.Result == store.ReleaseSuccess {
				c.Target = r
				break
			}
		}
	}
	switch {
	case c.Target.ID == 0 && releaseID != "":
		return c, fmt.Errorf("release %s of %s to %s is not recorded (see opsui releases --app %s --env %s)", releaseID, app, env, app, env)
	case c.Target.ID == 0:
		return c, fmt.Errorf("no earlier good release of %s to %s to roll back to (releases marked bad are skipped; name one with --to)", app, env)
	case c.Target.ReleaseID == cur.ReleaseID:
		return c, fmt.Errorf("release %s is what %s runs now", releaseID, env)
	case c.Target.Result == store.ReleaseBad && releaseID == "":
		return c, fmt.Errorf("release %s is marked bad", c.Target.ReleaseID)
	}
	at := slices.IndexFunc(stack, func(r store.Release) bool { return r.ID == c.Target.ID })
	for i := len(stack) - 1; i >= 0; i-- {
		r := stack[i]
		if i == at || at >= 0 && i < at || at < 0 && r.StartedAt <= c.Target.StartedAt {
			break
		}
		c.Undone = append(c.Undone, r)
	}
	for _, r := range all {
		if r.Kind == store.KindDeploy && r.MigrationsApplied && r.StartedAt > c.Target.StartedAt && r.ReleaseID != c.Target.ReleaseID {
			c.Migrated = append(c.Migrated, r)
		}
	}
	return c, nil
}

// MissingReleaseError says hosts lack the release a rollback goes to.
type MissingReleaseError struct {
	ReleaseID string
	Hosts     []string
}

func (e *MissingReleaseError) Error() string {
	return fmt.Sprintf("release %s is not on %s (pruned, or never deployed there): refusing to roll back",
		e.ReleaseID, strings.Join(e.Hosts, ", "))
}

// Rollback switches plan's hosts to choice.Target (plan.ReleaseID and
// plan.Source name it), reloads and checks them as a deploy does, and
// records it as a release of kind rollback. The release it leaves keeps
// its result: rolled back from is not bad (BAD is for a release that
// failed). It refuses, naming the hosts, when any host lacks the target
// release; a refused rollback is a run, not a release.
func (d *Deployer) Rollback(ctx context.Context, p *Plan, choice RollbackChoice) (*Outcome, error) {
	began := time.Now()
	r, err := d.newRunner(p)
	if err != nil {
		return nil, err
	}
	r.check = choice.Target.ReleaseID
	_, activate := split(p.Steps)
	activate = slices.DeleteFunc(slices.Clone(activate), func(s Step) bool { return s.Name == StepCleanup })
	// Its steps are numbered among its own (1/3 switch), not the deploy's.
	r.events.steps = append([]Step{{Name: StepSwitch}}, activate...)
	rel := &store.Release{App: p.App.Name, Env: p.Env.Name, ReleaseID: choice.Target.ReleaseID, Kind: store.KindRollback,
		Commit: choice.Target.Commit, Branch: choice.Target.Branch, Subject: choice.Target.Subject, Operator: d.Operator,
		Strategy: string(p.Strategy.Kind)}
	rel.RollbackTargetID.Int64, rel.RollbackTargetID.Valid = choice.Target.ID, true
	var tm Timing
	t0 := time.Now()
	l, err := r.start(ctx, store.KindRollback, rel)
	if err != nil {
		return nil, r.refuse(ctx, err)
	}
	defer r.unlock(ctx, l)
	// The choice was read before the lock: a deploy or rollback that
	// finished since would be undone unseen and the wrong release marked bad.
	if now, err := d.Store.LatestRelease(ctx, p.App.Name, p.Env.Name, true); err == nil && now.ID != choice.From.ID {
		err := fmt.Errorf("%s/%s changed since this rollback was chosen: it now runs release %s, not %s; choose the rollback again",
			p.App.Name, p.Env.Name, now.ReleaseID, choice.From.ReleaseID)
		for _, h := range r.hosts {
			r.fail(h, stepInspect, remote.ClassCancelled, err)
		}
		return r.finish(ctx, rel, store.ReleaseAborted, began), err
	}
	var missing []string
	for _, h := range r.hosts {
		if h.checkRev != choice.Target.Commit {
			missing = append(missing, h.host.Name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, r.refuse(ctx, &MissingReleaseError{ReleaseID: choice.Target.ReleaseID, Hosts: missing})
	}
	if err := r.createRelease(ctx, rel, nil); err != nil {
		return nil, r.refuse(ctx, err)
	}
	tm.Lock = time.Since(t0)
	p.Strategy.AutoRollback = false // going back from a rollback is another rollback, the operator's call
	t0 = time.Now()
	result := r.activate(ctx, activate)
	tm.Activate = time.Since(t0)
	r.recordRollback(ctx, choice)
	r.notifyStart(ctx, rel).finish(ctx, store.KindRollback, result, began)
	out := r.finish(ctx, rel, store.ReleaseResult(result), began)
	tm.Total = out.Timing.Total
	out.Timing = tm
	return out, nil
}

// recordRollback logs the rollback in revisions.log on every host it
// switched. Nothing is marked BAD: the release left did not fail.
func (r *runner) recordRollback(ctx context.Context, choice RollbackChoice) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	when := time.Now().UTC().Format(time.RFC3339)
	r.forEach(r.hosts, func(h *hostRun) {
		h.mu.Lock()
		switched := h.switched
		h.mu.Unlock()
		if !switched {
			return
		}
		env := map[string]string{"DEPLOY_TO": h.deployTo,
			"OPSUI_LINE": fmt.Sprintf("%s %s rolled back to release %s (%s)", when, r.Operator, choice.Target.ReleaseID, choice.Target.Commit)}
		r.hostWrite(ctx, h, "revisions.log", logScript, env) // fenced; a failure is noted
	})
}

// RollbackRequest is a rollback as an operator asks for it: the app,
// environment and hosts, resolved in the inventory read for it, the
// release to go back to and the strategy.
type RollbackRequest struct {
	Fleet  *inventory.Fleet
	App    inventory.App
	Env    inventory.Environment
	Select HostSelection
	Hosts  []inventory.Host // SelectHosts(Fleet, Env.Name, Select)
	// To is the release id to go back to; "" is the previous good one.
	To string
	// Strategy batches the switch; a zero one is DefaultStrategy(Env).
	Strategy Strategy
}

// RollbackPlan is a rollback decided but not started: where it goes, what
// it undoes, and the plan of its hosts' switch.
type RollbackPlan struct {
	Plan   *Plan
	Choice RollbackChoice
	// Candidates are the releases it could go to instead, newest first:
	// successful deploys before the current release.
	Candidates []store.Release
}

// PreviewRollback decides a rollback without changing anything: it
// chooses the release (ChooseRollback) and batches the hosts. The CLI
// prints and runs it; the console shows it, re-batches it for the
// strategy chosen (WithStrategy) and runs that one. ExecuteRollback runs
// it as it is: nothing is read again but to check.
func PreviewRollback(ctx context.Context, st *store.Store, req RollbackRequest) (*RollbackPlan, error) {
	choice, err := ChooseRollback(ctx, st, req.App.Name, req.Env.Name, req.To)
	if err != nil {
		return nil, err
	}
	last, err := lastRelease(ctx, st, req.App.Name, req.Env.Name)
	if err != nil {
		return nil, err
	}
	strategy := req.Strategy
	if strategy.Kind == "" {
		strategy = DefaultStrategy(req.Env)
	}
	t := choice.Target
	src := Source{Ref: t.ReleaseID, Commit: t.Commit, Branch: t.Branch, Subject: t.Subject}
	p, err := NewPlan(req.Fleet, req.App, req.Env, req.Hosts, src, t.ReleaseID, strategy)
	if err != nil {
		return nil, &PlanError{err}
	}
	p.Select, p.LastRelease = req.Select, last
	rp := &RollbackPlan{Plan: p, Choice: choice}
	rs, err := st.ListReleases(ctx, req.App.Name, req.Env.Name, 100)
	if err != nil {
		return nil, fmt.Errorf("the releases of %s on %s: %w", req.App.Name, req.Env.Name, err)
	}
	for _, r := range rs {
		if r.Kind == store.KindDeploy && r.Result == store.ReleaseSuccess && r.ReleaseID < choice.From.ReleaseID {
			rp.Candidates = append(rp.Candidates, r)
		}
	}
	return rp, nil
}

// WithStrategy is rp with its hosts switched by strategy instead (see
// Plan.WithStrategy): the same choice, hosts and inventory.
func (rp *RollbackPlan) WithStrategy(strategy Strategy) (*RollbackPlan, error) {
	p, err := rp.Plan.WithStrategy(strategy)
	if err != nil {
		return nil, err
	}
	q := *rp
	q.Plan = p
	return &q, nil
}

// ExecuteRollback runs rp, the rollback the operator saw and confirmed,
// as it is: like Execute, it refuses with a *FleetChangedError when the
// inventory or the release records changed since the preview.
func (d *Deployer) ExecuteRollback(ctx context.Context, rp *RollbackPlan) (*Outcome, error) {
	if err := CheckPlan(ctx, d.Store, rp.Plan); err != nil {
		return nil, err
	}
	return d.Rollback(ctx, rp.Plan, rp.Choice)
}
