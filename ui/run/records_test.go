package run

import (
	"context"
	"errors"
	"testing"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// TestReplayLabelsWhereEachHostStopped: a recorded deploy whose web1
// failed its health check and was switched back, whose web2 was switched
// back because web1 failed, and whose web3 was never reached, replays
// with each host's true end, not its last stage.
func TestReplayLabelsWhereEachHostStopped(t *testing.T) {
	meta := func(s ...string) []ops.OutputChunk {
		var cs []ops.OutputChunk
		for _, l := range s {
			cs = append(cs, chunk("meta", "== "+l+"\n"))
		}
		return cs
	}
	r := recorded(store.Run{ID: 9, Kind: "deploy", Result: "rolled_back"},
		hostOut(store.RunHost{Host: "web1", Status: "failed", Stage: "health", ErrorClass: "command-failed", Error: "health: exit 1"},
			meta("switch", "health", "rollback: switch to R0", "rollback: health")),
		hostOut(store.RunHost{Host: "web2", Status: "rolled_back", ErrorClass: "cancelled", Error: "switched back to R0: web1 failed after the switch"},
			meta("switch", "health", "rollback: switch to R0", "rollback: health")),
		hostOut(store.RunHost{Host: "web3", Status: "skipped", Stage: "not reached", ErrorClass: "cancelled", Error: "not reached: the deploy stopped before this host's batch"},
			meta("upload", "collectstatic")),
	)
	f, err := replayFeed(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	snap := f.snapshot(0, noPanes, window{})
	want := map[string]string{"web1": "failed at health: exit 1", "web2": "rolled back to R0: web1 failed after the switch", "web3": "not reached"}
	for _, p := range snap.panes {
		if got := rowText(p); got != want[p.name] {
			t.Errorf("%s replays as %q, want %q", p.name, got, want[p.name])
		}
	}
}

// TestRefusedRunLeavesNoHostRunning: a deploy refused at its lock ends
// with its hosts inspected but never finished; when the run ends they read
// "not reached", not "running".
func TestRefusedRunLeavesNoHostRunning(t *testing.T) {
	f := NewFeed(0, "deploy", []string{"web1", "web2"})
	f.Event(remote.Event{Host: "web1", Kind: remote.EventStage, Line: "inspect"})
	f.Finish(remote.Result{}, errors.New("app/test is locked on web2 by alice"))
	for _, p := range f.snapshot(0, noPanes, window{}).panes {
		if got := rowText(p); got != "not reached" {
			t.Errorf("%s reads %q after a refused run", p.name, got)
		}
	}
}
