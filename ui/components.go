package ui

import (
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ui/common"
)

// The console's components: each answers the one contract, so the root
// sizes, draws, routes to and lists the keys of any of them alike.
var (
	_ common.Component[fleetView] = (*fleetView)(nil)
	_ common.Component[runView]   = (*runView)(nil)
	_ common.Component[runsList]  = (*runsList)(nil)
	_ common.Component[*logsView] = (*logsView)(nil)
	_ common.Component[flow]      = (*wizard)(nil)
	_ common.Component[flow]      = (*releasesView)(nil)
	_ common.Component[flow]      = (*opFlow[RollbackPreview, *deploy.Outcome])(nil)
	_ common.Component[flow]      = (*opFlow[MigrationPlan, deploy.MigrationResult])(nil)
	_ common.Component[flow]      = (*opFlow[[]FlushTarget, []FlushResult])(nil)
)
