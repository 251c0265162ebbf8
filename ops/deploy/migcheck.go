package deploy

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
)

// migcheckPy is the compatibility check opsui ships: it runs in the
// release's own Django, reads the migrations with Django's loader (never a
// regex over their source) and prints one JSON verdict per operation of
// every migration the database has not applied.
//
//go:embed migcheck.py
var migcheckPy string

// migcheckScript runs migcheckPy in RELEASE_DIR through the release's
// manage.py, so its settings, apps and database are the release's: with
// its virtualenv's python when it has one (the build step made it).
const migcheckScript = `cd -- "$RELEASE_DIR" || exit 1
if [ ! -f manage.py ]; then echo "no manage.py in the release: not a Django project" >&2; exit 3; fi
py=venv/bin/python
[ -x "$py" ] || py=${OPSUI_MIGCHECK_PYTHON:-${OPSUI_PYTHON:-/usr/bin/python3}}
"$py" manage.py shell --no-startup -c "$OPSUI_MIGCHECK"
`

// MigrationVerdict is what a migration operation means for the old code
// still serving while (or after) it runs.
type MigrationVerdict string

// The verdicts, in rising order of concern.
const (
	VerdictSafe     MigrationVerdict = "safe"     // old code keeps working against the new schema
	VerdictUnknown  MigrationVerdict = "unknown"  // opsui cannot tell (RunPython, RunSQL...): review it
	VerdictBreaking MigrationVerdict = "breaking" // old code fails against the new schema
)

func (v MigrationVerdict) rank() int {
	switch v {
	case VerdictSafe:
		return 0
	case VerdictUnknown:
		return 1
	}
	return 2
}

// ParseMigrationVerdict reads a verdict as the check script and the
// store spell it.
func ParseMigrationVerdict(s string) (MigrationVerdict, error) {
	switch v := MigrationVerdict(s); v {
	case VerdictSafe, VerdictUnknown, VerdictBreaking:
		return v, nil
	}
	return "", fmt.Errorf("unknown migration verdict %q (want safe, unknown or breaking)", s)
}

// MigrationOp is one operation of a pending migration and its verdict.
type MigrationOp struct {
	App       string           `json:"app"`
	Migration string           `json:"migration"`
	File      string           `json:"file"`
	Index     int              `json:"index"` // its position in the migration's operations
	Op        string           `json:"op"`    // Django's own description ("Remove field quantity from order")
	Verdict   MigrationVerdict `json:"verdict"`
	Reason    string           `json:"reason"`
}

func (o MigrationOp) String() string {
	return fmt.Sprintf("%s %s.%s #%d %s: %s (%s)", o.Verdict, o.App, o.Migration, o.Index, o.Op, o.Reason, o.File)
}

// MigrationCheck is the verdict on the migrations a release brings: each
// pending operation, checked on Host in Release's code.
type MigrationCheck struct {
	Host    string        `json:"host"`
	Release string        `json:"release"` // the directory checked: a release id, or "preview"
	Ops     []MigrationOp `json:"ops"`
	// Pending are the migrations the database has not applied, each as
	// app.name with its file; with Ops, what the migrate step would run.
	Pending []PendingMigration `json:"pending,omitempty"`
	// Err is why the check could not run (no verdict: treated as unknown).
	Err string `json:"error,omitempty"`
}

// Verdict is the worst verdict of the check's operations: safe when it
// has none, unknown when the check could not run.
func (c MigrationCheck) Verdict() MigrationVerdict {
	v := VerdictSafe
	if c.Err != "" {
		v = VerdictUnknown
	}
	for _, o := range c.Ops {
		if o.Verdict.rank() > v.rank() {
			v = o.Verdict
		}
	}
	return v
}

// With returns the operations with verdict v.
func (c MigrationCheck) With(v MigrationVerdict) []MigrationOp {
	var out []MigrationOp
	for _, o := range c.Ops {
		if o.Verdict == v {
			out = append(out, o)
		}
	}
	return out
}

// Summary is one line for the operator: the verdict and its counts.
func (c MigrationCheck) Summary() string {
	if c.Err != "" {
		return "migration check: unknown (the check failed: " + c.Err + ")"
	}
	if len(c.Ops) == 0 {
		return "migration check: no pending migration"
	}
	return fmt.Sprintf("migration check on %s: %s (%s: %d breaking, %d unknown, %d safe)", c.Host, c.Verdict(),
		Plural(len(c.Ops), "operation", "operations"), len(c.With(VerdictBreaking)), len(c.With(VerdictUnknown)), len(c.With(VerdictSafe)))
}

// Lines is the check as the preview, --dry-run and the deploy print it:
// the summary, then every operation that is not safe, breaking first.
func (c MigrationCheck) Lines() []string {
	out := []string{c.Summary()}
	for _, v := range []MigrationVerdict{VerdictBreaking, VerdictUnknown} {
		for _, o := range c.With(v) {
			out = append(out, "  "+o.String())
		}
	}
	return out
}

// PendingMigration is a migration the database has not applied.
type PendingMigration struct {
	App       string `json:"app"`
	Migration string `json:"migration"`
	File      string `json:"file"`
}

// AlreadyApplied returns the migration files of files (repository paths,
// as a deploy's changes list them: app/migrations/0003_x.py) that the
// database already has: a migration file is new to the code, but a
// release rolled back after its migration left it applied. A file is
// matched to a pending migration by name and app directory. Nil when the
// check could not run: then nothing is known.
func (c MigrationCheck) AlreadyApplied(files []string) []string {
	if c.Err != "" || c.Host == "" {
		return nil
	}
	var out []string
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".py")
		app := path.Base(path.Dir(path.Dir(f)))
		if !slices.ContainsFunc(c.Pending, func(m PendingMigration) bool {
			return m.Migration == name && (m.App == app || strings.HasSuffix(m.File, "/"+f) || m.File == f)
		}) {
			out = append(out, f)
		}
	}
	return out
}

// SplitNewMigrations splits the migration files a deploy adds into those
// the database lacks (fresh: the migrate step applies them) and those it
// already has, as far as chk knows (nil: all fresh).
func SplitNewMigrations(files []string, chk *MigrationCheck) (fresh, applied []string) {
	if chk == nil {
		return files, nil
	}
	applied = chk.AlreadyApplied(files)
	for _, f := range files {
		if !slices.Contains(applied, f) {
			fresh = append(fresh, f)
		}
	}
	return fresh, applied
}

// ParseMigrationCheck reads the check script's output: one JSON object
// per operation and a last {"done": N, "pending": [...]}. Output without
// that last line is a check that did not finish, an error.
func ParseMigrationCheck(out string) ([]MigrationOp, []PendingMigration, error) {
	var ops []MigrationOp
	var pending []PendingMigration
	done := -1
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "{") {
			continue // a settings module may print
		}
		var d struct {
			Done    *int               `json:"done"`
			Pending []PendingMigration `json:"pending"`
		}
		if err := json.Unmarshal([]byte(line), &d); err == nil && d.Done != nil {
			done, pending = *d.Done, d.Pending
			continue
		}
		var o MigrationOp
		if err := json.Unmarshal([]byte(line), &o); err != nil {
			return nil, nil, fmt.Errorf("migration check: bad line %q: %w", line, err)
		}
		if _, err := ParseMigrationVerdict(string(o.Verdict)); err != nil {
			return nil, nil, fmt.Errorf("migration check: %s: %w", o.Op, err)
		}
		ops = append(ops, o)
	}
	switch {
	case done < 0:
		return nil, nil, fmt.Errorf("migration check did not finish (%d operations read)", len(ops))
	case done != len(ops):
		return nil, nil, fmt.Errorf("migration check: %d operations read, the check says %d", len(ops), done)
	}
	return ops, pending, nil
}

// BreakingMigrationError refuses a rolling or canary deploy whose
// migrations break the old code that keeps serving during it.
type BreakingMigrationError struct {
	Strategy StrategyKind
	Ops      []MigrationOp // the breaking ones
}

func (e *BreakingMigrationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "refused: a %s deploy keeps old code serving while its migrations run, and %s:", e.Strategy, Plural(len(e.Ops), "operation breaks it", "operations break it"))
	for _, o := range e.Ops {
		fmt.Fprintf(&b, " %s.%s %s (%s; %s);", o.App, o.Migration, o.Op, o.Reason, o.File)
	}
	b.WriteString(" deploy with strategy all, or with --maintenance (the balancers answer 503 from the migration to the last switch), or pass --allow-breaking-migrations once the old code tolerates it")
	return b.String()
}

// Gate says whether p may run with check's migrations: a rolling or
// canary deploy (old and new code serve at once) with a breaking
// operation is refused unless the operator allowed it. old is whether any
// old code serves at all (not the first deploy).
func (p *Plan) Gate(check MigrationCheck, old bool) error {
	if breaking := check.With(VerdictBreaking); len(breaking) > 0 && p.refusesBreaking(old) {
		return &BreakingMigrationError{Strategy: p.Strategy.Kind, Ops: breaking}
	}
	return nil
}

// refusesBreaking reports whether the plan refuses breaking migrations:
// old code serves (old) alongside new code in a rolling or canary deploy,
// and neither --allow-breaking-migrations nor --maintenance was chosen.
func (p *Plan) refusesBreaking(old bool) bool {
	if !old || p.AllowBreakingMigrations || p.Maintenance {
		return false
	}
	return p.Strategy.Kind == StrategyRolling || p.Strategy.Kind == StrategyCanary
}
