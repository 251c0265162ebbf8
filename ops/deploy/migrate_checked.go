package deploy

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/opsui/opsui/ops/remote"
)

// The compatibility check and Django's migrate each start the release's
// Django, one after the other on the migration host: the longest part of
// the prepare phase's critical path. When the migrate command is
// Django's own, in the release's virtualenv, both run in one process: the
// check first, then migrate through Django's command line, exactly as
// manage.py would run it. What the check decides is decided the same way:
// the refusal of breaking operations is opsui's (Plan.refusesBreaking)
// and passed in, and the check's lines are read, said and recorded by the
// same gate as when it runs alone. Any other migrate command, a deploy in
// maintenance (the balancers change between the check and migrate), or a
// check that did not finish takes the two steps one after the other.

// migrateAfterCheckPy follows migcheckPy in the one process: it stops
// (status 75) when the deploy refuses the breaking operations found, and
// the gate fails the deploy; else it runs
// Django's migrate with the command's own arguments (a JSON list), on a
// fresh database connection.
const migrateAfterCheckPy = `
import os as _opsui_os
if _opsui_breaking and _opsui_os.environ.get("OPSUI_MIGRATE_REFUSE_BREAKING") == "1":
    sys.exit(75)
connections.close_all()
from django.core.management import execute_from_command_line as _opsui_run
_opsui_run(["manage.py", "migrate"] + json.loads(_opsui_os.environ["OPSUI_MIGRATE_ARGS"]))
`

// migrateCheckedScript runs the check and migrate in the release's
// virtualenv, in one manage.py shell; without one (or manage.py) it exits
// before any output, and the steps run one by one.
const migrateCheckedScript = `cd -- "$RELEASE_DIR" || exit 1
[ -f manage.py ] && [ -x venv/bin/python ] || { echo "` + migrateApartLine + `"; exit 0; }
exec venv/bin/python manage.py shell --no-startup -c "$OPSUI_MIGCHECK$OPSUI_MIGRATE_AFTER"
`

// migrateApartLine is what migrateCheckedScript says when the two must
// run apart.
const migrateApartLine = "opsui: the migration check runs apart"

// djangoMigrateCommand matches a migrate command the one process can
// run: the virtualenv's python, manage.py, migrate, and plain arguments
// (no quoting, expansion or second command a shell would act on).
var djangoMigrateCommand = regexp.MustCompile(`^(\./)?venv/bin/python3?\s+(\./)?manage\.py\s+migrate((\s+[A-Za-z0-9_.=-]+)*)\s*$`)

// djangoMigrateArgs returns the arguments after "migrate" of cmd when it
// is Django's migrate in the release's virtualenv.
func djangoMigrateArgs(cmd string) ([]string, bool) {
	m := djangoMigrateCommand.FindStringSubmatch(strings.TrimSpace(cmd))
	if m == nil {
		return nil, false
	}
	return strings.Fields(m[3]), true
}

// migrateChecked runs the check and the migration of step s on h (timeout
// for the migration, beside the check's own) in one
// process when it can, and reports whether it did (handled, whatever
// their outcome) and whether the migration finished (ok); not handled
// leaves both to the steps run apart.
func (r *runner) migrateChecked(ctx context.Context, h *hostRun, s Step, timeout time.Duration) (handled, ok bool) {
	p := r.plan
	args, can := djangoMigrateArgs(p.App.MigrateCommand())
	if !can || !checksMigrations(p.App) || p.Maintenance {
		return false, false
	}
	argv, _ := json.Marshal(args)
	env := p.env(h.host, s)
	env["OPSUI_MIGCHECK"], env["OPSUI_MIGRATE_AFTER"], env["OPSUI_MIGRATE_ARGS"] = migcheckPy, migrateAfterCheckPy, string(argv)
	old := r.oldCodeServes()
	if p.refusesBreaking(old) {
		env["OPSUI_MIGRATE_REFUSE_BREAKING"] = "1"
	}

	r.events.stageIn(ctx, h, StepMigrationCheck)
	var (
		mu      sync.Mutex
		check   strings.Builder // the check's lines, until its last
		checked bool            // its last line came: the gate has spoken
		apart   bool
		allowed bool
	)
	consume := func(ev remote.Event) bool {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case checked:
			return false // migrate's own output
		case ev.Kind == remote.EventStdout && ev.Line == migrateApartLine:
			apart = true
			return true
		case ev.Kind != remote.EventStdout:
			return false // a settings module's warnings, a traceback
		}
		check.WriteString(ev.Line + "\n")
		if !strings.HasPrefix(strings.TrimSpace(ev.Line), `{"done"`) {
			return true
		}
		checked = true
		c := MigrationCheck{Host: h.host.Name}
		if ops, pending, err := ParseMigrationCheck(check.String()); err != nil {
			c.Err = err.Error()
		} else {
			c.Ops, c.Pending = ops, pending
		}
		if allowed = r.gate(ctx, h, c, old); allowed {
			r.events.stageIn(ctx, h, StepMigrate)
		}
		return true
	}
	// Only migrate's failure is the host's: a check that did not finish
	// is left to the steps run apart, a refusal to the gate.
	migrating := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return checked && allowed
	}
	out, done := r.runStepWith(ctx, h, StepMigrate, withEnv(migrateCheckedScript), env, migcheckTimeout+timeout, nil, migrating, consume)
	mu.Lock()
	defer mu.Unlock()
	switch {
	case apart:
		return false, false
	case !checked:
		// The check did not finish (its settings failed to load, the host
		// went away): the steps run apart say why, in their own words.
		if h.todo() {
			r.notef("%s: the migration check did not finish in one process with the migration; each runs by itself", h.host.Name)
			return false, false
		}
		return true, false
	case !allowed:
		return true, true // refused by the gate, which failed every host: nothing was migrated
	case !done:
		return true, false // migrate failed the host: said already
	}
	if migrationsRan(out) {
		r.migrated.Store(true)
	}
	return true, true
}
