package record

import (
	"context"
	"time"

	"github.com/opsui/opsui/store"
)

// groupBytes is how much output of hosts due for a write (flushBytes
// pending each) the loop gathers before it writes them together, when
// events keep coming; it writes them as soon as the queue is empty.
// Written host by host, 200 busy hosts cost PostgreSQL two transactions
// per host and chunk, and the recorder fell seconds behind
// (BenchmarkRecorderIngest).
const groupBytes = 4 << 20

// group is the hosts due for a write: owned by the loop.
type group struct {
	due   []*recHost
	isDue map[*recHost]bool
	size  int
	// inflight is the write under way (flushMany), written where it
	// reports; nil: none.
	inflight *writeJob
	written  chan writeDone
}

// markDue queues h's pending output for the next grouped write (added:
// the bytes just added to it), and writes the group once it is
// groupBytes.
func (r *Recorder) markDue(ctx context.Context, h *recHost, added int) {
	if r.group.isDue == nil {
		r.group.isDue = map[*recHost]bool{}
	}
	if r.group.isDue[h] {
		r.group.size += added
	} else {
		r.group.isDue[h] = true
		r.group.due = append(r.group.due, h)
		r.group.size += h.size
	}
	if r.group.size >= groupBytes {
		r.flushDue(ctx)
	}
}

// flushDue writes the hosts due, together.
func (r *Recorder) flushDue(ctx context.Context) {
	if len(r.group.due) == 0 {
		return
	}
	due := r.group.due
	r.group.due, r.group.size = nil, 0
	clear(r.group.isDue)
	r.flushMany(ctx, due)
}

// flushOld writes, together, the hosts due and those whose oldest
// pending byte is flushAfter old.
func (r *Recorder) flushOld(ctx context.Context, now time.Time) {
	due := r.group.due
	for _, h := range r.hosts {
		if h.size > 0 && now.Sub(h.since) >= flushAfter && !r.group.isDue[h] {
			due = append(due, h)
		}
	}
	r.group.due, r.group.size = nil, 0
	clear(r.group.isDue)
	r.flushMany(ctx, due)
}

// flushMany starts writing the hosts' pending output in one transaction
// and returns: the loop takes more events meanwhile, and learns how it
// went from group.written (settleWrite). One write is in flight at a
// time, so each host's chunks are committed in order (a teammate who
// follows the run reads them by seq). While the store is away the output
// stays pending, for the outage's retry.
func (r *Recorder) flushMany(ctx context.Context, hs []*recHost) {
	r.awaitWrite() // may start an outage
	if r.out != nil {
		return
	}
	job := &writeJob{}
	for _, h := range hs {
		if len(h.pending) == 0 {
			continue
		}
		job.hosts = append(job.hosts, h)
		job.sizes = append(job.sizes, h.size)
		job.outs = append(job.outs, store.HostOutput{RunHostID: h.row.ID, Chunks: h.pending})
		job.chunks += int64(len(h.pending))
		job.size += int64(h.size)
		h.pending, h.size = nil, 0
	}
	if len(job.outs) == 0 {
		return
	}
	if r.group.written == nil {
		r.group.written = make(chan writeDone, 1)
	}
	r.group.inflight = job
	timeout := r.limits.writeTimeout
	go func() {
		wctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		r.group.written <- writeDone{job: job, err: r.st.AppendOutputs(wctx, job.outs)}
	}()
}

// writeJob is a write of hosts' output in flight.
type writeJob struct {
	hosts        []*recHost
	sizes        []int // each host's output bytes in it
	outs         []store.HostOutput
	chunks, size int64
}

// writeDone is how a write went.
type writeDone struct {
	job *writeJob
	err error
}

// awaitWrite waits for the write in flight, if any, and settles it.
func (r *Recorder) awaitWrite() {
	if r.group.inflight != nil {
		r.settleWrite(<-r.group.written)
	}
}

// settleWrite counts a finished write; one the store was away for goes
// back in front of its hosts' pending output, for the outage's retry.
func (r *Recorder) settleWrite(d writeDone) {
	r.group.inflight = nil
	job := d.job
	if away(d.err) {
		for i, h := range job.hosts {
			if h.size == 0 {
				h.since = time.Now()
			}
			h.pending = append(job.outs[i].Chunks, h.pending...)
			h.size += job.sizes[i]
		}
		r.goneAway(d.err)
		r.out.buffered += job.size
		return
	}
	if r.write(d.err, job.chunks) {
		r.chunks.Add(job.chunks)
		r.bytes.Add(job.size)
	}
}
