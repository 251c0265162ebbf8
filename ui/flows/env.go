package flows

import (
	"context"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ui/common"
	fleetview "github.com/opsui/opsui/ui/fleet"
)

// Flow is a guided flow on screen: the deploy wizard, a rollback, a
// migrate, a flush or the releases view. Its Update returns the flow that
// has the screen next: itself, another one (the summary's rollback), or
// nil when it is over.
type Flow interface {
	common.Component[Flow]
}

// Env is what every flow shares: the console's context and keys, the
// engine's entry points, the fleet and what the status panel knows. A
// flow opened from another one shares its Env.
type Env struct {
	ctx    *common.Context
	keys   KeyMap
	fns    Flows
	fleet  *inventory.Fleet
	status *fleetview.Board
	// loadRun reads a recorded run (Deps.LoadRun), nil when there is none.
	loadRun func(ctx context.Context, id int64) (ops.RecordedRun, error)
	// life is the program's lifetime: the flows' works run under it, and
	// tracker counts them, so that the console never exits under one.
	life    context.Context
	tracker *Tracker
	// width and height are the flow area's, set through the flow's
	// SetSize.
	width, height int
}

// Deps is what the root hands the flows.
type Deps struct {
	Ctx    *common.Context
	Keys   KeyMap
	Fns    Flows
	Fleet  *inventory.Fleet
	Status *fleetview.Board
	// LoadRun reads a recorded run (the releases view replays one); nil
	// when there is none.
	LoadRun func(ctx context.Context, id int64) (ops.RecordedRun, error)
	// Life is the program's lifetime: the flows' works run under it and
	// Tracker counts them.
	Life    context.Context
	Tracker *Tracker
}

// NewEnv is the flows' shared part for one flow opened by the root.
func NewEnv(d Deps) *Env {
	return &Env{ctx: d.Ctx, keys: d.Keys, fns: d.Fns, fleet: d.Fleet, status: d.Status, loadRun: d.LoadRun,
		life: d.Life, tracker: d.Tracker}
}

// setSize and size are the flow area's size, for the flows' SetSize and View.
func (e *Env) setSize(w, h int) { e.width, e.height = w, h }
func (e *Env) size() (w, h int) { return e.width, e.height }

// The flows the fleet's keys open, on the focused host's environment.

// OpenDeploy opens the deploy wizard.
func OpenDeploy(env *Env, envName string) (Flow, tea.Cmd) { return newWizard(env, envName) }

// OpenRollback opens a rollback.
func OpenRollback(env *Env, envName string) (Flow, tea.Cmd) {
	return newRollbackFlow(env, envName, "", "")
}

// OpenMigrate opens a migrate.
func OpenMigrate(env *Env, envName string) (Flow, tea.Cmd) { return newMigrateFlow(env, envName) }

// OpenFlush opens a cache flush.
func OpenFlush(env *Env, envName string) (Flow, tea.Cmd) { return newFlushFlow(env, envName) }

// OpenReleases opens the releases view.
func OpenReleases(env *Env, envName string) (Flow, tea.Cmd) { return newReleasesView(env, envName) }

// Typing reports whether the flow's focused field takes text, so that ?
// and q are characters and not the help or quitting.
func Typing(f Flow) bool {
	t, ok := f.(interface{ typing() bool })
	return ok && t.typing()
}

// Running reports whether the flow's work runs: quitting then asks first.
func Running(f Flow) bool { return activeRunner(f) != nil }

// Abort cancels the flow's running work for quitting and says so above
// its panes; false when no work runs.
func Abort(f Flow) bool {
	r := activeRunner(f)
	if r == nil {
		return false
	}
	r.cancel()
	r.log.say("quitting: aborting the run; every host stops at its next step and the lock is released")
	return true
}

// activeRunner is the flow's work while it runs, nil when it has none or
// it is over.
func activeRunner(f Flow) *flowRunner {
	rf, ok := f.(interface{ running() *flowRunner })
	if !ok {
		return nil
	}
	r := rf.running()
	if r == nil || r.done {
		return nil
	}
	return r
}

// IsReleases reports whether f is the releases view, whose keys are not
// the steps': the ? help lists its own.
func IsReleases(f Flow) bool {
	_, ok := f.(*releasesView)
	return ok
}
