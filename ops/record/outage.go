package record

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/opsui/opsui/store"
)

// While the database is away (a PostgreSQL server restarting or cut off,
// a SQLite file locked past its busy timeout), the SSH work goes on: the
// recorder keeps each host's output and status in memory, up to a bound,
// tries the store again now and then, and writes everything once it
// answers. Output beyond the bound is counted, not kept, and the record
// says so where it is missing; Finish waits a little for the store and
// says what could not be written.
const (
	probeTimeout  = 2 * time.Second        // one try while the store is away
	retryFirst    = 500 * time.Millisecond // the first try again, doubling
	retryMax      = 8 * time.Second        // up to this
	outageMarkFmt = "opsui: %s of this host's output not recorded: the database was unreachable (%s)\n"
)

// outageLimits bound a recorder's patience with an absent store.
type outageLimits struct {
	writeTimeout time.Duration // one store write: a server that stops answering mid-query
	buffer       int64         // output bytes kept in memory while the store is away
	finishGrace  time.Duration // how long Finish waits for the store to come back
}

var defaultOutageLimits = outageLimits{writeTimeout: 10 * time.Second, buffer: 64 << 20, finishGrace: 15 * time.Second}

// away reports whether err says the store cannot be written now but may
// be soon, so the records are kept and the write tried again.
func away(err error) bool {
	return errors.Is(err, store.ErrUnreachable) || errors.Is(err, store.ErrLocked) || errors.Is(err, context.DeadlineExceeded)
}

// outage is the recorder's state while the store is away; owned by the
// loop goroutine (and by Finish once the loop is done).
type outage struct {
	since    time.Time
	cause    error
	next     time.Time     // the next try
	wait     time.Duration // until the try after it
	buffered int64         // output bytes kept in memory meanwhile
	dropped  int64         // output bytes not kept (beyond outageBuffer)
}

// goneAway starts (or continues) an outage after a failed write.
func (r *Recorder) goneAway(err error) {
	now := time.Now()
	if r.out == nil {
		r.out = &outage{since: now, wait: retryFirst}
		r.outages.Add(1)
	}
	r.out.cause = err
	r.out.next = now.Add(r.out.wait)
	r.out.wait = min(2*r.out.wait, retryMax)
}

// keep reports whether n more bytes of output fit in memory during an
// outage, counting them; without an outage everything fits.
func (r *Recorder) keep(h *recHost, n int) bool {
	if r.out == nil {
		return true
	}
	if r.out.buffered+int64(n) > r.limits.buffer {
		r.out.dropped += int64(n)
		h.dropped += int64(n)
		r.droppedBytes.Add(int64(n))
		return false
	}
	r.out.buffered += int64(n)
	return true
}

// retry tries the store again once the outage's wait is over (now: the
// loop's tick; force: Finish): a host's status, else its output. When it
// answers, the outage ends and everything kept is written.
func (r *Recorder) retry(ctx context.Context, now time.Time, force bool) {
	if r.out == nil || (!force && now.Before(r.out.next)) {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	err := r.st.Ping(pctx)
	cancel()
	if err != nil {
		r.goneAway(err)
		return
	}
	out := r.out
	r.out = nil
	for _, name := range slices.Sorted(maps.Keys(r.hosts)) {
		h := r.hosts[name]
		if h.dropped > 0 {
			h.seq++
			line := fmt.Sprintf(outageMarkFmt, store.HumanBytes(h.dropped), outageSpan(out.since, time.Now()))
			h.pending = append(h.pending, store.Chunk{Seq: h.seq, Stream: "meta", At: store.MillisOf(time.Now()), Data: []byte(line)})
			h.dropped = 0
		}
		r.flush(ctx, h)
		if h.dirty && r.out == nil {
			r.saveRow(ctx, h)
		}
	}
}

// outageSpan says when an outage began and how long it lasted.
func outageSpan(since, until time.Time) string {
	return fmt.Sprintf("from %s for %s", since.Format("15:04:05"), until.Sub(since).Round(time.Second))
}

// saveRow writes the host's row, or keeps it for later while the store
// is away.
func (r *Recorder) saveRow(ctx context.Context, h *recHost) {
	if r.out != nil {
		h.dirty = true
		return
	}
	wctx, cancel := context.WithTimeout(ctx, r.limits.writeTimeout)
	err := r.st.UpdateRunHost(wctx, h.row)
	cancel()
	if away(err) {
		h.dirty = true
		r.goneAway(err)
		return
	}
	h.dirty = false
	r.write(err, 1)
}

// waitForStore gives an outage still on at Finish a little time to end,
// trying every retryFirst: the run's record is worth a short wait.
func (r *Recorder) waitForStore(ctx context.Context) {
	deadline := time.Now().Add(r.limits.finishGrace)
	for r.out != nil && time.Now().Before(deadline) {
		r.retry(ctx, time.Now(), true)
		if r.out != nil {
			time.Sleep(retryFirst)
		}
	}
}

// lostToOutage is what Finish says of an outage: output not kept, and
// records still unwritten when it gave up.
func (r *Recorder) lostToOutage() error {
	var unwritten int64
	for _, h := range r.hosts {
		unwritten += int64(len(h.pending))
		if h.dirty {
			unwritten++
		}
	}
	dropped := r.droppedBytes.Load()
	switch {
	case r.out != nil:
		return fmt.Errorf("the database was still unreachable at the end (%s; %v): %d records not written, %s of output not kept",
			outageSpan(r.out.since, time.Now()), r.out.cause, unwritten, store.HumanBytes(dropped))
	case dropped > 0:
		return fmt.Errorf("the database was unreachable during the run: %s of output not recorded (marked in each host's output)", store.HumanBytes(dropped))
	}
	return nil
}
