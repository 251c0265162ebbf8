package inventory

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// The steps of the presets. upload and switch are opsui's own: nothing
// replaces them, and nothing runs before upload (there is no release yet).
const (
	StepUpload        = "upload"
	StepShared        = "shared"
	StepBuild         = "build"
	StepCollectstatic = "collectstatic"
	StepMigrate       = "migrate"
	StepSwitch        = "switch"
	StepReload        = "reload"
	StepHealth        = "health"
	StepCleanup       = "cleanup"
)

// presetSteps are the step names of each preset in the order they run; ""
// is an app without a preset. ops/deploy defines what each step does and
// checks that it knows exactly these.
var presetSteps = map[string][]string{
	"":       {StepUpload, StepShared, StepMigrate, StepSwitch, StepReload, StepHealth, StepCleanup},
	"django": {StepUpload, StepShared, StepBuild, StepCollectstatic, StepMigrate, StepSwitch, StepReload, StepHealth, StepCleanup},
}

// presetMigrate are the migrate and migrate_plan commands of each preset,
// run in the release with the app's environment when the app sets none:
// a Django project needs no fleet-file line to migrate.
var presetMigrate = map[string][2]string{
	"django": {"./venv/bin/python manage.py migrate --noinput", "./venv/bin/python manage.py showmigrations --plan"},
}

// MigrateCommand returns the command that applies the app's migrations:
// its migrate, else its preset's; empty when there is none.
func (a App) MigrateCommand() string {
	if a.Migrate != "" {
		return a.Migrate
	}
	return presetMigrate[a.Preset][0]
}

// MigratePlanCommand returns the command that lists the app's migrations
// without applying them: its migrate_plan, else its preset's when the app
// does not set its own migrate (a plan of another tool would not match).
func (a App) MigratePlanCommand() string {
	if a.MigratePlan != "" || a.Migrate != "" {
		return a.MigratePlan
	}
	return presetMigrate[a.Preset][1]
}

// PresetSteps returns the names of preset's steps in the order they run.
func PresetSteps(preset string) ([]string, bool) {
	s, ok := presetSteps[preset]
	return slices.Clone(s), ok
}

// reservedStages are names opsui gives its own stages outside the step list.
var reservedStages = []string{"inspect", "rollback"}

var stageNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Slot is one place in a deploy's step list: a preset step, or one of the
// app's stages.
type Slot struct {
	Name string // the name the step runs (and is reported) under
	// Preset is the preset step the slot is, or stands in for when a stage
	// replaced it; empty for a stage the app added.
	Preset string
	// Stage is the index of the app's stage in App.Stages; -1 for a preset
	// step.
	Stage int
}

// StageProblem is a stage that cannot be placed. Field is the stage's field
// at fault (name, run or position); Stage is -1 for the app's preset.
type StageProblem struct {
	Stage int
	Field string
	Msg   string
}

// PlaceStages returns the steps of app in the order they run: its preset's,
// with each of its stages placed by its Position (before:NAME, after:NAME,
// replace:NAME; empty runs it before cleanup, which stays last). NAME is a
// preset step or a stage declared earlier. It is the one place that decides
// the order: validation reports its problems at import, and a deploy runs
// what it returns. A stage with a problem is left out, so every stage
// returned runs exactly where it says.
func PlaceStages(app App) ([]Slot, []StageProblem) {
	preset, ok := presetSteps[app.Preset]
	if !ok {
		return nil, []StageProblem{{Stage: -1, Field: "preset", Msg: fmt.Sprintf("unknown preset %q (known: %s)", app.Preset, strings.Join(Presets, ", "))}}
	}
	var slots []Slot
	for _, n := range preset {
		slots = append(slots, Slot{Name: n, Preset: n, Stage: -1})
	}
	var ps []StageProblem
	bad := func(j int, field, format string, args ...any) {
		ps = append(ps, StageProblem{Stage: j, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	declared := map[string]int{}
	for j, st := range app.Stages {
		n := len(ps)
		verb, ref, _ := strings.Cut(st.Position, ":")
		switch {
		case st.Name == "":
			bad(j, "name", "stage name is empty")
		case !stageNameRe.MatchString(st.Name):
			bad(j, "name", "invalid stage name %q (use letters, digits, '.', '-' and '_')", st.Name)
		case slices.Contains(reservedStages, st.Name):
			bad(j, "name", "stage name %q is opsui's own (name it differently)", st.Name)
		case st.Name == StepUpload || st.Name == StepSwitch:
			bad(j, "name", "stage name %q is a built-in step, which cannot be replaced (name it differently)", st.Name)
		case slices.Contains(preset, st.Name) && st.Position != "replace:"+st.Name:
			bad(j, "name", "stage name %q is the name of a preset step (name it differently, or give position replace:%s to replace that step)", st.Name, st.Name)
		default:
			if k, dup := declared[st.Name]; dup {
				bad(j, "name", "duplicate stage %q (first declared as stages[%d])", st.Name, k)
			}
		}
		if strings.TrimSpace(st.Run) == "" {
			bad(j, "run", "stage %q has nothing to run", st.Name)
		}
		at := len(slots)
		if st.Position == "" {
			// Added stages run before cleanup, which stays last.
			if i := slices.IndexFunc(slots, func(s Slot) bool { return s.Preset == StepCleanup }); i >= 0 {
				at = i
			}
		} else {
			i := slices.IndexFunc(slots, func(s Slot) bool { return s.Name == ref || s.Preset == ref })
			switch {
			case ref == "" || (verb != "before" && verb != "after" && verb != "replace"):
				bad(j, "position", "invalid position %q (want before:STAGE, after:STAGE or replace:STAGE)", st.Position)
			case i < 0 && slices.ContainsFunc(app.Stages[j+1:], func(s Stage) bool { return s.Name == ref }):
				bad(j, "position", "position %q: stage %s is declared after this one (stages are placed in order: declare %s first)", st.Position, ref, ref)
			case i < 0:
				bad(j, "position", "position %q: no step %s (the steps are %s)", st.Position, ref, slotNames(slots))
			case verb == "before" && slots[i].Preset == StepUpload:
				bad(j, "position", "position %q: nothing can run before upload, the release does not exist yet (use after:upload)", st.Position)
			case verb == "replace" && (ref == StepUpload || ref == StepSwitch):
				bad(j, "position", "position %q: the %s step is opsui's own and cannot be replaced", st.Position, ref)
			case verb == "replace" && slots[i].Preset == "":
				bad(j, "position", "position %q: replace names a preset step (%s); %s is a stage of the app", st.Position, strings.Join(preset, ", "), ref)
			case verb == "replace" && slots[i].Stage >= 0:
				bad(j, "position", "position %q: the %s step is replaced already, by stage %s", st.Position, ref, slots[i].Name)
			case verb == "before":
				at = i
			case verb == "after":
				at = i + 1
			case verb == "replace":
				at = -1 - i
			}
		}
		if st.Name != "" {
			if _, dup := declared[st.Name]; !dup {
				declared[st.Name] = j
			}
		}
		if len(ps) > n {
			continue // left out: a stage with a problem never runs anywhere
		}
		s := Slot{Name: st.Name, Stage: j}
		if at < 0 {
			s.Preset = slots[-1-at].Preset
			slots[-1-at] = s
			continue
		}
		slots = slices.Insert(slots, at, s)
	}
	return slots, ps
}

func slotNames(slots []Slot) string {
	ns := make([]string, len(slots))
	for i, s := range slots {
		ns[i] = s.Name
	}
	return strings.Join(ns, ", ")
}
