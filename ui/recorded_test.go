package ui

import (
	"time"

	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/ui/internal/uitest"
)

// The tests' stand-ins for the store's records: runs and releases as the
// store returns them, and recorded runs whose output is in memory.

// The helpers shared with ui/run's tests (ui/internal/uitest).
var (
	ranAt       = uitest.RanAt
	hostOut     = uitest.Host
	recorded    = uitest.Recorded
	chunk       = uitest.Chunk
	streamedRun = uitest.StreamedRun
)

// releasedAt is r started at at, finished took later (running when took
// is zero).
func releasedAt(r store.Release, at time.Time, took time.Duration) store.Release {
	r.StartedAt = store.MillisOf(at)
	if took > 0 {
		r.FinishedAt = store.MillisOf(at.Add(took))
	}
	return r
}

// ms is d as a run host records it.
func ms(d time.Duration) int64 { return d.Milliseconds() }
