package run

import (
	"errors"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/ui/internal/uitest"
)

// The golden files of the run view, as the console's (ui/golden_test.go):
// go test ./ui/run -run Golden -update rewrites them.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGoldenRunViewList is a run on more hosts than the grid holds, so a
// list beside the focused host's pane, on a clock that stands still.
func TestGoldenRunViewList(t *testing.T) {
	hosts := []string{"web0", "web1", "web2", "web3", "web4", "web5"}
	f, start := fixedFeed(hosts, 75*time.Second)
	for i, h := range hosts {
		f.Event(remote.Event{Host: h, Kind: remote.EventStage, Time: start, Line: "unpack", Step: 3, Steps: 7})
		f.Event(remote.Event{Host: h, Kind: remote.EventStdout, Line: fmt.Sprintf("%s: unpacked 12 files", h)})
		switch i {
		case 1:
			f.Event(remote.Event{Host: h, Kind: remote.EventProgress, Bytes: 1536, Total: 4096})
		case 3:
			f.Event(remote.Event{Host: h, Kind: remote.EventFailed, Class: remote.ClassTimeout, Err: errors.New("no answer within 30s")})
		case 4:
			f.Event(remote.Event{Host: h, Kind: remote.EventExited, Duration: 2 * time.Second})
		}
	}
	v := testRunView(f, 100, 12)
	uitest.Golden(t, "run_list", v.View(), *update)
}
