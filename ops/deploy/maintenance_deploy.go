package deploy

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// StepMaintenance names deploy --maintenance's step in a refused host's
// failure.
const StepMaintenance = "maintenance"

// deployMaintenanceMessage is what the balancers answer while a deploy
// holds the site in maintenance.
const deployMaintenanceMessage = "Down for maintenance: a new release is being deployed. Back in a few minutes."

// maintRun is deploy --maintenance's part of a run: whether this deploy
// turned maintenance on (and must turn it off), and what failed.
type maintRun struct {
	mu       sync.Mutex
	tried    bool
	on       bool // on by this deploy: off after the last switch
	warnings []string
}

// checkMaintenance refuses a deploy planned with Maintenance whose
// environment's balancers cannot answer 503, or whose message or
// Retry-After they could not send, before anything runs.
func checkMaintenance(p *Plan) error {
	if !p.Maintenance {
		if p.MaintenanceMessage != "" || p.MaintenanceRetryAfter != 0 {
			return fmt.Errorf("deploy %s: a maintenance message or Retry-After without --maintenance", p.App.Name)
		}
		return nil
	}
	if err := p.MaintenanceState().Check(); err != nil {
		return fmt.Errorf("deploy %s --maintenance: %w", p.App.Name, err)
	}
	if _, err := MaintenanceBalancers(MaintenanceOptions{Fleet: p.Fleet, App: p.App.Name, Env: p.Env.Name}); err != nil {
		return fmt.Errorf("deploy %s --maintenance: %w", p.App.Name, err)
	}
	return nil
}

// MaintenanceState is what the balancers answer while the deploy holds
// the site in maintenance.
func (p *Plan) MaintenanceState() MaintenanceState {
	return DeployMaintenance(p.MaintenanceMessage, p.MaintenanceRetryAfter)
}

// DeployMaintenance is what the balancers answer while a deploy holds the
// site in maintenance with message and retryAfter, each defaulted when
// empty (deploy --maintenance-message, --maintenance-retry-after).
func DeployMaintenance(message string, retryAfter time.Duration) MaintenanceState {
	st := MaintenanceState{On: true, Message: message, RetryAfter: retryAfter}
	if st.Message == "" {
		st.Message = deployMaintenanceMessage
	}
	if st.RetryAfter == 0 {
		st.RetryAfter = DefaultRetryAfter
	}
	return st
}

// maintOptions are the balancers of the plan's environment.
func (r *runner) maintOptions() MaintenanceOptions {
	return MaintenanceOptions{Conn: r.conn, Fleet: r.plan.Fleet, App: r.plan.App.Name, Env: r.plan.Env.Name, Targets: r.Targets,
		About: fmt.Sprintf("since %s by %s deploy %s", time.Now().UTC().Format(time.RFC3339), r.Operator, r.plan.ReleaseID),
		Note:  func(host, line string) { r.notef("%s: %s", host, line) }}
}

// maintenanceOn puts the site in maintenance before the migration of a
// deploy planned with Maintenance, once. Maintenance already on (an
// operator's) is left as it is, and on after the deploy. When the
// balancers cannot be put in maintenance, every host fails here: nothing
// is migrated or switched. It reports whether the migration may run.
func (r *runner) maintenanceOn(ctx context.Context) bool {
	if !r.plan.Maintenance || r.kind != store.KindDeploy {
		return true
	}
	m := &r.maint
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tried {
		return true
	}
	m.tried = true
	p := r.plan
	if r.Store != nil {
		if cur, err := r.Store.MaintenanceOf(ctx, p.App.Name, p.Env.Name); err == nil && cur.On {
			r.notef("maintenance was already on (by %s): the deploy leaves it on", cur.Operator)
			return true
		}
	}
	_, err := SetMaintenance(ctx, r.maintOptions(), p.MaintenanceState())
	if err != nil {
		err = fmt.Errorf("--maintenance: the balancers could not be put in maintenance, so nothing is migrated or switched: %w", err)
		r.notef("%v", err)
		for _, hr := range r.hosts {
			if hr.todo() {
				r.fail(hr, StepMaintenance, remote.ClassExit, err)
			}
		}
		return false
	}
	m.on = true
	r.recordMaintenance(ctx, true)
	r.notef("maintenance on: every balancer answers 503 until the last switch")
	return true
}

// maintenanceOff ends the maintenance this deploy turned on, whatever
// happened after: the last switch done, a failure, a rollback, ctrl+c. A
// failure is a warning (the command fails) naming what to run.
func (r *runner) maintenanceOff(ctx context.Context) {
	m := &r.maint
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.on {
		return
	}
	m.on = false
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
	defer cancel()
	if _, err := SetMaintenance(ctx, r.maintOptions(), MaintenanceState{}); err != nil {
		w := fmt.Sprintf("warning: maintenance is still on: %v (opsui maintenance off %s --env %s)", err, r.plan.App.Name, r.plan.Env.Name)
		m.warnings = append(m.warnings, w)
		r.notef("%s", w)
		return
	}
	r.recordMaintenance(ctx, false)
	r.notef("maintenance off: the balancers send requests to the app again")
}

// recordMaintenance keeps the state row, with this deploy's run.
func (r *runner) recordMaintenance(ctx context.Context, on bool) {
	if r.Store == nil {
		return
	}
	st := store.Maintenance{App: r.plan.App.Name, Env: r.plan.Env.Name, On: on, Operator: r.Operator}
	if on {
		st.Message, st.RetryAfter = deployMaintenanceMessage, int64(DefaultRetryAfter/time.Second)
	}
	if r.rec != nil {
		st.RunID = r.rec.RunID()
	}
	if err := r.Store.SetMaintenance(context.WithoutCancel(ctx), st); err != nil {
		r.notef("warning: %v", err)
	}
}

// maintWarnings are maintenance steps that failed, for the outcome.
func (r *runner) maintWarnings() []string {
	r.maint.mu.Lock()
	defer r.maint.mu.Unlock()
	return r.maint.warnings
}
