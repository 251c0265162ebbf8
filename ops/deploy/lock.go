package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opsui/opsui/ops/remote"
)

// Lock lease timing: the holder renews every lease/6; a lock not renewed
// for its lease is stale (its holder died, sleeps or lost the network) and
// may be broken with opsui unlock. The holder writes its lease into the
// lock, so whoever reads the lock judges it by the holder's own lease.
const (
	DefaultLease = 60 * time.Second
	// StaleAfter is the lease of a lock that does not name one (older
	// versions of opsui).
	StaleAfter = DefaultLease
	// LeaseEnv shortens the lease of the locks this process takes. It is
	// for tests only (a paused deploy must outlive its lease in seconds,
	// not minutes); production always uses DefaultLease.
	LeaseEnv = "OPSUI_TEST_LOCK_LEASE"
)

// lockLease returns the lease of the locks this process takes: whole
// seconds (the hosts' clocks count seconds), at least one.
func lockLease() time.Duration {
	if v := os.Getenv(LeaseEnv); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d >= time.Second {
			return d.Truncate(time.Second)
		}
	}
	return DefaultLease
}

// Owner says who holds a deploy lock.
type Owner struct {
	Operator string
	Machine  string
	PID      int
	RunID    int64
	Token    string // unique per lock: only its holder releases it
	Since    time.Time
	// Lease is how long the lock stays live without a renewal (0 in a
	// lock written by an older version: StaleAfter).
	Lease time.Duration
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
	return fmt.Sprintf("operator=%s\nmachine=%s\npid=%d\nrun=%d\ntoken=%s\nsince=%d\nlease=%d",
		oneLine(o.Operator), oneLine(o.Machine), o.PID, o.RunID, o.Token, o.Since.Unix(), int64(o.Lease/time.Second))
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

// Lease is the holder's lease (StaleAfter when the lock names none).
func (s LockState) Lease() time.Duration {
	if s.Owner.Lease > 0 {
		return s.Owner.Lease
	}
	return StaleAfter
}

// Stale reports whether the holder stopped renewing the lock.
func (s LockState) Stale() bool { return s.Held && s.Age > s.Lease() }

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

// LockLostError says a deploy no longer holds its lock on a host: the
// lock was broken (and maybe taken by another deploy) or could not be
// renewed for longer than its lease. Nothing more of the deploy runs there.
// Err says why; it never wraps an *ops.HostError (the failure reported
// for the host is the lost lock, not the renewal's own error).
type LockLostError struct {
	Host string
	Err  error
}

func (e *LockLostError) Error() string {
	return fmt.Sprintf("lost the deploy lock on %s: %v", e.Host, e.Err)
}

func (e *LockLostError) Unwrap() error { return e.Err }

// lockHost is one host the lock spans.
type lockHost struct {
	target   remote.Target
	deployTo string
	// read, when set, runs in the session that takes the lock, once it is
	// taken, with readEnv: what a deploy reads under its lock, without a
	// round trip more per host. Its output is heldHost.read.
	read    string
	readEnv map[string]string
}

// heldHost is the lock on one host, as its holder sees it.
type heldHost struct {
	lockHost
	// ctx is cancelled, with a *LockLostError as its cause, once the lock
	// is lost there: the host's work in progress stops.
	ctx    context.Context
	cancel context.CancelCauseFunc

	renewMu sync.Mutex // one renewal at a time
	mu      sync.Mutex // guards renewed and lost
	renewed time.Time  // the last renewal that worked (or the take)
	lost    *LockLostError
	readOut string // what lockHost.read printed
}

// HostLock is a deploy lock held on a set of hosts.
type HostLock struct {
	App, Env string
	Owner    Owner
	// hosts are every host the lock was tried on, in order: a host whose
	// answer was lost may hold it all the same, so all are released.
	hosts []*heldHost
	conn  remote.Connector
	lease time.Duration

	stop     context.CancelFunc
	done     chan struct{}
	mu       sync.Mutex
	released bool
	// onRenew, when set, is called after each round of renewals in which
	// every host still held renewed (the store's record of the lease).
	onRenew func()
}

// acquireLock takes the lock on every host, all or nothing: when any host
// holds another owner's lock (or cannot be locked), every host tried is
// released (by token: a host whose mkdir worked but whose answer was lost
// holds it too) and the error names the holder, the first in name order.
//
// The first host in name order is taken alone, the others then at once:
// two deploys racing for the same hosts meet on that first host, where
// mkdir lets exactly one of them through, and the loser has taken
// nothing; the rest costs one round trip, not one per host. While held,
// the lock is renewed every lease/6 until Release; owner.Lease is set to
// this process's lease.
func acquireLock(ctx context.Context, conn remote.Connector, app, env string, hosts []lockHost, owner Owner, onRenew func()) (*HostLock, error) {
	hosts = slices.Clone(hosts)
	slices.SortFunc(hosts, func(a, b lockHost) int { return strings.Compare(a.target.Name, b.target.Name) })
	lease := lockLease()
	owner.Lease = lease
	l := &HostLock{App: app, Env: env, Owner: owner, conn: conn, lease: lease, onRenew: onRenew}
	all := make([]*heldHost, len(hosts))
	for i, h := range hosts {
		all[i] = &heldHost{lockHost: h}
		// Cancelled only when the lock is lost there, never by Release.
		all[i].ctx, all[i].cancel = context.WithCancelCause(context.Background())
	}
	// l.hosts are the hosts tried: the ones released on a refusal.
	l.hosts = all[:min(1, len(all))]
	err := l.take(ctx, l.hosts)
	if err == nil && len(all) > 1 {
		l.hosts = all
		err = l.take(ctx, all[1:])
	}
	if err != nil {
		if rerr := l.releaseHosts(context.WithoutCancel(ctx)); rerr != nil {
			var held *LockHeldError
			if errors.As(err, &held) {
				err = errors.Join(err, rerr)
			} else {
				err = fmt.Errorf("%w; %v", err, rerr)
			}
		}
		return nil, err
	}
	hbCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.stop, l.done = cancel, make(chan struct{})
	go l.heartbeat(hbCtx)
	return l, nil
}

// take takes the lock on hosts at once (at most remote.DefaultParallel at
// a time) and returns the first refusal in name order.
func (l *HostLock) take(ctx context.Context, hosts []*heldHost) error {
	errs := make([]error, len(hosts))
	sem := make(chan struct{}, remote.DefaultParallel)
	var wg sync.WaitGroup
	for i, h := range hosts {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = l.takeOn(ctx, h)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// takeOn takes the lock on one host.
func (l *HostLock) takeOn(ctx context.Context, h *heldHost) error {
	sent := time.Now() // the lease runs from here, as renew's
	env := map[string]string{"DEPLOY_TO": h.deployTo, "OPSUI_OWNER": l.Owner.encode()}
	if h.read != "" {
		for k, v := range h.readEnv {
			env[k] = v
		}
		env["OPSUI_UNDER_LOCK"] = h.read
	}
	out, res := runCapture(ctx, l.conn, h.target, lockTakeScript, env, 30*time.Second)
	if res.Status != remote.StatusOK {
		return fmt.Errorf("lock %s/%s on %s: %w", l.App, l.Env, h.target.Name, hostErr(res, out))
	}
	if !strings.Contains(out, "opsui-lock=taken") {
		return &LockHeldError{App: l.App, Env: l.Env, State: parseLockState(h.target.Name, out)}
	}
	h.mu.Lock()
	h.renewed, h.readOut = sent, out
	h.mu.Unlock()
	return nil
}

// Read returns what the host's lockHost.read printed when the lock was
// taken there.
func (l *HostLock) Read(host string) string {
	h := l.host(host)
	if h == nil {
		return ""
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.readOut
}

// every is how often the holder renews.
func (l *HostLock) every() time.Duration { return l.lease / 6 }

func (l *HostLock) heartbeat(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(l.every())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var wg sync.WaitGroup
		var failed, renewed atomic.Int32
		for _, h := range l.hosts {
			if h.lostErr() != nil {
				continue
			}
			wg.Go(func() {
				if l.renew(ctx, h) == nil {
					renewed.Add(1)
				} else {
					failed.Add(1)
				}
			})
		}
		wg.Wait()
		if ctx.Err() != nil {
			return
		}
		if l.onRenew != nil && renewed.Load() > 0 && failed.Load() == 0 {
			l.onRenew()
		}
	}
}

// sinceBoth is the time since t by the monotonic clock and by the wall
// clock, whichever is longer: the monotonic clock stops while a laptop
// sleeps, and the lease runs on the hosts' wall clocks.
func sinceBoth(t time.Time) time.Duration {
	return max(time.Since(t), time.Now().Round(0).Sub(t.Round(0)))
}

// renew renews the lease on h. The lock is lost there when the host's
// lock is no longer this owner's, or when no renewal worked for longer
// than the lease; a failed renewal within the lease is only reported.
func (l *HostLock) renew(ctx context.Context, h *heldHost) error {
	h.renewMu.Lock()
	defer h.renewMu.Unlock()
	if err := h.lostErr(); err != nil {
		return err
	}
	// The deadline covers opening the session too: a hung host must not
	// hold the renewal past it.
	rctx, cancel := context.WithTimeout(ctx, max(l.every(), 5*time.Second))
	defer cancel()
	// The lease runs from when the renewal was sent, not from when its
	// answer came: an answer read after a pause (SIGSTOP, a laptop's
	// sleep) is no sign that the lock is still ours now.
	sent := time.Now()
	out, res := runCapture(rctx, l.conn, h.target, lockRenewScript, map[string]string{
		"DEPLOY_TO": h.deployTo, "OPSUI_TOKEN": l.Owner.Token}, 0)
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case res.Status == remote.StatusOK && strings.Contains(out, "opsui-lock=renewed"):
		if sent.After(h.renewed) {
			h.renewed = sent
		}
		return nil
	case res.Status == remote.StatusOK:
		st := parseLockState(h.target.Name, out)
		if st.Held {
			l.loseLocked(h, fmt.Errorf("the lock there is now held by %s", st.Owner))
		} else {
			l.loseLocked(h, errors.New("the lock there was removed (broken with opsui unlock?)"))
		}
		return h.lost
	case ctx.Err() != nil:
		return ctx.Err()
	}
	err := hostErr(res, out)
	if d := sinceBoth(h.renewed); d > l.lease {
		l.loseLocked(h, fmt.Errorf("not renewed for %s, longer than its %s lease: %v", d.Round(time.Second), l.lease, err))
		return h.lost
	}
	return err
}

// loseLocked marks the lock lost on h (h.mu held) and cancels its work.
func (l *HostLock) loseLocked(h *heldHost, cause error) {
	if h.lost == nil {
		h.lost = &LockLostError{Host: h.target.Name, Err: cause}
		h.cancel(h.lost)
	}
}

func (h *heldHost) lostErr() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lost == nil {
		return nil
	}
	return h.lost
}

func (l *HostLock) host(name string) *heldHost {
	if l == nil {
		return nil
	}
	for _, h := range l.hosts {
		if h.target.Name == name {
			return h
		}
	}
	return nil
}

// Check reports whether the lock is still held on host, before a step
// runs there: a *LockLostError when it is lost. When the lease ran out
// since the last renewal (the process was paused, the laptop slept), it
// renews first: the renewal, which checks the token, decides.
func (l *HostLock) Check(ctx context.Context, host string) error {
	h := l.host(host)
	if h == nil {
		return nil
	}
	h.mu.Lock()
	lost, expired := h.lost, sinceBoth(h.renewed) > l.lease
	h.mu.Unlock()
	if lost != nil {
		return lost
	}
	if expired {
		// Whatever the step's context says (ctrl+c), only the renewal decides.
		if err := l.renew(context.WithoutCancel(ctx), h); err != nil {
			var lle *LockLostError
			if errors.As(err, &lle) {
				return err
			}
			// Past the lease, a renewal that did not work loses the lock
			// (unless a heartbeat renewed it meanwhile).
			h.mu.Lock()
			if sinceBoth(h.renewed) > l.lease {
				l.loseLocked(h, fmt.Errorf("the lease ran out and could not be renewed: %v", err))
			}
			h.mu.Unlock()
			return h.lostErr()
		}
	}
	return nil
}

// HostContext returns ctx, cancelled also when the lock on host is lost
// (its cause is then the *LockLostError).
func (l *HostLock) HostContext(ctx context.Context, host string) (context.Context, context.CancelFunc) {
	h := l.host(host)
	if h == nil {
		return context.WithCancel(ctx)
	}
	c, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(h.ctx, func() { cancel(context.Cause(h.ctx)) })
	return c, func() { stop(); cancel(nil) }
}

// Guard returns the fence to put before a step's script on host ("" when
// the lock does not span host).
func (l *HostLock) Guard(host string) string {
	h := l.host(host)
	if h == nil {
		return ""
	}
	return lockGuard(h.deployTo, l.Owner.Token)
}

// Fenced records that a step on host was refused by the fence: the host's
// lock is no longer this owner's. It returns the *LockLostError.
func (l *HostLock) Fenced(host string) error {
	h := l.host(host)
	if h == nil {
		return &LockLostError{Host: host, Err: errors.New("the lock there is not this deploy's")}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	l.loseLocked(h, errors.New("the lock there is no longer this deploy's (broken with opsui unlock?): the step was refused"))
	return h.lost
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

// releaseHosts removes the lock, by token, from every host tried.
func (l *HostLock) releaseHosts(ctx context.Context) error {
	var mu sync.Mutex
	var failed []string
	var wg sync.WaitGroup
	for _, h := range l.hosts {
		wg.Go(func() {
			out, res := runCapture(ctx, l.conn, h.target, lockReleaseScript, map[string]string{
				"DEPLOY_TO": h.deployTo, "OPSUI_TOKEN": l.Owner.Token}, 30*time.Second)
			if res.Status != remote.StatusOK {
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
