package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/opsui/opsui/inventory"
)

// saveRunbooks writes f's runbooks, one row each in the fleet's order,
// inside saveFleet's transaction: the runbooks are exactly the fleet's.
func saveRunbooks(ctx context.Context, tx *sqlx.Tx, f *inventory.Fleet) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM runbooks`); err != nil {
		return fmt.Errorf("save runbooks: %w", err)
	}
	for i, r := range f.Runbooks {
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("save runbook %s: %w", r.Name, err)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO runbooks (name, position, runbook) VALUES (?, ?, ?)`), r.Name, i, string(b)); err != nil {
			return fmt.Errorf("save runbook %s: %w", r.Name, err)
		}
	}
	return nil
}

// loadRunbooks gives f the stored runbooks, in the fleet's order.
func (s *Store) loadRunbooks(ctx context.Context, q sqlx.QueryerContext, f *inventory.Fleet) error {
	var rows []struct {
		Name    string `db:"name"`
		Runbook string `db:"runbook"`
	}
	if err := s.sel(ctx, q, &rows, `SELECT name, runbook FROM runbooks ORDER BY position, name`); err != nil {
		return fmt.Errorf("load runbooks: %w", err)
	}
	for _, r := range rows {
		var rb inventory.Runbook
		if err := json.Unmarshal([]byte(r.Runbook), &rb); err != nil {
			return fmt.Errorf("load runbook %s: %w", r.Name, err)
		}
		f.Runbooks = append(f.Runbooks, rb)
	}
	return nil
}

// mergeRunbooks adds from's runbooks that f lacks (by name), as a copy
// with --merge adds the hosts and apps the target lacks.
func mergeRunbooks(f, from *inventory.Fleet) {
	for _, r := range from.Runbooks {
		if _, ok := f.Runbook(r.Name); !ok {
			f.Runbooks = append(f.Runbooks, r)
		}
	}
}
