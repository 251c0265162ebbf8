package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/themes"
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
