package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/opsui/opsui/inventory"

	"github.com/opsui/opsui/store"
)

func TestDeployRollingThenRollback(t *testing.T) {
	tb := newTestbed(t, 3)
	ctx := context.Background()
	var hookMu sync.Mutex
	var hooks []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Event, Result string
		}
		json.NewDecoder(r.Body).Decode(&body)
		hookMu.Lock()
		hooks = append(hooks, body.Event+":"+body.Result)
		hookMu.Unlock()
	}))
	defer srv.Close()
	tb.app.Notify = []inventory.Webhook{{URL: srv.URL + "/hook?token=secret"}}
	c1 := tb.git("rev-parse", "HEAD")
	out1 := tb.deploy("main", Strategy{Kind: "all", AutoRollback: true})
	if out1.Result != store.ReleaseSuccess {
		tb.logf(out1)
		t.Fatalf("first deploy: %s", out1.Result)
	}
	c2 := tb.commit("second", map[string]string{"index.html": "v2\n"})
	out2 := tb.deploy("main", Strategy{Kind: "rolling", Batches: Batches{{N: 1}}, AutoRollback: true})
	if out2.Result != store.ReleaseSuccess {
		tb.logf(out2)
		t.Fatalf("second deploy: %s", out2.Result)
	}
	if out1.ReleaseID == out2.ReleaseID {
		t.Fatalf("two deploys share release id %s", out1.ReleaseID)
	}
	for i := range tb.fleet.Hosts {
		rel, rev := tb.current(i)
		if rel != out2.ReleaseID || rev != c2 {
			t.Errorf("host %d: current = %s (%s), want %s (%s)", i, rel, rev, out2.ReleaseID, c2)
		}
		if got := tb.sh(i, "ls -A "+tb.deployTo); strings.Contains(got, ".opsui-lock") {
			t.Errorf("host %d: lock left behind: %s", i, got)
		}
		if log := tb.sh(i, "cat "+tb.deployTo+"/revisions.log"); strings.Count(log, "deployed as release") != 2 || !strings.Contains(log, c2) {
			t.Errorf("host %d: revisions.log:\n%s", i, log)
		}
	}
	rels, err := tb.st.ListReleases(ctx, "app", "test", 0)
	if err != nil || len(rels) != 2 || rels[0].Commit != c2 || rels[0].Result != store.ReleaseSuccess || len(rels[0].HostList()) != 3 {
		t.Fatalf("releases = %+v, %v", rels, err)
	}
	run, err := tb.st.Run(ctx, out2.RunID)
	if err != nil || run.Result != store.RunOK || run.Kind != store.KindDeploy {
		t.Fatalf("run = %+v, %v", run, err)
	}

	choice, err := ChooseRollback(ctx, tb.st, "app", "test", "")
	if err != nil {
		t.Fatal(err)
	}
	if choice.Target.ReleaseID != out1.ReleaseID || choice.From.ReleaseID != out2.ReleaseID {
		t.Fatalf("rollback choice: from %s to %s", choice.From.ReleaseID, choice.Target.ReleaseID)
	}
	p := tb.plan(c1, Strategy{Kind: "all"})
	p.ReleaseID, p.Source = choice.Target.ReleaseID, Source{Commit: choice.Target.Commit}
	rb, err := tb.deployer().Rollback(ctx, p, choice)
	if err != nil || rb.Result != store.ReleaseSuccess {
		tb.logf(rb)
		t.Fatalf("rollback: %v, %v", rb.Result, err)
	}
	for i := range tb.fleet.Hosts {
		if rel, rev := tb.current(i); rel != out1.ReleaseID || rev != c1 {
			t.Errorf("host %d after rollback: current = %s (%s), want %s (%s)", i, rel, rev, out1.ReleaseID, c1)
		}
		// Rolled back from is not bad: BAD is for a release that failed.
		if bad := tb.sh(i, "ls "+tb.deployTo+"/releases/"+out2.ReleaseID); strings.Contains(bad, "BAD") {
			t.Errorf("host %d: release %s, which did not fail, was marked BAD", i, out2.ReleaseID)
		}
	}
	left, err := tb.st.ReleaseNamed(ctx, "app", "test", out2.ReleaseID)
	if err != nil || left.Result != store.ReleaseSuccess {
		t.Errorf("release left by the rollback: %+v, %v", left.Result, err)
	}
	latest, err := tb.st.LatestRelease(ctx, "app", "test", true)
	if err != nil || latest.Kind != store.KindRollback || latest.ReleaseID != out1.ReleaseID {
		t.Errorf("latest good release = %+v, %v", latest, err)
	}
	if run, err := tb.st.Run(ctx, out1.RunID); err != nil || !strings.Contains(run.Summary, "3 ok") {
		t.Errorf("run summary %q, %v", run.Summary, err)
	}
	hookMu.Lock()
	got := strings.Join(hooks, " ")
	hookMu.Unlock()
	if got != "start: success:success start: success:success rollback:success" {
		t.Errorf("webhooks received: %s", got)
	}
	// Going back again finds nothing: the only other release was rolled
	// back from, and a rollback never goes forward to it.
	if c, err := ChooseRollback(ctx, tb.st, "app", "test", ""); err == nil {
		t.Errorf("a second rollback found a target (%s) although the only other release was rolled back from", c.Target.ReleaseID)
	}
}

func TestDeployUnknownRef(t *testing.T) {
	tb := &testbed{t: t, repo: t.TempDir()}
	tb.git("init", "-q", "-b", "main")
	tb.git("config", "user.email", "dev@example.com")
	tb.git("config", "user.name", "Dev")
	tb.commit("initial", map[string]string{"a": "1"})
	for _, ref := range []string{"nope", "--output=/tmp/x", "$(touch /tmp/opsui-pwned)", "main;id"} {
		_, err := Resolve(context.Background(), tb.repo, ref)
		var ue *UnknownRefError
		if !errors.As(err, &ue) {
			t.Errorf("Resolve(%q) = %v, want UnknownRefError", ref, err)
		}
	}
	src, err := Resolve(context.Background(), tb.repo, "main")
	if err != nil || src.Branch != "main" || len(src.Commit) != 40 || src.Subject != "initial" || src.Dirty {
		t.Errorf("Resolve(main) = %+v, %v", src, err)
	}
}

func TestParsePlan(t *testing.T) {
	out := "[X]  contenttypes.0001_initial\n[X]  shop.0001_initial\n[ ]  shop.0002_order\n"
	ms, ok := ParsePlan(out)
	if !ok || len(ms) != 3 || ms[2].String() != "shop.0002_order" || ms[2].Applied || !ms[1].Applied {
		t.Fatalf("ParsePlan = %+v, %v", ms, ok)
	}
	if p := Pending(ms); len(p) != 1 || p[0].Name != "0002_order" {
		t.Errorf("Pending = %+v", p)
	}
	if _, ok := ParsePlan("Operations to perform:\n  Apply all migrations\n"); ok {
		t.Error("free text parsed as a plan")
	}
	for out, want := range map[string]bool{
		"Operations to perform:\n  Applying shop.0002_order... OK\n": true,
		"Operations to perform:\n  No migrations to apply.\n":        false,
		"no migrate command: skipped\n":                              false,
		"":                                                           false,
		"alembic: upgraded to 3f2a\n":                                true,
	} {
		if got := migrationsRan(out); got != want {
			t.Errorf("migrationsRan(%q) = %v", out, got)
		}
	}
}
