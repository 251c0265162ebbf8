package flows

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/cache"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ui/common"
)

// The releases view as a component (common.Component[Flow]); its body is
// in releases.go and compare.go.

// Init: newReleasesView starts the first read.
func (v *releasesView) Init() tea.Cmd { return nil }

// Update handles the view's messages and keys; nil: back to the fleet.
func (v *releasesView) Update(msg tea.Msg) (Flow, tea.Cmd) { return v.update(msg) }

// SetSize sets the flow area's size.
func (v *releasesView) SetSize(w, h int) { v.env.setSize(w, h) }

// View draws the list, a release's output or a comparison.
func (v *releasesView) View() string { return v.view(v.env.size()) }

// KeyMap is the keys of what is shown.
func (v *releasesView) KeyMap() []key.Binding { return v.help() }

// The flows answer the console's one component contract.
var (
	_ common.Component[Flow] = (*wizard)(nil)
	_ common.Component[Flow] = (*releasesView)(nil)
	_ common.Component[Flow] = (*opFlow[ops.RollbackPreview, *deploy.Outcome])(nil)
	_ common.Component[Flow] = (*opFlow[ops.MigrationPlan, deploy.MigrationResult])(nil)
	_ common.Component[Flow] = (*opFlow[[]cache.Spec, []cache.Result])(nil)
)
