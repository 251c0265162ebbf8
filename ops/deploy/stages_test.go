package deploy

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

func TestPresetStepsMatchInventory(t *testing.T) {
	for _, preset := range []string{PresetNone, PresetDjango} {
		steps, err := presetSteps(preset)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := inventory.PresetSteps(preset)
		if got := strings.Split(names(steps), ", "); !slices.Equal(got, want) {
			t.Errorf("preset %q: steps %v, inventory says %v", preset, got, want)
		}
	}
}

// TestStepsEveryPosition builds the deploy's steps with one stage before,
// after and in place of every step of every preset, as a fleet stored
// without validation could hold them: an impossible position is an error
// before any host is touched, and an accepted stage is where it says, on
// the right side of the switch, with upload first (Deploy runs
// prepare[1:] after its own upload).
func TestStepsEveryPosition(t *testing.T) {
	for _, preset := range []string{PresetNone, PresetDjango} {
		base, _ := presetSteps(preset)
		for i, ref := range base {
			for _, verb := range []string{"before", "after", "replace"} {
				pos := verb + ":" + ref.Name
				t.Run(fmt.Sprintf("%s/%s", orDefault(preset, "none"), pos), func(t *testing.T) {
					app := inventory.App{Name: "app", Preset: preset, Stages: []inventory.Stage{{Name: "mine", Run: "echo mine", Position: pos}}}
					steps, err := Steps(app)
					impossible := (verb == "before" && ref.Name == StepUpload) || (verb == "replace" && (ref.Name == StepUpload || ref.Name == StepSwitch))
					if impossible {
						if err == nil || !strings.Contains(err.Error(), pos) {
							t.Fatalf("accepted: %v, %v", names(steps), err)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					j := slices.IndexFunc(steps, func(s Step) bool { return s.Name == "mine" })
					want := map[string]int{"before": i, "after": i + 1, "replace": i}[verb]
					if j != want || len(steps) != len(base)+map[bool]int{true: 0, false: 1}[verb == "replace"] {
						t.Fatalf("steps %s: mine at %d, want %d", names(steps), j, want)
					}
					if steps[0].Name != StepUpload || !steps[0].Builtin() {
						t.Fatalf("steps %s do not start with upload", names(steps))
					}
					prepare, activate := split(steps)
					sw := slices.IndexFunc(base, func(s Step) bool { return s.Name == StepSwitch })
					beforeSwitch := i < sw || (i == sw && verb == "before")
					inPrepare := slices.ContainsFunc(prepare[1:], func(s Step) bool { return s.Name == "mine" })
					inActivate := slices.ContainsFunc(activate, func(s Step) bool { return s.Name == "mine" })
					if inPrepare != beforeSwitch || inActivate == beforeSwitch {
						t.Errorf("mine runs before the switch: %v, want %v (prepare %s, activate %s)", inPrepare, beforeSwitch, names(prepare), names(activate))
					}
					// Nothing of the preset moves across the switch.
					for _, s := range base {
						if s.Name == StepSwitch || (verb == "replace" && s.Name == ref.Name) {
							continue
						}
						k := slices.IndexFunc(steps, func(x Step) bool { return x.Name == s.Name })
						if l := slices.IndexFunc(base, func(x Step) bool { return x.Name == s.Name }); (k < len(prepare)) != (l < sw) {
							t.Errorf("%s moved across the switch: %s", s.Name, names(steps))
						}
					}
					if verb == "replace" && steps[j].Slot != ref.Name {
						t.Errorf("the replacing stage stands for %q, want %q", steps[j].Slot, ref.Name)
					}
				})
			}
		}
	}
}

// TestStepsRefuseClashes: the cases of issue 13 that made a deploy panic
// after the lock, or run the build after the real switch.
func TestStepsRefuseClashes(t *testing.T) {
	for _, st := range []inventory.Stage{
		{Name: "switch", Run: "true", Position: "before:upload"},
		{Name: "switch", Run: "true", Position: "replace:shared"},
		{Name: "x", Run: "true", Position: "before:upload"},
		{Name: "build", Run: "true"},
	} {
		app := inventory.App{Name: "app", Preset: PresetDjango, Stages: []inventory.Stage{st}}
		if steps, err := Steps(app); err == nil {
			t.Errorf("%+v accepted: %s", st, names(steps))
		}
		src := Source{Commit: strings.Repeat("a", 40)}
		f := &inventory.Fleet{Apps: []inventory.App{app}}
		if _, err := NewPlan(f, app, inventory.Environment{Name: "test"}, []inventory.Host{{Name: "h"}}, src, "20260101000000", Strategy{}); err == nil {
			t.Errorf("%+v: a plan was made", st)
		}
	}
}

// TestDeployRunsStagesWhereTheySay deploys with stages around every phase
// of a deploy and checks, from the hosts' stage events and from what each
// stage saw on the host, that each ran exactly where it says.
func TestDeployRunsStagesWhereTheySay(t *testing.T) {
	tb := newTestbed(t, 2)
	same := `[ "$(cd -P -- "$DEPLOY_TO/current" 2>/dev/null && pwd -P)" = "$(cd -P -- "$RELEASE_DIR" && pwd -P)" ]`
	tb.app.Stages = []inventory.Stage{
		{Name: "unpacked", Position: "after:upload", Run: `test -f "$RELEASE_DIR/REVISION"`},
		{Name: "my-shared", Position: "replace:shared", Run: `mkdir -p "$SHARED_DIR/logs" && ln -s "$SHARED_DIR/logs" "$RELEASE_DIR/logs" && echo mine > "$RELEASE_DIR/linked-by-me"`},
		{Name: "gate", Position: "before:switch", Run: "! " + same},
		{Name: "post", Position: "after:switch", Run: same},
		{Name: "appended", Run: same},
		{Name: "last", Position: "after:cleanup", Run: same},
	}
	out := tb.deploy("main", Strategy{Kind: "all"})
	if out.Result != store.ReleaseSuccess {
		tb.logf(out)
		t.Fatalf("deploy: %s", out.Result)
	}
	want := []string{"upload", "unpacked", "my-shared", "migrate", "gate", "switch", "post", "reload", "health", "appended", "cleanup", "last"}
	tb.mu.Lock()
	got := map[string][]string{}
	for _, ev := range tb.events {
		if ev.Kind == remote.EventStage && ev.Line != "inspect" {
			got[ev.Host] = append(got[ev.Host], ev.Line)
		}
	}
	tb.mu.Unlock()
	for i, h := range tb.fleet.Hosts {
		if i > 0 { // migrate runs once, on the first host
			want = slices.DeleteFunc(want, func(s string) bool { return s == StepMigrate })
		}
		if !slices.Equal(got[h.Name], want) {
			t.Errorf("%s ran %v\nwant %v", h.Name, got[h.Name], want)
		}
		if s := tb.sh(i, "cat "+tb.deployTo+"/current/linked-by-me"); s != "mine" {
			t.Errorf("%s: the replacing stage did not run: %q", h.Name, s)
		}
	}
}

// TestDescribePrintsTheScriptThatRuns: the dry run's commands are the
// scripts as they run (braces and all), with the values they are given,
// and the health step names every host's URL.
func TestDescribePrintsTheScriptThatRuns(t *testing.T) {
	f := &inventory.Fleet{Environments: []inventory.Environment{{Name: "prod"}},
		Roles: map[string]inventory.RoleSettings{"web": {HealthURL: "http://127.0.0.1:8000/health/"}}}
	var hosts []inventory.Host
	for i, port := range []string{"8000", "8001", "8001"} {
		h := inventory.Host{Name: fmt.Sprintf("web%d", i+1), Address: fmt.Sprintf("10.0.0.%d", i+1), Env: "prod", Roles: []string{"web"}}
		if port != "8000" {
			h.Settings = map[string]inventory.RoleSettings{"web": {HealthURL: "http://127.0.0.1:" + port + "/health/"}}
		}
		hosts = append(hosts, h)
	}
	f.Hosts = hosts
	app := inventory.App{Name: "shop", DeployTo: "/srv/shop", Preset: PresetDjango, Shared: []string{".env"},
		Health: &inventory.HealthCheck{URL: "http://127.0.0.1:8000/health/", Expect: "release=$RELEASE_ID"}}
	p, err := NewPlan(f, app, f.Environments[0], hosts, Source{Commit: strings.Repeat("c", 40), Branch: "main"}, "20260101000000", Strategy{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	p.Describe(&b)
	out := b.String()
	for _, want := range []string{
		"       py=${OPSUI_PYTHON:-/usr/bin/python3}\n",
		`set -- "$@" -c "$conf" --chdir "$DEPLOY_TO/current" --pid "$pidfile" --daemon`,
		"\nbind = [\"127.0.0.1:8000\"]\nworkers = 2\n",
		"       RELEASE_DIR=/srv/shop/releases/20260101000000\n",
		"       OPSUI_SHARED=.env\n",
		`GET http://127.0.0.1:8000/health/ until the body contains "release=20260101000000" (10 tries, 30s) on web1` + "\n",
		`GET http://127.0.0.1:8001/health/ until the body contains "release=20260101000000" (10 tries, 30s) on web2, web3` + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "$OPSUI_PYTHON:-") {
		t.Errorf("the dry run lost a script's braces:\n%s", out)
	}
}

// TestRollbackReloadsThroughTheReplacingStage: a stage that replaces the
// preset's reload under its own name is what reloads the release a failed
// deploy switches back to (it used to be skipped: only a step named reload
// ran, so the host kept no server after the rollback).
func TestRollbackReloadsThroughTheReplacingStage(t *testing.T) {
	tb := newTestbed(t, 1)
	tb.settings = func(h inventory.Host) map[string]inventory.RoleSettings {
		return map[string]inventory.RoleSettings{"web": {Reload: "OPSUI_BIND_ADDR=" + h.Address + "; " + brokenServer,
			HealthURL: "http://" + h.Address + ":8080/REVISION"}}
	}
	tb.app.Stages = []inventory.Stage{{Name: "restart", Position: "replace:reload",
		Run: `cd -- "$DEPLOY_TO/current" && eval "$OPSUI_RELOAD" && echo "restarted by the stage"`}}
	tb.app.Health.Retries, tb.app.Health.Deadline = 3, inventory.Duration(3e9)
	first := tb.firstRelease()
	c1 := tb.git("rev-parse", "HEAD")
	tb.commit("broken", map[string]string{"BROKEN": "yes\n"})
	out := tb.deploy("main", Strategy{Kind: "all", AutoRollback: true})
	if out.Result != store.ReleaseRolledBack {
		tb.logf(out)
		t.Fatalf("result %s, want rolled_back", out.Result)
	}
	if rel, _ := tb.current(0); rel != first.ReleaseID {
		t.Errorf("current = %s, want %s", rel, first.ReleaseID)
	}
	if got := tb.sh(0, "curl -s http://"+tb.fleet.Hosts[0].Addr+":8080/REVISION || true"); got != c1 {
		t.Errorf("serves %q after the rollback, want %s", got, c1)
	}
}

// TestPlanRefusesBadStoredValues: a fleet stored by an older opsui was
// not validated; a plan refuses what import now refuses, before any host
// is touched.
func TestPlanRefusesBadStoredValues(t *testing.T) {
	env := inventory.Environment{Name: "prod"}
	web := inventory.Host{Name: "web1", Address: "10.0.0.1", Env: "prod", Roles: []string{"web"}}
	lb := inventory.Host{Name: "lb1", Address: "10.0.0.9", Env: "prod", Roles: []string{"lb"}}
	src := Source{Commit: strings.Repeat("a", 40)}
	for _, tt := range []struct {
		name  string
		app   inventory.App
		roles map[string]inventory.RoleSettings
		want  string
	}{
		{"shared outside", inventory.App{Name: "shop", Shared: []string{"../../current"}}, nil, `shared entry "../../current"`},
		{"shared newline", inventory.App{Name: "shop", Shared: []string{"media\n../../x"}}, nil, "control character"},
		{"upstream", inventory.App{Name: "shop"}, map[string]inventory.RoleSettings{"lb": {Options: map[string]string{"upstream": "x { server evil:80; }"}}}, "host lb1, role lb: upstream"},
		{"backend", inventory.App{Name: "shop"}, map[string]inventory.RoleSettings{"lb": {Options: map[string]string{"backend": "app\nshow info"}}}, "host lb1, role lb: backend"},
		{"bind", inventory.App{Name: "shop"}, map[string]inventory.RoleSettings{"web": {Options: map[string]string{"bind": "127.0.0.1:80;"}}}, "host web1, role web: bind"},
	} {
		f := &inventory.Fleet{Environments: []inventory.Environment{env}, Roles: tt.roles, Hosts: []inventory.Host{web, lb}, Apps: []inventory.App{tt.app}}
		_, err := NewPlan(f, tt.app, env, []inventory.Host{web}, src, "20260101000000", Strategy{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// A note said twice (the switch back drains a batch again, with the same
// words) is kept and said once.
func TestNotesAreSaidOnce(t *testing.T) {
	var said []string
	r := &runner{Deployer: &Deployer{Say: func(s string) { said = append(said, s) }}}
	r.notef("balancer %s: %s not drained", "lb1", "web1")
	r.notef("balancer %s: %s not drained", "lb1", "web1")
	r.notef("balancer %s: %s not drained", "lb1", "web2")
	if len(r.notes) != 2 || len(said) != 2 {
		t.Errorf("notes %q, said %q: want each once", r.notes, said)
	}
}
