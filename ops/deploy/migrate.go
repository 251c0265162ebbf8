package deploy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// RoleMigrate marks the host migrations run on.
const RoleMigrate = "db-migrate"

// migrateScript runs the app's migration command in the release, once per
// deploy, on the migration host, before any host switches: the new code's
// schema is in place before the new code serves.
const migrateScript = `if [ -z "$OPSUI_MIGRATE" ]; then echo "no migrate command: skipped"; exit 0; fi
cd -- "$RELEASE_DIR" && eval "$OPSUI_MIGRATE"
`

// migrationsRan tells from a migration command's output whether it applied
// any migration. Django says "Applying app.name... OK" per migration and
// "No migrations to apply." otherwise; other tools are assumed to have
// applied something when they printed anything, so a rollback warns
// rather than stays silent.
func migrationsRan(out string) bool {
	switch {
	case strings.Contains(out, "no migrate command: skipped"), strings.Contains(out, "No migrations to apply"):
		return false
	case strings.Contains(out, "Applying "):
		return true
	}
	return strings.TrimSpace(out) != ""
}

// MigrationHost returns the host migrations run on: the first with the
// db-migrate role, else the first web host, else the first.
func MigrationHost(hosts []inventory.Host) (inventory.Host, bool) {
	for _, role := range []string{RoleMigrate, "web"} {
		for _, h := range hosts {
			if h.HasRole(role) {
				return h, true
			}
		}
	}
	if len(hosts) > 0 {
		return hosts[0], true
	}
	return inventory.Host{}, false
}

// Migration is one entry of a migration plan.
type Migration struct {
	App, Name string
	Applied   bool
}

func (m Migration) String() string { return m.App + "." + m.Name }

var planLine = regexp.MustCompile(`^\[( |X|x)\]\s+([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)`)

// ParsePlan reads Django's `showmigrations --plan` output ("[X]  app.0001_x",
// "[ ]  app.0002_y"); ok is false when the output is not in that form.
func ParsePlan(out string) (ms []Migration, ok bool) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		m := planLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		ms = append(ms, Migration{App: m[2], Name: m[3], Applied: m[1] != " "})
	}
	return ms, len(ms) > 0
}

// Pending returns the migrations of ms not applied yet.
func Pending(ms []Migration) []Migration {
	var out []Migration
	for _, m := range ms {
		if !m.Applied {
			out = append(out, m)
		}
	}
	return out
}

// NewMigrationFiles lists the migration files added between two commits of
// the app's repository: what a deploy from one to the other will apply.
func NewMigrationFiles(ctx context.Context, repo, from, to string) ([]string, error) {
	if from == "" {
		return nil, nil
	}
	out, err := git(ctx, repo, "diff", "--name-only", "--diff-filter=A", from, to, "--", "*migrations/*.py")
	if err != nil {
		return nil, err
	}
	var files []string
	for f := range strings.SplitSeq(out, "\n") {
		if f != "" && !strings.HasSuffix(f, "/__init__.py") {
			files = append(files, f)
		}
	}
	return files, nil
}

// MigrationResult is what Migrate and MigrationPlan report.
type MigrationResult struct {
	Host    string
	Output  string
	Plan    []Migration // parsed, when the output is a Django plan
	Applied bool
	Outcome *Outcome
}

// MigrationPlan runs the app's plan command (migrate_plan) in the current
// release of the migration host, without the lock: it changes nothing.
func (d *Deployer) MigrationPlan(ctx context.Context, p *Plan) (MigrationResult, error) {
	h, ok := MigrationHost(p.Hosts)
	if !ok {
		return MigrationResult{}, fmt.Errorf("no host to plan migrations on")
	}
	planCmd := p.App.MigratePlanCommand()
	if planCmd == "" {
		return MigrationResult{}, fmt.Errorf("app %s has no migrate_plan command (its preset has none either)", p.App.Name)
	}
	t, ok := d.Targets[h.Name]
	if !ok {
		return MigrationResult{}, fmt.Errorf("no SSH target for host %s", h.Name)
	}
	deployTo := p.DeployTo(h)
	env := map[string]string{"DEPLOY_TO": deployTo, "OPSUI_PLAN": planCmd}
	if p.App.HasEnv() {
		env["OPSUI_ENV_FILE"] = deployTo + "/" + envFileName
	}
	out, res := runCapture(ctx, d.Conn, t, withEnv(`cd -- "$DEPLOY_TO/current" && eval "$OPSUI_PLAN"`), env, 5*time.Minute)
	if res.Status != remote.StatusOK {
		return MigrationResult{Host: h.Name}, fmt.Errorf("migration plan on %s: %w", h.Name, hostErr(res, out))
	}
	ms, _ := ParsePlan(out)
	return MigrationResult{Host: h.Name, Output: out, Plan: ms}, nil
}

// Migrate runs the app's migration command once, in the current release
// of the migration host, under the deploy lock, recorded as a run; when it
// applied migrations, the current release's record says so.
func (d *Deployer) Migrate(ctx context.Context, p *Plan, current store.Release) (MigrationResult, error) {
	began := time.Now()
	h, ok := MigrationHost(p.Hosts)
	if !ok {
		return MigrationResult{}, fmt.Errorf("no host to run migrations on")
	}
	if p.App.MigrateCommand() == "" {
		return MigrationResult{}, fmt.Errorf("app %s has no migrate command (set migrate: in the fleet file)", p.App.Name)
	}
	mp := *p
	mp.Hosts = []inventory.Host{h}
	mp.Steps = []Step{{Name: StepMigrate, Run: migrateScript, Once: true, Timeout: time.Hour}}
	r, err := d.newRunner(&mp)
	if err != nil {
		return MigrationResult{}, err
	}
	rel := &store.Release{ReleaseID: current.ReleaseID, Commit: current.Commit}
	t0 := time.Now()
	l, err := r.start(ctx, store.KindMigrate, rel)
	if err != nil {
		return MigrationResult{Host: h.Name}, r.refuse(ctx, err)
	}
	defer r.unlock(ctx, l)
	lockTook := time.Since(t0)
	hr := r.hosts[0]
	r.events.stage(hr, StepMigrate)
	env := mp.env(h, mp.Steps[0])
	env["RELEASE_DIR"] = hr.deployTo + "/current"
	out, ok := r.runStep(ctx, hr, StepMigrate, withEnv(migrateScript), env, time.Hour, nil, true)
	applied := ok && migrationsRan(out)
	if ok {
		hr.mu.Lock()
		hr.switched = true // nothing switched: it finished its work
		hr.mu.Unlock()
	}
	var result store.ReleaseResult = store.ReleaseSuccess
	if !ok {
		result = store.ReleaseFailed
	}
	o := r.finish(ctx, &store.Release{ReleaseID: current.ReleaseID}, result, began)
	o.Timing.Lock, o.Timing.Activate = lockTook, r.clock.took(h.Name)
	if applied && current.ID != 0 {
		if err := d.Store.SetMigrationsApplied(ctx, current.ID); err != nil {
			o.Notes = append(o.Notes, err.Error())
		}
	}
	return MigrationResult{Host: h.Name, Output: out, Applied: applied, Outcome: o}, nil
}

// MigrateRequest is a migrate as an operator asks for it: the app,
// environment and hosts, resolved in the inventory read for it.
type MigrateRequest struct {
	Fleet  *inventory.Fleet
	App    inventory.App
	Env    inventory.Environment
	Select HostSelection
	Hosts  []inventory.Host // SelectHosts(Fleet, Env.Name, Select)
}

// MigratePlan is a migrate decided but not started: the release it runs
// in and the host it runs on.
type MigratePlan struct {
	Plan *Plan
	// Current is the environment's current release, which it runs in and
	// marks migrated; zero when none is recorded.
	Current store.Release
	Host    inventory.Host // MigrationHost(Plan.Hosts)
}

// PreviewMigrate decides a migrate without changing anything: the
// environment's current release on its migration host. The CLI and the
// console list its pending migrations (Deployer.MigrationPlan of its
// Plan) and run it with ExecuteMigrate.
func PreviewMigrate(ctx context.Context, st *store.Store, req MigrateRequest) (*MigratePlan, error) {
	cur, err := st.LatestRelease(ctx, req.App.Name, req.Env.Name, true)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("the current release of %s on %s: %w", req.App.Name, req.Env.Name, err)
	}
	last, err := lastRelease(ctx, st, req.App.Name, req.Env.Name)
	if err != nil {
		return nil, err
	}
	p, err := NewPlan(req.Fleet, req.App, req.Env, req.Hosts, Source{Commit: cur.Commit}, cur.ReleaseID, Strategy{})
	if err != nil {
		return nil, &PlanError{err}
	}
	p.Select, p.LastRelease = req.Select, last
	h, _ := MigrationHost(p.Hosts) // NewPlan refuses no hosts
	return &MigratePlan{Plan: p, Current: cur, Host: h}, nil
}

// ExecuteMigrate runs mp, the migrate the operator saw and confirmed, as
// it is: like Execute, it refuses with a *FleetChangedError when the
// inventory or the release records changed since the preview (a release
// recorded since would be migrated unseen).
func (d *Deployer) ExecuteMigrate(ctx context.Context, mp *MigratePlan) (MigrationResult, error) {
	if err := CheckPlan(ctx, d.Store, mp.Plan); err != nil {
		return MigrationResult{}, err
	}
	return d.Migrate(ctx, mp.Plan, mp.Current)
}
