package flows

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/store"
)

// TestReleasesShowTheWatchAndNewErrorsOfTheCursorRelease: the releases
// view (drawn without colour) says under the list the watch verdict of
// the release under the cursor and the new errors first seen in it, in
// the words of opsui releases (ops.WatchAndErrorNotes); a clean release
// after it says none.
func TestReleasesShowTheWatchAndNewErrorsOfTheCursorRelease(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	fns := ff.fns()
	fns.SafetyNotes = func(_ context.Context, rs []store.Release) ([]string, error) {
		if len(rs) < 2 {
			return nil, nil
		}
		clean := ops.WatchAndErrorNotes(rs[0], &store.ReleaseWatch{Verdict: store.WatchPassed,
			Detail: "regression watch: batch 2/2 passed after 1m0s: 0.2% 5xx of 5 000 requests (baseline 0.3%), no new error"}, nil)
		bad := ops.WatchAndErrorNotes(rs[1], &store.ReleaseWatch{Verdict: store.WatchTripped,
			Detail: "regression watch TRIPPED on batch 1/3: new error KeyError: 'alice'", Signature: "abc"},
			[]ops.FirstSeen{{ErrorSignature: store.ErrorSignature{Summary: "KeyError: 'alice'", Frame: `File "views.py", line 25, in items`,
				FirstHost: "stg-web1", FirstSeenAt: 1764955200000, Seen: 11}}})
		return append(clean, bad...), nil
	}
	d := newFlowDriver(t, fns, nil)
	d.send(tea.WindowSizeMsg{Width: 200, Height: 30})
	d.press("R")
	d.see("which app, in which environment?")
	d.press("enter")
	v := d.see("watch passed: regression watch: batch 2/2 passed")
	if strings.Contains(v, "new error KeyError") {
		t.Errorf("the clean release shows the bad one's new error:\n%s", v)
	}
	d.press("j")
	v = d.see("watch tripped: regression watch TRIPPED on batch 1/3",
		`new error KeyError: 'alice' (File "views.py", line 25, in items); first seen on stg-web1 at 2025-12-05 17:20:00 UTC, 11 times`)
	if strings.Contains(v, "watch passed") {
		t.Errorf("the clean release's verdict stays under the cursor's:\n%s", v)
	}
}
