package webtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDjangoProjectReadsItsEnvironment: the project refuses to start
// without its secret key, and migrates into the database DATABASE_URL
// names, with the contrib apps' migrations and its own.
func TestDjangoProjectReadsItsEnvironment(t *testing.T) {
	RequireDjango(t)
	ctx := context.Background()
	p, err := CreateDjangoProject(ctx, filepath.Join(t.TempDir(), "notes"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Hashes) != 3 {
		t.Fatalf("commits: %v", p.Hashes)
	}
	db := filepath.Join(t.TempDir(), "db.sqlite3")
	manage := func(env []string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, PythonPath, append([]string{"manage.py"}, args...)...)
		cmd.Dir = p.Dir
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := manage([]string{"DATABASE_URL=sqlite:///" + db}, "check"); err == nil || !strings.Contains(out, "DJANGO_SECRET_KEY") {
		t.Errorf("without DJANGO_SECRET_KEY: %v\n%s", err, out)
	}
	env := []string{"DATABASE_URL=sqlite:///" + db, "DJANGO_SECRET_KEY=test-key"}
	if out, err := manage(env, "migrate", "--noinput"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	out, err := manage(env, "showmigrations", "--plan")
	if err != nil {
		t.Fatalf("showmigrations: %v\n%s", err, out)
	}
	if n := strings.Count(out, "[X]"); n < 15 || !strings.Contains(out, "[X]  notes.0002_note_tag") {
		t.Errorf("%d migrations applied:\n%s", n, out)
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("the database is not where DATABASE_URL says: %v", err)
	}
}
