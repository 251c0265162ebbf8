package ui

import (
	"strings"
	"testing"
)

func TestFlowsOffInReadOnlyMode(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	d := newFlowDriver(t, ff.fns(), nil)
	d.a.ctx.ReadOnly = true
	for _, k := range []string{"d", "r", "m", "F"} {
		d.press(k)
		if d.a.mode != modeFleet || !strings.Contains(viewText(d.a), "read-only") {
			t.Errorf("%s opened a flow in read-only mode", k)
		}
	}
	d.press("R")
	d.see("releases")
}
