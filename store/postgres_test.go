package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"

	"github.com/opsui/opsui/internal/testenv"
)

// pgNew returns a new database on the test server, skipping (or failing,
// strict) where there is no PostgreSQL.
func pgNew(t *testing.T) string {
	t.Helper()
	return postgresOnly(t).NewDatabase(t)
}

func TestBackendOf(t *testing.T) {
	for target, want := range map[string]Backend{
		"opsui.db": SQLite, "/var/lib/opsui/opsui.db": SQLite, "./postgres/opsui.db": SQLite, "backup:1.db": SQLite,
		"postgres://alice@db.example/opsui": Postgres, "postgresql://db.example:5433/opsui?sslmode=verify-full": Postgres,
		"POSTGRES://db/opsui": Postgres, "postgres:///opsui": Postgres,
	} {
		if got, err := BackendOf(target); err != nil || got != want {
			t.Errorf("BackendOf(%q) = %v, %v; want %v", target, got, err, want)
		}
	}
	// A URL opsui cannot use is an error, never a file path: nothing is
	// created (TESTBED: "postgres:" was made a directory).
	dir := t.TempDir()
	t.Chdir(dir)
	for _, target := range []string{"postgres:opsui", "postgresql:/db/opsui", "mysql://db/opsui", "sqlite:///tmp/x.db",
		"file:opsui.db", "http://db.example/opsui"} {
		_, err := Open(context.Background(), target)
		if err == nil || !strings.Contains(err.Error(), "postgres") {
			t.Errorf("Open(%q) = %v, want a refusal naming postgres://", target, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused URLs created %v", entries)
	}
}

func TestRedactTarget(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://alice:s3cret@db/opsui":           "postgres://alice:xxxxx@db/opsui",
		"postgres://db/opsui?password=s3cret&x=1":    "postgres://db/opsui?password=xxxxx&x=1",
		"postgres://alice@db/opsui?sslmode=require":  "postgres://alice@db/opsui?sslmode=require",
		"/var/lib/opsui/opsui.db":                    "/var/lib/opsui/opsui.db",
		"postgres://alice:s3%cret@db:5432/opsui":     "postgres://xxxxx@db:5432/opsui",
		"postgresql://alice:s3cret@[::1]:5432/opsui": "postgresql://alice:xxxxx@[::1]:5432/opsui",
	} {
		if got := redactTarget(in); got != want {
			t.Errorf("redactTarget(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestConcurrentOpensMigrateOnce: ten opsui processes' stores opening one
// new database at once all succeed, and the schema is made once.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	target := pgNew(t)
	const n = 10
	var wg sync.WaitGroup
	errs := make([]error, n)
	stores := make([]*Store, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(context.Background(), target)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	var version, rows int
	s := stores[0]
	if err := s.db.QueryRow(`SELECT MAX(version), COUNT(*) FROM opsui_schema`).Scan(&version, &rows); err != nil || version != SchemaVersion() || rows != 1 {
		t.Fatalf("opsui_schema: version %d in %d rows (%v); want %d in 1", version, rows, err, SchemaVersion())
	}
	// Every store works on the one schema.
	for i, st := range stores {
		if _, _, err := st.StartRun(context.Background(), NewRun{Kind: KindExec, Operator: fmt.Sprint(i), Hosts: []string{"h"}}); err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
	}
}

func TestPostgresNewerSchemaIsRefused(t *testing.T) {
	ctx := context.Background()
	target := pgNew(t)
	s, err := Open(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	s.db.MustExec(`UPDATE opsui_schema SET version = 999`)
	s.Close()
	_, err = Open(ctx, target)
	if !errors.Is(err, ErrTooNew) || !strings.Contains(err.Error(), "schema version 999") || !strings.Contains(err.Error(), "upgrade opsui") {
		t.Fatalf("err = %v, want ErrTooNew that says to upgrade", err)
	}
	raw := sqlx.MustOpen("pgx", target)
	defer raw.Close()
	var version int
	if err := raw.Get(&version, `SELECT version FROM opsui_schema`); err != nil || version != 999 {
		t.Errorf("the newer database was modified: version %d, %v", version, err)
	}
}

func TestPostgresReopenIsANoOp(t *testing.T) {
	ctx := context.Background()
	target := pgNew(t)
	tables := func() string {
		raw := sqlx.MustOpen("pgx", target)
		defer raw.Close()
		var s string
		raw.MustExec(`SELECT 1`)
		if err := raw.Get(&s, `SELECT string_agg(relname || ':' || xmin::text, ',' ORDER BY relname) FROM pg_class
			WHERE relnamespace = current_schema()::regnamespace`); err != nil {
			t.Fatal(err)
		}
		return s
	}
	for i := range 2 {
		s, err := Open(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		if i == 0 {
			defer func(before string) {
				if after := tables(); after != before {
					t.Errorf("re-open changed the catalog:\n%s\n%s", before, after)
				}
			}(tables())
		}
	}
}

// TestTransactionRetriesSerializationFailures: a transaction the server
// aborts for a serialization failure or a deadlock runs again; other
// errors are returned at once.
func TestTransactionRetriesSerializationFailures(t *testing.T) {
	if !onPostgres() {
		t.Skip("the PostgreSQL pass runs it")
	}
	s := openTemp(t)
	ctx := context.Background()
	for _, code := range []string{"40001", "40P01"} {
		attempts := 0
		err := s.Transaction(ctx, func(tx *sqlx.Tx) error {
			attempts++
			if _, err := tx.ExecContext(ctx, `INSERT INTO role_defaults (role) VALUES ($1)`, "r"+code); err != nil {
				return err
			}
			if attempts < 3 {
				return &pgconn.PgError{Code: code, Message: "could not serialize access"}
			}
			return nil
		})
		var n int
		s.db.Get(&n, `SELECT COUNT(*) FROM role_defaults WHERE role = $1`, "r"+code)
		if err != nil || attempts != 3 || n != 1 {
			t.Errorf("%s: %d attempts, %d rows, %v; want 3 attempts and 1 row", code, attempts, n, err)
		}
	}
	attempts := 0
	err := s.Transaction(ctx, func(tx *sqlx.Tx) error {
		attempts++
		return &pgconn.PgError{Code: "23505", Message: "duplicate key"}
	})
	if err == nil || attempts != 1 {
		t.Errorf("a unique violation: %d attempts, %v; want 1 and the error", attempts, err)
	}
}

// TestPostgresErrors: each way of failing to use the server is its own
// sentinel with one line that names the server and never the password.
func TestPostgresErrors(t *testing.T) {
	srv := postgresOnly(t)
	good := srv.NewDatabase(t)
	u, _ := url.Parse(good)
	dbName := strings.TrimPrefix(u.Path, "/")
	srv.Exec(t, `CREATE ROLE reader LOGIN PASSWORD 'reader-pw'; CREATE ROLE tlsonly LOGIN PASSWORD 'tls-pw'`)
	t.Cleanup(func() {
		srv.Exec(t, `DROP DATABASE IF EXISTS `+dbName+`_ro WITH (FORCE)`)
		srv.Exec(t, `DROP ROLE IF EXISTS reader; DROP ROLE IF EXISTS tlsonly`)
	})
	// reader may connect to a database but not create tables in it.
	srv.Exec(t, `CREATE DATABASE `+dbName+`_ro`)
	free, err := testenv.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, target string
		want         error
		says         string
	}{
		{"unreachable", fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/opsui?sslmode=disable", "pw-unreachable", free), ErrUnreachable, "connection refused"},
		{"wrong password", srv.URL("postgres", "pw-wrong", dbName), ErrAuth, "password authentication failed"},
		{"no database", srv.URL("postgres", "pw-missing", "nosuchdb"), ErrAuth, ""}, // the password is checked first
		{"no such database", strings.Replace(good, "/"+dbName, "/nosuchdb", 1), ErrNoDatabase, "createdb"},
		{"permission denied", srv.URL("reader", "reader-pw", dbName+"_ro"), ErrPermission, "create tables"},
		{"TLS required", srv.URL("tlsonly", "tls-pw", dbName), ErrTLS, "requires TLS"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Open(context.Background(), c.target)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			msg := err.Error()
			t.Log(msg)
			if strings.Contains(msg, "\n") || !strings.Contains(msg, "127.0.0.1:") || !strings.Contains(msg, c.says) {
				t.Errorf("message %q: want one line naming the server and saying %q", msg, c.says)
			}
			if regexp.MustCompile(`pw-\w+|reader-pw|tls-pw|opsui-test`).MatchString(msg) {
				t.Errorf("message %q shows a password", msg)
			}
		})
	}
	// With TLS, the TLS-only role gets in (as far as its rights go).
	tls := strings.Replace(srv.URL("tlsonly", "tls-pw", dbName), "sslmode=disable", "sslmode=require", 1)
	if _, err := Open(context.Background(), tls); errors.Is(err, ErrTLS) || errors.Is(err, ErrAuth) {
		t.Errorf("over TLS: %v", err)
	}
}

// TestPasswordFromPgpass: a URL without a password takes it from the
// libpq password file, as psql does.
func TestPasswordFromPgpass(t *testing.T) {
	srv := postgresOnly(t)
	target := srv.NewDatabase(t)
	u, _ := url.Parse(target)
	pass := filepath.Join(t.TempDir(), "pgpass")
	line := fmt.Sprintf("127.0.0.1:%d:*:postgres:%s\n", srv.Port, "opsui-test")
	if err := os.WriteFile(pass, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PGPASSFILE", pass)
	u.User = url.User("postgres")
	s, err := Open(context.Background(), u.String())
	if err != nil {
		t.Fatalf("open with the password from PGPASSFILE: %v", err)
	}
	defer s.Close()
	in, err := s.Info(context.Background())
	if err != nil || in.Backend != Postgres || !strings.HasPrefix(in.Version, strconv.Itoa(15)) && in.Version == "" || in.Bytes <= 0 ||
		in.Server != fmt.Sprintf("postgres@127.0.0.1:%d%s", srv.Port, u.Path) {
		t.Errorf("info %+v, %v", in, err)
	}
	if strings.Contains(s.Path(), "opsui-test") {
		t.Errorf("Path() = %q shows the password", s.Path())
	}
}

func postgresSchema(t *testing.T, s *Store) map[string]*table {
	out := map[string]*table{}
	var names []string
	if err := s.db.Select(&names, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'opsui_schema'`); err != nil {
		t.Fatal(err)
	}
	cols := regexp.MustCompile(`\(([^)]*)\)`)
	fk := regexp.MustCompile(`^FOREIGN KEY \((\w+)\) REFERENCES (\w+)\((\w+)\)(?: ON DELETE (.*))?$`)
	indexCols := regexp.MustCompile(`USING \w+ \(([^)]*)\)`)
	for _, name := range names {
		tt := &table{}
		out[name] = tt
		var cs []struct {
			Name    string  `db:"column_name"`
			Type    string  `db:"data_type"`
			NotNull bool    `db:"notnull"`
			Default *string `db:"column_default"`
		}
		if err := s.db.Select(&cs, `SELECT column_name, data_type, is_nullable = 'NO' AS notnull, column_default
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, name); err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			tt.Columns = append(tt.Columns, column(c.Name, c.Type, c.NotNull, c.Default))
		}
		var cons []struct {
			Type string `db:"contype"`
			Def  string `db:"def"`
		}
		if err := s.db.Select(&cons, `SELECT contype::text AS contype, pg_get_constraintdef(oid) AS def FROM pg_constraint
			WHERE conrelid = $1::regclass`, name); err != nil {
			t.Fatal(err)
		}
		for _, c := range cons {
			switch c.Type {
			case "p":
				tt.PK = strings.Split(cols.FindStringSubmatch(c.Def)[1], ", ")
			case "u":
				tt.Unique = append(tt.Unique, cols.FindStringSubmatch(c.Def)[1])
			case "f":
				m := fk.FindStringSubmatch(c.Def)
				if m == nil {
					t.Fatalf("foreign key %q", c.Def)
				}
				onDelete := strings.ToLower(m[4])
				if onDelete == "" {
					onDelete = "no action"
				}
				tt.FKs = append(tt.FKs, fmt.Sprintf("%s -> %s(%s) on delete %s", m[1], m[2], m[3], onDelete))
			case "c":
				tt.Checks = append(tt.Checks, normalCheck(t, strings.TrimPrefix(c.Def, "CHECK ")))
			}
		}
		var idx []struct {
			Name   string  `db:"name"`
			Unique bool    `db:"indisunique"`
			Def    string  `db:"def"`
			Where  *string `db:"pred"`
		}
		if err := s.db.Select(&idx, `SELECT i.relname AS name, ix.indisunique, pg_get_indexdef(ix.indexrelid) AS def,
			pg_get_expr(ix.indpred, ix.indrelid) AS pred
			FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid
			WHERE ix.indrelid = $1::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)`, name); err != nil {
			t.Fatal(err)
		}
		for _, ix := range idx {
			var keys []string
			for _, k := range strings.Split(indexCols.FindStringSubmatch(ix.Def)[1], ", ") {
				keys = append(keys, strings.Replace(k, " DESC", " desc", 1))
			}
			where := ""
			if ix.Where != nil {
				where = *ix.Where
			}
			tt.Indexes = append(tt.Indexes, index(ix.Name, ix.Unique, keys, where))
		}
		tt.sort()
	}
	return out
}

// TestLibpqEnvironment: what the URL leaves out comes from the libpq
// variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGSSLMODE), as for psql;
// the URL's own values win.
func TestLibpqEnvironment(t *testing.T) {
	srv := postgresOnly(t)
	target := srv.NewDatabase(t)
	u, _ := url.Parse(target)
	t.Setenv("PGHOST", "127.0.0.1")
	t.Setenv("PGPORT", strconv.Itoa(srv.Port))
	t.Setenv("PGUSER", "postgres")
	t.Setenv("PGPASSWORD", "opsui-test")
	t.Setenv("PGSSLMODE", "require")
	s, err := Open(context.Background(), "postgres://"+u.Path)
	if err != nil {
		t.Fatalf("open with the libpq environment: %v", err)
	}
	defer s.Close()
	var ssl bool
	if err := s.db.Get(&ssl, `SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`); err != nil || !ssl {
		t.Errorf("PGSSLMODE=require: TLS %v, %v", ssl, err)
	}
	t.Setenv("PGPASSWORD", "wrong")
	if _, err := Open(context.Background(), "postgres://"+u.Path); !errors.Is(err, ErrAuth) {
		t.Errorf("a wrong PGPASSWORD: %v, want ErrAuth", err)
	}
}
