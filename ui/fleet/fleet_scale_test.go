package fleet

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/themes"
	"github.com/opsui/opsui/ui/common"
)

// scaleFleet is n hosts over two environments and four roles, and a probe
// of each (every 97th down, every 50th on another release).
func scaleFleet(n int) (*inventory.Fleet, []remote.Probe) {
	f := &inventory.Fleet{Environments: []inventory.Environment{{Name: "staging"}, {Name: "production", Protected: true}}}
	roles := []string{"web", "db", "cache", "lb"}
	var probes []remote.Probe
	for i := range n {
		env := "production"
		if i%5 == 0 {
			env = "staging"
		}
		h := inventory.Host{Name: fmt.Sprintf("host%04d", i), Address: fmt.Sprintf("10.0.%d.%d", i/250, i%250+1),
			Env: env, Roles: []string{roles[i%len(roles)]}, Tags: []string{"eu-west"}}
		f.Hosts = append(f.Hosts, h)
		p := remote.Probe{Host: h.Name, At: time.Now(), Reachable: i%97 != 0, RTT: 2 * time.Millisecond, Load1: 0.4,
			MemUsedPct: 40, DiskUsedPct: 55, Release: "20260101120000", Health: remote.HealthOK}
		if i%50 == 0 {
			p.Release = "20251231120000"
		}
		if !p.Reachable {
			p.Class = remote.ClassTimeout
		}
		probes = append(probes, p)
	}
	return f, probes
}

// BenchmarkFleetView2000 is the fleet list at 2 000 probed hosts: a cursor
// move and the View (the list, the status columns), a chunk of 25 probes
// applied (drift, counts) and the View, and a filter keystroke (the
// list rebuilt) and the View. It reports each one's median and worst.
func BenchmarkFleetView2000(b *testing.B) {
	f, probes := scaleFleet(2000)
	board := NewBoard(func(context.Context, *inventory.Fleet, []inventory.Host) []remote.Probe { return nil }, 0)
	board.Apply(RoundMsg{Probes: probes}, f)
	keys := KeyMap{}
	m := New(common.NewContext(themes.Dark()), keys, board)
	m.SetFleet(f)
	m.SetSize(160, 46)
	var move, apply, filter []time.Duration
	for b.Loop() {
		start := time.Now()
		m.move(1)
		_ = m.View()
		_ = board.Counts()
		move = append(move, time.Since(start))

		start = time.Now()
		k := len(move) * 25 % len(probes)
		board.Apply(RoundMsg{Probes: probes[k:min(k+25, len(probes))]}, f)
		_ = m.View()
		_ = board.Counts()
		apply = append(apply, time.Since(start))

		start = time.Now()
		m.filter.SetValue("host01"[:1+len(move)%6])
		m.Rebuild()
		_ = m.View()
		filter = append(filter, time.Since(start))
	}
	report := func(d []time.Duration, name string) {
		slices.Sort(d)
		b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, name+"-ms")
		b.ReportMetric(float64(d[len(d)-1].Microseconds())/1000, name+"-max-ms")
	}
	report(move, "move")
	report(apply, "apply")
	report(filter, "filter")
	b.ReportMetric(0, "ns/op")
}

// TestRoundHandsOverSlowChunks: a chunk whose hosts answer at different
// times hands over those that answered within roundFlush in a partial
// RoundMsg, batched with a command for the rest; the round is under way
// until the rest is in.
func TestRoundHandsOverSlowChunks(t *testing.T) {
	f := &inventory.Fleet{Hosts: []inventory.Host{{Name: "fast"}, {Name: "slow"}, {Name: "lost"}}}
	release := make(chan struct{})
	b := NewBoard(func(_ context.Context, _ *inventory.Fleet, hosts []inventory.Host) []remote.Probe {
		switch hosts[0].Name {
		case "slow":
			<-release
		case "lost":
			return nil // the prober failed: the host is answered without a probe
		}
		return []remote.Probe{{Host: hosts[0].Name, At: time.Now(), Reachable: true}}
	}, 0)
	// One chunk: the round's command is the chunk's.
	first, ok := b.StartRound(f)().(tea.BatchMsg)
	if !ok || len(first) != 2 {
		t.Fatalf("the chunk with a slow host came back whole: %#v", first)
	}
	partial := first[0]().(RoundMsg)
	slices.Sort(partial.Asked)
	if !partial.Partial || !slices.Equal(partial.Asked, []string{"fast", "lost"}) || len(partial.Probes) != 1 {
		t.Fatalf("partial message: %+v", partial)
	}
	b.Apply(partial, f)
	if !b.Busy() || b.Probed() != 1 {
		t.Errorf("after the partial message: under way %v, %d probed", b.Busy(), b.Probed())
	}
	close(release)
	rest := first[1]().(RoundMsg)
	if rest.Partial || !slices.Equal(rest.Asked, []string{"slow"}) {
		t.Fatalf("the rest: %+v", rest)
	}
	b.Apply(rest, f)
	if b.Busy() || b.Probed() != 2 {
		t.Errorf("after the rest: under way %v, %d probed", b.Busy(), b.Probed())
	}
}
