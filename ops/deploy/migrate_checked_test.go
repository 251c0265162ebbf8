package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/store"
)

func TestDjangoMigrateArgs(t *testing.T) {
	for _, tc := range []struct {
		cmd  string
		args []string
		ok   bool
	}{
		{"./venv/bin/python manage.py migrate --noinput", []string{"--noinput"}, true},
		{"venv/bin/python3 ./manage.py migrate", nil, true},
		{"./venv/bin/python manage.py migrate shop 0003 --database=replica  ", []string{"shop", "0003", "--database=replica"}, true},
		{"./venv/bin/python manage.py migrate --noinput && echo done", nil, false},
		{"./venv/bin/python manage.py migrate --noinput; rm -rf x", nil, false},
		{"./venv/bin/python manage.py migrate $APP", nil, false},
		{"./venv/bin/python manage.py migrate 'shop'", nil, false},
		{"python manage.py migrate --noinput", nil, false},
		{"/usr/bin/python3 manage.py migrate", nil, false},
		{"./venv/bin/python manage.py migrate_schemas", nil, false},
		{"./venv/bin/python manage.py showmigrations", nil, false},
		{"alembic upgrade head", nil, false},
	} {
		args, ok := djangoMigrateArgs(tc.cmd)
		if ok != tc.ok || !slices.Equal(args, tc.args) {
			t.Errorf("djangoMigrateArgs(%q) = %q, %v; want %q, %v", tc.cmd, args, ok, tc.args, tc.ok)
		}
	}
}

// TestMigrationCheckAndMigrateInOneProcess deploys a real Django project
// to a real sshd host: with the preset's migrate command the compatibility
// check and the migration run in one Django process (the settings, which
// note every start, are loaded once for both), the check is recorded and
// the migration applied and recorded as such; a migrate command of the
// app's own shell runs apart, after the check, as written.
func TestMigrationCheckAndMigrateInOneProcess(t *testing.T) {
	tb, proj := newDjangoTestbed(t, 1)
	starts := filepath.Join(t.TempDir(), "starts")
	if err := os.WriteFile(starts, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	os.Chmod(starts, 0o666)
	os.Chmod(filepath.Dir(starts), 0o777)
	tb.git("checkout", "-q", "-b", "probe", proj.Hashes[webtest.DjangoInitial])
	settings, err := os.ReadFile(filepath.Join(tb.repo, "mysite", "settings.py"))
	if err != nil {
		t.Fatal(err)
	}
	probe := "\nimport sys as _probe_sys\nwith open(" + pyString(starts) + ", \"a\") as _probe_f:\n    _probe_f.write((_probe_sys.argv[1:2] or [\"-\"])[0] + \"\\n\")\n"
	tb.commit("note each start", map[string]string{"mysite/settings.py": string(settings) + probe})

	deployCounting := func(what string, migrated bool) (shell, migrate int) {
		t.Helper()
		os.Truncate(starts, 0)
		out := tb.deploy("probe", Strategy{Kind: "all"})
		if out.Result != store.ReleaseSuccess {
			tb.logf(out)
			t.Fatalf("%s: %s", what, out.Result)
		}
		if rel, err := tb.st.ReleaseNamed(t.Context(), "notes", "test", out.ReleaseID); err != nil || rel.MigrationsApplied != migrated {
			t.Errorf("%s: the record says migrated=%v (%v), want %v", what, rel.MigrationsApplied, err, migrated)
		}
		if _, _, ok, err := RecordedMigrationCheck(t.Context(), tb.st, "notes", "test", out.ReleaseID); !ok || err != nil {
			t.Errorf("%s: no migration check recorded (%v)", what, err)
		}
		b, _ := os.ReadFile(starts)
		for _, l := range strings.Fields(string(b)) {
			shell += btoi(l == "shell")
			migrate += btoi(l == "migrate")
		}
		return shell, migrate
	}

	// The first deploy applies notes.0001 and Django's own apps.
	if shell, migrate := deployCounting("the preset's migrate", true); shell != 1 || migrate != 0 {
		t.Errorf("the preset's migrate: Django started %d times for the check and %d for migrate; want once, for both", shell, migrate)
	}
	if plan, err := tb.deployer().MigrationPlan(t.Context(), tb.plan("probe", Strategy{})); err != nil || len(plan.Plan) < 15 || len(Pending(plan.Plan)) != 0 {
		t.Errorf("after the deploy: %d migrations, %d pending, %v\n%s", len(plan.Plan), len(Pending(plan.Plan)), err, plan.Output)
	}

	tb.app.Migrate = "./venv/bin/python manage.py migrate --noinput && echo migrated apart"
	tb.inv.Apps[0] = tb.app
	tb.commit("again", map[string]string{"README.md": "again\n"})
	if shell, migrate := deployCounting("a migrate command of the app's own shell", false); shell != 1 || migrate != 1 {
		t.Errorf("the app's own migrate command: Django started %d times for the check and %d for migrate; want once each", shell, migrate)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// pyString is s as a Python string literal.
func pyString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
