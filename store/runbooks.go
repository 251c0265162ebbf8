package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/opsui/opsui/inventory"
)

// runbooksRow is the role_defaults row that keeps the fleet file's
// runbooks, as one JSON list in its settings column: they are saved and
// loaded with the fleet, in its transaction, with no schema of their own.
// No role can take this name (roles are [a-z0-9-]), so loadFleet tells it
// apart from the roles' rows.
const runbooksRow = "#runbooks"

// saveRunbooks writes f's runbooks, inside saveFleet's transaction, after
// role_defaults was emptied.
func saveRunbooks(ctx context.Context, tx *sqlx.Tx, f *inventory.Fleet) error {
	if len(f.Runbooks) == 0 {
		return nil
	}
	b, err := json.Marshal(f.Runbooks)
	if err != nil {
		return fmt.Errorf("save runbooks: %w", err)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO role_defaults (role, settings) VALUES (?, ?)`), runbooksRow, string(b)); err != nil {
		return fmt.Errorf("save runbooks: %w", err)
	}
	return nil
}

// loadRunbooks gives f the runbooks kept in the runbooks row's settings.
func loadRunbooks(settings string, f *inventory.Fleet) error {
	if err := json.Unmarshal([]byte(settings), &f.Runbooks); err != nil {
		return fmt.Errorf("load runbooks: %w", err)
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
