package ops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/remotetest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// deployEnv is a fleet of real sshd hosts in environment "test", an app
// repository, a store holding both and a Service wired to them as the
// console's is.
type deployEnv struct {
	*remotetest.Env
	repo string
	svc  *Service
}

// newDeployEnv starts n hosts and stores an app deployed to them, with
// the app's other settings given as YAML lines.
func newDeployEnv(t *testing.T, n int, appLines ...string) *deployEnv {
	t.Helper()
	e := &deployEnv{Env: remotetest.Start(t, n), repo: t.TempDir()}
	e.git(t, "init", "-q", "-b", "main")
	e.git(t, "config", "user.email", "dev@example.com")
	e.git(t, "config", "user.name", "Dev")
	e.commit(t, "initial", "v1")
	var doc strings.Builder
	fmt.Fprintf(&doc, "environments:\n  - name: test\nroles:\n  web:\n    reload: echo reloaded $RELEASE_ID\napps:\n  - name: app\n    repo: %s\n    deploy_to: /srv/app\n    keep_releases: 3\n    shared: [logs/]\n", e.repo)
	for _, l := range appLines {
		doc.WriteString("    " + l + "\n")
	}
	doc.WriteString("hosts:\n")
	for _, h := range e.Fleet.Hosts {
		fmt.Fprintf(&doc, "  - name: %s\n    address: %s\n    port: %d\n    user: %s\n    env: test\n    roles: [web]\n    identity_file: %s\n    deploy_to: %s\n",
			h.Name, h.Addr, h.Port, e.Fleet.User, e.Fleet.ClientKeyPath, e.deployTo(h.Name))
	}
	f, err := inventory.DecodeYAML("fleet.yaml", []byte(doc.String()))
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	if err := st.SaveFleet(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	e.svc = &Service{Store: st, Conn: e.Pool, Operator: "alice", Args: []string{"console"}}
	return e
}

func (e *deployEnv) deployTo(host string) string { return filepath.Join(e.Fleet.Dir, "deploy", host) }

func (e *deployEnv) git(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", e.repo}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit commits index.html with body.
func (e *deployEnv) commit(t *testing.T, msg, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(e.repo, "index.html"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	e.git(t, "add", "-A")
	e.git(t, "commit", "-q", "-m", msg)
}

// sh runs cmd on host i and returns its standard output.
func (e *deployEnv) sh(t *testing.T, i int, cmd string) string {
	t.Helper()
	log := remotetest.NewLog()
	if _, err := remote.Run(t.Context(), e.Pool, e.Targets[i:i+1], cmd, remote.RunOptions{}, log.Emit); err != nil {
		t.Fatal(err)
	}
	return log.Text(e.Targets[i].Name, remote.EventStdout)
}

// current is the release host i's current points at.
func (e *deployEnv) current(t *testing.T, i int) string {
	t.Helper()
	return filepath.Base(strings.TrimSpace(e.sh(t, i, "readlink "+remote.Quote(e.deployTo(e.Fleet.Hosts[i].Name)+"/current")+"; true")))
}

// editFleet changes the stored inventory with edit, as an import of a
// changed fleet file does, and returns a function that puts it back.
func (e *deployEnv) editFleet(t *testing.T, edit func(f *inventory.Fleet)) (restore func()) {
	t.Helper()
	ctx := t.Context()
	f, err := e.svc.Store.LoadFleet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := f.Clone()
	edit(f)
	if err := e.svc.Store.SaveFleet(ctx, f); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if err := e.svc.Store.SaveFleet(ctx, before); err != nil {
			t.Fatal(err)
		}
	}
}

// deployed deploys the repository's HEAD with the service, as previewed.
func (e *deployEnv) deployed(t *testing.T) *deploy.Outcome {
	t.Helper()
	pv, err := e.svc.PreviewDeploy(t.Context(), "app", "test", "")
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.svc.Deploy(t.Context(), pv.Plan, IO{})
	if err != nil || out.Result != store.ReleaseSuccess {
		t.Fatalf("deploy: %+v %v", out, err)
	}
	return out
}

// TestDeployRunsThePreviewedPlanOrRefuses: the inventory changes between
// the preview and the confirmation (a host moves to another deploy_to, a
// host is added), and Deploy refuses the previewed plan with the changes
// listed: no host touched, nothing recorded. Previewed again, the plan
// runs as confirmed (re-batched), recorded as the service's operator's.
func TestDeployRunsThePreviewedPlanOrRefuses(t *testing.T) {
	t.Parallel()
	e := newDeployEnv(t, 2)
	ctx := t.Context()
	pv, err := e.svc.PreviewDeploy(ctx, "app", "test", "main")
	if err != nil {
		t.Fatal(err)
	}
	if pv.Plan == nil || len(pv.Plan.Hosts) != 2 || pv.Plan.Source.Branch != "main" || pv.Current != "" || len(pv.Commits) != 1 ||
		len(pv.Hosts) != 2 || !pv.Hosts[0].Reachable || pv.Hosts[0].Release != "" || pv.Hosts[1].Lock != "" {
		t.Fatalf("preview %+v", pv)
	}
	plan, err := pv.Plan.WithStrategy(deploy.Strategy{Kind: deploy.StrategyRolling, AutoRollback: true})
	if err != nil {
		t.Fatal(err)
	}

	h1 := e.Fleet.Hosts[1].Name
	moved := e.deployTo(h1) + "-moved"
	restore := e.editFleet(t, func(f *inventory.Fleet) {
		for i := range f.Hosts {
			if f.Hosts[i].Name == h1 {
				f.Hosts[i].DeployTo = moved
			}
		}
		f.Hosts = append(f.Hosts, inventory.Host{Name: "web-new", Address: "127.0.0.1", Env: "test", Roles: []string{"web"}})
	})
	out, err := e.svc.Deploy(ctx, plan, IO{})
	var fc *deploy.FleetChangedError
	if out != nil || !errors.As(err, &fc) {
		t.Fatalf("deploy after the inventory changed: %+v, %v; want it refused", out, err)
	}
	for _, want := range []string{"host " + h1 + ": deploy_to " + e.deployTo(h1) + " → " + moved, "host web-new was added", "preview again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal lacks %q: %v", want, err)
		}
	}
	if rs, err := e.svc.Store.ListReleases(ctx, "app", "test", 10); err != nil || len(rs) != 0 {
		t.Errorf("releases recorded: %+v %v", rs, err)
	}
	for i, h := range e.Fleet.Hosts {
		if got := e.sh(t, i, "ls -A "+e.deployTo(h.Name)+" "+moved+" 2>/dev/null; true"); strings.TrimSpace(got) != "" {
			t.Errorf("host %d was touched: %s", i, got)
		}
	}

	// Back to the fleet the preview saw: previewed again, it deploys as
	// confirmed, rolling.
	restore()
	if pv, err = e.svc.PreviewDeploy(ctx, "app", "test", "main"); err != nil {
		t.Fatal(err)
	}
	if plan, err = pv.Plan.WithStrategy(deploy.Strategy{Kind: deploy.StrategyRolling, AutoRollback: true}); err != nil {
		t.Fatal(err)
	}
	log := remotetest.NewLog()
	var said []string
	out, err = e.svc.Deploy(ctx, plan, IO{Emit: log.Emit, Say: func(s string) { said = append(said, s) }})
	if err != nil || out.Result != store.ReleaseSuccess || out.ReleaseID != pv.Plan.ReleaseID {
		t.Fatalf("deploy: %+v %v", out, err)
	}
	if log.Text(e.Fleet.Hosts[0].Name, remote.EventStdout) == "" || len(said) == 0 {
		t.Errorf("the deploy's events and messages were not passed on: said %q", said)
	}
	rs, err := e.svc.Store.ListReleases(ctx, "app", "test", 10)
	if err != nil || len(rs) != 1 || rs[0].ReleaseID != out.ReleaseID || rs[0].Strategy != "rolling" || rs[0].Operator != "alice" ||
		rs[0].Branch != "main" || strings.Join(rs[0].HostList(), ",") != e.Fleet.Hosts[0].Name+","+h1 {
		t.Fatalf("releases %+v %v", rs, err)
	}
	run, err := e.svc.Store.Run(ctx, out.RunID)
	if err != nil || run.Kind != store.KindDeploy || run.Operator != "alice" || run.Args != `["console"]` {
		t.Errorf("run %+v %v", run, err)
	}
	for i := range e.Fleet.Hosts {
		if rel := e.current(t, i); rel != out.ReleaseID {
			t.Errorf("host %d runs %s, want %s", i, rel, out.ReleaseID)
		}
	}

	// The next preview reads what the hosts run.
	if pv, err = e.svc.PreviewDeploy(ctx, "app", "test", "main"); err != nil || pv.Current != out.ReleaseID ||
		pv.Hosts[1].Release != out.ReleaseID || len(pv.Commits) != 0 {
		t.Errorf("preview after the deploy: %+v %v", pv, err)
	}
}

// TestDeployWithoutAPlan: a nil plan is refused, nothing recorded.
func TestDeployWithoutAPlan(t *testing.T) {
	t.Parallel()
	svc := &Service{Store: openStore(t)}
	if out, err := svc.Deploy(t.Context(), nil, IO{}); out != nil || err == nil || !strings.Contains(err.Error(), "preview") {
		t.Errorf("Deploy(nil): %+v %v", out, err)
	}
	if _, err := svc.Rollback(t.Context(), nil, IO{}); err == nil {
		t.Error("Rollback(nil) ran")
	}
	if _, err := svc.Migrate(t.Context(), nil, IO{}); err == nil {
		t.Error("Migrate(nil) ran")
	}
}

// TestPreviewDeployUnknownRef: an unknown ref is deploy's
// *UnknownRefError (the CLI's invalid input), nothing recorded.
func TestPreviewDeployUnknownRef(t *testing.T) {
	t.Parallel()
	e := newDeployEnv(t, 1)
	_, err := e.svc.PreviewDeploy(context.Background(), "app", "test", "no-such-branch")
	var ue *deploy.UnknownRefError
	if !errors.As(err, &ue) {
		t.Fatalf("preview of an unknown ref: %v", err)
	}
}
