package deploy

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/opsui/opsui/ops/remote"
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

// TestMigrationCutShortAfterItsHostFailedSwitchesNoHost: the migration
// host fails at its own collectstatic first, while its migration goes on
// alongside, and then the migration fails too. The host's failure is its
// collectstatic's, but the schema is unknown all the same: no host is
// switched (before, the other hosts were, --max-fail tolerating web1).
func TestMigrationCutShortAfterItsHostFailedSwitchesNoHost(t *testing.T) {
	tb, dir := alongTestbed(t, false)
	if err := os.WriteFile(dir+"/fail-cs-web1", nil, 0o666); err != nil {
		t.Fatal(err)
	}
	tb.app.Migrate = waitFor("web1", dir+"/cs-failed-web1") + "sleep 0.5; echo 'migration cut short' >&2; exit 3"
	out := tb.deploy("main", Strategy{Kind: "all", MaxFail: Count{N: 1}})
	if out.Result != store.ReleaseFailed {
		tb.logf(out)
		t.Fatalf("deploy: %s, want failed", out.Result)
	}
	if h := out.Hosts[0]; h.Host != "web1" || h.Step != "collectstatic" {
		t.Errorf("web1 ended %s at %q, want failed at its collectstatic, first", h.Status, h.Step)
	}
	for i := range tb.fleet.Hosts {
		if rel := tb.sh(i, "readlink "+remote.Quote(tb.deployTo+"/current")+" || true"); strings.HasSuffix(rel, out.ReleaseID) {
			t.Errorf("%s was switched though the migration did not finish", tb.fleet.Hosts[i].Name)
		}
	}
	if !slices.ContainsFunc(out.Notes, func(n string) bool { return strings.Contains(n, "migrate did not finish on web1") }) {
		t.Errorf("the run does not say the migration did not finish: %q", out.Notes)
	}
}
