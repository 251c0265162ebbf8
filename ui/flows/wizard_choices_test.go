package flows

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
)

// choicesWizard opens the wizard on staging with the fake's preview
// changed by edit, and goes to the strategy step (drawn without colour).
func choicesWizard(t *testing.T, edit func(*ops.Preview)) (fakeFlows, *driver) {
	t.Helper()
	ff := newFakeFlows(sampleFleet(t))
	fns := ff.fns()
	preview := fns.Preview
	fns.Preview = func(ctx context.Context, app, env, ref string) (ops.Preview, error) {
		p, err := preview(ctx, app, env, ref)
		edit(&p)
		return p, err
	}
	d := newFlowDriver(t, fns, nil)
	d.send(tea.WindowSizeMsg{Width: 200, Height: 60})
	toStaging(d)
	d.press("enter")
	d.see("ref>", "branch main")
	d.press("enter")
	d.see("commits it brings")
	d.press("enter")
	d.see("auto-rollback", "watch")
	return ff, d
}

var dropColumn = &deploy.MigrationCheck{Host: "stg-web1", Ops: []deploy.MigrationOp{
	{App: "shop", Migration: "0003_drop", Op: "Remove field quantity from order", Verdict: deploy.VerdictBreaking, Reason: "drops a column old code reads",
		File: "shop/migrations/0003_drop.py"}}}

// TestWizardAllowBreakingMigrations: with a breaking operation in the
// preview, the strategy step offers to allow it (default No, the
// operation named); not choosing refuses the rolling deploy with the
// CLI's words, choosing it puts --allow-breaking-migrations' field in
// the plan that runs.
func TestWizardAllowBreakingMigrations(t *testing.T) {
	ff, d := choicesWizard(t, func(p *ops.Preview) { p.MigrationCheck = dropColumn })
	d.see("allow breaking", "[No] yes: a rolling or canary deploy is refused (shop.0003_drop Remove field quantity from order)")
	d.press("right") // rolling
	d.see("[rolling]", "invalid: refused: a rolling deploy keeps old code serving while its migrations run")
	d.press("enter")
	d.see("refused: a rolling deploy keeps old code serving")
	if d.settle(); ff.Count("deploy") != 0 || strings.Contains(d.viewText(), "y confirm") {
		t.Fatal("a rolling deploy with a breaking migration not allowed went on")
	}
	d.press("down", "down", "down", "down") // batch sizes, failures, auto-rollback, allow breaking
	d.press("right")
	d.see("no [Yes]: old code will meet shop.0003_drop Remove field quantity from order", "batch 1: stg-web1")
	d.press("enter")
	d.see("breaking migrations allowed (as --allow-breaking-migrations): shop.0003_drop Remove field quantity from order", "y confirm")
	d.press("y")
	d.see("release R1: success")
	if p := ff.Deployed[0]; !p.AllowBreakingMigrations || p.Strategy.Kind != deploy.StrategyRolling || p.Watch != nil || p.BreakGlass != "" {
		t.Errorf("the plan run: allow %v, strategy %s, watch %v, break glass %q", p.AllowBreakingMigrations, p.Strategy.Kind, p.Watch, p.BreakGlass)
	}
}

// TestWizardOffersNoChoiceThatDoesNotApply: no breaking operation, no
// freeze: only the watch is offered, and the plan runs as the CLI's
// without flags.
func TestWizardOffersNoChoiceThatDoesNotApply(t *testing.T) {
	ff, d := choicesWizard(t, func(*ops.Preview) {})
	if v := d.viewText(); strings.Contains(v, "allow breaking") || strings.Contains(v, "break glass") || !strings.Contains(v, "the app's: off") {
		t.Errorf("choices that do not apply are offered, or the watch is not:\n%s", v)
	}
	d.press("enter")
	d.see("y confirm")
	if v := d.viewText(); strings.Contains(v, "as --") {
		t.Errorf("the confirmation names a choice not made:\n%s", v)
	}
	d.press("y")
	d.see("release R1: success")
	if p := ff.Deployed[0]; p.AllowBreakingMigrations || p.Watch != nil || p.BreakGlass != "" {
		t.Errorf("the plan run carries choices not made: %+v", p)
	}
}

// TestWizardBreakGlassNeedsAReason: inside a freeze the deploy is refused
// with the freeze named until a reason is typed; the reason goes in the
// plan as --break-glass's.
func TestWizardBreakGlassNeedsAReason(t *testing.T) {
	frozen := errors.New("refused: staging is frozen until 2026-12-07 08:00 CET: weekend (team freeze 1: Sat-Mon)")
	ff, d := choicesWizard(t, func(p *ops.Preview) { p.Frozen = frozen })
	d.see("break glass", "why deploy inside the freeze")
	d.press("enter")
	d.see("staging is frozen until 2026-12-07 08:00 CET: weekend (team freeze 1: Sat-Mon); type a break-glass reason")
	if d.settle(); strings.Contains(d.viewText(), "y confirm") {
		t.Fatal("a deploy inside a freeze went on without a reason")
	}
	d.press("down", "down", "down", "down") // to break glass
	d.press("hotfix for the checkout outage")
	d.press("enter")
	d.see(`break glass: "hotfix for the checkout outage" (recorded and announced as --break-glass)`, "y confirm")
	d.press("y")
	d.see("release R1: success")
	if p := ff.Deployed[0]; p.BreakGlass != "hotfix for the checkout outage" || p.AllowBreakingMigrations {
		t.Errorf("the plan run: break glass %q, allow %v", p.BreakGlass, p.AllowBreakingMigrations)
	}
}

// TestWizardWatchOverride: the watch field defaults to the app's (no
// override); a duration typed is --watch's, 0 turns the watch off, and
// anything else is refused with how to write it.
func TestWizardWatchOverride(t *testing.T) {
	ff, d := choicesWizard(t, func(*ops.Preview) {})
	d.press("down", "down", "down", "down") // to watch
	d.press("soon")
	d.see(`invalid: watch "soon": give a duration such as 90s or 2m (0 turns the watch off)`)
	d.cur.(*wizard).strategy.choices.watch.SetValue("")
	d.press("45s", "enter")
	d.see("regression watch 45s after each batch (as --watch; the app's: off)", "y confirm")
	d.press("y")
	d.see("release R1: success")
	if p := ff.Deployed[0]; p.Watch == nil || *p.Watch != 45*time.Second {
		t.Errorf("the plan run: watch %v, want 45s", p.Watch)
	}
}
