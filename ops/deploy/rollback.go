package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/store"
)

// RollbackChoice is what a rollback undoes and where it goes.
type RollbackChoice struct {
	From   store.Release // what the environment runs now (the last successful record)
	Target store.Release // the deploy record of the release to go back to
	// Undone are the deploys between Target and From, newest first; those
	// that applied migrations leave their schema behind.
	Undone []store.Release
}

// MigrationsKept returns the undone releases that applied migrations.
func (c RollbackChoice) MigrationsKept() []store.Release {
	var out []store.Release
	for _, r := range c.Undone {
		if r.MigrationsApplied {
			out = append(out, r)
		}
	}
	return out
}

// ChooseRollback picks the release a rollback of app in env goes to:
// releaseID when set, else the newest successful deploy before the
// current release that was never marked bad.
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
	for _, r := range all {
		if r.Kind != store.KindDeploy {
			continue
		}
		if releaseID != "" {
			if r.ReleaseID == releaseID {
				c.Target = r
				break
			}
			continue
		}
		if r.ReleaseID != cur.ReleaseID && r.Result == store.ReleaseSuccess && r.StartedAt < cur.StartedAt {
			c.Target = r
			break
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
	for _, r := range all {
		if r.Kind == store.KindDeploy && r.StartedAt > c.Target.StartedAt && r.ReleaseID != c.Target.ReleaseID {
			c.Undone = append(c.Undone, r)
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
// plan.Source name it), reloads and checks them as a deploy does, records
// it as a release of kind rollback, and marks the release it leaves bad.
// It refuses, naming the hosts, when any host lacks the target release.
func (d *Deployer) Rollback(ctx context.Context, p *Plan, choice RollbackChoice) (*Outcome, error) {
	began := time.Now()
	r, err := d.newRunner(p)
	if err != nil {
		return nil, err
	}
	r.check = choice.Target.ReleaseID
	rel := &store.Release{App: p.App.Name, Env: p.Env.Name, ReleaseID: choice.Target.ReleaseID, Kind: store.KindRollback,
		Commit: choice.Target.Commit, Branch: choice.Target.Branch, Subject: choice.Target.Subject, Operator: d.Operator,
		Strategy: p.Strategy.Kind}
	rel.RollbackTargetID.Int64, rel.RollbackTargetID.Valid = choice.Target.ID, true
	l, err := r.start(ctx, store.KindRollback, rel)
	if err != nil {
		return r.finish(ctx, rel, store.ReleaseAborted, began), err
	}
	defer r.unlock(ctx, l)
	// The choice was read before the lock: a deploy or rollback that
	// finished since would be undone unseen and the wrong release marked bad.
	if now, err := d.Store.LatestRelease(ctx, p.App.Name, p.Env.Name, true); err == nil && now.ID != choice.From.ID {
		err := fmt.Errorf("%s/%s changed since this rollback was chosen: it now runs release %s, not %s; choose the rollback again",
			p.App.Name, p.Env.Name, now.ReleaseID, choice.From.ReleaseID)
		for _, h := range r.hosts {
			r.fail(h, "inspect", ops.ClassCancelled, err)
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
		err := &MissingReleaseError{ReleaseID: choice.Target.ReleaseID, Hosts: missing}
		for _, h := range r.hosts {
			r.fail(h, "inspect", ops.ClassCancelled, err)
		}
		return r.finish(ctx, rel, store.ReleaseAborted, began), err
	}
	_, activate := split(p.Steps)
	activate = slices.DeleteFunc(slices.Clone(activate), func(s Step) bool { return s.Name == StepCleanup })
	p.Strategy.AutoRollback = false // going back from a rollback is another rollback, the operator's call
	t0 := time.Now()
	result := r.activate(ctx, activate)
	r.recordRollback(ctx, choice, result)
	r.notifyStart(ctx, rel).finish(ctx, store.KindRollback, result, began)
	out := r.finish(ctx, rel, result, began)
	out.Timing.Activate = time.Since(t0)
	return out, nil
}

// recordRollback logs the rollback on every host it switched and marks the
// release it left bad, on the hosts and in the store.
func (r *runner) recordRollback(ctx context.Context, choice RollbackChoice, result string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	when := time.Now().UTC().Format(time.RFC3339)
	var switchedAny atomic.Bool
	r.forEach(r.hosts, func(h *hostRun) {
		h.mu.Lock()
		switched := h.switched
		h.mu.Unlock()
		if !switched {
			return
		}
		switchedAny.Store(true)
		env := map[string]string{"DEPLOY_TO": h.deployTo,
			"OPSUI_LINE": fmt.Sprintf("%s %s rolled back to release %s (%s)", when, r.Operator, choice.Target.ReleaseID, choice.Target.Commit)}
		runCapture(ctx, r.conn, h.target, logScript, env, time.Minute)
		if h.prevRelease != "" && h.prevRelease != choice.Target.ReleaseID {
			env["OPSUI_TARGET"], env["OPSUI_REASON"] = h.prevRelease, when+" rolled back by "+r.Operator
			runCapture(ctx, r.conn, h.target, markBadScript, env, time.Minute)
		}
	})
	if switchedAny.Load() && result == store.ReleaseSuccess {
		if err := r.Store.MarkRelease(ctx, r.plan.App.Name, r.plan.Env.Name, choice.From.ReleaseID, store.ReleaseBad); err != nil {
			r.notef("%v", err)
		}
	}
}
