// Package flows is the console's guided flows: the deploy wizard, a
// rollback, a migrate, a cache flush (each one walk of the op flow
// machine, opFlow, with its own spec and look), the releases view and the
// comparison of two releases. A flow calls the service through Flows, runs
// its work in a tea.Cmd under the Tracker the root waits on, and shows it
// in ui/run's view. The root (package ui) opens a flow with the fleet's
// keys (OpenDeploy...), tags its messages so that a closed flow's late
// answers are dropped, and asks before quitting under its running work
// (Running, Abort).
package flows

import (
	"context"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/cache"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

// Flows are the engine's entry points for the guided flows: the deploy
// wizard, rollback, migrate, flush and the releases view; the deploy,
// rollback and migrate ones are ops.Service's methods, which the CLI calls
// too. Every one runs inside a tea.Cmd, never in Update. A nil function
// turns its flow off.
type Flows struct {
	// Refs lists the app's branches, tags and recent commits.
	Refs func(ctx context.Context, app string) ([]ops.Ref, error)
	// Preview says what deploying ref of app to env would change, with
	// the plan in the environment's default strategy
	// (ops.Service.PreviewDeploy); it changes nothing.
	Preview func(ctx context.Context, app, env, ref string) (ops.Preview, error)
	// Deploy runs the plan the wizard confirmed (the preview's, in the
	// strategy chosen), as it is, or refuses it when the inventory changed
	// since. emit gets every host's events, say the deploy's own messages,
	// confirm the canary's go-ahead (it blocks until the user answers or
	// ctx ends).
	Deploy func(ctx context.Context, plan *deploy.Plan, io ops.IO) (*deploy.Outcome, error)
	// RollbackPreview lists the releases app can go back to in env and
	// what going to `to` (empty: the previous good one) undoes, with the
	// plan in the environment's default strategy
	// (ops.Service.PreviewRollback); it changes nothing.
	RollbackPreview func(ctx context.Context, app, env, to string) (ops.RollbackPreview, error)
	// Rollback runs the rollback the flow confirmed (the preview's plan,
	// in the strategy chosen), as it is, or refuses it when the inventory
	// or the releases changed since.
	Rollback func(ctx context.Context, plan *deploy.RollbackPlan, io ops.IO) (*deploy.Outcome, error)
	// MigrationPlan lists the migrations pending on env's migration host,
	// with the plan (ops.Service.PreviewMigrate); it changes nothing.
	MigrationPlan func(ctx context.Context, app, env string) (ops.MigrationPlan, error)
	// Migrate runs the migrate the flow confirmed (the preview's plan) once
	// on its migration host, or refuses it when the inventory or the
	// releases changed since.
	Migrate func(ctx context.Context, plan *deploy.MigratePlan, io ops.IO) (deploy.MigrationResult, error)
	// FlushPlan lists env's cache hosts and what each would flush.
	FlushPlan func(ctx context.Context, env string) ([]cache.Spec, error)
	// Flush empties the caches of hosts, a result per host.
	Flush func(ctx context.Context, env string, hosts []string, io ops.IO) ([]cache.Result, error)
	// Releases lists the releases of app in env, newest first.
	Releases func(ctx context.Context, app, env string) ([]store.Release, error)
	// SafetyNotes says which of rs were let through a freeze or ran
	// migrations that were not safe (ops.Service.SafetyNotes); may be nil.
	SafetyNotes func(ctx context.Context, rs []store.Release) ([]string, error)
	// Compare says what lies between two releases (a the older).
	Compare func(ctx context.Context, a, b store.Release) (deploy.Comparison, error)
	// RestartPlan plans the restart of app's app servers in env
	// (ops.Service.PreviewRestart); it changes nothing. Restart runs the
	// plan the flow confirmed (ui/flows/restart.go).
	RestartPlan func(ctx context.Context, app, env string) (*deploy.RestartPlan, error)
	Restart     func(ctx context.Context, plan *deploy.RestartPlan, io ops.IO) (*deploy.Outcome, error)
}

// errString is err's text, "" for none.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
