package main

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/pgtest"
	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/store"
)

// TestStoreOnPostgres: every command takes a postgres:// --db; store info
// names the backend, server, version, schema and sizes, never the password.
func TestStoreOnPostgres(t *testing.T) {
	db := pgtest.New(t)
	mustRun(t, db, "inventory", "import", fleetFile)
	info := mustRun(t, db, "store", "info")
	for _, want := range []string{"backend:   PostgreSQL 1", "server:    postgres@127.0.0.1:", "url:       postgres://postgres:xxxxx@127.0.0.1:",
		"size:      ", fmt.Sprintf("schema:    version %d", store.SchemaVersion()), "hosts:     10 in 2 environments"} {
		if !strings.Contains(info, want) {
			t.Errorf("store info lacks %q:\n%s", want, info)
		}
	}
	if strings.Contains(info, pgtest.Password) {
		t.Errorf("store info shows the password:\n%s", info)
	}
	if list := mustRun(t, db, "inventory", "list"); !strings.Contains(list, "web1") {
		t.Errorf("inventory list on PostgreSQL:\n%s", list)
	}
}

// TestDatabaseErrorExitStatuses: a database opsui cannot use ends it with
// one line and the status of its cause; a URL opsui does not know is a
// mistake, never a file created under its name.
func TestDatabaseErrorExitStatuses(t *testing.T) {
	srv := pgtest.Shared(t)
	good := srv.NewDatabase(t)
	u, _ := url.Parse(good)
	free, err := testenv.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		db   string
		want int
	}{
		{fmt.Sprintf("postgres://postgres@127.0.0.1:%d/opsui?sslmode=disable", free), exitDBUnreachable},
		{srv.URL("postgres", "not-the-password", "postgres"), exitDBAuth},
		{strings.Replace(good, u.Path, "/no_such_db", 1), exitDBMissing},
	} {
		out, err := opsuiCmd(t, c.db, "", "store", "info")
		if err == nil || exitCode(err) != c.want {
			t.Errorf("%s: %v (exit %d), want exit %d\n%s", c.db, err, exitCode(err), c.want, out)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "@127.0.0.1:") || strings.Contains(msg, "not-the-password") {
			t.Errorf("message %q: want one line naming the server, without the password", msg)
		}
	}
	dir := t.TempDir()
	t.Chdir(dir)
	for _, db := range []string{"postgres:opsui", "mysql://db/opsui"} {
		if _, err := opsuiCmd(t, db, "", "store", "info"); err == nil || !strings.Contains(err.Error(), "postgres") {
			t.Errorf("--db %s: %v, want a refusal", db, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused --db values created %v", entries)
	}
}

func TestOperatorIsUserAtMachine(t *testing.T) {
	t.Setenv("OPSUI_OPERATOR", "")
	host, _ := os.Hostname()
	if op := operator(); !strings.HasSuffix(op, "@"+host) || strings.HasPrefix(op, "@") {
		t.Errorf("operator() = %q, want user@%s", op, host)
	}
	t.Setenv("OPSUI_OPERATOR", "alice@jumpbox")
	if op := operator(); op != "alice@jumpbox" {
		t.Errorf("with OPSUI_OPERATOR: %q", op)
	}
}
