package flows

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ui/common"
)

// offersMaintenance reports whether the wizard offers deploy --maintenance
// for preview p: its migration check marks a breaking operation, and
// every balancer of the environment can answer 503 (nginx with
// options.maintenance_file).
func offersMaintenance(p ops.Preview) bool {
	if p.Plan == nil || p.MigrationCheck == nil || p.MigrationCheck.Verdict() != deploy.VerdictBreaking {
		return false
	}
	_, err := deploy.MaintenanceBalancers(deploy.MaintenanceOptions{Fleet: p.Plan.Fleet, App: p.Plan.App.Name, Env: p.Plan.Env.Name})
	return err == nil
}

// maintenanceKey toggles the deploy's maintenance mode in the preview,
// when it is offered; it reports whether it took the key.
func (s *deploySpec) maintenanceKey(f *wizard, km tea.KeyPressMsg) bool {
	if !f.loaded || !offersMaintenance(f.plan) || !key.Matches(km, f.env.keys.Toggle) {
		return false
	}
	s.maint = !s.maint
	return true
}

// maintenanceLines are the preview's offer, and the choice made.
func (s *deploySpec) maintenanceLines(f *wizard, width int) []string {
	if !offersMaintenance(f.plan) {
		return nil
	}
	st, k := f.env.ctx.Styles, common.KeyName(f.env.keys.Toggle)
	if s.maint {
		return []string{"", st.Warn.Render(common.Clip("[x] maintenance mode ("+k+" turns it off): every balancer answers 503 from the migration to the last switch; a rolling deploy may then run this migration", width))}
	}
	return []string{"", st.Muted.Render(common.Clip("[ ] maintenance mode ("+k+" turns it on): every balancer answers 503 from the migration to the last switch, so a rolling deploy may run this migration", width))}
}

// withMaintenance is the plan to run: with maintenance when chosen (and
// still offered), a copy, so the preview's plan stays as read.
func (s *deploySpec) withMaintenance(planned ops.Preview) *deploy.Plan {
	p := planned.Plan
	if !s.maint || !offersMaintenance(planned) {
		return p
	}
	q := *p
	q.Maintenance = true
	return &q
}
