package ui

import (
	"context"
	"time"

	"github.com/opsui/opsui/ops/cache"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// Flows are the engine's entry points for the guided flows: the deploy
// wizard, rollback, migrate, flush and the releases view. Every one runs
// inside a tea.Cmd, never in Update. A nil function turns its flow off.
type Flows struct {
	// Refs lists the app's branches, tags and recent commits.
	Refs func(ctx context.Context, app string) ([]Ref, error)
	// Preview says what deploying ref of app to env would change, with
	// the plan (deploy.PreviewDeploy) in the environment's default
	// strategy; it changes nothing.
	Preview func(ctx context.Context, app, env, ref string) (Preview, error)
	// Deploy runs the plan the wizard confirmed (the preview's, in the
	// strategy chosen), as it is, or refuses it when the inventory changed
	// since. emit gets every host's events, say the deploy's own messages,
	// confirm the canary's go-ahead (it blocks until the user answers or
	// ctx ends).
	Deploy func(ctx context.Context, plan *deploy.Plan, io FlowIO) (*deploy.Outcome, error)
	// RollbackPreview lists the releases app can go back to in env and
	// what going to `to` (empty: the previous good one) undoes, with the
	// plan (deploy.PreviewRollback) in the environment's default
	// strategy; it changes nothing.
	RollbackPreview func(ctx context.Context, app, env, to string) (RollbackPreview, error)
	// Rollback runs the rollback the flow confirmed (the preview's plan,
	// in the strategy chosen), as it is, or refuses it when the inventory
	// or the releases changed since.
	Rollback func(ctx context.Context, plan *deploy.RollbackPlan, io FlowIO) (*deploy.Outcome, error)
	// MigrationPlan lists the migrations pending on env's migration host,
	// with the plan (deploy.PreviewMigrate); it changes nothing.
	MigrationPlan func(ctx context.Context, app, env string) (MigrationPlan, error)
	// Migrate runs the migrate the flow confirmed (the preview's plan) once
	// on its migration host, or refuses it when the inventory or the
	// releases changed since.
	Migrate func(ctx context.Context, plan *deploy.MigratePlan, io FlowIO) (deploy.MigrationResult, error)
	// FlushPlan lists env's cache hosts and what each would flush.
	FlushPlan func(ctx context.Context, env string) ([]cache.Spec, error)
	// Flush empties the caches of hosts, a result per host.
	Flush func(ctx context.Context, env string, hosts []string, io FlowIO) ([]cache.Result, error)
	// Releases lists the releases of app in env, newest first.
	Releases func(ctx context.Context, app, env string) ([]store.Release, error)
	// Compare says what lies between two releases (a the older).
	Compare func(ctx context.Context, a, b store.Release) (deploy.Comparison, error)
}

// FlowIO is how a running flow talks to the console: Emit takes the hosts'
// events (safe for concurrent use, never blocks), Say the flow's own
// messages, Confirm a question put to the user (the canary's go-ahead).
type FlowIO struct {
	Emit    func(remote.Event)
	Say     func(string)
	Confirm func(ctx context.Context, question string) (bool, error)
}

// Ref is a branch, tag or commit of an app's repository.
type Ref struct {
	Name    string // what is deployed: the branch or tag name, or the hash
	Kind    string // branch, tag or commit
	Hash    string
	Subject string
	Author  string
	When    time.Time
}

// HostRelease is what one host of a deploy runs now.
type HostRelease struct {
	Host      string
	Release   string // the release id current points at, empty if none
	Commit    string
	Reachable bool
	Err       string // why it could not be read
	Lock      string // who holds its deploy lock, empty when free
}

// Preview is what a deploy would change, read before anyone confirms.
type Preview struct {
	// Plan is the deploy decided from the inventory read for the preview.
	Plan   *deploy.Plan
	Source deploy.Source
	// Current is the environment's last successful release, empty before
	// the first; CurrentCommit its commit.
	Current, CurrentCommit string
	Hosts                  []HostRelease
	// Commits are those the deploy brings (newest first); Behind those
	// running now that the target lacks: a rollback in disguise.
	Commits, Behind []deploy.Commit
	Diffstat        string // git's diffstat between current and target
	Migrations      []string
	Requirements    []string // requirements files that change
}

// RollbackPreview is what a rollback would do.
type RollbackPreview struct {
	// Plan is the rollback decided from the inventory and the releases
	// read for the preview: what the flow re-batches and runs.
	Plan       *deploy.RollbackPlan
	From       store.Release   // what the environment runs now
	Target     store.Release   // where it goes
	Candidates []store.Release // releases it can go back to, newest first
	// Undone are the releases between Target and From; Migrated those of
	// them whose migrations stay (a rollback does not reverse them).
	Undone, Migrated []store.Release
	Commits          []deploy.Commit // the commits that go away
	Hosts            []string        // the hosts it switches
}

// MigrationPlan is what a migrate would run.
type MigrationPlan struct {
	// Plan is the migrate decided from the inventory and the releases read
	// for the preview: what the flow runs.
	Plan                   *deploy.MigratePlan
	Host, Command, Release string
	Pending                []string
	Total                  int
	Output                 string // the plan command's output when it is not Django's
}

// errString is err's text, "" for none.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
