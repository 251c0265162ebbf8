// Package store is opsui's database: the inventory at run time and the
// record of every release, run and line of output. It uses sqlx over
// modernc.org/sqlite (pure Go; WAL mode and a busy timeout so several opsui
// processes can share one file) or, for a team, over a PostgreSQL server
// (pgx), with one code path and per-dialect SQL only where the two differ,
// and embedded, versioned schema migrations for each.
package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite"
)

// BusyTimeout is how long a writer waits for another opsui process to finish
// its transaction before giving up with ErrLocked.
const BusyTimeout = 10 * time.Second

// Errors callers can test for with errors.Is.
var (
	ErrCorrupt  = errors.New("database is corrupt or not an opsui database")
	ErrTooNew   = errors.New("database was written by a newer opsui")
	ErrLocked   = errors.New("database is locked by another process")
	ErrReadOnly = errors.New("database is not writable")
	ErrFull     = errors.New("disk full")
	ErrNotFound = errors.New("not found")
)

// Store is an open opsui database.
type Store struct {
	db       *sqlx.DB
	backend  Backend
	path     string       // the file, or the URL without its password
	server   string       // user@host:port/database of a PostgreSQL store
	policy   OutputPolicy // see SetOutputPolicy (prune.go)
	warnings []string     // about permissions, found at Open
	operator string       // who changes the inventory (SetOperator, audit.go)
	// pgConfig connects WatchRuns' listener (PostgreSQL): a connection of
	// its own, never one of the pool's.
	pgConfig *pgx.ConnConfig
}

// DefaultPath returns where the database lives when neither --db nor
// OPSUI_DB say otherwise: $XDG_DATA_HOME/opsui/opsui.db, falling back to
// ~/.local/share/opsui/opsui.db.
func DefaultPath() (string, error) {
	if dir := os.Getenv("XDG_DATA_HOME"); dir != "" && filepath.IsAbs(dir) {
		return filepath.Join(dir, "opsui", "opsui.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("locate database: %w (set OPSUI_DB or pass --db)", err)
	}
	return filepath.Join(home, ".local", "share", "opsui", "opsui.db"), nil
}

// ResolvePath picks the database: the flag, then OPSUI_DB, then the config
// file's db: setting, then DefaultPath. It is a file path or a
// postgres:// URL (see BackendOf).
func ResolvePath(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if env := os.Getenv("OPSUI_DB"); env != "" {
		return env, nil
	}
	cfg, err := ConfigPath(os.Getenv)
	if err != nil {
		return "", err
	}
	if db, err := LoadDBSetting(cfg); err != nil || db != "" {
		return db, err
	}
	return DefaultPath()
}

var ofdOnce sync.Once

// Open opens the database target names and brings its schema up to date:
// a postgres:// or postgresql:// URL is a PostgreSQL server's database;
// anything else is a SQLite file, created if needed, its directory 0700 and
// the file 0600: the database holds every command ever run on the fleet.
func Open(ctx context.Context, target string) (*Store, error) {
	backend, err := BackendOf(target)
	if err != nil {
		return nil, err
	}
	if backend == Postgres {
		return openPostgres(ctx, target)
	}
	return openSQLite(ctx, target)
}

func openSQLite(ctx context.Context, path string) (*Store, error) {
	// With POSIX locks, any close of any descriptor of the file in this
	// process drops SQLite's locks; OFD locks are tied to SQLite's own
	// descriptor. Process-wide, so set once before the first open.
	ofdOnce.Do(func() { _, _ = sqlite.OFDLocking(true) })

	warnings, err := prepareFile(path)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Writers take the lock when the transaction begins, so two processes
	// never deadlock upgrading read locks (which busy_timeout cannot fix).
	q.Set("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	db, err := sqlx.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	s := &Store{db: db, path: path, warnings: warnings}
	if err := s.migrateRetrying(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	tightenSidecars(path)
	return s, nil
}

// Warnings are what Open found wrong with the permissions of an existing
// database or its directory, which it uses as they are (a team may share
// a file through its group on purpose): for the caller to show once.
func (s *Store) Warnings() []string { return s.warnings }

// tightenSidecars makes SQLite's -wal and -shm files private: this
// process's SQLite creates them with the database file's mode, and the
// WAL holds the latest writes. The database file itself is left as it is
// (Open warns about it).
func tightenSidecars(path string) {
	for _, suffix := range []string{"-wal", "-shm"} {
		if fi, err := os.Stat(path + suffix); err == nil && fi.Mode().Perm()&0o077 != 0 && ownedByMe(fi) {
			_ = os.Chmod(path+suffix, 0o600) // best effort, as SQLite may remove it any time
		}
	}
}

func ownedByMe(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}

// migrateRetrying runs migrate, retrying while another process holds the
// file. Two processes opening a new database at once both switch it to WAL,
// and SQLite answers that race with SQLITE_BUSY at once, without waiting on
// the busy timeout.
func (s *Store) migrateRetrying(ctx context.Context) error {
	deadline := time.Now().Add(BusyTimeout)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := s.migrate(ctx)
		if !errors.Is(err, ErrLocked) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// prepareFile creates the directory (0700) and an empty file (0600), and
// refuses a file that is not SQLite before SQLite sees it. An existing
// directory writable by group or others, or an existing file readable by
// them, is used as it is, with a warning.
func prepareFile(path string) (warnings []string, err error) {
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err == nil {
		if fi.Mode().Perm()&0o022 != 0 && fi.Mode()&os.ModeSticky == 0 { // in /tmp, others cannot replace our file
			warnings = append(warnings, fmt.Sprintf("the database's directory %s is writable by group or others (mode %04o): "+
				"they could replace the database; chmod go-w %s", dir, fi.Mode().Perm(), dir))
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create store directory %s: %w", dir, err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		f, err = os.OpenFile(path, os.O_RDONLY, 0)
	}
	if err != nil {
		if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS) {
			return nil, fmt.Errorf("create store %s: %w: %w", path, ErrReadOnly, err)
		}
		return nil, fmt.Errorf("create store %s: %w", path, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o077 != 0 { // not one opsui created (0600)
		warnings = append(warnings, fmt.Sprintf("the database %s can be read or written by group or others (mode %04o): "+
			"it holds every command run on the fleet and its output; chmod 600 %s", path, fi.Mode().Perm(), path))
	}
	header := make([]byte, 16)
	n, err := io.ReadFull(f, header)
	switch {
	case n == 0:
		return warnings, nil // new file: SQLite will write the header
	case err != nil || !bytes.Equal(header, []byte("SQLite format 3\x00")):
		return nil, fmt.Errorf("open store %s: %w: the file does not start with an SQLite header (move it aside, or point --db elsewhere)", path, ErrCorrupt)
	}
	return warnings, nil
}

// Path returns the file the store was opened from, or its PostgreSQL URL
// without the password.
func (s *Store) Path() string { return s.path }

// Backend says which engine the store uses.
func (s *Store) Backend() Backend { return s.backend }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// DB gives tests and the prune command raw access.
func (s *Store) DB() *sqlx.DB { return s.db }

// Ping reports whether the database answers now (a PostgreSQL server
// that went away is ErrUnreachable).
func (s *Store) Ping(ctx context.Context) error { return s.classify(s.db.PingContext(ctx)) }

// Transaction runs fn inside one write transaction, committing when fn
// returns nil and rolling back otherwise. On PostgreSQL, fn runs again
// when the server reports a serialization failure or a deadlock, so it
// must only touch the database (and what it returns).
func (s *Store) Transaction(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return s.classify(s.transact(ctx, fn))
}

// SQLite result codes opsui tells apart (https://sqlite.org/rescode.html).
const (
	sqliteBusy     = 5
	sqliteLocked   = 6
	sqliteReadOnly = 8
	sqliteCorrupt  = 11
	sqliteFull     = 13
	sqliteCantOpen = 14
	sqliteNotADB   = 26
)

// classify wraps SQLite's errors in the store's sentinel errors, keeping the
// original text, so the CLI can say what is wrong and what to do.
func (s *Store) classify(err error) error {
	if err == nil {
		return nil
	}
	if s.backend == Postgres {
		return s.classifyPostgres(err)
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff { // extended codes keep the primary in the low byte
	case sqliteBusy, sqliteLocked:
		return fmt.Errorf("%w (%s, waited %s): %w", ErrLocked, s.path, BusyTimeout, err)
	case sqliteReadOnly, sqliteCantOpen:
		return fmt.Errorf("%w (%s: check the permissions of the file and its directory): %w", ErrReadOnly, s.path, err)
	case sqliteCorrupt, sqliteNotADB:
		return fmt.Errorf("%w (%s: restore a backup or move it aside): %w", ErrCorrupt, s.path, err)
	case sqliteFull:
		return fmt.Errorf("%w writing %s: %w", ErrFull, s.path, err)
	}
	return err
}

// get and sel are sqlx's Get and Select with the store's error wrapping;
// sql.ErrNoRows becomes ErrNotFound.
// Queries are written with ? placeholders and rebound for PostgreSQL.
func (s *Store) get(ctx context.Context, q sqlx.QueryerContext, dest any, query string, args ...any) error {
	err := sqlx.GetContext(ctx, q, dest, s.db.Rebind(query), args...)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return s.classify(err)
}

func (s *Store) sel(ctx context.Context, q sqlx.QueryerContext, dest any, query string, args ...any) error {
	return s.classify(sqlx.SelectContext(ctx, q, dest, s.db.Rebind(query), args...))
}

// exec is ExecContext with ? placeholders rebound and errors classified.
func (s *Store) exec(ctx context.Context, e sqlx.ExecerContext, query string, args ...any) (sql.Result, error) {
	res, err := e.ExecContext(ctx, s.db.Rebind(query), args...)
	return res, s.classify(err)
}

// Stats counts what the database holds.
type Stats struct {
	Hosts          int `db:"hosts"`
	Environments   int `db:"environments"`
	Apps           int `db:"apps"`
	Releases       int `db:"releases"`
	Runs           int `db:"runs"`
	RunsWithOutput int `db:"runs_with_output"`
}

// Stats returns the row counts store info shows.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	err := s.get(ctx, s.db, &st, `SELECT
		(SELECT COUNT(*) FROM hosts) AS hosts,
		(SELECT COUNT(*) FROM environments) AS environments,
		(SELECT COUNT(*) FROM apps) AS apps,
		(SELECT COUNT(*) FROM releases) AS releases,
		(SELECT COUNT(*) FROM runs) AS runs,
		(SELECT COUNT(*) FROM runs WHERE output_pruned = 0) AS runs_with_output`)
	if err != nil {
		return Stats{}, fmt.Errorf("count database rows: %w", err)
	}
	return st, nil
}
