package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/store"
)

// A config release changes an app's environment on the hosts of one
// environment without touching its code: the environment's env block
// (apps[].env_per_environment[ENV]) is edited in the stored fleet, and
// shared/.env is rendered again on every host under the deploy lock, then
// the app server reloads gracefully and the health check runs, batch by
// batch like a deploy, the previous shared/.env restored where it fails.

// ConfigRequest is a config release as an operator asks for it, its
// target resolved in the inventory read for it.
type ConfigRequest struct {
	Fleet  *inventory.Fleet
	App    inventory.App
	Env    inventory.Environment
	Select HostSelection
	Hosts  []inventory.Host
	Action store.ConfigAction
	// Set gives keys a value or a secret reference; Unset removes keys
	// from the environment's env block.
	Set   map[string]inventory.EnvValue
	Unset []string
	// Restore is the env block a rollback puts back, and RollbackOf the
	// config release it undoes.
	Restore    map[string]inventory.EnvValue
	RollbackOf *store.ConfigRelease
	Strategy   Strategy // a zero one is DefaultStrategy(Env)
}

// ConfigPlan is a config release decided but not started.
type ConfigPlan struct {
	// Plan holds the hosts, batches and steps; its App is the app as the
	// store has it now (before), its release and commit those live.
	Plan   *Plan
	Action store.ConfigAction
	// Before and After are the environment's env block.
	Before, After map[string]inventory.EnvValue
	// Changes are the keys of the env block that change; HostChanges the
	// keys that change on each host (a host's own env_per_host wins).
	Changes     []store.EnvChange
	HostChanges map[string][]store.EnvChange
	// Live is the release the environment runs: its code stays.
	Live       store.Release
	RollbackOf *store.ConfigRelease
}

// AfterApp is the app with the plan's env block.
func (cp *ConfigPlan) AfterApp() inventory.App {
	app := cp.Plan.App
	per := maps.Clone(app.EnvPerEnvironment)
	if per == nil {
		per = map[string]map[string]inventory.EnvValue{}
	}
	if len(cp.After) == 0 {
		delete(per, cp.Plan.Env.Name)
	} else {
		per[cp.Plan.Env.Name] = maps.Clone(cp.After)
	}
	app.EnvPerEnvironment = per
	return app
}

// Subject is the release record's subject: what the config release does,
// key names only.
func (cp *ConfigPlan) Subject() string {
	switch {
	case cp.Action == store.ConfigApply:
		return "config: env rendered again (secrets re-read)"
	case cp.Action == store.ConfigRollback && cp.RollbackOf != nil:
		return fmt.Sprintf("config: env from before run %d restored (%s)", cp.RollbackOf.RunID.Int64, ChangeWords(cp.Changes))
	}
	return "config: " + ChangeWords(cp.Changes)
}

// ChangeWords names changes by key: "set A, B; unset C".
func ChangeWords(cs []store.EnvChange) string {
	var set, unset []string
	for _, c := range cs {
		if c.Change == ChangeRemoved {
			unset = append(unset, c.Key)
		} else {
			set = append(set, c.Key)
		}
	}
	var parts []string
	if len(set) > 0 {
		parts = append(parts, "set "+strings.Join(set, ", "))
	}
	if len(unset) > 0 {
		parts = append(parts, "unset "+strings.Join(unset, ", "))
	}
	if len(parts) == 0 {
		return "no key changes"
	}
	return strings.Join(parts, "; ")
}

// Kinds of EnvChange.
const (
	ChangeAdded   = "added"
	ChangeChanged = "changed"
	ChangeRemoved = "removed"
)

// envChanges compares two environments key by key.
func envChanges(before, after map[string]inventory.EnvValue) []store.EnvChange {
	var out []store.EnvChange
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	for _, k := range inventory.EnvKeys(keys) {
		b, inB := before[k]
		a, inA := after[k]
		switch {
		case inB && !inA:
			out = append(out, store.EnvChange{Key: k, Change: ChangeRemoved, Old: b.String()})
		case !inB && inA:
			out = append(out, store.EnvChange{Key: k, Change: ChangeAdded, New: a.String()})
		case a != b:
			out = append(out, store.EnvChange{Key: k, Change: ChangeChanged, Old: b.String(), New: a.String()})
		}
	}
	return out
}

// ConfigInputError is a config release refused for what it was asked:
// a key, a secret or a fleet it would make invalid.
type ConfigInputError struct{ Err error }

func (e *ConfigInputError) Error() string { return e.Err.Error() }
func (e *ConfigInputError) Unwrap() error { return e.Err }

// PlanConfig decides a config release without changing anything: the
// environment's env block after the change, checked as an import checks
// it, the keys that change on each host, and the hosts' batches. The
// environment must run a release already (its code stays) and the app
// must declare an environment its hosts load.
func PlanConfig(ctx context.Context, st *store.Store, req ConfigRequest) (*ConfigPlan, error) {
	app, env := req.App, req.Env.Name
	if !app.HasEnv() {
		return nil, &ConfigInputError{fmt.Errorf("app %s declares no environment yet: add env: to the fleet file, import it and deploy once "+
			"(a config release changes an environment the hosts already load)", app.Name)}
	}
	live, err := st.LatestRelease(ctx, app.Name, env, true)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &ConfigInputError{fmt.Errorf("no successful release of %s to %s is recorded: deploy it first (a config release keeps the live code)", app.Name, env)}
	} else if err != nil {
		return nil, err
	}
	before := maps.Clone(app.EnvPerEnvironment[env])
	after := maps.Clone(before)
	if after == nil {
		after = map[string]inventory.EnvValue{}
	}
	switch req.Action {
	case store.ConfigSet:
		for _, k := range inventory.EnvKeys(req.Set) {
			v := req.Set[k]
			if msg := inventory.EnvKeyProblem(k); msg != "" {
				return nil, &ConfigInputError{errors.New(msg)}
			}
			if v.IsSecret() {
				if _, ok := app.Secrets[v.Secret]; !ok {
					return nil, &ConfigInputError{fmt.Errorf("%s: secret %q is not declared in the secrets: of app %s (declare where it is read from, env, file or command, in the fleet file and import it)",
						k, v.Secret, app.Name)}
				}
			}
			after[k] = v
		}
	case store.ConfigUnset:
		for _, k := range req.Unset {
			if _, ok := after[k]; ok {
				delete(after, k)
				continue
			}
			where := "is not declared"
			if _, ok := app.Env[k]; ok {
				where = "is declared for every environment (apps[].env), not for " + env + " alone"
			}
			return nil, &ConfigInputError{fmt.Errorf("%s %s: env unset removes keys of env_per_environment.%s only; edit the fleet file for the others", k, where, env)}
		}
	case store.ConfigRollback:
		after = maps.Clone(req.Restore)
	case store.ConfigApply:
	default:
		return nil, &ConfigInputError{fmt.Errorf("unknown config action %q", req.Action)}
	}
	cp := &ConfigPlan{Action: req.Action, Before: before, After: after, Changes: envChanges(before, after), Live: live,
		RollbackOf: req.RollbackOf, HostChanges: map[string][]store.EnvChange{}}
	if req.Action != store.ConfigApply && req.Action != store.ConfigRollback && len(cp.Changes) == 0 {
		return nil, &ConfigInputError{fmt.Errorf("nothing to change: %s/%s has these values already (opsui env apply renders it again)", app.Name, env)}
	}
	strategy := req.Strategy
	if strategy.Kind == "" {
		strategy = DefaultStrategy(req.Env)
	}
	src := Source{Ref: live.ReleaseID, Commit: live.Commit, Branch: live.Branch, Subject: live.Subject}
	p, err := NewPlan(req.Fleet, app, req.Env, req.Hosts, src, live.ReleaseID, strategy)
	if err != nil {
		return nil, &PlanError{err}
	}
	last, err := lastRelease(ctx, st, app.Name, env)
	if err != nil {
		return nil, err
	}
	p.Select, p.LastRelease = req.Select, last
	cp.Plan = p
	// The fleet as it will be is checked as an import checks it: a
	// secret left declared but unused, a key that is not a name.
	f := req.Fleet.Clone()
	for i := range f.Apps {
		if f.Apps[i].Name == app.Name {
			f.Apps[i] = cp.AfterApp()
		}
	}
	if err := inventory.Validate(f); err != nil {
		return nil, &ConfigInputError{fmt.Errorf("the fleet would not be valid after this change: %w", err)}
	}
	if !cp.AfterApp().HasEnv() {
		return nil, &ConfigInputError{fmt.Errorf("the change leaves app %s without any environment: edit the fleet file instead", app.Name)}
	}
	afterApp := cp.AfterApp()
	for _, h := range p.Hosts {
		if cs := envChanges(app.EnvFor(h), afterApp.EnvFor(h)); len(cs) > 0 {
			cp.HostChanges[h.Name] = cs
		}
	}
	return cp, nil
}

// WithStrategy is cp with its hosts batched by strategy instead.
func (cp *ConfigPlan) WithStrategy(strategy Strategy) (*ConfigPlan, error) {
	p, err := cp.Plan.WithStrategy(strategy)
	if err != nil {
		return nil, err
	}
	q := *cp
	q.Plan = p
	return &q, nil
}

// Describe writes the config release as a dry run shows it: the keys that
// change on each host (secrets by name), the batches and what runs.
func (cp *ConfigPlan) Describe(w io.Writer) {
	p := cp.Plan
	fmt.Fprintf(w, "config release of %s to %s (%s): the code stays release %s, commit %s\n", p.App.Name, p.Env.Name, cp.Action,
		cp.Live.ReleaseID, cp.Live.Commit)
	if cp.RollbackOf != nil {
		fmt.Fprintf(w, "restores the environment from before the config release of run %d (%s, by %s)\n", cp.RollbackOf.RunID.Int64, cp.RollbackOf.Subject, cp.RollbackOf.Operator)
	}
	fmt.Fprintf(w, "env_per_environment.%s: %s\n", p.Env.Name, ChangeWords(cp.Changes))
	for _, h := range p.Hosts {
		cs := cp.HostChanges[h.Name]
		if len(cs) == 0 {
			what := "no key changes"
			if cp.Action == store.ConfigApply || cp.Action == store.ConfigRollback {
				what += "; shared/.env rendered again, its secrets re-read"
			} else if len(cp.Changes) > 0 {
				what += " (its env_per_host overrides them)"
			}
			fmt.Fprintf(w, "  %s: %s\n", h.Name, what)
			continue
		}
		fmt.Fprintf(w, "  %s:\n", h.Name)
		for _, c := range cs {
			switch c.Change {
			case ChangeAdded:
				fmt.Fprintf(w, "    + %s=%s\n", c.Key, c.New)
			case ChangeRemoved:
				fmt.Fprintf(w, "    - %s (was %s)\n", c.Key, c.Old)
			default:
				fmt.Fprintf(w, "    ~ %s: %s -> %s\n", c.Key, c.Old, c.New)
			}
		}
	}
	fmt.Fprintf(w, "%s, auto-rollback %v\n", strategyLine(p.Strategy, len(p.Batches), p.MaxFail), p.Strategy.AutoRollback)
	for i, b := range p.Batches {
		fmt.Fprintf(w, "  batch %d: %s\n", i+1, hostNames(b))
	}
	fmt.Fprintf(w, "on each host, under the deploy lock: keep shared/.env as shared/.env.opsui-prev, write the new one (mode 600, over the session's standard input), then %s and the health check\n",
		strings.Join(reloadStepNames(p.Steps), ", "))
}

// reloadStepNames names the steps in the reload slot: what a config
// release runs after writing shared/.env.
func reloadStepNames(steps []Step) []string {
	var out []string
	for _, s := range configSteps(steps) {
		if s.Name != StepHealth {
			out = append(out, s.Name)
		}
	}
	if len(out) == 0 {
		out = []string{"no reload (the app has none)"}
	}
	return out
}

// configSteps are the deploy's steps a config release runs after writing
// shared/.env: those in the reload slot (the preset's graceful reload, or
// the stage that replaces it), then the built-in health check. Stages
// after the switch that are not the reload do not run: the code did not
// change.
func configSteps(steps []Step) []Step {
	_, activate := split(steps)
	var out []Step
	for _, s := range activate {
		if s.Slot == inventory.StepReload && !s.Builtin() {
			out = append(out, s)
		}
	}
	for _, s := range activate {
		if s.Name == StepHealth && s.Builtin() {
			out = append(out, s)
		}
	}
	return out
}
