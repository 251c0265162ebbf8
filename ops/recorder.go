package ops

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opsui/opsui/store"
	"golang.org/x/sync/semaphore"
)

// Recorder batching and buffering.
const (
	recorderQueue  = 4096                   // events buffered between the hosts and the store,
	recorderBytes  = 8 << 20                // and at most this much output in them
	flushBytes     = 64 << 10               // a host's output is written once this much is pending
	flushAfter     = 200 * time.Millisecond // or once its oldest pending byte is this old
	maxKeptErrors  = 5                      // store errors kept for Finish's report
	recorderTicker = flushAfter / 4
)

// RecorderStats counts what a Recorder did.
type RecorderStats struct {
	Events      int64 // events taken
	Chunks      int64 // output chunks written
	Bytes       int64 // output bytes written
	Stalls      int64 // times Event had to wait for the store (backpressure)
	WriteErrors int64 // store writes that failed
	Lost        int64 // chunks and status updates those failures did not write
	Ignored     int64 // events of hosts not in the run, or after Finish
}

// Recorder writes a run into the store as it happens: the run and its
// hosts when it starts, each host's status changes, and each host's
// complete output (the Raw of its events) in chunks numbered per host,
// written at most every 64 KiB or 200 ms and at the end. Only the command
// and the output are recorded, never the environment or input.
//
// Store writes happen on the recorder's own goroutine, behind a queue
// bounded in events and in bytes. When the store is slower than the
// output, Event waits for room (and counts a stall): the host producing
// the output slows down, and nothing is dropped. A failed write is counted
// and reported by Finish.
type Recorder struct {
	st    *store.Store
	run   store.Run
	hosts map[string]*recHost

	mu     sync.RWMutex // Event holds it shared, Finish exclusively to close queue
	closed bool
	queue  chan Event
	room   *semaphore.Weighted // bytes of queued events
	done   chan struct{}

	events, chunks, bytes, stalls, writeErrs, lost, ignored atomic.Int64
	errs                                                    []error // owned by the loop until done
}

// recHost is one host's row and its output not yet written.
type recHost struct {
	row     store.RunHost
	seq     int64
	pending []store.Chunk
	size    int
	since   time.Time // when the oldest pending byte came
	final   bool      // its exited or failed event was recorded
}

// StartRecorder records a new run (nr.Hosts must name every target, as
// Target.Name) and starts recording its events. Writes are not cancelled
// with ctx: a cancelled run is still recorded.
func StartRecorder(ctx context.Context, st *store.Store, nr store.NewRun) (*Recorder, error) {
	run, rows, err := st.StartRun(ctx, nr)
	if err != nil {
		return nil, fmt.Errorf("record run: %w", err)
	}
	r := &Recorder{st: st, run: run, hosts: make(map[string]*recHost, len(rows)),
		queue: make(chan Event, recorderQueue), room: semaphore.NewWeighted(recorderBytes), done: make(chan struct{})}
	for _, row := range rows {
		r.hosts[row.Host] = &recHost{row: row}
	}
	go r.loop(context.WithoutCancel(ctx))
	return r, nil
}

// RunID returns the id of the recorded run.
func (r *Recorder) RunID() int64 { return r.run.ID }

// Event records ev; it is an emit function for Run and safe for concurrent
// use. It must not be called after Finish (such events are ignored).
func (r *Recorder) Event(ev Event) {
	switch ev.Kind {
	case EventQueued, EventProgress:
		return // nothing to record
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		r.ignored.Add(1)
		return
	}
	stalled := !r.room.TryAcquire(queuedSize(ev))
	if stalled {
		_ = r.room.Acquire(context.Background(), queuedSize(ev)) // cannot fail without a deadline
	}
	select {
	case r.queue <- ev:
	default:
		stalled = true
		r.queue <- ev
	}
	if stalled {
		r.stalls.Add(1)
	}
}

// queuedSize is what ev counts against the queue's byte bound.
func queuedSize(ev Event) int64 {
	return min(int64(len(ev.Raw))+256, recorderBytes)
}

// Finish writes what is pending, the final state of every host the events
// did not finish (from res), and the run's result and summary. It returns
// an error when any record could not be written. Like the other writes,
// these are not cancelled with ctx.
func (r *Recorder) Finish(ctx context.Context, res Result) error {
	ctx = context.WithoutCancel(ctx)
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.queue)
	}
	r.mu.Unlock()
	<-r.done

	byName := make(map[string]HostResult, len(res.Hosts))
	for _, h := range res.Hosts {
		byName[h.Host] = h
	}
	for name, h := range r.hosts {
		if h.final {
			continue
		}
		if hr, ok := byName[name]; ok {
			r.finishHost(ctx, h, hr.Status, hr.Code, hr.Duration, hr.Class, hr.Err)
		} else {
			h.row.Status = store.HostSkipped // the run never got to it
			r.write(r.st.UpdateRunHost(ctx, h.row), 1)
		}
	}
	r.write(r.st.FinishRun(ctx, r.run.ID, runResult(res), res.Summary()), 1)
	if n := r.writeErrs.Load(); n > 0 {
		return fmt.Errorf("record run %d: %d writes failed, %d records lost: %w", r.run.ID, n, r.lost.Load(), errors.Join(r.errs...))
	}
	return nil
}

// Stats returns the recorder's counters so far.
func (r *Recorder) Stats() RecorderStats {
	return RecorderStats{
		Events: r.events.Load(), Chunks: r.chunks.Load(), Bytes: r.bytes.Load(), Stalls: r.stalls.Load(),
		WriteErrors: r.writeErrs.Load(), Lost: r.lost.Load(), Ignored: r.ignored.Load(),
	}
}

// runResult is the store's result for a run's outcome.
func runResult(res Result) string {
	switch {
	case res.Cancelled > 0:
		return store.RunCancelled
	case res.Failed == 0:
		return store.RunOK
	case res.OK == 0:
		return store.RunFailed
	}
	return store.RunPartial
}

// loop is the recorder's goroutine: it owns the hosts' pending output and
// does every store write until Finish closes the queue.
func (r *Recorder) loop(ctx context.Context) {
	defer close(r.done)
	tick := time.NewTicker(recorderTicker)
	defer tick.Stop()
	for {
		select {
		case ev, ok := <-r.queue:
			if !ok {
				for _, h := range r.hosts {
					r.flush(ctx, h)
				}
				return
			}
			r.take(ctx, ev)
			r.room.Release(queuedSize(ev))
		case now := <-tick.C:
			for _, h := range r.hosts {
				if h.size > 0 && now.Sub(h.since) >= flushAfter {
					r.flush(ctx, h)
				}
			}
		}
	}
}

func (r *Recorder) take(ctx context.Context, ev Event) {
	h, ok := r.hosts[ev.Host]
	if !ok {
		r.ignored.Add(1)
		return
	}
	r.events.Add(1)
	switch ev.Kind {
	case EventStdout, EventStderr:
		r.appendOutput(ctx, h, ev)
	case EventStage:
		h.row.Stage, h.row.Status = ev.Line, store.HostRunning
		if h.row.StartedAt == 0 {
			h.row.StartedAt = store.MillisOf(ev.Time)
		}
		r.appendMeta(h, ev)
		r.write(r.st.UpdateRunHost(ctx, h.row), 1)
	case EventConnecting:
		h.row.Status = store.HostConnecting
		r.write(r.st.UpdateRunHost(ctx, h.row), 1)
	case EventStarted:
		h.row.Status, h.row.StartedAt = store.HostRunning, store.MillisOf(ev.Time)
		r.write(r.st.UpdateRunHost(ctx, h.row), 1)
	case EventExited:
		status := StatusOK
		if ev.Code != 0 {
			status = StatusFailed
		}
		r.finishHost(ctx, h, status, ev.Code, ev.Duration, ev.Class, ev.Err)
	case EventFailed:
		status := StatusFailed
		if ev.Class == ClassCancelled {
			status = StatusCancelled
		}
		r.finishHost(ctx, h, status, -1, ev.Duration, ev.Class, ev.Err)
	}
}

// appendMeta records a pipeline's step change in the output, as a meta chunk.
func (r *Recorder) appendMeta(h *recHost, ev Event) {
	h.seq++
	h.pending = append(h.pending, store.Chunk{Seq: h.seq, Stream: "meta", At: store.MillisOf(ev.Time), Data: []byte("== " + ev.Line + "\n")})
	if h.size == 0 {
		h.since = time.Now()
	}
}

// appendOutput adds ev's raw bytes to the host's pending chunks, extending
// the last chunk while the stream stays the same.
func (r *Recorder) appendOutput(ctx context.Context, h *recHost, ev Event) {
	stream := "stdout"
	if ev.Kind == EventStderr {
		stream = "stderr"
	}
	if n := len(h.pending); n > 0 && h.pending[n-1].Stream == stream {
		h.pending[n-1].Data = append(h.pending[n-1].Data, ev.Raw...)
	} else {
		h.seq++
		data := append(make([]byte, 0, max(len(ev.Raw), 4<<10)), ev.Raw...)
		h.pending = append(h.pending, store.Chunk{Seq: h.seq, Stream: stream, At: store.MillisOf(ev.Time), Data: data})
	}
	if h.size == 0 {
		h.since = time.Now()
	}
	h.size += len(ev.Raw)
	if h.size >= flushBytes {
		r.flush(ctx, h)
	}
}

// flush writes the host's pending output.
func (r *Recorder) flush(ctx context.Context, h *recHost) {
	if len(h.pending) == 0 {
		return
	}
	if r.write(r.st.AppendOutput(ctx, h.row.ID, h.pending), int64(len(h.pending))) {
		r.chunks.Add(int64(len(h.pending)))
		r.bytes.Add(int64(h.size))
	}
	h.pending, h.size = nil, 0
}

// finishHost writes the host's final state, after its pending output.
func (r *Recorder) finishHost(ctx context.Context, h *recHost, status HostStatus, code int, d time.Duration, class ErrorClass, err error) {
	r.flush(ctx, h)
	h.final = true
	h.row.Status = string(status)
	h.row.FinishedAt = store.MillisOf(time.Now())
	h.row.DurationMS = d.Milliseconds()
	h.row.ErrorClass = string(class)
	h.row.ExitCode = nil
	if code >= 0 {
		h.row.ExitCode = &code
	}
	h.row.Error = ""
	if err != nil {
		var he *HostError
		if errors.As(err, &he) && he.Err != nil {
			err = he.Err // the row already names the host and the class
		}
		h.row.Error = err.Error()
	}
	r.write(r.st.UpdateRunHost(ctx, h.row), 1)
}

// write counts a failed store write of n records; it reports success.
func (r *Recorder) write(err error, n int64) bool {
	if err == nil {
		return true
	}
	r.writeErrs.Add(1)
	r.lost.Add(n)
	if len(r.errs) < maxKeptErrors {
		r.errs = append(r.errs, err)
	}
	return false
}
