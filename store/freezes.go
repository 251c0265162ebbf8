package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/opsui/opsui/inventory"
)

// Where a freeze comes from.
const (
	FreezeFromFleet = "fleet" // the fleet file's freezes:, replaced by every import
	FreezeFromTeam  = "team"  // opsui freeze add: kept until opsui freeze rm
)

// Freeze is a stored freeze window.
type Freeze struct {
	ID int64 `db:"id" json:"id"`
	inventory.Freeze
	Source    string `db:"source" json:"source"`
	CreatedBy string `db:"created_by" json:"created_by,omitempty"`
	CreatedAt Millis `db:"created_at" json:"created_at"`
}

// freezeRow is a freezes row as the database spells it.
type freezeRow struct {
	ID        int64  `db:"id"`
	Env       string `db:"env"`
	Reason    string `db:"reason"`
	Start     string `db:"start_at"`
	End       string `db:"end_at"`
	Every     string `db:"every"`
	TimeZone  string `db:"time_zone"`
	Source    string `db:"source"`
	CreatedBy string `db:"created_by"`
	CreatedAt Millis `db:"created_at"`
}

func (r freezeRow) freeze() Freeze {
	return Freeze{ID: r.ID, Source: r.Source, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt,
		Freeze: inventory.Freeze{Env: r.Env, Reason: r.Reason, Start: r.Start, End: r.End, Every: r.Every, TimeZone: r.TimeZone}}
}

const freezeColumns = `id, env, reason, start_at, end_at, every, time_zone, source, created_by, created_at`

// Freezes returns the freezes of env ("" for every environment): the
// fleet file's first, in its order, then the team's, oldest first.
func (s *Store) Freezes(ctx context.Context, env string) ([]Freeze, error) {
	return s.freezes(ctx, s.db, env, "")
}

func (s *Store) freezes(ctx context.Context, q sqlx.QueryerContext, env, source string) ([]Freeze, error) {
	var rows []freezeRow
	err := s.sel(ctx, q, &rows, `SELECT `+freezeColumns+` FROM freezes
WHERE (? = '' OR env = ?) AND (? = '' OR source = ?) ORDER BY source, position, id`, env, env, source, source)
	if err != nil {
		return nil, fmt.Errorf("freezes: %w", err)
	}
	out := make([]Freeze, len(rows))
	for i, r := range rows {
		out[i] = r.freeze()
	}
	return out, nil
}

// AddFreeze records a team freeze (opsui freeze add) and returns it with
// its id. The freeze is checked as the fleet file's are, and its
// environment must exist.
func (s *Store) AddFreeze(ctx context.Context, fz inventory.Freeze, by string) (Freeze, error) {
	if ps := fz.Problems(); len(ps) > 0 {
		for _, k := range []string{"env", "reason", "start", "end", "every", "time_zone"} {
			if msg, ok := ps[k]; ok {
				return Freeze{}, fmt.Errorf("add freeze: %s", msg)
			}
		}
	}
	var n int
	if err := s.get(ctx, s.db, &n, `SELECT COUNT(*) FROM environments WHERE name = ?`, fz.Env); err != nil {
		return Freeze{}, fmt.Errorf("add freeze: %w", err)
	}
	if n == 0 {
		return Freeze{}, fmt.Errorf("add freeze: no environment %q in the inventory", fz.Env)
	}
	out := Freeze{Freeze: fz, Source: FreezeFromTeam, CreatedBy: by, CreatedAt: MillisOf(time.Now())}
	err := s.get(ctx, s.db, &out.ID, `INSERT INTO freezes (env, reason, start_at, end_at, every, time_zone, source, created_by, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, fz.Env, fz.Reason, fz.Start, fz.End, fz.Every, fz.TimeZone, FreezeFromTeam, by, out.CreatedAt)
	if err != nil {
		return Freeze{}, fmt.Errorf("add freeze: %w", err)
	}
	return out, nil
}

// ErrFleetFreeze refuses to remove a freeze the fleet file declares: the
// next import would bring it back.
var ErrFleetFreeze = errors.New("declared in the fleet file: remove it there and import the file again")

// RemoveFreeze deletes team freeze id and returns it.
func (s *Store) RemoveFreeze(ctx context.Context, id int64) (Freeze, error) {
	var r freezeRow
	if err := s.get(ctx, s.db, &r, `SELECT `+freezeColumns+` FROM freezes WHERE id = ?`, id); err != nil {
		return Freeze{}, fmt.Errorf("freeze %d: %w", id, err)
	}
	if r.Source == FreezeFromFleet {
		return Freeze{}, fmt.Errorf("freeze %d (%s): %w", id, r.freeze().Freeze, ErrFleetFreeze)
	}
	if _, err := s.exec(ctx, s.db, `DELETE FROM freezes WHERE id = ?`, id); err != nil {
		return Freeze{}, fmt.Errorf("remove freeze %d: %w", id, err)
	}
	return r.freeze(), nil
}

// saveFleetFreezes replaces the fleet file's freezes with f's, inside
// SaveFleet's transaction; the team's stay.
func saveFleetFreezes(ctx context.Context, tx *sqlx.Tx, f *inventory.Fleet) error {
	if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM freezes WHERE source = ?`), FreezeFromFleet); err != nil {
		return fmt.Errorf("save freezes: %w", err)
	}
	now := MillisOf(time.Now())
	for i, fz := range f.Freezes {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO freezes (env, reason, start_at, end_at, every, time_zone, source, created_at, position)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`), fz.Env, fz.Reason, fz.Start, fz.End, fz.Every, fz.TimeZone, FreezeFromFleet, now, i); err != nil {
			return fmt.Errorf("save freeze %s: %w", fz, err)
		}
	}
	return nil
}

// loadFleetFreezes gives f the fleet file's freezes, so an export writes
// them back.
func (s *Store) loadFleetFreezes(ctx context.Context, q sqlx.QueryerContext, f *inventory.Fleet) error {
	fs, err := s.freezes(ctx, q, "", FreezeFromFleet)
	if err != nil {
		return err
	}
	for _, fz := range fs {
		f.Freezes = append(f.Freezes, fz.Freeze)
	}
	return nil
}

// BreakGlass is a deploy or config change let through a freeze.
type BreakGlass struct {
	App       string `db:"app" json:"app"`
	Env       string `db:"env" json:"env"`
	ReleaseID string `db:"release_id" json:"release_id"`
	Operator  string `db:"operator" json:"operator"`
	Reason    string `db:"reason" json:"reason"`
	Freeze    string `db:"overridden" json:"freeze"` // the freeze overridden, as it reads
	At        Millis `db:"at" json:"at"`
}

// RecordBreakGlass keeps b.
func (s *Store) RecordBreakGlass(ctx context.Context, b BreakGlass) error {
	if b.At == 0 {
		b.At = MillisOf(time.Now())
	}
	_, err := s.exec(ctx, s.db, `INSERT INTO break_glass (app, env, release_id, operator, reason, overridden, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		b.App, b.Env, b.ReleaseID, b.Operator, b.Reason, b.Freeze, b.At)
	if err != nil {
		return fmt.Errorf("record the break-glass of %s/%s release %s: %w", b.App, b.Env, b.ReleaseID, err)
	}
	return nil
}

// BreakGlasses returns the break-glass records of app in env, newest
// first, by release id.
func (s *Store) BreakGlasses(ctx context.Context, app, env string) (map[string]BreakGlass, error) {
	var rows []BreakGlass
	if err := s.sel(ctx, s.db, &rows, `SELECT app, env, release_id, operator, reason, overridden, at FROM break_glass
WHERE app = ? AND env = ? ORDER BY at`, app, env); err != nil {
		return nil, fmt.Errorf("break-glass records of %s/%s: %w", app, env, err)
	}
	out := make(map[string]BreakGlass, len(rows))
	for _, b := range rows {
		out[b.ReleaseID] = b
	}
	return out, nil
}
