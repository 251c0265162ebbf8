package deploy

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// managePy is a manage.py whose collectstatic notes in dir that it
// started on $HOST, waits (when wait is set) for the migration's file,
// then notes that it is done: files, not clocks.
func managePy(dir string, wait bool) string {
	return fmt.Sprintf(`import os, sys, time
d, host, wait = %q, os.environ["HOST"], %v
def touch(n):
    open(os.path.join(d, n), "w").close()
if sys.argv[1] == "collectstatic":
    if os.path.exists(os.path.join(d, "fail-cs-" + host)):
        touch("cs-failed-" + host)
        sys.exit("collectstatic failed on " + host)
    touch("cs-started-" + host)
    for _ in range(300):
        if not wait or os.path.exists(os.path.join(d, "migrated")):
            break
        time.sleep(0.1)
    else:
        sys.exit("collectstatic on %%s waited in vain for the migration" %% host)
    touch("cs-done-" + host)
    print("collected on " + host)
`, dir, map[bool]string{true: "True", false: "False"}[wait])
}

// alongTestbed is a testbed of three web hosts deploying with the Django
// preset (collectstatic on each host) a release whose manage.py is
// managePy; web1 migrates.
func alongTestbed(t *testing.T, wait bool) (*testbed, string) {
	tb := newTestbed(t, 3)
	dir, err := os.MkdirTemp("", "opsui-along-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	tb.inv.Hosts[0].Roles = append(tb.inv.Hosts[0].Roles, RoleMigrate)
	tb.app.Preset, tb.app.Static = PresetDjango, inventory.StaticPerHost
	tb.commit("django-like", map[string]string{"manage.py": managePy(dir, wait)})
	return tb, dir
}

// TestMigrationRunsAlongsideCollectstatic proves with files that the
// migration starts on its host as soon as that host's release is built,
// while collectstatic is still going on its own host and on another:
// every collectstatic waits for the migration's file, and the migration
// waits for web1's and web2's collectstatic to have started. In the old
// order (the migration after its host's collectstatic) both wait in vain.
// web1's pane still reads in the order the steps are written.
func TestMigrationRunsAlongsideCollectstatic(t *testing.T) {
	tb, dir := alongTestbed(t, true)
	tb.app.Migrate = waitFor("web1", dir+"/cs-started-web1") + waitFor("web1", dir+"/cs-started-web2") +
		"test ! -e " + remote.Quote(dir+"/cs-done-web1") + " && touch " + remote.Quote(dir+"/migrated") + " && echo migrated on $HOST"
	out := tb.deploy("main", Strategy{Kind: "all"})
	if out.Result != store.ReleaseSuccess {
		tb.logf(out)
		t.Fatalf("result %s, want success", out.Result)
	}
	for _, h := range []string{"web1", "web2", "web3"} {
		if _, err := os.Stat(dir + "/cs-done-" + h); err != nil {
			t.Errorf("collectstatic never finished on %s", h)
		}
	}

	// web1's events: collectstatic's stage and output, then the
	// migration's stages and output, then nothing else of the prepare.
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var web1 []string
	for _, ev := range tb.events {
		if ev.Host != "web1" {
			continue
		}
		switch ev.Kind {
		case remote.EventStage:
			web1 = append(web1, "== "+ev.Line)
		case remote.EventStdout:
			if strings.HasSuffix(ev.Line, " on web1") {
				web1 = append(web1, ev.Line)
			}
		}
	}
	want := []string{"== collectstatic", "collected on web1", "== migrate", "== migration-check", "migrated on web1", "== switch"}
	at := 0
	for _, l := range web1 {
		if at < len(want) && l == want[at] {
			at++
		}
	}
	if at < len(want) || slices.Index(web1, "migrated on web1") < slices.Index(web1, "collected on web1") {
		t.Errorf("web1's pane reads %q, want in order %q", web1, want)
	}
}

// TestStageBetweenCollectstaticAndMigrateKeepsTheOrder: a stage of the
// app's between collectstatic and the migration holds the migration
// until the stage (and the collectstatic before it) ran on the migration
// host, as written.
func TestStageBetweenCollectstaticAndMigrateKeepsTheOrder(t *testing.T) {
	tb, dir := alongTestbed(t, false)
	tb.app.Stages = []inventory.Stage{{Name: "between", Position: "after:collectstatic",
		Run: "test -e " + remote.Quote(dir) + "/cs-done-$HOST && touch " + remote.Quote(dir) + "/between-$HOST"}}
	tb.app.Migrate = "test -e " + remote.Quote(dir+"/between-web1") + " && echo migrated on $HOST"
	out := tb.deploy("main", Strategy{Kind: "all"})
	if out.Result != store.ReleaseSuccess {
		tb.logf(out)
		t.Fatalf("result %s, want success", out.Result)
	}
}

// TestAlongsideOnlyPassesThePresetsSteps pins which steps the migration
// may start before.
func TestAlongsideOnlyPassesThePresetsSteps(t *testing.T) {
	preset, err := presetSteps(PresetDjango)
	if err != nil {
		t.Fatal(err)
	}
	staticSteps(inventory.App{}, preset)
	prep, _ := split(preset)
	seg, once := prep[1:4], prep[4] // shared, build, collectstatic | migrate
	before, along := alongside(seg, once)
	if names(before) != "shared, build" || names(along) != "collectstatic" {
		t.Errorf("alongside = %q | %q, want shared, build | collectstatic", names(before), names(along))
	}
	own := append(slices.Clone(seg), Step{Name: "between", Run: "true"})
	if before, along := alongside(own, once); len(along) != 0 || len(before) != 4 {
		t.Errorf("with a stage between: %q | %q, want everything before", names(before), names(along))
	}
	mine := once
	mine.Run, mine.Slot = "./migrate.sh", ""
	if _, along := alongside(seg, mine); len(along) != 0 {
		t.Errorf("the app's own migration started before %q", names(along))
	}
}

// TestMigrationFailingAlongsideCollectstatic: a migration that fails
// while its host's collectstatic still runs fails its host at the
// migration, after the collectstatic's output, with the host's final
// event last; nothing is switched.
func TestMigrationFailingAlongsideCollectstatic(t *testing.T) {
	tb, dir := alongTestbed(t, true)
	tb.app.Migrate = waitFor("web1", dir+"/cs-started-web1") + "touch " + remote.Quote(dir+"/migrated") +
		" && echo 'relation notes_note already exists' >&2 && exit 3"
	out := tb.deploy("main", Strategy{Kind: "all"})
	if out.Result == store.ReleaseSuccess {
		t.Fatal("the deploy succeeded with a failed migration")
	}
	for _, h := range out.Hosts {
		if h.Host == "web1" && (h.Step != StepMigrate || h.Err == nil || !strings.Contains(h.Err.Error(), "already exists")) {
			t.Errorf("web1 ended %s at %q (%v), want failed at migrate saying why", h.Status, h.Step, h.Err)
		}
	}
	for i := range tb.fleet.Hosts {
		if rel := tb.sh(i, "readlink "+tb.deployTo+"/current || true"); strings.HasSuffix(rel, out.ReleaseID) {
			t.Errorf("%s was switched to the release whose migration failed", tb.fleet.Hosts[i].Name)
		}
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var web1 []remote.Event
	for _, ev := range tb.events {
		if ev.Host == "web1" {
			web1 = append(web1, ev)
		}
	}
	last := web1[len(web1)-1]
	collected := slices.IndexFunc(web1, func(ev remote.Event) bool { return ev.Line == "collected on web1" })
	migrate := slices.IndexFunc(web1, func(ev remote.Event) bool { return ev.Kind == remote.EventStage && ev.Line == StepMigrate })
	if last.Kind != remote.EventExited || collected < 0 || migrate < collected {
		t.Errorf("web1's events end %v (collected at %d, migrate's stage at %d of %d): want the collectstatic's output, the migration, the failure last",
			last.Kind, collected, migrate, len(web1))
	}
}
