package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// StepMigrationCheck names the check in the deploy's events and in a
// refused host's failure.
const StepMigrationCheck = "migration-check"

// migcheckTimeout bounds the check: it loads Django and reads the
// migration graph, nothing more.
const migcheckTimeout = 2 * time.Minute

// checksMigrations reports whether a deploy of app is checked: the Django
// preset with a migrate command, its own or the preset's (the check loads
// the release's Django).
func checksMigrations(app inventory.App) bool {
	return app.Preset == PresetDjango && app.MigrateCommand() != ""
}

// CheckMigrations runs the compatibility check in dir on host h (a
// release directory with its virtualenv, or a preview's unpacked tree),
// against the database its settings name. A check that cannot run is
// returned with Err set, not as an error: its verdict is unknown.
func CheckMigrations(ctx context.Context, conn remote.Connector, t remote.Target, env map[string]string, dir string) MigrationCheck {
	e := make(map[string]string, len(env)+2)
	for k, v := range env {
		e[k] = v
	}
	e["RELEASE_DIR"], e["OPSUI_MIGCHECK"] = dir, migcheckPy
	c := MigrationCheck{Host: t.Name}
	out, res := runCapture(ctx, conn, t, withEnv(migcheckScript), e, migcheckTimeout)
	if res.Status != remote.StatusOK {
		c.Err = hostErr(res, out).Error()
		return c
	}
	ops, pending, err := ParseMigrationCheck(out)
	if err != nil {
		c.Err = err.Error()
		return c
	}
	c.Ops, c.Pending = ops, pending
	return c
}

// gateMigrations runs the check on h, the migration host, in the new
// release (built: its own virtualenv and Django), before the migrate step,
// and gates the migration on it (gate). It reports whether the migrate
// step may run.
func (r *runner) gateMigrations(ctx context.Context, h *hostRun, s Step) bool {
	p := r.plan
	if !checksMigrations(p.App) {
		return true
	}
	r.events.stageIn(ctx, h, StepMigrationCheck)
	c := CheckMigrations(ctx, r.conn, h.target, p.env(h.host, s), p.env(h.host, s)["RELEASE_DIR"])
	return r.gate(ctx, h, c, r.oldCodeServes())
}

// oldCodeServes reports whether code of an earlier release serves while
// this deploy runs: a known good release, or a host with one.
func (r *runner) oldCodeServes() bool {
	old := r.plan.KnownGood != ""
	for _, hr := range r.hosts {
		old = old || hr.prevRelease != ""
	}
	return old
}

// gate says and records the verdict of check c, run on h, and, when
// Plan.Gate refuses, fails every host of the deploy so nothing is migrated
// or switched. It reports whether the migration may run.
func (r *runner) gate(ctx context.Context, h *hostRun, c MigrationCheck, old bool) bool {
	p := r.plan
	c.Release = p.ReleaseID
	for _, l := range c.Lines() {
		r.events.sendIn(ctx, remote.Event{Host: h.host.Name, Kind: remote.EventStdout, Line: l})
	}
	err := p.Gate(c, old)
	allowed := ""
	if len(c.With(VerdictBreaking)) > 0 && err == nil {
		switch {
		case !old:
			allowed = "first deploy: no old code serves"
		case p.Maintenance:
			allowed = "--maintenance by " + r.Operator + ": the site answered 503 while old code could break"
		case p.AllowBreakingMigrations:
			allowed = "--allow-breaking-migrations by " + r.Operator
		default:
			allowed = "strategy " + p.Strategy.Kind.String() + ": old code stops serving before new code starts"
		}
	}
	r.recordCheck(ctx, c, allowed)
	switch {
	case err != nil:
		r.notef("%v", err)
		for _, hr := range r.hosts {
			if hr.todo() {
				r.fail(hr, StepMigrationCheck, remote.ClassExit, err)
			}
		}
		return false
	case allowed != "":
		r.notef("%s; allowed: %s", c.Summary(), allowed)
	case c.Verdict() != VerdictSafe:
		r.notef("%s", c.Summary())
	}
	return true
}

// recordCheck keeps the verdict with the release; a store that fails is a
// note, not a failed deploy.
func (r *runner) recordCheck(ctx context.Context, c MigrationCheck, allowed string) {
	ops, err := json.Marshal(c.Ops)
	if err == nil {
		err = r.Store.SaveMigrationCheck(ctx, store.MigrationCheck{App: r.plan.App.Name, Env: r.plan.Env.Name,
			ReleaseID: r.plan.ReleaseID, Host: c.Host, Verdict: string(c.Verdict()), Ops: string(ops), Error: c.Err, Allowed: allowed})
	}
	if err != nil {
		r.notef("%v", err)
	}
}

// RecordedMigrationCheck reads the verdict recorded with a release back
// as a MigrationCheck; ok is false when none was recorded.
func RecordedMigrationCheck(ctx context.Context, st *store.Store, app, env, releaseID string) (c MigrationCheck, allowed string, ok bool, err error) {
	rec, err := st.MigrationCheckOf(ctx, app, env, releaseID)
	if errors.Is(err, store.ErrNotFound) {
		return c, "", false, nil
	}
	if err != nil {
		return c, "", false, err
	}
	c = MigrationCheck{Host: rec.Host, Release: rec.ReleaseID, Err: rec.Error}
	if err := json.Unmarshal([]byte(rec.Ops), &c.Ops); err != nil {
		return c, "", false, fmt.Errorf("the migration check of release %s: %w", releaseID, err)
	}
	return c, rec.Allowed, true, nil
}
