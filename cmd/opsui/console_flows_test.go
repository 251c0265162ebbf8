package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/ui"
)

// consoleFor opens the console's session on e's store, as `opsui` does.
func consoleFor(t *testing.T, e *deployEnv) (*consoleSession, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), e.db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cs, err := newConsoleSession(st, ui.NewAsker())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cs.close)
	return cs, st
}

var quietIO = ops.IO{Emit: func(remote.Event) {}, Say: func(string) {}}

// TestConsoleDeployRunsThePreviewedPlanOrRefuses goes through the
// console's real wiring (its flows, session pool and store) on real
// hosts: the inventory changes between the wizard's preview and its
// confirmation, and the deploy is refused with the changes listed, no
// host touched, nothing recorded. Previewed again, the same Deploy runs,
// and so does the CLI's, through the same builder: their records agree.
func TestConsoleDeployRunsThePreviewedPlanOrRefuses(t *testing.T) {
	e := newDeployEnv(t, 2, "")
	cs, st := consoleFor(t, e)
	fns := cs.flows()
	ctx := context.Background()

	pv, err := fns.Preview(ctx, "app", "test", "main")
	if err != nil {
		t.Fatal(err)
	}
	if pv.Plan == nil || len(pv.Plan.Hosts) != 2 || pv.Plan.Source.Branch != "main" || len(pv.Hosts) != 2 || !pv.Hosts[0].Reachable {
		t.Fatalf("preview %+v", pv)
	}
	plan, err := pv.Plan.WithStrategy(deploy.Strategy{Kind: deploy.StrategyRolling, AutoRollback: true})
	if err != nil {
		t.Fatal(err)
	}

	// The fleet file changes and is imported while the wizard waits: one
	// host moves to another deploy_to, and a host is added.
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	mustRun(t, e.db, "inventory", "export", "-o", file)
	doc, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	h1 := e.fleet.Hosts[1]
	moved := e.deployTo(h1.Name) + "-moved"
	changed := strings.Replace(string(doc), "deploy_to: "+e.deployTo(h1.Name), "deploy_to: "+moved, 1)
	changed += "  - name: web-new\n    address: 127.0.0.1\n    env: test\n    roles: [web]\n"
	if !strings.Contains(changed, "deploy_to: "+moved) {
		t.Fatalf("the fleet file did not change:\n%s", doc)
	}
	if err := os.WriteFile(file, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, e.db, "inventory", "import", file)

	out, err := fns.Deploy(ctx, plan, quietIO)
	var fc *deploy.FleetChangedError
	if out != nil || !errors.As(err, &fc) {
		t.Fatalf("deploy after the inventory changed: %+v, %v; want it refused", out, err)
	}
	for _, want := range []string{"host " + h1.Name + ": deploy_to " + e.deployTo(h1.Name) + " → " + moved, "host web-new was added", "preview again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal lacks %q: %v", want, err)
		}
	}
	if rs, err := st.ListReleases(ctx, "app", "test", 10); err != nil || len(rs) != 0 {
		t.Errorf("releases recorded: %+v %v", rs, err)
	}
	for i, h := range e.fleet.Hosts {
		if got := sshOutput(t, h.Address(), e.cfg, "ls -A "+e.deployTo(h.Name)+" "+moved+" 2>/dev/null; true"); strings.TrimSpace(got) != "" {
			t.Errorf("host %d was touched: %s", i, got)
		}
	}

	// Back to the fleet the preview saw: previewed again, it deploys.
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, e.db, "inventory", "import", file)
	pv, err = fns.Preview(ctx, "app", "test", "main")
	if err != nil {
		t.Fatal(err)
	}
	if out, err = fns.Deploy(ctx, pv.Plan, quietIO); err != nil || out.Result != store.ReleaseSuccess {
		t.Fatalf("console deploy: %+v %v", out, err)
	}
}

// TestDeployIsOneOperationForCLIAndConsole deploys to real hosts through
// `opsui deploy` and through the console's wizard wiring (its flows'
// Preview and Deploy, on the session's pool): both are ops.Service's
// PlanDeploy and Deploy and record the same release and run, host by
// host, but for what differs from one deploy to the next (release id,
// commit, subject) and who asked (the arguments).
func TestDeployIsOneOperationForCLIAndConsole(t *testing.T) {
	e := newDeployEnv(t, 2, "")
	t.Setenv("OPSUI_OPERATOR", "alice")
	ctx := context.Background()
	cs, st := consoleFor(t, e)
	fns := cs.flows()
	pv, err := fns.Preview(ctx, "app", "test", "main")
	if err != nil {
		t.Fatal(err)
	}
	var said []string
	var mu sync.Mutex
	lines := 0
	out, err := fns.Deploy(ctx, pv.Plan, ops.IO{
		Emit: func(ev remote.Event) { mu.Lock(); lines++; mu.Unlock() },
		Say:  func(s string) { said = append(said, s) }})
	if err != nil || out.Result != store.ReleaseSuccess {
		t.Fatalf("console deploy: %+v %v", out, err)
	}
	if lines == 0 || len(said) == 0 {
		t.Errorf("the console's io got %d events and %q", lines, said)
	}
	first := deployShape(t, st, out.ReleaseID)

	e.commit(t, "second", "index.html", "v2")
	cliOut := mustRun(t, e.db, "deploy", "--env", "test", "--ref", "main", "--yes")
	second := deployShape(t, st, releaseOf(t, cliOut))
	if !slices.Equal(first.shape, second.shape) {
		t.Errorf("the console and the CLI recorded differently:\nconsole:\n  %s\nCLI:\n  %s", strings.Join(first.shape, "\n  "), strings.Join(second.shape, "\n  "))
	}
	t.Logf("both recorded:\n  %s", strings.Join(first.shape, "\n  "))
	// The CLI records its command line (the test binary's, here).
	if first.args != `["console"]` || second.args == first.args || second.args == "" {
		t.Errorf("args: console %q, CLI %q", first.args, second.args)
	}
	for i := range e.fleet.Hosts {
		if rel, _ := e.current(t, i); rel != releaseOf(t, cliOut) {
			t.Errorf("host %d runs %s, want %s", i, rel, releaseOf(t, cliOut))
		}
	}
}

// recordedDeploy is what the records of one deploy say (deployShape).
type recordedDeploy struct {
	shape []string
	args  string
}

// deployShape is the release record of release id and its run's record,
// without what differs from one deploy to the next (ids, times, commit,
// subject, output) or by who asked (Args): one line for the release, one
// for the run, one per host.
func deployShape(t *testing.T, st *store.Store, id string) recordedDeploy {
	t.Helper()
	ctx := context.Background()
	rs, err := st.ListReleases(ctx, "app", "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(rs, func(r store.Release) bool { return r.ReleaseID == id })
	if i < 0 {
		t.Fatalf("release %s is not recorded: %+v", id, rs)
	}
	r := rs[i]
	run, err := st.Run(ctx, r.RunID.Int64)
	if err != nil {
		t.Fatal(err)
	}
	norm := strings.NewReplacer(id, "RELEASE", r.Commit, "COMMIT", deploy.ShortCommit(r.Commit), "COMMIT").Replace
	summary, _, _ := strings.Cut(run.Summary, "; slowest ")
	shape := []string{
		fmt.Sprintf("release kind=%s result=%s strategy=%s branch=%s operator=%s hosts=%v migrations=%v finished=%v",
			r.Kind, r.Result, r.Strategy, r.Branch, r.Operator, r.HostList(), r.MigrationsApplied, r.FinishedAt != 0),
		fmt.Sprintf("run kind=%s env=%q operator=%q command=%q result=%s summary=%q finished=%v",
			run.Kind, run.Env, run.Operator, norm(run.Command), run.Result, norm(summary), run.FinishedAt != 0),
	}
	hosts, err := st.RunHosts(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		code := "none"
		if h.ExitCode != nil {
			code = fmt.Sprint(*h.ExitCode)
		}
		shape = append(shape, fmt.Sprintf("%s %s stage=%s code=%s class=%q err=%q output=%v",
			h.Host, h.Status, h.Stage, code, h.ErrorClass, h.Error, h.OutputBytes > 0))
	}
	return recordedDeploy{shape: shape, args: run.Args}
}

// TestDeployStrategyFlagsParsedWithTheFlags: --strategy, --batch and
// --max-fail are parsed once, with the flags, into typed values: a bad
// one is a usage error before the inventory is even read.
func TestDeployStrategyFlagsParsedWithTheFlags(t *testing.T) {
	db := filepath.Join(t.TempDir(), "opsui.db")
	for _, tc := range []struct{ flag, value, want string }{
		{"--max-fail", "lots", `max-fail "lots"`},
		{"--batch", "1,,2", `batch sizes "1,,2"`},
		{"--strategy", "blue-green", "unknown strategy"},
	} {
		_, err := opsuiCmd(t, db, "", "deploy", "--env", "test", "--dry-run", tc.flag, tc.value)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: %v; want a usage error saying %s", tc.flag, tc.value, err, tc.want)
		}
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("a bad flag opened the store")
	}
}
