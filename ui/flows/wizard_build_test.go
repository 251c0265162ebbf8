package flows

import (
	"strings"
	"testing"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/themes"
	"github.com/opsui/opsui/ui/common"
)

// TestPreviewSaysTheBuildRuns: the wizard's preview says, in the dry run's
// words, that the app's build will run on this machine; an app without a
// build shows nothing about it.
func TestPreviewSaysTheBuildRuns(t *testing.T) {
	st := common.NewStyles(themes.Dark().WithoutColor())
	p := &deploy.Plan{App: inventory.App{Name: "shop", Build: &inventory.Build{Run: []string{"make wheels"}}},
		Source: deploy.Source{Commit: "c2c2c2c2c2c2c2c2"}, BuildCache: t.TempDir()}
	p.BuildPreview = p.BuildNote() // as deploy.PreviewDeploy does
	got := strings.Join(buildLines(st, p, 200), "\n")
	for _, want := range []string{"build (on this machine, before the lock)", "build: will run 1 command on this machine (timeout 10m0s): nothing cached for c2c2c2c2c2c2"} {
		if !strings.Contains(got, want) {
			t.Errorf("the preview lacks %q:\n%s", want, got)
		}
	}
	p.App.Build = nil
	p.BuildPreview = p.BuildNote()
	if l := buildLines(st, p, 200); l != nil {
		t.Errorf("an app without a build: %q", l)
	}
}
