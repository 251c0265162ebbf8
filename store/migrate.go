package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"

	"github.com/jmoiron/sqlx"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded schema steps in order; step i brings the
// database to user_version i+1.
func migrations() ([]string, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	steps := make([]string, len(names))
	for i, n := range names {
		b, err := migrationFiles.ReadFile(n)
		if err != nil {
			return nil, err
		}
		steps[i] = string(b)
	}
	return steps, nil
}

// SchemaVersion is the schema version this build of opsui writes.
func SchemaVersion() int {
	steps, _ := migrations()
	return len(steps)
}

// migrate applies every pending step in one transaction, recording the
// version in PRAGMA user_version. Re-opening an up-to-date database writes
// nothing; a database from a newer opsui is left untouched.
func (s *Store) migrate(ctx context.Context) error {
	steps, err := migrations()
	if err != nil {
		return fmt.Errorf("read embedded migrations: %w", err)
	}
	var version int
	if err := s.get(ctx, s.db, &version, "PRAGMA user_version"); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(steps) {
		return fmt.Errorf("%w: schema version %d, this opsui knows up to %d; upgrade opsui (the database was not modified)", ErrTooNew, version, len(steps))
	}
	if version == len(steps) {
		return nil
	}
	if version == 0 {
		// Must precede the first table; lets prune give pages back to the disk.
		if _, err := s.db.ExecContext(ctx, "PRAGMA auto_vacuum = INCREMENTAL"); err != nil {
			return s.classify(err)
		}
	}
	return s.Transaction(ctx, func(tx *sqlx.Tx) error {
		// Another process may have migrated while we waited for the lock.
		if err := tx.GetContext(ctx, &version, "PRAGMA user_version"); err != nil {
			return err
		}
		if version > len(steps) {
			return fmt.Errorf("%w: schema version %d, this opsui knows up to %d", ErrTooNew, version, len(steps))
		}
		for i := version; i < len(steps); i++ {
			if _, err := tx.ExecContext(ctx, steps[i]); err != nil {
				return fmt.Errorf("apply schema migration %d: %w", i+1, err)
			}
		}
		// PRAGMA takes no bound parameters; the value is our own integer.
		_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(steps)))
		return err
	})
}
