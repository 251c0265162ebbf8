package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/store"
)

// buildTestbed is a testbed of n hosts whose app has build (its cache in
// a directory of the test's), with a counter file each build run appends
// a line to.
func buildTestbed(t *testing.T, n int, run ...string) (tb *testbed, counter, cache string) {
	t.Helper()
	tb = newTestbed(t, n)
	counter = filepath.Join(t.TempDir(), "builds")
	cache = t.TempDir()
	tb.app.Build = &inventory.Build{Run: append([]string{`echo built >> "$COUNTER"`}, run...),
		Env: map[string]string{"COUNTER": counter}}
	tb.inv.Apps = []inventory.App{tb.app}
	return tb, counter, cache
}

// builds is how many times the build ran (lines in the counter file).
func builds(t *testing.T, counter string) int {
	t.Helper()
	b, err := os.ReadFile(counter)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

func (tb *testbed) buildPlan(ref, cache string) *Plan {
	tb.t.Helper()
	p := tb.plan(ref, Strategy{Kind: "all"})
	p.BuildCache = cache
	return p
}

func (tb *testbed) saidAny(sub string) bool {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, s := range tb.said {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func hasNote(out *Outcome, prefix string) bool {
	for _, n := range out.Notes {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

// TestBuildIsCachedPerCommitAndDefinition: the build's tree is what every
// host gets (a generated file, with the build's variables); a second
// deploy of the commit ships the cached artifact without running the
// build (the counter file says it ran once; the dry run and the run say
// "build: cached"); a changed build definition or --no-build-cache builds
// again; a rollback never builds.
func TestBuildIsCachedPerCommitAndDefinition(t *testing.T) {
	tb, counter, cache := buildTestbed(t, 2,
		`printf '%s %s %s %s\n' "$APP" "$COMMIT" "$ENV" "$MODE" > GENERATED`,
		`mkdir -p bin && printf '#!/bin/sh\necho tool\n' > bin/tool && chmod 755 bin/tool && ln -s bin/tool tool-link`)
	tb.app.Build.Env["MODE"] = "one"
	tb.inv.Apps = []inventory.App{tb.app}
	ctx := context.Background()
	c1 := tb.git("rev-parse", "HEAD")

	var dry bytes.Buffer
	tb.buildPlan("main", cache).Describe(&dry)
	for _, want := range []string{"build, before the lock and before anything is uploaded", "$ echo built >> \"$COUNTER\"",
		"COMMIT=" + c1, "MODE=one", "build: will run 3 commands on this machine (timeout 10m0s): nothing cached for " + ShortCommit(c1),
		"unpack the artifact (the build of " + ShortCommit(c1) + ")"} {
		if !strings.Contains(dry.String(), want) {
			t.Errorf("the dry run lacks %q:\n%s", want, dry.String())
		}
	}
	if builds(t, counter) != 0 {
		t.Fatal("the dry run ran the build")
	}

	out1, err := tb.deployer().Deploy(ctx, tb.buildPlan("main", cache))
	if err != nil || out1.Result != store.ReleaseSuccess {
		tb.logf(out1)
		t.Fatalf("first deploy: %v", err)
	}
	if n := builds(t, counter); n != 1 || !hasNote(out1, "build: built in") {
		t.Errorf("first deploy: %d builds, notes %q", n, out1.Notes)
	}
	if !tb.saidAny("build | $ echo built") {
		t.Errorf("the build's lines were not streamed: %q", tb.said)
	}
	for i := range tb.fleet.Hosts {
		if got := tb.sh(i, "cat "+tb.deployTo+"/current/GENERATED"); got != "app "+c1+" test one" {
			t.Errorf("host %d: GENERATED = %q", i, got)
		}
		if got := tb.sh(i, tb.deployTo+"/current/tool-link; cat "+tb.deployTo+"/current/index.html"); got != "tool\nv1" {
			t.Errorf("host %d: the built tool and the commit's file: %q", i, got)
		}
	}
	run, err := tb.st.Run(ctx, out1.RunID)
	if err != nil || !strings.Contains(run.Summary, "build: built in") {
		t.Errorf("the run's record does not say the build ran: %q (%v)", run.Summary, err)
	}

	// The same commit again: the cache.
	dry.Reset()
	tb.buildPlan("main", cache).Describe(&dry)
	if !strings.Contains(dry.String(), "build: cached (") {
		t.Errorf("the dry run does not say the build is cached:\n%s", dry.String())
	}
	out2, err := tb.deployer().Deploy(ctx, tb.buildPlan("main", cache))
	if err != nil || out2.Result != store.ReleaseSuccess {
		tb.logf(out2)
		t.Fatalf("redeploy: %v", err)
	}
	if n := builds(t, counter); n != 1 || !hasNote(out2, "build: cached (") {
		t.Errorf("redeploy of the same commit: %d builds, notes %q", n, out2.Notes)
	}
	if run, _ := tb.st.Run(ctx, out2.RunID); !strings.Contains(run.Summary, "build: cached (") {
		t.Errorf("the redeploy's record: %q", run.Summary)
	}
	for i := range tb.fleet.Hosts {
		if got := tb.sh(i, "cat "+tb.deployTo+"/current/GENERATED"); got != "app "+c1+" test one" {
			t.Errorf("host %d after the cached deploy: GENERATED = %q", i, got)
		}
	}

	// A rollback switches back; it never builds.
	choice, err := ChooseRollback(ctx, tb.st, "app", "test", "")
	if err != nil {
		t.Fatal(err)
	}
	p := tb.buildPlan(c1, cache)
	p.ReleaseID, p.Source = choice.Target.ReleaseID, Source{Commit: choice.Target.Commit}
	if rb, err := tb.deployer().Rollback(ctx, p, choice); err != nil || rb.Result != store.ReleaseSuccess {
		t.Fatalf("rollback: %v", err)
	}
	if n := builds(t, counter); n != 1 {
		t.Errorf("the rollback ran the build: %d builds", n)
	}

	// A changed definition builds anew, and so does --no-build-cache.
	tb.app.Build.Env["MODE"] = "two"
	tb.inv.Apps = []inventory.App{tb.app}
	if out, err := tb.deployer().Deploy(ctx, tb.buildPlan("main", cache)); err != nil || out.Result != store.ReleaseSuccess || builds(t, counter) != 2 {
		t.Fatalf("changed build: %v, %d builds", err, builds(t, counter))
	}
	if got := tb.sh(0, "cat "+tb.deployTo+"/current/GENERATED"); got != "app "+c1+" test two" {
		t.Errorf("after the changed build: GENERATED = %q", got)
	}
	p = tb.buildPlan("main", cache)
	p.NoBuildCache = true
	dry.Reset()
	p.Describe(&dry)
	if !strings.Contains(dry.String(), "build: will run 3 commands on this machine (timeout 10m0s): --no-build-cache") {
		t.Errorf("the dry run with --no-build-cache:\n%s", dry.String())
	}
	if out, err := tb.deployer().Deploy(ctx, p); err != nil || out.Result != store.ReleaseSuccess || builds(t, counter) != 3 {
		t.Fatalf("--no-build-cache: %v, %d builds", err, builds(t, counter))
	}

	// A cached artifact whose bytes changed is not shipped: built again.
	info, ok := LookupBuild(cache, tb.app, c1)
	if !ok {
		t.Fatal("the build is not cached")
	}
	b, err := os.ReadFile(info.Path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(info.Path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := tb.deployer().Deploy(ctx, tb.buildPlan("main", cache)); err != nil || out.Result != store.ReleaseSuccess || builds(t, counter) != 4 {
		t.Fatalf("a damaged cache: %v, %d builds", err, builds(t, counter))
	}
	if !tb.saidAny("build: the cached artifact " + ShortKey(info.Key) + " cannot be used") {
		t.Errorf("the damaged artifact was not reported: %q", tb.said)
	}
}

// TestFailedBuildTouchesNoHost: a build that exits 3 stops the deploy
// before the lock: no host has a release or a lock, the error and the
// run's record say the exit status and the build's last lines, and
// nothing is cached.
func TestFailedBuildTouchesNoHost(t *testing.T) {
	tb, _, cache := buildTestbed(t, 2, `echo "compiling assets"; echo "error: assets/app.scss: undefined variable" >&2; exit 3`, `echo never > NEVER`)
	ctx := context.Background()
	out, err := tb.deployer().Deploy(ctx, tb.buildPlan("main", cache))
	if out != nil || err == nil {
		t.Fatalf("a failed build deployed: %+v, %v", out, err)
	}
	for _, want := range []string{"build failed: command 2 of 3", "exited with status 3", "  compiling assets",
		"  error: assets/app.scss: undefined variable", "no host was touched (run "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
	var be *BuildError
	if !errors.As(err, &be) || be.Code != 3 {
		t.Fatalf("not a *BuildError with the status: %#v", err)
	}
	if log, err := os.ReadFile(be.Log); err != nil || !strings.HasPrefix(be.Log, cache) || !strings.Contains(string(log), "undefined variable") {
		t.Errorf("the build's log %s: %q (%v)", be.Log, log, err)
	}
	for i := range tb.fleet.Hosts {
		if got := tb.sh(i, "ls -A "+tb.deployTo+" 2>/dev/null || true"); got != "" {
			t.Errorf("host %d was touched: %s holds %q", i, tb.deployTo, got)
		}
		if tb.lockDirOn(i) != "" {
			t.Errorf("host %d is locked", i)
		}
	}
	runs, err := tb.st.ListRuns(ctx, store.RunFilter{Limit: 1})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs: %v %v", runs, err)
	}
	if r := runs[0]; r.Result != store.RunFailed || !strings.Contains(r.Summary, "exited with status 3") || !strings.Contains(r.Summary, "no host was touched") {
		t.Errorf("the run's record: %s %q", r.Result, r.Summary)
	}
	if rels, _ := tb.st.ListReleases(ctx, "app", "test", 0); len(rels) != 0 {
		t.Errorf("a failed build recorded a release: %+v", rels)
	}
	if locks, _ := tb.st.OpenLocks(ctx, "app", "test"); len(locks) != 0 {
		t.Errorf("the store records a lock: %+v", locks)
	}
	if _, ok := LookupBuild(cache, tb.app, tb.git("rev-parse", "HEAD")); ok {
		t.Error("a failed build was cached")
	}
}

// TestHangingBuildHitsItsTimeout: a build that never ends is killed at
// its timeout, with the children it started (its process group), and the
// deploy stops with no host touched; cancelling the deploy (ctrl+c) kills
// a running build the same way and records the run cancelled.
func TestHangingBuildHitsItsTimeout(t *testing.T) {
	pids := filepath.Join(t.TempDir(), "pids")
	tb, _, cache := buildTestbed(t, 1, `sleep 600 & echo $! >> "$PIDS"; echo "waiting for the index"; sleep 600`)
	tb.app.Build.Env["PIDS"] = pids
	tb.app.Build.Timeout = inventory.Duration(2 * time.Second)
	tb.inv.Apps = []inventory.App{tb.app}
	ctx := context.Background()

	_, err := tb.deployer().Deploy(ctx, tb.buildPlan("main", cache))
	if err == nil || !strings.Contains(err.Error(), "hit the build's timeout of 2s and was killed") || !strings.Contains(err.Error(), "waiting for the index") {
		t.Fatalf("a hanging build: %v", err)
	}
	if tb.lockDirOn(0) != "" || tb.sh(0, "ls -A "+tb.deployTo+" 2>/dev/null || true") != "" {
		t.Error("the host was touched")
	}

	// Cancelled as ctrl+c does, once the build is under way.
	cctx, cancel := context.WithCancel(ctx)
	d := tb.deployer()
	say := d.Say
	d.Say = func(s string) {
		say(s)
		if strings.Contains(s, "waiting for the index") {
			cancel()
		}
	}
	_, err = d.Deploy(cctx, tb.buildPlan("main", cache))
	if err == nil || !strings.Contains(err.Error(), "was cancelled") {
		t.Fatalf("a cancelled build: %v", err)
	}
	runs, _ := tb.st.ListRuns(ctx, store.RunFilter{Limit: 1})
	if len(runs) != 1 || runs[0].Result != store.RunCancelled {
		t.Errorf("the cancelled build's run: %+v", runs)
	}

	// Every child the builds started is gone with them.
	b, err := os.ReadFile(pids)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(string(b)) {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err != nil {
			t.Fatal(err)
		}
		testenv.WaitFor(t, 30*time.Second, "the end of the build's child "+f, func() bool {
			return syscall.Kill(pid, 0) != nil
		})
	}
}

// TestBuildGetsOnlyTheSecretsItNames: a secret named in the build's
// secrets: reaches its commands in their environment, is masked in every
// line of its output (streamed, logged, recorded) and is no part of the
// cache; the app's other secrets are not given to it.
func TestBuildGetsOnlyTheSecretsItNames(t *testing.T) {
	const token = "s3cr3t-index-token"
	t.Setenv("OPSUI_TEST_PYPI", token)
	t.Setenv("OPSUI_TEST_OTHER", "other-secret-value")
	tb, _, cache := buildTestbed(t, 1, `echo "index: https://user:$PIP_TOKEN@pypi.example/simple"`,
		`[ "$PIP_TOKEN" = "$EXPECT" ] && echo "the token arrived"`, `[ -z "$OTHER" ] && echo "no other secret"`)
	tb.app.Build.Env["EXPECT"] = token // a plain value, to compare with (the test's own)
	tb.app.Build.Secrets = map[string]string{"PIP_TOKEN": "pypi"}
	tb.app.Secrets = map[string]inventory.SecretSource{"pypi": {Env: "OPSUI_TEST_PYPI"}, "other": {Env: "OPSUI_TEST_OTHER"}}
	tb.app.Env = map[string]inventory.EnvValue{"OTHER": {Secret: "other"}}
	tb.inv.Apps = []inventory.App{tb.app}

	var dry bytes.Buffer
	tb.buildPlan("main", cache).Describe(&dry)
	if !strings.Contains(dry.String(), "PIP_TOKEN=‹secret pypi›") {
		t.Errorf("the dry run does not name the build's secret:\n%s", dry.String())
	}
	out, err := tb.deployer().Deploy(context.Background(), tb.buildPlan("main", cache))
	if err != nil || out.Result != store.ReleaseSuccess {
		tb.logf(out)
		t.Fatalf("deploy: %v", err)
	}
	for _, want := range []string{"build | index: https://user:‹secret pypi›@pypi.example/simple", "build | the token arrived", "build | no other secret"} {
		if !tb.saidAny(want) {
			t.Errorf("the build's output lacks %q: %q", want, tb.said)
		}
	}
	tb.mu.Lock()
	said := strings.Join(tb.said, "\n")
	tb.mu.Unlock()
	run, _ := tb.st.Run(context.Background(), out.RunID)
	info, _ := LookupBuild(cache, tb.app, tb.git("rev-parse", "HEAD"))
	log, _ := os.ReadFile(info.Log)
	meta, _ := os.ReadFile(strings.TrimSuffix(info.Path, ".tar.gz") + ".json")
	for what, text := range map[string]string{"said": said, "run record": run.Summary + run.Command, "log": string(log), "cache record": string(meta) + info.Path} {
		if strings.Contains(text, token) {
			t.Errorf("the %s shows the secret:\n%s", what, text)
		}
	}
	if !strings.Contains(string(log), "‹secret pypi›") {
		t.Errorf("the log: %q", log)
	}
}
