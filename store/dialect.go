package store

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Backend is the database engine behind a store.
type Backend int

// Backends: SQLite (one operator's file) and PostgreSQL (a team's server).
const (
	SQLite Backend = iota
	Postgres
)

func (b Backend) String() string {
	if b == Postgres {
		return "postgresql"
	}
	return "sqlite"
}

// urlScheme matches a value that names a URL rather than a file
// ("postgres://…", "mysql://…", also "postgres:" without slashes).
var urlScheme = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*):(//)?`)

// BackendOf says which engine a --db value names: postgres:// and
// postgresql:// URLs are PostgreSQL; anything else that looks like a URL
// is refused, so it is never created as a directory named "postgres:" or
// "mysql:"; the rest are SQLite file paths.
func BackendOf(target string) (Backend, error) {
	m := urlScheme.FindStringSubmatch(target)
	if m == nil {
		return SQLite, nil
	}
	switch scheme := strings.ToLower(m[1]); {
	case (scheme == "postgres" || scheme == "postgresql") && m[2] != "":
		return Postgres, nil
	case scheme == "postgres" || scheme == "postgresql":
		return 0, fmt.Errorf("database %q: a PostgreSQL URL starts with %s:// (e.g. postgres://alice@db.example/opsui)", redactTarget(target), scheme)
	case m[2] != "" || scheme == "file" || scheme == "sqlite" || scheme == "mysql":
		return 0, fmt.Errorf("database %q: opsui stores in a SQLite file (a path) or PostgreSQL (postgres://…), not %s URLs", redactTarget(target), scheme)
	}
	return SQLite, nil // a relative path with a colon in it, e.g. "backup:1.db"
}

// pgRetries is how many times a PostgreSQL transaction is run again after
// a serialization failure or deadlock (another opsui's transaction won).
const pgRetries = 8

// retryable reports whether err is PostgreSQL telling this transaction to
// run again: serialization_failure or deadlock_detected.
func retryable(err error) bool {
	code := pgCode(err)
	return code == "40001" || code == "40P01"
}

// transact runs fn in a transaction, retrying it on PostgreSQL while the
// server reports a serialization failure (SQLite serialises writers itself).
func (s *Store) transact(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := s.transactOnce(ctx, fn)
		if err == nil || s.backend != Postgres || !retryable(err) || attempt >= pgRetries {
			return err
		}
		wait := time.Duration(attempt+1) * 5 * time.Millisecond
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

func (s *Store) transactOnce(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// greatest is SQL for the larger of two values: SQLite's scalar MAX is
// PostgreSQL's GREATEST.
func (s *Store) greatest(a, b string) string {
	if s.backend == Postgres {
		return "GREATEST(" + a + ", " + b + ")"
	}
	return "MAX(" + a + ", " + b + ")"
}

// fleetLock serialises writers of the inventory on PostgreSQL, as SQLite's
// immediate transactions do: UpdateFleet reads, changes and writes the
// whole fleet, and two operators' edits must not overwrite each other.
func (s *Store) fleetLock(ctx context.Context, tx *sqlx.Tx) error {
	if s.backend != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, advisoryFleet)
	return err
}

// Advisory lock keys opsui takes on a PostgreSQL server ("opsui" in ASCII,
// then a number), so they do not collide with another application's.
const (
	advisoryMigrate = int64(0x6f70737569_01)
	advisoryFleet   = int64(0x6f70737569_02)
)

// b2i stores a bool as the 0 or 1 of the schema's INTEGER flags (pgx does
// not encode a Go bool into an integer column).
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
