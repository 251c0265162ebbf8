package record

import (
	"context"
	"sync/atomic"
)

// progress is how far the run is, as Batch set it and as the store has
// it: the loop writes a new batch on its next tick, so a deploy's batch
// loop never waits for the store.
type progress struct {
	want  atomic.Int64 // batch<<32 | batches, 0: none
	saved int64        // owned by the loop
}

// Batch records that the run is switching batch n of batches (from 1):
// teammates' consoles show "batch 2/4" in their presence line and the
// followed run. It never blocks; safe for concurrent use.
func (r *Recorder) Batch(n, batches int) {
	if n < 1 || n > batches {
		return // not a batch: the deploy's own numbers are always in range
	}
	r.progress.want.Store(int64(n)<<32 | int64(batches))
}

// saveBatch writes the batch Batch set last, when the store does not
// have it yet; while the store is away it waits for the outage's end,
// like the output.
func (r *Recorder) saveBatch(ctx context.Context) {
	want := r.progress.want.Load()
	if want == r.progress.saved || r.out != nil {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, r.limits.writeTimeout)
	err := r.st.SetRunBatch(wctx, r.run.ID, int(want>>32), int(want&(1<<32-1)))
	cancel()
	if away(err) {
		r.goneAway(err)
		return
	}
	r.write(err, 1)
	r.progress.saved = want
}
