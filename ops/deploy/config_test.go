package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/demoapp"
	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/store"
)

// configURLs is envCheckURLs with a health check that validates the
// app's configuration, as real ones do: an unknown SHOP_FLAVOR makes the
// app unhealthy, so a bad value set by env set fails the health check.
var configURLs = strings.Replace(envCheckURLs, `urlpatterns = [
    path("", views.index, name="index"),
    path("health/", views.health, name="health"),`, `def health(request):
    flavor = os.environ.get("SHOP_FLAVOR", "-")
    if flavor not in ("-", "one", "two", "three"):
        return HttpResponse("misconfigured: unknown SHOP_FLAVOR %r\n" % flavor, status=500, content_type="text/plain")
    return views.health(request)


urlpatterns = [
    path("", views.index, name="index"),
    path("health/", health, name="health"),`, 1)

// configBed is a testbed whose fleet is stored (a config release edits
// the stored fleet), with the demo shop deployed by the Django preset.
type configBed struct {
	*testbed
	dbFile string
}

func newConfigBed(t *testing.T, n int) *configBed {
	webtest.RequireDjango(t)
	webtest.RequireGunicorn(t)
	return setUpConfigBed(t, newTestbed(t, n), nil)
}

// setUpConfigBed makes tb's app the demo shop with an environment, its
// hosts' settings those of settings (the web hosts' by default), and
// stores the fleet.
func setUpConfigBed(t *testing.T, tb *testbed, settings func(h inventory.Host) map[string]inventory.RoleSettings) *configBed {
	ctx := context.Background()
	repo, err := demoapp.Create(ctx, filepath.Join(t.TempDir(), "shop"))
	if err != nil {
		t.Fatal(err)
	}
	tb.repo = repo.Dir
	tb.git("checkout", "-q", "-b", "env", repo.Hash(demoapp.CommitGreeting))
	tb.commit("envcheck page, a health check that validates SHOP_FLAVOR", map[string]string{"shopsite/urls.py": configURLs})
	if !strings.Contains(configURLs, "misconfigured") {
		t.Fatal("configURLs did not replace the health route")
	}
	dir := t.TempDir()
	dbFile := filepath.Join(dir, "opsui.db")
	tb.st.Close()
	if tb.st, err = store.Open(ctx, dbFile); err != nil {
		t.Fatal(err)
	}
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte(fileSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OPSUI_TEST_SHOP_KEY", envSecret1)
	tb.app = inventory.App{Name: "app", Repo: repo.Dir, DeployTo: tb.deployTo, KeepReleases: 3, Preset: PresetDjango,
		Shared:  []string{"logs/"},
		Migrate: "./venv/bin/python manage.py migrate --noinput",
		Health:  &inventory.HealthCheck{URL: "http://127.0.0.1:8000/health/", Expect: "release=$RELEASE_ID", Retries: 6, Deadline: inventory.Duration(15 * time.Second)},
		Env: map[string]inventory.EnvValue{
			"SHOP_DB_PATH":      {Value: tb.deployTo + "/shared/" + dbFileName},
			"DJANGO_SECRET_KEY": {Secret: "shop_key"},
			"SHOP_TOKEN":        {Secret: "shop_token"},
		},
		EnvPerEnvironment: map[string]map[string]inventory.EnvValue{"test": {"SHOP_FLAVOR": {Value: "one"}}},
		Secrets: map[string]inventory.SecretSource{
			"shop_key":   {Env: "OPSUI_TEST_SHOP_KEY"},
			"shop_token": {File: tokFile},
		}}
	tb.inv.Apps = []inventory.App{tb.app}
	tb.inv.Roles = nil
	tb.settings = settings
	if settings == nil {
		tb.settings = djangoWeb
	}
	f := *tb.inv
	f.Hosts = tb.hosts()
	if err := tb.st.SaveFleet(ctx, &f); err != nil {
		t.Fatalf("the test's fleet: %v", err)
	}
	return &configBed{testbed: tb, dbFile: dbFile}
}

// djangoWeb is a web host's settings: gunicorn on its own address.
func djangoWeb(h inventory.Host) map[string]inventory.RoleSettings {
	return map[string]inventory.RoleSettings{"web": {HealthURL: "http://" + h.Address + ":8000/health/",
		Options: map[string]string{"bind": h.Address + ":8000", "workers": "2", "backend": h.Address + ":8000"}}}
}

// configPlan plans a config release from the stored fleet.
func (cb *configBed) configPlan(req ConfigRequest) (*ConfigPlan, error) {
	ctx := context.Background()
	f, err := cb.st.LoadFleet(ctx)
	if err != nil {
		cb.t.Fatal(err)
	}
	app, _ := f.App("app")
	req.Fleet, req.App, req.Env = f, app, f.Environments[0]
	req.Hosts = SelectHosts(f, "test", HostSelection{})
	return PlanConfig(ctx, cb.st, req)
}

func (cb *configBed) configRelease(req ConfigRequest) *Outcome {
	cb.t.Helper()
	cp, err := cb.configPlan(req)
	if err != nil {
		cb.t.Fatalf("plan %s: %v", req.Action, err)
	}
	out, err := cb.deployer().ExecuteConfig(context.Background(), cp)
	if err != nil {
		cb.t.Fatalf("config release %s: %v", req.Action, err)
	}
	return out
}

// serves returns what host i's envcheck page says of key.
func (cb *configBed) serves(i int, key string) string {
	cb.t.Helper()
	body := cb.sh(i, "curl -s http://"+cb.fleet.Hosts[i].Addr+":8000/envcheck/")
	for _, f := range strings.Fields(body) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	cb.t.Fatalf("%s's envcheck page says no %s: %q", cb.fleet.Hosts[i].Name, key, body)
	return ""
}

// storedFlavor is SHOP_FLAVOR of env_per_environment.test in the store.
func (cb *configBed) storedFlavor() string {
	cb.t.Helper()
	f, err := cb.st.LoadFleet(context.Background())
	if err != nil {
		cb.t.Fatal(err)
	}
	app, _ := f.App("app")
	return app.EnvPerEnvironment["test"]["SHOP_FLAVOR"].String()
}

// TestConfigRelease: on two real sshd hosts serving the demo shop with
// gunicorn, env set changes SHOP_FLAVOR (and adds a secret reference)
// batch by batch, gunicorn reloading without a new master, and every host
// serves the new value; a value that breaks the health check is rolled
// back on the first batch (the previous shared/.env restored, the hosts
// serve the old value, the record says rolled back, the stored fleet is
// as before, the second host never touched); a rollback to the previous
// environment serves the first value again; env apply re-reads a rotated
// secret. No secret is in a process's arguments during the releases, nor
// in the store's file (records, output).
func TestConfigRelease(t *testing.T) {
	cb := newConfigBed(t, 2)
	ctx := context.Background()
	first := cb.deploy("env", Strategy{Kind: "all", AutoRollback: true})
	if first.Result != store.ReleaseSuccess {
		cb.logf(first)
		t.Fatalf("deploy: %s", first.Result)
	}
	live, _ := cb.current(0)
	pid := cb.sh(0, "cat "+cb.deployTo+"/shared/gunicorn.pid")
	for i := range cb.fleet.Hosts {
		if got := cb.serves(i, "flavor"); got != "one" {
			t.Fatalf("after the deploy host %d serves flavor %q", i, got)
		}
	}
	rolling := Strategy{Kind: StrategyRolling, Batches: Batches{{N: 1}}, AutoRollback: true}

	// env set: a plain value changed, a secret reference added.
	stop, seen := watchArgs([]string{secretInDB, fileSecret, envSecret2})
	set := cb.configRelease(ConfigRequest{Action: store.ConfigSet, Strategy: rolling,
		Set: map[string]inventory.EnvValue{"SHOP_FLAVOR": {Value: "two"}, "SHOP_PIN": {Secret: "shop_token"}}})
	if set.Result != store.ReleaseSuccess || set.Kind != store.KindConfig {
		cb.logf(set)
		t.Fatalf("env set: %s (%s)", set.Result, set.Kind)
	}
	for i := range cb.fleet.Hosts {
		if got := cb.serves(i, "flavor"); got != "two" {
			t.Errorf("after env set host %d serves flavor %q, want two", i, got)
		}
		if got := cb.serves(i, "pin"); got != digest(fileSecret) {
			t.Errorf("after env set host %d serves pin %q, want the digest of the token", i, got)
		}
		if rel, _ := cb.current(i); rel != live {
			t.Errorf("host %d runs release %s after a config release, want %s still", i, rel, live)
		}
	}
	if log := cb.sh(1, "tail -n 1 "+cb.deployTo+"/revisions.log"); !strings.Contains(log, "tester config: set SHOP_FLAVOR, SHOP_PIN; release "+live+" (") {
		t.Errorf("revisions.log's last line: %q", log)
	}
	if left := cb.sh(1, "ls -a "+cb.deployTo+"/shared/"); strings.Contains(left, ".env.opsui-prev") {
		t.Errorf("the previous shared/.env is left on the host after a successful config release:\n%s", left)
	}
	if now := cb.sh(0, "cat "+cb.deployTo+"/shared/gunicorn.pid"); now != pid {
		t.Errorf("the gunicorn master changed (%s -> %s): a config release reloads", pid, now)
	}
	if got := cb.storedFlavor(); got != "two" {
		t.Errorf("the stored fleet says SHOP_FLAVOR=%q after env set", got)
	}
	rel, err := cb.st.LatestRelease(ctx, "app", "test", true)
	if err != nil || rel.Kind != store.KindConfig || rel.ReleaseID != live || rel.Commit != first.releaseCommit(cb) {
		t.Errorf("the latest release: %+v, %v; want a config release of %s keeping the live commit", rel, err, live)
	}
	if rel.Subject != "config: set SHOP_FLAVOR, SHOP_PIN" {
		t.Errorf("its subject: %q", rel.Subject)
	}

	// A value the app's health check refuses: rolled back on batch 1.
	bad := cb.configRelease(ConfigRequest{Action: store.ConfigSet, Strategy: rolling,
		Set: map[string]inventory.EnvValue{"SHOP_FLAVOR": {Value: "bogus"}}})
	if bad.Result != store.ReleaseRolledBack {
		cb.logf(bad)
		t.Fatalf("env set of a bad value: %s, want rolled_back", bad.Result)
	}
	for i := range cb.fleet.Hosts {
		if got := cb.serves(i, "flavor"); got != "two" {
			t.Errorf("after the failed env set host %d serves flavor %q, want two (the previous environment)", i, got)
		}
	}
	h0, h1 := bad.Hosts[0], bad.Hosts[1]
	if h0.Status != HostRolledBack || h0.Step != StepHealth || !strings.Contains(h0.Words(), "previous shared/.env restored: healthy") {
		t.Errorf("the first batch's host: %s %s %q", h0.Status, h0.Step, h0.Words())
	}
	if h1.Status != HostSkipped {
		t.Errorf("the second batch's host: %s %q, want never reached", h1.Status, h1.Words())
	}
	if got := cb.storedFlavor(); got != "two" {
		t.Errorf("the stored fleet says SHOP_FLAVOR=%q after the failed env set, want two (the edit reverted)", got)
	}
	if !strings.Contains(strings.Join(bad.Notes, "\n"), "the fleet edit is reverted") {
		t.Errorf("the notes do not say the fleet edit was reverted: %q", bad.Notes)
	}
	if r, err := cb.st.ReleaseOfRun(ctx, bad.RunID); err != nil || r.Result != store.ReleaseRolledBack || r.Kind != store.KindConfig {
		t.Errorf("the failed config release's record: %+v, %v", r, err)
	}
	if run, err := cb.st.Run(ctx, bad.RunID); err != nil || run.Result != store.RunRolledBack {
		t.Errorf("its run: %+v, %v", run.Result, err)
	}

	// Back to the environment before env set.
	target, err := ConfigRollbackTarget(ctx, cb.st, "app", "test")
	if err != nil || target.ID != set.Record {
		t.Fatalf("the config rollback target: %+v, %v; want the env set's release %d", target.ID, err, set.Record)
	}
	back := cb.configRelease(ConfigRequest{Action: store.ConfigRollback, Restore: target.Config.Before, RollbackOf: &target, Strategy: rolling})
	if back.Result != store.ReleaseSuccess {
		cb.logf(back)
		t.Fatalf("rollback --config: %s", back.Result)
	}
	for i := range cb.fleet.Hosts {
		if got := cb.serves(i, "flavor"); got != "one" {
			t.Errorf("after rollback --config host %d serves flavor %q, want one", i, got)
		}
	}
	if got := cb.storedFlavor(); got != "one" {
		t.Errorf("the stored fleet says SHOP_FLAVOR=%q after the rollback, want one", got)
	}
	if _, err := ConfigRollbackTarget(ctx, cb.st, "app", "test"); !errors.Is(err, errNoConfigRelease) {
		t.Errorf("a second rollback --config would undo %v; want none left in effect", err)
	}

	// A secret rotated in the password manager: env apply re-reads it.
	t.Setenv("OPSUI_TEST_SHOP_KEY", envSecret2)
	canary := Strategy{Kind: StrategyCanary, CanaryWait: time.Second, AutoRollback: true}
	apply := cb.configRelease(ConfigRequest{Action: store.ConfigApply, Strategy: canary})
	close(stop)
	if apply.Result != store.ReleaseSuccess {
		cb.logf(apply)
		t.Fatalf("env apply: %s", apply.Result)
	}
	if said := strings.Join(cb.said, "\n"); !strings.Contains(said, "canary "+cb.fleet.Hosts[0].Name+" serves release "+live+"; the rest follow in 1s") {
		t.Errorf("env apply as a canary did not wait on its canary:\n%s", said)
	}
	for i := range cb.fleet.Hosts {
		if got := cb.serves(i, "key"); got != digest(envSecret2) {
			t.Errorf("after env apply host %d serves key %q, want the rotated one's digest", i, got)
		}
	}
	if p, ok := <-seen; ok {
		t.Errorf("a secret was in a process's arguments during a config release: %s", p)
	}

	// A key removed is gone from what the app sees after the reload.
	unset := cb.configRelease(ConfigRequest{Action: store.ConfigUnset, Unset: []string{"SHOP_FLAVOR"}, Strategy: Strategy{Kind: "all", AutoRollback: true}})
	if unset.Result != store.ReleaseSuccess {
		cb.logf(unset)
		t.Fatalf("env unset: %s", unset.Result)
	}
	for i := range cb.fleet.Hosts {
		if got := cb.serves(i, "flavor"); got != "-" {
			t.Errorf("after env unset host %d serves flavor %q, want - (unset)", i, got)
		}
	}
	cb.st.Close()
	db, err := os.ReadFile(cb.dbFile)
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(cb.dbFile + "-wal")
	db = append(db, wal...)
	for _, s := range []string{secretInDB, envSecret2, fileSecret} {
		if bytes.Contains(db, []byte(s)) {
			t.Errorf("the store's file holds the secret %q", s)
		}
	}
	for _, s := range []string{"previous shared/.env kept", "‹secret shop_token›"} {
		if !bytes.Contains(db, []byte(s)) {
			t.Errorf("the store's file does not hold %q (the grep above proves nothing)", s)
		}
	}
}

// releaseCommit is the commit an outcome's release record names.
func (o *Outcome) releaseCommit(cb *configBed) string {
	r, err := cb.st.ReleaseOfRun(context.Background(), o.RunID)
	if err != nil {
		cb.t.Fatal(err)
	}
	return r.Commit
}

// watchArgs watches every process's arguments on this machine (the
// operator's side and the hosts' alike) for secrets until stop is closed;
// seen gets the first offender, and is closed when the watch ends.
func watchArgs(secrets []string) (stop chan struct{}, seen chan string) {
	stop, seen = make(chan struct{}), make(chan string, 1)
	go func() {
		defer close(seen)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
			for _, p := range procs {
				b, _ := os.ReadFile(p)
				for _, sec := range secrets {
					if bytes.Contains(b, []byte(sec)) {
						seen <- fmt.Sprintf("%s: %q", p, bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
						return
					}
				}
			}
		}
	}()
	return stop, seen
}
