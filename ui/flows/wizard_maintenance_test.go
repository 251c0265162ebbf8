package flows

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
)

// TestWizardOffersMaintenanceForABreakingMigration: when the preview marks
// a breaking migration and staging's balancer can answer 503, the
// preview offers maintenance mode; space turns it on, the confirmation
// says so, and the plan run has Maintenance (a rolling deploy then goes
// through). Without the balancer's maintenance_file nothing is offered.
func TestWizardOffersMaintenanceForABreakingMigration(t *testing.T) {
	for _, capable := range []bool{true, false} {
		fl := sampleFleet(t)
		for i, h := range fl.Hosts {
			if h.Env == "staging" && h.HasRole("lb") {
				opts := map[string]string{"preset": "nginx", "upstream_file": "/etc/nginx/shop-upstream.conf"}
				if capable {
					opts["maintenance_file"] = "/etc/nginx/shop-maintenance.conf"
				}
				fl.Hosts[i].Settings = map[string]inventory.RoleSettings{"lb": {Options: opts}}
			}
		}
		ff := newFakeFlows(fl)
		fns := ff.fns()
		preview := fns.Preview
		fns.Preview = func(ctx context.Context, app, env, ref string) (ops.Preview, error) {
			p, err := preview(ctx, app, env, ref)
			p.MigrationCheck = &deploy.MigrationCheck{Host: "stg-web1", Ops: []deploy.MigrationOp{{App: "shop", Migration: "0003_drop",
				Op: "Remove field quantity from order", Verdict: deploy.VerdictBreaking, Reason: "drops column", File: "shop/migrations/0003_drop.py"}}}
			return p, err
		}
		d := newFlowDriver(t, fns, nil)
		d.send(tea.WindowSizeMsg{Width: 200, Height: 80})
		toStaging(d)
		d.press("enter")
		d.see("ref>", "branch main")
		d.press("enter")
		v := d.see("migration check on stg-web1: breaking")
		if !capable {
			if strings.Contains(v, "maintenance mode") {
				t.Errorf("maintenance offered without a balancer that can answer 503:\n%s", v)
			}
			continue
		}
		if !strings.Contains(v, "[ ] maintenance mode (space turns it on)") {
			t.Fatalf("no offer of maintenance mode:\n%s", v)
		}
		d.press("space")
		d.see("[x] maintenance mode (space turns it off)")
		d.press("enter")
		d.see("strategy", "[all]")
		d.press("right")
		d.see("[rolling]")
		d.press("enter")
		d.see("to staging", "in maintenance mode from the migration to the last switch?")
		d.press("y")
		d.see("summary", "release R1: success")
		if len(ff.Deployed) != 1 || !ff.Deployed[0].Maintenance || ff.Deployed[0].Strategy.Kind != deploy.StrategyRolling {
			t.Fatalf("deployed %+v", ff.Deployed)
		}
		if ff.Previewed[0].Maintenance {
			t.Error("the preview's own plan was changed")
		}
	}
}
