package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/themes"
	fleetview "github.com/opsui/opsui/ui/fleet"
)

// TestHeaderShowsMaintenance: an app in maintenance is the header's first
// part after the title, in the words of `opsui maintenance`, with colour
// and under NO_COLOR alike (the words carry it, not the colour); a
// reading that fails keeps the last; off clears it.
func TestHeaderShowsMaintenance(t *testing.T) {
	since := time.Now().Add(-90 * time.Minute)
	on := []store.Maintenance{
		{App: "shop", Env: "production", On: true, Message: "back soon", RetryAfter: 300, Operator: "ann@laptop", Since: store.MillisOf(since), RunID: 4},
		{App: "blog", Env: "production", On: true, Operator: "bob", Since: store.MillisOf(since)},
	}
	want := "MAINTENANCE shop/production since " + since.Format("15:04") + " (ann) +1 more"
	if line := ops.MaintenanceLine(on[0], time.Now()); !strings.HasPrefix(want, line) {
		t.Fatalf("the header's words %q are not the CLI's %q", want, line)
	}
	for _, th := range []themes.Theme{themes.Dark(), themes.Dark().WithoutColor()} {
		states, fail := on, false
		f := sampleFleet(t)
		a := New(Options{Theme: th, LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
			Maintenance: func(context.Context) ([]store.Maintenance, error) {
				if fail {
					return nil, context.DeadlineExceeded
				}
				return states, nil
			}})
		a = send(t, a, a.loadFleetCmd()(), tea.WindowSizeMsg{Width: 160, Height: 30})
		if header := strings.SplitN(viewText(a), "\n", 2)[0]; strings.Contains(header, "MAINTENANCE") {
			t.Fatalf("before any reading: %q", header)
		}
		a = send(t, a, a.maint.fetch(0)())
		header := strings.SplitN(viewText(a), "\n", 2)[0]
		if !strings.HasPrefix(header, "opsui · "+want+" · ") {
			t.Errorf("plain %v: header %q, want it to start with %q", th.Plain, header, "opsui · "+want)
		}
		fail = true
		a = send(t, a, a.maint.fetch(0)())
		if header := strings.SplitN(viewText(a), "\n", 2)[0]; !strings.Contains(header, want) {
			t.Errorf("a failed reading dropped the badge: %q", header)
		}
		fail, states = false, nil
		a = send(t, a, a.maint.fetch(0)())
		if header := strings.SplitN(viewText(a), "\n", 2)[0]; strings.Contains(header, "MAINTENANCE") {
			t.Errorf("after off: %q", header)
		}
	}
}

// TestNarrowHeaderKeepsTheHealthCounts: at 80 columns a maintenance badge
// pushes the fleet's size out of the header, never its health counts.
func TestNarrowHeaderKeepsTheHealthCounts(t *testing.T) {
	on := []store.Maintenance{{App: "shop", Env: "production", On: true, Operator: "ann@laptop", Since: store.MillisOf(time.Now())}}
	a := newStatusApp(t, 80, 24, Options{Theme: themes.Dark().WithoutColor(),
		Maintenance: func(context.Context) ([]store.Maintenance, error) { return on, nil }})
	failing := upProbe("web2", "20250301100000")
	failing.Health = remote.HealthFailed
	a = send(t, a, fleetview.RoundMsg{Round: a.status.Round(), Probes: []remote.Probe{
		upProbe("web1", "20250301100000"), failing, upProbe("web3", "20250301100000"), upProbe("db1", "20250301100000"),
	}})
	a = send(t, a, a.maint.fetch(0)())
	header := strings.SplitN(viewText(a), "\n", 2)[0]
	if !strings.Contains(header, "MAINTENANCE shop/production") || !strings.Contains(header, "3 healthy · 1 failing · 0 down") {
		t.Errorf("80 columns: header %q, want the badge and 3 healthy · 1 failing · 0 down", header)
	}
}
