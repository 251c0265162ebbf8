package flows

import (
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ui/common"
)

// safetyLines are the preview's freeze and migration-check lines: what
// would refuse the deploy, said before the strategy is chosen.
func safetyLines(st common.Styles, p ops.Preview, width int) []string {
	var l []string
	if p.Frozen != nil {
		l = append(l, "", st.Error.Render(common.Clip("FROZEN: "+p.Frozen.Error(), width)))
	}
	c := p.MigrationCheck
	if c == nil {
		return l
	}
	l = append(l, "")
	style := st.Muted
	switch c.Verdict() {
	case deploy.VerdictBreaking:
		style = st.Error
	case deploy.VerdictUnknown:
		style = st.Warn
	}
	for i, s := range c.Lines() {
		if i == 0 && c.Verdict() == deploy.VerdictBreaking {
			s += " — a rolling or canary deploy will be refused: choose strategy all"
		}
		l = append(l, style.Render(common.Clip(s, width)))
	}
	return l
}
