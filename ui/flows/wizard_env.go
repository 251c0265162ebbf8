package flows

import (
	"fmt"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ui/common"
)

// envChangeLines are the preview's lines about the keys of shared/.env
// the deploy changes on its hosts, since opsui rendered it last: names
// only, a secret as ‹secret NAME›.
func envChangeLines(st common.Styles, p *deploy.Plan, width int) []string {
	if p == nil || len(p.EnvChanges) == 0 {
		return nil
	}
	l := []string{"", st.Header.Render(fmt.Sprintf("env changes (%d) in shared/.env", len(p.EnvChanges)))}
	for _, c := range p.EnvChanges {
		l = append(l, common.Clip("  "+c.String(), width))
	}
	return l
}
