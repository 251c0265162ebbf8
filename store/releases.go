package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Release is the record of one deploy or rollback of an app to an environment.
type Release struct {
	ID                int64         `db:"id" json:"id"`
	App               string        `db:"app" json:"app"`
	Env               string        `db:"env" json:"env"`
	ReleaseID         string        `db:"release_id" json:"release_id"`
	Kind              string        `db:"kind" json:"kind"`
	Commit            string        `db:"commit_hash" json:"commit"`
	Branch            string        `db:"branch" json:"branch,omitempty"`
	Subject           string        `db:"subject" json:"subject,omitempty"`
	Operator          string        `db:"operator" json:"operator"`
	Strategy          string        `db:"strategy" json:"strategy,omitempty"`
	StartedAt         Millis        `db:"started_at" json:"started_at"`
	FinishedAt        Millis        `db:"finished_at" json:"finished_at,omitempty"`
	Result            ReleaseResult `db:"result" json:"result"`
	PreviousID        sql.NullInt64 `db:"previous_id" json:"-"`
	RollbackTargetID  sql.NullInt64 `db:"rollback_target_id" json:"-"`
	MigrationsApplied bool          `db:"migrations_applied" json:"migrations_applied"`
	RunID             sql.NullInt64 `db:"run_id" json:"-"`
	Hosts             string        `db:"hosts" json:"-"`
	// UUID names the release in every database it is copied into.
	UUID string `db:"uuid" json:"uuid,omitempty"`
}

// HostList returns the hosts the release went to.
func (r Release) HostList() []string {
	var hs []string
	_ = json.Unmarshal([]byte(r.Hosts), &hs)
	return hs
}

// CreateRelease records a release as running and fills in its id, start time
// and the release it replaces (the latest successful one of its app and env).
func (s *Store) CreateRelease(ctx context.Context, r *Release, hosts []string) error {
	b, err := json.Marshal(hosts)
	if err != nil {
		return err
	}
	r.Hosts = string(b)
	r.StartedAt = MillisOf(time.Now())
	r.Result = ReleaseRunning
	r.UUID = NewUUID()
	if r.Kind == "" {
		r.Kind = KindDeploy
	}
	if prev, err := s.LatestRelease(ctx, r.App, r.Env, true); err == nil {
		r.PreviousID = sql.NullInt64{Int64: prev.ID, Valid: true}
	}
	err = s.get(ctx, s.db, &r.ID, `
		INSERT INTO releases (app, env, release_id, kind, commit_hash, branch, subject, operator, strategy,
			started_at, result, previous_id, rollback_target_id, run_id, hosts, uuid)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.App, r.Env, r.ReleaseID, r.Kind, r.Commit, r.Branch, r.Subject, r.Operator, r.Strategy,
		r.StartedAt, r.Result, r.PreviousID, r.RollbackTargetID, r.RunID, r.Hosts, r.UUID)
	if err != nil {
		return fmt.Errorf("record release %s of %s to %s: %w", r.ReleaseID, r.App, r.Env, err)
	}
	return nil
}

// FinishRelease records how a release ended.
func (s *Store) FinishRelease(ctx context.Context, id int64, result ReleaseResult, migrationsApplied bool) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE releases SET finished_at = ?, result = ?, migrations_applied = ? WHERE id = ?`),
		MillisOf(time.Now()), result, b2i(migrationsApplied), id)
	if err != nil {
		return fmt.Errorf("finish release %d: %w", id, s.classify(err))
	}
	return nil
}

// LatestRelease returns the newest release of app to env, only successful
// ones when succeeded is set. It returns ErrNotFound when there is none.
func (s *Store) LatestRelease(ctx context.Context, app, env string, succeeded bool) (Release, error) {
	q := `SELECT * FROM releases WHERE app = ? AND env = ?`
	if succeeded {
		q += ` AND result = 'success'`
	}
	q += ` ORDER BY started_at DESC, id DESC LIMIT 1`
	var r Release
	if err := s.get(ctx, s.db, &r, q, app, env); err != nil {
		return Release{}, fmt.Errorf("latest release of %s to %s: %w", app, env, err)
	}
	return r, nil
}

// ReleasesByCommit returns every release of a commit, newest first; prefix
// may be a short hash. It asks a range of the commit index, in both
// dialects: PostgreSQL cannot use a btree index for starts_with or LIKE
// under a non-C collation, but it can for a range, and over hex digits
// every collation orders as bytes do.
func (s *Store) ReleasesByCommit(ctx context.Context, prefix string) ([]Release, error) {
	var rs []Release
	prefix = strings.ToLower(prefix)
	if prefix == "" || strings.Trim(prefix, "0123456789abcdef") != "" {
		return nil, nil // no commit hash holds anything but hex digits
	}
	q, args := `SELECT * FROM releases WHERE commit_hash >= ?`, []any{prefix}
	if upper, ok := hexSuccessor(prefix); ok {
		q, args = q+` AND commit_hash < ?`, append(args, upper)
	}
	err := s.sel(ctx, s.db, &rs, q+` ORDER BY started_at DESC, id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("releases of commit %s: %w", prefix, err)
	}
	return rs, nil
}

// hexSuccessor returns the least hex string greater than every string
// that starts with prefix (lowercase hex): "ab9" -> "aba", "abf" -> "ac".
// ok is false for a prefix of only f's, which has none.
func hexSuccessor(prefix string) (string, bool) {
	const digits = "0123456789abcdef"
	for i := len(prefix) - 1; i >= 0; i-- {
		if d := strings.IndexByte(digits, prefix[i]); d < len(digits)-1 {
			return prefix[:i] + string(digits[d+1]), true
		}
	}
	return "", false
}

// HighestReleaseID returns the greatest release id recorded for app in env
// ("" for none). Ids are UTC times of one width, so the greatest is the
// latest chosen; the newest record may name an older one (a rollback's).
func (s *Store) HighestReleaseID(ctx context.Context, app, env string) (string, error) {
	var id sql.NullString
	if err := s.get(ctx, s.db, &id, `SELECT MAX(release_id) FROM releases WHERE app = ? AND env = ?`, app, env); err != nil {
		return "", fmt.Errorf("the highest release id of %s on %s: %w", app, env, err)
	}
	return id.String, nil
}

// ListReleases returns the releases of app to env, newest first.
func (s *Store) ListReleases(ctx context.Context, app, env string, limit int) ([]Release, error) {
	q, args := `SELECT * FROM releases WHERE app = ? AND env = ? ORDER BY started_at DESC, id DESC`, []any{app, env}
	if limit > 0 {
		q, args = q+` LIMIT ?`, append(args, limit)
	}
	var rs []Release
	err := s.sel(ctx, s.db, &rs, q, args...)
	if err != nil {
		return nil, fmt.Errorf("releases of %s to %s: %w", app, env, err)
	}
	return rs, nil
}

// ReleaseNamed returns the newest record of the release directory id of app
// to env (a rollback to it has the same id as its deploy: the deploy is
// returned when kind is empty, else the newest of that kind).
func (s *Store) ReleaseNamed(ctx context.Context, app, env, releaseID string) (Release, error) {
	var r Release
	err := s.get(ctx, s.db, &r, `SELECT * FROM releases WHERE app = ? AND env = ? AND release_id = ?
		ORDER BY kind = 'deploy' DESC, started_at DESC, id DESC LIMIT 1`, app, env, releaseID)
	if err != nil {
		return Release{}, fmt.Errorf("release %s of %s to %s: %w", releaseID, app, env, err)
	}
	return r, nil
}

// ReleaseOfRun returns the release a run deployed or rolled back.
func (s *Store) ReleaseOfRun(ctx context.Context, runID int64) (Release, error) {
	var r Release
	if err := s.get(ctx, s.db, &r, `SELECT * FROM releases WHERE run_id = ? ORDER BY id DESC LIMIT 1`, runID); err != nil {
		return Release{}, fmt.Errorf("release of run %d: %w", runID, err)
	}
	return r, nil
}

// SetReleaseHosts records the hosts a release reached.
func (s *Store) SetReleaseHosts(ctx context.Context, id int64, hosts []string) error {
	b, err := json.Marshal(hosts)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE releases SET hosts = ? WHERE id = ?`), string(b), id); err != nil {
		return fmt.Errorf("record hosts of release %d: %w", id, s.classify(err))
	}
	return nil
}

// SetMigrationsApplied records that migrations ran against a release.
func (s *Store) SetMigrationsApplied(ctx context.Context, id int64) error {
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE releases SET migrations_applied = 1 WHERE id = ?`), id); err != nil {
		return fmt.Errorf("mark release %d migrated: %w", id, s.classify(err))
	}
	return nil
}

// ReopenRelease puts a release record back to running for a resumed
// deploy, which then finishes it: one release, one row. The record names
// the resuming run from then on.
func (s *Store) ReopenRelease(ctx context.Context, id, runID int64) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE releases SET result = ?, finished_at = 0, run_id = ? WHERE id = ?`),
		ReleaseRunning, runID, id)
	if err != nil {
		return fmt.Errorf("reopen release %d: %w", id, s.classify(err))
	}
	return nil
}

// HostPart is how one host's part in a deploy, rollback or migration
// ended, as the pipeline knows it after the fact.
type HostPart struct {
	Host   string
	Status HostStatus // ok, failed, cancelled, skipped, rolled_back
	Step   string     // the step it failed at, HostNotReached, or "" when it did not fail
	Took   time.Duration
}

// RecordHostParts writes each host's final status, step and own duration
// into a pipeline's run: the engine's events say what the host did last
// (a rollback's health check, the last step before its batch was
// cancelled), not where it failed or whether it was reached.
func (s *Store) RecordHostParts(ctx context.Context, runID int64, parts []HostPart) error {
	return s.Transaction(ctx, func(tx *sqlx.Tx) error {
		for _, p := range parts {
			_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE run_hosts SET status = ?, stage = ?, duration_ms = ? WHERE run_id = ? AND host = ?`),
				p.Status, p.Step, p.Took.Milliseconds(), runID, p.Host)
			if err != nil {
				return fmt.Errorf("record %s's part in run %d: %w", p.Host, runID, s.classify(err))
			}
		}
		return nil
	})
}

// reapStaleReleases marks interrupted every release still running whose
// run was marked interrupted (ReapStaleRuns: its opsui process is gone),
// so no record says a release is under way when nothing runs it. It
// returns how many it marked.
func (s *Store) reapStaleReleases(ctx context.Context) (int, error) {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE releases SET result = ?, finished_at = ?
		WHERE result = ? AND run_id IN (SELECT id FROM runs WHERE result = ?)`),
		ReleaseInterrupted, MillisOf(time.Now()), ReleaseRunning, RunInterrupted)
	if err != nil {
		return 0, fmt.Errorf("mark interrupted releases: %w", s.classify(err))
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Took is how long the release took; zero while it runs.
func (r Release) Took() time.Duration {
	if r.FinishedAt == 0 {
		return 0
	}
	return time.Duration(r.FinishedAt-r.StartedAt) * time.Millisecond
}
