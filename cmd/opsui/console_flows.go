package main

import (
	"github.com/opsui/opsui/ui/flows"
)

// flows are the console's guided flows: the service's operations, on the
// session's pool (so host keys and passphrases are asked in the console)
// and recorded in its store, as the headless commands' are. The service
// keeps the session's prober, which knows the hosts whose probes hang.
//
// A deploy, rollback or migrate runs the very plan its preview made,
// which the flow carries from the preview to the run (re-batched for the
// strategy chosen); the service checks it against the fleet and the
// releases again before it runs.
func (c *consoleSession) flows() flows.Flows {
	svc := c.svc
	return flows.Flows{Refs: svc.Refs, Preview: svc.PreviewDeploy, Deploy: svc.Deploy,
		RollbackPreview: svc.PreviewRollback, Rollback: svc.Rollback, MigrationPlan: svc.PreviewMigrate, Migrate: svc.Migrate,
		FlushPlan: c.flushPlan, Flush: c.flush, Releases: c.releases, Compare: c.compare,
		SafetyNotes: svc.ReleaseNotes, RestartPlan: svc.PreviewRestart, Restart: svc.Restart}
}
