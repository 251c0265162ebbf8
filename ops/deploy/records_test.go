package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// runHosts returns a run's host rows by name.
func (tb *testbed) runHosts(runID int64) map[string]store.RunHost {
	tb.t.Helper()
	hs, err := tb.st.RunHosts(context.Background(), runID)
	if err != nil {
		tb.t.Fatal(err)
	}
	m := map[string]store.RunHost{}
	for _, h := range hs {
		m[h.Host] = h
	}
	return m
}

// TestRecordsOfARolledBackDeploy: in a rolling deploy web1 (batch 1) is
// fine, web2 (batch 2) fails its health check, both are switched back and
// web3's batch never starts. The run ends with the release's word
// (rolled_back, not cancelled); web2's record says it failed at health
// (not at the rollback's health check it ran last); web1's says rolled
// back (it did not fail); web3 was not reached (not cancelled at its last
// prepare step); each host's duration is its own, not the run's.
func TestRecordsOfARolledBackDeploy(t *testing.T) {
	tb := newTestbed(t, 3)
	tb.settings = func(h inventory.Host) map[string]inventory.RoleSettings {
		server := appServer
		if h.Name == "web2" {
			server = brokenServer
		}
		return map[string]inventory.RoleSettings{"web": {Reload: "OPSUI_BIND_ADDR=" + h.Address + "; " + server,
			HealthURL: "http://" + h.Address + ":8080/REVISION"}}
	}
	tb.app.Health.Retries, tb.app.Health.Deadline = 3, inventory.Duration(3e9)
	tb.firstRelease()
	tb.commit("broken", map[string]string{"BROKEN": "yes\n"})
	out := tb.deploy("main", Strategy{Kind: "rolling", Batches: Batches{{N: 1}}, AutoRollback: true})
	if out.Result != store.ReleaseRolledBack {
		tb.logf(out)
		t.Fatalf("result %s, want rolled_back", out.Result)
	}
	run, err := tb.st.Run(context.Background(), out.RunID)
	if err != nil || run.Result != store.RunRolledBack {
		t.Errorf("the run's result is %q (%v); its release says %s", run.Result, err, out.Result)
	}
	hs := tb.runHosts(out.RunID)
	if h := hs["web2"]; h.Status != store.HostFailed || h.Stage != StepHealth {
		t.Errorf("web2 recorded as %s at %q, want failed at health", h.Status, h.Stage)
	}
	if h := hs["web1"]; h.Status != store.HostRolledBack || h.Stage != "" {
		t.Errorf("web1 recorded as %s at %q, want rolled_back", h.Status, h.Stage)
	}
	if h := hostOutcome(out, "web1"); h.Status != HostRolledBack || h.Step != "" {
		t.Errorf("web1's outcome: %s at %q", h.Status, h.Step)
	}
	if h := hs["web3"]; h.Status != store.HostSkipped || h.Stage != store.HostNotReached {
		t.Errorf("web3 recorded as %s at %q, want skipped, not reached", h.Status, h.Stage)
	}
	if h := hostOutcome(out, "web3"); h.Step != store.HostNotReached {
		t.Errorf("web3's outcome says step %q", h.Step)
	}
	// web2 switched, failed its health check for seconds and went back;
	// web3 stopped after preparing.
	runTook := run.FinishedAt.Time().Sub(run.StartedAt.Time())
	w2 := time.Duration(hs["web2"].DurationMS) * time.Millisecond
	w3 := time.Duration(hs["web3"].DurationMS) * time.Millisecond
	if w3 <= 0 || w3 > w2-time.Second || w3 > runTook-time.Second {
		t.Errorf("web3 took %s by its record; web2 %s, the whole run %s: not its own duration", w3, w2, runTook)
	}
	if h := hostOutcome(out, "web3"); h.Duration.Milliseconds() != w3.Milliseconds() {
		t.Errorf("web3: outcome %s, record %s", h.Duration, w3)
	}
}

// TestRefusedAtTheLockIsARunNotARelease: a deploy that finds the lock held
// records a run (refused, the lock named first in its summary), no release
// row, emits no host failure, and says the lock first.
func TestRefusedAtTheLockIsARunNotARelease(t *testing.T) {
	tb := newTestbed(t, 2)
	ctx := context.Background()
	owner := Owner{Operator: "alice", Machine: "laptop", PID: 4242, RunID: 7, Token: NewToken(), Since: time.Now()}
	dir := tb.deployTo + "/.opsui-lock"
	tb.sh(1, fmt.Sprintf("mkdir -p %s && printf '%%s\\n' %s > %s/owner && date +%%s > %s/heartbeat",
		remote.Quote(dir), remote.Quote(owner.encode()), remote.Quote(dir), remote.Quote(dir)))
	d := tb.deployer()
	out, err := d.Deploy(ctx, tb.plan("main", Strategy{Kind: "all", AutoRollback: true}))
	if out != nil || err == nil || !strings.HasPrefix(err.Error(), "app/test is locked on web2 by alice@laptop") ||
		!strings.Contains(err.Error(), "nothing was changed (run ") {
		t.Fatalf("deploy against a held lock: %+v, %v", out, err)
	}
	tb.mu.Lock()
	for _, ev := range tb.events {
		if ev.Kind == remote.EventFailed || ev.Kind == remote.EventExited {
			t.Errorf("a host failure was emitted for a refused deploy: %s %v", ev.Host, ev.Err)
		}
	}
	tb.mu.Unlock()
	if rels, err := tb.st.ListReleases(ctx, "app", "test", 0); err != nil || len(rels) != 0 {
		t.Errorf("a refused deploy recorded releases: %+v, %v", rels, err)
	}
	runs, err := tb.st.ListRuns(ctx, store.RunFilter{Kind: store.KindDeploy})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	if r := runs[0]; r.Result != store.RunRefused || !strings.HasPrefix(r.Summary, "refused: app/test is locked on web2 by alice") {
		t.Errorf("the refused run: %s %q", r.Result, r.Summary)
	}
	for n, h := range tb.runHosts(runs[0].ID) {
		if h.Status != store.HostSkipped || h.Stage != store.HostNotReached {
			t.Errorf("%s recorded as %s at %q, want skipped, not reached", n, h.Status, h.Stage)
		}
	}
	// Nothing was taken: web1 has no lock of this attempt, web2 keeps alice's.
	if got := tb.sh(0, "ls -A "+tb.deployTo+" 2>/dev/null || true"); strings.Contains(got, ".opsui-lock") {
		t.Errorf("web1 keeps a lock: %s", got)
	}
	if got := tb.sh(1, "cat "+dir+"/owner"); !strings.Contains(got, "token="+owner.Token) {
		t.Errorf("alice's lock on web2 was touched: %s", got)
	}
}

// TestExplicitRollbackUndoesOnlyWhatWentLive: v1 (a tag), v2 good, v3
// failed before its switch; an explicit rollback from v2 to v1 lists v2 as
// undone (not v3, which never went live), leaves v2's record good and
// unmarked on the hosts, numbers its own steps, times its lock, and
// records the tag as a tag in the store and in revisions.log.
func TestExplicitRollbackUndoesOnlyWhatWentLive(t *testing.T) {
	tb := newTestbed(t, 2)
	ctx := context.Background()
	tb.git("tag", "v1")
	v1 := tb.deploy("v1", Strategy{Kind: "all", AutoRollback: true})
	rec1, err := tb.st.ReleaseNamed(ctx, "app", "test", v1.ReleaseID)
	if err != nil || rec1.Branch != "tag v1" {
		t.Errorf("a tag deploy is recorded with ref %q (%v), want \"tag v1\"", rec1.Branch, err)
	}
	if log := tb.sh(0, "cat "+tb.deployTo+"/revisions.log"); !strings.Contains(log, "Tag v1 (at ") {
		t.Errorf("revisions.log does not name the tag as a tag:\n%s", log)
	}
	tb.commit("second", map[string]string{"index.html": "v2\n"})
	v2 := tb.deploy("main", Strategy{Kind: "all", AutoRollback: true})
	tb.app.Stages = []inventory.Stage{{Name: "check", Position: "before:switch", Run: "exit 3"}}
	tb.commit("third", map[string]string{"index.html": "v3\n"})
	v3 := tb.deploy("main", Strategy{Kind: "all", AutoRollback: true})
	tb.app.Stages = nil
	if v1.Result != store.ReleaseSuccess || v2.Result != store.ReleaseSuccess || v3.Result != store.ReleaseFailed {
		t.Fatalf("results %s %s %s", v1.Result, v2.Result, v3.Result)
	}
	choice, err := ChooseRollback(ctx, tb.st, "app", "test", v1.ReleaseID)
	if err != nil {
		t.Fatal(err)
	}
	var undone []string
	for _, r := range choice.Undone {
		undone = append(undone, r.ReleaseID)
	}
	if strings.Join(undone, ",") != v2.ReleaseID {
		t.Errorf("undone %v, want only %s (v3 %s never went live)", undone, v2.ReleaseID, v3.ReleaseID)
	}
	p := tb.plan("v1", Strategy{Kind: "all"})
	p.ReleaseID = choice.Target.ReleaseID
	tb.mu.Lock()
	tb.events = nil
	tb.mu.Unlock()
	rb, err := tb.deployer().Rollback(ctx, p, choice)
	if err != nil || rb.Result != store.ReleaseSuccess {
		tb.logf(rb)
		t.Fatalf("rollback: %v", err)
	}
	if rb.Kind != store.KindRollback || rb.Timing.Lock <= 0 || rb.Timing.Activate <= 0 {
		t.Errorf("rollback outcome: kind %q, timing %+v", rb.Kind, rb.Timing)
	}
	_, activate := split(p.Steps)
	want := len(activate) // the switch, and the steps after it but cleanup
	tb.mu.Lock()
	for _, ev := range tb.events {
		if ev.Kind == remote.EventStage && ev.Step > 0 && ev.Steps != want {
			t.Errorf("rollback stage %s numbered %d/%d, want of %d", ev.Line, ev.Step, ev.Steps, want)
		}
		if ev.Kind == remote.EventStage && ev.Line == StepSwitch && ev.Step != 1 {
			t.Errorf("the rollback's switch is step %d/%d", ev.Step, ev.Steps)
		}
	}
	tb.mu.Unlock()
	left, err := tb.st.ReleaseNamed(ctx, "app", "test", v2.ReleaseID)
	if err != nil || left.Result != store.ReleaseSuccess {
		t.Errorf("v2 after being rolled back from: %s (%v), want success", left.Result, err)
	}
	for i := range tb.fleet.Hosts {
		if ls := tb.sh(i, "ls "+tb.deployTo+"/releases/"+v2.ReleaseID); strings.Contains(ls, "BAD") {
			t.Errorf("host %d: v2 marked BAD", i)
		}
		if rel, _ := tb.current(i); rel != v1.ReleaseID {
			t.Errorf("host %d runs %s, want %s", i, rel, v1.ReleaseID)
		}
	}
	run, err := tb.st.Run(ctx, rb.RunID)
	if err != nil || run.Result != store.RunOK || run.Kind != store.KindRollback {
		t.Errorf("rollback run: %+v %v", run, err)
	}
	// v2 was rolled back from: a default rollback does not go forward to it.
	if c, err := ChooseRollback(ctx, tb.st, "app", "test", ""); err == nil {
		t.Errorf("a default rollback from %s chose %s", c.From.ReleaseID, c.Target.ReleaseID)
	}
	// A rollback refused for a missing release is a run, not a release.
	tb.sh(1, "rm -rf "+tb.deployTo+"/releases/"+v2.ReleaseID)
	back, err := ChooseRollback(ctx, tb.st, "app", "test", v2.ReleaseID)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := tb.st.ListReleases(ctx, "app", "test", 0)
	p.ReleaseID = v2.ReleaseID
	out, err := tb.deployer().Rollback(ctx, p, back)
	var missing *MissingReleaseError
	if out != nil || !errors.As(err, &missing) || !strings.Contains(err.Error(), "nothing was changed (run ") {
		t.Errorf("rollback to a release missing on web2: %+v, %v", out, err)
	}
	if after, _ := tb.st.ListReleases(ctx, "app", "test", 0); len(after) != len(before) {
		t.Errorf("the refused rollback recorded a release: %d records, was %d", len(after), len(before))
	}
}
