package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/ui"
)

// openConsoleSession opens the console's real session (its pool, SSH
// setup and store) on db, as `opsui` does.
func openConsoleSession(t *testing.T, db string) (*consoleSession, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), db)
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

// recordedShape is what a run's record says, without what differs from
// one run to the next (ids, times, durations) or by who asked (Args): the
// run's kind, environment, operator, command, result and summary, then
// each host's status, exit code, error class and error and its recorded
// output by stream, one line each.
func recordedShape(t *testing.T, st *store.Store, r store.Run) []string {
	t.Helper()
	ctx := context.Background()
	summary, _, _ := strings.Cut(r.Summary, "; slowest ")
	shape := []string{fmt.Sprintf("%s env=%q operator=%q command=%q result=%s summary=%q finished=%v",
		r.Kind, r.Env, r.Operator, r.Command, r.Result, summary, r.FinishedAt != 0)}
	hosts, err := st.RunHosts(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		chunks, err := st.Output(ctx, h.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Per stream: how stdout and stderr interleave is up to the host.
		streams := map[string]string{}
		for _, c := range chunks {
			streams[c.Stream] += string(c.Data)
		}
		code := "none"
		if h.ExitCode != nil {
			code = fmt.Sprint(*h.ExitCode)
		}
		shape = append(shape, fmt.Sprintf("%s %s code=%s class=%q err=%q bytes=%d/%d output=%q",
			h.Host, h.Status, code, h.ErrorClass, h.Error, h.RecordedBytes, h.OutputBytes, streams))
	}
	return shape
}

// runsOf returns the recorded runs of kind, oldest first.
func runsOf(t *testing.T, st *store.Store, kind string) []store.Run {
	t.Helper()
	runs, err := st.ListRuns(context.Background(), store.RunFilter{Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(runs)
	return runs
}

// sameShape fails unless the CLI's run and the console's run recorded the
// same, and each says who asked: the CLI its arguments, the console
// "console".
func sameShape(t *testing.T, st *store.Store, cliRun, consoleRun store.Run) {
	t.Helper()
	a, b := recordedShape(t, st, cliRun), recordedShape(t, st, consoleRun)
	if !slices.Equal(a, b) {
		t.Errorf("the CLI and the console recorded differently:\nCLI:\n  %s\nconsole:\n  %s", strings.Join(a, "\n  "), strings.Join(b, "\n  "))
	}
	if consoleRun.Args != `["console"]` || cliRun.Args == consoleRun.Args {
		t.Errorf("args: CLI %q, console %q", cliRun.Args, consoleRun.Args)
	}
}

// TestExecIsOneOperationForCLIAndConsole runs the same command on real
// hosts through `opsui exec` and through the console's `x` (its session's
// exec, as ui.Options.Exec calls it): both go through ops.Service.Exec
// and record the same run, host by host and byte for byte.
func TestExecIsOneOperationForCLIAndConsole(t *testing.T) {
	_, db := execFleet(t, 3, true)
	t.Setenv("OPSUI_OPERATOR", "alice")
	const command = `echo "on $(uname -n)"; echo warn >&2; test "$(uname -n)" != web2`

	out, err := opsuiCmd(t, db, "", "exec", "--", command)
	if exitCode(err) != 1 || !strings.Contains(out, "1 failed (1 command-failed), 2 ok") {
		t.Fatalf("opsui exec: %v\n%s", err, out)
	}

	cs, st := openConsoleSession(t, db)
	f, err := st.LoadFleet(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var events []remote.Event
	res, err := cs.exec(context.Background(), f.Select(inventory.Filter{}), command, func(ev remote.Event) { events = append(events, ev) })
	if err != nil || res.OK != 2 || res.Failed != 1 {
		t.Fatalf("console exec: %+v, %v", res, err)
	}
	if !slices.ContainsFunc(events, func(ev remote.Event) bool { return ev.Host == "web2" && ev.Line == "on web2" }) {
		t.Errorf("the console's emit did not get the output: %+v", events)
	}

	runs := runsOf(t, st, store.KindExec)
	if len(runs) != 2 {
		t.Fatalf("%d exec runs recorded, want 2", len(runs))
	}
	sameShape(t, st, runs[0], runs[1])
	if runs[1].Operator != "alice" || runs[1].Result != store.RunPartial || runs[1].Command != command {
		t.Errorf("console run %+v", runs[1])
	}
}

// TestExecRefusesBadOptionsBeforeRecording: an option remote.Run refuses is a
// usage error, and no run is recorded for it (one used to be left
// "running" until a later opsui reaped it).
func TestExecRefusesBadOptionsBeforeRecording(t *testing.T) {
	_, db := execFleet(t, 1, true)
	for _, flag := range []string{"--parallel=-1", "--timeout=-1s"} {
		out, err := opsuiCmd(t, db, "", "exec", flag, "--", "true")
		if exitCode(err) != 2 || !strings.Contains(err.Error(), "negative Parallel, Timeout or KillGrace") {
			t.Errorf("%s: %v\n%s", flag, err, out)
		}
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if runs := runsOf(t, st, ""); len(runs) != 0 {
		t.Errorf("refused commands recorded runs: %+v", runs)
	}
}

// TestFlushIsOneOperationForCLIAndConsole flushes the same real memcached
// and Redis (with a password) servers through `opsui flush` and through
// the console's flush flow: both go through ops.Service.Flush and record
// the same run, and neither records the password.
func TestFlushIsOneOperationForCLIAndConsole(t *testing.T) {
	fc := newFlushCLI(t, false, cacheHost{name: "cache1", kind: "memcached"}, cacheHost{name: "cache2", kind: "redis", auth: true})
	t.Setenv("OPSUI_OPERATOR", "alice")
	fill := func() {
		fc.servers["cache1"].Set(0, "a", "b", "c")
		fc.servers["cache2"].Set(0, "a", "b")
	}

	fill()
	out, err := opsuiCmd(t, fc.db, "", "flush", "--env", "test", "--yes")
	if err != nil {
		t.Fatalf("opsui flush: %v\n%s", err, out)
	}

	fill()
	cs, st := openConsoleSession(t, fc.db)
	plan, err := cs.flushPlan(context.Background(), "test")
	if err != nil || len(plan) != 2 {
		t.Fatalf("console flush plan %+v, %v", plan, err)
	}
	var emitted int
	results, err := cs.flush(context.Background(), "test", []string{"cache1", "cache2"},
		ops.IO{Emit: func(remote.Event) { emitted++ }, Say: func(string) {}})
	if err != nil || len(results) != 2 || !results[0].OK() || !results[1].OK() {
		t.Fatalf("console flush %+v, %v", results, err)
	}
	if emitted == 0 {
		t.Error("the console's flow got no events")
	}
	for name, srv := range fc.servers {
		if left := srv.Has(0, "a", "b", "c"); len(left) > 0 {
			t.Errorf("%s still holds %q", name, left)
		}
	}

	runs := runsOf(t, st, store.KindFlush)
	if len(runs) != 2 {
		t.Fatalf("%d flush runs recorded, want 2", len(runs))
	}
	sameShape(t, st, runs[0], runs[1])
	if r := runs[1]; r.Env != "test" || r.Result != store.RunOK || !strings.HasPrefix(r.Command, "flush cache1: memcached ") {
		t.Errorf("console run %+v", r)
	}
	fc.assertNoSecret(t)
}

// TestFlushRefusesBadOptionsBeforeRecording: as for exec, with Flush's
// own words.
func TestFlushRefusesBadOptionsBeforeRecording(t *testing.T) {
	fc := newFlushCLI(t, false, cacheHost{name: "cache1", kind: "memcached"})
	for flag, want := range map[string]string{"--parallel=-1": "flush: negative Parallel", "--timeout=-1s": "flush cache1: ops: negative"} {
		out, err := opsuiCmd(t, fc.db, "", "flush", "--yes", flag)
		if exitCode(err) != 2 || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q\n%s", flag, err, want, out)
		}
	}
	st, err := store.Open(context.Background(), fc.db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if runs := runsOf(t, st, ""); len(runs) != 0 {
		t.Errorf("refused flushes recorded runs: %+v", runs)
	}
}
