package ui

import (
	"strings"
	"testing"

	"github.com/opsui/opsui/ops/remote"
	fleetview "github.com/opsui/opsui/ui/fleet"
)

// Issue 18, trap 6: a reachable host whose health check fails is not
// counted "up"; the header says how many are healthy, failing and down.
func TestHeaderCountsHealthNotJustReachability(t *testing.T) {
	a := newStatusApp(t, 110, 20, Options{})
	failing := upProbe("web2", "20250301100000")
	failing.Health = remote.HealthFailed
	a = send(t, a, fleetview.RoundMsg{Round: a.status.Round(), Probes: []remote.Probe{
		upProbe("web1", "20250301100000"), failing, upProbe("web3", "20250301100000"), upProbe("db1", "20250301100000"),
	}})
	header := strings.SplitN(viewText(a), "\n", 2)[0]
	if !strings.Contains(header, "3 healthy · 1 failing · 0 down") {
		t.Errorf("header %q, want 3 healthy · 1 failing · 0 down", header)
	}
	if strings.Contains(header, "4 up") {
		t.Errorf("header counts the failing host up: %q", header)
	}
	// Hosts without a check stay "up"; a host whose check's tool is
	// missing is not called healthy.
	none := upProbe("web1", "20250301100000")
	none.Health = remote.HealthNone
	unknown := upProbe("web3", "20250301100000")
	unknown.Health = remote.HealthUnknown
	a = send(t, a, fleetview.RoundMsg{Round: a.status.Round(), Probes: []remote.Probe{none, unknown}})
	header = strings.SplitN(viewText(a), "\n", 2)[0]
	for _, want := range []string{"1 healthy · 1 failing · 1 health unknown · 1 up · 0 down"} {
		if !strings.Contains(header, want) {
			t.Errorf("header %q lacks %q", header, want)
		}
	}
}
