package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// LockRecord is the store's record of a deploy lock taken on the hosts of
// an app's environment.
type LockRecord struct {
	ID          int64         `db:"id" json:"id"`
	App         string        `db:"app" json:"app"`
	Env         string        `db:"env" json:"env"`
	RunID       sql.NullInt64 `db:"run_id" json:"-"`
	Operator    string        `db:"operator" json:"operator"`
	Machine     string        `db:"machine" json:"machine"`
	PID         int           `db:"pid" json:"pid"`
	Token       string        `db:"token" json:"-"`
	Hosts       string        `db:"hosts" json:"-"`
	AcquiredAt  Millis        `db:"acquired_at" json:"acquired_at"`
	HeartbeatAt Millis        `db:"heartbeat_at" json:"heartbeat_at"`
	ReleasedAt  Millis        `db:"released_at" json:"released_at,omitempty"`
	BrokenBy    string        `db:"broken_by" json:"broken_by,omitempty"`
	BrokenAt    Millis        `db:"broken_at" json:"broken_at,omitempty"`
}

// RecordLock records a lock just taken.
func (s *Store) RecordLock(ctx context.Context, l *LockRecord, hosts []string) error {
	b, err := json.Marshal(hosts)
	if err != nil {
		return err
	}
	now := MillisOf(time.Now())
	l.Hosts, l.AcquiredAt, l.HeartbeatAt = string(b), now, now
	err = s.get(ctx, s.db, &l.ID, `
		INSERT INTO locks (app, env, run_id, operator, machine, pid, token, hosts, acquired_at, heartbeat_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		l.App, l.Env, l.RunID, l.Operator, l.Machine, l.PID, l.Token, l.Hosts, l.AcquiredAt, l.HeartbeatAt)
	if err != nil {
		return fmt.Errorf("record lock of %s/%s: %w", l.App, l.Env, err)
	}
	return nil
}

// HeartbeatLock renews the lock's lease in the record. A lock recorded as
// released or broken stays so: a holder that lost it renews nothing.
func (s *Store) HeartbeatLock(ctx context.Context, token string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE locks SET heartbeat_at = ? WHERE token = ? AND released_at = 0`), MillisOf(time.Now()), token)
	if err != nil {
		return fmt.Errorf("renew lock: %w", s.classify(err))
	}
	return nil
}

// ReleaseLock records the lock as released.
func (s *Store) ReleaseLock(ctx context.Context, token string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE locks SET released_at = ? WHERE token = ? AND released_at = 0`), MillisOf(time.Now()), token)
	if err != nil {
		return fmt.Errorf("record lock release: %w", s.classify(err))
	}
	return nil
}

// BreakLock records that operator broke the lock with this token.
func (s *Store) BreakLock(ctx context.Context, token, operator string) error {
	now := MillisOf(time.Now())
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE locks SET broken_by = ?, broken_at = ?, released_at = ? WHERE token = ?`),
		operator, now, now, token)
	if err != nil {
		return fmt.Errorf("record broken lock: %w", s.classify(err))
	}
	return nil
}

// OpenLocks returns the locks recorded as held (never released), of app to
// env when they are set, newest first.
func (s *Store) OpenLocks(ctx context.Context, app, env string) ([]LockRecord, error) {
	q := `SELECT * FROM locks WHERE released_at = 0`
	var args []any
	if app != "" {
		q += ` AND app = ?`
		args = append(args, app)
	}
	if env != "" {
		q += ` AND env = ?`
		args = append(args, env)
	}
	q += ` ORDER BY acquired_at DESC, id DESC`
	var ls []LockRecord
	if err := s.sel(ctx, s.db, &ls, q, args...); err != nil {
		return nil, fmt.Errorf("open locks: %w", err)
	}
	return ls, nil
}

// LockByToken returns the record of one lock.
func (s *Store) LockByToken(ctx context.Context, token string) (LockRecord, error) {
	var l LockRecord
	if err := s.get(ctx, s.db, &l, `SELECT * FROM locks WHERE token = ?`, token); err != nil {
		return LockRecord{}, fmt.Errorf("lock %s: %w", token, err)
	}
	return l, nil
}
