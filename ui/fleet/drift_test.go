package fleet

import (
	"context"
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
)

// TestDriftIncrementalIsWhole: after every chunk of random probes (hosts
// going down and up, moving between three releases, ties), the drift and
// majorities kept chunk by chunk are those computed over the whole fleet.
func TestDriftIncrementalIsWhole(t *testing.T) {
	f, _ := scaleFleet(120)
	f.Hosts = append(f.Hosts, inventory.Host{Name: "lonely", Env: "qa", Roles: []string{"web"}})
	noProbe := func(context.Context, *inventory.Fleet, []inventory.Host) []remote.Probe { return nil }
	b := NewBoard(noProbe, 0)
	b.ComputeDrift(f)
	r := rand.New(rand.NewPCG(7, 8))
	releases := []string{"20260101120000", "20260102120000", "20260103120000", ""}
	at := time.Now()
	drifted := 0
	for i := range 400 {
		var probes []remote.Probe
		for range 1 + r.IntN(25) {
			h := f.Hosts[r.IntN(len(f.Hosts))]
			at = at.Add(time.Millisecond)
			probes = append(probes, remote.Probe{Host: h.Name, At: at, Reachable: r.IntN(6) != 0, Release: releases[r.IntN(len(releases))]})
		}
		b.Apply(RoundMsg{Probes: probes}, f)
		whole := NewBoard(noProbe, 0)
		whole.hosts = b.hosts
		whole.ComputeDrift(f)
		if !maps.Equal(b.drift, whole.drift) || !maps.Equal(b.majority, whole.majority) {
			t.Fatalf("chunk %d: drift %v majority %v\nwhole: drift %v majority %v", i, b.drift, b.majority, whole.drift, whole.majority)
		}
		drifted += len(b.drift)
	}
	if drifted == 0 {
		t.Fatal("no host ever drifted: the test checks nothing")
	}
	if _, ok := b.majority["lonely"]; ok {
		t.Error("a group of one host has a majority")
	}
}
