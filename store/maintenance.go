package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Maintenance is the maintenance state of an app in an environment: while
// On, its balancers answer every request with 503, Message and
// Retry-After.
type Maintenance struct {
	App     string `db:"app" json:"app"`
	Env     string `db:"env" json:"env"`
	On      bool   `db:"is_on" json:"on"`
	Message string `db:"message" json:"message,omitempty"`
	// RetryAfter is the Retry-After header's value, in seconds.
	RetryAfter int64 `db:"retry_after" json:"retry_after,omitempty"`
	// Operator changed it last, at Since, in run RunID (0: no run).
	Operator string `db:"operator" json:"operator"`
	Since    Millis `db:"since" json:"since"`
	RunID    int64  `db:"run_id" json:"run_id,omitempty"`
}

// SetMaintenance records m as the maintenance state of m.App in m.Env
// (Since now when unset).
func (s *Store) SetMaintenance(ctx context.Context, m Maintenance) error {
	if m.Since == 0 {
		m.Since = MillisOf(time.Now())
	}
	on := 0
	if m.On {
		on = 1
	}
	_, err := s.exec(ctx, s.db, `INSERT INTO maintenance (app, env, is_on, message, retry_after, operator, since, run_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (app, env) DO UPDATE SET is_on = excluded.is_on, message = excluded.message, retry_after = excluded.retry_after,
	operator = excluded.operator, since = excluded.since, run_id = excluded.run_id`,
		m.App, m.Env, on, m.Message, m.RetryAfter, m.Operator, m.Since, m.RunID)
	if err != nil {
		return fmt.Errorf("record the maintenance state of %s/%s: %w", m.App, m.Env, err)
	}
	return nil
}

// MaintenanceOf returns the recorded maintenance state of app in env; a
// pair never put in maintenance is off (Since 0).
func (s *Store) MaintenanceOf(ctx context.Context, app, env string) (Maintenance, error) {
	var m Maintenance
	err := s.get(ctx, s.db, &m, `SELECT `+maintenanceColumns+` FROM maintenance WHERE app = ? AND env = ?`, app, env)
	switch {
	case errors.Is(err, ErrNotFound):
		return Maintenance{App: app, Env: env}, nil
	case err != nil:
		return Maintenance{}, fmt.Errorf("read the maintenance state of %s/%s: %w", app, env, err)
	}
	return m, nil
}

// Maintenances returns every recorded maintenance state, on or off, by
// app and environment; onOnly keeps those on.
func (s *Store) Maintenances(ctx context.Context, onOnly bool) ([]Maintenance, error) {
	var out []Maintenance
	err := s.sel(ctx, s.db, &out, `SELECT `+maintenanceColumns+` FROM maintenance WHERE is_on = 1 OR ? = 0 ORDER BY app, env`, boolInt(onOnly))
	if err != nil {
		return nil, fmt.Errorf("read the maintenance states: %w", err)
	}
	return out, nil
}

const maintenanceColumns = `app, env, is_on, message, retry_after, operator, since, run_id`

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
