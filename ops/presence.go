package ops

import (
	"context"
	"fmt"
	"os"
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
		if r.Kind == store.KindRollback {
			verb = "rolled back"
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
