package store

import (
	"context"
	"fmt"
	"time"
)

// MigrationCheck is the recorded compatibility verdict on the migrations
// a release brought (ops/deploy decides it; the store keeps it as given).
type MigrationCheck struct {
	App       string `db:"app" json:"app"`
	Env       string `db:"env" json:"env"`
	ReleaseID string `db:"release_id" json:"release_id"`
	Host      string `db:"host" json:"host"`
	Verdict   string `db:"verdict" json:"verdict"` // safe, unknown or breaking
	Ops       string `db:"ops" json:"ops"`         // the operations, as JSON
	Error     string `db:"error" json:"error,omitempty"`
	// Allowed says why a breaking verdict did not stop the release (the
	// flag, strategy all, the first deploy); "" when nothing was breaking.
	Allowed   string `db:"allowed" json:"allowed,omitempty"`
	CheckedAt Millis `db:"checked_at" json:"checked_at"`
}

// SaveMigrationCheck records c, replacing an earlier check of the same
// release (a resumed deploy checks again).
func (s *Store) SaveMigrationCheck(ctx context.Context, c MigrationCheck) error {
	if c.CheckedAt == 0 {
		c.CheckedAt = MillisOf(time.Now())
	}
	if c.Ops == "" {
		c.Ops = "[]"
	}
	_, err := s.exec(ctx, s.db, `INSERT INTO migration_checks (app, env, release_id, host, verdict, ops, error, allowed, checked_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (app, env, release_id) DO UPDATE SET host = excluded.host, verdict = excluded.verdict, ops = excluded.ops,
  error = excluded.error, allowed = excluded.allowed, checked_at = excluded.checked_at`,
		c.App, c.Env, c.ReleaseID, c.Host, c.Verdict, c.Ops, c.Error, c.Allowed, c.CheckedAt)
	if err != nil {
		return fmt.Errorf("record the migration check of %s/%s release %s: %w", c.App, c.Env, c.ReleaseID, err)
	}
	return nil
}

// MigrationCheckOf returns the recorded check of a release, or ErrNotFound.
func (s *Store) MigrationCheckOf(ctx context.Context, app, env, releaseID string) (MigrationCheck, error) {
	var c MigrationCheck
	err := s.get(ctx, s.db, &c, `SELECT app, env, release_id, host, verdict, ops, error, allowed, checked_at
FROM migration_checks WHERE app = ? AND env = ? AND release_id = ?`, app, env, releaseID)
	if err != nil {
		return c, fmt.Errorf("the migration check of %s/%s release %s: %w", app, env, releaseID, err)
	}
	return c, nil
}
