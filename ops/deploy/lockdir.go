package deploy

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opsui/opsui/ops/remote"
)

// The deploy lock as it is on a host: a directory in deploy_to, the
// scripts that take, renew, show, release and break it, the fence put
// before each step, and how its state is read. lock.go holds the lock as
// a deploy holds it.

// fenceExit is the exit status of a step refused by the fence (lockGuard):
// the deploy's token is no longer in the host's lock.
const (
	fenceExit   = 113
	fenceMarker = "opsui-fence:"
)

// The lock directory's files. The owner file names the token, written
// right after the mkdir by the shell itself (one write, no fork: the
// window in which a lock has no owner is as short as it can be; a
// contender waits a moment for it). The heartbeat holds the holder's last
// renewal (seconds since the epoch, by the host's clock), always written
// to a temporary name and renamed, so a reader never sees it empty.
const lockTakeScript = `d=$DEPLOY_TO/.opsui-lock
[ -d "$DEPLOY_TO" ] || mkdir -p -- "$DEPLOY_TO" || exit 1
if mkdir -- "$d" 2>/dev/null; then
  if printf '%s\n' "$OPSUI_OWNER" > "$d/owner" &&
    date +%s > "$d/heartbeat.tmp" && mv -f -- "$d/heartbeat.tmp" "$d/heartbeat"; then
    echo "opsui-lock=taken"; [ -z "${OPSUI_UNDER_LOCK-}" ] || eval "$OPSUI_UNDER_LOCK"; exit 0
  fi
  rm -rf -- "$d"; echo "cannot write the deploy lock in $DEPLOY_TO" >&2; exit 1
fi
if [ ! -d "$d" ]; then echo "cannot create the deploy lock $d" >&2; exit 1; fi
i=0; while [ ! -s "$d/owner" ] && [ "$i" -lt 10 ] && [ -d "$d" ]; do sleep 0.1; i=$((i+1)); done
echo "opsui-lock=held"
` + lockShowBody

// lockShowBody reports the owner, the heartbeat and the lock directory's
// modification time (every write in it, each renewal's rename too, moves
// it): a lock whose heartbeat cannot be read is judged by it.
const lockShowBody = `cat -- "$d/owner" 2>/dev/null
echo "heartbeat=$(cat -- "$d/heartbeat" 2>/dev/null)"
echo "dirtime=$(stat -c %Y -- "$d" 2>/dev/null)"
echo "now=$(date +%s)"
`

// lockShowScript reports the lock's state without touching it.
const lockShowScript = `d=$DEPLOY_TO/.opsui-lock
if [ -d "$d" ]; then echo "opsui-lock=held"; ` + lockShowBody + `else echo "opsui-lock=free"; fi
`

// lockReleaseScript removes the lock only when it is OPSUI_TOKEN's.
const lockReleaseScript = `d=$DEPLOY_TO/.opsui-lock
if grep -qxF -- "token=$OPSUI_TOKEN" "$d/owner" 2>/dev/null; then rm -rf -- "$d" && echo released; else echo "not held by this deploy"; fi
`

// lockBreakOrphanScript removes a lock that names no token (its holder
// died between mkdir and writing its owner file, or wrote none).
const lockBreakOrphanScript = `d=$DEPLOY_TO/.opsui-lock
if [ -d "$d" ] && ! grep -q '^token=' "$d/owner" 2>/dev/null; then rm -rf -- "$d" && echo released; else echo "not a lock without an owner"; fi
`

// lockRenewScript renews the lease when the lock is still OPSUI_TOKEN's,
// and otherwise says whose it is now (or that it is gone).
const lockRenewScript = `d=$DEPLOY_TO/.opsui-lock
if grep -qxF -- "token=$OPSUI_TOKEN" "$d/owner" 2>/dev/null; then
  if date +%s > "$d/heartbeat.$$" && mv -f -- "$d/heartbeat.$$" "$d/heartbeat"; then echo "opsui-lock=renewed"; exit 0; fi
  rm -f -- "$d/heartbeat.$$"; echo "cannot write the heartbeat in $d" >&2; exit 1
fi
if [ -d "$d" ]; then echo "opsui-lock=held"; ` + lockShowBody + `else echo "opsui-lock=free"; fi
`

// lockGuard returns the fence put before every step a deploy runs on a
// host under its lock: the step's shell refuses to go on (exit fenceExit)
// unless the host's lock still holds token. It runs in the step's own
// shell, just before the step, so a deploy that lost its lock (a laptop
// that slept past the lease while someone broke the lock) cannot switch,
// migrate, reload or clean up a host another deploy now holds.
//
// It reads the owner file with the shell's own read, as grep -x would: it
// runs before every step on every host, where a grep is a process more.
func lockGuard(deployTo, token string) string {
	return fmt.Sprintf("_opsui_held=; { while IFS= read -r _opsui_l || [ -n \"$_opsui_l\" ]; do [ \"$_opsui_l\" != %s ] || _opsui_held=1; done < %s; } 2>/dev/null\n"+
		"if [ -z \"$_opsui_held\" ]; then echo %s >&2; exit %d; fi\n",
		remote.Quote("token="+token), remote.Quote(deployTo+"/.opsui-lock/owner"),
		remote.Quote(fenceMarker+" this deploy no longer holds the deploy lock in "+deployTo+": refusing to go on"), fenceExit)
}

// parseLockState reads lockShowBody's output.
func parseLockState(host, out string) LockState {
	st := LockState{Host: host}
	var beat, dirtime, now int64
	for line := range strings.SplitSeq(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		switch k {
		case "opsui-lock":
			st.Held = v != "free"
		case "operator":
			st.Owner.Operator = v
		case "machine":
			st.Owner.Machine = v
		case "pid":
			st.Owner.PID, _ = strconv.Atoi(v)
		case "run":
			st.Owner.RunID, _ = strconv.ParseInt(v, 10, 64)
		case "token":
			st.Owner.Token = v
		case "since":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
				st.Owner.Since = time.Unix(n, 0)
			}
		case "lease":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
				st.Owner.Lease = time.Duration(n) * time.Second
			}
		case "heartbeat":
			beat, _ = strconv.ParseInt(v, 10, 64)
		case "dirtime":
			dirtime, _ = strconv.ParseInt(v, 10, 64)
		case "now":
			now, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if st.Owner.Operator == "" && st.Held {
		st.Owner.Operator = "(unknown: the lock has no owner file)"
	}
	if beat > 0 {
		st.Heartbeat = time.Unix(beat, 0)
	}
	// The last sign of life is the newer of the heartbeat and the lock
	// directory's own time. A heartbeat that cannot be read (an older
	// version's, caught mid-write) is no sign of death: with neither, the
	// age is unknown and the lock is taken as live; only --force breaks it.
	if last := max(beat, dirtime); last > 0 && now > 0 {
		st.Age = time.Duration(max(now-last, 0)) * time.Second
	}
	return st
}

// InspectLocks reports the lock state of every host.
func InspectLocks(ctx context.Context, conn remote.Connector, hosts []remote.Target, deployTo func(string) string) []LockState {
	states := make([]LockState, len(hosts))
	var wg sync.WaitGroup
	for i, t := range hosts {
		wg.Go(func() {
			out, res := runCapture(ctx, conn, t, lockShowScript, map[string]string{"DEPLOY_TO": deployTo(t.Name)}, 30*time.Second)
			if res.Status != remote.StatusOK {
				states[i] = LockState{Host: t.Name, Owner: Owner{Operator: "(host not reachable: " + string(res.Class) + ")"}}
				return
			}
			states[i] = parseLockState(t.Name, out)
		})
	}
	wg.Wait()
	return states
}

// BreakLocks removes the lock with token from the hosts (a lock taken
// since by someone else is left alone) and returns the hosts it freed. An
// empty token breaks a lock that names no owner.
func BreakLocks(ctx context.Context, conn remote.Connector, hosts []remote.Target, deployTo func(string) string, token string) ([]string, error) {
	var mu sync.Mutex
	var freed, failed []string
	var wg sync.WaitGroup
	for _, t := range hosts {
		wg.Go(func() {
			script := lockReleaseScript
			if token == "" {
				script = lockBreakOrphanScript
			}
			out, res := runCapture(ctx, conn, t, script, map[string]string{
				"DEPLOY_TO": deployTo(t.Name), "OPSUI_TOKEN": token}, 30*time.Second)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case res.Status != remote.StatusOK:
				failed = append(failed, t.Name)
			case strings.Contains(out, "released"):
				freed = append(freed, t.Name)
			}
		})
	}
	wg.Wait()
	slices.Sort(freed)
	if len(failed) > 0 {
		slices.Sort(failed)
		return freed, fmt.Errorf("could not reach %s to break the lock", strings.Join(failed, ", "))
	}
	return freed, nil
}
