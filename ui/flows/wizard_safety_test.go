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
