package ops

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// HostLock is a host's deploy lock as Unlock judges it.
type HostLock struct {
	deploy.LockState
	// Dead says why the holder is known dead (it ran on this machine and
	// its process is gone); "" when it may be alive.
	Dead string
}

// Breakable reports whether Unlock may break l: it is held, and stale or
// held by a dead process, or force is given.
func (l HostLock) Breakable(force bool) bool {
	return l.Held && (l.Stale() || l.Dead != "" || force)
}

// lockScope is where the deploy lock of tg's hosts lives: the SSH
// targets of its hosts and balancers by name, its hosts' targets, and
// each host's deploy_to.
type lockScope struct {
	targets  map[string]remote.Target
	hosts    []remote.Target
	deployTo map[string]string
}

func (s *Service) lockScope(tg Target) (lockScope, error) {
	ts, err := s.Targets(append(slices.Clone(tg.Hosts), tg.Balancers()...))
	if err != nil {
		return lockScope{}, err
	}
	ls := lockScope{targets: map[string]remote.Target{}, deployTo: map[string]string{}}
	for _, t := range ts {
		ls.targets[t.Name] = t
	}
	for _, h := range tg.Hosts {
		ls.hosts = append(ls.hosts, ls.targets[h.Name])
		ls.deployTo[h.Name] = tg.App.DeployToOn(h)
	}
	return ls, nil
}

func (ls lockScope) dir(host string) string { return ls.deployTo[host] }

// Locks reads the deploy lock of each of tg's hosts and judges its
// holder. Runs whose opsui died are marked interrupted first, so a dead
// holder's run reads so.
func (s *Service) Locks(ctx context.Context, tg Target) ([]HostLock, error) {
	ls, err := s.lockScope(tg)
	if err != nil {
		return nil, err
	}
	states := deploy.InspectLocks(ctx, s.Conn, ls.hosts, ls.dir)
	_, _ = s.Store.ReapStaleRuns(ctx)
	machine, _ := os.Hostname()
	out := make([]HostLock, len(states))
	for i, st := range states {
		out[i] = HostLock{LockState: st}
		if st.Held {
			out[i].Dead = s.deadHolder(ctx, st.Owner, machine)
		}
	}
	return out, nil
}

// deadHolder says why a lock's holder is known dead: it ran on this
// machine and its process is gone (its run then reads interrupted). A
// holder on another machine cannot be checked from here: "" (and its
// lease decides). A reused pid reads as alive: never dead by mistake.
func (s *Service) deadHolder(ctx context.Context, o deploy.Owner, machine string) string {
	if o.Machine == "" || o.Machine != machine || o.PID <= 0 || store.ProcessAlive(o.PID) {
		return ""
	}
	why := fmt.Sprintf("pid %d is gone", o.PID)
	if o.RunID != 0 {
		if r, err := s.Store.Run(ctx, o.RunID); err == nil && r.Result == store.RunInterrupted {
			why += fmt.Sprintf(", interrupted run %d", o.RunID)
		}
	}
	return why
}

// Unlocked is what Unlock did with one holder's lock.
type Unlocked struct {
	Token string
	Freed []string // the hosts whose lock was broken
	Err   error    // why it could not be broken on the others
	// RecordErr says the store does not record the break (the hosts are
	// unlocked all the same).
	RecordErr error
}

// Unlock breaks the locks given on tg's hosts, one holder at a time, and
// records each break as the service's operator's.
func (s *Service) Unlock(ctx context.Context, tg Target, locks []HostLock) ([]Unlocked, error) {
	ls, err := s.lockScope(tg)
	if err != nil {
		return nil, err
	}
	var out []Unlocked
	byToken := map[string]int{}
	var hosts [][]remote.Target
	for _, l := range locks {
		i, ok := byToken[l.Owner.Token]
		if !ok {
			i = len(out)
			byToken[l.Owner.Token] = i
			out = append(out, Unlocked{Token: l.Owner.Token})
			hosts = append(hosts, nil)
		}
		hosts[i] = append(hosts[i], ls.targets[l.Host])
	}
	for i := range out {
		u := &out[i]
		u.Freed, u.Err = deploy.BreakLocks(ctx, s.Conn, hosts[i], ls.dir, u.Token)
		if u.Token != "" && len(u.Freed) > 0 {
			u.RecordErr = s.Store.BreakLock(ctx, u.Token, s.Operator)
		}
	}
	return out, nil
}

// LiveLock names a deploy lock held on tg's hosts by a deploy that may be
// running: not stale, and not held by a process of this machine that is
// gone. "" when there is none.
func (s *Service) LiveLock(ctx context.Context, tg Target) (string, error) {
	ls, err := s.lockScope(tg)
	if err != nil {
		return "", err
	}
	machine, _ := os.Hostname()
	for _, st := range deploy.InspectLocks(ctx, s.Conn, ls.hosts, ls.dir) {
		if st.Held && !st.Stale() && s.deadHolder(ctx, st.Owner, machine) == "" {
			return fmt.Sprintf("%s on %s", st.Owner, st.Host), nil
		}
	}
	return "", nil
}

// Balancers reads the state of tg's environment's load balancers, to
// list and put back what they have out of rotation; what is put back is
// recorded as the service's operator's.
func (s *Service) Balancers(ctx context.Context, tg Target) (*deploy.Balancers, error) {
	ls, err := s.lockScope(tg)
	if err != nil {
		return nil, err
	}
	return deploy.OpenBalancers(ctx, deploy.BalancerOptions{Conn: s.Conn, Fleet: tg.Fleet, App: tg.App.Name, Env: tg.Env.Name,
		Targets: ls.targets, Store: s.Store, Operator: s.Operator})
}
