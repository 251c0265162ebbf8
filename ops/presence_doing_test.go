package ops

import (
	"testing"

	"github.com/opsui/opsui/store"
)

// TestDoingNamesEveryKind: the wizard's warning says what a teammate's run
// is doing in words of its own for every kind a run can have, never the
// catch-all of an exec for a restart, a maintenance switch or a setup.
func TestDoingNamesEveryKind(t *testing.T) {
	for kind, want := range map[string]string{
		store.KindDeploy: "deploying", store.KindRollback: "rolling back", store.KindMigrate: "migrating",
		store.KindFlush: "flushing", store.KindConfig: "changing the env of", store.KindRestart: "restarting",
		store.KindMaintenance: "switching maintenance of", store.KindSetup: "setting up",
		store.KindExec: "running a command on",
	} {
		if got := doing(kind); got != want {
			t.Errorf("doing(%s) = %q, want %q", kind, got, want)
		}
	}
}
