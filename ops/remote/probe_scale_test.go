package remote

import (
	"testing"
	"time"

	"github.com/opsui/opsui/internal/simfleet"
)

// TestProbeHungHostsTakeNoSlots: on a simulated fleet where some hosts hang
// with their connections warm (a SIGSTOPped sshd), a round after the one
// that timed them out gives every live host its result before the first
// hung host is given up: a host whose last probe timed out takes no slot,
// so with one slot the live hosts never queue behind it.
func TestProbeHungHostsTakeNoSlots(t *testing.T) {
	const n, timeout = 24, 1500 * time.Millisecond
	f, err := simfleet.Start(t.Context(), simfleet.Config{N: n, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	p := NewPool(Options{KnownHostsFiles: []string{f.KnownHostsPath}, KeepAlive: -1})
	t.Cleanup(func() { p.Close() })
	var reqs []ProbeRequest
	for _, h := range f.Hosts {
		reqs = append(reqs, ProbeRequest{Target: Target{Name: h.Name, Addr: h.Address(), User: f.User, IdentityFiles: []string{f.ClientKeyPath}}})
	}
	pr := NewProber(p, ProbeOptions{Timeout: timeout, Parallel: 1})
	for _, pb := range pr.ProbeAll(t.Context(), reqs) { // warm every connection
		if !pb.Reachable {
			t.Fatalf("%s: %v", pb.Host, pb.Err)
		}
	}
	hung := map[string]bool{}
	for i := 0; i < n; i += 3 {
		hung[f.Hosts[i].Name] = true
		if err := f.SetFault(i, simfleet.Hang); err != nil {
			t.Fatal(err)
		}
	}
	// The first round learns which hosts hang. In a later one the live
	// hosts must not queue behind them: without that, 8 hung hosts
	// holding the one slot 250 ms each would delay the live ones past the
	// hung ones' timeout. (A round that starts before the last one's
	// sessions closed finds the hung hosts still busy and fails them at
	// once; such a round is run again.)
	for round := 1; round <= 4; round++ {
		var lastLive, firstHung time.Time
		timedOut := 0
		for _, pb := range pr.ProbeAll(t.Context(), reqs) {
			end := pb.At.Add(pb.Took)
			switch {
			case hung[pb.Host] && pb.Class != ClassTimeout:
				t.Fatalf("round %d: hung %s: %s %v", round, pb.Host, pb.Class, pb.Err)
			case hung[pb.Host]:
				if pb.Took < timeout {
					continue // still busy from the round before
				}
				timedOut++
				if firstHung.IsZero() || end.Before(firstHung) {
					firstHung = end
				}
			case !pb.Reachable:
				t.Fatalf("round %d: %s: %v", round, pb.Host, pb.Err)
			case end.After(lastLive):
				lastLive = end
			}
		}
		if round == 1 || timedOut < len(hung) {
			continue
		}
		if !lastLive.Before(firstHung) {
			t.Errorf("the last live host answered %v after the first hung host was given up", lastLive.Sub(firstHung))
		}
		return
	}
	t.Fatal("no round after the first timed every hung host out")
}
