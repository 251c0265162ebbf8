package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/opsui/opsui/inventory"
)

// KindConfig is the run and release kind of a config release: a change of
// an app's environment rendered to its hosts, the live code unchanged.
const KindConfig = "config"

// ConfigAction is what a config release did to the environment.
type ConfigAction string

// Config release actions.
const (
	ConfigSet      ConfigAction = "set"      // keys given values (opsui env set)
	ConfigUnset    ConfigAction = "unset"    // keys removed (opsui env unset)
	ConfigApply    ConfigAction = "apply"    // the same env rendered again, its secrets re-read
	ConfigRollback ConfigAction = "rollback" // an earlier env restored (opsui rollback --config)
)

// EnvChange is one key a config release changed. Old and New are shown as
// opsui prints a value: a plain value as it is (the fleet holds it too), a
// secret only as ‹secret NAME›.
type EnvChange struct {
	Key    string `json:"key"`
	Change string `json:"change"` // added, changed, removed
	Old    string `json:"old,omitempty"`
	New    string `json:"new,omitempty"`
}

// ConfigRecord is what a config release changed, beside its release row:
// the environment's env block (env_per_environment of the app) before and
// after, with secret references only, never a secret's value.
type ConfigRecord struct {
	Release    int64 // the releases row
	Action     ConfigAction
	Before     map[string]inventory.EnvValue
	After      map[string]inventory.EnvValue
	Changes    []EnvChange
	RollbackOf sql.NullInt64 // the config release it undid
}

type configRow struct {
	Release    int64         `db:"release_record"`
	Action     string        `db:"action"`
	Before     string        `db:"before_env"`
	After      string        `db:"after_env"`
	Changes    string        `db:"changes"`
	RollbackOf sql.NullInt64 `db:"rollback_of"`
}

// SaveConfigRecord records what config release c.Release changes.
func (s *Store) SaveConfigRecord(ctx context.Context, c ConfigRecord) error {
	before, err := json.Marshal(nonNil(c.Before))
	if err != nil {
		return err
	}
	after, err := json.Marshal(nonNil(c.After))
	if err != nil {
		return err
	}
	changes, err := json.Marshal(c.Changes)
	if err != nil {
		return err
	}
	if c.Changes == nil {
		changes = []byte("[]")
	}
	_, err = s.exec(ctx, s.db, `INSERT INTO config_releases (release_record, action, before_env, after_env, changes, rollback_of)
		VALUES (?, ?, ?, ?, ?, ?)`, c.Release, string(c.Action), string(before), string(after), string(changes), c.RollbackOf)
	if err != nil {
		return fmt.Errorf("record config release %d: %w", c.Release, err)
	}
	return nil
}

func nonNil(m map[string]inventory.EnvValue) map[string]inventory.EnvValue {
	if m == nil {
		return map[string]inventory.EnvValue{}
	}
	return m
}

// ConfigRecordOf returns what config release id changed.
func (s *Store) ConfigRecordOf(ctx context.Context, id int64) (ConfigRecord, error) {
	var row configRow
	if err := s.get(ctx, s.db, &row, `SELECT * FROM config_releases WHERE release_record = ?`, id); err != nil {
		return ConfigRecord{}, fmt.Errorf("config release %d: %w", id, err)
	}
	return row.record()
}

func (row configRow) record() (ConfigRecord, error) {
	c := ConfigRecord{Release: row.Release, Action: ConfigAction(row.Action), RollbackOf: row.RollbackOf}
	if err := json.Unmarshal([]byte(row.Before), &c.Before); err != nil {
		return c, fmt.Errorf("config release %d: before: %w", row.Release, err)
	}
	if err := json.Unmarshal([]byte(row.After), &c.After); err != nil {
		return c, fmt.Errorf("config release %d: after: %w", row.Release, err)
	}
	if err := json.Unmarshal([]byte(row.Changes), &c.Changes); err != nil {
		return c, fmt.Errorf("config release %d: changes: %w", row.Release, err)
	}
	return c, nil
}

// ConfigRelease is a config release's row and what it changed.
type ConfigRelease struct {
	Release
	Config ConfigRecord
}

// ConfigReleases returns the config releases of app to env, oldest first.
func (s *Store) ConfigReleases(ctx context.Context, app, env string) ([]ConfigRelease, error) {
	var rels []Release
	if err := s.sel(ctx, s.db, &rels, `SELECT * FROM releases WHERE app = ? AND env = ? AND kind = ? ORDER BY started_at, id`,
		app, env, KindConfig); err != nil {
		return nil, fmt.Errorf("config releases of %s to %s: %w", app, env, err)
	}
	var rows []configRow
	if err := s.sel(ctx, s.db, &rows, `SELECT c.* FROM config_releases c JOIN releases r ON r.id = c.release_record
		WHERE r.app = ? AND r.env = ?`, app, env); err != nil {
		return nil, fmt.Errorf("config releases of %s to %s: %w", app, env, err)
	}
	byID := map[int64]configRow{}
	for _, row := range rows {
		byID[row.Release] = row
	}
	out := make([]ConfigRelease, 0, len(rels))
	for _, r := range rels {
		row, ok := byID[r.ID]
		if !ok {
			continue // refused before its record was written
		}
		c, err := row.record()
		if err != nil {
			return nil, err
		}
		out = append(out, ConfigRelease{Release: r, Config: c})
	}
	return out, nil
}
