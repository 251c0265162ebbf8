package ui

import (
	"charm.land/bubbles/v2/key"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ui/common"
	logsview "github.com/opsui/opsui/ui/logs"
)

// The console's components: each answers the one contract, so the root
// sizes, draws, routes to and lists the keys of any of them alike.
var (
	_ common.Component[fleetView]       = (*fleetView)(nil)
	_ common.Component[runView]         = (*runView)(nil)
	_ common.Component[runsList]        = (*runsList)(nil)
	_ common.Component[*logsview.Model] = (*logsview.Model)(nil)
	_ common.Component[flow]            = (*wizard)(nil)
	_ common.Component[flow]            = (*releasesView)(nil)
	_ common.Component[flow]            = (*opFlow[RollbackPreview, *deploy.Outcome])(nil)
	_ common.Component[flow]            = (*opFlow[MigrationPlan, deploy.MigrationResult])(nil)
	_ common.Component[flow]            = (*opFlow[[]FlushTarget, []FlushResult])(nil)
)

// pane is what the root asks of the component that has the keyboard,
// whatever its type: its size, its drawing and its keys.
type pane interface {
	SetSize(width, height int)
	View() string
	KeyMap() []key.Binding
}

// focused is the component that has the keyboard in the mode shown: the
// run (live or replayed), the past runs, a flow, the logs, else the
// fleet. The root sends it the keys it does not handle itself.
func (a *App) focused() pane {
	switch {
	case a.mode == modeRun:
		return a.shownRun()
	case a.mode == modeRuns:
		return &a.past
	case a.mode == modeFlow && a.flows.cur != nil:
		return a.flows.cur
	case a.mode == modeLogs && a.logs.view != nil:
		return a.logs.view
	}
	return &a.fleet
}
