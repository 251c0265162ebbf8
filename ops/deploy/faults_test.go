package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// randomText returns n bytes of incompressible text.
func randomText(n int) string {
	b := make([]byte, n/2)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (tb *testbed) firstRelease() *Outcome {
	tb.t.Helper()
	out := tb.deploy("main", Strategy{Kind: "all", AutoRollback: true})
	if out.Result != store.ReleaseSuccess {
		tb.logf(out)
		tb.t.Fatalf("first deploy: %s", out.Result)
	}
	return out
}

func hostOutcome(out *Outcome, host string) HostOutcome {
	for _, h := range out.Hosts {
		if h.Host == host {
			return h
		}
	}
	return HostOutcome{}
}

func TestStageFailsOnOneOfFive(t *testing.T) {
	tb := newTestbed(t, 5)
	first := tb.firstRelease()
	tb.app.Stages = []inventory.Stage{{Name: "check", Position: "before:switch",
		Run: `[ "$HOST" != web3 ] || { echo "check failed on $HOST" >&2; exit 3; }`}}

	// No failure allowed: nothing is switched anywhere.
	tb.commit("second", map[string]string{"index.html": "v2\n"})
	out := tb.deploy("main", Strategy{Kind: "rolling", Batches: Batches{{N: 2}}, AutoRollback: true})
	if out.Result != store.ReleaseFailed {
		t.Fatalf("result %s, want failed", out.Result)
	}
	for i := range tb.fleet.Hosts {
		if rel, _ := tb.current(i); rel != first.ReleaseID {
			t.Errorf("host %d switched to %s although the deploy stopped before any switch", i, rel)
		}
	}
	w3 := hostOutcome(out, "web3")
	if w3.Status != HostFailed || w3.Step != "check" || w3.Class != remote.ClassExit || !strings.Contains(strings.Join(w3.Tail, "\n"), "check failed on web3") {
		t.Errorf("web3: %+v", w3)
	}

	// One failure allowed: the other four are switched, batch by batch.
	tb.commit("third", map[string]string{"index.html": "v3\n"})
	out = tb.deploy("main", Strategy{Kind: "rolling", Batches: Batches{{N: 2}}, MaxFail: Count{N: 1}, AutoRollback: true})
	if out.Result != store.ReleaseFailed {
		t.Fatalf("result %s, want failed (one host did not get it)", out.Result)
	}
	for i, h := range tb.fleet.Hosts {
		rel, _ := tb.current(i)
		switch {
		case h.Name == "web3" && rel != first.ReleaseID:
			t.Errorf("web3 runs %s, want its old %s", rel, first.ReleaseID)
		case h.Name != "web3" && rel != out.ReleaseID:
			t.Errorf("%s runs %s, want %s", h.Name, rel, out.ReleaseID)
		}
	}
	if st := tb.statuses(out); st["web3"] != HostFailed || st["web1"] != HostOK || st["web5"] != HostOK {
		t.Errorf("statuses %v", st)
	}
	rel, err := tb.st.ReleaseNamed(context.Background(), "app", "test", out.ReleaseID)
	if err != nil || len(rel.HostList()) != 4 {
		t.Errorf("the record says the release reached %v (%v), want the 4 other hosts", rel.HostList(), err)
	}
}

// brokenServer refuses to start the app when the release has a BROKEN file,
// so the health check after the switch fails.
const brokenServer = `pid=$SHARED_DIR/http.pid
[ -s "$pid" ] && kill "$(cat "$pid")" 2>/dev/null; sleep 0.1
cd "$DEPLOY_TO/current" || exit 1
if [ -e BROKEN ]; then echo "not starting: BROKEN"; exit 0; fi
setsid python3 -m http.server --bind "$OPSUI_BIND_ADDR" 8080 >"$SHARED_DIR/http.log" 2>&1 </dev/null &
echo $! > "$pid"; echo "serving $(cat REVISION)"`

func TestFailingHealthCheckRollsBack(t *testing.T) {
	tb := newTestbed(t, 3)
	tb.settings = func(h inventory.Host) map[string]inventory.RoleSettings {
		return map[string]inventory.RoleSettings{"web": {Reload: "OPSUI_BIND_ADDR=" + h.Address + "; " + brokenServer,
			HealthURL: "http://" + h.Address + ":8080/REVISION"}}
	}
	// Three tries, with a deadline that lets a loaded machine make all
	// three (3 s made two, now and then): the retries end it, not the clock.
	tb.app.Health.Retries, tb.app.Health.Deadline = 3, inventory.Duration(15e9)
	first := tb.firstRelease()
	c1 := tb.git("rev-parse", "HEAD")
	tb.commit("broken", map[string]string{"BROKEN": "yes\n"})
	out := tb.deploy("main", Strategy{Kind: "rolling", Batches: Batches{{N: 1}}, AutoRollback: true})
	if out.Result != store.ReleaseRolledBack {
		tb.logf(out)
		t.Fatalf("result %s, want rolled_back", out.Result)
	}
	for i := range tb.fleet.Hosts {
		if rel, rev := tb.current(i); rel != first.ReleaseID || rev != c1 {
			t.Errorf("host %d runs %s (%s), want %s", i, rel, rev, first.ReleaseID)
		}
		// It serves the old release again: the reload after the switch back ran.
		if got := tb.sh(i, "curl -s http://"+tb.fleet.Hosts[i].Addr+":8080/REVISION"); got != c1 {
			t.Errorf("host %d serves %q after the rollback, want %s", i, got, c1)
		}
	}
	w1 := hostOutcome(out, "web1")
	if w1.Status != HostRolledBack || w1.Step != StepHealth {
		t.Errorf("web1: %+v", w1)
	}
	// Said against the step that failed, with the host's own reason and
	// what the switch back left; never the engine's exit status.
	words := w1.Words()
	url := "http://" + tb.fleet.Hosts[0].Addr + ":8080/REVISION"
	if !strings.HasPrefix(words, "failed at health: "+url+" answered HTTP ") || !strings.Contains(words, " after 3 tries: ") ||
		!strings.HasSuffix(words, "; rolled back to "+first.ReleaseID+": healthy") ||
		strings.Contains(words, "health: health") || strings.Contains(words, "Process exited") {
		t.Errorf("web1's words: %q", words)
	}
	if got, want := out.Words(), "rolled back: web1 failed at health; 2 hosts not reached"; got != want {
		t.Errorf("the outcome's words: %q, want %q", got, want)
	}
	if st := tb.statuses(out); st["web2"] != HostSkipped || st["web3"] != HostSkipped {
		t.Errorf("the batches after the failure ran: %v", st)
	}
	if bad := tb.sh(0, "cat "+tb.deployTo+"/releases/"+out.ReleaseID+"/BAD"); !strings.Contains(bad, "rolled_back") {
		t.Errorf("the failed release is not marked BAD on web1: %q", bad)
	}
	if log := tb.sh(0, "cat "+tb.deployTo+"/revisions.log"); !strings.Contains(log, "rolled back to release "+first.ReleaseID) {
		t.Errorf("revisions.log:\n%s", log)
	}
	good, err := tb.st.LatestRelease(context.Background(), "app", "test", true)
	if err != nil || good.ReleaseID != first.ReleaseID {
		t.Errorf("last known-good = %s, %v", good.ReleaseID, err)
	}
}

func TestHostKilledDuringUpload(t *testing.T) {
	tb := newTestbed(t, 3)
	tb.firstRelease()
	tb.commit("big", map[string]string{"blob.txt": randomText(24 << 20)})
	victim := tb.fleet.Host("web2")
	var once sync.Once
	d := tb.deployer()
	emit := d.Emit
	d.Emit = func(ev remote.Event) {
		emit(ev)
		if ev.Host == "web2" && ev.Kind == remote.EventProgress && ev.Bytes > 0 && ev.Bytes < ev.Total {
			once.Do(victim.Kill)
		}
	}
	out, err := d.Deploy(context.Background(), tb.plan("main", Strategy{Kind: "all", MaxFail: Count{N: 1}, AutoRollback: true}))
	if err != nil {
		t.Fatal(err)
	}
	w2 := hostOutcome(out, "web2")
	if w2.Status != HostFailed || w2.Step != StepUpload || (w2.Class != remote.ClassConnLost && w2.Class != remote.ClassUnreachable) {
		t.Errorf("web2: %+v", w2)
	}
	for _, name := range []string{"web1", "web3"} {
		if h := hostOutcome(out, name); h.Status != HostOK {
			t.Errorf("%s: %+v", name, h)
		}
	}
}

func TestFullDiskHostThenResume(t *testing.T) {
	tb := newTestbed(t, 2)
	// web1's deploy_to is a small tmpfs, inside its own mount namespace.
	tb.sh(0, "mkdir -p "+tb.deployTo+" && mount -t tmpfs -o size=512k tmpfs "+tb.deployTo)
	tb.commit("big", map[string]string{"blob.txt": randomText(2 << 20)})
	out := tb.deploy("main", Strategy{Kind: "all", MaxFail: Count{N: 1}, AutoRollback: true})
	w1 := hostOutcome(out, "web1")
	if w1.Status != HostFailed || w1.Step != StepUpload || !strings.Contains(strings.Join(w1.Tail, "\n"), "No space left on device") {
		t.Fatalf("web1 on a full disk: %+v", w1)
	}
	if h := hostOutcome(out, "web2"); h.Status != HostOK {
		t.Fatalf("web2: %+v", h)
	}
	if got := tb.sh(0, "ls -A "+tb.deployTo+"/releases"); got != "" {
		t.Errorf("a half-unpacked release was left on the full disk: %q", got)
	}

	// Room again: resuming finishes the same release on web1 only.
	tb.sh(0, "umount "+tb.deployTo)
	p := tb.plan("main", Strategy{Kind: "all", AutoRollback: true})
	p.ReleaseID, p.Resume = out.ReleaseID, true
	resumed, err := tb.deployer().Deploy(context.Background(), p)
	if err != nil || resumed.Result != store.ReleaseSuccess {
		tb.logf(resumed)
		t.Fatalf("resume: %v %v", resumed.Result, err)
	}
	for i := range tb.fleet.Hosts {
		if rel, _ := tb.current(i); rel != out.ReleaseID {
			t.Errorf("host %d runs %s after the resume, want %s", i, rel, out.ReleaseID)
		}
	}
	if log := tb.sh(1, "cat "+tb.deployTo+"/revisions.log"); strings.Count(log, "deployed as release") != 1 {
		t.Errorf("web2 was deployed again by the resume:\n%s", log)
	}
	// One release, one record: the resume carries on the record it resumes.
	rels, err := tb.st.ListReleases(context.Background(), "app", "test", 0)
	if err != nil || len(rels) != 1 || rels[0].Result != store.ReleaseSuccess || rels[0].RunID.Int64 != resumed.RunID ||
		len(rels[0].HostList()) != 2 {
		t.Errorf("records after the resume: %+v, %v", rels, err)
	}
}

func TestCanaryNotApprovedRollsBackTheCanary(t *testing.T) {
	tb := newTestbed(t, 3)
	first := tb.firstRelease()
	tb.commit("second", map[string]string{"index.html": "v2\n"})
	d := tb.deployer()
	var asked string
	d.Confirm = func(_ context.Context, q string) (bool, error) { asked = q; return false, nil }
	out, err := d.Deploy(context.Background(), tb.plan("main", Strategy{Kind: "canary", AutoRollback: true}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(asked, "canary web1") || out.Result != store.ReleaseRolledBack {
		t.Fatalf("asked %q, result %s", asked, out.Result)
	}
	for i := range tb.fleet.Hosts {
		if rel, _ := tb.current(i); rel != first.ReleaseID {
			t.Errorf("host %d runs %s, want %s", i, rel, first.ReleaseID)
		}
	}
}

// TestCancelledDeployReleasesTheLock cancels a deploy (ctrl+c) in a slow
// stage: it is recorded as aborted, no host is switched, the lock is gone
// from every host, and the stage's remote process is stopped.
func TestCancelledDeployReleasesTheLock(t *testing.T) {
	tb := newTestbed(t, 2)
	first := tb.firstRelease()
	tb.app.Stages = []inventory.Stage{{Name: "slow", Position: "before:switch", Run: "sleep 300"}}
	tb.commit("second", map[string]string{"index.html": "v2\n"})
	ctx, cancel := context.WithCancel(context.Background())
	d := tb.deployer()
	emit := d.Emit
	d.Emit = func(ev remote.Event) {
		emit(ev)
		if ev.Kind == remote.EventStage && ev.Line == "slow" {
			go func() { time.Sleep(300 * time.Millisecond); cancel() }()
		}
	}
	out, err := d.Deploy(ctx, tb.plan("main", Strategy{Kind: "all", AutoRollback: true}))
	if err != nil {
		t.Fatal(err)
	}
	if out.Result != store.ReleaseAborted {
		tb.logf(out)
		t.Fatalf("result %s, want aborted", out.Result)
	}
	for i := range tb.fleet.Hosts {
		if rel, _ := tb.current(i); rel != first.ReleaseID {
			t.Errorf("host %d switched to %s", i, rel)
		}
		if got := tb.sh(i, "ls -A "+tb.deployTo); strings.Contains(got, ".opsui-lock") {
			t.Errorf("host %d keeps the lock after ctrl+c: %s", i, got)
		}
	}
	// The remote sleep dies within the kill grace.
	deadline := time.Now().Add(10 * time.Second)
	for i := range tb.fleet.Hosts {
		for tb.sh(i, "pgrep -x sleep || true") != "" {
			if time.Now().After(deadline) {
				t.Fatalf("host %d still runs the cancelled stage's sleep", i)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	open, err := tb.st.OpenLocks(context.Background(), "app", "test")
	if err != nil || len(open) != 0 {
		t.Errorf("the store still records %d open locks (%v)", len(open), err)
	}
}

// TestMigrationsRunOncePerDeploy deploys to five hosts with a migration
// command that records each run in a real SQLite database all hosts see:
// every deploy runs it exactly once, on the db-migrate host.
func TestMigrationsRunOncePerDeploy(t *testing.T) {
	tb := newTestbed(t, 5)
	db := filepath.Join(tb.fleet.Dir, "migrations.db")
	tb.app.Migrate = `python3 -c 'import os, sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute("create table if not exists runs (host text, release text)")
c.execute("insert into runs values (?, ?)", (os.environ["HOST"], os.environ["RELEASE_ID"])); c.commit()
print("  Applying shop.0002_order... OK")' ` + db
	tb.inv.Hosts[3].Roles = []string{"web", RoleMigrate}
	count := func() string {
		out, err := exec.Command("python3", "-c", `import sqlite3, sys
print(" ".join(h + "@" + r for h, r in sqlite3.connect(sys.argv[1]).execute("select host, release from runs")))`, db).CombinedOutput()
		if err != nil {
			t.Fatalf("read %s: %v\n%s", db, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	first := tb.deploy("main", Strategy{Kind: "rolling", Batches: Batches{{N: 2}}, AutoRollback: true})
	if first.Result != store.ReleaseSuccess {
		tb.logf(first)
		t.Fatalf("deploy: %s", first.Result)
	}
	if got := count(); got != "web4@"+first.ReleaseID {
		t.Fatalf("migration runs after one deploy: %q, want once on web4", got)
	}
	tb.commit("second", map[string]string{"index.html": "v2\n"})
	second := tb.deploy("main", Strategy{Kind: "all", AutoRollback: true})
	if got := count(); got != "web4@"+first.ReleaseID+" web4@"+second.ReleaseID {
		t.Fatalf("migration runs after two deploys: %q", got)
	}
	rel, err := tb.st.ReleaseNamed(context.Background(), "app", "test", second.ReleaseID)
	if err != nil || !rel.MigrationsApplied {
		t.Errorf("the release record does not say it applied migrations: %v %v", rel.MigrationsApplied, err)
	}
}
