package ui

import (
	"fmt"
	"slices"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops/remote"
	fleetview "github.com/opsui/opsui/ui/fleet"
)

// BenchmarkConsoleFrame2000 is one frame of the console at 160x48 on 2 000
// probed hosts, as during a status round but without the network: each
// iteration is a 25-probe chunk's Update+View and a cursor move's
// Update+View (the detail pane follows the cursor). It isolates what
// BenchmarkConsoleScale's update-p99 spends in the UI goroutine.
func BenchmarkConsoleFrame2000(b *testing.B) {
	f := benchFleet(2000)
	probes := make([]remote.Probe, len(f.Hosts))
	for i, h := range f.Hosts {
		probes[i] = remote.Probe{Host: h.Name, At: time.Now(), Reachable: i%97 != 0, RTT: 2 * time.Millisecond, Load1: 0.4,
			MemUsedPct: 40, DiskUsedPct: 55, Release: fmt.Sprintf("2025030110%04d", i%50/49), Health: remote.HealthOK}
		if !probes[i].Reachable {
			probes[i].Class = remote.ClassUnreachable
		}
	}
	a := benchApp(b, f, true)
	a = update(a, fleetLoadedMsg{fleet: f})
	a = update(a, tea.WindowSizeMsg{Width: 160, Height: 48})
	a = update(a, fleetview.RoundMsg{Round: a.status.Round(), Probes: probes})
	_ = a.View()
	var chunk, move []time.Duration
	down := tea.KeyPressMsg(tea.Key{Code: tea.KeyDown})
	for b.Loop() {
		k := len(chunk) * 25 % len(probes)
		start := time.Now()
		a = update(a, fleetview.RoundMsg{Round: a.status.Round(), Probes: probes[k:min(k+25, len(probes))]})
		_ = a.View()
		chunk = append(chunk, time.Since(start))
		start = time.Now()
		a = update(a, down)
		_ = a.View()
		move = append(move, time.Since(start))
	}
	report := func(d []time.Duration, name string) {
		slices.Sort(d)
		b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, name+"-ms")
		b.ReportMetric(float64(d[len(d)*99/100].Microseconds())/1000, name+"-p99-ms")
	}
	report(chunk, "chunk")
	report(move, "move")
	b.ReportMetric(0, "ns/op")
}
