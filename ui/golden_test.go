package ui

// Golden tests compare a few stable renders, byte for byte, with the files
// in testdata/golden/<name>.golden. The inputs are made deterministic (the
// theme without colour, fixed clocks, times built in time.Local so that they
// print the same in every time zone); nothing is stripped from the output,
// so the files hold the bold and reverse sequences the views draw.
//
// After an intended change to one of these views, rewrite the files with
//
//	go test ./ui -run Golden -update
//
// and read the diff before committing it. The -update flag is the one that
// github.com/charmbracelet/x/exp/golden defines (teatest imports it); it is
// looked up here, and defined only if that package ever stops doing so.

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
	fleetview "github.com/opsui/opsui/ui/fleet"
	"github.com/opsui/opsui/ui/internal/uitest"
)

var updateGolden = goldenUpdateFlag()

func goldenUpdateFlag() func() bool {
	f := flag.Lookup("update")
	if f == nil {
		p := flag.Bool("update", false, "rewrite the golden files in testdata/golden")
		return func() bool { return *p }
	}
	return func() bool {
		g, ok := f.Value.(flag.Getter)
		if !ok {
			return false
		}
		v, _ := g.Get().(bool)
		return v
	}
}

// requireGolden compares got with testdata/golden/name.golden, or rewrites
// the file under -update.
func requireGolden(t *testing.T, name, got string) {
	t.Helper()
	uitest.Golden(t, name, got, updateGolden())
}

// TestGoldenFleetWithStatus is the fleet with a round of probes: hosts up,
// one drifting, one down since a fixed time.
func TestGoldenFleetWithStatus(t *testing.T) {
	a := newStatusApp(t, 110, 14, Options{})
	a = send(t, a, fleetview.RoundMsg{Round: a.status.Round(), Probes: []remote.Probe{
		upProbe("web1", "20250301100000"), upProbe("web2", "20250301100000"), upProbe("web3", "20250220090000"),
		downProbe("db1", remote.ClassTimeout, t0),
	}})
	requireGolden(t, "fleet_status", a.View().Content)
}

// TestGoldenHelpOverlay is the ? overlay over the fleet. It lists every
// key of the key map: a change to the keys changes it, on purpose.
func TestGoldenHelpOverlay(t *testing.T) {
	a := newTestApp(t, 100, 20)
	a = send(t, a, keys("?")...)
	if !a.showHelp {
		t.Fatal("? did not open the help")
	}
	requireGolden(t, "help_overlay", a.View().Content)
}

// TestGoldenReleasesCompare is two releases side by side, from the fake
// flows, their start times fixed.
func TestGoldenReleasesCompare(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	fns := ff.fns()
	list := fns.Releases
	fns.Releases = func(ctx context.Context, app, env string) ([]store.Release, error) {
		rs, err := list(ctx, app, env)
		for i := range rs {
			rs[i] = releasedAt(rs[i], time.Date(2025, 3, 4, 11-i, 30, 0, 0, time.Local), rs[i].Took())
			rs[i].Branch = "main"
		}
		return rs, err
	}
	d := newFlowDriver(t, fns, nil)
	d.press("R")
	d.see("which app, in which environment?")
	d.press("enter")
	d.see("R2", "R1", "R0")
	d.press("down", "space", "down", "space", "c")
	d.see("compare R0 with R1", "hosts whose outcome differed", "failed at health")
	requireGolden(t, "releases_compare", d.a.View().Content)
}
