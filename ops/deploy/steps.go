package deploy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opsui/opsui/inventory"
)

// Built-in steps: the parts of a deploy opsui does itself. Shell steps are
// recipes from the preset or the app.
const (
	StepUpload  = "upload"  // extract the artifact into releases/<id>, write REVISION
	StepSwitch  = "switch"  // point current at the release, atomically
	StepHealth  = "health"  // check each web host serves the new release
	StepCleanup = "cleanup" // prune old releases
	StepMigrate = "migrate" // the app's migration command, once per deploy, before the switch
)

// builtin steps cannot be replaced: without them there is no release.
var fixed = []string{StepUpload, StepSwitch}

// Step is one stage of a deploy as it will run.
type Step struct {
	Name    string
	Run     string   // shell recipe; empty for the built-in steps
	Roles   []string // hosts with one of these roles; empty: every host
	Once    bool     // exactly one host per deploy
	Timeout time.Duration
}

// Builtin reports whether opsui runs the step itself.
func (s Step) Builtin() bool {
	switch s.Name {
	case StepUpload, StepSwitch, StepHealth, StepCleanup:
		return s.Run == ""
	}
	return false
}

// AppliesTo reports whether the step runs on host h.
func (s Step) AppliesTo(h inventory.Host) bool {
	if len(s.Roles) == 0 {
		return true
	}
	return slices.ContainsFunc(s.Roles, h.HasRole)
}

// Default step timeouts: a stuck recipe must not hold the deploy lock forever.
const (
	defaultStepTimeout  = 10 * time.Minute
	defaultHealthChecks = 10
	defaultHealthWait   = 30 * time.Second
)

// Presets.
const (
	PresetNone   = ""
	PresetDjango = "django"
)

// presetSteps returns the step list of a preset.
func presetSteps(preset string) ([]Step, error) {
	switch preset {
	case PresetNone:
		return []Step{
			{Name: StepUpload},
			{Name: "shared", Run: linkSharedScript},
			{Name: StepMigrate, Run: migrateScript, Once: true},
			{Name: StepSwitch},
			{Name: "reload", Run: reloadScript, Roles: nil},
			{Name: StepHealth},
			{Name: StepCleanup},
		}, nil
	case PresetDjango:
		return []Step{
			{Name: StepUpload},
			{Name: "shared", Run: linkSharedScript},
			{Name: "build", Run: djangoBuildScript},
			{Name: "collectstatic", Run: djangoCollectstaticScript, Roles: []string{"web"}},
			{Name: StepMigrate, Run: migrateScript, Once: true},
			{Name: StepSwitch},
			{Name: "reload", Run: djangoReloadScript, Roles: []string{"web"}},
			{Name: StepHealth},
			{Name: StepCleanup},
		}, nil
	}
	return nil, fmt.Errorf("unknown preset %q (known: django, or none)", preset)
}

// Steps returns the steps of app: its preset's, with the app's own stages
// placed by their Position (before:NAME, after:NAME, replace:NAME, or
// appended).
func Steps(app inventory.App) ([]Step, error) {
	steps, err := presetSteps(app.Preset)
	if err != nil {
		return nil, fmt.Errorf("app %s: %w", app.Name, err)
	}
	for _, st := range app.Stages {
		s := Step{Name: st.Name, Run: st.Run, Roles: st.Roles, Once: st.Once, Timeout: time.Duration(st.Timeout)}
		if strings.TrimSpace(s.Run) == "" {
			return nil, fmt.Errorf("app %s: stage %s has nothing to run", app.Name, st.Name)
		}
		where, ref, _ := strings.Cut(st.Position, ":")
		if st.Position == "" {
			where = ""
		}
		i := slices.IndexFunc(steps, func(x Step) bool { return x.Name == ref })
		switch where {
		case "":
			if j := slices.IndexFunc(steps, func(x Step) bool { return x.Name == s.Name }); j >= 0 {
				return nil, fmt.Errorf("app %s: stage %s already exists (use position replace:%s)", app.Name, s.Name, s.Name)
			}
			// Appended stages run before cleanup, which stays last.
			if j := slices.IndexFunc(steps, func(x Step) bool { return x.Name == StepCleanup }); j >= 0 {
				steps = slices.Insert(steps, j, s)
			} else {
				steps = append(steps, s)
			}
			continue
		case "before", "after", "replace":
		default:
			return nil, fmt.Errorf("app %s: stage %s: position %q: want before:NAME, after:NAME or replace:NAME", app.Name, st.Name, st.Position)
		}
		if i < 0 {
			return nil, fmt.Errorf("app %s: stage %s: position %q: no stage %s in %s", app.Name, st.Name, st.Position, ref, names(steps))
		}
		switch where {
		case "before":
			steps = slices.Insert(steps, i, s)
		case "after":
			steps = slices.Insert(steps, i+1, s)
		case "replace":
			if slices.Contains(fixed, ref) {
				return nil, fmt.Errorf("app %s: stage %s: the %s stage cannot be replaced", app.Name, st.Name, ref)
			}
			steps[i] = s
		}
	}
	return steps, nil
}

func names(steps []Step) string {
	ns := make([]string, len(steps))
	for i, s := range steps {
		ns[i] = s.Name
	}
	return strings.Join(ns, ", ")
}

// split divides steps at the switch: what prepares the release (nothing a
// user can see) and what activates it.
func split(steps []Step) (prepare, activate []Step) {
	i := slices.IndexFunc(steps, func(s Step) bool { return s.Name == StepSwitch })
	return steps[:i], steps[i+1:]
}
