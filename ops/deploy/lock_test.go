package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

func TestParseLockStateAge(t *testing.T) {
	for _, tc := range []struct {
		name  string
		out   string
		stale bool
	}{
		{"fresh heartbeat", "opsui-lock=held\ntoken=a\nheartbeat=1000\ndirtime=1000\nnow=1010", false},
		{"old heartbeat", "opsui-lock=held\ntoken=a\nheartbeat=1000\ndirtime=1000\nnow=1070", true},
		{"empty heartbeat, fresh directory", "opsui-lock=held\ntoken=a\nheartbeat=\ndirtime=1000\nnow=1010", false},
		{"empty heartbeat, old directory", "opsui-lock=held\ntoken=a\nheartbeat=\ndirtime=1000\nnow=1100", true},
		{"nothing readable", "opsui-lock=held\nheartbeat=\ndirtime=\nnow=1100", false},
		{"short lease of the holder", "opsui-lock=held\ntoken=a\nlease=2\nheartbeat=1000\ndirtime=1000\nnow=1003", true},
		{"long lease of the holder", "opsui-lock=held\ntoken=a\nlease=600\nheartbeat=1000\ndirtime=1000\nnow=1300", false},
	} {
		if got := parseLockState("h", tc.out).Stale(); got != tc.stale {
			t.Errorf("%s: stale %v, want %v", tc.name, got, tc.stale)
		}
	}
}

// lockHosts returns the testbed's hosts as the lock sees them.
func (tb *testbed) lockHosts() []lockHost {
	var lh []lockHost
	for _, h := range tb.fleet.Hosts {
		lh = append(lh, lockHost{target: tb.targets[h.Name], deployTo: tb.deployTo})
	}
	return lh
}

func (tb *testbed) lockDirOn(i int) string {
	tb.t.Helper()
	return tb.sh(i, "ls -A "+remote.Quote(tb.deployTo)+" 2>/dev/null | grep -x .opsui-lock || true")
}

// TestEmptyHeartbeatIsNotStale: a live lock whose heartbeat file reads
// empty (a reader caught a writer mid-write, as `date > heartbeat` allowed)
// is not stale, so unlock without --force leaves it; a lock with no
// readable heartbeat whose directory is old is stale.
func TestEmptyHeartbeatIsNotStale(t *testing.T) {
	tb := newTestbed(t, 1)
	d := tb.deployTo + "/.opsui-lock"
	tb.sh(0, fmt.Sprintf("mkdir -p %[1]s && printf 'operator=x\\ntoken=t1\\n' > %[1]s/owner && : > %[1]s/heartbeat", remote.Quote(d)))
	inspect := func() LockState {
		return InspectLocks(context.Background(), tb.pool, []remote.Target{tb.targets["web1"]}, func(string) string { return tb.deployTo })[0]
	}
	if st := inspect(); !st.Held || st.Stale() {
		t.Fatalf("a just-written lock with an empty heartbeat: held %v stale %v (age %s), want held and live", st.Held, st.Stale(), st.Age)
	}
	tb.sh(0, "touch -d '-5 minutes' "+remote.Quote(d))
	if st := inspect(); !st.Stale() {
		t.Fatalf("a lock with an empty heartbeat untouched for 5 minutes is not stale (age %s)", st.Age)
	}
}

// TestHeartbeatNeverEmpty renews a lock 300 times on a host while another
// shell there reads its heartbeat as fast as it can: the reader never
// finds it missing or empty.
func TestHeartbeatNeverEmpty(t *testing.T) {
	tb := newTestbed(t, 1)
	d := tb.deployTo + "/.opsui-lock"
	tb.sh(0, fmt.Sprintf("mkdir -p %[1]s && printf 'operator=x\\ntoken=t1\\n' > %[1]s/owner && date +%%s > %[1]s/heartbeat", remote.Quote(d)))
	script := `(for i in $(seq 300); do (eval "$OPSUI_RENEW") >/dev/null || echo RENEW-FAILED; done; : > "$DEPLOY_TO/.done") &
renewer=$!; n=0; empty=0
while [ ! -e "$DEPLOY_TO/.done" ]; do
  n=$((n+1)); [ -s "$DEPLOY_TO/.opsui-lock/heartbeat" ] || empty=$((empty+1))
done
wait $renewer; echo "reads=$n empty=$empty"`
	out, res := runCapture(context.Background(), tb.pool, tb.targets["web1"], script,
		map[string]string{"DEPLOY_TO": tb.deployTo, "OPSUI_TOKEN": "t1", "OPSUI_RENEW": lockRenewScript}, 2*time.Minute)
	if res.Status != remote.StatusOK {
		t.Fatalf("%v: %s", res.Err, out)
	}
	t.Log(strings.TrimSpace(out))
	if strings.Contains(out, "RENEW-FAILED") || !strings.Contains(out, " empty=0") {
		t.Fatalf("the heartbeat was seen empty or a renewal failed:\n%s", out)
	}
}

// TestLostLockAnswerIsReleased: web2's mkdir works but its answer never
// comes back (its `date` hangs, the deploy gives up): the lock taken there
// is released all the same, as is web1's.
func TestLostLockAnswerIsReleased(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "date"), []byte("#!/bin/sh\ntrap '' TERM HUP\n/bin/date \"$@\"\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tb := newTestbedWith(t, 2, sshtest.WithHostEnv(func(name string) map[string]string {
		if name == "web2" {
			return map[string]string{"PATH": bin + ":/usr/sbin:/usr/bin:/sbin:/bin"}
		}
		return nil
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	owner := Owner{Operator: "tester", Token: NewToken(), Since: time.Now()}
	l, err := acquireLock(ctx, tb.pool, "app", "test", tb.lockHosts(), owner, nil)
	if err == nil {
		l.Release(context.Background())
		t.Fatal("the lock was taken although web2 never answered")
	}
	t.Log(err)
	for i := range tb.fleet.Hosts {
		if got := tb.lockDirOn(i); got != "" {
			t.Errorf("%s keeps the lock after the attempt gave up: %s", tb.fleet.Hosts[i].Name, tb.sh(i, "cat "+tb.deployTo+"/.opsui-lock/owner"))
		}
	}
}

// TestLockHeldOnOneHostTakesNothing: with another owner's lock on web3 of
// four hosts, the lock (taken on web1 alone, then on the rest at once) is
// refused naming web3's holder, every host this attempt took is given
// back, and the other owner's lock stays.
func TestLockHeldOnOneHostTakesNothing(t *testing.T) {
	tb := newTestbed(t, 4)
	d := remote.Quote(tb.deployTo + "/.opsui-lock")
	tb.sh(2, fmt.Sprintf("mkdir -p %[1]s && printf 'operator=ann\\ntoken=other\\n' > %[1]s/owner && date +%%s > %[1]s/heartbeat", d))
	owner := Owner{Operator: "tester", Token: NewToken(), Since: time.Now()}
	l, err := acquireLock(context.Background(), tb.pool, "app", "test", tb.lockHosts(), owner, nil)
	if err == nil {
		l.Release(context.Background())
		t.Fatal("the lock was taken although web3 holds another owner's")
	}
	var held *LockHeldError
	if !errors.As(err, &held) || held.State.Host != "web3" || held.State.Owner.Operator != "ann" {
		t.Fatalf("want a LockHeldError naming ann on web3, got %v", err)
	}
	for i, h := range tb.fleet.Hosts {
		got := tb.lockDirOn(i)
		if h.Name == "web3" {
			if owner := tb.sh(i, "cat "+d+"/owner"); !strings.Contains(owner, "token=other") {
				t.Errorf("web3's lock was touched: %q", owner)
			}
		} else if got != "" {
			t.Errorf("%s keeps this attempt's lock", h.Name)
		}
	}
}

// lockTestStage sets a stage that waits on one host before the switch.
func lockTestStage(tb *testbed, host string, secs int) {
	tb.app.Stages = []inventory.Stage{{Name: "slow", Position: "before:switch",
		Run: fmt.Sprintf(`if [ "$HOST" = %s ]; then echo waiting; sleep %d; fi`, host, secs)}}
}

// deployWhen runs a deploy, calling at(ev) (in its own goroutine) for
// every event the deploy emits, and returns the outcome and how long it took.
func (tb *testbed) deployWhen(p *Plan, at func(ev remote.Event)) (*Outcome, time.Duration) {
	tb.t.Helper()
	d := tb.deployer()
	emit := d.Emit
	d.Emit = func(ev remote.Event) {
		emit(ev)
		at(ev)
	}
	began := time.Now()
	out, err := d.Deploy(context.Background(), p)
	if err != nil {
		tb.t.Fatalf("deploy: %v", err)
	}
	return out, time.Since(began)
}

// TestRenewalFindingAnotherTokenCancelsTheHost: while web2 runs a long
// stage, its lock is taken over by another token (broken and retaken by
// another deploy). The next renewal cancels web2's stage at once with a
// clear error, nothing more runs there, and the other deploy's lock is
// left alone.
func TestRenewalFindingAnotherTokenCancelsTheHost(t *testing.T) {
	t.Setenv(LeaseEnv, "3s")
	tb := newTestbed(t, 2)
	first := tb.firstRelease()
	lockTestStage(tb, "web2", 60)
	tb.commit("second", map[string]string{"index.html": "v2\n"})
	d := remote.Quote(tb.deployTo + "/.opsui-lock")
	var once sync.Once
	out, took := tb.deployWhen(tb.plan("main", Strategy{Kind: "all", AutoRollback: true}), func(ev remote.Event) {
		if ev.Host == "web2" && ev.Kind == remote.EventStdout && ev.Line == "waiting" {
			once.Do(func() {
				go tb.sh(1, fmt.Sprintf("rm -rf %[1]s && mkdir %[1]s && printf 'operator=other\\ntoken=other\\n' > %[1]s/owner && date +%%s > %[1]s/heartbeat", d))
			})
		}
	})
	h := hostOutcome(out, "web2")
	if h.Status == HostOK || h.Err == nil || !strings.Contains(h.Err.Error(), "lost the deploy lock on web2: the lock there is now held by other") {
		tb.logf(out)
		t.Fatalf("web2 ended %s (%v), want failed: lost the deploy lock", h.Status, h.Err)
	}
	if took > 30*time.Second {
		t.Errorf("the deploy took %s: web2's stage was not cancelled when its lock was lost", took)
	}
	if rel, _ := tb.current(1); rel != first.ReleaseID {
		t.Errorf("web2 was switched to %s after it lost the lock", rel)
	}
	if owner := tb.sh(1, "cat "+d+"/owner"); !strings.Contains(owner, "token=other") {
		t.Errorf("the other deploy's lock on web2 was touched: %q", owner)
	}
	if got := tb.lockDirOn(0); got != "" {
		t.Errorf("web1 keeps this deploy's lock")
	}
}

// TestFenceRefusesAStepWithoutTheToken: the lock on web1 changes hands
// between two steps, too fast for any renewal to see (a 60 s lease): the
// next step's own shell finds another token and refuses, so web1 is not
// switched, and its revisions.log and releases are not written by this
// deploy after that.
func TestFenceRefusesAStepWithoutTheToken(t *testing.T) {
	tb := newTestbed(t, 1)
	first := tb.firstRelease()
	lockTestStage(tb, "web1", 2)
	tb.commit("second", map[string]string{"index.html": "v2\n"})
	d := remote.Quote(tb.deployTo + "/.opsui-lock")
	var once sync.Once
	var logBefore string
	out, _ := tb.deployWhen(tb.plan("main", Strategy{Kind: "all", AutoRollback: true}), func(ev remote.Event) {
		if ev.Kind == remote.EventStdout && ev.Line == "waiting" {
			once.Do(func() {
				logBefore = tb.sh(0, fmt.Sprintf("rm -rf %[1]s && mkdir %[1]s && printf 'operator=other\\ntoken=other\\n' > %[1]s/owner && date +%%s > %[1]s/heartbeat; cat %[2]s/revisions.log", d, remote.Quote(tb.deployTo)))
			})
		}
	})
	h := hostOutcome(out, "web1")
	if h.Status == HostOK || h.Err == nil || !strings.Contains(h.Err.Error(), "lost the deploy lock on web1") {
		tb.logf(out)
		t.Fatalf("web1 ended %s (%v), want failed: lost the deploy lock", h.Status, h.Err)
	}
	if rel, _ := tb.current(0); rel != first.ReleaseID {
		t.Errorf("web1 was switched to %s without the lock", rel)
	}
	if got := tb.sh(0, "cat "+remote.Quote(tb.deployTo)+"/revisions.log"); got != logBefore {
		t.Errorf("revisions.log was written without the lock:\nbefore %q\nafter  %q", logBefore, got)
	}
	if got := tb.sh(0, "ls "+remote.Quote(tb.deployTo)+"/releases/*/BAD 2>/dev/null || true"); got != "" {
		t.Errorf("a BAD mark was written without the lock: %s", got)
	}
	found := false
	for _, n := range out.Notes {
		found = found || strings.Contains(n, "not written: lost the deploy lock")
	}
	if !found {
		t.Errorf("the skipped records are not noted: %q", out.Notes)
	}
}

// TestRenewalFailingPastTheLeaseCancelsTheHost: web2 hangs (its sshd is
// stopped) during a long stage; once its renewals have failed for longer
// than the lease, web2's work is cancelled with a clear error, long before
// the stage would have ended.
func TestRenewalFailingPastTheLeaseCancelsTheHost(t *testing.T) {
	t.Setenv(LeaseEnv, "2s")
	tb := newTestbed(t, 2)
	tb.firstRelease()
	lockTestStage(tb, "web2", 60)
	tb.commit("second", map[string]string{"index.html": "v2\n"})
	host := tb.fleet.Host("web2")
	var stop, cont sync.Once
	defer cont.Do(host.Cont)
	out, took := tb.deployWhen(tb.plan("main", Strategy{Kind: "all", AutoRollback: true}), func(ev remote.Event) {
		switch {
		case ev.Host == "web2" && ev.Kind == remote.EventStdout && ev.Line == "waiting":
			stop.Do(host.Stop)
		case ev.Host == "web2" && (ev.Kind == remote.EventFailed || ev.Kind == remote.EventExited):
			cont.Do(host.Cont) // back for the release of the lock
		}
	})
	h := hostOutcome(out, "web2")
	var lost *LockLostError
	if h.Status == HostOK || !errors.As(h.Err, &lost) || !strings.Contains(h.Err.Error(), "lost the deploy lock on web2: not renewed for") {
		tb.logf(out)
		t.Fatalf("web2 ended %s (%v), want failed: lost the deploy lock, not renewed", h.Status, h.Err)
	}
	if took > 45*time.Second {
		t.Errorf("the deploy took %s: web2 was not cancelled when its lease ran out", took)
	}
}

// TestLockedStateIsReadUnderTheLock: another deploy finishes between this
// deploy's start (its connection to the host) and its lock. What current
// points at, which a failed deploy switches back to, is read under the
// lock: the failed deploy goes back to the other deploy's release, not to
// the one before it.
func TestLockedStateIsReadUnderTheLock(t *testing.T) {
	tb := newTestbed(t, 1)
	first := tb.firstRelease()
	tb.commit("second", map[string]string{"index.html": "v2\n"})
	tb.app.Stages = []inventory.Stage{{Name: "boom", Position: "after:switch", Run: "echo boom; exit 1"}}
	pa := tb.plan("main", Strategy{Kind: "all", AutoRollback: true})
	tb.app.Stages = nil
	var once sync.Once
	var other *Outcome
	out, _ := tb.deployWhen(pa, func(ev remote.Event) {
		if ev.Kind == remote.EventStage && ev.Line == stepInspect {
			once.Do(func() {
				tb.commit("third", map[string]string{"index.html": "v3\n"})
				other = tb.deploy("main", Strategy{Kind: "all", AutoRollback: true})
			})
		}
	})
	if other == nil || other.Result != store.ReleaseSuccess {
		t.Fatalf("the deploy in between did not succeed: %+v", other)
	}
	if out.Result != store.ReleaseRolledBack {
		tb.logf(out)
		t.Fatalf("result %s, want rolled back", out.Result)
	}
	if rel, _ := tb.current(0); rel != other.ReleaseID {
		t.Fatalf("rolled back to %s, want %s (what current pointed at when the lock was taken; %s is from before)", rel, other.ReleaseID, first.ReleaseID)
	}
	if pa.KnownGood != other.ReleaseID {
		t.Errorf("known-good release %q, want %s, read under the lock", pa.KnownGood, other.ReleaseID)
	}
}

// TestFailedRevisionsLogWriteIsReported: a revisions.log that cannot be
// written (here a directory of that name) is a note of the deploy, shown
// and recorded with the run, not silently dropped.
func TestFailedRevisionsLogWriteIsReported(t *testing.T) {
	tb := newTestbed(t, 1)
	tb.sh(0, "mkdir -p "+remote.Quote(tb.deployTo+"/revisions.log"))
	out := tb.firstRelease()
	var note string
	for _, n := range out.Notes {
		if strings.Contains(n, "web1: writing revisions.log failed") {
			note = n
		}
	}
	if note == "" {
		t.Fatalf("no note of the failed revisions.log write: %q", out.Notes)
	}
	run, err := tb.st.Run(context.Background(), out.RunID)
	if err != nil || !strings.Contains(run.Summary, note) {
		t.Errorf("the note is not recorded with the run (%v): %q", err, run.Summary)
	}
}

// TestRollbackChosenBeforeADeployIsRefused: a rollback is chosen (from v2
// back to v1) and another deploy (v3) finishes before it takes the lock.
// Under the lock the rollback sees the environment changed and refuses,
// leaving v3 in place, instead of undoing v3 unseen and marking v2 bad.
func TestRollbackChosenBeforeADeployIsRefused(t *testing.T) {
	tb := newTestbed(t, 1)
	ctx := context.Background()
	v1 := tb.firstRelease()
	tb.commit("second", map[string]string{"index.html": "v2\n"})
	tb.deploy("main", Strategy{Kind: "all", AutoRollback: true})
	choice, err := ChooseRollback(ctx, tb.st, "app", "test", "")
	if err != nil || choice.Target.ReleaseID != v1.ReleaseID {
		t.Fatalf("choice %+v: %v", choice.Target, err)
	}
	tb.commit("third", map[string]string{"index.html": "v3\n"})
	v3 := tb.deploy("main", Strategy{Kind: "all", AutoRollback: true})
	p := tb.plan(choice.Target.Commit, Strategy{Kind: "all"})
	p.ReleaseID, p.Source = choice.Target.ReleaseID, Source{Commit: choice.Target.Commit}
	out, err := tb.deployer().Rollback(ctx, p, choice)
	if err == nil || !strings.Contains(err.Error(), "changed since this rollback was chosen") {
		t.Fatalf("rollback after another deploy: %v (%+v)", err, out)
	}
	if rel, _ := tb.current(0); rel != v3.ReleaseID {
		t.Errorf("current is %s, want %s left alone", rel, v3.ReleaseID)
	}
	if r, err := tb.st.ReleaseNamed(ctx, "app", "test", choice.From.ReleaseID); err != nil || r.Result != store.ReleaseSuccess {
		t.Errorf("release %s is now %s (%v), want success", choice.From.ReleaseID, r.Result, err)
	}
}

// TestStoreRenewedOnlyWhenTheHostsWere: the store's record of the lease
// (onRenew) is renewed after rounds in which the hosts renewed, never
// while a host does not answer; past the lease the lock is lost there.
func TestStoreRenewedOnlyWhenTheHostsWere(t *testing.T) {
	t.Setenv(LeaseEnv, "1s")
	tb := newTestbed(t, 1)
	var mu sync.Mutex
	renewals := 0
	count := func() int { mu.Lock(); defer mu.Unlock(); return renewals }
	owner := Owner{Operator: "tester", Token: NewToken(), Since: time.Now()}
	l, err := acquireLock(context.Background(), tb.pool, "app", "test", tb.lockHosts(), owner, func() {
		mu.Lock()
		renewals++
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	host := tb.fleet.Host("web1")
	defer func() {
		host.Cont()
		l.Release(context.Background())
	}()
	deadline := time.Now().Add(10 * time.Second)
	for count() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the store's lease was never renewed while the host answered")
		}
		time.Sleep(50 * time.Millisecond)
	}
	host.Stop()
	time.Sleep(500 * time.Millisecond) // a round already under way may end well
	before := count()
	time.Sleep(6 * time.Second)
	if got := count(); got != before {
		t.Errorf("the store's lease was renewed %d times while the host did not answer", got-before)
	}
	var lost *LockLostError
	if err := l.Check(context.Background(), "web1"); !errors.As(err, &lost) {
		t.Errorf("the lock is still held after its lease ran out without renewals: %v", err)
	}
}

// TestReleaseIDTakenMeanwhileIsChosenAgain: ids are seconds, so a deploy
// that finished between this one's plan and its lock can have taken the id
// the plan chose. The id is chosen again under the lock instead of the
// upload being refused ("already exists on this host").
func TestReleaseIDTakenMeanwhileIsChosenAgain(t *testing.T) {
	tb := newTestbed(t, 1)
	first := tb.firstRelease()
	tb.commit("second", map[string]string{"index.html": "v2\n"})
	pa := tb.plan("main", Strategy{Kind: "all", AutoRollback: true})
	pa.ReleaseID = first.ReleaseID // as if the first had finished after this plan
	out, _ := tb.deployWhen(pa, func(remote.Event) {})
	if out.Result != store.ReleaseSuccess || out.ReleaseID <= first.ReleaseID {
		tb.logf(out)
		t.Fatalf("deploy: %s as release %s, want success as a release after %s", out.Result, out.ReleaseID, first.ReleaseID)
	}
	if rel, _ := tb.current(0); rel != out.ReleaseID {
		t.Fatalf("current is %s, want %s", rel, out.ReleaseID)
	}
}

// TestLockGuardMatchesTheWholeTokenLine runs the fence in sh against owner
// files: only a line that is exactly the token's lets the step go on.
func TestLockGuardMatchesTheWholeTokenLine(t *testing.T) {
	for _, tc := range []struct {
		name, owner string
		pass        bool
	}{
		{"held", "operator=ann\ntoken=abc\nmachine=lap\n", true},
		{"no final newline", "operator=ann\ntoken=abc", true},
		{"another token", "operator=bob\ntoken=abd\n", false},
		{"a longer token", "token=abcd\n", false},
		{"a prefix", " token=abc\n", false},
		{"empty", "", false},
		{"no lock", "-", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.owner != "-" {
				os.MkdirAll(filepath.Join(dir, ".opsui-lock"), 0o755)
				os.WriteFile(filepath.Join(dir, ".opsui-lock", "owner"), []byte(tc.owner), 0o644)
			}
			out, err := exec.Command("sh", "-c", lockGuard(dir, "abc")+"echo went on").CombinedOutput()
			went := err == nil && strings.Contains(string(out), "went on")
			if went != tc.pass {
				t.Errorf("went on: %v (%v: %s), want %v", went, err, out, tc.pass)
			}
			if !tc.pass && (!strings.Contains(string(out), fenceMarker) || exitCode(err) != fenceExit) {
				t.Errorf("refused with %v: %s; want exit %d and the fence marker", err, out, fenceExit)
			}
		})
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return 0
}
