package flows

import (
	"charm.land/bubbles/v2/key"

	runview "github.com/opsui/opsui/ui/run"
)

// KeyMap is the flows' keys. The console's key table (ui/keys.go) is
// their one source: it binds them (KeyMap.flowKeys there), this package
// only matches them.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	// The steps: forward, back, the last question, leaving.
	NextStep, PrevStep, Confirm, Back key.Binding
	// Apply and Cancel end what is typed: the confirmation's name, the
	// ref list's and the releases' filters.
	Apply, Cancel, Filter key.Binding
	// A flow's form and typed lists move with arrows only, so that
	// letters stay text; Toggle flips an item of a flow's plan.
	FieldUp, FieldDown, ChoicePrev, ChoiceNext, Toggle key.Binding
	// Rollback rolls back from a deploy's summary or refuses the canary;
	// the releases view marks two releases, compares them, opens one.
	Rollback, Mark, Compare, Open key.Binding
	// The run of a flow: its failed hosts, following, aborting.
	NextFailed, Follow, CancelRun key.Binding
	Help                          key.Binding
	// Run is the run view's keys (ui/run), for the panes of a flow's run
	// and of a release's recorded run.
	Run runview.KeyMap
}

// runKeys is the run view's keys.
func (k KeyMap) runKeys() runview.KeyMap { return k.Run }
