package pgtest

import (
	"database/sql"
	"os"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestEachTestGetsItsOwnDatabase(t *testing.T) {
	var names []string
	for range 2 {
		db, err := sql.Open("pgx", New(t))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var name string
		if err := db.QueryRow(`SELECT current_database()`).Scan(&name); err != nil {
			t.Fatalf("connect to the test database: %v", err)
		}
		if _, err := db.Exec(`CREATE TABLE t (x int)`); err != nil {
			t.Fatalf("the test database is not writable: %v", err)
		}
		names = append(names, name)
	}
	if names[0] == names[1] {
		t.Fatalf("two databases named %s", names[0])
	}
	var ssl bool
	if err := Shared(t).admin.QueryRow(`SELECT current_setting('ssl') = 'on'`).Scan(&ssl); err != nil || !ssl {
		t.Fatalf("the server does not serve TLS: %v", err)
	}
}
