package deploy

import (
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
)

// Plan is a deploy decided but not started: what goes where, in which
// order.
type Plan struct {
	Fleet     *inventory.Fleet
	App       inventory.App
	Env       inventory.Environment
	Hosts     []inventory.Host // in the order they are switched
	Source    Source
	ReleaseID string
	Steps     []Step
	Batches   [][]inventory.Host
	Strategy  Strategy
	MaxFail   int
	// KnownGood is the release the environment ran successfully last; it
	// is never cleaned up.
	KnownGood string
	// Balancers are the environment's load balancers (hosts with role lb):
	// each batch is drained from them before its switch and put back after.
	Balancers []inventory.Host
	// Resume finishes ReleaseID on the hosts that do not run it yet,
	// reusing what an earlier attempt unpacked.
	Resume bool
	// Select is how Hosts were chosen from the environment, and
	// LastRelease the newest release recorded for the app there when the
	// plan was made (PreviewDeploy): Execute checks both again.
	Select      HostSelection
	LastRelease string
	// AllowBreakingMigrations lets a rolling or canary deploy run
	// migrations the compatibility check finds breaking (Gate).
	AllowBreakingMigrations bool
	// Maintenance puts the site in maintenance before the migration and
	// takes it out after the last switch (maintenance_deploy.go); it lets
	// breaking migrations through as AllowBreakingMigrations does.
	Maintenance bool
	// MaintenanceMessage and MaintenanceRetryAfter are what the balancers
	// answer meanwhile (deployMaintenanceMessage and DefaultRetryAfter when
	// empty).
	MaintenanceMessage    string
	MaintenanceRetryAfter time.Duration
	// BreakGlass is the operator's reason to deploy inside a freeze
	// window (recorded and announced by ops); "" refuses the deploy there.
	BreakGlass string
	// EnvChanges are the keys of shared/.env the deploy changes on its
	// hosts (PreviewDeploy; envpreview.go): names only.
	EnvChanges []EnvChange
	// Watch, when set, is the regression watch's duration after each
	// batch instead of the app's watch: (0 turns it off).
	Watch *time.Duration
	// NoBuildCache runs the app's build even when the cache has its
	// artifact; BuildCache is the cache's directory ("": BuildCacheDir's).
	NoBuildCache bool
	BuildCache   string
	// BuildPreview is BuildNote as PreviewDeploy read it: what a view
	// shows without reading the cache while it renders.
	BuildPreview string
}

// NewPlan decides a deploy of src to hosts.
func NewPlan(f *inventory.Fleet, app inventory.App, env inventory.Environment, hosts []inventory.Host,
	src Source, releaseID string, strategy Strategy) (*Plan, error) {
	if len(hosts) == 0 {
		return nil, fmt.Errorf("deploy %s to %s: no hosts", app.Name, env.Name)
	}
	steps, err := Steps(app)
	if err != nil {
		return nil, err
	}
	// The fleet file is checked at import; a store written by an older
	// opsui was not. The link step checks again on the host.
	for _, e := range app.Shared {
		if msg := inventory.SharedEntryProblem(e); msg != "" {
			return nil, fmt.Errorf("app %s: %s (fix the fleet file and import it again)", app.Name, msg)
		}
	}
	// Balancer names and addresses go into nginx's config and HAProxy's
	// runtime API: checked again for the same reason.
	for _, h := range f.Select(inventory.Filter{Env: env.Name}) {
		for _, role := range h.Roles {
			set := f.SettingsFor(h, role)
			for _, k := range slices.Sorted(maps.Keys(set.Options)) {
				if msg := inventory.OptionProblem(role, k, set.Options[k]); msg != "" {
					return nil, fmt.Errorf("host %s, role %s: %s (fix the fleet file and import it again)", h.Name, role, msg)
				}
			}
			if set.Sudo && (set.Reload != "" || !set.Managed()) {
				if _, err := inventory.SudoCommand(set.Reload); err != nil {
					return nil, fmt.Errorf("host %s, role %s: %w (fix the fleet file and import it again)", h.Name, role, err)
				}
			}
		}
	}
	p := &Plan{Fleet: f, App: app, Env: env, Hosts: hosts, Source: src, ReleaseID: releaseID,
		Steps: steps, Balancers: f.Select(inventory.Filter{Env: env.Name, Role: RoleLB})}
	if err := p.batch(strategy); err != nil {
		return nil, err
	}
	return p, nil
}

// WithStrategy is p with its hosts switched by strategy instead: the same
// inventory, hosts, commit and release, batched anew without any I/O. The
// wizard's strategy step makes the plan it confirms this way from the
// preview's.
func (p *Plan) WithStrategy(strategy Strategy) (*Plan, error) {
	q := *p
	if err := q.batch(strategy); err != nil {
		return nil, err
	}
	return &q, nil
}

// batch splits the plan's hosts into strategy's batches.
func (p *Plan) batch(strategy Strategy) error {
	sizes, err := strategy.batchSizes(len(p.Hosts))
	if err != nil {
		return err
	}
	p.Strategy, p.MaxFail, p.Batches = strategy, strategy.MaxFail.Of(len(p.Hosts)), nil
	i := 0
	for _, n := range sizes {
		p.Batches = append(p.Batches, p.Hosts[i:i+n:i+n])
		i += n
	}
	return nil
}

// DeployTo returns where the app lives on host h.
func (p *Plan) DeployTo(h inventory.Host) string { return p.App.DeployToOn(h) }

// env returns the documented environment of step s on host h, and the
// preset's knobs from the host's role settings.
func (p *Plan) env(h inventory.Host, s Step) map[string]string {
	deployTo := p.DeployTo(h)
	role := ""
	for _, r := range h.Roles {
		if len(s.Roles) == 0 || s.AppliesTo(inventory.Host{Roles: []string{r}}) {
			role = r
			break
		}
	}
	e := map[string]string{
		"RELEASE_ID":     p.ReleaseID,
		"RELEASE_DIR":    deployTo + "/releases/" + p.ReleaseID,
		"COMMIT":         p.Source.Commit,
		"BRANCH":         p.Source.Branch,
		"DEPLOY_TO":      deployTo,
		"SHARED_DIR":     deployTo + "/shared",
		"ROLE":           role,
		"HOST":           h.Name,
		"ENV":            p.Env.Name,
		"OPSUI_SHARED":   strings.Join(p.App.Shared, "\n"),
		"OPSUI_SHARED_N": strconv.Itoa(len(p.App.Shared)),
		"OPSUI_TARGET":   p.ReleaseID,
	}
	if m := p.App.MigrateCommand(); m != "" {
		e["OPSUI_MIGRATE"] = m
	}
	if p.App.HasEnv() {
		e["OPSUI_ENV_FILE"] = deployTo + "/" + envFileName
	}
	if p.App.StrictRequirements {
		e["OPSUI_STRICT_REQUIREMENTS"] = "1"
	}
	set := p.Fleet.SettingsFor(h, role)
	if set.Reload != "" {
		e["OPSUI_RELOAD"] = set.Reload
		if set.Sudo {
			e["OPSUI_RELOAD"] = "sudo " + set.Reload // checked literal at import (inventory.SudoCommand)
		}
	}
	switch set.Process {
	case inventory.ProcessSupervisord:
		e["OPSUI_PROGRAM"], e["OPSUI_SUPERVISOR_CONF"] = inventory.SupervisorProgram(p.App.Name, set)
	case inventory.ProcessSystemd:
		e["OPSUI_UNIT"] = inventory.SystemdUnit(p.App.Name, set)
	}
	if set.Sudo && set.Managed() {
		e["OPSUI_PM_SUDO"] = "1"
	}
	if p.App.Preset == PresetDjango && s.Slot == inventory.StepReload {
		bind, workers := serverOptions(set)
		e["OPSUI_SERVER_CONF"] = GunicornServerConf(deployTo, bind, workers, p.App.HasEnv())
		e["OPSUI_SERVER_DESC"] = fmt.Sprintf("%d workers on %s", workers, bind)
		e["OPSUI_SERVER_BIND"], e["OPSUI_SERVER_WORKERS"] = bind, strconv.Itoa(workers) // the re-exec's (reexec.go)
	}
	for _, k := range []string{"bind", "wsgi", "python", "gunicorn", "workers"} {
		if v := set.Options[k]; v != "" {
			e["OPSUI_"+strings.ToUpper(k)] = v
		}
	}
	return e
}

// health returns the health check of host h, if it has one. The URL is
// the host's own (its role settings), else the app's (for web hosts), else
// its roles' default; the app's check gives the expectation, retries and
// deadline. The expectation's $RELEASE_ID and $COMMIT are filled in, so a
// host that answers but did not reload fails it.
func (p *Plan) health(h inventory.Host, releaseID, commit string) (url, expect string, retries int, deadline time.Duration, ok bool) {
	retries, deadline = defaultHealthChecks, defaultHealthWait
	for _, r := range h.Roles {
		if u := h.Settings[r].HealthURL; u != "" {
			url = u
			break
		}
	}
	if hc := p.App.Health; hc != nil && (url != "" || h.HasRole("web")) {
		if url == "" {
			url = hc.URL
		}
		expect = hc.Expect
		if hc.Retries > 0 {
			retries = hc.Retries
		}
		if hc.Deadline > 0 {
			deadline = time.Duration(hc.Deadline)
		}
	}
	for _, r := range h.Roles {
		if u := p.Fleet.SettingsFor(h, r).HealthURL; url == "" && u != "" {
			url = u
		}
	}
	if url == "" {
		return "", "", 0, 0, false
	}
	expect = os.Expand(expect, func(k string) string {
		switch k {
		case "RELEASE_ID":
			return releaseID
		case "COMMIT":
			return commit
		}
		return "$" + k
	})
	return url, expect, retries, deadline, true
}

// Describe writes the plan as a dry run shows it: the batches, and each
// step with the hosts it runs on and its command with the values filled in.
func (p *Plan) Describe(w io.Writer) {
	fmt.Fprintf(w, "deploy %s to %s: release %s, commit %s", p.App.Name, p.Env.Name, p.ReleaseID, p.Source.Commit)
	if p.Source.Branch != "" {
		fmt.Fprintf(w, " (branch %s)", p.Source.Branch)
	}
	fmt.Fprintf(w, "\n  %s\n", p.Source.Subject)
	fmt.Fprintf(w, "%s, auto-rollback %v\n", strategyLine(p.Strategy, len(p.Batches), p.MaxFail), p.Strategy.AutoRollback)
	for i, b := range p.Batches {
		fmt.Fprintf(w, "  batch %d: %s\n", i+1, hostNames(b))
	}
	p.describeWatch(w)
	if p.Maintenance {
		st := p.MaintenanceState()
		fmt.Fprintf(w, "maintenance: every balancer answers 503 (Retry-After %s) from the migration to the last switch: %q\n",
			st.RetryAfter, st.Message)
	}
	p.describeBuild(w) // build_plan.go
	fmt.Fprintln(w, "steps:")
	for i, s := range p.Steps {
		var on []inventory.Host
		for _, h := range p.Hosts {
			if s.AppliesTo(h) {
				on = append(on, h)
			}
		}
		if s.Once && len(on) > 1 {
			on = on[:1]
		}
		fmt.Fprintf(w, "  %d. %s on %s\n", i+1, s.Name, hostNames(on))
		if len(on) == 0 {
			continue
		}
		env := p.env(on[0], s)
		switch {
		case s.Name == StepUpload && s.Builtin():
			fmt.Fprintf(w, "       unpack the artifact (%s) into %s, write REVISION\n", p.artifactName(), env["RELEASE_DIR"])
			p.describeEnv(w, on[0])
		case s.Name == StepSwitch && s.Builtin():
			fmt.Fprintf(w, "       ln -sfn %s/releases/%s + mv -T over %s/current\n", env["DEPLOY_TO"], p.ReleaseID, env["DEPLOY_TO"])
		case s.Name == StepHealth && s.Builtin():
			p.describeHealth(w, on)
		case s.Name == StepMigrate && s.Run == migrateScript && p.App.MigrateCommand() == "":
			fmt.Fprintf(w, "       skipped: app %s has no migrate command (set migrate: in the fleet file)\n", p.App.Name)
		case s.Name == StepCleanup && s.Builtin():
			fmt.Fprintf(w, "       keep %d releases (never current, %s, or one in use)\n", p.App.Keep(), orNone(p.KnownGood))
		case s.Run == staticOnceScript || s.Run == djangoCollectstaticScript:
			p.describeStatic(w, s, on)
			fallthrough
		default:
			// The script exactly as it runs, and the values it is given:
			// opsui never pastes a value into a script.
			for line := range strings.SplitSeq(strings.TrimRight(s.Run, "\n"), "\n") {
				fmt.Fprintf(w, "       %s\n", line)
			}
			if vars := scriptVars(s.Run, env); len(vars) > 0 {
				fmt.Fprintf(w, "     its environment on %s:\n", on[0].Name)
				for _, k := range vars {
					fmt.Fprintf(w, "       %s=%s\n", k, remote.Quote(env[k]))
				}
			}
		}
	}
	p.describeWorkers(w, len(p.Steps)+1) // worker.go
}

// describeEnv writes what the upload step puts in shared/.env: the keys
// of the first host's environment, secrets by name only (a dry run
// resolves none).
func (p *Plan) describeEnv(w io.Writer, h inventory.Host) {
	if !p.App.HasEnv() {
		return
	}
	env := p.App.EnvFor(h)
	keys := inventory.EnvKeys(env)
	for i, k := range keys {
		if v := env[k]; v.IsSecret() {
			keys[i] = k + "=" + v.String()
		}
	}
	fmt.Fprintf(w, "       then write %s (mode 600) from the fleet file's env, over the session's standard input; on %s: %s\n",
		envFileName, h.Name, strings.Join(keys, ", "))
}

// describeHealth writes the health check of every host of on, one line per
// distinct check (each host has its own URL).
func (p *Plan) describeHealth(w io.Writer, on []inventory.Host) {
	type check struct {
		url, expect string
		retries     int
		deadline    time.Duration
	}
	var order []check
	hosts := map[check][]inventory.Host{}
	var none []inventory.Host
	for _, h := range on {
		url, expect, retries, deadline, ok := p.health(h, p.ReleaseID, p.Source.Commit)
		if !ok {
			none = append(none, h)
			continue
		}
		c := check{url, expect, retries, deadline}
		if _, seen := hosts[c]; !seen {
			order = append(order, c)
		}
		hosts[c] = append(hosts[c], h)
	}
	for _, c := range order {
		fmt.Fprintf(w, "       GET %s until the body contains %q (%s, %s) on %s\n", c.url, c.expect, Plural(c.retries, "try", "tries"), c.deadline, hostNames(hosts[c]))
	}
	if hc := p.App.Health; hc != nil && len(order) > 0 {
		for _, hd := range hc.RequestHeaders() {
			fmt.Fprintf(w, "       with header %s\n", hd)
		}
	}
	if len(none) > 0 {
		fmt.Fprintf(w, "       no health check configured on %s\n", hostNames(none))
	}
}

// scriptVars returns the variables of env that script names, sorted.
func scriptVars(script string, env map[string]string) []string {
	var out []string
	for _, m := range varRe.FindAllStringSubmatch(script, -1) {
		if _, ok := env[m[1]]; ok && !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}

var varRe = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)

func orNone(s string) string {
	if s == "" {
		return "no known-good release"
	}
	return "known-good " + s
}

func hostNames(hs []inventory.Host) string {
	if len(hs) == 0 {
		return "(no host)"
	}
	ns := make([]string, len(hs))
	for i, h := range hs {
		ns[i] = h.Name
	}
	return strings.Join(ns, ", ")
}

// NewReleaseID returns the id of a release started at now: its UTC time,
// made later than last (the newest id recorded) when the clock says
// otherwise, so ids stay unique and ordered.
func NewReleaseID(now time.Time, last string) string {
	const layout = "20060102150405"
	t := now.UTC().Truncate(time.Second)
	if prev, err := time.Parse(layout, last); err == nil && !t.After(prev) {
		t = prev.Add(time.Second)
	}
	return t.Format(layout)
}

// strategyLine says how a plan's hosts go, as every plan's description
// says it: "strategy rolling, 3 batches, stop after 1 failed host".
func strategyLine(s Strategy, batches, maxFail int) string {
	return fmt.Sprintf("strategy %s, %s, stop after %s", s.Kind, Plural(batches, "batch", "batches"),
		Plural(maxFail+1, "failed host", "failed hosts"))
}
