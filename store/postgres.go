package store

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
)

// Errors of a PostgreSQL store, each with its own exit status in opsui.
var (
	ErrUnreachable = errors.New("cannot reach the database server")
	ErrAuth        = errors.New("authentication failed")
	ErrNoDatabase  = errors.New("database does not exist")
	ErrPermission  = errors.New("permission denied")
	ErrTLS         = errors.New("TLS error")
)

// PGConnectTimeout bounds connecting to a PostgreSQL server when the URL
// sets no connect_timeout: an unreachable server is said in seconds, not
// after the kernel's minutes of SYN retries.
const PGConnectTimeout = 10 * time.Second

// openPostgres connects to the server a postgres:// URL names. pgx reads
// the URL's parameters (sslmode, …), the libpq environment variables
// (PGHOST, PGPASSWORD, PGSSLMODE, …) and ~/.pgpass, as psql does.
func openPostgres(ctx context.Context, target string) (*Store, error) {
	cfg, err := pgx.ParseConfig(target)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", redactTarget(target), scrubParseError(err))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = PGConnectTimeout
	}
	s := &Store{backend: Postgres, path: redactTarget(target), server: serverName(cfg.Config), pgConfig: cfg.Copy()}
	db := sqlx.NewDb(stdlib.OpenDB(*cfg), "pgx")
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s.db = db
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, s.classify(err)
	}
	if err := s.migratePostgres(ctx); err != nil {
		db.Close()
		if err = s.classify(err); namesServer(err) {
			return nil, err
		}
		return nil, fmt.Errorf("open store %s: %w", s.server, err)
	}
	return s, nil
}

// serverName names a server as user@host:port/database: what every error
// of a PostgreSQL store says it was talking to (never a password).
func serverName(c pgconn.Config) string {
	return fmt.Sprintf("%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

// redactTarget is a --db value fit to print: a URL's password, in its
// user part or its query, becomes xxxxx.
func redactTarget(target string) string {
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" {
		if i := strings.Index(target, "@"); i >= 0 && strings.Contains(target, "://") {
			return target[:strings.Index(target, "://")+3] + "xxxxx" + target[i:] // unparsable: hide the credentials
		}
		return target
	}
	q := u.Query()
	for k := range q {
		if strings.EqualFold(k, "password") {
			q.Set(k, "xxxxx")
			u.RawQuery = q.Encode()
		}
	}
	return u.Redacted()
}

// scrubParseError keeps pgx's reason for refusing a URL without the URL,
// which may hold a password.
func scrubParseError(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) && pe.Unwrap() != nil {
		return fmt.Errorf("invalid PostgreSQL URL: %w", pe.Unwrap())
	}
	if errors.As(err, &pe) {
		return errors.New("invalid PostgreSQL URL")
	}
	return err
}

// pgCode returns the SQLSTATE of a server error, "" for any other error.
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// classifyPostgres wraps the server's and the driver's errors in the
// store's sentinel errors with one line that names the server and says
// what to check; the driver's own words follow for the details.
func (s *Store) classifyPostgres(err error) error {
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, context.Canceled) {
		return err
	}
	for _, sentinel := range []error{ErrUnreachable, ErrAuth, ErrNoDatabase, ErrPermission, ErrTLS, ErrFull, ErrTooNew} {
		if errors.Is(err, sentinel) {
			return err // already said
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "28P01" || (pe.Code == "28000" && !strings.Contains(pe.Message, "no encryption")):
			return fmt.Errorf("%w for %s: check the password (~/.pgpass, PGPASSWORD) and the server's pg_hba.conf (server: %s)", ErrAuth, s.server, pe.Message)
		case pe.Code == "28000":
			return fmt.Errorf("%w: the server requires TLS of %s: add sslmode=require (or verify-full) to the URL (server: %s)", ErrTLS, s.server, pe.Message)
		case pe.Code == "3D000":
			return fmt.Errorf("%w: %s: create it (createdb) or fix the URL's database name (server: %s)", ErrNoDatabase, s.server, pe.Message)
		case pe.Code == "42501":
			return fmt.Errorf("%w on %s: the role needs to create tables (first use) and read and write opsui's tables (server: %s)", ErrPermission, s.server, pe.Message)
		case pe.Code == "53100":
			return fmt.Errorf("%w on the database server %s: %w", ErrFull, s.server, err)
		case strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03":
			return fmt.Errorf("%w %s: %s", ErrUnreachable, s.server, pe.Message)
		}
		return err
	}
	var certErr x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	msg := err.Error()
	switch {
	case strings.Contains(msg, "server refused TLS connection"):
		return fmt.Errorf("%w: %s does not offer TLS, but the URL's sslmode requires it", ErrTLS, s.server)
	case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &invalid), strings.Contains(msg, "tls: "):
		return fmt.Errorf("%w: %s's certificate was not accepted: check sslrootcert and the host name, or sslmode (%s)", ErrTLS, s.server, lastClause(msg))
	case pgconn.Timeout(err), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w %s: no answer within the connect timeout", ErrUnreachable, s.server)
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	if errors.As(err, &ne) || errors.As(err, &ce) || strings.Contains(msg, "unexpected EOF") || strings.Contains(msg, "conn closed") ||
		strings.Contains(msg, "bad connection") {
		return fmt.Errorf("%w %s: %s", ErrUnreachable, s.server, lastClause(msg))
	}
	return err
}

// namesServer reports whether err is one of the PostgreSQL store's own,
// whose message already names the server.
func namesServer(err error) bool {
	for _, sentinel := range []error{ErrUnreachable, ErrAuth, ErrNoDatabase, ErrPermission, ErrTLS} {
		if errors.Is(err, sentinel) {
			return true
		}
	}
	return false
}

// lastClause is the end of a driver's error chain ("dial tcp …: connect:
// connection refused" says "connection refused").
func lastClause(msg string) string {
	if i := strings.LastIndex(msg, ": "); i >= 0 && i+2 < len(msg) {
		return msg[i+2:]
	}
	return msg
}

// ServerInfo is what store info says of the database behind a store.
type ServerInfo struct {
	Backend Backend
	Target  string // the file, or the URL without its password
	Server  string // user@host:port/database (PostgreSQL)
	Version string // the server's version (PostgreSQL) or SQLite's
	Bytes   int64  // the database's size on disk
}

// Info says which database the store is, its engine's version and size.
func (s *Store) Info(ctx context.Context) (ServerInfo, error) {
	in := ServerInfo{Backend: s.backend, Target: s.path, Server: s.server}
	if s.backend == Postgres {
		err := s.db.QueryRowxContext(ctx, `SELECT current_setting('server_version'), pg_database_size(current_database())`).
			Scan(&in.Version, &in.Bytes)
		if err != nil {
			return in, fmt.Errorf("server version and size: %w", s.classify(err))
		}
		return in, nil
	}
	var pages, pageSize int64
	err := s.db.QueryRowxContext(ctx, `SELECT sqlite_version()`).Scan(&in.Version)
	if err == nil {
		err = s.db.GetContext(ctx, &pages, `PRAGMA page_count`)
	}
	if err == nil {
		err = s.db.GetContext(ctx, &pageSize, `PRAGMA page_size`)
	}
	if err != nil {
		return in, fmt.Errorf("database version and size: %w", s.classify(err))
	}
	in.Bytes = pages * pageSize
	return in, nil
}
