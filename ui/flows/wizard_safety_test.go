package flows

import (
	"errors"
	"strings"
	"testing"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
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
