package logs

import (
	"context"
	"errors"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops/logs"
)

// runTie takes the lines fed so far with a tick and runs the tie the tick
// asks for, handing its answer to the view; it reports whether one was asked.
func runTie(t *testing.T, v *Model) bool {
	t.Helper()
	v.first.last, v.first.busy = logsT0, false // long ago, and feed's tick was dropped: a tie is due
	_, cmd := v.Update(TickMsg{ID: v.id})
	batch, ok := cmd().(tea.BatchMsg)
	if !ok {
		return false
	}
	asked := false
	for _, c := range batch {
		if c == nil {
			continue
		}
		if msg, ok := c().(FirstSeenMsg); ok {
			asked = true
			v.Update(msg)
		}
	}
	return asked
}

// TestLogsErrorsFirstSeenColumn: with a tie, the errors panel says for
// each group the release it was first seen in ("…" until known); a tie
// that fails keeps what was known and says why; without a tie the panel
// is as before. The view is drawn without colour (NO_COLOR).
func TestLogsErrorsFirstSeenColumn(t *testing.T) {
	v := newTestLogs(t, 160, 20, 100, "web1", "web2")
	var asked [][]logs.Group
	fail := false
	v.SetTie(func(_ context.Context, groups []logs.Group) (map[string]string, error) {
		asked = append(asked, groups)
		if fail {
			return nil, errors.New("the store does not answer")
		}
		out := map[string]string{}
		for _, g := range groups {
			if strings.Contains(g.Summary, "db down") {
				out[g.Key] = "20261204171534 (edc515f8aa11)"
			}
		}
		return out, nil
	})
	feed(v, "web1|ERROR db down", "web2|ERROR db down", "web2|ERROR cache cold", `web1|10.0.0.1 - - [x] "GET /cart/ HTTP/1.1" 502 0 "-" "curl"`)
	if !runTie(t, v) || len(asked) == 0 || len(asked[len(asked)-1]) != 3 {
		t.Fatalf("no tie of the 3 groups was asked: %v", asked)
	}
	pressLogs(v, "e")
	got := plainView(v)
	for _, want := range []string{"2  web1,web2        first seen in 20261204171534 (edc515f8aa11)   ERROR db down",
		"1  web2             first seen in …  ", "ERROR cache cold", "1  web1             first seen in -                               502 GET /cart/"} {
		if !strings.Contains(got, want) {
			t.Errorf("view lacks %q:\n%s", want, got)
		}
	}
	if raw := v.View(); !strings.Contains(raw, "first seen in 20261204171534 (edc515f8aa11)") || strings.Contains(raw, "\x1b[38") {
		t.Errorf("without colour, the row is not plain:\n%q", raw)
	}
	// A tie that fails keeps the column and says why.
	fail = true
	if !runTie(t, v) {
		t.Fatal("no second tie")
	}
	got = plainView(v)
	if !strings.Contains(got, "first seen: the store does not answer") || !strings.Contains(got, "first seen in 20261204171534") {
		t.Errorf("after a failed tie:\n%s", got)
	}
	// No tie while one is under way.
	v.first.busy, v.first.last = true, logsT0
	if v.tieCmd() != nil {
		t.Error("a second tie was started while one is under way")
	}

	plain := newTestLogs(t, 160, 20, 100, "web1")
	feed(plain, "web1|ERROR db down")
	pressLogs(plain, "e")
	if got := plainView(plain); strings.Contains(got, "first seen") || !strings.Contains(got, "10:00:00–10:00:00  ERROR db down") {
		t.Errorf("without a tie the panel changed:\n%s", got)
	}
}
