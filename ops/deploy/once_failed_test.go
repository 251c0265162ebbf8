package deploy

import (
	"slices"
	"strings"
	"testing"

	"github.com/opsui/opsui/store"
)

// TestFailedMigrationSwitchesNoHostWhateverMaxFail: a migration that did
// not finish leaves the schema unknown, so no host is switched even when
// --max-fail tolerates its host's failure (before, the other hosts were
// switched to code whose migration had failed).
func TestFailedMigrationSwitchesNoHostWhateverMaxFail(t *testing.T) {
	tb, _ := alongTestbed(t, false)
	tb.app.Migrate = "echo 'relation notes_note already exists' >&2 && exit 3"
	out := tb.deploy("main", Strategy{Kind: "all", MaxFail: Count{N: 1}})
	if out.Result != store.ReleaseFailed {
		tb.logf(out)
		t.Fatalf("deploy: %s, want failed", out.Result)
	}
	for _, h := range out.Hosts {
		t.Logf("%s: %s at %q: %v", h.Host, h.Status, h.Step, h.Err)
	}
	for i := range tb.fleet.Hosts {
		if rel := tb.sh(i, "readlink "+tb.deployTo+"/current || true"); strings.HasSuffix(rel, out.ReleaseID) {
			t.Errorf("%s was switched to the release whose migration failed", tb.fleet.Hosts[i].Name)
		}
	}
	if !slices.ContainsFunc(out.Notes, func(n string) bool {
		return strings.Contains(n, "migrate did not finish on ") && strings.Contains(n, "no host was switched")
	}) {
		t.Errorf("the run does not say the migration did not finish: %q", out.Notes)
	}
}
