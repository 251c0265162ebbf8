package remote

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/simfleet"
)

// TestRunHungLoginsLendTheirSlots: on a simulated fleet whose first three
// hosts hang from the start (they accept, then say nothing), Run at
// Parallel 2 gives their slots to the live hosts while they wait, so that
// every live host has exited before the first hung one is given up on
// (the handshake timeout, 8 s, is far longer than nine 200 ms commands
// two at a time); and lending never lets more than 2 commands run at once.
func TestRunHungLoginsLendTheirSlots(t *testing.T) {
	const n, parallel = 12, 2
	faults := map[int]simfleet.Fault{0: simfleet.Hang, 1: simfleet.Hang, 2: simfleet.Hang}
	f, err := simfleet.Start(t.Context(), simfleet.Config{N: n, Dir: t.TempDir(), Faults: faults, Latency: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	p := NewPool(Options{KnownHostsFiles: []string{f.KnownHostsPath}, HandshakeTimeout: 8 * time.Second, KeepAlive: -1})
	t.Cleanup(func() { p.Close() })
	var ts []Target
	for _, h := range f.Hosts {
		ts = append(ts, Target{Name: h.Name, Addr: h.Address(), User: f.User, IdentityFiles: []string{f.ClientKeyPath}})
	}
	hung := map[string]bool{ts[0].Name: true, ts[1].Name: true, ts[2].Name: true}

	var mu sync.Mutex
	running, most, exitedAfterHung := 0, 0, 0
	hungGone := false
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute) // finished, however slow the machine
	defer cancel()
	res, err := Run(ctx, p, ts, "uname -n", RunOptions{Parallel: parallel}, func(ev Event) {
		mu.Lock()
		defer mu.Unlock()
		switch ev.Kind {
		case EventStarted:
			running++
			most = max(most, running)
		case EventExited:
			running--
			if hungGone {
				exitedAfterHung++
			}
		case EventFailed:
			if hung[ev.Host] {
				hungGone = true
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range res.Hosts {
		switch {
		case hung[h.Host] && (h.Status != StatusFailed || h.Class != ClassTimeout):
			t.Errorf("hung %s: %s %s (%v), want a timeout", h.Host, h.Status, h.Class, h.Err)
		case !hung[h.Host] && h.Status != StatusOK:
			t.Errorf("live %s: %s %s (%v)", h.Host, h.Status, h.Class, h.Err)
		}
	}
	if most > parallel {
		t.Errorf("%d commands ran at once, Parallel is %d", most, parallel)
	}
	if most < parallel {
		t.Errorf("at most %d commands ran at once: the test checks no bound", most)
	}
	if exitedAfterHung > 0 {
		t.Errorf("%d live hosts exited only after a hung one was given up on: the hung logins held the slots", exitedAfterHung)
	}
}

// TestRunLentSlotsAreTakenBack: hosts whose logins stall past
// connectSlotHold and then go through (a hung sshd resumed) take a slot
// again before their commands start: however many logins were lent a
// slot, no more than Parallel commands ever run at once, and every host
// runs its command.
func TestRunLentSlotsAreTakenBack(t *testing.T) {
	const n, parallel, stalled = 24, 2, 4
	faults := map[int]simfleet.Fault{}
	for i := range stalled {
		faults[i] = simfleet.Hang
	}
	f, err := simfleet.Start(t.Context(), simfleet.Config{N: n, Dir: t.TempDir(), Faults: faults, Latency: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	p := NewPool(Options{KnownHostsFiles: []string{f.KnownHostsPath}, HandshakeTimeout: time.Minute, KeepAlive: -1})
	t.Cleanup(func() { p.Close() })
	var ts []Target
	for _, h := range f.Hosts {
		ts = append(ts, Target{Name: h.Name, Addr: h.Address(), User: f.User, IdentityFiles: []string{f.ClientKeyPath}})
	}
	var mu sync.Mutex
	running, most, started := 0, 0, 0
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	res, err := Run(ctx, p, ts, "uname -n", RunOptions{Parallel: parallel}, func(ev Event) {
		mu.Lock()
		defer mu.Unlock()
		switch ev.Kind {
		case EventStarted:
			running++
			most = max(most, running)
			if started++; started == parallel+1 {
				// The live hosts are at work, with the stalled ones' slots:
				// the stalled logins go through while they are.
				for i := range stalled {
					if err := f.SetFault(i, simfleet.Healthy); err != nil {
						t.Error(err)
					}
				}
			}
		case EventExited:
			running--
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != n {
		t.Errorf("%s, want all %d ok", res.Summary(), n)
	}
	if most > parallel {
		t.Errorf("%d commands ran at once, Parallel is %d", most, parallel)
	}
}
