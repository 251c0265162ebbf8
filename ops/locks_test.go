package ops

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/opsui/opsui/ops/remote"
)

// TestLocksUnlockAndLiveLock on real hosts: web1's lock is live, web2's
// is held by a process of this machine that is gone. Locks says so,
// LiveLock names web1's, Unlock breaks what it is given (web2's, then
// web1's) and nothing else.
func TestLocksUnlockAndLiveLock(t *testing.T) {
	t.Parallel()
	e := newDeployEnv(t, 2)
	ctx := t.Context()
	machine, _ := os.Hostname()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	lock := func(i int) string { return remote.Quote(e.deployTo(e.Fleet.Hosts[i].Name) + "/.opsui-lock") }
	for i, owner := range []string{"operator=ann\nmachine=elsewhere\npid=1\ntoken=t1\nlease=60",
		fmt.Sprintf("operator=bob\nmachine=%s\npid=%d\ntoken=t2\nlease=60", machine, gone.Process.Pid)} {
		e.sh(t, i, fmt.Sprintf("mkdir -p %[1]s && printf '%%s\\n' %[2]s > %[1]s/owner && date +%%s > %[1]s/heartbeat", lock(i), remote.Quote(owner)))
	}
	tg, err := e.svc.Target(ctx, Scope{App: "app", Env: "test"})
	if err != nil {
		t.Fatal(err)
	}
	locks, err := e.svc.Locks(ctx, tg)
	if err != nil || len(locks) != 2 {
		t.Fatalf("Locks: %+v %v", locks, err)
	}
	live, dead := locks[0], locks[1]
	if !live.Held || live.Owner.Operator != "ann" || live.Dead != "" || live.Breakable(false) || !live.Breakable(true) {
		t.Errorf("web1's live lock: %+v", live)
	}
	if !dead.Held || dead.Dead != fmt.Sprintf("pid %d is gone", gone.Process.Pid) || !dead.Breakable(false) {
		t.Errorf("web2's lock of a dead process: %+v", dead)
	}
	if held, err := e.svc.LiveLock(ctx, tg); err != nil || !strings.HasPrefix(held, "ann@elsewhere") || !strings.HasSuffix(held, " on web1") {
		t.Errorf("LiveLock: %q %v", held, err)
	}

	un, err := e.svc.Unlock(ctx, tg, []HostLock{dead})
	if err != nil || len(un) != 1 || un[0].Token != "t2" || strings.Join(un[0].Freed, ",") != "web2" || un[0].Err != nil || un[0].RecordErr != nil {
		t.Fatalf("Unlock web2: %+v %v", un, err)
	}
	if got := e.sh(t, 0, "cat "+lock(0)+"/owner"); !strings.Contains(got, "token=t1") {
		t.Errorf("web1's lock was broken: %q", got)
	}
	if got := e.sh(t, 1, "ls -d "+lock(1)+" 2>&1; true"); !strings.Contains(got, "No such file") {
		t.Errorf("web2's lock is still there: %q", got)
	}
	if un, err = e.svc.Unlock(ctx, tg, []HostLock{live}); err != nil || len(un) != 1 || strings.Join(un[0].Freed, ",") != "web1" {
		t.Fatalf("Unlock web1: %+v %v", un, err)
	}
	if held, err := e.svc.LiveLock(ctx, tg); err != nil || held != "" {
		t.Errorf("LiveLock after the unlocks: %q %v", held, err)
	}
}
