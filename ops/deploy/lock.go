package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opsui/opsui/ops"
)

// Lock lease timing: the holder renews every heartbeatEvery; a lock not
// renewed for StaleAfter is stale (its holder died or lost the network)
// and may be broken with opsui unlock.
const (
	heartbeatEvery = 10 * time.Second
	StaleAfter     = 60 * time.Second
)

// Owner says who holds a deploy lock.
type Owner struct {
	Operator string
	Machine  string
	PID      int
	RunID    int64
	Token    string // unique per lock: only its holder releases it
	Since    time.Time
}

func (o Owner) String() string {
	s := o.Operator
	if o.Machine != "" {
		s += "@" + o.Machine
	}
	if o.PID != 0 {
		s += fmt.Sprintf(" (pid %d", o.PID)
		if o.RunID != 0 {
			s += fmt.Sprintf(", run %d", o.RunID)
		}
		s += ")"
	}
	if !o.Since.IsZero() {
		s += " since " + o.Since.UTC().Format(time.RFC3339)
	}
	return s
}

func (o Owner) encode() string {
	return fmt.Sprintf("operator=%s\nmachine=%s\npid=%d\nrun=%d\ntoken=%s\nsince=%d",
		oneLine(o.Operator), oneLine(o.Machine), o.PID, o.RunID, o.Token, o.Since.Unix())
}

func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }

// NewToken returns a random lock token.
func NewToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// LockState is what a host's lock directory says.
type LockState struct {
	Host      string
	Held      bool
	Owner     Owner
	Heartbeat time.Time // the holder's last renewal, by the host's clock
	Age       time.Duration
}

// Stale reports whether the holder stopped renewing the lock.
func (s LockState) Stale() bool { return s.Held && s.Age > StaleAfter }

// LockHeldError says another owner holds the lock on a host.
type LockHeldError struct {
	App, Env string
	State    LockState
}

func (e *LockHeldError) Error() string {
	msg := fmt.Sprintf("%s/%s is locked on %s by %s", e.App, e.Env, e.State.Host, e.State.Owner)
	if e.State.Stale() {
		msg += fmt.Sprintf("; the lock is stale (not renewed for %s): if that deploy is dead, break it with `opsui unlock --app %s --env %s`",
			e.State.Age.Round(time.Second), e.App, e.Env)
	} else {
		msg += fmt.Sprintf(" (renewed %s ago)", e.State.Age.Round(time.Second))
	}
	return msg
}

// lockTakeScript takes the lock with mkdir, which is atomic, or reports
// who holds it.
const lockTakeScript = `d=$DEPLOY_TO/.opsui-lock
mkdir -p -- "$DEPLOY_TO" || exit 1
if mkdir -- "$d" 2>/dev/null; then
  if printf '%s\n' "$OPSUI_OWNER" > "$d/owner" && date +%s > "$d/heartbeat"; then echo "opsui-lock=taken"; exit 0; fi
  rm -rf -- "$d"; echo "cannot write the deploy lock in $DEPLOY_TO" >&2; exit 1
fi
if [ ! -d "$d" ]; then echo "cannot create the deploy lock $d" >&2; exit 1; fi
echo "opsui-lock=held"
` + lockShowBody

const lockShowBody = `cat -- "$d/owner" 2>/dev/null
echo "heartbeat=$(cat -- "$d/heartbeat" 2>/dev/null)"
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

// lockRenewScript renews the lease when the lock is still OPSUI_TOKEN's.
const lockRenewScript = `d=$DEPLOY_TO/.opsui-lock
grep -qxF -- "token=$OPSUI_TOKEN" "$d/owner" 2>/dev/null && date +%s > "$d/heartbeat"
`

// parseLockState reads lockShowBody's output.
func parseLockState(host, out string) LockState {
	st := LockState{Host: host}
	var beat, now int64
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
		case "heartbeat":
			beat, _ = strconv.ParseInt(v, 10, 64)
		case "now":
			now, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if st.Owner.Operator == "" && st.Held {
		st.Owner.Operator = "(unknown: the lock has no owner file)"
	}
	if beat > 0 {
		st.Heartbeat = time.Unix(beat, 0)
		st.Age = time.Duration(max(now-beat, 0)) * time.Second
	} else if st.Held {
		st.Age = StaleAfter + time.Second // no heartbeat at all: treat as stale
	}
	return st
}

// lockHost is one host the lock spans.
type lockHost struct {
	target   ops.Target
	deployTo string
}

// HostLock is a deploy lock held on a set of hosts.
type HostLock struct {
	App, Env string
	Owner    Owner
	hosts    []lockHost
	conn     ops.Connector

	stop     context.CancelFunc
	done     chan struct{}
	mu       sync.Mutex
	released bool
	// OnRenew, when set, is called after each renewal (the store's record).
	onRenew func()
}

// acquireLock takes the lock on every host, one at a time in the order of
// their names, all or nothing: when any host holds another owner's lock
// (or cannot be locked), the hosts already taken are released and the
// error names the holder. While held, the lock is renewed every
// heartbeatEvery until Release.
func acquireLock(ctx context.Context, conn ops.Connector, app, env string, hosts []lockHost, owner Owner, onRenew func()) (*HostLock, error) {
	hosts = slices.Clone(hosts)
	slices.SortFunc(hosts, func(a, b lockHost) int { return strings.Compare(a.target.Name, b.target.Name) })
	l := &HostLock{App: app, Env: env, Owner: owner, conn: conn, onRenew: onRenew}
	for _, h := range hosts {
		out, res := runCapture(ctx, conn, h.target, lockTakeScript, map[string]string{
			"DEPLOY_TO": h.deployTo, "OPSUI_OWNER": owner.encode()}, 30*time.Second)
		if res.Status != ops.StatusOK {
			l.releaseHosts(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("lock %s/%s on %s: %w", app, env, h.target.Name, hostErr(res, out))
		}
		if !strings.Contains(out, "opsui-lock=taken") {
			l.releaseHosts(context.WithoutCancel(ctx))
			return nil, &LockHeldError{App: app, Env: env, State: parseLockState(h.target.Name, out)}
		}
		l.hosts = append(l.hosts, h)
	}
	hbCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.stop, l.done = cancel, make(chan struct{})
	go l.heartbeat(hbCtx)
	return l, nil
}

func (l *HostLock) heartbeat(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var wg sync.WaitGroup
		for _, h := range l.hosts {
			wg.Go(func() {
				runCapture(ctx, l.conn, h.target, lockRenewScript, map[string]string{
					"DEPLOY_TO": h.deployTo, "OPSUI_TOKEN": l.Owner.Token}, heartbeatEvery)
			})
		}
		wg.Wait()
		if l.onRenew != nil {
			l.onRenew()
		}
	}
}

// Release stops renewing and removes the lock from every host that still
// holds it as this owner's. It is safe to call more than once; it runs
// even when ctx is cancelled (ctrl+c must not leave the lock behind).
func (l *HostLock) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return nil
	}
	l.released = true
	if l.stop != nil {
		l.stop()
		<-l.done
	}
	return l.releaseHosts(context.WithoutCancel(ctx))
}

func (l *HostLock) releaseHosts(ctx context.Context) error {
	var mu sync.Mutex
	var failed []string
	var wg sync.WaitGroup
	for _, h := range l.hosts {
		wg.Go(func() {
			out, res := runCapture(ctx, l.conn, h.target, lockReleaseScript, map[string]string{
				"DEPLOY_TO": h.deployTo, "OPSUI_TOKEN": l.Owner.Token}, 30*time.Second)
			if res.Status != ops.StatusOK {
				mu.Lock()
				failed = append(failed, fmt.Sprintf("%s (%v)", h.target.Name, hostErr(res, out)))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(failed) > 0 {
		slices.Sort(failed)
		return fmt.Errorf("release the deploy lock of %s/%s on %s: still held there; break it with opsui unlock once the host is back",
			l.App, l.Env, strings.Join(failed, ", "))
	}
	return nil
}

// InspectLocks reports the lock state of every host.
func InspectLocks(ctx context.Context, conn ops.Connector, hosts []ops.Target, deployTo func(string) string) []LockState {
	states := make([]LockState, len(hosts))
	var wg sync.WaitGroup
	for i, t := range hosts {
		wg.Go(func() {
			out, res := runCapture(ctx, conn, t, lockShowScript, map[string]string{"DEPLOY_TO": deployTo(t.Name)}, 30*time.Second)
			if res.Status != ops.StatusOK {
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
// since by someone else is left alone) and returns the hosts it freed.
func BreakLocks(ctx context.Context, conn ops.Connector, hosts []ops.Target, deployTo func(string) string, token string) ([]string, error) {
	var mu sync.Mutex
	var freed, failed []string
	var wg sync.WaitGroup
	for _, t := range hosts {
		wg.Go(func() {
			out, res := runCapture(ctx, conn, t, lockReleaseScript, map[string]string{
				"DEPLOY_TO": deployTo(t.Name), "OPSUI_TOKEN": token}, 30*time.Second)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case res.Status != ops.StatusOK:
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
