package ui

import (
	"fmt"
	"slices"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops/remote"
	fleetview "github.com/opsui/opsui/ui/fleet"
	"github.com/opsui/opsui/ui/internal/uitest"
)

// BenchmarkConsoleFrame2000 is one frame of the console at 160x48 on 2 000
// probed hosts, as during a status round but without the network: each
// iteration is a 25-probe chunk's Update+View and a cursor move's
// Update+View (the detail pane follows the cursor). It isolates what
// BenchmarkConsoleScale's update-p99 spends in the UI goroutine.
func BenchmarkConsoleFrame2000(b *testing.B) {
	a, probes := probed2000(b)
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
	reportP99(b, chunk, "chunk")
	reportP99(b, move, "move")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkConsoleFilter2000 is the fleet filter's keys on the console at
// 160x48 on 2 000 probed hosts: each key of "/host01" and of its deletion,
// Update+View (the list rebuilt, matching status words too).
func BenchmarkConsoleFilter2000(b *testing.B) {
	a, _ := probed2000(b)
	keys := uitest.Keys("/", "host01")
	for range len("host01") {
		keys = append(keys, tea.KeyPressMsg(tea.Key{Code: tea.KeyBackspace}))
	}
	var filter []time.Duration
	for b.Loop() {
		for _, k := range keys {
			start := time.Now()
			a = update(a, k)
			_ = a.View()
			filter = append(filter, time.Since(start))
		}
		a = update(a, uitest.Keys("esc")[0])
	}
	reportP99(b, filter, "key")
	b.ReportMetric(0, "ns/op")
}

// probed2000 is the console at 160x48 on 2 000 hosts, each probed (every
// 97th down, every 50th on another release), and the probes.
func probed2000(b *testing.B) (App, []remote.Probe) {
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
	return a, probes
}

// reportP99 reports the median and the p99 of d as name-ms and name-p99-ms.
func reportP99(b *testing.B, d []time.Duration, name string) {
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, name+"-ms")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds())/1000, name+"-p99-ms")
}
