package fleet

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
)

// A round's results come back chunk by chunk: the hosts of each chunk
// show as it lands, and the round is under way until the last.
func TestRoundComesBackInChunks(t *testing.T) {
	f := &inventory.Fleet{}
	for i := range 2*probeChunk + 1 {
		f.Hosts = append(f.Hosts, inventory.Host{Name: "h" + strings.Repeat("x", i), Address: "10.0.0.1"})
	}
	b := NewBoard(func(_ context.Context, _ *inventory.Fleet, hosts []inventory.Host) []remote.Probe {
		out := make([]remote.Probe, len(hosts))
		for i, h := range hosts {
			out[i] = remote.Probe{Host: h.Name, Reachable: true, Release: "r1"}
		}
		return out
	}, 0)
	batch := b.StartRound(f)().(tea.BatchMsg)
	if b.StartRound(f) != nil {
		t.Error("a second round started while the first is under way")
	}
	var chunks []RoundMsg
	for _, c := range batch {
		if m, ok := c().(RoundMsg); ok {
			chunks = append(chunks, m)
		}
	}
	if len(chunks) != 3 {
		t.Fatalf("%d chunks for %d hosts", len(chunks), len(f.Hosts))
	}
	b.Apply(chunks[0], f)
	b.Apply(chunks[1], f)
	if !b.Busy() || b.Probed() != 2*probeChunk {
		t.Errorf("after two chunks: under way %v, %d hosts", b.Busy(), b.Probed())
	}
	b.Apply(chunks[2], f)
	if b.Busy() || b.Probed() != len(f.Hosts) {
		t.Errorf("after the last chunk: under way %v, %d hosts", b.Busy(), b.Probed())
	}
}
