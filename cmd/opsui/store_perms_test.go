package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLooseDatabaseIsWarnedAbout: a database others can read is used, and
// the command says so once on stderr.
func TestLooseDatabaseIsWarnedAbout(t *testing.T) {
	db := filepath.Join(t.TempDir(), "opsui.db")
	if out := mustRun(t, db, "store", "info"); strings.Contains(out, "warning") {
		t.Errorf("a database opsui created is warned about:\n%s", out)
	}
	if err := os.Chmod(db, 0o640); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, db, "store", "info")
	if n := strings.Count(out, "opsui: warning: the database "+db+" can be read or written by group or others (mode 0640)"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, out)
	}
}
