package deploy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opsui/opsui/inventory"
)

// Built-in steps: the parts of a deploy opsui does itself. Shell steps are
// recipes from the preset or the app. The names are the inventory's, which
// validates stages against them.
const (
	StepUpload  = inventory.StepUpload  // extract the artifact into releases/<id>, write REVISION
	StepSwitch  = inventory.StepSwitch  // point current at the release, atomically
	StepHealth  = inventory.StepHealth  // check each web host serves the new release
	StepCleanup = inventory.StepCleanup // prune old releases
	StepMigrate = inventory.StepMigrate // the app's migration command, once per deploy, before the switch
)

// Step is one stage of a deploy as it will run.
type Step struct {
	Name    string
	Run     string   // shell recipe; empty for the built-in steps
	Roles   []string // hosts with one of these roles; empty: every host
	Once    bool     // exactly one host per deploy
	Timeout time.Duration
	// Slot is the preset step this step is or replaces (reload, ...);
	// empty for a stage the app added.
	Slot string
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

// presetSteps returns the step list of a preset. Its names are
// inventory.PresetSteps(preset), which a test checks.
func presetSteps(preset string) ([]Step, error) {
	var steps []Step
	switch preset {
	case PresetNone:
		steps = []Step{
			{Name: StepUpload},
			{Name: "shared", Run: linkSharedScript},
			{Name: StepMigrate, Run: migrateScript, Once: true},
			{Name: StepSwitch},
			{Name: "reload", Run: reloadScript, Roles: nil},
			{Name: StepHealth},
			{Name: StepCleanup},
		}
	case PresetDjango:
		steps = []Step{
			{Name: StepUpload},
			{Name: "shared", Run: linkSharedScript},
			{Name: "build", Run: djangoBuildScript},
			{Name: "collectstatic", Run: djangoCollectstaticScript, Roles: []string{"web"}},
			{Name: StepMigrate, Run: migrateScript, Once: true},
			{Name: StepSwitch},
			{Name: "reload", Run: djangoReloadScript, Roles: []string{"web"}},
			{Name: StepHealth},
			{Name: StepCleanup},
		}
	default:
		return nil, fmt.Errorf("unknown preset %q (known: django, or none)", preset)
	}
	for i := range steps {
		steps[i].Slot = steps[i].Name
	}
	return steps, nil
}

// Steps returns the steps of app in the order they run: its preset's, with
// the app's own stages placed by inventory.PlaceStages, the one place that
// decides the order. A stage that cannot be placed (a fleet stored by an
// older opsui, which did not check) is an error: no deploy starts. The
// list always starts with upload and holds one switch.
func Steps(app inventory.App) ([]Step, error) {
	preset, err := presetSteps(app.Preset)
	if err != nil {
		return nil, fmt.Errorf("app %s: %w", app.Name, err)
	}
	slots, problems := inventory.PlaceStages(app)
	if len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = p.Msg
			if p.Stage >= 0 {
				msgs[i] = fmt.Sprintf("stages[%d] %s: %s", p.Stage, p.Field, p.Msg)
			}
		}
		return nil, fmt.Errorf("app %s: %s (fix the fleet file and import it again)", app.Name, strings.Join(msgs, "; "))
	}
	var steps []Step
	for _, sl := range slots {
		if sl.Stage < 0 {
			i := slices.IndexFunc(preset, func(s Step) bool { return s.Name == sl.Name })
			if i < 0 {
				return nil, fmt.Errorf("app %s: preset %q has no step %s", app.Name, app.Preset, sl.Name)
			}
			steps = append(steps, preset[i])
			continue
		}
		st := app.Stages[sl.Stage]
		steps = append(steps, Step{Name: st.Name, Run: st.Run, Roles: st.Roles, Once: st.Once,
			Timeout: time.Duration(st.Timeout), Slot: sl.Preset})
	}
	if len(steps) == 0 || steps[0].Name != StepUpload || !steps[0].Builtin() ||
		len(slices.DeleteFunc(slices.Clone(steps), func(s Step) bool { return !(s.Name == StepSwitch && s.Builtin()) })) != 1 {
		return nil, fmt.Errorf("app %s: steps %s do not start with upload and hold one switch", app.Name, names(steps))
	}
	staticSteps(app, steps)
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
	i := slices.IndexFunc(steps, func(s Step) bool { return s.Name == StepSwitch && s.Builtin() })
	return steps[:i], steps[i+1:]
}
