package flows

import (
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ui/common"
)

// buildLines are the preview's lines about the app's build: that it will
// run on this machine before anything is uploaded, or that its artifact
// is cached (deploy.Plan.BuildNote, the dry run's words).
func buildLines(st common.Styles, p *deploy.Plan, width int) []string {
	if p == nil {
		return nil
	}
	note := p.BuildNote()
	if note == "" {
		return nil
	}
	return []string{"", st.Header.Render("build (on this machine, before the lock)"), common.Clip("  "+note, width)}
}
