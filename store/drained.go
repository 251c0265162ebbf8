package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Drained is the record of a backend opsui took out of a load balancer.
// It stays open (RestoredAt 0) until the backend is put back.
type Drained struct {
	ID         int64         `db:"id" json:"id"`
	App        string        `db:"app" json:"app"`
	Env        string        `db:"env" json:"env"`
	Balancer   string        `db:"balancer" json:"balancer"`
	Backend    string        `db:"backend" json:"backend"`
	Addr       string        `db:"addr" json:"addr"`
	RunID      sql.NullInt64 `db:"run_id" json:"-"`
	Operator   string        `db:"operator" json:"operator"`
	DrainedAt  Millis        `db:"drained_at" json:"drained_at"`
	RestoredAt Millis        `db:"restored_at" json:"restored_at,omitempty"`
	RestoredBy string        `db:"restored_by" json:"restored_by,omitempty"`
}

// RecordDrained records backends just drained. A backend already recorded
// as drained from that balancer keeps its first record.
func (s *Store) RecordDrained(ctx context.Context, ds []Drained) error {
	now := MillisOf(time.Now())
	for _, d := range ds {
		_, err := s.db.ExecContext(ctx, s.db.Rebind(`
			INSERT INTO lb_drained (app, env, balancer, backend, addr, run_id, operator, drained_at)
			SELECT CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS BIGINT)
			WHERE NOT EXISTS (SELECT 1 FROM lb_drained WHERE app = ? AND env = ? AND balancer = ? AND backend = ? AND restored_at = 0)`),
			d.App, d.Env, d.Balancer, d.Backend, d.Addr, d.RunID, d.Operator, now, d.App, d.Env, d.Balancer, d.Backend)
		if err != nil {
			return fmt.Errorf("record %s drained from %s: %w", d.Backend, d.Balancer, s.classify(err))
		}
	}
	return nil
}

// RestoreDrained closes the open records of backends put back in balancer.
func (s *Store) RestoreDrained(ctx context.Context, app, env, balancer string, backends []string, by string) error {
	now := MillisOf(time.Now())
	for _, b := range backends {
		_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE lb_drained SET restored_at = ?, restored_by = ?
			WHERE app = ? AND env = ? AND balancer = ? AND backend = ? AND restored_at = 0`), now, by, app, env, balancer, b)
		if err != nil {
			return fmt.Errorf("record %s restored in %s: %w", b, balancer, s.classify(err))
		}
	}
	return nil
}

// OpenDrained returns the backends recorded as drained and not put back,
// of app and env when they are set, oldest first.
func (s *Store) OpenDrained(ctx context.Context, app, env string) ([]Drained, error) {
	q := `SELECT * FROM lb_drained WHERE restored_at = 0`
	var args []any
	if app != "" {
		q += ` AND app = ?`
		args = append(args, app)
	}
	if env != "" {
		q += ` AND env = ?`
		args = append(args, env)
	}
	q += ` ORDER BY drained_at, id`
	var ds []Drained
	if err := s.sel(ctx, s.db, &ds, q, args...); err != nil {
		return nil, fmt.Errorf("drained backends: %w", err)
	}
	return ds, nil
}
