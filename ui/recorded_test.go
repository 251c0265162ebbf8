package ui

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/store"
)

// The tests' stand-ins for the store's records: runs and releases as the
// store returns them, and recorded runs whose output is in memory.

// ranAt is r started at at, finished took later (still running when took
// is zero).
func ranAt(r store.Run, at time.Time, took time.Duration) store.Run {
	r.StartedAt = store.MillisOf(at)
	if took > 0 {
		r.FinishedAt = store.MillisOf(at.Add(took))
	}
	return r
}

// releasedAt is r started at at, finished took later (running when took
// is zero).
func releasedAt(r store.Release, at time.Time, took time.Duration) store.Release {
	r.StartedAt = store.MillisOf(at)
	if took > 0 {
		r.FinishedAt = store.MillisOf(at.Add(took))
	}
	return r
}

// hostOut is a recorded host with its output.
type hostOut struct {
	store.RunHost
	out []ops.OutputChunk
}

// recorded is run with hosts, whose Stream gives each host's output in
// order (the whole of it, whatever the tail asked).
func recorded(run store.Run, hosts ...hostOut) ops.RecordedRun {
	r := ops.RecordedRun{Run: run}
	for _, h := range hosts {
		r.Hosts = append(r.Hosts, h.RunHost)
	}
	r.Stream = func(ctx context.Context, _ int64, fn func(int, ops.OutputChunk) error) error {
		for i, h := range hosts {
			for _, c := range h.out {
				if err := fn(i, c); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return r
}

// chunk is a piece of recorded output of stream.
func chunk(stream, data string) ops.OutputChunk {
	return ops.OutputChunk{Chunk: store.Chunk{Stream: stream, Data: []byte(data)}}
}

// hostsJSON is hosts as a release records them.
func hostsJSON(hosts []string) string {
	b, _ := json.Marshal(hosts)
	return string(b)
}

// runOf is a release's run id.
func runOf(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: true} }

// ms is d as a run host records it.
func ms(d time.Duration) int64 { return d.Milliseconds() }
