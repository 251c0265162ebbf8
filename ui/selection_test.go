package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/themes"
	fleetview "github.com/opsui/opsui/ui/fleet"
)

// newColourStatusApp is newStatusApp with the dark theme's colours on.
func newColourStatusApp(t *testing.T, w, h int) App {
	t.Helper()
	f := statusFleet()
	a := New(Options{Theme: themes.Dark(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		Probe: func(context.Context, *inventory.Fleet, []inventory.Host) []remote.Probe { return nil }})
	a.status.SetClock(func() time.Time { return t0.Add(time.Second) })
	return send(t, a, a.loadFleetCmd()(), tea.WindowSizeMsg{Width: w, Height: h})
}

// rawRow is host's row of the view, escape codes kept.
func rawRow(t *testing.T, a App, host string) string {
	t.Helper()
	for _, l := range strings.Split(a.View().Content, "\n") {
		plain := strings.TrimLeft(ansi.Strip(l), " >●")
		if strings.HasPrefix(plain, host+" ") {
			return l
		}
	}
	t.Fatalf("no row for %s in:\n%s", host, viewText(a))
	return ""
}

// Issue 18, trap 4: selecting a host whose health check fails keeps its
// HEALTH cell in the error colour; selection is the mark, not the row's
// foreground.
func TestSelectedUnhealthyHostKeepsItsStatusColour(t *testing.T) {
	a := newColourStatusApp(t, 110, 20)
	failing := upProbe("web2", "20250301100000")
	failing.Health = remote.HealthFailed
	a = send(t, a, fleetview.RoundMsg{Round: a.status.Round(), Probes: []remote.Probe{upProbe("web1", "20250301100000"), failing}})
	a = send(t, a, keys("j", "space")...) // select web2; the cursor moves on
	if got := a.fleet.Focused().Name; got == "web2" {
		t.Fatalf("the cursor stayed on web2")
	}
	if a.fleet.Marked() != 1 {
		t.Fatalf("%d hosts selected, want web2", a.fleet.Marked())
	}
	st := a.ctx.Styles
	red := st.Error.Render("failed")
	red = red[:strings.Index(red, "failed")] // the error colour's escape codes
	row := rawRow(t, a, "web2")
	if !strings.Contains(row, red+"failed") {
		t.Errorf("selected web2's HEALTH is not in the error colour %q: %q", red, row)
	}
	if !strings.Contains(ansi.Strip(row), "●") {
		t.Errorf("selected web2 has no mark: %q", ansi.Strip(row))
	}
}
