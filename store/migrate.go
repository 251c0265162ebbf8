package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
)

//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Where each dialect's steps are: SQLite's from version 1, PostgreSQL's
// from version 5 (the first opsui that could use it), with the same
// numbers from there on.
const (
	sqliteSteps   = "migrations/*.sql"
	postgresSteps = "migrations/postgres/*.sql"
)

// step is one embedded schema migration: NNNN_name.sql brings the database
// to user_version NNNN.
type step struct {
	version int
	sql     string
}

// migrations returns the embedded schema steps in version order. Versions
// come from the file names, not their positions, so a gap in the numbering
// (migrations written on parallel branches) never renumbers a later step.
func migrations() ([]step, error) { return migrationsIn(migrationFiles, sqliteSteps) }

func migrationsIn(fsys fs.FS, pattern string) ([]step, error) {
	names, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, err
	}
	steps := make([]step, 0, len(names))
	for _, n := range names {
		num, _, ok := strings.Cut(path.Base(n), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: the name must start with its version, NNNN_", n)
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		steps = append(steps, step{version: v, sql: string(b)})
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].version < steps[j].version })
	for i := 1; i < len(steps); i++ {
		if steps[i].version == steps[i-1].version {
			return nil, fmt.Errorf("two migrations for schema version %d", steps[i].version)
		}
	}
	return steps, nil
}

// SchemaVersion is the schema version this build of opsui writes.
func SchemaVersion() int {
	steps, _ := migrations()
	if len(steps) == 0 {
		return 0
	}
	return steps[len(steps)-1].version
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
	latest := SchemaVersion()
	if version > latest {
		return fmt.Errorf("%w: schema version %d, this opsui knows up to %d; upgrade opsui (the database was not modified)", ErrTooNew, version, latest)
	}
	if version == latest {
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
		if version > latest {
			return fmt.Errorf("%w: schema version %d, this opsui knows up to %d", ErrTooNew, version, latest)
		}
		for _, st := range steps {
			if st.version <= version {
				continue
			}
			if _, err := tx.ExecContext(ctx, st.sql); err != nil {
				return fmt.Errorf("apply schema migration %d: %w", st.version, err)
			}
		}
		// PRAGMA takes no bound parameters; the value is our own integer.
		_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", latest))
		return err
	})
}
