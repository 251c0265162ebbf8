package flows

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/themes"
	"github.com/opsui/opsui/ui/common"
)

// TestSummarySaysTheFailureAgainstItsStep: a deploy's summary says the
// result in words with its run number ("run 42", no record number), each
// host's end as every screen does: the step it failed at with its reason
// and what the switch back left; never "rolled_back" or the step twice.
func TestSummarySaysTheFailureAgainstItsStep(t *testing.T) {
	st := common.NewStyles(themes.Dark().WithoutColor())
	out := &deploy.Outcome{ReleaseID: "R2", Record: 7, RunID: 42, Result: store.ReleaseRolledBack, Timing: deploy.Timing{Total: 33 * time.Second},
		Hosts: []deploy.HostOutcome{
			{Host: "web1", Status: deploy.HostRolledBack, Step: "health", Duration: 31 * time.Second,
				Err: errors.New("health: http://web1/health/ answered HTTP 500 after 30 tries: broken; rolled back to R1: healthy")},
			{Host: "web2", Status: deploy.HostRolledBack, Step: "", Duration: 2 * time.Second,
				Err: errors.New("switched back to R1: web1 failed after the switch; healthy")},
			{Host: "web3", Status: deploy.HostSkipped, Step: store.HostNotReached},
		}}
	text := ansi.Strip(strings.Join(outcomeLines(st, out, nil), "\n"))
	for _, want := range []string{
		"release R2: rolled back in 33.0s · run 42",
		"web1                31.0s  failed at health: http://web1/health/ answered HTTP 500 after 30 tries: broken; rolled back to R1: healthy",
		"web2                 2.0s  rolled back to R1: web1 failed after the switch; healthy",
		"web3                  0ms  not reached",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the summary lacks %q:\n%s", want, text)
		}
	}
	for _, bad := range []string{"rolled_back", "record #", "run #", "health: health", "at rolled back"} {
		if strings.Contains(text, bad) {
			t.Errorf("the summary says %q:\n%s", bad, text)
		}
	}
}
