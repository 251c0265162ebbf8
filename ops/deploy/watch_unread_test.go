package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/store"
)

// TestWatchThatCannotReadLogsSaysSo: a watched host whose log file is
// missing gives no baseline, and a batch of only such hosts is "NOT
// VERIFIED", never passed, in the notes and the run's record; a batch
// with a host it can read passes, naming the host it could not read.
// An app without watch: is not watched and no note says otherwise.
func TestWatchThatCannotReadLogsSaysSo(t *testing.T) {
	tb := newTestbed(t, 2)
	ctx := context.Background()
	d := inventory.Duration(2 * time.Second)
	tb.app.Watch = &inventory.Watch{Duration: &d, Baseline: inventory.Duration(time.Second)}
	tb.inv.Apps[0] = tb.app
	missing := tb.deployTo + "/shared/logs/missing.log"
	tb.settings = func(h inventory.Host) map[string]inventory.RoleSettings {
		logs := []string{tb.deployTo + "/shared/http.log"}
		if h.Name == tb.fleet.Hosts[0].Name {
			logs = []string{missing}
		}
		return map[string]inventory.RoleSettings{"web": {Reload: "OPSUI_BIND_ADDR=" + h.Address + "; " + appServer,
			HealthURL: "http://" + h.Address + ":8080/REVISION", Logs: logs}}
	}
	off := time.Duration(0)
	p := tb.plan("main", Strategy{Kind: "all", AutoRollback: true})
	p.Watch = &off
	first, err := tb.deployer().Deploy(ctx, p)
	if err != nil || first.Result != store.ReleaseSuccess {
		tb.logf(first)
		t.Fatalf("first deploy: %v", err)
	}
	if notes := strings.Join(first.Notes, "\n"); notes != "regression watch: off for test" {
		t.Errorf("--watch 0: notes %q", notes)
	}

	tb.commit("v2", map[string]string{"index.html": "v2\n"})
	out := tb.deploy("main", Strategy{Kind: "rolling", Batches: Batches{{N: 1}}, AutoRollback: true})
	notes := strings.Join(out.Notes, "\n")
	t.Logf("notes:\n%s", notes)
	if out.Result != store.ReleaseSuccess {
		tb.logf(out)
		t.Fatalf("the deploy ended %s", out.Result)
	}
	web1, web2 := tb.fleet.Hosts[0].Name, tb.fleet.Hosts[1].Name
	for _, want := range []string{
		"regression watch: no baseline from " + web1 + ": cannot read " + missing,
		"regression watch: batch 1/2 NOT VERIFIED: no log of " + web1 + " could be read (" + web1 + ": cannot read " + missing + ")",
		"regression watch: batch 2/2 passed after 2s: ",
		"; not read: " + web1 + ": cannot read " + missing,
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("the notes lack %q", want)
		}
	}
	if strings.Contains(notes, "batch 1/2 passed") || strings.Contains(notes, "no baseline from "+web2) {
		t.Errorf("the notes pretend:\n%s", notes)
	}
	run, err := tb.st.Run(ctx, out.RunID)
	if err != nil || !strings.Contains(run.Summary, "batch 1/2 NOT VERIFIED") {
		t.Errorf("the run's record does not say the batch was not verified (%v):\n%s", err, run.Summary)
	}

	tb.app.Watch = nil
	tb.inv.Apps[0] = tb.app
	tb.commit("v3", map[string]string{"index.html": "v3\n"})
	began := time.Now()
	plain := tb.deploy("main", Strategy{Kind: "rolling", Batches: Batches{{N: 1}}, AutoRollback: true})
	if plain.Result != store.ReleaseSuccess || strings.Contains(strings.Join(plain.Notes, "\n"), "watch") {
		t.Errorf("an app without watch: %s, notes %q", plain.Result, plain.Notes)
	}
	t.Logf("a deploy without a watch took %s", time.Since(began))
}
