package flows

import (
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ui/common"
)

// buildLines are the preview's lines about the app's build: that it will
// run on this machine before anything is uploaded, or that its artifact
// is cached (deploy.Plan.BuildNote, the dry run's words, as the preview
// read it: a view reads no file).
func buildLines(st common.Styles, p *deploy.Plan, width int) []string {
	if p == nil || p.BuildPreview == "" {
		return nil
	}
	note := p.BuildPreview
	return []string{"", st.Header.Render("build (on this machine, before the lock)"), common.Clip("  "+note, width)}
}
