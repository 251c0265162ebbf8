package deploy

import (
	"context"

	"github.com/opsui/opsui/inventory"
)

// alongside splits seg, the steps before the once step once, into the
// steps every candidate host must be through before once starts and the
// steps that may run alongside it. The Django preset's migration does not
// depend on the preset's collectstatic (nor collectstatic on the schema),
// so the migration starts as soon as its host's release is ready
// (upload, shared links, build) instead of after collectstatic. Only the
// preset's own steps are moved past: with a stage of the app's between
// them, or the app's own collectstatic or migration, the order stays as
// written.
func alongside(seg []Step, once Step) (before, along []Step) {
	if once.Name != StepMigrate || once.Run != migrateScript || once.Slot != StepMigrate {
		return seg, nil
	}
	i := len(seg)
	for i > 0 && independentOfMigration(seg[i-1]) {
		i--
	}
	return seg[:i], seg[i:]
}

// independentOfMigration reports whether s is a preset step the
// migration may run alongside: the preset's collectstatic, per host or
// once.
func independentOfMigration(s Step) bool {
	return s.Name == inventory.StepCollectstatic && s.Slot == inventory.StepCollectstatic &&
		(s.Run == djangoCollectstaticScript || s.Run == staticOnceScript)
}

// runSteps runs steps on host h, one after the other, while it has work.
func (r *runner) runSteps(ctx context.Context, steps []Step, h *hostRun) {
	for _, s := range steps {
		if h.todo() && s.AppliesTo(h.host) {
			r.runOn(ctx, s, h)
		}
	}
}
