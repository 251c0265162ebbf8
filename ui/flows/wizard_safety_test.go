package flows

import (
	"context"
	"errors"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/themes"
	"github.com/opsui/opsui/ui/common"
)

func TestWizardPreviewShowsFreezeAndMigrationVerdict(t *testing.T) {
	st := common.NewStyles(themes.Dark())
	if l := safetyLines(st, ops.Preview{}, 200); len(l) != 0 {
		t.Errorf("nothing to say, said %q", l)
	}
	p := ops.Preview{Frozen: errors.New("refused: production is frozen until 2026-12-07 08:00 CET: weekend"),
		MigrationCheck: &deploy.MigrationCheck{Host: "web1", Ops: []deploy.MigrationOp{
			{App: "shop", Migration: "0003_drop", Op: "Remove field quantity from order", Verdict: deploy.VerdictBreaking, Reason: "drops column", File: "shop/migrations/0003_drop.py"},
			{App: "shop", Migration: "0003_drop", Op: "Raw Python operation", Verdict: deploy.VerdictUnknown, Reason: "RunPython"},
			{App: "shop", Migration: "0003_drop", Op: "Add field note to product", Verdict: deploy.VerdictSafe},
		}}}
	text := strings.Join(safetyLines(st, p, 400), "\n")
	for _, want := range []string{"FROZEN: refused: production is frozen", "migration check on web1: breaking", "will be refused: choose strategy all",
		"breaking shop.0003_drop #0 Remove field quantity from order: drops column (shop/migrations/0003_drop.py)", "unknown shop.0003_drop #0 Raw Python operation"} {
		if !strings.Contains(text, want) {
			t.Errorf("the preview lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Add field note") {
		t.Errorf("the preview lists a safe operation:\n%s", text)
	}
}

// TestReleasesShowTheSafetyNotesOfTheCursorRelease: the releases view
// says, under the list, what the release under the cursor was let
// through (a freeze) or ran (a breaking migration), and nothing of others.
func TestReleasesShowTheSafetyNotesOfTheCursorRelease(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	fns := ff.fns()
	fns.SafetyNotes = func(_ context.Context, rs []store.Release) ([]string, error) {
		if len(rs) < 2 {
			return nil, nil
		}
		return []string{rs[0].ReleaseID + ` shop/staging: break glass by ann: "hotfix" (frozen: weekend)`,
			rs[1].ReleaseID + " shop/staging: migrations breaking; shop.0003 Remove field quantity from order"}, nil
	}
	d := newFlowDriver(t, fns, nil)
	d.send(tea.WindowSizeMsg{Width: 140, Height: 30})
	d.press("R")
	d.see("which app, in which environment?")
	d.press("enter")
	v := d.see(`break glass by ann: "hotfix"`)
	if strings.Contains(v, "Remove field quantity") {
		t.Errorf("the notes of a release off the cursor are shown:\n%s", v)
	}
	d.press("j")
	v = d.see("migrations breaking; shop.0003 Remove field quantity from order")
	if strings.Contains(v, "break glass by ann") {
		t.Errorf("the first release's note stays under the cursor's:\n%s", v)
	}
}

// TestWizardPreviewDoesNotCallAppliedMigrationsNew: a migration file the
// live code lacks but the database has (a release rolled back after it
// migrated) is listed apart, not among the new migrations the deploy runs.
func TestWizardPreviewDoesNotCallAppliedMigrationsNew(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	fns := ff.fns()
	preview := fns.Preview
	fns.Preview = func(ctx context.Context, app, env, ref string) (ops.Preview, error) {
		p, err := preview(ctx, app, env, ref)
		p.Migrations = append(p.Migrations, "shop/migrations/0003_note.py")
		p.MigrationCheck = &deploy.MigrationCheck{Host: "stg-web1",
			Pending: []deploy.PendingMigration{{App: "shop", Migration: "0003_note", File: "/srv/shop/releases/x/shop/migrations/0003_note.py"}}}
		return p, err
	}
	d := newFlowDriver(t, fns, nil)
	d.send(tea.WindowSizeMsg{Width: 140, Height: 60})
	toStaging(d)
	d.press("enter")
	d.see("ref>", "branch main")
	d.press("enter")
	v := d.see("new migrations (1): run once, on the migration host, before the switch", "migrations the database already has (1): not run again")
	fresh, applied := strings.Index(v, "shop/migrations/0003_note.py"), strings.Index(v, "shop/migrations/0002_cart.py")
	if head := strings.Index(v, "migrations the database already has"); !(fresh < head && head < applied) {
		t.Errorf("0003 (pending) should be new and 0002 (applied) listed apart:\n%s", v)
	}
}
