package store

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// testBackendEnv set to "postgres" runs this package's tests against a
// PostgreSQL server (internal/pgtest) instead of SQLite files;
// TestSuiteOnPostgres sets it for its child.
const testBackendEnv = "OPSUI_TEST_STORE"

func onPostgres() bool { return os.Getenv(testBackendEnv) == "postgres" }

// testTarget returns a new, empty database for one test: a file, or a
// database of its own on the test PostgreSQL server.
func testTarget(t *testing.T) string {
	t.Helper()
	if onPostgres() {
		return pgtest.New(t)
	}
	return filepath.Join(t.TempDir(), "opsui.db")
}

// sqliteOnly skips, on the PostgreSQL pass, a test of what only a SQLite
// file has.
func sqliteOnly(t *testing.T, what string) {
	t.Helper()
	if onPostgres() {
		t.Skipf("SQLite only: %s", what)
	}
}

// postgresOnly skips a test of the PostgreSQL store on the SQLite pass; it
// returns the test server.
func postgresOnly(t *testing.T) *pgtest.Server {
	t.Helper()
	return pgtest.Shared(t)
}

// TestSuiteOnPostgres runs this package's tests again, every one that is
// not about the SQLite file, against PostgreSQL: the test binary itself,
// in a child process with OPSUI_TEST_STORE=postgres, so both backends pass
// the same suite on every `go test ./store`.
func TestSuiteOnPostgres(t *testing.T) {
	if onPostgres() {
		t.Skip("this is the PostgreSQL pass")
	}
	pgtest.Shared(t) // skips (or fails, strict) where PostgreSQL is missing
	// The child runs what this run was asked for: -run 'TestX|TestSuiteOnPostgres'
	// runs TestX on both backends.
	run := ".*"
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" {
		var keep []string
		for _, p := range strings.Split(f.Value.String(), "|") {
			if !strings.Contains(p, "SuiteOnPostgres") {
				keep = append(keep, p)
			}
		}
		if len(keep) > 0 {
			run = strings.Join(keep, "|")
		}
	}
	args := []string{"-test.run=" + run, "-test.count=1"}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], args...)
	cmd.Env = append(os.Environ(), testBackendEnv+"=postgres")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the store's tests on PostgreSQL: %v\n%s", err, out)
	}
	if testing.Verbose() {
		t.Logf("%s", out)
	}
}
