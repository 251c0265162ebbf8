package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// migratePostgres brings a PostgreSQL database's schema up to date, as
// migrate does a SQLite file's. The version lives in the table
// opsui_schema. The steps run in one transaction under an advisory lock,
// so of several opsui processes starting at once one migrates and the
// others wait and find the schema current; a database from a newer opsui
// is left untouched.
func (s *Store) migratePostgres(ctx context.Context) error {
	steps, err := migrationsIn(migrationFiles, postgresSteps)
	if err != nil {
		return fmt.Errorf("read embedded migrations: %w", err)
	}
	latest := SchemaVersion()
	version, err := pgSchemaVersion(ctx, s.db)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if err := checkVersion(version, latest); err != nil || version == latest {
		return err
	}
	// The lock is the session's, taken before the transaction begins: a
	// transaction begun after another's commit sees its tables (one that
	// waited for a lock inside could still find the catalog as it was).
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, advisoryMigrate); err != nil {
		return fmt.Errorf("wait for the migration lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, advisoryMigrate) //nolint:errcheck // ends with the session anyway
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit, a no-op
	if err := migratePostgresTx(ctx, tx, steps, latest); err != nil {
		return err
	}
	return tx.Commit()
}

// migratePostgresTx applies the steps newer than the database's version.
func migratePostgresTx(ctx context.Context, tx *sqlx.Tx, steps []step, latest int) error {
	// Another process may have migrated while we waited for the lock.
	version, err := pgSchemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	if err := checkVersion(version, latest); err != nil || version == latest {
		return err
	}
	for _, st := range steps {
		if st.version <= version {
			continue
		}
		if _, err := tx.ExecContext(ctx, st.sql); err != nil {
			return fmt.Errorf("apply schema migration %d: %w", st.version, err)
		}
	}
	if version == 0 {
		_, err = tx.ExecContext(ctx, `CREATE TABLE opsui_schema (version INTEGER NOT NULL);
			INSERT INTO opsui_schema (version) VALUES (0)`)
		if err != nil {
			return fmt.Errorf("record schema version: %w", err)
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE opsui_schema SET version = $1`, latest)
	return err
}

// checkVersion refuses a schema newer than this opsui knows.
func checkVersion(version, latest int) error {
	if version > latest {
		return fmt.Errorf("%w: schema version %d, this opsui knows up to %d; upgrade opsui (the database was not modified)", ErrTooNew, version, latest)
	}
	return nil
}

// pgSchemaVersion reads opsui_schema; 0 when the database has no opsui
// schema yet.
func pgSchemaVersion(ctx context.Context, q sqlx.QueryerContext) (int, error) {
	var exists bool
	if err := sqlx.GetContext(ctx, q, &exists, `SELECT to_regclass('opsui_schema') IS NOT NULL`); err != nil {
		return 0, err
	}
	if !exists {
		return 0, nil
	}
	var version int
	err := sqlx.GetContext(ctx, q, &version, `SELECT version FROM opsui_schema`)
	return version, err
}
