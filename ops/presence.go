package ops

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

// RecentDeployWindow is how far back a deploy's preview looks for another
// operator's deploy of the same app and environment to warn of.
const RecentDeployWindow = 30 * time.Minute

// DeployWarnings reads the shared history for what the operator about to
// run p should know first: another opsui deploying, rolling back or
// migrating the same app and environment now; another operator's release
// there within RecentDeployWindow; and each time the chosen commit was
// rolled back or failed there before. A store that cannot be read is a
// warning too: the deploy itself decides whether it can go on.
func (s *Service) DeployWarnings(ctx context.Context, p *deploy.Plan) []string {
	if p == nil || s.Store == nil {
		return nil
	}
	app, env, now := p.App.Name, p.Env.Name, time.Now()
	var out []string
	_, _ = s.Store.ReapStaleRuns(ctx) // a run whose opsui died is not "deploying now"
	live, err := s.Store.LiveRuns(ctx, app, env)
	if err != nil {
		return []string{fmt.Sprintf("the shared history could not be read: %v", err)}
	}
	for _, r := range live {
		if s.ownRun(r.Run) || r.Kind == store.KindExec || r.Kind == store.KindFlush {
			continue
		}
		out = append(out, fmt.Sprintf("%s is %s %s → %s now (run %d, started %s, %d/%d hosts done)", r.Operator, doing(r.Kind),
			app, env, r.ID, ago(now, r.StartedAt), r.Done, r.Hosts))
	}
	recent, err := s.Store.ReleasesSince(ctx, app, env, store.MillisOf(now.Add(-RecentDeployWindow)))
	if err != nil {
		return append(out, fmt.Sprintf("the shared history could not be read: %v", err))
	}
	for _, r := range recent {
		if r.Operator == s.Operator || r.Result == store.ReleaseRunning {
			continue // one's own; a running one is said above
		}
		verb := "deployed"
		switch r.Kind {
		case store.KindRollback:
			verb = "rolled back"
		case store.KindConfig:
			verb = "changed the env of"
		}
		out = append(out, fmt.Sprintf("%s %s %s → %s %s (release %s, %s, %s)", r.Operator, verb, app, env, ago(now, r.StartedAt),
			r.ReleaseID, deploy.ShortCommit(r.Commit), r.Result))
	}
	setbacks, err := s.Store.Setbacks(ctx, app, env, p.Source.Commit)
	if err != nil {
		return append(out, fmt.Sprintf("the shared history could not be read: %v", err))
	}
	short := deploy.ShortCommit(p.Source.Commit)
	for _, sb := range setbacks {
		var w string
		switch {
		case sb.Manual:
			w = fmt.Sprintf("%s was rolled back from %s %s by %s (opsui rollback of release %s)", short, env, ago(now, sb.At), sb.Operator, sb.ReleaseID)
		case sb.Result == store.ReleaseRolledBack:
			w = fmt.Sprintf("%s was rolled back from %s %s, deployed by %s", short, env, ago(now, sb.At), sb.Operator)
		default:
			w = fmt.Sprintf("%s failed on %s %s, deployed by %s (release %s %s)", short, env, ago(now, sb.At), sb.Operator, sb.ReleaseID, sb.Result)
		}
		if sb.Reason != "" {
			w += ": " + sb.Reason
		}
		out = append(out, w)
	}
	return out
}

// ownRun reports whether r is this process's own run.
func (s *Service) ownRun(r store.Run) bool {
	return r.PID == os.Getpid() && r.Machine == store.Machine()
}

// doing is a run kind as an ongoing action: "deploying".
func doing(kind string) string {
	switch kind {
	case store.KindDeploy:
		return "deploying"
	case store.KindRollback:
		return "rolling back"
	case store.KindMigrate:
		return "migrating"
	case store.KindFlush:
		return "flushing"
	case store.KindConfig:
		return "changing the env of"
	case store.KindRestart:
		return "restarting"
	case store.KindMaintenance:
		return "switching maintenance of"
	case store.KindSetup:
		return "setting up"
	}
	return "running a command on"
}

// ago says how long before now t was, as people say it: "just now",
// "4 min ago", "3 h ago", "2 days ago".
func ago(now time.Time, t store.Millis) string {
	d := now.Sub(t.Time())
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
}

// PresencePoll is how often WatchPresence reads the runs under way when
// the service sets no PresencePoll: SQLite's only way to learn of them,
// and how the hosts' progress of every run is refreshed.
const PresencePoll = 3 * time.Second

// Presence is another operator's run under way, as the console's header
// shows it.
type Presence struct {
	RunID    int64
	Operator string
	Kind     string
	App, Env string
	Started  time.Time
	Hosts    int
	Done     int // hosts whose part ended
	// Batch is the batch a deploy is switching, of Batches; 0 before
	// its first, or for a run without batches.
	Batch, Batches int
}

// String is "alice@lap: deploy shop → production, batch 2/4 (1/4 hosts)",
// without the batch before the first.
func (p Presence) String() string {
	target := p.Env
	if p.App != "" {
		target = p.App + " → " + p.Env
	}
	if target != "" {
		target = " " + target
	}
	return fmt.Sprintf("%s: %s%s%s (%d/%d hosts)", p.Operator, p.Kind, target, BatchWords(p.Batch, p.Batches), p.Done, p.Hosts)
}

// BatchWords is ", batch 2/4" as every screen says a run's batch under
// way, "" when it has none.
func BatchWords(batch, batches int) string {
	if batch < 1 || batches < 1 {
		return ""
	}
	return fmt.Sprintf(", batch %d/%d", batch, batches)
}

// Presence returns the runs under way of other operators, or of this
// operator on another machine, newest first: what a team's shared store
// says everyone else is doing now.
func (s *Service) Presence(ctx context.Context) ([]Presence, error) {
	live, err := s.Store.LiveRuns(ctx, "", "")
	if err != nil {
		return nil, err
	}
	out := []Presence{}
	machine := store.Machine()
	for _, r := range live {
		if r.Operator == s.Operator && r.Machine == machine {
			continue // one's own: the console shows it already
		}
		out = append(out, Presence{RunID: r.ID, Operator: r.Operator, Kind: r.Kind, App: r.App, Env: r.Env, Started: r.StartedAt.Time(),
			Hosts: r.Hosts, Done: r.Done, Batch: r.Batch, Batches: r.Batches})
	}
	return out, nil
}

// WatchPresence sends Presence on the returned channel each time it
// changes (first at once), until ctx ends; then the channel is closed.
// On PostgreSQL a run's start or end is known at once (LISTEN/NOTIFY),
// on SQLite within a poll; hosts' progress within a poll on both. A
// read that fails is skipped (the next one may work: a server that
// went away and came back). poll 0 is PresencePoll.
func (s *Service) WatchPresence(ctx context.Context, poll time.Duration) <-chan []Presence {
	if poll <= 0 {
		poll = PresencePoll
	}
	out := make(chan []Presence)
	changed := s.Store.WatchRuns(ctx, poll)
	go func() {
		defer close(out)
		var last []Presence
		first := true
		for {
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
			ps, err := s.Presence(ctx)
			if err != nil || (!first && slices.Equal(ps, last)) {
				continue
			}
			first, last = false, ps
			select {
			case out <- ps:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
