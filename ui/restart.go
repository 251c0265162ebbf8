package ui

import (
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ui/common"
	flowsview "github.com/opsui/opsui/ui/flows"
)

// ":restart [environment]": the app servers started again on the release
// they run (opsui restart), through the flow machine like a rollback: the
// plan, all or rolling, the confirmation (the name typed on a protected
// environment), the run. It has no key of its own.

// restartOff is why :restart does nothing now, "" when it opens.
func (a App) restartOff() string {
	fns := a.flows.fns
	switch {
	case fns.RestartPlan == nil || fns.Restart == nil:
		return flowMissingNotice
	case a.ctx.ReadOnly:
		return flowReadOnlyNotice
	case a.backgroundRunning():
		return "a " + a.backgroundKind() + " runs out of sight: " + common.KeyName(a.keys.LastRun) + " returns to it"
	}
	return ""
}

// paletteRestart opens the restart flow on the environment args name,
// else on the focused host's.
func (a App) paletteRestart(args []string) (tea.Model, tea.Cmd) {
	return a.openFlowOn(args, a.restartOff(), flowsview.OpenRestart)
}
