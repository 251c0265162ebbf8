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

// flushMany writes the hosts' pending output in one transaction; while
// the store is away it stays pending, for the outage's retry.
func (r *Recorder) flushMany(ctx context.Context, hs []*recHost) {
	if r.out != nil {
		return
	}
	outs := make([]store.HostOutput, 0, len(hs))
	var chunks, size int64
	for _, h := range hs {
		if len(h.pending) > 0 {
			outs = append(outs, store.HostOutput{RunHostID: h.row.ID, Chunks: h.pending})
			chunks += int64(len(h.pending))
			size += int64(h.size)
		}
	}
	if len(outs) == 0 {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, r.limits.writeTimeout)
	err := r.st.AppendOutputs(wctx, outs)
	cancel()
	if away(err) {
		r.goneAway(err)
		r.out.buffered += size
		return
	}
	if r.write(err, chunks) {
		r.chunks.Add(chunks)
		r.bytes.Add(size)
	}
	for _, h := range hs {
		h.pending, h.size = nil, 0
	}
}
