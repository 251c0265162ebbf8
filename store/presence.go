package store

import (
	"context"
	"fmt"
	"time"
)

// LiveRun is a run recorded as running, with how far its hosts are.
type LiveRun struct {
	Run
	Hosts int `db:"hosts"`
	Done  int `db:"done"` // hosts whose part ended (ok, failed, cancelled, skipped, rolled back)
	// Batch is the batch a deploy is switching, of Batches (0 of 0 before
	// its first, or for a run without batches: SetRunBatch).
	Batch   int `db:"batch"`
	Batches int `db:"batches"`
}

// LiveRuns returns the runs recorded as running, newest first, of app
// and env when they are set: what every opsui sharing the store is doing
// now (a run whose process died reads so only once ReapStaleRuns has
// judged it, on its own machine).
func (s *Store) LiveRuns(ctx context.Context, app, env string) ([]LiveRun, error) {
	q := `SELECT r.*,
		(SELECT COUNT(*) FROM run_hosts WHERE run_id = r.id) AS hosts,
		(SELECT COUNT(*) FROM run_hosts WHERE run_id = r.id AND status NOT IN ('queued', 'connecting', 'running')) AS done,
		COALESCE((SELECT batch FROM run_progress WHERE run_id = r.id), 0) AS batch,
		COALESCE((SELECT batches FROM run_progress WHERE run_id = r.id), 0) AS batches
		FROM runs r WHERE r.result = 'running'`
	var args []any
	if app != "" {
		q += ` AND r.app = ?`
		args = append(args, app)
	}
	if env != "" {
		q += ` AND r.env = ?`
		args = append(args, env)
	}
	var out []LiveRun
	if err := s.sel(ctx, s.db, &out, q+` ORDER BY r.started_at DESC, r.id DESC`, args...); err != nil {
		return nil, fmt.Errorf("runs under way: %w", err)
	}
	return out, nil
}

// ReleasesSince returns the releases of app to env started at or after
// since, newest first.
func (s *Store) ReleasesSince(ctx context.Context, app, env string, since Millis) ([]Release, error) {
	var rs []Release
	if err := s.sel(ctx, s.db, &rs, `SELECT * FROM releases WHERE app = ? AND env = ? AND started_at >= ?
		ORDER BY started_at DESC, id DESC`, app, env, since); err != nil {
		return nil, fmt.Errorf("recent releases of %s to %s: %w", app, env, err)
	}
	return rs, nil
}

// Setback is a time a commit was taken off an environment, or failed to
// go live there.
type Setback struct {
	At        Millis        `db:"at"`
	Operator  string        `db:"operator"`
	ReleaseID string        `db:"release_id"` // the release of the commit
	Result    ReleaseResult `db:"result"`     // the commit's deploy: rolled_back, bad, failed; success when an operator rolled it back
	// Manual says an operator rolled the commit back (opsui rollback) after it went live.
	Manual bool `db:"manual"`
	// Reason is the first host that failed and its step ("web2 failed at health"), for a failed deploy.
	Reason string `db:"-"`
	RunID  int64  `db:"run_id"`
}

// Setbacks returns the times commit was rolled back from env or failed
// there, newest first: a deploy of it that failed or switched back, and
// an operator's rollback away from a release of it.
func (s *Store) Setbacks(ctx context.Context, app, env, commit string) ([]Setback, error) {
	var out []Setback
	err := s.sel(ctx, s.db, &out, `SELECT at, operator, release_id, result, manual, run_id FROM (
		SELECT started_at AS at, operator, release_id, result, 0 AS manual, COALESCE(run_id, 0) AS run_id
		FROM releases WHERE app = ? AND env = ? AND commit_hash = ? AND kind = 'deploy' AND result IN ('rolled_back', 'bad', 'failed')
		UNION ALL
		SELECT rb.started_at, rb.operator, p.release_id, p.result, 1, COALESCE(rb.run_id, 0)
		FROM releases rb JOIN releases p ON p.id = rb.previous_id
		WHERE rb.app = ? AND rb.env = ? AND rb.kind = 'rollback' AND rb.result = 'success' AND p.commit_hash = ?
	) setbacks ORDER BY at DESC`, app, env, commit, app, env, commit)
	if err != nil {
		return nil, fmt.Errorf("rollbacks of %s on %s: %w", commit, env, err)
	}
	for i := range out {
		if out[i].Manual || out[i].RunID == 0 {
			continue
		}
		var failed []RunHost
		if err := s.sel(ctx, s.db, &failed, `SELECT * FROM run_hosts WHERE run_id = ? AND status = 'failed' ORDER BY finished_at, id LIMIT 1`,
			out[i].RunID); err != nil {
			return nil, fmt.Errorf("why run %d failed: %w", out[i].RunID, err)
		}
		if len(failed) == 1 && failed[0].Stage != "" {
			out[i].Reason = fmt.Sprintf("%s failed at %s", failed[0].Host, failed[0].Stage)
		} else if len(failed) == 1 {
			out[i].Reason = failed[0].Host + " failed"
		}
	}
	return out, nil
}

// runsChannel is the PostgreSQL notification channel the runs table's
// trigger (migration 8) notifies with a run's id when it starts or ends.
const runsChannel = "opsui_runs"

// WatchRuns signals on the returned channel whenever the runs under way
// may have changed, until ctx ends: every poll (how SQLite learns, and
// how anyone learns of hosts' progress) and, on PostgreSQL, at once when
// any opsui sharing the server starts or ends a run (LISTEN). Signals
// coalesce: one waiting means "read again". A lost connection to the
// server leaves the polling on and is retried every poll.
func (s *Store) WatchRuns(ctx context.Context, poll time.Duration) <-chan struct{} {
	return s.watch(ctx, poll, []string{runsChannel}, "")
}
