package record

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
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
	Cut         int64 // hosts whose output reached the record limit
	Outages     int64 // times the store went away during the run
	Dropped     int64 // output bytes not kept while it was away (beyond the buffer)
}

// Recorder writes a run into the store as it happens: the run and its
// hosts when it starts, each host's status changes, and each host's
// output (the Raw of its events) in chunks numbered per host, written at
// most every 64 KiB or 200 ms and at the end. Only the command and the
// output are recorded, never the environment or input.
//
// A run records at most the store's record limit of each host's stdout and
// stderr (store.OutputPolicy, 16 MiB by default): the bytes beyond it are
// counted, not kept, and when the host finishes one meta line marks the cut
// with the full count. So `cat big.log` on many hosts costs the database
// hosts x limit, not the log's size.
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
	limit int64 // bytes of each host's output recorded; negative: no limit

	mu     sync.RWMutex // Event holds it shared, Finish exclusively to close queue
	closed bool
	queue  chan remote.Event
	room   *semaphore.Weighted // bytes of queued events
	done   chan struct{}

	events, chunks, bytes, stalls, writeErrs, lost, ignored, cut atomic.Int64
	outages, droppedBytes                                        atomic.Int64
	errs                                                         []error // owned by the loop until done
	out                                                          *outage // the store is away; owned by the loop until done
	limits                                                       outageLimits
	progress                                                     progress // the run's batch (progress.go)
	group                                                        group    // hosts due for a grouped write (batch.go)
}

// recHost is one host's row and its output not yet written.
type recHost struct {
	row     store.RunHost
	seq     int64
	pending []store.Chunk
	size    int
	since   time.Time // when the oldest pending byte came
	final   bool      // its exited or failed event was recorded
	// kept counts the output bytes recorded (row.OutputBytes all of them);
	// cut says the record limit was reached.
	kept int64
	cut  bool
	// dirty: the row changed while the store was away; dropped: output
	// bytes not kept meanwhile, marked in the record once it is back.
	dirty   bool
	dropped int64
}

// StartRecorder records a new run (nr.Hosts must name every target, as
// Target.Name) and starts recording its events. Before, it applies the
// store's output retention, so the database does not grow forever; that
// happens once per run, never per chunk. Writes are not cancelled with
// ctx: a cancelled run is still recorded.
func StartRecorder(ctx context.Context, st *store.Store, nr store.NewRun) (*Recorder, error) {
	return startRecorder(ctx, st, nr, defaultOutageLimits)
}

func startRecorder(ctx context.Context, st *store.Store, nr store.NewRun, lim outageLimits) (*Recorder, error) {
	if _, err := st.ApplyRetention(ctx); err != nil {
		return nil, fmt.Errorf("record run: %w", err)
	}
	run, rows, err := st.StartRun(ctx, nr)
	if err != nil {
		return nil, fmt.Errorf("record run: %w", err)
	}
	r := &Recorder{st: st, run: run, hosts: make(map[string]*recHost, len(rows)), limit: st.OutputPolicy().RecordLimit,
		queue: make(chan remote.Event, recorderQueue), room: semaphore.NewWeighted(recorderBytes), done: make(chan struct{}), limits: lim}
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
func (r *Recorder) Event(ev remote.Event) {
	switch ev.Kind {
	case remote.EventQueued, remote.EventProgress:
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
func queuedSize(ev remote.Event) int64 {
	return min(int64(len(ev.Raw))+256, recorderBytes)
}

// Finish writes what is pending, the final state of every host the events
// did not finish (from res), and the run's result and summary. It returns
// an error when any record could not be written. Like the other writes,
// these are not cancelled with ctx.
func (r *Recorder) Finish(ctx context.Context, res remote.Result) error {
	ctx = context.WithoutCancel(ctx)
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.queue)
	}
	r.mu.Unlock()
	<-r.done
	r.waitForStore(ctx)

	byName := make(map[string]remote.HostResult, len(res.Hosts))
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
			r.saveRow(ctx, h)
		}
	}
	if r.out == nil {
		r.saveBatch(ctx) // one the outage kept back
		wctx, cancel := context.WithTimeout(ctx, r.limits.writeTimeout)
		r.write(r.st.FinishRun(wctx, r.run.ID, runResult(res), res.Summary()), 1)
		cancel()
	}
	outage := r.lostToOutage()
	if n := r.writeErrs.Load(); n > 0 {
		return fmt.Errorf("record run %d: %d writes failed, %d records lost: %w", r.run.ID, n, r.lost.Load(), errors.Join(append(r.errs, outage)...))
	}
	if outage != nil {
		return fmt.Errorf("record run %d: %w", r.run.ID, outage)
	}
	return nil
}

// Stats returns the recorder's counters so far.
func (r *Recorder) Stats() RecorderStats {
	return RecorderStats{
		Events: r.events.Load(), Chunks: r.chunks.Load(), Bytes: r.bytes.Load(), Stalls: r.stalls.Load(),
		WriteErrors: r.writeErrs.Load(), Lost: r.lost.Load(), Ignored: r.ignored.Load(), Cut: r.cut.Load(),
		Outages: r.outages.Load(), Dropped: r.droppedBytes.Load(),
	}
}

// runResult is the store's result for a run's outcome.
func runResult(res remote.Result) store.RunResult {
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
				r.flushMany(ctx, slices.Collect(maps.Values(r.hosts)))
				r.awaitWrite()
				r.saveBatch(ctx)
				return
			}
			r.take(ctx, ev)
			r.room.Release(queuedSize(ev))
			if len(r.queue) == 0 {
				r.flushDue(ctx) // the hosts are quiet: no reason to wait
			}
		case d := <-r.group.written:
			r.settleWrite(d) // batch.go
		case now := <-tick.C:
			r.retry(ctx, now, false)
			r.saveBatch(ctx)
			r.flushOld(ctx, now)
		}
	}
}

func (r *Recorder) take(ctx context.Context, ev remote.Event) {
	h, ok := r.hosts[ev.Host]
	if !ok {
		r.ignored.Add(1)
		return
	}
	r.events.Add(1)
	switch ev.Kind {
	case remote.EventStdout, remote.EventStderr:
		r.appendOutput(ctx, h, ev)
	case remote.EventStage:
		h.row.Stage, h.row.Status = ev.Line, store.HostRunning
		if h.row.StartedAt == 0 {
			h.row.StartedAt = store.MillisOf(ev.Time)
		}
		r.appendMeta(h, ev)
		r.saveRow(ctx, h)
	case remote.EventConnecting:
		h.row.Status = store.HostConnecting
		r.saveRow(ctx, h)
	case remote.EventStarted:
		h.row.Status, h.row.StartedAt = store.HostRunning, store.MillisOf(ev.Time)
		r.saveRow(ctx, h)
	case remote.EventExited:
		status := remote.StatusOK
		if ev.Code != 0 {
			status = remote.StatusFailed
		}
		r.finishHost(ctx, h, status, ev.Code, ev.Duration, ev.Class, ev.Err)
	case remote.EventFailed:
		status := remote.StatusFailed
		if ev.Class == remote.ClassCancelled {
			status = remote.StatusCancelled
		}
		r.finishHost(ctx, h, status, -1, ev.Duration, ev.Class, ev.Err)
	}
}

// appendMeta records a pipeline's step change in the output, as a meta chunk.
func (r *Recorder) appendMeta(h *recHost, ev remote.Event) {
	h.seq++
	h.pending = append(h.pending, store.Chunk{Seq: h.seq, Stream: "meta", At: store.MillisOf(ev.Time), Data: []byte("== " + ev.Line + "\n")})
	if h.size == 0 {
		h.since = time.Now()
	}
}

// appendOutput adds ev's raw bytes to the host's pending chunks, extending
// the last chunk while the stream stays the same. Bytes beyond the record
// limit are only counted: the record keeps exactly the first limit bytes.
func (r *Recorder) appendOutput(ctx context.Context, h *recHost, ev remote.Event) {
	raw := ev.Raw
	h.row.OutputBytes += int64(len(raw))
	if r.limit >= 0 && h.kept+int64(len(raw)) > r.limit {
		raw = raw[:r.limit-h.kept]
		if !h.cut {
			// Say so in the record at once (output_bytes > recorded_bytes),
			// so even a run whose opsui dies before the marker shows the cut.
			h.cut = true
			r.cut.Add(1)
			r.saveRow(ctx, h)
		}
	}
	if len(raw) == 0 || !r.keep(h, len(raw)) {
		return
	}
	h.kept += int64(len(raw))
	stream := "stdout"
	if ev.Kind == remote.EventStderr {
		stream = "stderr"
	}
	if n := len(h.pending); n > 0 && h.pending[n-1].Stream == stream {
		h.pending[n-1].Data = append(h.pending[n-1].Data, raw...)
	} else {
		h.seq++
		data := append(make([]byte, 0, max(len(raw), 4<<10)), raw...)
		h.pending = append(h.pending, store.Chunk{Seq: h.seq, Stream: stream, At: store.MillisOf(ev.Time), Data: data})
	}
	if h.size == 0 {
		h.since = time.Now()
	}
	h.size += len(raw)
	if h.size >= flushBytes {
		r.markDue(ctx, h, len(raw))
	}
}

// CutMarker is the meta line that ends the record of a host's output cut
// at limit bytes of total.
func CutMarker(limit, total int64) string {
	return fmt.Sprintf(CutMarkerPrefix+"%s: %s in all, %d more bytes not recorded", store.HumanBytes(limit), store.HumanBytes(total), total-limit)
}

// RecordedOf says how much of a host's (or run's) output the record kept,
// as replay and the past runs list show it.
func RecordedOf(recorded, total int64) string {
	return fmt.Sprintf("%s of %s recorded", store.HumanBytes(recorded), store.HumanBytes(total))
}

// CutMarkerPrefix starts every cut marker (CutMarker).
const CutMarkerPrefix = "… output cut at "

// markCut records the cut marker after what was kept of the host's output.
func (r *Recorder) markCut(h *recHost) {
	if !h.cut {
		return
	}
	h.seq++
	line := CutMarker(h.kept, h.row.OutputBytes) + "\n"
	h.pending = append(h.pending, store.Chunk{Seq: h.seq, Stream: "meta", At: store.MillisOf(time.Now()), Data: []byte(line)})
	if h.size == 0 {
		h.since = time.Now()
	}
}

// flush writes the host's pending output; while the store is away it
// stays pending, for the outage's retry.
func (r *Recorder) flush(ctx context.Context, h *recHost) {
	r.flushMany(ctx, []*recHost{h})
	r.awaitWrite()
}

// finishHost writes the host's final state, after its pending output.
func (r *Recorder) finishHost(ctx context.Context, h *recHost, status remote.HostStatus, code int, d time.Duration, class remote.ErrorClass, err error) {
	r.markCut(h)
	r.flush(ctx, h)
	h.final = true
	h.row.Status = store.HostStatus(status)
	h.row.FinishedAt = store.MillisOf(time.Now())
	h.row.DurationMS = d.Milliseconds()
	h.row.ErrorClass = string(class)
	h.row.ExitCode = nil
	if code >= 0 {
		h.row.ExitCode = &code
	}
	h.row.Error = ""
	if err != nil {
		var he *remote.HostError
		if errors.As(err, &he) && he.Err != nil {
			err = he.Err // the row already names the host and the class
		}
		h.row.Error = err.Error()
	}
	r.saveRow(ctx, h)
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
